// Pure modules of the web app, without a browser: the patrol sketch's
// uncovered stretches.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { linesOf, uncoveredStretches } from '../../map-ui/js/sketch.js';

const M_PER_DEG_LAT = 111_195;
// A reach 1 km due north from (103, 25); points every 100 m.
const reach = Array.from({ length: 11 }, (_, i) => [103, 25 + (i * 100) / M_PER_DEG_LAT]);
const lengthM = (line) => line.slice(1).reduce((sum, c, i) => sum + Math.abs(c[1] - line[i][1]) * M_PER_DEG_LAT, 0);

test('a track along the whole reach leaves nothing uncovered', () => {
  const track = reach.map(([lon, lat]) => [lon + 20 / 100_900, lat]); // 20 m east
  assert.deepEqual(uncoveredStretches([reach], track, 50), []);
});

test('a track along the first 300 m leaves the last 700 m, within a sampling step and the buffer', () => {
  const track = reach.slice(0, 4).map(([lon, lat]) => [lon + 10 / 100_900, lat]);
  const stretches = uncoveredStretches([reach], track, 50);
  assert.equal(stretches.length, 1);
  // Covered: 0 to 300 m plus the 50 m buffer past the track's end.
  const uncovered = lengthM(stretches[0]);
  assert.ok(Math.abs(uncovered - 650) <= 10, `${uncovered} m uncovered`);
  assert.ok(stretches[0].at(-1)[1] === reach.at(-1)[1], 'runs to the reach\'s end');
});

test('a track 80 m off the reach covers none of it at a 50 m buffer, all of it at 100 m', () => {
  const track = reach.map(([lon, lat]) => [lon + 80 / 100_900, lat]);
  const at50 = uncoveredStretches([reach], track, 50);
  assert.equal(at50.length, 1);
  assert.ok(lengthM(at50[0]) > 990);
  assert.deepEqual(uncoveredStretches([reach], track, 100), []);
});

test('linesOf reads Features, collections and multi-lines', () => {
  const fc = { type: 'FeatureCollection', features: [
    { type: 'Feature', geometry: { type: 'LineString', coordinates: [[1, 2, 3], [4, 5, 6]] } },
    { type: 'Feature', geometry: { type: 'MultiLineString', coordinates: [[[7, 8], [9, 10]], [[11, 12], [13, 14]]] } },
  ] };
  assert.deepEqual(linesOf(fc), [[[1, 2], [4, 5]], [[7, 8], [9, 10]], [[11, 12], [13, 14]]]);
});

test('the service worker keeps every module the chief page imports', async () => {
  const { readFileSync } = await import('node:fs');
  const { join, dirname } = await import('node:path');
  const { fileURLToPath } = await import('node:url');
  const ui = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'map-ui');
  const sw = readFileSync(join(ui, 'sw.js'), 'utf8');
  const seen = new Set();
  const visit = (name) => {
    if (seen.has(name)) return;
    seen.add(name);
    const src = readFileSync(join(ui, 'js', name), 'utf8');
    for (const m of src.matchAll(/^import [^;]*? from '\.\/([\w-]+\.js)';/gm)) visit(m[1]);
  };
  visit('chief.js');
  const missing = [...seen].filter((name) => !sw.includes(`'/js/${name}'`));
  assert.deepEqual(missing, [], 'add them to SHELL in map-ui/sw.js');
});
