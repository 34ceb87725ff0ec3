// Problem reports that wait on the phone for a signal, photos included. A
// report is stored in IndexedDB before it is sent, and sent again (with the
// same Idempotency-Key) when the phone is back online, so a report made at
// the river with no signal is not lost and not filed twice.
//
// issues: {id, owner, fields: {category, description, location, patrol_id?},
//          photos: [Blob], created_at, attempts, last_error}

import { ApiError, api, uuid } from './api.js';

const DB_NAME = 'riverchief-issues';
const STORE = 'issues';

let dbPromise;
function openDb() {
  if (!dbPromise) {
    dbPromise = new Promise((resolve, reject) => {
      const req = indexedDB.open(DB_NAME, 1);
      req.onupgradeneeded = () => req.result.createObjectStore(STORE, { keyPath: 'id' });
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
  }
  return dbPromise;
}

async function tx(mode, fn) {
  const db = await openDb();
  return new Promise((resolve, reject) => {
    const t = db.transaction(STORE, mode);
    const result = fn(t.objectStore(STORE));
    t.oncomplete = () => resolve(result?.result ?? result);
    t.onerror = () => reject(t.error);
    t.onabort = () => reject(t.error);
  });
}

/** The body of the POST: JSON, or multipart when there are photos. */
function bodyOf(record) {
  const { fields, photos } = record;
  if (!photos?.length) return fields;
  const form = new FormData();
  form.append('category', fields.category);
  form.append('description', fields.description);
  form.append('location', JSON.stringify(fields.location));
  if (fields.patrol_id != null) form.append('patrol_id', String(fields.patrol_id));
  photos.forEach((photo, i) => form.append('photos', photo, `photo-${i + 1}.jpg`));
  return form;
}

export class IssueOutbox extends EventTarget {
  constructor(user) {
    super();
    this.owner = user.id;
    this.sending = false;
    window.addEventListener('online', () => this.flush());
  }

  /** Reports of this user still waiting. */
  async pending() {
    const all = await tx('readonly', (s) => s.getAll());
    return all.filter((r) => r.owner === this.owner).sort((a, b) => a.created_at - b.created_at);
  }

  /**
   * Keeps the report on the phone, then tries to send it. Answers
   * `{sent: issue}` when the server took it, `{queued: true}` when it waits
   * for a signal, and throws the ApiError when the server refused it (then
   * nothing is kept: the chief corrects the form and sends again).
   */
  async submit(fields, photos) {
    const record = { id: uuid(), owner: this.owner, fields, photos, created_at: Date.now(), attempts: 0, last_error: null };
    await tx('readwrite', (s) => s.put(record));
    try {
      const issue = await this.send(record);
      return { sent: issue };
    } catch (err) {
      if (err instanceof ApiError && !err.transient) throw err;
      return { queued: true };
    } finally {
      this.emit();
    }
  }

  /** Sends every waiting report once; the ones still failing wait for the next try. */
  async flush() {
    if (this.sending) return;
    this.sending = true;
    try {
      for (const record of await this.pending()) {
        try {
          const issue = await this.send(record);
          this.dispatchEvent(new CustomEvent('sent', { detail: issue }));
        } catch (err) {
          if (!(err instanceof ApiError && !err.transient)) break; // still no signal: try later
          this.dispatchEvent(new CustomEvent('refused', { detail: { record, error: err } }));
        }
      }
    } finally {
      this.sending = false;
      this.emit();
    }
  }

  /** One POST; the record leaves the phone once the server answered it (either way). */
  async send(record) {
    try {
      const issue = await api('/api/v1/issues', {
        method: 'POST', body: bodyOf(record), headers: { 'Idempotency-Key': record.id },
      });
      await tx('readwrite', (s) => s.delete(record.id));
      return issue;
    } catch (err) {
      if (err instanceof ApiError && !err.transient) {
        await tx('readwrite', (s) => s.delete(record.id));
      } else {
        record.attempts += 1;
        record.last_error = { status: err.status ?? 0, code: err.code ?? 'network' };
        await tx('readwrite', (s) => s.put(record));
      }
      throw err;
    }
  }

  emit() {
    this.dispatchEvent(new Event('change'));
  }
}
