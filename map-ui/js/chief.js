// The village chief's phone page (/chief): this week's status, recording a
// patrol (开始巡河 / 结束巡河), the upload queue, track files from other apps,
// problem reports with a photo, and the chief's own history.

import { api, apiOptional } from './api.js';
import { CATEGORIES, categoryName, t } from './i18n.js';
import { errorText, ensureLogin, fill, h, notice, reloadOnUnauthorized, showUser, toast, wireHeader } from './ui.js';
import { formatCst, formatDuration, formatLength, isoWeekOf, shiftWeek, weekRange } from './time.js';
import { asList } from './status.js';
import { Recorder, testClock } from './recorder.js';
import { Outbox } from './outbox.js';
import * as store from './store.js';
import { toJpeg } from './photo.js';
import { DEFAULT_RULES, errorSentence, gpsReason, noticeSentence, reasonSentences } from './messages.js';
import { drawSketch, linesOf, uncoveredStretches } from './sketch.js';
import { IssueOutbox } from './issue-outbox.js';
import { trackType } from './trackfile.js';

const $ = (id) => document.getElementById(id);

const state = {
  user: null,
  chief: null,
  reaches: [], // GeoJSON features of my reaches, for the sketch
  points: [], // of the running patrol, for the sketch
  recorder: null,
  outbox: null,
  issuePhotos: [], // JPEG Blobs for the problem report being written
  issueLocation: null,
  rules: null, // the town's effective patrol rules
};

reloadOnUnauthorized();
wireHeader({ onLangChange: () => { renderOutbox(); loadStatus(); loadHistory(); renderRecording(); renderNotices(); renderLeave(); } });
$('test-clock').hidden = !testClock();
// Opens with no signal (sw.js); where service workers are missing
// (plain HTTP over the network) the page works online as before.
if ('serviceWorker' in navigator) {
  navigator.serviceWorker.register('/sw.js').catch((err) => console.warn('service worker', err));
}
main().catch((err) => {
  console.error(err);
  notice($('rec-message'), t('common.error', { msg: errorText(err) }), 'error');
});

async function main() {
  state.user = await ensureLogin($('login'));
  $('main').hidden = false;
  showUser(state.user);
  state.issues = new IssueOutbox(state.user);
  setupIssueForm();
  wireIssueOutbox();
  setInterval(() => state.issues.flush(), 30_000);

  if (state.user.chief_id == null) {
    fill($('me-name'), state.user.login);
    $('recorder-card').replaceChildren(h('div.notice.notice-warn', t('chief.notChief')));
    $('file-card').hidden = true;
    $('history-card').hidden = true;
    $('leave-card').hidden = true;
    $('week-status').hidden = true;
    document.body.dataset.ready = 'true';
    return;
  }

  state.recorder = new Recorder(state.user);
  state.outbox = new Outbox(state.user);
  window.rcChief = { recorder: state.recorder, outbox: state.outbox, store }; // for the browser tests
  wireRecorder();
  wireFileUpload();
  state.outbox.addEventListener('change', () => { renderOutbox(); });
  // A patrol landed: the week's status and the history have news.
  state.outbox.addEventListener('uploaded', () => { loadStatus(); loadHistory(); });

  setupLeaveForm();
  await Promise.all([loadMe(), loadStatus(), showUnfinished(), renderOutbox(), loadHistory(), loadNotices(), loadLeave()]);
  state.outbox.kick(true);
  setInterval(tick, 1000);
  document.body.dataset.ready = 'true';
}

// ---------------------------------------------------------------- me & status

async function loadMe() {
  try {
    const [chief, reaches] = await Promise.all([
      api(`/api/v1/chiefs/${state.user.chief_id}`),
      api('/api/v1/reaches'),
    ]);
    state.chief = chief;
    loadRules(chief.town_id);
    fill($('me-name'), chief.name);
    fill($('me-village'), chief.village_name || t('office.level.town'));
    const mine = (reaches.features || []).filter((f) => (chief.reach_ids || []).includes(f.properties?.id ?? f.id));
    state.reaches = mine;
    fill($('me-reaches'), mine.length ? `${t('chief.reaches')}：${mine.map((f) => `${f.properties.name}（${formatLength(f.properties.length_m)}）`).join('、')}` : '');
    renderSketch();
  } catch (err) {
    fill($('me-name'), state.user.login);
    notice($('me-card'), errorText(err), 'error');
  }
}

