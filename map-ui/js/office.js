// The town office (/office): the issue board with the lifecycle actions of
// DESIGN.md, the roster with this week's status, exemptions with the
// chiefs' leave requests to decide, and the bulk upload of track files
// chiefs sent in.

import { api } from './api.js';
import { categoryName, t } from './i18n.js';
import { authImg, errorText, ensureLogin, fill, h, notice, photoRefs, reloadOnUnauthorized, showPhotos, showUser, toast, wireHeader } from './ui.js';
import { formatCst, formatCstDate, formatDuration, formatLength, isoWeekOf, shiftWeek, weekLabel, weekRange } from './time.js';
import { reasonSentences } from './messages.js';
import { ISSUE_STATUSES, asList } from './status.js';
import { renderOfficeWeek, setupOfficeWeek } from './office-week.js';
import { trackType } from './trackfile.js';

const $ = (id) => document.getElementById(id);

/**
 * Which actions each status allows (DESIGN.md "Issue status"); used when the
 * server does not say (`allowed_actions`, which also knows the caller's role).
 */
export const ACTIONS = {
  reported: ['assign', 'escalate', 'reject'],
  assigned: ['start', 'escalate', 'reject'],
  in_progress: ['resolve', 'escalate', 'reject'],
  resolved: ['verify', 'reopen'],
  closed: [],
};

const TABS = ['issues', 'roster', 'exemptions', 'patrols', 'bulk', 'week'];

const state = {
  user: null,
  canAct: false,
  chiefs: [],
  villages: new Map(),
  reaches: new Map(),
  issues: [],
  compliance: null,
  tab: 'issues',
};

reloadOnUnauthorized();
wireHeader({ onLangChange: () => { renderAll(); renderOfficeWeek(); } });
main().catch((err) => notice($('office-notes'), t('common.error', { msg: errorText(err) }), 'error'));

async function main() {
  state.user = await ensureLogin($('login'));
  $('main').hidden = false;
  showUser(state.user);
  // The office (admin) and the town chief dispatch; the server has the last word.
  state.canAct = state.user.role === 'admin' || (state.user.role === 'chief' && state.user.village_id == null);
  for (const tab of TABS) $(`tab-${tab}`).addEventListener('click', () => showTab(tab));
  const asked = location.hash.slice(1);
  if (TABS.includes(asked)) showTab(asked);

  const [chiefs, villages, reaches] = await Promise.all([api('/api/v1/chiefs'), api('/api/v1/villages'), api('/api/v1/reaches')]);
  state.chiefs = chiefs;
  state.villages = new Map(villages.map((v) => [v.id, v]));
  state.reaches = new Map((reaches.features || []).map((f) => [f.properties?.id ?? f.id, f.properties]));
  setupExemptionForm();
  setupPatrols();
  setupBulkUpload();
  await Promise.all([loadIssues(), loadCompliance(), loadExemptions(), loadPatrols(), loadRules()]);
  renderAll();
  await setupOfficeWeek(state.user);
  document.body.dataset.ready = 'true';
}

function showTab(tab) {
  state.tab = tab;
  for (const name of TABS) {
    $(`tab-${name}`).setAttribute('aria-selected', String(name === tab));
    $(`panel-${name}`).hidden = name !== tab;
  }
  history.replaceState(null, '', `#${tab}`);
}

function renderAll() {
  renderBoard();
  renderRoster();
  renderExemptions();
  renderPatrols();
  renderBulk();
}

const chiefName = (id) => state.chiefs.find((c) => c.id === id)?.name;

// ---------------------------------------------------------------- issues

async function loadIssues() {
  try {
    state.issues = asList(await api('/api/v1/issues'), 'issues');
    state.issuesError = null;
  } catch (err) {
    state.issues = [];
    state.issuesError = err.unavailable ? t('common.unavailable', { what: 'GET /api/v1/issues' }) : errorText(err);
  }
}

