// A patrol drawn over its reach without a map library (the chief page must
// stay light on a weak signal): an SVG of the reach, the track, and the
// stretches of the reach the track did not pass within the town's buffer.
// The stretches are a drawing aid from the points as the phone has them;
// the verdict and its coverage figure are the server's (exact, geodesic).

const EARTH_RADIUS_M = 6371008.8;
// Reach points this far apart are tested; a stretch shorter than this may be missed.
const SAMPLE_STEP_M = 5;

/** A projection to metres around `origin` ([lon, lat]): good to a few metres over a town. */
function localMetres([lon0, lat0]) {
  const kx = (Math.PI / 180) * EARTH_RADIUS_M * Math.cos((lat0 * Math.PI) / 180);
  const ky = (Math.PI / 180) * EARTH_RADIUS_M;
  return ([lon, lat]) => [(lon - lon0) * kx, (lat - lat0) * ky];
}

function segmentDistance(p, a, b) {
  const [dx, dy] = [b[0] - a[0], b[1] - a[1]];
  const len2 = dx * dx + dy * dy;
  const u = len2 ? Math.max(0, Math.min(1, ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / len2)) : 0;
  return Math.hypot(p[0] - a[0] - u * dx, p[1] - a[1] - u * dy);
}

/** The track's segments in cells of `size` metres, for nearby lookups. */
function segmentGrid(track, size) {
  const cells = new Map();
  for (let i = 1; i < track.length; i++) {
    const [a, b] = [track[i - 1], track[i]];
    const [x0, x1] = [Math.floor(Math.min(a[0], b[0]) / size), Math.floor(Math.max(a[0], b[0]) / size)];
    const [y0, y1] = [Math.floor(Math.min(a[1], b[1]) / size), Math.floor(Math.max(a[1], b[1]) / size)];
    for (let x = x0; x <= x1; x++) {
      for (let y = y0; y <= y1; y++) {
        const key = `${x},${y}`;
        if (!cells.has(key)) cells.set(key, []);
        cells.get(key).push(i);
      }
    }
  }
  return cells;
}

/**
 * The parts of the reach lines (arrays of [lon, lat]) farther than
 * `bufferM` from every segment of the track: an array of lines.
 */
export function uncoveredStretches(reachLines, trackCoords, bufferM) {
  const first = reachLines.find((l) => l.length)?.[0];
  if (!first) return [];
  const project = localMetres(first);
  const track = trackCoords.map(project);
  const grid = segmentGrid(track, bufferM);
  const near = (p) => {
    const [cx, cy] = [Math.floor(p[0] / bufferM), Math.floor(p[1] / bufferM)];
    for (let x = cx - 1; x <= cx + 1; x++) {
      for (let y = cy - 1; y <= cy + 1; y++) {
        for (const i of grid.get(`${x},${y}`) || []) {
          if (segmentDistance(p, track[i - 1], track[i]) <= bufferM) return true;
        }
      }
    }
    return track.length === 1 && Math.hypot(p[0] - track[0][0], p[1] - track[0][1]) <= bufferM;
  };
  const stretches = [];
  for (const line of reachLines) {
    let open = null;
    const visit = (lonLat) => {
      if (near(project(lonLat))) {
        if (open) { open.push(lonLat); stretches.push(open); open = null; }
      } else if (open) {
        open.push(lonLat);
      } else {
        open = [lonLat];
      }
    };
    for (let i = 0; i < line.length; i++) {
      if (i === 0) { visit(line[0]); continue; }
      const [a, b] = [line[i - 1], line[i]];
      const [pa, pb] = [project(a), project(b)];
      const steps = Math.max(1, Math.ceil(Math.hypot(pb[0] - pa[0], pb[1] - pa[1]) / SAMPLE_STEP_M));
      for (let s = 1; s <= steps; s++) visit([a[0] + ((b[0] - a[0]) * s) / steps, a[1] + ((b[1] - a[1]) * s) / steps]);
    }
    if (open && open.length > 1) stretches.push(open);
  }
  return stretches.filter((l) => l.length > 1);
}

/** The lines of a GeoJSON geometry, Feature or FeatureCollection, as arrays of [lon, lat]. */
export function linesOf(geojson) {
  if (!geojson) return [];
  if (geojson.type === 'FeatureCollection') return geojson.features.flatMap(linesOf);
  if (geojson.type === 'Feature') return linesOf(geojson.geometry);
  if (geojson.type === 'LineString') return [geojson.coordinates.map((c) => [c[0], c[1]])];
  if (geojson.type === 'MultiLineString') return geojson.coordinates.map((l) => l.map((c) => [c[0], c[1]]));
  return [];
}

export const SKETCH_COLOURS = { reach: '#90caf9', uncovered: '#e53935', track: '#5e35b1', here: '#d32f2f' };

/**
 * Draws into `svg` (viewBox 0 0 300 140): the reach lines, the uncovered
 * stretches over them, the track, and a dot at `here` ([lon, lat]).
 * Answers `toLonLat([x, y])` for points in the viewBox.
 */
export function drawSketch(svg, { reaches = [], uncovered = [], track = [], here = null, frame = null }) {
  // `frame` (points that must be in view) fixes the extent, e.g. while a pin is dragged.
  const all = frame || [...reaches.flat(), ...track.flat(), ...(here ? [here] : [])];
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
  const xy = ([lon, lat]) => [ox + (lon - w) * kx * scale, oy + (n - lat) * scale];
  const ns = 'http://www.w3.org/2000/svg';
  const element = (name, attrs) => {
    const el = document.createElementNS(ns, name);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
    return el;
  };
  const line = (coords, stroke, width, cls) => element('polyline', {
    points: coords.map((c) => xy(c).map((v) => v.toFixed(1)).join(',')).join(' '),
    fill: 'none', stroke, 'stroke-width': width, 'stroke-linecap': 'round', 'stroke-linejoin': 'round', class: cls,
  });
  const children = [
    ...reaches.map((l) => line(l, SKETCH_COLOURS.reach, 6, 'reach')),
    ...uncovered.map((l) => line(l, SKETCH_COLOURS.uncovered, 6, 'uncovered')),
    ...track.map((l) => line(l, SKETCH_COLOURS.track, 2.5, 'track')),
  ];
  if (here) {
    const [x, y] = xy(here);
    children.push(element('circle', { cx: x.toFixed(1), cy: y.toFixed(1), r: 5, fill: SKETCH_COLOURS.here, stroke: '#fff', 'stroke-width': 2, class: 'here' }));
  }
  svg.replaceChildren(...children);
  return { toLonLat: ([x, y]) => [w + (x - ox) / (kx * scale), n - (y - oy) / scale] };
}