async function loadStatus() {
  if (!state.user?.chief_id) return;
  const chip = $('week-status');
  const week = isoWeekOf();
  try {
    const body = await api(`/api/v1/compliance?week=${week}`);
    const row = asList(body, 'chiefs').find((c) => (c.chief_id ?? c.id) === state.user.chief_id);
    const status = row?.status || 'unknown';
    chip.className = `chip ${status}`;
    chip.textContent = t(`status.${status}`);
    fill($('week-detail'), `${week}${row?.valid_patrols != null ? ` · ${t('chiefs.patrols', { n: row.valid_patrols })}` : ''}`);
  } catch (err) {
    chip.className = 'chip unknown';
    chip.textContent = t('status.unknown');
    fill($('week-detail'), err.unavailable ? t('common.unavailable', { what: 'compliance' }) : errorText(err));
  }
}

// ---------------------------------------------------------------- recording

function wireRecorder() {
  const rec = state.recorder;
  $('start').addEventListener('click', async () => {
    if (!window.isSecureContext) notice($('rec-message'), t('chief.gpsInsecure'), 'error');
    state.points = [];
    await rec.start();
    renderRecording();
  });
  $('finish').addEventListener('click', () => finish());
  $('discard').addEventListener('click', () => discard());
  $('continue').addEventListener('click', async () => {
    await rec.resume(state.unfinished);
    state.unfinished = null;
    renderRecording();
  });
  $('finish-unfinished').addEventListener('click', async () => {
    rec.patrol = state.unfinished;
    await finish();
  });
  $('discard-unfinished').addEventListener('click', async () => {
    rec.patrol = state.unfinished;
    await discard();
  });
  rec.addEventListener('point', (ev) => {
    state.points.push(ev.detail.point);
    $('rec-gps').hidden = true;
    renderRecording();
  });
  rec.addEventListener('error', (ev) => {
    const gps = $('rec-gps');
    gps.hidden = false;
    gps.className = 'notice notice-error';
    gps.textContent = ev.detail.code === 'storage' ? t('chief.storageFailed') : t('chief.gpsDenied', { msg: gpsReason(ev.detail.code) });
  });
}

async function showUnfinished() {
  const p = await state.recorder.unfinished();
  state.unfinished = p;
  if (p) {
    state.points = await store.pointsOf(p.id);
    fill($('unfinished-text'), t('chief.unfinished', { start: formatCst(p.started_at), n: p.point_count || 0 }));
  }
  renderRecording();
}

async function finish() {
  fill($('rec-message'));
  try {
    const record = await state.recorder.finish();
    state.unfinished = null;
    state.points = [];
    renderRecording();
    await renderOutbox();
    state.outbox.kick(true);
    return record;
  } catch (err) {
    if (err.code === 'too_few_points') notice($('rec-message'), t('chief.tooFewPoints'), 'warn');
    else notice($('rec-message'), errorText(err), 'error');
    return null;
  }
}

async function discard() {
  if (!confirm(t('chief.discardConfirm'))) return;
  await state.recorder.discard();
  state.unfinished = null;
  state.points = [];
  fill($('rec-message'));
  renderRecording();
}

function renderRecording() {
  const rec = state.recorder;
  if (!rec) return;
  const recording = rec.recording;
  $('unfinished').hidden = recording || !state.unfinished;
  $('idle').hidden = recording || !!state.unfinished;
  $('recording').hidden = !recording;
  if (!recording) return;
  const p = rec.patrol;
  $('rec-points').textContent = String(p?.point_count || 0);
  $('rec-distance').textContent = formatLength(p?.distance_m || 0);
  $('rec-accuracy').textContent = rec.lastAccuracy != null ? t('chief.accuracy', { m: Math.round(rec.lastAccuracy) }) : '';
  if (!p?.point_count) {
    const gps = $('rec-gps');
    if (gps.hidden || gps.classList.contains('notice-info')) {
      gps.hidden = false;
      gps.className = 'notice notice-info';
      gps.textContent = t('chief.waitingGps');
    }
  }
  updateElapsed();
  renderSketch();
}

