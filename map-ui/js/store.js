// IndexedDB on the phone: patrols being recorded or waiting for upload, and
// their points. Every GPS point is its own small write as it arrives, so a
// closed tab, a dead battery or a lost connection loses at most one point.
//
// patrols: {id, owner, chief_id, kind: 'recorded'|'file', state, started_at,
//           finished_at, point_count, distance_m, idempotency_key,
//           content_type, body (string|Blob), file_name, query, attempts,
//           next_attempt_at, last_error, server}
//   state: 'recording' → 'finished' (queued) → 'uploaded'; or 'rejected'
//          (a 4xx the retry cannot fix; the file is kept).
// points:  {patrol_id, lon, lat, t (ms UTC), acc, alt}

const DB_NAME = 'riverchief';
const DB_VERSION = 1;

let dbPromise;

export function openDb() {
  if (!dbPromise) {
    dbPromise = new Promise((resolve, reject) => {
      const req = indexedDB.open(DB_NAME, DB_VERSION);
      req.onupgradeneeded = () => {
        const db = req.result;
        if (!db.objectStoreNames.contains('patrols')) {
          const s = db.createObjectStore('patrols', { keyPath: 'id' });
          s.createIndex('by_state', 'state');
        }
        if (!db.objectStoreNames.contains('points')) {
          const s = db.createObjectStore('points', { autoIncrement: true });
          s.createIndex('by_patrol', 'patrol_id');
        }
      };
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
      req.onblocked = () => reject(new Error('IndexedDB is blocked by another tab'));
    });
  }
  return dbPromise;
}

function done(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error || new Error('transaction aborted'));
  });
}

function result(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

export async function putPatrol(patrol) {
  const db = await openDb();
  const tx = db.transaction('patrols', 'readwrite');
  tx.objectStore('patrols').put(patrol);
  await done(tx);
  return patrol;
}

export async function getPatrol(id) {
  const db = await openDb();
  return result(db.transaction('patrols').objectStore('patrols').get(id));
}

/** Reads a patrol, changes it with `fn`, writes it back, in one transaction. */
export async function updatePatrol(id, fn) {
  const db = await openDb();
  const tx = db.transaction('patrols', 'readwrite');
  const store = tx.objectStore('patrols');
  const patrol = await result(store.get(id));
  if (!patrol) throw new Error(`no local patrol ${id}`);
  const updated = fn(patrol) || patrol;
  store.put(updated);
  await done(tx);
  return updated;
}

export async function allPatrols() {
  const db = await openDb();
  return result(db.transaction('patrols').objectStore('patrols').getAll());
}

/** Appends one point and bumps the patrol's counters in the same transaction. */
export async function addPoint(patrolId, point, distanceAdded) {
  const db = await openDb();
  const tx = db.transaction(['patrols', 'points'], 'readwrite');
  tx.objectStore('points').add({ patrol_id: patrolId, ...point });
  const store = tx.objectStore('patrols');
  const patrol = await result(store.get(patrolId));
  if (patrol) {
    patrol.point_count = (patrol.point_count || 0) + 1;
    patrol.distance_m = (patrol.distance_m || 0) + distanceAdded;
    patrol.last_point = point;
    store.put(patrol);
  }
  await done(tx);
  return patrol;
}

export async function pointsOf(patrolId) {
  const db = await openDb();
  return result(db.transaction('points').objectStore('points').index('by_patrol').getAll(patrolId));
}

export async function deletePoints(patrolId) {
  const db = await openDb();
  const tx = db.transaction('points', 'readwrite');
  const index = tx.objectStore('points').index('by_patrol');
  const keys = await result(index.getAllKeys(patrolId));
  for (const k of keys) tx.objectStore('points').delete(k);
  await done(tx);
}

export async function deletePatrol(id) {
  await deletePoints(id);
  const db = await openDb();
  const tx = db.transaction('patrols', 'readwrite');
  tx.objectStore('patrols').delete(id);
  await done(tx);
}