function renderBoard() {
  const board = $('board');
  const columns = ISSUE_STATUSES.map((status) => {
    const issues = state.issues.filter((i) => i.status === status)
      .sort((a, b) => String(b.created_at || '').localeCompare(String(a.created_at || '')));
    // Closed issues pile up: the latest ones are enough on a board.
    const shown = status === 'closed' ? issues.slice(0, 20) : issues;
    return h('div.column', { dataset: { status } },
      h('h3', h(`span.chip.${status}`, t(`issue.status.${status}`)), h('small.muted', String(issues.length))),
      issues.length ? shown.map(issueCard) : h('p.muted', t('office.emptyColumn')),
      shown.length < issues.length ? h('p.muted', `… +${issues.length - shown.length}`) : null);
  });
  fill(board, columns);
  const notes = $('office-notes');
  fill(notes);
  if (state.issuesError) notice(notes, state.issuesError, 'warn');
  if (!state.canAct) notice(notes, t('office.readOnly'), 'info');
}

function issueCard(issue) {
  const village = state.villages.get(issue.village_id)?.name;
  const reach = state.reaches.get(issue.reach_id)?.name;
  const note = h('input', { type: 'text', placeholder: t('office.note'), 'aria-label': t('office.note'), maxlength: 500 });
  const assignee = h('select', { 'aria-label': t('office.assignTo') },
    state.chiefs.filter((c) => !issue.village_id || c.village_id === issue.village_id || c.level === 'town')
      .map((c) => h('option', { value: c.id, selected: c.id === issue.assignee_id }, `${c.name}（${c.village_name || t('office.level.town')}）`)));
  const actions = Array.isArray(issue.allowed_actions)
    ? issue.allowed_actions
    : (ACTIONS[issue.status] || []).filter((a) => a !== 'escalate' || issue.level !== 'town');
  const run = (action) => transition(issue, action, note.value.trim(), action === 'assign' ? Number(assignee.value) : undefined);
  return h('div.issue-card', { dataset: { issueId: issue.id } },
    h('div', h('strong', `${issue.category_name || categoryName(issue.category)} #${issue.id}`), ' ',
      issue.level ? h('span.muted', `· ${t(`issue.level.${issue.level}`)}`) : null,
      issue.overdue ? [' ', h('span.chip.missed', t('office.overdue'))] : null),
    issue.description ? h('div', issue.description) : null,
    h('div.meta', [village, reach, formatCst(issue.created_at), issue.source ? t(`issue.source.${issue.source}`) : null].filter(Boolean).join(' · ')),
    issue.assignee_id ? h('div.meta', `${t('issue.assignee')}: ${chiefName(issue.assignee_id) || issue.assignee_id}`) : null,
    issue.deadline ? h('div.meta', `${t('issue.deadline')}: ${formatCst(issue.deadline)}`) : null,
    photoRefs(issue).length ? h('div.thumbs', photoRefs(issue).map(([thumb], i, refs) => h('button.thumb', {
      type: 'button', 'aria-label': t('photo.open'), onclick: () => showPhotos(refs.map(([, full]) => full), i),
    }, authImg(thumb, { width: 64, height: 64 })))) : null,
    (state.canAct || Array.isArray(issue.allowed_actions)) && actions.length ? [
      actions.includes('assign') ? assignee : null,
      note,
      h('div.actions', actions.map((a) => h(`button${a === 'reject' ? '.danger' : ''}`, { type: 'button', dataset: { action: a }, onclick: () => run(a) }, t(`office.action.${a}`)))),
    ] : null);
}

async function transition(issue, action, note, assigneeId) {
  const body = { action, note: note || undefined };
  if (assigneeId) body.assignee_id = assigneeId;
  try {
    const updated = await api(`/api/v1/issues/${issue.id}/transitions`, { method: 'POST', body });
    const i = state.issues.findIndex((x) => x.id === issue.id);
    if (updated && i >= 0) state.issues[i] = updated;
    else await loadIssues();
    toast(`#${issue.id} ${t(`office.action.${action}`)} ✓`, 'ok');
  } catch (err) {
    toast(errorText(err), 'error');
    await loadIssues();
  }
  renderBoard();
}

// ---------------------------------------------------------------- roster