function updateElapsed() {
  const p = state.recorder?.patrol;
  if (!state.recorder?.recording || !p) return;
  const last = state.points.length ? state.points[state.points.length - 1].t : p.started_at;
  const clock = testClock();
  const now = clock ? last : Date.now();
  const s = Math.max(0, Math.round((now - p.started_at) / 1000));
  const hh = Math.floor(s / 3600);
  const mm = String(Math.floor((s % 3600) / 60)).padStart(hh ? 2 : 1, '0');
  $('rec-elapsed').textContent = `${hh ? `${hh}:` : ''}${mm}:${String(s % 60).padStart(2, '0')}`;
}

/** My reaches (light) and the track so far (dark), scaled into the SVG box. */
function renderSketch() {
  const svg = $('rec-sketch');
  if (!svg || $('recording').hidden) return;
  const track = state.points.map((p) => [p.lon, p.lat]);
  drawSketch(svg, { reaches: state.reaches.flatMap(linesOf), track: track.length ? [track] : [], here: track[track.length - 1] });
}

/**
 * A patrol over the chief's reach: the track, the stretches of the reach it
 * did not pass (red), its figures and, if invalid, why. Opened from the
 * upload list and the history.
 */
function patrolView(patrol) {
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('viewBox', '0 0 300 140');
  svg.setAttribute('class', 'track-sketch');
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', t('chief.view.aria'));
  const box = h('div.patrol-view', { dataset: { patrolId: patrol.id } }, svg,
    h('div.legend-line',
      h('span.key.reach', t('chief.view.reach')), h('span.key.uncovered', t('chief.view.uncovered')), h('span.key.track', t('chief.view.track'))),
    h('div.muted', [formatCst(patrol.started_at), formatLength(patrol.length_m), formatDuration(patrol.duration_s, t),
      patrol.coverage != null ? `${t('reach.coverage')} ${Math.round(patrol.coverage * 100)}%` : null].filter(Boolean).join(' · ')),
    reasonList(patrol));
  const reachIds = new Set((patrol.reaches || []).map((r) => r.reach_id));
  const reachFeatures = state.reaches.filter((f) => !reachIds.size || reachIds.has(f.properties?.id ?? f.id));
  api(`/api/v1/patrols/${patrol.id}/track`).then((track) => {
    const trackLines = linesOf(track);
    const reaches = (reachFeatures.length ? reachFeatures : state.reaches).flatMap(linesOf);
    const buffer = (state.rules || DEFAULT_RULES).buffer_m;
    drawSketch(svg, { reaches, track: trackLines, uncovered: uncoveredStretches(reaches, trackLines.flat(), buffer) });
  }).catch((err) => box.append(h('div.muted', errorText(err))));
  return box;
}

/** A button that opens (and closes) the patrol's view under `container`. */
function viewButton(patrol, container) {
  let view = null;
  return h('button.small', { type: 'button', onclick: (ev) => {
    if (view) { view.remove(); view = null; ev.target.textContent = t('chief.view.open'); return; }
    view = patrolView(patrol);
    container.append(view);
    ev.target.textContent = t('chief.view.close');
  } }, t('chief.view.open'));
}

function tick() {
  updateElapsed();
  // Countdown of the next retry.
  for (const el of document.querySelectorAll('[data-retry-at]')) {
    const s = Math.max(0, Math.round((Number(el.dataset.retryAt) - Date.now()) / 1000));
    el.textContent = t('chief.upload.retryIn', { s, n: el.dataset.attempts });
  }
}

// ---------------------------------------------------------------- outbox

async function renderOutbox() {
  if (!state.outbox) return;
  const items = await state.outbox.items();
  // Uploaded ones stay listed for a day, so the chief sees the result.
  const shown = items.filter((p) => p.state !== 'uploaded' || Date.now() - (p.uploaded_at || 0) < 24 * 3600 * 1000);
  $('outbox-card').hidden = !shown.length;
  fill($('outbox'), shown.map((p) => outboxItem(p)));
}

