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
import { trackType } from './trackfile.js';
import { errorSentence, noticeSentence } from './words.js';

const $ = (id) => document.getElementById(id);

const state = {
  user: null,
  chief: null,
  reaches: [], // GeoJSON features of my reaches, for the sketch
  points: [], // of the running patrol, for the sketch
  recorder: null,
  outbox: null,
  issuePhoto: null,
  issueLocation: null,
};

reloadOnUnauthorized();
wireHeader({ onLangChange: () => { renderOutbox(); loadStatus(); loadHistory(); renderRecording(); renderNotices(); renderLeave(); } });
$('test-clock').hidden = !testClock();
main().catch((err) => {
  console.error(err);
  notice($('rec-message'), t('common.error', { msg: errorText(err) }), 'error');
});

async function main() {
  state.user = await ensureLogin($('login'));
  $('main').hidden = false;
  showUser(state.user);
  setupIssueForm();

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
    gps.textContent = t('chief.gpsDenied', { msg: ev.detail.message || ev.detail.code });
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
  const reachLines = state.reaches.flatMap((f) => (f.geometry.type === 'MultiLineString' ? f.geometry.coordinates : [f.geometry.coordinates]));
  const track = state.points.map((p) => [p.lon, p.lat]);
  const all = [...reachLines.flat(), ...track];
  if (!all.length) return svg.replaceChildren();
  const lons = all.map((c) => c[0]);
  const lats = all.map((c) => c[1]);
  const [w, e, s, n] = [Math.min(...lons), Math.max(...lons), Math.min(...lats), Math.max(...lats)];
  const kx = Math.cos(((s + n) / 2) * Math.PI / 180);
  const spanX = Math.max((e - w) * kx, 1e-5);
  const spanY = Math.max(n - s, 1e-5);
  const scale = Math.min(280 / spanX, 120 / spanY);
  const ox = (300 - spanX * scale) / 2;
  const oy = (140 - spanY * scale) / 2;
  const xy = ([lon, lat]) => `${(ox + (lon - w) * kx * scale).toFixed(1)},${(oy + (n - lat) * scale).toFixed(1)}`;
  const ns = 'http://www.w3.org/2000/svg';
  const line = (coords, colour, width) => {
    const el = document.createElementNS(ns, 'polyline');
    el.setAttribute('points', coords.map(xy).join(' '));
    el.setAttribute('fill', 'none');
    el.setAttribute('stroke', colour);
    el.setAttribute('stroke-width', width);
    el.setAttribute('stroke-linecap', 'round');
    el.setAttribute('stroke-linejoin', 'round');
    return el;
  };
  const children = reachLines.map((l) => line(l, '#90caf9', 6));
  if (track.length) {
    children.push(line(track, '#5e35b1', 3));
    const here = document.createElementNS(ns, 'circle');
    const [x, y] = xy(track[track.length - 1]).split(',');
    Object.entries({ cx: x, cy: y, r: 5, fill: '#d32f2f', stroke: '#fff', 'stroke-width': 2 }).forEach(([k, v]) => here.setAttribute(k, v));
    children.push(here);
  }
  svg.replaceChildren(...children);
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
      s.valid === false ? h('span.chip.invalid', `${t('patrol.invalid')}${s.reasons?.length ? `: ${s.reasons.join(', ')}` : ''}`) : null,
      s.valid === true ? h('span.chip.valid', t('patrol.valid')) : null);
  } else if (p.state === 'rejected') {
    const e = p.last_error || {};
    status = e.status === 404 || e.status === 405
      ? h('div.notice.notice-warn', t('chief.upload.unavailable'))
      : h('div.notice.notice-error', t('chief.upload.failed', { msg: `${e.message} (${e.code})` }));
    buttons.push(h('button', { type: 'button', onclick: () => state.outbox.retry(p.id) }, t('common.retry')));
    buttons.push(h('button.danger', { type: 'button', onclick: () => { if (confirm(t('chief.discardConfirm'))) state.outbox.remove(p.id); } }, t('chief.discard')));
  } else if (p.last_error?.code === 'unauthorized') {
    status = h('div.notice.notice-warn', t('chief.upload.needLogin'));
  } else if (p.next_attempt_at > Date.now()) {
    status = h('div.muted', { dataset: { retryAt: p.next_attempt_at, attempts: p.attempts } },
      t('chief.upload.retryIn', { s: Math.round((p.next_attempt_at - Date.now()) / 1000), n: p.attempts }));
    buttons.push(h('button', { type: 'button', onclick: () => state.outbox.kick(true) }, t('chief.upload.uploadNow')));
  } else {
    status = h('div.muted', t('chief.upload.waiting'));
  }
  return h('div.outbox-item', { dataset: { localId: p.id, state: p.state } },
    h('div', h('strong', title)), status, buttons.length ? h('div.row-buttons', buttons) : null);
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
    fill(box, list.slice(0, 50).map((p) => h('div.history-item',
      h('div', h('strong', formatCst(p.started_at)), ' ', h('span.muted', p.week || '')),
      h('div.status-line',
        h(`span.chip.${p.valid ? 'valid' : 'invalid'}`, t(p.valid ? 'patrol.valid' : 'patrol.invalid')),
        h('span', [formatLength(p.length_m), formatDuration(p.duration_s, t),
          p.coverage != null ? `${t('reach.coverage')} ${Math.round(p.coverage * 100)}%` : null].filter(Boolean).join(' · '))),
      p.reasons?.length ? h('div.muted', `${t('patrol.reasons')}: ${p.reasons.join(', ')}`) : null)));
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
    toast(errorSentence(err), 'error');
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
      notice(msg, errorSentence(err), 'error');
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
    state.leaveError = errorSentence(err);
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

  $('issue-photo').addEventListener('change', async (ev) => {
    const file = ev.target.files[0];
    const preview = $('issue-photo-preview');
    state.issuePhoto = null;
    preview.hidden = true;
    if (!file) return;
    try {
      state.issuePhoto = await toJpeg(file);
      preview.src = URL.createObjectURL(state.issuePhoto);
      preview.hidden = false;
    } catch (err) {
      notice($('issue-message'), errorText(err), 'error');
    }
  });

  const locate = () => {
    const last = state.points[state.points.length - 1];
    if (state.recorder?.recording && last) return setLocation(last.lon, last.lat, last.acc);
    if (!('geolocation' in navigator)) return;
    fill($('issue-location'), t('chief.issueLocating'));
    navigator.geolocation.getCurrentPosition(
      (pos) => setLocation(pos.coords.longitude, pos.coords.latitude, pos.coords.accuracy),
      (err) => fill($('issue-location'), t('chief.gpsDenied', { msg: err.message })),
      { enableHighAccuracy: true, timeout: 20000, maximumAge: 30000 },
    );
  };
  $('issue-locate').addEventListener('click', locate);
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
    let body = fields;
    if (state.issuePhoto) {
      body = new FormData();
      body.append('category', fields.category);
      body.append('description', fields.description);
      body.append('location', JSON.stringify(fields.location));
      body.append('photos', state.issuePhoto, `photo-${Date.now()}.jpg`);
    }
    try {
      const issue = await api('/api/v1/issues', { method: 'POST', body });
      notice(msg, t('chief.issueSent', { id: issue?.id ?? '' }), 'ok');
      toast(t('chief.issueSent', { id: issue?.id ?? '' }), 'ok');
      $('issue-form').reset();
      $('issue-photo-preview').hidden = true;
      state.issuePhoto = null;
    } catch (err) {
      notice(msg, err.unavailable ? t('common.unavailable', { what: 'POST /api/v1/issues' }) : errorText(err), 'error');
    } finally {
      submit.disabled = false;
    }
  });
}

function setLocation(lon, lat, accuracy) {
  state.issueLocation = [Math.round(lon * 1e7) / 1e7, Math.round(lat * 1e7) / 1e7];
  fill($('issue-location'), `${state.issueLocation[1].toFixed(5)}, ${state.issueLocation[0].toFixed(5)}${accuracy ? ` (±${Math.round(accuracy)} m)` : ''}`);
}