async function loadCompliance() {
  try {
    const body = await api(`/api/v1/compliance?week=${isoWeekOf()}`);
    state.compliance = new Map(asList(body, 'chiefs').map((c) => [c.chief_id ?? c.id, c]));
  } catch {
    state.compliance = null;
  }
}

function renderRoster() {
  const cols = ['code', 'name', 'level', 'village', 'phone', 'reaches', 'status'];
  const rows = [...state.chiefs].sort((a, b) => a.code.localeCompare(b.code));
  fill($('roster'),
    h('thead', h('tr', cols.map((c) => h('th', t(`office.col.${c}`))))),
    h('tbody', rows.map((c) => {
      const status = state.compliance?.get(c.id)?.status || 'unknown';
      return h('tr', { dataset: { chiefId: c.id } },
        h('td', c.code), h('td', c.name), h('td', t(`office.level.${c.level}`)), h('td', c.village_name || ''),
        h('td', c.phone ? h('a', { href: `tel:${c.phone}` }, c.phone) : ''),
        h('td', (c.reach_ids || []).map((id) => state.reaches.get(id)?.code || id).join('、') || (c.level === 'town' ? t('common.all') : '')),
        h('td', h(`span.chip.${status}`, t(`status.${status}`))));
    })));
}

// ---------------------------------------------------------------- exemptions

async function loadExemptions() {
  try {
    state.exemptions = asList(await api('/api/v1/exemptions'), 'exemptions');
    state.exemptionsError = null;
  } catch (err) {
    state.exemptions = [];
    state.exemptionsError = err.unavailable ? t('common.unavailable', { what: 'GET /api/v1/exemptions' }) : errorText(err);
  }
}

function setupExemptionForm() {
  fill($('ex-chief'), [...state.chiefs].sort((a, b) => a.code.localeCompare(b.code))
    .map((c) => h('option', { value: c.id }, `${c.code} ${c.name}`)));
  const week = weekRange(isoWeekOf(Date.now() + 7 * 24 * 3600 * 1000));
  $('ex-from').value = week.from;
  $('ex-to').value = week.to;
  const form = $('exemption-form');
  if (state.user.role !== 'admin') form.hidden = true;
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const msg = $('exemption-message');
    fill(msg);
    try {
      await api('/api/v1/exemptions', {
        method: 'POST',
        body: { chief_id: Number($('ex-chief').value), from: $('ex-from').value, to: $('ex-to').value, reason: $('ex-reason').value.trim() },
      });
      notice(msg, t('office.exemption.saved'), 'ok');
      $('ex-reason').value = '';
      await loadExemptions();
      renderExemptions();
    } catch (err) {
      notice(msg, err.unavailable ? t('common.unavailable', { what: 'POST /api/v1/exemptions' }) : errorText(err), 'error');
    }
  });
}

function renderExemptions() {
  const table = $('exemptions');
  if (state.exemptionsError) {
    fill(table, h('tbody', h('tr', h('td.muted', state.exemptionsError))));
    return;
  }
  renderLeaveRequests();
  const rows = [...(state.exemptions || [])].sort((a, b) => String(b.from).localeCompare(String(a.from)));
  const admin = state.user.role === 'admin';
  fill(table,
    h('thead', h('tr', ['name', 'from', 'to', 'reason', 'approver', 'leaveStatus', 'note'].map((c) => h('th', t(`office.col.${c}`))), admin ? h('th') : null)),
    h('tbody', rows.length ? rows.map((e) => h('tr', { dataset: { exemptionId: e.id, status: e.status || 'approved' } },
      h('td', chiefName(e.chief_id) || e.chief_id), h('td', e.from || formatCstDate(e.from_date)), h('td', e.to || e.to_date),
      h('td', e.reason), h('td', e.approved_by_login || e.approver || e.approved_by || ''),
      h('td', t(`leave.status.${e.status || 'approved'}`)), h('td', e.decision_note || ''),
      admin ? h('td', e.status === 'approved' ? h('button.danger', { type: 'button', dataset: { action: 'withdraw' }, onclick: () => withdraw(e) }, t('leave.withdraw')) : null) : null))
      : h('tr', h('td.muted', { colspan: 7 }, t('office.exemption.empty')))));
}