function outboxItem(p) {
  const title = p.kind === 'file'
    ? p.file_name
    : `${formatCst(p.started_at)} – ${formatCst(p.finished_at, { date: false })} · ${formatLength(p.distance_m)} · ${t('chief.points', { n: p.point_count })}`;
  const sending = state.outbox.progress.get(p.id);
  let status;
  const buttons = [];
  if (sending != null) {
    status = [h('div', t('chief.upload.sending', { pct: Math.round(sending * 100) })),
      h('div.progress', h('div', { style: { width: `${Math.round(sending * 100)}%` } }))];
  } else if (p.state === 'uploaded') {
    const s = p.server || {};
    status = h('div', h('span.chip.valid', t('chief.upload.done')), ' ',
      s.valid === false ? h('span.chip.invalid', t('patrol.invalid')) : null,
      s.valid === true ? h('span.chip.valid', t('patrol.valid')) : null,
      reasonList(s));
    if (s.id != null) buttons.push(viewButton(s, status));
  } else if (p.state === 'rejected') {
    const e = p.last_error || {};
    status = e.status === 404 || e.status === 405
      ? h('div.notice.notice-warn', t('chief.upload.unavailable'))
      : h('div.notice.notice-error', t('chief.upload.failed', { msg: errorSentence(e) }));
    // Refused for good (the file itself): sending it again gives the same answer.
    if (e.status === 404 || e.status === 405) {
      buttons.push(h('button', { type: 'button', onclick: () => state.outbox.retry(p.id) }, t('common.retry')));
    }
    buttons.push(h('button.danger', { type: 'button', onclick: () => { if (confirm(t('chief.discardConfirm'))) state.outbox.remove(p.id); } }, t('chief.discard')));
  } else if (p.last_error?.code === 'unauthorized') {
    status = h('div.notice.notice-warn', t('chief.upload.needLogin'));
  } else if (p.next_attempt_at > Date.now()) {
    const s = Math.round((p.next_attempt_at - Date.now()) / 1000);
    status = h('div.muted', { dataset: { retryAt: p.next_attempt_at, attempts: p.attempts } },
      p.last_error?.status === 0 ? t('chief.upload.offline', { s }) : t('chief.upload.retryIn', { s, n: p.attempts }));
    buttons.push(h('button', { type: 'button', onclick: () => state.outbox.kick(true) }, t('chief.upload.uploadNow')));
  } else {
    status = h('div.muted', t('chief.upload.waiting'));
  }
  return h('div.outbox-item', { dataset: { localId: p.id, state: p.state } },
    h('div', h('strong', title)), status, buttons.length ? h('div.row-buttons', buttons) : null);
}

/** The reasons a patrol is invalid, one sentence each, with the town's thresholds. */
function reasonList(patrol) {
  const sentences = reasonSentences(patrol, state.rules);
  return sentences.length ? h('ul.reasons', sentences.map((text) => h('li', text))) : null;
}

/** The town's effective rules, for the numbers in reason sentences (defaults until they come). */
async function loadRules(townId) {
  if (townId == null) return;
  try {
    state.rules = (await api(`/api/v1/towns/${townId}/rules`)).effective;
    renderOutbox();
    loadHistory();
  } catch {
    // The defaults of DESIGN stand in; the verdict itself is the server's.
  }
}

// ---------------------------------------------------------------- files

function wireFileUpload() {
  $('track-file').addEventListener('change', async (ev) => {
    const file = ev.target.files[0];
    if (!file) return;
    const type = trackType(file);
    fill($('file-message'));
    if (!type) {
      notice($('file-message'), t('chief.fileUnknown', { name: file.name }), 'error');
      return;
    }
    await state.outbox.addFile(file, type, { gcj02: $('track-gcj02').checked });
    ev.target.value = '';
    notice($('file-message'), t('chief.fileSent', { name: file.name }), 'ok');
  });
}

// ---------------------------------------------------------------- history

