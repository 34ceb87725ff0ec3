// Calendar helpers in China Standard Time (UTC+8, no DST since 1991), the
// time zone of every rule in DESIGN.md. Done by hand rather than with Intl so
// that a phone with a wrong zone setting or a trimmed ICU shows the same.

const CST_OFFSET_MS = 8 * 3600 * 1000;
const DAY_MS = 24 * 3600 * 1000;

/** The CST wall-clock fields of an instant (a Date, ms, or ISO string). */
export function cstParts(instant) {
  const ms = instant instanceof Date ? instant.getTime() : typeof instant === 'string' ? Date.parse(instant) : instant;
  const d = new Date(ms + CST_OFFSET_MS);
  return {
    year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(),
    hour: d.getUTCHours(), minute: d.getUTCMinutes(), second: d.getUTCSeconds(),
    weekday: d.getUTCDay() || 7,
  };
}

const pad = (n, w = 2) => String(n).padStart(w, '0');

/** `2026-11-29 14:05` in CST. */
export function formatCst(instant, { seconds = false, date = true } = {}) {
  if (instant == null || instant === '') return '';
  const p = cstParts(instant);
  if (Number.isNaN(p.year)) return String(instant);
  const time = `${pad(p.hour)}:${pad(p.minute)}${seconds ? `:${pad(p.second)}` : ''}`;
  return date ? `${p.year}-${pad(p.month)}-${pad(p.day)} ${time}` : time;
}

/** `2026-11-29` (CST date). */
export function formatCstDate(instant) {
  const p = cstParts(instant);
  return `${p.year}-${pad(p.month)}-${pad(p.day)}`;
}

/** The ISO week (`2026-W48`) that contains the instant, in CST. */
export function isoWeekOf(instant = Date.now()) {
  const p = cstParts(instant);
  // Thursday of this week decides the ISO year.
  const dayNumber = Date.UTC(p.year, p.month - 1, p.day) / DAY_MS;
  const thursday = dayNumber - p.weekday + 4;
  const year = new Date(thursday * DAY_MS).getUTCFullYear();
  const jan1 = Date.UTC(year, 0, 1) / DAY_MS;
  const week = Math.floor((thursday - jan1) / 7) + 1;
  return `${year}-W${pad(week)}`;
}

/** Parses `2026-W48` into {year, week}, or null. */
export function parseWeek(name) {
  const m = /^(\d{4})-W(\d{2})$/.exec(name || '');
  if (!m) return null;
  const year = Number(m[1]);
  const week = Number(m[2]);
  if (week < 1 || week > weeksInYear(year)) return null;
  return { year, week };
}

function weeksInYear(year) {
  // A year has 53 ISO weeks when Dec 28 falls in week 53.
  return isoWeekOf(Date.UTC(year, 11, 28, 4) - CST_OFFSET_MS + 4 * 3600 * 1000).endsWith('53') ? 53 : 52;
}

/** Monday of an ISO week as a UTC-midnight day number (days since epoch). */
function mondayDay({ year, week }) {
  const jan4 = Date.UTC(year, 0, 4) / DAY_MS;
  const jan4Weekday = new Date(jan4 * DAY_MS).getUTCDay() || 7;
  return jan4 - (jan4Weekday - 1) + (week - 1) * 7;
}

/** The CST calendar dates (`YYYY-MM-DD`) of a week's Monday and Sunday. */
export function weekRange(name) {
  const w = parseWeek(name);
  if (!w) return null;
  const mon = mondayDay(w);
  const fmt = (day) => new Date(day * DAY_MS).toISOString().slice(0, 10);
  return { from: fmt(mon), to: fmt(mon + 6) };
}

/** The week `n` weeks after (negative: before) the named one. */
export function shiftWeek(name, n) {
  const w = parseWeek(name);
  if (!w) return name;
  const day = mondayDay(w) + 7 * n + 3; // a Thursday
  return isoWeekOf(day * DAY_MS - CST_OFFSET_MS + 12 * 3600 * 1000);
}

/** `11-23 – 11-29`, the dates of a week for labels. */
export function weekLabel(name) {
  const r = weekRange(name);
  return r ? `${r.from.slice(5)} – ${r.to.slice(5)}` : name;
}

/** `1 h 05 min` / `12 min` from seconds. */
export function formatDuration(seconds, t) {
  if (seconds == null || Number.isNaN(seconds)) return '';
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (h > 0) return t('dur.hm', { h, m: pad(m) });
  if (m > 0) return t('dur.m', { m });
  return t('dur.s', { s });
}

/** `1.23 km` or `850 m`. */
export function formatLength(metres) {
  if (metres == null || Number.isNaN(metres)) return '';
  return metres >= 1000 ? `${(metres / 1000).toFixed(2)} km` : `${Math.round(metres)} m`;
}

/** The quarter of the week in progress (`2026-Q4`): that of its Thursday, in CST. */
export function currentQuarter(now = Date.now()) {
  const p = cstParts(now);
  const thursday = new Date(Date.UTC(p.year, p.month - 1, p.day + 4 - p.weekday));
  return `${thursday.getUTCFullYear()}-Q${Math.floor(thursday.getUTCMonth() / 3) + 1}`;
}

/** The `n` quarters up to and including `quarter`, newest first. */
export function recentQuarters(quarter, n = 8) {
  let [year, q] = quarter.split('-Q').map(Number);
  const out = [];
  for (let i = 0; i < n; i += 1) {
    out.push(`${year}-Q${q}`);
    q -= 1;
    if (q === 0) { q = 4; year -= 1; }
  }
  return out;
}
