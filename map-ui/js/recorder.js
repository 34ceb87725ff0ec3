// Records a patrol in the browser: navigator.geolocation.watchPosition, each
// point stored in IndexedDB as it arrives, and at the end a GeoJSON Feature
// LineString with properties.coordinateProperties.times (as @tmcw/togeojson
// writes it, which DESIGN.md lists as an accepted track format).

import { uuid } from './api.js';
import * as store from './store.js';

/** Points less precise than this are kept but left out of the uploaded track. */
const MAX_ACCURACY_M = 100;

/**
 * Test hook: localStorage `rc.testClock` = {"origin": realMs, "base": simMs,
 * "scale": n} maps a position's timestamp to base + (timestamp − origin) × n,
 * so a browser test can walk a reach for twenty simulated minutes in twenty
 * seconds. Never set in real use; the page shows a banner while it is.
 */
export function testClock() {
  try {
    const c = JSON.parse(localStorage.getItem('rc.testClock') || 'null');
    return c && Number.isFinite(c.origin) && Number.isFinite(c.base) && Number.isFinite(c.scale) ? c : null;
  } catch {
    return null;
  }
}

function pointTime(timestamp) {
  const c = testClock();
  return c ? Math.round(c.base + (timestamp - c.origin) * c.scale) : timestamp;
}

/** Great-circle distance in metres (haversine; display only, the server measures). */
export function distanceM(a, b) {
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLon = (b.lon - a.lon) * rad;
  const s = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * 6371008.8 * Math.asin(Math.min(1, Math.sqrt(s)));
}

export class Recorder extends EventTarget {
  constructor(user) {
    super();
    this.user = user;
    this.patrol = null;
    this.watchId = null;
    this.wakeLock = null;
    this.lastAccuracy = null;
    this.queue = Promise.resolve();
    this.onVisibility = () => {
      if (document.visibilityState === 'visible' && this.watchId != null) this.keepAwake();
    };
  }

  /** The unfinished patrol of this user, if a previous page left one. */
  async unfinished() {
    const all = await store.allPatrols();
    return all.find((p) => p.state === 'recording' && p.owner === this.user.login) || null;
  }

  async start() {
    const now = Date.now();
    this.patrol = await store.putPatrol({
      id: uuid(),
      owner: this.user.login,
      chief_id: this.user.chief_id,
      kind: 'recorded',
      state: 'recording',
      started_at: pointTime(now),
      point_count: 0,
      distance_m: 0,
    });
    this.watch();
    return this.patrol;
  }

  async resume(patrol) {
    this.patrol = patrol;
    this.watch();
  }

  get recording() {
    return this.watchId != null;
  }

  watch() {
    if (!('geolocation' in navigator)) {
      this.emit('error', { code: 0, message: 'geolocation unavailable' });
      return;
    }
    this.watchId = navigator.geolocation.watchPosition(
      (pos) => this.accept(pos),
      (err) => this.emit('error', { code: err.code, message: err.message }),
      { enableHighAccuracy: true, maximumAge: 0, timeout: 30000 },
    );
    this.keepAwake();
    document.addEventListener('visibilitychange', this.onVisibility);
  }

  /** One position from the geolocation API: stored before anything else happens. */
  accept(pos) {
    const c = pos.coords;
    const point = {
      lon: Math.round(c.longitude * 1e7) / 1e7,
      lat: Math.round(c.latitude * 1e7) / 1e7,
      t: pointTime(pos.timestamp),
      acc: c.accuracy == null ? null : Math.round(c.accuracy * 10) / 10,
      alt: c.altitude == null ? null : Math.round(c.altitude * 10) / 10,
    };
    this.lastAccuracy = point.acc;
    // Writes are chained so that points land in order, even when they come fast.
    this.queue = this.queue.then(async () => {
      if (!this.patrol) return;
      const prev = this.patrol.last_point;
      const good = point.acc == null || point.acc <= MAX_ACCURACY_M;
      const added = prev && good ? distanceM(prev, point) : 0;
      const updated = await store.addPoint(this.patrol.id, point, added);
      if (updated) this.patrol = updated;
      this.emit('point', { point, patrol: this.patrol });
    }).catch((err) => this.emit('error', { code: 'storage', message: `IndexedDB: ${err.message}` }));
    return this.queue;
  }

  stopWatching() {
    if (this.watchId != null) navigator.geolocation.clearWatch(this.watchId);
    this.watchId = null;
    document.removeEventListener('visibilitychange', this.onVisibility);
    this.wakeLock?.release?.().catch(() => {});
    this.wakeLock = null;
  }

  /**
   * Ends the patrol: builds the GeoJSON, gives it an Idempotency-Key and
   * queues it for upload, in one write. Answers the queued record, or throws
   * `too_few_points` (the recording stays open).
   */
  async finish() {
    await this.queue;
    const points = await store.pointsOf(this.patrol.id);
    const feature = buildTrack(points, this.patrol);
    if (!feature) {
      const err = new Error('too few points');
      err.code = 'too_few_points';
      throw err;
    }
    this.stopWatching();
    const times = feature.properties.coordinateProperties.times;
    const finished = await store.updatePatrol(this.patrol.id, (p) => Object.assign(p, {
      state: 'finished',
      finished_at: Date.parse(times[times.length - 1]),
      started_at: Date.parse(times[0]),
      idempotency_key: uuid(),
      content_type: 'application/geo+json',
      body: JSON.stringify(feature),
      attempts: 0,
      next_attempt_at: 0,
    }));
    this.patrol = null;
    return finished;
  }

  async discard() {
    const id = this.patrol?.id;
    this.stopWatching();
    this.patrol = null;
    if (id) await store.deletePatrol(id);
  }

  async keepAwake() {
    try {
      if ('wakeLock' in navigator && document.visibilityState === 'visible') {
        this.wakeLock = await navigator.wakeLock.request('screen');
      }
    } catch {
      // Not allowed (battery saver, insecure page): the hint on the page has to do.
    }
  }

  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}

/**
 * The track as a GeoJSON Feature: precise points only (unless that leaves
 * fewer than two), sorted by time, one point per timestamp.
 */
export function buildTrack(points, patrol = {}) {
  let usable = points.filter((p) => p.acc == null || p.acc <= MAX_ACCURACY_M);
  if (usable.length < 2) usable = points.slice();
  usable.sort((a, b) => a.t - b.t);
  const track = [];
  for (const p of usable) {
    const prev = track[track.length - 1];
    if (prev && p.t <= prev.t) continue; // strictly increasing time
    track.push(p);
  }
  if (track.length < 2) return null;
  return {
    type: 'Feature',
    geometry: { type: 'LineString', coordinates: track.map((p) => [p.lon, p.lat]) },
    properties: {
      name: `巡河 ${new Date(track[0].t).toISOString()}`,
      creator: 'riverchief web',
      local_id: patrol.id,
      coordinateProperties: {
        times: track.map((p) => new Date(p.t).toISOString()),
        accuracy_m: track.map((p) => p.acc),
      },
    },
  };
}
