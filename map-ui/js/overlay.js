// The map's own layers: reaches coloured by weekly status, patrol tracks and
// issues. Reaches always come as GeoJSON from /api/v1/reaches (small, and the
// page needs them for fitting and popups). Patrols and issues come from the
// vector tiles /tiles/{z}/{x}/{y}.mvt?week= when the server has them, else as
// GeoJSON built from the API: `sourceFor()` is the one place that differs.

import { ISSUE_COLOURS, STATUS_COLOURS } from './status.js';
import { basemapLayers } from './config.js';

export const LAYER_IDS = {
  reaches: 'reaches',
  reachesCasing: 'reaches-casing',
  reachesSelected: 'reaches-selected',
  reachEnds: 'reach-ends',
  patrols: 'patrols',
  patrolsInvalid: 'patrols-invalid',
  issues: 'issues',
  chosenUncovered: 'chosen-uncovered',
  chosenTrack: 'chosen-track',
};

/** The reach's stretches a chosen patrol did not walk. */
export const UNCOVERED_COLOUR = '#e53935';

export const TRACK_COLOUR = '#5e35b1';

/** The style: a plain background (no internet needed), plus an optional basemap. */
export function baseStyle(settings) {
  const basemap = basemapLayers(settings);
  return {
    version: 8,
    sources: basemap.sources,
    layers: [
      { id: 'background', type: 'background', paint: { 'background-color': '#eef3ee' } },
      ...basemap.layers,
    ],
  };
}

/** True when the server serves vector tiles for the week (probed once per page). */
export async function tilesAvailable(week, authHeader) {
  try {
    const r = await fetch(`/tiles/0/0/0.mvt?week=${encodeURIComponent(week)}`, { headers: authHeader });
    const type = r.headers.get('content-type') || '';
    return (r.status === 200 || r.status === 204) && !type.includes('html');
  } catch {
    return false;
  }
}

const EMPTY = { type: 'FeatureCollection', features: [] };

export class Overlay {
  /** mode: 'geojson' | 'tiles' */
  constructor(map, mode, week) {
    this.map = map;
    this.mode = mode;
    this.week = week;
  }

  tileUrl() {
    return `${location.origin}/tiles/{z}/{x}/{y}.mvt?week=${encodeURIComponent(this.week)}`;
  }

  /** Where a kind of feature comes from: the one switch between GeoJSON and tiles. */
  sourceFor(kind) {
    if (kind === 'reaches' || this.mode !== 'tiles') return { source: `rc-${kind}` };
    return { source: 'rc-tiles', 'source-layer': kind };
  }

