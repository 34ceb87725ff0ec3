// The town head's map (/): reaches coloured by this week's status, patrol
// tracks, issues, the chief list (overdue first) and the week's figures.

import * as maplibregl from '/vendor/maplibre-gl/maplibre-gl.mjs';
import { api, apiOptional, currentUser, token } from './api.js';
import { categoryName, t } from './i18n.js';
import { authImg, errorText, ensureLogin, fill, h, notice, photoRefs, reloadOnUnauthorized, showPhotos, showUser, wireHeader } from './ui.js';
import { formatCst, formatDuration, formatLength, isoWeekOf, parseWeek, shiftWeek, weekLabel, weekRange } from './time.js';
import { LAYER_IDS, Overlay, TRACK_COLOUR, UNCOVERED_COLOUR, baseStyle, bounds, issueIconUrl, midpoint, tilesAvailable } from './overlay.js';
import { OPEN_ISSUE_STATUSES, STATUS_COLOURS, asList, bestStatus, statusRank } from './status.js';
import { mapSettings, saveMapSettings } from './config.js';
import { DEFAULT_RULES, reasonSentences } from './messages.js';
import { linesOf, uncoveredStretches } from './sketch.js';

const $ = (id) => document.getElementById(id);

const state = {
  user: null,
  townId: null,
  week: isoWeekOf(),
  villageId: null,
  villages: [],
  chiefs: [],
  reaches: { type: 'FeatureCollection', features: [] },
  compliance: null, // Map chief_id -> row, or null when unavailable
  patrols: null, // list for the week, or null when unavailable
  issues: null,
  stats: null,
  unavailable: new Set(),
  map: null,
  overlay: null,
  popup: null,
  labels: [],
};

reloadOnUnauthorized();
wireHeader({ onLangChange: () => renderAll() });
main().catch((err) => {
  console.error(err);
  notice($('map-notes') || document.body, t('common.error', { msg: errorText(err) }), 'error');
});

async function main() {
  state.user = await ensureLogin($('login'));
  // A village chief's page is /chief: the town map would show them a town
  // they may not read (statuses unknown, figures refused).
  if (state.user.role === 'chief' && state.user.village_id != null) {
    location.replace('/chief');
    return;
  }
  $('main').hidden = false;
  showUser(state.user);

  const asked = new URLSearchParams(location.search).get('week');
  if (parseWeek(asked)) state.week = asked;
  setupWeekPicker();

  const [towns, villages, chiefs, reaches] = await Promise.all([
    api('/api/v1/towns'), api('/api/v1/villages'), api('/api/v1/chiefs'), api('/api/v1/reaches'),
  ]);
  state.townId = state.user.town_id ?? towns[0]?.id ?? null;
  const town = towns.find((tw) => tw.id === state.townId);
  if (town) {
    document.title = `${town.name} · ${t('app.townMap')}`;
    $('title').textContent = `${town.name} ${t('app.townMap')}`;
  }
  state.villages = villages.filter((v) => state.townId == null || v.town_id === state.townId);
  state.chiefs = chiefs;
  state.reaches = normaliseReaches(reaches);
  setupVillageFilter();

  await createMap();
  await loadWeek();
  document.body.dataset.ready = 'true';
}

function normaliseReaches(fc) {
  return {
    type: 'FeatureCollection',
    features: (fc.features || []).map((f) => ({
      ...f,
      id: f.id ?? f.properties?.id,
      properties: { ...f.properties, id: f.properties?.id ?? f.id, status: 'unknown' },
    })),
  };
}

// ---------------------------------------------------------------- controls

function setupWeekPicker() {
  const select = $('week');
  const current = isoWeekOf();
  const weeks = [];
  for (let i = 0; i < 53; i++) weeks.push(shiftWeek(current, -i));
  if (!weeks.includes(state.week)) weeks.unshift(state.week);
  fill(select, weeks.map((w) => h('option', { value: w }, w)));
  select.value = state.week;
  const go = (week) => {
    if (!week || week === state.week) return;
    if (![...select.options].some((o) => o.value === week)) return;
    state.week = week;
    select.value = week;
    const url = new URL(location.href);
    if (week === current) url.searchParams.delete('week');
    else url.searchParams.set('week', week);
    history.replaceState(null, '', url);
    updateWeekDates();
    state.overlay?.setWeek(week);
    loadWeek();
  };
  select.addEventListener('change', () => go(select.value));
  $('week-prev').addEventListener('click', () => go(shiftWeek(state.week, -1)));
  $('week-next').addEventListener('click', () => go(shiftWeek(state.week, 1)));
  updateWeekDates();
}

