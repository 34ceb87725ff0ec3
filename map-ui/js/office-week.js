// The office's week on /office (issue #16): this week's chiefs who have not
// patrolled yet, with a button to remind one or all (催办); the town's
// channels (企业微信 / 钉钉 group robots, webhooks); and the outgoing
// messages with their status. Admins only; its own section of the page.

import { api } from './api.js';
import { t } from './i18n.js';
import { errorText, fill, h, notice } from './ui.js';
import { formatCst } from './time.js';

const $ = (id) => document.getElementById(id);

const KINDS = ['wecom', 'dingtalk', 'webhook'];
const EVENTS = ['reminder', 'bulletin'];

const week = { user: null, chiefs: [], channels: [], deliveries: [], errors: {} };

/** A person's sentence for an API error: a channel's field named in words, else the common sentence (messages.js). */
function problem(err) {
  const field = err?.code === 'invalid_field' ? String(err.details?.field ?? '').replace(/^channels\[\d+\]\./, '') : '';
  const key = `week.error.field.${field}`;
  return field && t(key) !== key ? t(key) : errorText(err);
}

/** Shows the section to admins and loads it. */
export async function setupOfficeWeek(user) {
  const section = $('office-week');
  if (!section || user.role !== 'admin') return;
  week.user = user;
  section.hidden = false;
  $('tab-week').hidden = false;
  $('remind-all').addEventListener('click', () => remind(null));
  $('channel-form').addEventListener('submit', addChannel);
  fill($('channel-kind'), KINDS.map((k) => h('option', { value: k }, t(`week.kind.${k}`))));
  await Promise.all([loadPending(), loadChannels(), loadDeliveries()]);
  renderOfficeWeek();
}

/** Re-renders after a language switch. */
export function renderOfficeWeek() {
  if (!week.user) return;
  renderPending();
  renderChannels();
  renderDeliveries();
}

async function load(what, path, pick) {
  try {
    week[what] = pick(await api(path));
    week.errors[what] = null;
  } catch (err) {
    week[what] = [];
    week.errors[what] = problem(err);
  }
}

const loadPending = () => load('chiefs', '/api/v1/compliance/overdue', (b) => b.chiefs || []);
const loadChannels = () => load('channels', `/api/v1/towns/${week.user.town_id}/channels`, (b) => b.channels || []);
const loadDeliveries = () => load('deliveries', '/api/v1/deliveries', (b) => b.deliveries || []);

function errorRow(table, text, cols) {
  fill(table, h('tbody', h('tr', h('td.muted', { colspan: cols }, text))));
}

// ------------------------------------------------------------ reminders

function renderPending() {
  const table = $('pending-chiefs');
  $('remind-all').disabled = week.chiefs.length === 0;
  if (week.errors.chiefs) return errorRow(table, week.errors.chiefs, 4);
  if (!week.chiefs.length) return errorRow(table, t('week.allDone'), 4);
  fill(table,
    h('thead', h('tr', ['name', 'village', 'phone', ''].map((c) => h('th', c ? t(`office.col.${c}`) : '')))),
    h('tbody', week.chiefs.map((c) => h('tr', { dataset: { chiefId: c.chief_id } },
      h('td', c.name), h('td', c.village_name || t('office.level.town')),
      h('td', c.phone ? h('a', { href: `tel:${c.phone}` }, c.phone) : ''),
      h('td', h('button', { type: 'button', onclick: () => remind([c.chief_id]) }, t('week.remindOne')))))));
}

async function remind(chiefIds) {
  const msg = $('remind-message');
  fill(msg);
  try {
    const body = chiefIds ? { chief_ids: chiefIds } : {};
    const answer = await api('/api/v1/reminders', { method: 'POST', body });
    const names = answer.reminded.map((id) => week.chiefs.find((c) => c.chief_id === id)?.name || id);
    notice(msg, answer.reminded.length
      ? t('week.reminded', { n: answer.reminded.length, names: names.join('、'), channels: answer.deliveries.length })
      : t('week.nobodyToRemind'), 'ok');
    await loadDeliveries();
    renderDeliveries();
  } catch (err) {
    notice(msg, problem(err), 'error');
  }
}

// ------------------------------------------------------------- channels

function renderChannels() {
  const table = $('channels');
  if (week.errors.channels) return errorRow(table, week.errors.channels, 4);
  if (!week.channels.length) return errorRow(table, t('week.noChannels'), 4);
  fill(table,
    h('thead', h('tr', ['kind', 'events', 'secret', ''].map((c) => h('th', c ? t(`week.col.${c}`) : '')))),
    h('tbody', week.channels.map((c) => h('tr', { dataset: { channelId: c.id } },
      h('td', t(`week.kind.${c.kind}`)),
      h('td', c.events.map((e) => t(`week.event.${e}`)).join('、')),
      h('td', c.secret_set ? t('week.secretSet') : t('week.secretNone')),
      h('td', h('button', { type: 'button', onclick: () => saveChannels(week.channels.filter((o) => o.id !== c.id)) }, t('week.remove')))))));
}

async function addChannel(ev) {
  ev.preventDefault();
  const events = EVENTS.filter((e) => $(`channel-event-${e}`).checked);
  const added = { kind: $('channel-kind').value, url: $('channel-url').value.trim(), events };
  const secret = $('channel-secret').value.trim();
  if (secret) added.secret = secret;
  if (await saveChannels([...week.channels, added])) ev.target.reset();
}

/** PUT the whole set; kept channels go without `secret`, so they keep theirs. */
async function saveChannels(channels) {
  const msg = $('channel-message');
  fill(msg);
  try {
    const body = { channels: channels.map(({ id, kind, url, events, secret }) => ({ id, kind, url, events, secret })) };
    week.channels = (await api(`/api/v1/towns/${week.user.town_id}/channels`, { method: 'PUT', body })).channels;
    notice(msg, t('week.channelsSaved'), 'ok');
    renderChannels();
    return true;
  } catch (err) {
    notice(msg, problem(err), 'error');
    return false;
  }
}

// ----------------------------------------------------------- deliveries

function renderDeliveries() {
  const table = $('deliveries');
  if (week.errors.deliveries) return errorRow(table, week.errors.deliveries, 6);
  if (!week.deliveries.length) return errorRow(table, t('week.noDeliveries'), 6);
  fill(table,
    h('thead', h('tr', ['time', 'kind', 'event', 'status', 'attempts', 'error'].map((c) => h('th', t(`week.col.${c}`))))),
    h('tbody', week.deliveries.map((d) => h('tr', { dataset: { deliveryId: d.id } },
      h('td', formatCst(d.sent_at || d.created_at)),
      h('td', t(`week.kind.${d.channel_kind}`)),
      h('td', `${t(`week.event.${d.event}`)} ${d.week || ''}`),
      h('td', h(`span.chip.delivery-${d.status}`, t(`week.status.${d.status}`))),
      h('td', String(d.attempts)),
      h('td', d.last_error || '')))));
}