  /** Adds sources, icons and layers (again after a style change). */
  install() {
    const map = this.map;
    map.addSource('rc-reaches', { type: 'geojson', data: this.reaches || EMPTY });
    map.addSource('rc-reach-ends', { type: 'geojson', data: reachEnds(this.reaches) });
    if (this.mode === 'tiles') {
      map.addSource('rc-tiles', { type: 'vector', tiles: [this.tileUrl()], minzoom: 0, maxzoom: 16 });
    } else {
      map.addSource('rc-patrols', { type: 'geojson', data: this.patrols || EMPTY });
      map.addSource('rc-issues', { type: 'geojson', data: this.issues || EMPTY });
    }
    addIssueIcons(map);

    const statusColour = ['match', ['get', 'status'], ...Object.entries(STATUS_COLOURS).flat(), STATUS_COLOURS.unknown];
    map.addLayer({
      id: LAYER_IDS.reachesCasing, type: 'line', ...this.sourceFor('reaches'),
      layout: { 'line-cap': 'round', 'line-join': 'round' },
      paint: { 'line-color': '#ffffff', 'line-width': ['interpolate', ['linear'], ['zoom'], 9, 5, 14, 11] },
    });
    map.addLayer({
      id: LAYER_IDS.reaches, type: 'line', ...this.sourceFor('reaches'),
      layout: { 'line-cap': 'round', 'line-join': 'round' },
      paint: { 'line-color': statusColour, 'line-width': ['interpolate', ['linear'], ['zoom'], 9, 3, 14, 7] },
    });
    map.addLayer({
      id: LAYER_IDS.reachesSelected, type: 'line', ...this.sourceFor('reaches'),
      filter: ['==', ['get', 'id'], -1],
      layout: { 'line-cap': 'round', 'line-join': 'round' },
      paint: { 'line-color': '#0d47a1', 'line-width': ['interpolate', ['linear'], ['zoom'], 9, 7, 14, 14], 'line-opacity': 0.35 },
    }, LAYER_IDS.reachesCasing);
    // Where one reach ends and the next begins: small white dots.
    map.addLayer({
      id: LAYER_IDS.reachEnds, type: 'circle', source: 'rc-reach-ends',
      paint: {
        'circle-radius': ['interpolate', ['linear'], ['zoom'], 9, 2.5, 14, 5],
        'circle-color': '#ffffff',
        'circle-stroke-color': '#35506b',
        'circle-stroke-width': 1.2,
      },
    });
    const trackWidth = ['interpolate', ['linear'], ['zoom'], 9, 1.2, 14, 3];
    map.addLayer({
      id: LAYER_IDS.patrols, type: 'line', ...this.sourceFor('patrols'),
      filter: ['!=', ['get', 'valid'], false],
      layout: { 'line-cap': 'round', 'line-join': 'round' },
      paint: { 'line-color': TRACK_COLOUR, 'line-width': trackWidth, 'line-opacity': 0.8 },
    });
    map.addLayer({
      id: LAYER_IDS.patrolsInvalid, type: 'line', ...this.sourceFor('patrols'),
      filter: ['==', ['get', 'valid'], false],
      layout: { 'line-join': 'round' },
      paint: { 'line-color': TRACK_COLOUR, 'line-width': trackWidth, 'line-opacity': 0.6, 'line-dasharray': [2, 1.5] },
    });
    // One patrol chosen from a chief's list: its track over the stretches of
    // the reach it did not walk.
    map.addSource('rc-chosen', { type: 'geojson', data: this.chosen || EMPTY });
    map.addLayer({
      id: LAYER_IDS.chosenUncovered, type: 'line', source: 'rc-chosen', filter: ['==', ['get', 'kind'], 'uncovered'],
      layout: { 'line-cap': 'round', 'line-join': 'round' },
      paint: { 'line-color': UNCOVERED_COLOUR, 'line-width': ['interpolate', ['linear'], ['zoom'], 9, 4, 14, 9] },
    });
    map.addLayer({
      id: LAYER_IDS.chosenTrack, type: 'line', source: 'rc-chosen', filter: ['==', ['get', 'kind'], 'track'],
      layout: { 'line-cap': 'round', 'line-join': 'round' },
      paint: { 'line-color': TRACK_COLOUR, 'line-width': ['interpolate', ['linear'], ['zoom'], 9, 2.5, 14, 5] },
    });
    map.addLayer({
      id: LAYER_IDS.issues, type: 'symbol', ...this.sourceFor('issues'),
      filter: ['!=', ['get', 'status'], 'closed'],
      layout: {
        'icon-image': ['concat', 'issue-', ['coalesce', ['get', 'status'], 'reported']],
        'icon-allow-overlap': true,
        'icon-size': ['interpolate', ['linear'], ['zoom'], 9, 0.75, 14, 1],
      },
    });
  }

  setReaches(fc) {
    this.reaches = fc;
    this.map.getSource('rc-reaches')?.setData(fc);
    this.map.getSource('rc-reach-ends')?.setData(reachEnds(fc, this.villageId));
  }

  setPatrols(fc) {
    this.patrols = fc;
    if (this.mode !== 'tiles') this.map.getSource('rc-patrols')?.setData(fc);
  }

  setIssues(fc) {
    this.issues = fc;
    if (this.mode !== 'tiles') this.map.getSource('rc-issues')?.setData(fc);
  }

  setWeek(week) {
    this.week = week;
    if (this.mode === 'tiles') this.map.getSource('rc-tiles')?.setTiles([this.tileUrl()]);
  }

  /** Draws a chosen patrol (`track` and `uncovered` as arrays of lines), or nothing. */
  choose(track = [], uncovered = []) {
    const feature = (kind) => (coords) => ({ type: 'Feature', geometry: { type: 'LineString', coordinates: coords }, properties: { kind } });
    this.chosen = { type: 'FeatureCollection', features: [...uncovered.map(feature('uncovered')), ...track.map(feature('track'))] };
    this.map.getSource('rc-chosen')?.setData(this.chosen);
  }

  select(reachId) {
    this.map.setFilter(LAYER_IDS.reachesSelected, ['==', ['get', 'id'], reachId ?? -1]);
  }

  filterVillage(villageId) {
    this.villageId = villageId;
    this.map.getSource('rc-reach-ends')?.setData(reachEnds(this.reaches, villageId));
    const filter = villageId ? ['==', ['get', 'village_id'], villageId] : null;
    for (const id of [LAYER_IDS.reaches, LAYER_IDS.reachesCasing]) this.map.setFilter(id, filter);
  }
}