function updateWeekDates() {
  const current = state.week === isoWeekOf();
  $('week-dates').textContent = current ? `${weekLabel(state.week)} · ${t('week.this')}` : weekLabel(state.week);
  $('week-next').disabled = state.week === isoWeekOf();
}

function setupVillageFilter() {
  const select = $('village');
  fill(select, h('option', { value: '' }, t('village.all')),
    state.villages.map((v) => h('option', { value: String(v.id) }, v.name)));
  select.addEventListener('change', () => {
    state.villageId = select.value ? Number(select.value) : null;
    state.overlay?.filterVillage(state.villageId);
    renderLabels();
    fitTo(state.villageId
      ? { type: 'FeatureCollection', features: state.reaches.features.filter((f) => f.properties.village_id === state.villageId) }
      : state.reaches);
    renderSidebar();
  });
}

// ---------------------------------------------------------------- map

async function createMap() {
  const settings = mapSettings();
  const authHeader = { Authorization: `Bearer ${token()}` };
  const mode = (await tilesAvailable(state.week, authHeader)) ? 'tiles' : 'geojson';
  const b = bounds(state.reaches);
  let map;
  try {
    map = new maplibregl.Map({
      container: 'map',
      style: baseStyle(settings),
      bounds: b || undefined,
      center: b ? undefined : [103.1, 25.3],
      zoom: b ? undefined : 10,
      fitBoundsOptions: { padding: fitPadding() },
      attributionControl: settings.basemap === 'none' ? false : { compact: true },
      maxZoom: 18,
      // Our own tiles need the bearer token; nothing else gets it.
      transformRequest: (url) => (url.startsWith(`${location.origin}/tiles/`)
        ? { url, headers: { Authorization: `Bearer ${token()}` } }
        : { url }),
    });
  } catch (err) {
    notice($('map-notes'), `${t('map.noWebgl')} (${errorText(err)})`, 'error');
    return;
  }
  state.map = map;
  window.rcMap = map; // for the browser tests
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'top-right');
  map.addControl(new maplibregl.ScaleControl({ unit: 'metric' }), 'bottom-left');
  state.overlay = new Overlay(map, mode, state.week);
  window.rcOverlay = state.overlay;

  await new Promise((resolve) => map.on('load', resolve));
  state.overlay.install();
  state.overlay.setReaches(state.reaches);
  fitTo(state.reaches, false);
  renderLabels();
  map.on('zoomend', renderLabels);
  renderLegend();
  renderSettings(settings);

  for (const layer of [LAYER_IDS.reaches, LAYER_IDS.patrols, LAYER_IDS.patrolsInvalid, LAYER_IDS.issues]) {
    map.on('mouseenter', layer, () => { map.getCanvas().style.cursor = 'pointer'; });
    map.on('mouseleave', layer, () => { map.getCanvas().style.cursor = ''; });
  }
  map.on('click', (ev) => {
    // Issues on top of tracks on top of reaches; a little slack for fingers.
    const box = [[ev.point.x - 6, ev.point.y - 6], [ev.point.x + 6, ev.point.y + 6]];
    const pick = (layers) => map.queryRenderedFeatures(box, { layers: layers.filter((l) => map.getLayer(l)) })[0];
    const issue = pick([LAYER_IDS.issues]);
    if (issue) return openIssuePopup(issue, ev.lngLat);
    // Tracks run along reaches: the reach wins (its popup tells the last
    // patrol); a track away from any reach opens its own.
    const reach = pick([LAYER_IDS.reaches]);
    if (reach) return openReachPopup(reach.properties.id, ev.lngLat);
    const patrol = pick([LAYER_IDS.patrols, LAYER_IDS.patrolsInvalid]);
    if (patrol) return openPatrolPopup(patrol, ev.lngLat);
    state.overlay.select(null);
  });
}

