// The printable assessment (/assessment) for assessors and the town office:
// the quarter (or the year) per chief and per party branch, a bar chart of
// compliance rates in inline SVG, and the CSV/XLSX/PDF exports of the API.

import { ApiError, api, errorFrom, token } from './api.js';
import { lang, t } from './i18n.js';
import { currentQuarter, recentQuarters } from './time.js';
import { ensureLogin, errorText, fill, h, notice, reloadOnUnauthorized, showUser, toast, wireHeader } from './ui.js';

const $ = (id) => document.getElementById(id);
const SVG = 'http://www.w3.org/2000/svg';

const state = { user: null, view: 'quarter', period: null, data: null };

reloadOnUnauthorized();
wireHeader({ onLangChange: () => render() });
main().catch((err) => notice($('notes'), t('common.error', { msg: errorText(err) }), 'error'));

async function main() {
  state.user = await ensureLogin($('login'));
  $('main').hidden = false;
  showUser(state.user);
  if (!['admin', 'assessor'].includes(state.user.role)) {
    notice($('notes'), t('assess.forbidden'), 'warn');
    $('controls').hidden = true;
    document.body.dataset.ready = 'true';
    return;
  }
  const params = new URLSearchParams(location.search);
  state.view = params.get('year') ? 'year' : 'quarter';
  state.period = params.get('year') || params.get('quarter') || null;
  $('view-quarter').addEventListener('click', () => switchView('quarter'));
  $('view-year').addEventListener('click', () => switchView('year'));
  $('period').addEventListener('change', () => { state.period = $('period').value; load(); });
  for (const format of ['csv', 'xlsx', 'pdf']) $(`dl-${format}`).addEventListener('click', () => download(format));
  $('print').addEventListener('click', () => window.print());
  await switchView(state.view, state.period);
}

async function switchView(view, period = null) {
  state.view = view;
  $('view-quarter').setAttribute('aria-selected', String(view === 'quarter'));
  $('view-year').setAttribute('aria-selected', String(view === 'year'));
  const quarter = currentQuarter();
  const options = view === 'quarter'
    ? recentQuarters(quarter)
    : [0, 1, 2, 3].map((i) => String(Number(quarter.slice(0, 4)) - i));
  const chosen = period && (options.includes(period) || /^\d{4}(-Q[1-4])?$/.test(period)) ? period : options[0];
  if (!options.includes(chosen)) options.unshift(chosen);
  fill($('period'), options.map((o) => h('option', { value: o, selected: o === chosen }, periodLabel(o))));
  state.period = chosen;
  await load();
}

function periodLabel(period) {
  const [year, q] = period.split('-Q');
  if (lang() === 'en') return q ? `${year} Q${q}` : year;
  return q ? `${year}年第${q}季度` : `${year}年`;
}

function endpoint(format = 'json') {
  return state.view === 'quarter'
    ? `/api/v1/reports/quarterly?quarter=${encodeURIComponent(state.period)}&format=${format}`
    : `/api/v1/reports/yearly?year=${encodeURIComponent(state.period)}&format=${format}`;
}

async function load() {
  document.body.dataset.ready = 'false';
  fill($('notes'));
  fill($('report'), h('p.muted', t('common.loading')));
  history.replaceState(null, '', `?${state.view === 'quarter' ? 'quarter' : 'year'}=${state.period}`);
  try {
    state.data = await api(endpoint());
  } catch (err) {
    state.data = null;
    fill($('report'));
    const text = err instanceof ApiError && err.unavailable ? t('common.unavailable', { what: endpoint() }) : errorText(err);
    notice($('notes'), t('common.error', { msg: text }), 'error');
  }
  render();
  document.body.dataset.ready = 'true';
}

/** Downloads an export with the bearer token and saves it as a file. */
async function download(format) {
  const button = $(`dl-${format}`);
  button.disabled = true;
  try {
    const response = await fetch(endpoint(format), { headers: { Authorization: `Bearer ${token()}` } });
    if (!response.ok) throw await errorFrom(response);
    const blob = await response.blob();
    const disposition = response.headers.get('content-disposition') || '';
    const name = /filename="?([^";]+)"?/.exec(disposition)?.[1] || `riverchief-${state.period}.${format}`;
    const url = URL.createObjectURL(blob);
    const a = h('a', { href: url, download: name, hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
    toast(t('assess.saved', { name }), 'ok');
  } catch (err) {
    toast(t('common.error', { msg: errorText(err) }), 'error');
  } finally {
    button.disabled = false;
  }
}