async function loadHistory() {
  if (!state.user?.chief_id) return;
  const box = $('history');
  try {
    const list = asList(await api(`/api/v1/patrols?chief_id=${state.user.chief_id}`), 'patrols')
      .sort((a, b) => String(b.started_at).localeCompare(String(a.started_at)));
    if (!list.length) return fill(box, h('p.muted', t('chief.historyEmpty')));
    fill(box, list.slice(0, 50).map((p) => {
      const item = h('div.history-item', { dataset: { patrolId: p.id } },
        h('div', h('strong', formatCst(p.started_at)), ' ', h('span.muted', p.week || '')),
        h('div.status-line',
          h(`span.chip.${p.valid ? 'valid' : 'invalid'}`, t(p.valid ? 'patrol.valid' : 'patrol.invalid')),
          h('span', [formatLength(p.length_m), formatDuration(p.duration_s, t),
            p.coverage != null ? `${t('reach.coverage')} ${Math.round(p.coverage * 100)}%` : null].filter(Boolean).join(' · '))),
        reasonList(p));
      item.append(h('div.row-buttons', viewButton(p, item)));
      return item;
    }));
  } catch (err) {
    fill(box, h('p.muted', err.unavailable ? t('common.unavailable', { what: 'GET /api/v1/patrols' }) : errorText(err)));
  }
}

// ---------------------------------------------------------------- notices

// Unread notices (reminders, leave decisions) at the top of the page, each
// with a button to mark it read.
async function loadNotices() {
  try {
    state.notices = asList(await api('/api/v1/notices'), 'notices');
  } catch (err) {
    state.notices = [];
    console.warn('notices', err);
  }
  renderNotices();
}

function renderNotices() {
  const unread = (state.notices || []).filter((n) => !n.read);
  $('notices-card').hidden = !unread.length;
  fill($('notices'), unread.map((n) => h('div.notice.notice-info', { dataset: { noticeId: n.id, kind: n.kind } },
    h('div', noticeSentence(n)),
    h('div.status-line', h('small.muted', formatCst(n.created_at)),
      h('button', { type: 'button', onclick: () => markRead(n.id) }, t('notice.markRead'))))));
}

async function markRead(id) {
  try {
    await api(`/api/v1/notices/${id}/read`, { method: 'POST' });
  } catch (err) {
    toast(errorText(err), 'error');
  }
  await loadNotices();
}

// ---------------------------------------------------------------- leave

// The chief asks leave for themself; the office approves or rejects it.
function setupLeaveForm() {
  const next = weekRange(shiftWeek(isoWeekOf(), 1));
  $('leave-from').value = next.from;
  $('leave-to').value = next.to;
  $('leave-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const msg = $('leave-message');
    fill(msg);
    const submit = $('leave-submit');
    submit.disabled = true;
    try {
      await api('/api/v1/exemptions', {
        method: 'POST',
        body: { chief_id: state.user.chief_id, from: $('leave-from').value, to: $('leave-to').value, reason: $('leave-reason').value.trim() },
      });
      notice(msg, t('leave.sent'), 'ok');
      $('leave-reason').value = '';
      await loadLeave();
    } catch (err) {
      notice(msg, errorText(err), 'error');
    } finally {
      submit.disabled = false;
    }
  });
}

async function loadLeave() {
  try {
    state.leave = asList(await api(`/api/v1/exemptions?chief_id=${state.user.chief_id}`), 'exemptions');
    state.leaveError = null;
  } catch (err) {
    state.leave = [];
    state.leaveError = errorText(err);
  }
  renderLeave();
}

function renderLeave() {
  const box = $('leave-list');
  if (state.leaveError) return fill(box, h('p.muted', state.leaveError));
  const list = [...(state.leave || [])].sort((a, b) => String(b.from).localeCompare(String(a.from)));
  if (!list.length) return fill(box, h('p.muted', t('leave.none')));
  fill(box, list.map((e) => h('div.history-item', { dataset: { exemptionId: e.id, status: e.status } },
    h('div', h('strong', `${e.from} – ${e.to}`), ' ', h('span.muted', e.reason)),
    h('div.status-line', h(`span.chip.${LEAVE_CHIPS[e.status] || 'unknown'}`, t(`leave.status.${e.status}`)),
      e.decision_note ? h('span', t('notice.note', { note: e.decision_note })) : null))));
}

/** The chip colour of each leave status. */
const LEAVE_CHIPS = { requested: 'pending', approved: 'exempt', rejected: 'missed' };

// ---------------------------------------------------------------- issues