/** Room for the notes, the zoom buttons and the legend around the data. */
function fitPadding() {
  const small = window.matchMedia('(max-width: 720px)').matches;
  return small ? { top: 60, right: 56, bottom: 40, left: 24 } : { top: 60, right: 240, bottom: 40, left: 60 };
}

function fitTo(fc, animate = true) {
  const b = bounds(fc);
  if (b && state.map) state.map.fitBounds(b, { padding: fitPadding(), maxZoom: 15, animate });
}

function renderLabels() {
  if (!state.map) return;
  for (const m of state.labels) m.remove();
  state.labels = [];
  if (state.map.getZoom() < 10.5) return;
  for (const f of state.reaches.features) {
    if (state.villageId && f.properties.village_id !== state.villageId) continue;
    const el = h('div.village-label', f.properties.village_name || f.properties.name);
    state.labels.push(new maplibregl.Marker({ element: el, anchor: 'left', offset: [10, 0] })
      .setLngLat(midpoint(f.geometry)).addTo(state.map));
  }
}

// ---------------------------------------------------------------- data

async function loadWeek() {
  const week = state.week;
  const range = weekRange(week);
  const town = state.townId ? `&town_id=${state.townId}` : '';
  const note = (key) => (err) => {
    if (err?.unavailable) { state.unavailable.add(key); return null; }
    throw err;
  };
  state.unavailable.clear();
  const [compliance, patrols, issues, stats] = await Promise.all([
    api(`/api/v1/compliance?week=${week}${town}`).catch(note('compliance')),
    api(`/api/v1/patrols?week=${week}${town}&limit=1000`).catch(note('patrols')),
    api(`/api/v1/issues?${town.slice(1)}`).catch(note('issues')),
    apiOptional(`/api/v1/stats?from=${range.from}&to=${range.to}${town}`),
  ].map((p) => p.catch((err) => ({ error: err }))));
  if (week !== state.week) return; // the user moved on meanwhile

  const failed = [compliance, patrols, issues].find((r) => r?.error);
  if (failed) notice($('map-notes'), t('common.error', { msg: errorText(failed.error) }), 'error');

  state.compliance = compliance && !compliance.error
    ? new Map(asList(compliance, 'chiefs').map((c) => [c.chief_id ?? c.id, c]))
    : null;
  if (!state.compliance && week === isoWeekOf()) state.compliance = await overdueFallback();
  state.patrols = patrols && !patrols.error ? asList(patrols, 'patrols') : null;
  state.issues = issues && !issues.error ? asList(issues, 'issues') : null;
  state.stats = stats && !stats.error ? stats : null;

  colourReaches();
  renderAll();
  if (state.overlay) {
    state.overlay.setIssues(issuesToGeoJson(state.issues || []));
    state.overlay.setPatrols({ type: 'FeatureCollection', features: [] });
    if (state.overlay.mode === 'geojson' && state.patrols?.length) {
      state.overlay.setPatrols(await patrolTracks(state.patrols, week));
    }
  }
}

/** This week only: /compliance/overdue tells who has not patrolled yet. */
async function overdueFallback() {
  try {
    const overdue = asList(await api('/api/v1/compliance/overdue'), 'chiefs');
    state.unavailable.delete('compliance');
    const ids = new Set(overdue.map((c) => c.chief_id ?? c.id));
    return new Map(state.chiefs.map((c) => [c.id, { chief_id: c.id, status: ids.has(c.id) ? 'pending' : 'compliant' }]));
  } catch {
    return null;
  }
}

function statusOf(chiefId) {
  return state.compliance?.get(chiefId)?.status || 'unknown';
}

/** A reach shows its village chiefs' status (the town chief covers all and would hide it). */
function colourReaches() {
  const byReach = new Map();
  for (const c of state.chiefs) {
    if (c.level === 'town') continue;
    for (const r of c.reach_ids || []) {
      if (!byReach.has(r)) byReach.set(r, []);
      byReach.get(r).push(c);
    }
  }
  for (const f of state.reaches.features) {
    const chiefs = byReach.get(f.properties.id) || [];
    f.properties.status = bestStatus(chiefs.map((c) => statusOf(c.id)));
    f.properties.chief_ids = chiefs.map((c) => c.id);
  }
  state.overlay?.setReaches(state.reaches);
}