// ---------------------------------------------------------------- leave requests

// Chiefs' own leave requests wait here for the office: 批准 / 不批准 with a
// note; the chief hears of the decision as a notice.
function renderLeaveRequests() {
  const pending = (state.exemptions || []).filter((e) => e.status === 'requested')
    .sort((a, b) => String(a.from).localeCompare(String(b.from)));
  const canDecide = state.user.role === 'admin';
  fill($('leave-requests'), pending.length ? pending.map((e) => {
    const note = h('input', { type: 'text', maxlength: 1000, placeholder: t('office.note'), 'aria-label': t('office.note') });
    const decide = (action) => decideLeave(e, action, note.value.trim());
    return h('div.leave-request', { dataset: { exemptionId: e.id } },
      h('div', h('strong', chiefName(e.chief_id) || e.chief_name), ' ', `${e.from} – ${e.to}`, ' ', h('span.muted', e.reason)),
      canDecide ? [note, h('div.actions',
        h('button.primary', { type: 'button', dataset: { action: 'approve' }, onclick: () => decide('approve') }, t('leave.approve')),
        h('button.danger', { type: 'button', dataset: { action: 'reject' }, onclick: () => decide('reject') }, t('leave.reject')))] : null);
  }) : h('p.muted', t('leave.pendingNone')));
}

async function decideLeave(exemption, action, note) {
  const name = chiefName(exemption.chief_id) || exemption.chief_name;
  try {
    await api(`/api/v1/exemptions/${exemption.id}/${action}`, { method: 'POST', body: note ? { note } : {} });
    toast(t(action === 'approve' ? 'leave.approved' : 'leave.rejected', { name }), 'ok');
  } catch (err) {
    toast(errorText(err), 'error');
  }
  await loadExemptions();
  renderExemptions();
}

async function withdraw(exemption) {
  if (!confirm(t('leave.withdrawConfirm'))) return;
  try {
    await api(`/api/v1/exemptions/${exemption.id}`, { method: 'DELETE' });
    toast(t('leave.withdrawn'), 'ok');
  } catch (err) {
    toast(errorText(err), 'error');
  }
  await loadExemptions();
  renderExemptions();
}

// ---------------------------------------------------------------- bulk upload

// Track files chiefs sent in (WeChat): each is matched to the chief whose
// reach it covers best (POST /api/v1/patrols/match), the office confirms or
// picks another chief, then the files are uploaded as those chiefs one
// after another.
const bulk = { items: [], uploading: false };