function setupIssueForm() {
  fill($('issue-category'), CATEGORIES.map((c) => h('option', { value: c }, categoryName(c))));
  // Towns may have their own categories (the Open311 services): use them when offered.
  apiOptional('/open311/v2/services.json').then((services) => {
    if (Array.isArray(services) && services.length) {
      fill($('issue-category'), services.map((s) => h('option', { value: s.service_code }, categoryName(s.service_code) === s.service_code ? s.service_name : categoryName(s.service_code))));
    }
  }).catch(() => {});

  // Up to MAX_PHOTOS photos, one or several at a time (a phone's camera gives one per tap).
  $('issue-photo').addEventListener('change', async (ev) => {
    for (const file of [...ev.target.files]) {
      if (state.issuePhotos.length >= MAX_PHOTOS) {
        notice($('issue-message'), t('chief.issuePhotoLimit', { n: MAX_PHOTOS }), 'warn');
        break;
      }
      try {
        state.issuePhotos.push(await toJpeg(file));
      } catch (err) {
        notice($('issue-message'), errorText(err), 'error');
      }
    }
    ev.target.value = '';
    renderIssuePhotos();
  });

  const locate = () => {
    const last = state.points[state.points.length - 1];
    if (state.recorder?.recording && last) return setLocation(last.lon, last.lat, last.acc);
    if (!('geolocation' in navigator)) return;
    fill($('issue-location'), t('chief.issueLocating'));
    navigator.geolocation.getCurrentPosition(
      (pos) => setLocation(pos.coords.longitude, pos.coords.latitude, pos.coords.accuracy),
      (err) => fill($('issue-location'), t('chief.gpsDenied', { msg: gpsReason(err.code) })),
      { enableHighAccuracy: true, timeout: 20000, maximumAge: 30000 },
    );
  };
  $('issue-locate').addEventListener('click', locate);
  wirePin();
  $('issue-details').addEventListener('toggle', () => {
    if ($('issue-details').open && !state.issueLocation) locate();
  });

  $('issue-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const msg = $('issue-message');
    fill(msg);
    if (!state.issueLocation) return notice(msg, t('chief.issueNoLocation'), 'warn');
    const submit = $('issue-submit');
    submit.disabled = true;
    const fields = {
      category: $('issue-category').value,
      description: $('issue-description').value.trim(),
      location: { type: 'Point', coordinates: state.issueLocation },
    };
    try {
      const outcome = await state.issues.submit(fields, state.issuePhotos);
      const text = outcome.sent ? t('chief.issueSent', { id: outcome.sent?.id ?? '' }) : t('chief.issueQueued');
      if (outcome.sent) loadMyIssues();
      notice(msg, text, outcome.sent ? 'ok' : 'warn');
      toast(text, outcome.sent ? 'ok' : 'info');
      $('issue-form').reset();
      state.issuePhotos = [];
      renderIssuePhotos();
    } catch (err) {
      notice(msg, errorText(err), 'error');
    } finally {
      submit.disabled = false;
    }
  });
}

const MAX_PHOTOS = 6;

/** Thumbnails of the photos chosen so far, each with a button to take it out. */
function renderIssuePhotos() {
  const box = $('issue-photo-preview');
  box.hidden = !state.issuePhotos.length;
  fill(box, state.issuePhotos.map((photo, i) => h('div.photo-thumb',
    h('img', { src: URL.createObjectURL(photo), alt: '' }),
    h('button.small', { type: 'button', 'aria-label': t('chief.issuePhotoRemove'), onclick: () => {
      state.issuePhotos.splice(i, 1);
      renderIssuePhotos();
    } }, '×'))));
  $('issue-photo-count').textContent = state.issuePhotos.length ? t('chief.issuePhotoCount', { n: state.issuePhotos.length, max: MAX_PHOTOS }) : '';
}

/**
 * 我的问题: the problems this chief reported or has to handle, newest
 * first, with their status and the last word of whoever handled them.
 */