/** The first and last points of each reach. */
function reachEnds(fc, villageId) {
  const features = [];
  for (const f of fc?.features || []) {
    if (villageId && f.properties?.village_id !== villageId) continue;
    const lines = f.geometry?.type === 'MultiLineString' ? f.geometry.coordinates : [f.geometry?.coordinates || []];
    for (const line of lines) {
      if (line.length < 2) continue;
      for (const c of [line[0], line[line.length - 1]]) features.push({ type: 'Feature', geometry: { type: 'Point', coordinates: c }, properties: {} });
    }
  }
  return { type: 'FeatureCollection', features };
}

/**
 * Draws an issue icon: a disc in the status colour with a white sign drawn
 * as paths (no font: phones differ in which symbols they have).
 */
function drawIssueIcon(ctx, status, size) {
  const r = size / 2;
  const u = size / 26; // one unit of the 26 px design
  ctx.beginPath();
  ctx.arc(r, r, r - 1.5 * u, 0, Math.PI * 2);
  ctx.fillStyle = ISSUE_COLOURS[status];
  ctx.fill();
  ctx.lineWidth = 2 * u;
  ctx.strokeStyle = '#ffffff';
  ctx.stroke();
  ctx.fillStyle = '#ffffff';
  ctx.strokeStyle = '#ffffff';
  ctx.lineCap = 'round';
  ctx.lineJoin = 'round';
  ctx.lineWidth = 2.6 * u;
  ctx.beginPath();
  if (status === 'reported') { // !
    ctx.moveTo(r, 7 * u);
    ctx.lineTo(r, 14.5 * u);
    ctx.stroke();
    ctx.beginPath();
    ctx.arc(r, 18.5 * u, 1.6 * u, 0, Math.PI * 2);
    ctx.fill();
  } else if (status === 'assigned') { // →
    ctx.moveTo(7.5 * u, r);
    ctx.lineTo(18 * u, r);
    ctx.moveTo(13.5 * u, 8.5 * u);
    ctx.lineTo(18.5 * u, r);
    ctx.lineTo(13.5 * u, 17.5 * u);
    ctx.stroke();
  } else if (status === 'in_progress') { // a half-full disc
    ctx.lineWidth = 1.8 * u;
    ctx.arc(r, r, 6 * u, 0, Math.PI * 2);
    ctx.stroke();
    ctx.beginPath();
    ctx.moveTo(r, r);
    ctx.arc(r, r, 6 * u, -Math.PI / 2, Math.PI / 2);
    ctx.closePath();
    ctx.fill();
  } else { // ✓ resolved, closed
    ctx.moveTo(7.5 * u, 13.5 * u);
    ctx.lineTo(11.5 * u, 17.5 * u);
    ctx.lineTo(18.5 * u, 9 * u);
    ctx.stroke();
  }
}

/** Status icons for issues, drawn on a canvas (no sprite file, no glyph server). */
function addIssueIcons(map) {
  const ratio = Math.min(2, window.devicePixelRatio || 1);
  const size = Math.round(26 * ratio);
  for (const status of Object.keys(ISSUE_COLOURS)) {
    const name = `issue-${status}`;
    if (map.hasImage(name)) continue;
    const canvas = document.createElement('canvas');
    canvas.width = canvas.height = size;
    const ctx = canvas.getContext('2d');
    drawIssueIcon(ctx, status, size);
    map.addImage(name, ctx.getImageData(0, 0, size, size), { pixelRatio: ratio });
  }
}

/** The issue icon as a data URL, for the legend. */
export function issueIconUrl(status) {
  const canvas = document.createElement('canvas');
  canvas.width = canvas.height = 32;
  drawIssueIcon(canvas.getContext('2d'), status, 32);
  return canvas.toDataURL();
}

/** Bounds [[w, s], [e, n]] of a FeatureCollection, or null. */
export function bounds(fc) {
  let w = Infinity, s = Infinity, e = -Infinity, n = -Infinity;
  const visit = (c) => {
    if (typeof c[0] === 'number') {
      w = Math.min(w, c[0]); e = Math.max(e, c[0]);
      s = Math.min(s, c[1]); n = Math.max(n, c[1]);
    } else c.forEach(visit);
  };
  for (const f of fc?.features || []) if (f.geometry) visit(f.geometry.coordinates);
  return Number.isFinite(w) ? [[w, s], [e, n]] : null;
}

/** A point halfway along a (Multi)LineString, for labels. */
export function midpoint(geometry) {
  const lines = geometry.type === 'MultiLineString' ? geometry.coordinates : [geometry.coordinates];
  const longest = lines.reduce((a, b) => (b.length > a.length ? b : a), []);
  return longest[Math.floor(longest.length / 2)];
}