function setupBulkUpload() {
  // Only the office uploads for chiefs.
  if (state.user.role !== 'admin') $('tab-bulk').hidden = true;
  const drop = $('bulk-drop');
  $('bulk-files').addEventListener('change', (ev) => {
    addBulkFiles([...ev.target.files]);
    ev.target.value = '';
  });
  drop.addEventListener('dragover', (ev) => { ev.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (ev) => {
    ev.preventDefault();
    drop.classList.remove('over');
    addBulkFiles([...(ev.dataTransfer?.files || [])]);
  });
  $('bulk-upload').addEventListener('click', () => uploadBulk());
}

const coordsQuery = () => ($('bulk-gcj02').checked ? 'coords=gcj02' : '');

async function addBulkFiles(files) {
  const added = files.map((file) => ({ file, type: trackType(file), state: 'matching', candidates: [], chiefId: null, result: null }));
  bulk.items.push(...added);
  renderBulk();
  // One after another: the office's 30 files should not crowd the server.
  for (const item of added) {
    await matchBulkItem(item);
    renderBulk();
  }
}

async function matchBulkItem(item) {
  if (!item.type) {
    Object.assign(item, { state: 'unreadable', result: t('bulk.unknownType') });
    return;
  }
  try {
    const query = coordsQuery();
    const answer = await api(`/api/v1/patrols/match${query ? `?${query}` : ''}`, { method: 'POST', body: item.file, headers: { 'Content-Type': item.type } });
    item.candidates = answer?.candidates || [];
    const best = item.candidates[0];
    item.chiefId = best?.chief_id ?? null;
    item.state = 'ready';
    item.result = best
      ? t('bulk.proposed', { name: best.name, pct: Math.round(best.coverage * 100) })
      : t('bulk.noMatch');
  } catch (err) {
    Object.assign(item, { state: 'unreadable', result: errorText(err) });
  }
}

function bulkChiefSelect(item) {
  const offered = new Set(item.candidates.map((c) => c.chief_id));
  const others = [...state.chiefs].filter((c) => !offered.has(c.id)).sort((a, b) => a.code.localeCompare(b.code));
  return h('select', {
    'aria-label': t('bulk.col.chief'),
    disabled: item.state !== 'ready' || bulk.uploading,
    onchange: (ev) => { item.chiefId = ev.target.value ? Number(ev.target.value) : null; renderBulkButton(); },
  },
  h('option', { value: '' }, t('bulk.pickChief')),
  item.candidates.map((c) => h('option', { value: c.chief_id, selected: c.chief_id === item.chiefId }, t('bulk.candidate', { name: c.name, pct: Math.round(c.coverage * 100) }))),
  others.map((c) => h('option', { value: c.id, selected: c.id === item.chiefId }, `${c.code} ${c.name}`)));
}

function renderBulk() {
  if (!$('bulk-table')) return;
  fill($('bulk-table'), bulk.items.length ? [
    h('thead', h('tr', ['file', 'chief', 'result'].map((c) => h('th', t(`bulk.col.${c}`))))),
    h('tbody', bulk.items.map((item, i) => h('tr', { dataset: { index: i, state: item.state, chiefId: item.chiefId ?? '' } },
      h('td', item.file.name),
      h('td', item.state === 'unreadable' ? '' : bulkChiefSelect(item)),
      h('td', item.state === 'matching' ? t('bulk.matching') : item.result || '')))),
  ] : []);
  renderBulkButton();
}

function renderBulkButton() {
  $('bulk-upload').disabled = bulk.uploading || !bulk.items.some((i) => i.state === 'ready' && i.chiefId);
}

async function uploadBulk() {
  const queue = bulk.items.filter((i) => i.state === 'ready' && i.chiefId);
  bulk.uploading = true;
  renderBulk();
  for (const [n, item] of queue.entries()) {
    fill($('bulk-progress'), t('bulk.progress', { i: n + 1, n: queue.length }));
    const query = [`chief_id=${item.chiefId}`, coordsQuery()].filter(Boolean).join('&');
    try {
      const patrol = await api(`/api/v1/patrols?${query}`, { method: 'POST', body: item.file, headers: { 'Content-Type': item.type } });
      item.result = patrol.valid
        ? t('bulk.valid')
        : t('bulk.invalid', { reasons: reasonSentences(patrol, state.rules).join(' ') });
      item.state = 'done';
    } catch (err) {
      Object.assign(item, { state: 'failed', result: errorText(err) });
    }
    renderBulk();
  }
  bulk.uploading = false;
  fill($('bulk-progress'), t('bulk.done', { n: queue.filter((i) => i.state === 'done').length }));
  renderBulk();
}

// ---------------------------------------------------------------- patrols

// The week's patrols with their verdict in words; the office may set a
// verdict by hand (改判) with a reason, and take that back. Both are audited
// by the server and recount the week at once.

async function loadRules() {
  try {
    state.rules = (await api(`/api/v1/towns/${state.user.town_id}/rules`)).effective;
  } catch {
    state.rules = null; // the rulebook's defaults stand in for the numbers
  }
}

function setupPatrols() {
  state.patrolWeek = isoWeekOf();
  const go = (n) => {
    const week = shiftWeek(state.patrolWeek, n);
    if (n > 0 && week > isoWeekOf()) return;
    state.patrolWeek = week;
    loadPatrols().then(renderPatrols);
  };
  $('patrols-prev').addEventListener('click', () => go(-1));
  $('patrols-next').addEventListener('click', () => go(1));
}

async function loadPatrols() {
  try {
    state.patrols = asList(await api(`/api/v1/patrols?week=${state.patrolWeek}&limit=1000`), 'patrols')
      .sort((a, b) => String(a.started_at).localeCompare(String(b.started_at)));
    state.patrolsError = null;
  } catch (err) {
    state.patrols = [];
    state.patrolsError = errorText(err);
  }
}

function renderPatrols() {
  $('patrols-week').textContent = `${state.patrolWeek} · ${weekLabel(state.patrolWeek)}`;
  $('patrols-next').disabled = state.patrolWeek >= isoWeekOf();
  const table = $('patrols');
  if (state.patrolsError) return fill(table, h('tbody', h('tr', h('td.muted', state.patrolsError))));
  const cols = ['name', 'started', 'figures', 'verdict', 'actions'];
  fill(table,
    h('thead', h('tr', cols.map((c) => h('th', t(`office.patrols.col.${c}`))))),
    h('tbody', state.patrols.length ? state.patrols.map(patrolRow) : h('tr', h('td.muted', { colspan: cols.length }, t('office.patrols.empty')))));
}

function patrolRow(p) {
  const o = p.override;
  const verdict = h('td',
    h(`span.chip.${p.valid ? 'valid' : 'invalid'}`, t(p.valid ? 'patrol.valid' : 'patrol.invalid')),
    o ? h('div.muted', t(o.valid ? 'office.patrols.overriddenValid' : 'office.patrols.overriddenInvalid', {
      reason: o.reason || '', at: o.at ? formatCst(o.at) : '',
    })) : null,
    p.reasons?.length ? h('ul.reasons', reasonSentences(p, state.rules).map((text) => h('li', text))) : null);
  const actions = h('div.patrol-actions');
  if (state.user.role === 'admin') {
    actions.append(h('button', { type: 'button', onclick: () => overrideForm(p, actions) }, t('office.patrols.override')));
    if (o) actions.append(h('button', { type: 'button', onclick: () => clearOverride(p) }, t('office.patrols.clear')));
  }
  return h('tr', { dataset: { patrolId: p.id } },
    h('td', chiefName(p.chief_id) || p.chief_name || p.chief_id),
    h('td', formatCst(p.started_at)),
    h('td', [formatLength(p.length_m), formatDuration(p.duration_s, t),
      p.coverage != null ? `${t('reach.coverage')} ${Math.round(p.coverage * 100)}%` : null].filter(Boolean).join(' · ')),
    verdict, h('td', actions));
}

/** The reason (required) and the verdict to set, under the row's buttons. */
function overrideForm(p, cell) {
  cell.querySelector('form')?.remove();
  const reason = h('textarea', { required: true, maxlength: 1000, rows: 2, placeholder: t('office.patrols.reasonHint') });
  const send = (valid) => async (ev) => {
    ev.preventDefault();
    if (!reason.value.trim()) { reason.focus(); return notice(form, t('office.patrols.reasonRequired'), 'warn'); }
    try {
      await api(`/api/v1/patrols/${p.id}/override`, { method: 'POST', body: { valid, reason: reason.value.trim() } });
      toast(t(valid ? 'office.patrols.setValid' : 'office.patrols.setInvalid'), 'ok');
      await loadPatrols();
      renderPatrols();
      loadCompliance().then(renderRoster);
    } catch (err) {
      notice(form, errorText(err), 'error');
    }
  };
  const form = h('form.override-form', reason, h('div.row-buttons',
    h('button.primary', { type: 'submit', onclick: send(true) }, t('office.patrols.makeValid')),
    h('button.danger', { type: 'button', onclick: send(false) }, t('office.patrols.makeInvalid'))));
  cell.append(form);
  reason.focus();
}

async function clearOverride(p) {
  if (!confirm(t('office.patrols.clearConfirm'))) return;
  try {
    await api(`/api/v1/patrols/${p.id}/override`, { method: 'DELETE' });
    toast(t('office.patrols.cleared'), 'ok');
    await loadPatrols();
    renderPatrols();
    loadCompliance().then(renderRoster);
  } catch (err) {
    notice($('patrols-message'), errorText(err), 'error');
  }
}
