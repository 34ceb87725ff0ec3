// Uploads queued patrols (recorded here or chosen as a file) to
// POST /api/v1/patrols with their Idempotency-Key, retrying with backoff until
// the server answers 200/201. A 4xx other than 408/429 is final: the error is
// shown and the file kept. XMLHttpRequest rather than fetch, for progress.

import { clearSession, token, uuid } from './api.js';
import * as store from './store.js';

const MAX_DELAY_S = 300;

/** Seconds to wait before attempt n+1 (2, 4, 8 … 300, ±20 %). */
export function backoffSeconds(attempts) {
  const base = Math.min(MAX_DELAY_S, 2 ** Math.min(attempts, 9));
  return Math.max(1, Math.round(base * (0.8 + Math.random() * 0.4)));
}

export class Outbox extends EventTarget {
  constructor(user) {
    super();
    this.user = user;
    this.busy = false;
    this.timer = null;
    this.progress = new Map(); // id -> 0..1 while sending
    window.addEventListener('online', () => this.kick(true));
  }

  async items() {
    const all = await store.allPatrols();
    return all
      .filter((p) => p.owner === this.user.login && p.state !== 'recording')
      .sort((a, b) => (b.finished_at || b.started_at || 0) - (a.finished_at || a.started_at || 0));
  }

  /** Queues a track file from another app. */
  async addFile(file, contentType, { gcj02 = false } = {}) {
    const record = await store.putPatrol({
      id: uuid(),
      owner: this.user.login,
      chief_id: this.user.chief_id,
      kind: 'file',
      state: 'finished',
      file_name: file.name,
      started_at: file.lastModified || Date.now(),
      finished_at: Date.now(),
      idempotency_key: uuid(),
      content_type: contentType,
      body: file, // a File is a Blob: IndexedDB keeps it
      query: gcj02 ? 'coords=gcj02' : '',
      attempts: 0,
      next_attempt_at: 0,
    });
    this.kick(true);
    return record;
  }

  /** Tries the due uploads now; `force` ignores the backoff timers. */
  async kick(force = false) {
    if (this.busy) {
      this.again = this.again || force;
      return;
    }
    this.busy = true;
    clearTimeout(this.timer);
    try {
      for (;;) {
        const queued = (await this.items()).filter((p) => p.state === 'finished');
        const due = queued.filter((p) => force || !p.next_attempt_at || p.next_attempt_at <= Date.now());
        if (!due.length) {
          const next = Math.min(...queued.map((p) => p.next_attempt_at || Infinity));
          if (Number.isFinite(next)) this.timer = setTimeout(() => this.kick(), Math.max(500, next - Date.now()));
          break;
        }
        for (const p of due) {
          const stop = await this.send(p);
          if (stop) return;
        }
        force = false;
      }
    } finally {
      this.busy = false;
      if (this.again) {
        this.again = false;
        this.kick(true);
      }
    }
  }

  /** One attempt. Answers true when uploads must stop (logged out). */
  async send(p) {
    if (!token()) return true;
    this.progress.set(p.id, 0);
    this.emit();
    const outcome = await post(p, (fraction) => {
      this.progress.set(p.id, fraction);
      this.emit();
    });
    this.progress.delete(p.id);
    const { status } = outcome;
    if (status === 200 || status === 201) {
      await store.updatePatrol(p.id, (r) => Object.assign(r, {
        state: 'uploaded', uploaded_at: Date.now(), server: outcome.body, last_error: null, body: null,
      }));
      await store.deletePoints(p.id);
      this.dispatchEvent(new CustomEvent('uploaded', { detail: outcome.body }));
    } else if (status === 401) {
      await store.updatePatrol(p.id, (r) => Object.assign(r, { last_error: { status, code: 'unauthorized', message: outcome.message } }));
      clearSession();
      this.emit();
      window.dispatchEvent(new CustomEvent('rc:unauthorized'));
      return true;
    } else if (status === 0 || status === 408 || status === 429 || status >= 500) {
      await store.updatePatrol(p.id, (r) => {
        r.attempts = (r.attempts || 0) + 1;
        const wait = outcome.retryAfter ?? backoffSeconds(r.attempts);
        r.next_attempt_at = Date.now() + wait * 1000;
        r.last_error = { status, code: outcome.code, message: outcome.message, transient: true };
        return r;
      });
    } else {
      await store.updatePatrol(p.id, (r) => Object.assign(r, {
        state: 'rejected', attempts: (r.attempts || 0) + 1,
        last_error: { status, code: outcome.code, message: outcome.message, details: outcome.details },
      }));
    }
    this.emit();
    return false;
  }

  /** Puts a rejected upload back in the queue (after the server was fixed, say). */
  async retry(id) {
    await store.updatePatrol(id, (r) => Object.assign(r, { state: 'finished', next_attempt_at: 0 }));
    this.kick(true);
  }

  async remove(id) {
    await store.deletePatrol(id);
    this.emit();
  }

  emit() {
    this.dispatchEvent(new Event('change'));
  }
}

function post(p, onProgress) {
  return new Promise((resolve) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', `/api/v1/patrols${p.query ? `?${p.query}` : ''}`);
    xhr.setRequestHeader('Content-Type', p.content_type);
    xhr.setRequestHeader('Idempotency-Key', p.idempotency_key);
    xhr.setRequestHeader('Accept', 'application/json');
    const tok = token();
    if (tok) xhr.setRequestHeader('Authorization', `Bearer ${tok}`);
    xhr.timeout = 120000;
    xhr.upload.onprogress = (ev) => {
      if (ev.lengthComputable) onProgress(ev.loaded / ev.total);
    };
    xhr.onload = () => {
      let body = null;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        // Not JSON.
      }
      const retryAfter = Number(xhr.getResponseHeader('Retry-After'));
      resolve({
        status: xhr.status,
        body,
        code: body?.error?.code || `http_${xhr.status}`,
        message: body?.error?.message || xhr.statusText || `HTTP ${xhr.status}`,
        details: body?.error?.details,
        retryAfter: Number.isFinite(retryAfter) && retryAfter > 0 ? Math.min(retryAfter, 3600) : undefined,
      });
    };
    xhr.onerror = () => resolve({ status: 0, code: 'network', message: 'network error' });
    xhr.ontimeout = () => resolve({ status: 0, code: 'timeout', message: 'timeout' });
    xhr.send(p.body);
  });
}