// ---------------------------------------------------------------- render

/** `33.3%`, or "—" when nothing was required (as in the CSV and PDF). */
export function rateText(rate) {
  return rate == null ? '—' : `${(rate * 100).toFixed(1)}%`;
}

const num = (x, digits = 0) => (x == null ? '—' : Number(x).toFixed(digits));

function render() {
  const d = state.data;
  if (!d) return;
  if (state.view === 'year') renderYear(d);
  else renderQuarter(d);
}

function heading(d, period) {
  return [
    h('h2.report-title', `${d.town.name} · ${t(state.view === 'year' ? 'assess.titleYear' : 'assess.titleQuarter', { period: periodLabel(period) })}`),
    h('p.muted', t('assess.generated', { weeks: d.weeks.length, first: d.weeks[0] ?? '', last: d.weeks.at(-1) ?? '' })),
  ];
}

function summary(f, extra = []) {
  const items = [
    [t('assess.col.chiefs'), f.chiefs],
    [t('assess.col.required'), f.required],
    [t('assess.col.compliant'), f.compliant],
    [t('assess.col.exempt'), f.exempt],
    [t('assess.col.missed'), f.missed],
    [t('assess.col.rate'), rateText(f.rate)],
    ...extra,
  ];
  return h('dl.summary#town-summary', items.map(([k, v]) => h('div', h('dt', k), h('dd', String(v)))));
}

function table(id, headers, rows, { numericFrom = 1 } = {}) {
  return h('div.table-wrap', h(`table.grid.report-table#${id}`,
    h('thead', h('tr', headers.map((x, i) => h(i >= numericFrom ? 'th.num' : 'th', x)))),
    h('tbody', rows.map(({ cells, code }) => h('tr', { dataset: { code } },
      cells.map((x, i) => h(i >= numericFrom ? 'td.num' : 'td', x == null ? '' : String(x))))))));
}

function renderQuarter(d) {
  const f = d.town;
  const chiefHeaders = ['name', 'level', 'branch', 'in_office', 'required', 'compliant', 'exempt', 'missed', 'rate', 'patrols', 'km', 'found', 'score', 'rank']
    .map((k) => t(`assess.col.${k}`));
  const chiefRows = d.chiefs.map((c) => ({
    code: c.code,
    cells: [c.name, t(`assess.level.${c.level}`), c.branch ?? '', c.in_office, c.required, c.compliant, c.exempt, c.missed,
      rateText(c.rate), c.valid_patrols, num(c.km, 1), c.issues_found, num(c.score?.total, 2), c.rank],
  }));
  const branchHeaders = ['branch', 'chiefs', 'required', 'compliant', 'exempt', 'missed', 'rate', 'found', 'resolved', 'score', 'rank']
    .map((k) => t(`assess.col.${k}`));
  const branchRows = d.branches.map((b) => ({
    code: b.code,
    cells: [b.name, b.chiefs, b.required, b.compliant, b.exempt, b.missed, rateText(b.rate), b.issues_found,
      `${b.resolved} (${b.resolved_on_time})`, num(b.score?.total, 2), b.rank],
  }));
  fill($('report'),
    h('header.report-head', heading(d, d.quarter)),
    h('section.report-section', h('h3', t('assess.town')), summary(f, [
      [t('assess.col.km'), num(f.km, 1)], [t('assess.col.found'), f.issues_found],
      [t('assess.col.meanScore'), num(f.mean_score, 2)]])),
    h('section.report-section.chart-section', h('h3', t('assess.chart')),
      chart(d.chiefs.map((c) => ({ code: c.code, name: c.name, rate: c.rate })))),
    h('section.report-section', h('h3', t('assess.branches')), table('branch-table', branchHeaders, branchRows, { numericFrom: 1 })),
    h('section.report-section', h('h3', t('assess.chiefs')), table('chief-table', chiefHeaders, chiefRows, { numericFrom: 3 })),
    h('p.muted.formula', t('assess.formula')));
}

