// Starts a real riverchief server for the browser tests: builds the debug
// binary, loads the demo town, serves on a free loopback port with a
// temporary data directory (the embedded database), or uses DATABASE_URL
// when it is set. Environment knobs:
//   RIVERCHIEF_URL  use a server that is already running (no build, no start)
//   RIVERCHIEF_BIN  use this binary instead of building it

import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

function freePort() {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => res(port));
    });
  });
}

function binary() {
  if (process.env.RIVERCHIEF_BIN) return process.env.RIVERCHIEF_BIN;
  // The same feature set as `cargo test --workspace` (a no-op after `make
  // test-rust`); `-p riverchief` alone would rebuild half the dependencies.
  const args = ['build', '--workspace', '--bins', '--tests'];
  const build = spawnSync('cargo', args, { cwd: REPO, stdio: ['ignore', 'inherit', 'inherit'] });
  if (build.status !== 0) throw new Error(`cargo ${args.join(' ')} failed`);
  return join(REPO, 'target', 'debug', 'riverchief');
}

function run(bin, args, env) {
  const r = spawnSync(bin, args, { cwd: REPO, env, encoding: 'utf8', timeout: 300_000 });
  if (r.status !== 0) throw new Error(`riverchief ${args.join(' ')} failed (${r.status}): ${r.stderr || r.stdout}`);
  return r.stdout;
}

async function waitReady(url, child, log, timeoutMs = 120_000) {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (child.exitCode != null) throw new Error(`the server exited (${child.exitCode}):\n${log.join('')}`);
    try {
      const r = await fetch(`${url}/readyz`);
      if (r.ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`the server did not become ready in ${timeoutMs / 1000} s:\n${log.join('')}`);
}

/** Starts the server; answers {url, stop()}. */
export async function startServer() {
  if (process.env.RIVERCHIEF_URL) {
    return { url: process.env.RIVERCHIEF_URL.replace(/\/$/, ''), stop: async () => {} };
  }
  const bin = binary();
  const dataDir = mkdtempSync(join(tmpdir(), 'riverchief-browser-'));
  const env = { ...process.env, RIVERCHIEF_DATA_DIR: dataDir, RIVERCHIEF_LOG: process.env.RIVERCHIEF_LOG || 'warn' };
  run(bin, ['demo'], env);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const log = [];
  const child = spawn(bin, ['serve', '--listen', `127.0.0.1:${port}`], { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.on('data', (d) => log.push(d.toString()));
  child.stderr.on('data', (d) => log.push(d.toString()));
  await waitReady(url, child, log);
  return {
    url,
    log,
    async stop() {
      if (child.exitCode == null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        // The embedded cluster is stopped on a graceful shutdown: give it time.
        const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
        await exited;
        clearTimeout(timer);
      }
      // Deletes the data directory and, when root's cluster had to move
      // out of /tmp, its relocated copy under /var/lib/riverchief.
      spawnSync('bash', [join(REPO, '.ci/embedded-pg.sh'), 'clean', dataDir], { stdio: 'ignore' });
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
