// Every code the server can answer has words on the pages: reads the error
// and reason codes from the Rust source (not from a hand-kept list) and
// checks that map-ui/js/messages.js has a zh-CN and an English sentence for
// each. Also checks the sentences themselves: numbers filled in, never the
// server's English message. Pure modules, no browser.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

// i18n.js keeps the language choice in localStorage.
const storage = new Map();
globalThis.localStorage = {
  getItem: (k) => storage.get(k) ?? null,
  setItem: (k, v) => storage.set(k, String(v)),
};
const { ERRORS, REASONS, errorSentence, reasonSentences } = await import('../../map-ui/js/messages.js');

function rustFiles(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return rustFiles(path);
    return name.endsWith('.rs') ? [path] : [];
  });
}

/** The source up to its test module: codes only tests use do not count. */
function productCode(path) {
  const text = readFileSync(path, 'utf8');
  const cut = text.indexOf('#[cfg(test)]');
  return cut < 0 ? text : text.slice(0, cut);
}

/** The text of each `fn NAME(` body in `src` (brace matched). */
function fnBodies(src, names) {
  const bodies = [];
  const re = new RegExp(`fn (?:${names.join('|')})\\s*\\(`, 'g');
  for (let m = re.exec(src); m; m = re.exec(src)) {
    let i = src.indexOf('{', m.index);
    const start = i;
    let depth = 0;
    for (; i < src.length; i++) {
      if (src[i] === '{') depth++;
      else if (src[i] === '}' && --depth === 0) break;
    }
    bodies.push(src.slice(start, i));
  }
  return bodies;
}

const CODE = '([a-z][a-z0-9]*(?:_[a-z0-9]+)*)';
// Where a code is written down: a `code` field, the error constructors that
// take one, a `CODE` constant.
const CODE_SITES = [
  new RegExp(`\\bcode: "${CODE}"`, 'g'),
  new RegExp(`"code":\\s*"${CODE}"`, 'g'),
  new RegExp(`\\b(?:unprocessable|conflict|bad_request_code|not_installed)\\(\\s*"${CODE}"`, 'g'),
  new RegExp(`const CODE: &(?:'static )?str = "${CODE}"`, 'g'),
];

/** Every error and reason code the Rust crates can answer. */
function codesInSource() {
  const codes = new Map(); // code -> first file
  for (const crate of ['api', 'store', 'domain']) {
    for (const path of rustFiles(join(root, 'crates', crate, 'src'))) {
      const src = productCode(path);
      const found = [];
      // `fn code()` of each error and reason type, and the HTTP error's own table.
      for (const body of fnBodies(src, ['code', 'status_and_code'])) {
        for (const m of body.matchAll(new RegExp(`"${CODE}"`, 'g'))) found.push(m[1]);
      }
      for (const re of CODE_SITES) for (const m of src.matchAll(re)) found.push(m[1]);
      for (const code of found) if (!codes.has(code)) codes.set(code, path.slice(root.length + 1));
    }
  }
  return codes;
}

test('the scanner finds the codes it must (a broken scanner would pass everything)', () => {
  const codes = codesInSource();
  for (const code of ['too_brief', 'low_coverage', 'malformed_track', 'invalid_week', 'unauthorized', 'payload_too_large', 'invalid_transition', 'invalid_field']) {
    assert.ok(codes.has(code), `${code} not found in the Rust source`);
  }
  assert.ok(codes.size >= 45, `only ${codes.size} codes found`);
});

test('every error and reason code the server can answer has a zh-CN and an English sentence', () => {
  const missing = [];
  for (const [code, file] of codesInSource()) {
    for (const lang of ['zh', 'en']) {
      if (!(code in ERRORS[lang]) && !(code in REASONS[lang])) missing.push(`${code} (${lang}, from ${file})`);
    }
  }
  assert.deepEqual(missing, [], 'add these to map-ui/js/messages.js');
});

test('both languages have the same codes', () => {
  for (const table of [ERRORS, REASONS]) {
    assert.deepEqual(Object.keys(table.en).sort(), Object.keys(table.zh).sort());
  }
});

test('an error sentence uses the details, never the server message', () => {
  localStorage.setItem('rc.lang', 'zh');
  const english = 'to: to 2026-12-10 is before from 2026-12-12';
  const s = errorSentence({ status: 422, code: 'invalid_field', message: english, details: { field: 'to' } });
  assert.equal(s, '「结束日期」填写有误，请检查后再提交。');
  assert.ok(!errorSentence({ status: 422, code: 'some_future_code', message: english }).includes('before'));
  assert.match(errorSentence({ status: 429, code: 'too_many_requests', details: { retry_after_s: 300 } }), /5 分钟/);
  assert.equal(errorSentence({ status: 0, code: 'network' }), ERRORS.zh.network);
  assert.match(errorSentence({ status: 503, code: 'some_future_code', message: 'boom' }), /服务器出错了/);
  localStorage.setItem('rc.lang', 'en');
  assert.match(errorSentence({ status: 401, code: 'invalid_credentials' }), /Wrong login or password/);
  localStorage.setItem('rc.lang', 'zh');
});

test('reason sentences carry the measured value and the town threshold', () => {
  localStorage.setItem('rc.lang', 'zh');
  const patrol = {
    reasons: ['too_brief', 'low_coverage', 'late_upload'], duration_s: 372, coverage: 0.31,
    length_m: 800, week: '2026-W48', uploaded_at: '2026-12-04T02:00:00Z',
  };
  const [brief, coverage, late] = reasonSentences(patrol, { min_duration_s: 900, min_coverage: 0.6, upload_grace_days: 2 });
  assert.equal(brief, '巡河时长 6 分钟，少于本镇要求的 15 分钟。请沿河段完整走一遍后再结束记录。');
  assert.match(coverage, /覆盖河段 31%，本镇要求至少 60%/);
  // W48 ends Sunday 2026-11-29 24:00 CST; uploaded Friday 12-04 10:00 CST: 5 days late (rounded up).
  assert.match(late, /2026-W48.*5 天后.*最多 2 天/);
  // Without the town's rules the defaults of the rulebook stand in.
  assert.match(reasonSentences({ reasons: ['too_brief'], duration_s: 360 })[0], /少于本镇要求的 10 分钟/);
});