function renderYear(d) {
  const quarters = d.quarters.map((q) => q.quarter ?? q);
  const headers = [t('assess.col.name'), t('assess.col.level'), ...quarters.map((q) => `${periodLabel(q)}`),
    t('assess.col.required'), t('assess.col.compliant'), t('assess.col.exempt'), t('assess.col.missed'), t('assess.col.rate')];
  const rows = d.chiefs.map((c) => ({
    code: c.code,
    cells: [c.name, t(`assess.level.${c.level}`),
      ...quarters.map((q) => {
        const x = c.quarters?.[q];
        return x ? `${rateText(x.rate)} (${x.compliant}/${x.required})` : '—';
      }),
      c.required, c.compliant, c.exempt, c.missed, rateText(c.rate)],
  }));
  const branchRows = (d.branches || []).map((b) => ({
    code: b.code,
    cells: [b.name, '', ...quarters.map((q) => {
      const x = b.quarters?.[q];
      return x ? `${rateText(x.rate)} (${x.compliant}/${x.required})` : '—';
    }), b.required, b.compliant, b.exempt, b.missed, rateText(b.rate)],
  }));
  fill($('report'),
    h('header.report-head', heading(d, String(d.year))),
    h('section.report-section', h('h3', t('assess.town')), summary(d.town)),
    h('section.report-section.chart-section', h('h3', t('assess.chartYear')),
      chart(d.chiefs.map((c) => ({ code: c.code, name: c.name, rate: c.rate })))),
    h('section.report-section', h('h3', t('assess.branches')), table('branch-table', [t('assess.col.branch'), ...headers.slice(1)], branchRows, { numericFrom: 2 })),
    h('section.report-section', h('h3', t('assess.chiefs')), table('chief-table', headers, rows, { numericFrom: 2 })),
    h('p.muted.formula', t('assess.formulaYear')));
}

function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) if (v != null) el.setAttribute(k, String(v));
  for (const c of children) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

function barColour(rate) {
  if (rate == null) return 'var(--exempt)';
  if (rate >= 0.9) return 'var(--compliant)';
  if (rate >= 0.6) return 'var(--pending)';
  return 'var(--missed)';
}

/** Horizontal bars, one per chief, in the order given (best first). */
function chart(items) {
  const rowH = 22;
  const labelW = 110;
  const barW = 440;
  const width = labelW + barW + 70;
  const height = items.length * rowH + 24;
  const root = svg('svg', {
    id: 'rate-chart', class: 'chart', viewBox: `0 0 ${width} ${height}`, width: '100%', role: 'img',
    'aria-label': t('assess.chart'), preserveAspectRatio: 'xMinYMin meet', style: `max-width:${width}px`,
  });
  // Grid lines at 0, 25, 50, 75, 100 % and the 90 % mark.
  for (const p of [0, 0.25, 0.5, 0.75, 1]) {
    const x = labelW + p * barW;
    root.append(svg('line', { x1: x, x2: x, y1: 0, y2: height - 18, class: 'gridline' }),
      svg('text', { x, y: height - 4, 'text-anchor': 'middle', class: 'axis' }, `${p * 100}%`));
  }
  items.forEach((item, i) => {
    const y = i * rowH + 3;
    const w = item.rate == null ? 0 : Math.max(0, Math.min(1, item.rate)) * barW;
    root.append(
      svg('text', { x: labelW - 6, y: y + 12, 'text-anchor': 'end', class: 'label' }, item.name),
      svg('rect', { x: labelW, y, width: w.toFixed(1), height: rowH - 8, rx: 2, class: 'bar', fill: barColour(item.rate), 'data-code': item.code, 'data-rate': item.rate ?? '' },
        svg('title', {}, `${item.name}: ${rateText(item.rate)}`)),
      svg('text', { x: labelW + w + 4, y: y + 12, class: 'value' }, rateText(item.rate)));
  });
  return root;
}