async function loadMyIssues() {
  const box = $('my-issues');
  try {
    const mine = asList(await api('/api/v1/issues?limit=200'), 'issues').filter((i) => i.assignee_id === state.user.chief_id
      || i.history?.[0]?.actor_user_id === state.user.id)
      .sort((a, b) => String(b.created_at).localeCompare(String(a.created_at)));
    $('my-issues-card').hidden = !mine.length;
    fill(box, mine.slice(0, 30).map((i) => {
      const word = [...(i.history || [])].reverse().find((e) => e.note && e.actor_user_id !== state.user.id);
      return h('div.history-item', { dataset: { issueId: i.id } },
        h('div', h('strong', i.category_name || categoryName(i.category)), ' ', h('span.muted', `#${i.id} · ${formatCst(i.created_at)}`)),
        h('div.status-line', h(`span.chip.${i.status}`, t(`issue.status.${i.status}`)),
          h('span.muted', t(`issue.source.${i.source}`)),
          i.overdue ? h('span.chip.missed', t('chief.issueOverdue')) : null),
        i.description ? h('div', i.description.length > 80 ? `${i.description.slice(0, 80)}…` : i.description) : null,
        word ? h('div.muted', t('chief.issueNote', { who: word.actor || t('nav.office'), note: word.note })) : null);
    }));
  } catch (err) {
    if (!err.unavailable) fill(box, h('p.muted', errorText(err)));
  }
}

/** Problem reports waiting on the phone for a signal: how many, and their delivery. */
function wireIssueOutbox() {
  const show = async () => {
    const waiting = await state.issues.pending();
    const box = $('issue-queue');
    box.hidden = !waiting.length;
    fill(box, waiting.length ? t('chief.issuesWaiting', { n: waiting.length }) : '');
  };
  state.issues.addEventListener('change', show);
  state.issues.addEventListener('sent', (ev) => {
    toast(t('chief.issueSent', { id: ev.detail?.id ?? '' }), 'ok');
    loadMyIssues();
  });
  state.issues.addEventListener('refused', (ev) => notice($('issue-message'), errorText(ev.detail.error), 'error'));
  show();
  state.issues.flush();
  loadMyIssues();
}

function setLocation(lon, lat, accuracy, { moved = false } = {}) {
  state.issueLocation = [Math.round(lon * 1e7) / 1e7, Math.round(lat * 1e7) / 1e7];
  const where = `${state.issueLocation[1].toFixed(5)}, ${state.issueLocation[0].toFixed(5)}`;
  fill($('issue-location'), moved ? t('chief.issueMoved', { where }) : `${where}${accuracy ? ` (±${Math.round(accuracy)} m)` : ''}`);
  if (!moved) state.pinFrame = null;
  drawPin();
}

/**
 * The problem's pin over the chief's reaches; dragging it (or tapping)
 * corrects a GPS position that is off by the width of the river.
 */
function drawPin() {
  const svg = $('issue-pin');
  // An <svg> has no `hidden` property of its own: set the attribute.
  svg.toggleAttribute('hidden', !state.issueLocation);
  $('issue-pin-hint').hidden = !state.issueLocation;
  if (!state.issueLocation) return;
  const reaches = state.reaches.flatMap(linesOf);
  // The extent stays put while the pin moves: the reaches and the first position, with a margin.
  if (!state.pinFrame) {
    const pts = [...reaches.flat(), state.issueLocation];
    const lons = pts.map((c) => c[0]);
    const lats = pts.map((c) => c[1]);
    const pad = Math.max(Math.max(...lons) - Math.min(...lons), Math.max(...lats) - Math.min(...lats), 0.002) * 0.15;
    state.pinFrame = [[Math.min(...lons) - pad, Math.min(...lats) - pad], [Math.max(...lons) + pad, Math.max(...lats) + pad]];
  }
  state.pinSketch = drawSketch(svg, { reaches, here: state.issueLocation, frame: state.pinFrame });
}

function wirePin() {
  const svg = $('issue-pin');
  const moveTo = (ev) => {
    const box = svg.getBoundingClientRect();
    // The viewBox is 300 × 140, drawn with xMidYMid meet.
    const scale = Math.min(box.width / 300, box.height / 140);
    const x = (ev.clientX - box.left - (box.width - 300 * scale) / 2) / scale;
    const y = (ev.clientY - box.top - (box.height - 140 * scale) / 2) / scale;
    const [lon, lat] = state.pinSketch.toLonLat([x, y]);
    setLocation(lon, lat, null, { moved: true });
  };
  let dragging = false;
  svg.addEventListener('pointerdown', (ev) => { dragging = true; svg.setPointerCapture(ev.pointerId); moveTo(ev); });
  svg.addEventListener('pointermove', (ev) => { if (dragging) moveTo(ev); });
  svg.addEventListener('pointerup', () => { dragging = false; });
  svg.addEventListener('pointercancel', () => { dragging = false; });
}