function chiefsOfReach(reachId) {
  const direct = state.chiefs.filter((c) => (c.reach_ids || []).includes(reachId));
  return direct.length ? direct : state.chiefs.filter((c) => c.level === 'town');
}

function issuesToGeoJson(issues) {
  return {
    type: 'FeatureCollection',
    features: issues.filter((i) => i.location?.coordinates).map((i) => ({
      type: 'Feature',
      id: i.id,
      geometry: i.location,
      properties: { id: i.id, status: i.status, category: i.category, village_id: i.village_id, level: i.level },
    })),
  };
}

/** Fetches each patrol's track (4 at a time) into one FeatureCollection. */
async function patrolTracks(patrols, week) {
  const features = [];
  let next = 0;
  const worker = async () => {
    while (next < patrols.length && week === state.week) {
      const p = patrols[next++];
      try {
        const track = await api(`/api/v1/patrols/${p.id}/track`);
        for (const geometry of geometriesOf(track)) {
          features.push({
            type: 'Feature', id: p.id, geometry,
            properties: { id: p.id, chief_id: p.chief_id, valid: p.valid !== false, started_at: p.started_at },
          });
        }
      } catch (err) {
        console.warn('track', p.id, err);
      }
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  return { type: 'FeatureCollection', features };
}

function geometriesOf(gj) {
  if (!gj) return [];
  if (gj.type === 'FeatureCollection') return gj.features.flatMap((f) => geometriesOf(f));
  if (gj.type === 'Feature') return gj.geometry ? [gj.geometry] : [];
  if (gj.type && gj.coordinates) return [gj];
  return [];
}

// ---------------------------------------------------------------- sidebar

function renderAll() {
  renderNotes();
  renderSidebar();
  renderLegend();
}

function renderNotes() {
  const box = $('map-notes');
  fill(box);
  const lines = ['compliance', 'patrols', 'issues'].filter((k) => state.unavailable.has(k)).map((key) => t(`map.unavailable.${key}`));
  if (lines.length) notice(box, lines.map((l, i) => [i ? h('br') : null, l]), 'warn').id = 'unavailable-note';
}

const thisWeek = () => state.week === isoWeekOf();

function visibleChiefs() {
  return state.chiefs.filter((c) => !state.villageId || c.village_id === state.villageId);
}

function renderSidebar() {
  const chiefs = visibleChiefs();
  const rows = chiefs.map((c) => ({ chief: c, status: statusOf(c.id), row: state.compliance?.get(c.id) }));
  rows.sort((a, b) => statusRank(a.status) - statusRank(b.status) || a.chief.code.localeCompare(b.chief.code));

  const counted = rows.filter((r) => r.status !== 'not_in_office');
  const compliant = counted.filter((r) => r.status === 'compliant').length;
  const openIssues = state.issues?.filter((i) => OPEN_ISSUE_STATUSES.includes(i.status)
    && (!state.villageId || i.village_id === state.villageId)).length;
  const weekPatrols = state.patrols?.filter((p) => !state.villageId || chiefs.some((c) => c.id === p.chief_id));
  // The town's figures come from /stats; a village's from its chiefs' patrols of the week.
  const townWide = !state.villageId && state.stats;
  const patrolCount = townWide ? state.stats.patrols : weekPatrols?.length;
  const km = townWide ? state.stats.km_patrolled : (weekPatrols ? weekPatrols.reduce((s, p) => s + (p.length_m || 0), 0) / 1000 : null);
  $('figures-title').textContent = state.week === isoWeekOf() ? t('figures.title') : t('figures.titleOf', { week: state.week });
  const figure = (id, value, what) => h('div.figure', { id }, h('div.value', value ?? '–'), h('div.what', what));
  fill($('figures'),
    figure('fig-compliant', state.compliance ? `${compliant} / ${counted.length}` : `– / ${counted.length}`, t('figures.compliant')),
    figure('fig-open-issues', openIssues, t('figures.openIssues')),
    figure('fig-patrols', patrolCount, t('figures.patrols')),
    figure('fig-km', km == null ? null : `${Number(km).toFixed(1)} km`, t('figures.km')));

  const list = $('chief-list');
  if (!rows.length) return fill(list, h('li.muted', t('chiefs.empty')));
  fill(list, rows.map(({ chief, status, row }) => h('li', {
    dataset: { chiefId: chief.id, status },
    onclick: () => focusChief(chief),
  },
  h('div.who',
    h('div.name', chief.name, ' ', h('small.muted', chief.code)),
    h('div.sub', [chief.village_name || t('office.level.town'), row?.valid_patrols ? t('chiefs.patrols', { n: row.valid_patrols }) : null].filter(Boolean).join(' · '))),
  h(`span.chip.${status}`, t(`status.${status}`)))));
}

function focusChief(chief) {
  const ids = chief.reach_ids?.length ? chief.reach_ids : state.reaches.features.map((f) => f.properties.id);
  const fc = { type: 'FeatureCollection', features: state.reaches.features.filter((f) => ids.includes(f.properties.id)) };
  fitTo(fc);
  showChiefPatrols(chief, fc);
  if (chief.reach_ids?.length === 1) {
    const f = fc.features[0];
    if (f) openReachPopup(f.properties.id, midpoint(f.geometry));
  }
  if (window.matchMedia('(max-width: 720px)').matches) $('map').scrollIntoView({ behavior: 'smooth' });
}

/**
 * The week's patrols of one chief under their name in the list: time,
 * length, coverage and verdict in words; choosing one draws it on the map
 * with the stretches of the reach it did not walk.
 */
async function showChiefPatrols(chief, reaches) {
  for (const old of document.querySelectorAll('#chief-list .chief-patrols')) old.remove();
  state.overlay?.choose();
  const li = document.querySelector(`#chief-list li[data-chief-id="${chief.id}"]`);
  if (!li) return;
  const patrols = (state.patrols || []).filter((p) => p.chief_id === chief.id)
    .sort((a, b) => String(a.started_at).localeCompare(String(b.started_at)));
  const box = h('div.chief-patrols', { onclick: (ev) => ev.stopPropagation() });
  li.append(box);
  if (!patrols.length) return fill(box, h('div.muted', thisWeek() ? t('reach.noPatrol') : t('reach.noPatrolOf', { week: state.week })));
  const rules = await townRules(state.townId);
  fill(box, patrols.map((p) => h('button.patrol-choice', { type: 'button', dataset: { patrolId: p.id }, onclick: () => drawChosenPatrol(p, reaches, rules) },
    h('div', h('strong', formatCst(p.started_at)), ' ',
      h(`span.chip.${p.valid ? 'valid' : 'invalid'}`, t(p.valid ? 'patrol.valid' : 'patrol.invalid'))),
    h('div.muted', [formatLength(p.length_m), formatDuration(p.duration_s, t),
      p.coverage != null ? `${t('reach.coverage')} ${Math.round(p.coverage * 100)}%` : null].filter(Boolean).join(' · ')),
    p.valid ? null : h('ul.reasons', reasonSentences(p, rules).map((text) => h('li', text))))));
}

async function drawChosenPatrol(patrol, reaches, rules) {
  try {
    const track = linesOf(await api(`/api/v1/patrols/${patrol.id}/track`));
    const reachLines = reaches.features.flatMap(linesOf);
    const buffer = (rules || DEFAULT_RULES).buffer_m;
    state.overlay?.choose(track, uncoveredStretches(reachLines, track.flat(), buffer));
    fitTo({ type: 'FeatureCollection', features: [...reaches.features, ...track.map((c) => ({ type: 'Feature', geometry: { type: 'LineString', coordinates: c } }))] });
  } catch (err) {
    notice($('map-notes'), errorText(err), 'error');
  }
}

function renderLegend() {
  const legend = $('legend');
  if (!legend) return;
  const statuses = ['compliant', 'pending', 'missed', 'exempt', 'unknown'];
  const small = window.matchMedia('(max-width: 720px)').matches;
  fill(legend, h('details', { open: !small },
    h('summary', t('legend.title')),
    h('h3', t('legend.reaches')),
    statuses.map((s) => h('div.row', h('span.swatch', { style: { background: STATUS_COLOURS[s] } }), t(`status.${s}`))),
    h('h3', t('legend.patrol')),
    h('div.row', h('span.swatch', { style: { background: TRACK_COLOUR } }), t('legend.patrolValid')),
    h('div.row', h('span.swatch.dashed', { style: { background: `repeating-linear-gradient(90deg, ${TRACK_COLOUR} 0 5px, transparent 5px 8px)` } }), t('legend.patrolInvalid')),
    h('div.row', h('span.swatch', { style: { background: UNCOVERED_COLOUR } }), t('legend.uncovered')),
    h('h3', t('legend.issues')),
    ['reported', 'assigned', 'in_progress', 'resolved'].map((s) => h('div.row', h('img', { src: issueIconUrl(s), width: 16, height: 16, alt: '' }), t(`issue.status.${s}`)))));
}

function renderSettings(settings) {
  const box = $('settings');
  const panel = h('div.settings-panel', { hidden: true });
  const radios = ['none', 'osm', 'tianditu', 'xyz'].map((b) => h('label.inline',
    h('input', { type: 'radio', name: 'basemap', value: b, checked: settings.basemap === b }), t(`map.basemap.${b}`)));
  const key = h('input', { type: 'text', value: settings.tiandituKey || '', placeholder: 'tk', style: { width: '100%' } });
  const xyz = h('input', { type: 'url', value: settings.xyzUrl || '', placeholder: 'https://…/{z}/{x}/{y}.png', style: { width: '100%' } });
  const save = h('button.primary', { type: 'button', onclick: () => {
    const chosen = panel.querySelector('input[name=basemap]:checked')?.value || 'none';
    saveMapSettings({ ...settings, basemap: chosen, tiandituKey: key.value.trim(), xyzUrl: xyz.value.trim() });
    location.reload();
  } }, t('common.save'));
  fill(panel, h('h3', t('map.settings')), radios, h('label', t('map.basemap.key')), key,
    h('label', t('map.basemap.xyzUrl')), xyz, h('div.row-buttons', save));
  fill(box, h('button', { type: 'button', onclick: () => { panel.hidden = !panel.hidden; } }, t('map.settings')), panel);
}

// ---------------------------------------------------------------- popups

function showPopup(lngLat, content) {
  state.popup?.remove();
  state.popup = new maplibregl.Popup({ maxWidth: '300px', focusAfterOpen: false })
    .setLngLat(lngLat).setDOMContent(content).addTo(state.map);
  return state.popup;
}

const dl = (...pairs) => h('dl', pairs.filter((p) => p && p[1] != null && p[1] !== '').map(([k, v]) => [h('dt', k), h('dd', v)]));

function openReachPopup(reachId, lngLat) {
  const f = state.reaches.features.find((x) => x.properties.id === reachId);
  if (!f) return;
  state.overlay.select(reachId);
  const p = f.properties;
  const chiefs = chiefsOfReach(reachId);
  const lastPatrol = h('div', t('common.loading'));
  const content = h('div.popup#reach-popup',
    h('h3', `${p.name} `, h('small.muted', p.code)),
    dl([t('reach.village'), p.village_name], [t('reach.river'), p.river_name], [t('reach.length'), formatLength(p.length_m)],
      [thisWeek() ? t('reach.weekStatus') : t('reach.weekStatusOf', { week: state.week }), h(`span.chip.${p.status}`, t(`status.${p.status}`))],
      [t('reach.chief'), chiefs.length ? chiefs.map((c, i) => [i ? '、' : '', c.name, c.phone ? [' ', h('a', { href: `tel:${c.phone}` }, c.phone)] : '']) : t('common.none')],
      [thisWeek() ? t('reach.lastPatrol') : t('reach.lastPatrolOf', { week: state.week }), lastPatrol]));
  showPopup(lngLat, content);
  fillLastPatrol(lastPatrol, reachId, chiefs);
}

async function fillLastPatrol(el, reachId, chiefs) {
  try {
    // The week shown, not the latest of all time.
    const lists = await Promise.all(chiefs.map((c) => api(`/api/v1/patrols?chief_id=${c.id}&week=${state.week}`).then((b) => asList(b, 'patrols'))));
    // Only these chiefs' patrols (a server may answer a chief with their own
    // whatever is asked), preferring those that touched this reach.
    const ids = new Set(chiefs.map((c) => c.id));
    const all = lists.flat().filter((p) => p.chief_id == null || ids.has(p.chief_id))
      .sort((a, b) => String(b.started_at).localeCompare(String(a.started_at)));
    const touching = all.filter((p) => !p.reaches || p.reaches.some((r) => r.reach_id === reachId));
    let last = touching[0] || all[0];
    if (!last) return fill(el, thisWeek() ? t('reach.noPatrol') : t('reach.noPatrolOf', { week: state.week }));
    if (!last.reaches) last = { ...last, ...(await api(`/api/v1/patrols/${last.id}`)) };
    const coverage = last.reaches?.find((r) => r.reach_id === reachId)?.coverage ?? last.coverage;
    fill(el, formatCst(last.started_at), ' ',
      h(`span.chip.${last.valid === false ? 'invalid' : 'valid'}`, t(last.valid === false ? 'patrol.invalid' : 'patrol.valid')),
      coverage != null ? h('div', `${t('reach.coverage')} ${Math.round(coverage * 100)}%`) : null);
  } catch (err) {
    fill(el, err.unavailable ? t('map.unavailable.patrols') : errorText(err));
  }
}

const rulesByTown = new Map();
/** A town's effective patrol rules (for the numbers in reason sentences); null: the defaults. */
function townRules(townId) {
  if (!rulesByTown.has(townId)) {
    rulesByTown.set(townId, api(`/api/v1/towns/${townId}/rules`).then((r) => r.effective).catch(() => null));
  }
  return rulesByTown.get(townId);
}

async function openPatrolPopup(feature, lngLat) {
  const id = feature.properties.id;
  const body = h('div', t('common.loading'));
  showPopup(lngLat, h('div.popup#patrol-popup', h('h3', `${t('patrol.title')} #${id}`), body));
  try {
    const p = await api(`/api/v1/patrols/${id}`);
    const chief = state.chiefs.find((c) => c.id === p.chief_id);
    fill(body, dl(
      [t('reach.chief'), chief?.name],
      [t('reach.lastPatrol'), `${formatCst(p.started_at)} – ${formatCst(p.ended_at, { date: false })}`],
      [t('patrol.length'), formatLength(p.length_m)],
      [t('patrol.duration'), formatDuration(p.duration_s, t)],
      [t('reach.coverage'), p.coverage != null ? `${Math.round(p.coverage * 100)}%` : null],
      ['', h(`span.chip.${p.valid ? 'valid' : 'invalid'}`, t(p.valid ? 'patrol.valid' : 'patrol.invalid'))],
      [t('patrol.reasons'), p.reasons?.length
        ? h('ul.reasons', reasonSentences(p, await townRules(p.town_id)).map((text) => h('li', text))) : null]));
  } catch (err) {
    fill(body, errorText(err));
  }
}

async function openIssuePopup(feature, lngLat) {
  const id = feature.properties.id;
  const cached = state.issues?.find((i) => i.id === id);
  const body = h('div');
  showPopup(lngLat, h('div.popup#issue-popup', h('h3', `${categoryName(feature.properties.category)} #${id}`), body));
  const render = (i) => fill(body, dl(
    [t('issue.status'), h(`span.chip.${i.status}`, t(`issue.status.${i.status}`))],
    [t('issue.category'), i.category_name || categoryName(i.category)],
    [t('issue.description'), i.description],
    [t('issue.reported'), formatCst(i.created_at || i.reported_at)],
    [t('issue.level'), i.level ? t(`issue.level.${i.level}`) : null],
    [t('issue.source'), i.source ? t(`issue.source.${i.source}`) : null],
    [t('issue.deadline'), i.deadline ? formatCst(i.deadline) : null]),
  photoRefs(i).map(([thumb], n, refs) => h('a', { href: '#', onclick: (ev) => { ev.preventDefault(); showPhotos(refs.map(([, full]) => full), n); } }, authImg(thumb))));
  if (cached) render(cached);
  try {
    render(await api(`/api/v1/issues/${id}`));
  } catch (err) {
    if (!cached) fill(body, errorText(err));
  }
}

/** The full photo in a new tab (it needs the login, so through a blob URL). */
export { currentUser };
