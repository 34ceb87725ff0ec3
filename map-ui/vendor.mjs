// `node vendor.mjs --check` (npm run vendor:check) only verifies that the
// committed copies equal the locked package, byte for byte.
//
// Copies the MapLibre GL JS runtime files from node_modules into vendor/,
// where the server serves them. The copies are committed so that the server
// works offline and `make run` never needs npm. Run after changing the pinned
// version in package.json: `npm ci && npm run vendor`, then update
// vendor/README.md (the version and integrity are checked below).
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { brotliCompressSync, brotliDecompressSync, constants, gunzipSync, gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const pkgDir = join(here, 'node_modules', 'maplibre-gl');
const out = join(here, 'vendor', 'maplibre-gl');

const pinned = JSON.parse(readFileSync(join(here, 'package.json'), 'utf8')).devDependencies['maplibre-gl'];
const installed = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')).version;
if (installed !== pinned) {
  console.error(`node_modules has maplibre-gl ${installed}, package.json pins ${pinned}: run npm ci first`);
  process.exit(1);
}
const lock = JSON.parse(readFileSync(join(here, 'package-lock.json'), 'utf8'));
const integrity = lock.packages['node_modules/maplibre-gl'].integrity;

const FILES = [
  ['dist/maplibre-gl.mjs', 'maplibre-gl.mjs'],
  ['dist/maplibre-gl-worker.mjs', 'maplibre-gl-worker.mjs'],
  ['dist/maplibre-gl.css', 'maplibre-gl.css'],
  ['LICENSE.txt', 'LICENSE.txt'],
];

if (process.argv.includes('--check')) {
  const read = (name, decode) => {
    try {
      const bytes = readFileSync(join(out, name));
      return decode ? decode(bytes) : bytes;
    } catch {
      return Buffer.alloc(0);
    }
  };
  const stale = [];
  for (const [from, to] of FILES) {
    const want = readFileSync(join(pkgDir, from));
    if (!want.equals(read(to))) stale.push(to);
    if (!to.endsWith('.txt')) {
      if (!want.equals(read(`${to}.gz`, gunzipSync))) stale.push(`${to}.gz`);
      if (!want.equals(read(`${to}.br`, brotliDecompressSync))) stale.push(`${to}.br`);
    }
  }
  if (!read('VERSION').toString().includes(integrity)) stale.push('VERSION');
  if (stale.length) {
    console.error(`vendor/maplibre-gl differs from maplibre-gl ${installed}: ${stale.join(', ')}; run npm run vendor`);
    process.exit(1);
  }
  console.log(`vendor/maplibre-gl matches maplibre-gl ${installed} (${integrity})`);
  process.exit(0);
}

mkdirSync(out, { recursive: true });
// The main module loads its worker from `./maplibre-gl-worker.mjs` next to
// itself (import.meta.url), so both .mjs files must sit side by side.
for (const [from, to] of FILES) {
  copyFileSync(join(pkgDir, from), join(out, to));
  console.log(`vendor/maplibre-gl/${to}`);
  // Precompressed copies, served by ServeDir to browsers that accept them:
  // 1.1 MB of JavaScript is ~300 KB gzipped, which matters on a village's 3G.
  if (!to.endsWith('.txt')) {
    const raw = readFileSync(join(out, to));
    writeFileSync(join(out, `${to}.gz`), gzipSync(raw, { level: 9 }));
    writeFileSync(join(out, `${to}.br`), brotliCompressSync(raw, {
      params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: raw.length },
    }));
  }
}
writeFileSync(join(out, 'VERSION'), `maplibre-gl ${installed}\n${integrity}\n`);
console.log(`maplibre-gl ${installed} ${integrity}`);
