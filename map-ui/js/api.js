// The HTTP client for /api/v1: bearer token from localStorage, errors as
// ApiError carrying the server's {"error": {code, message, details}}.

const TOKEN_KEY = 'rc.token';
const USER_KEY = 'rc.user';

export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }

  /** The server has no such endpoint (yet): answer with a clear note, not a failure. */
  get unavailable() {
    return this.status === 404 || this.status === 405 || this.status === 501;
  }

  /** Worth trying again later (network, timeouts, overload, server errors). */
  get transient() {
    return this.status === 0 || this.status === 408 || this.status === 429 || this.status >= 500;
  }
}

export function token() {
  return localStorage.getItem(TOKEN_KEY);
}

/** The logged-in user as returned by login (`{id, login, role, chief_id, town_id, village_id}`). */
export function currentUser() {
  try {
    return JSON.parse(localStorage.getItem(USER_KEY) || 'null');
  } catch {
    return null;
  }
}

export function saveSession(session) {
  localStorage.setItem(TOKEN_KEY, session.token);
  localStorage.setItem(USER_KEY, JSON.stringify(session.user));
}

export function clearSession() {
  localStorage.removeItem(TOKEN_KEY);
  localStorage.removeItem(USER_KEY);
  // The chief page's kept API answers (sw.js) belong to this login only.
  globalThis.caches?.delete('rc-api').catch(() => {});
}

/** Builds an ApiError from a response that was not ok. */
export async function errorFrom(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    // Not JSON: a missing route answered by the static file fallback, a proxy page…
  }
  const e = body?.error;
  const code = e?.code || `http_${response.status}`;
  const message = e?.message || response.statusText || `HTTP ${response.status}`;
  return new ApiError(response.status, code, message, e?.details);
}

/**
 * Calls the API. `body` objects are sent as JSON; FormData, Blob and strings
 * as they are. Answers the parsed JSON (or null for 204), throws ApiError.
 */
export async function api(path, { method = 'GET', body, headers = {}, signal } = {}) {
  const h = { Accept: 'application/json', ...headers };
  const tok = token();
  if (tok) h.Authorization = `Bearer ${tok}`;
  let payload = body;
  if (body !== undefined && !(body instanceof FormData) && !(body instanceof Blob) && typeof body !== 'string') {
    payload = JSON.stringify(body);
    h['Content-Type'] = 'application/json';
  }
  let response;
  try {
    response = await fetch(path, { method, headers: h, body: payload, signal });
  } catch (err) {
    if (err.name === 'AbortError') throw err;
    throw new ApiError(0, 'network', err.message || 'network error');
  }
  if (response.status === 401 && tok) {
    clearSession();
    window.dispatchEvent(new CustomEvent('rc:unauthorized'));
  }
  if (!response.ok) throw await errorFrom(response);
  if (response.status === 204) return null;
  const type = response.headers.get('content-type') || '';
  return type.includes('json') ? response.json() : response.text();
}

/** Like api(), but answers `fallback` when the endpoint does not exist yet. */
export async function apiOptional(path, fallback = null, options = {}) {
  try {
    return await api(path, options);
  } catch (err) {
    if (err instanceof ApiError && err.unavailable) return fallback;
    throw err;
  }
}

export async function login(loginName, password) {
  const session = await api('/api/v1/auth/login', { method: 'POST', body: { login: loginName, password } });
  saveSession(session);
  return session.user;
}

export async function logout() {
  try {
    await api('/api/v1/auth/logout', { method: 'POST' });
  } catch {
    // Logging out locally is what matters.
  }
  clearSession();
}

/**
 * An object URL for a file behind the bearer token (issue photos): an <img>
 * cannot send the Authorization header itself.
 */
export async function blobUrl(path) {
  const tok = token();
  const response = await fetch(path, { headers: tok ? { Authorization: `Bearer ${tok}` } : {} });
  if (!response.ok) throw await errorFrom(response);
  return URL.createObjectURL(await response.blob());
}

/** A random UUID v4, also where crypto.randomUUID is missing (plain-HTTP pages). */
export function uuid() {
  if (globalThis.crypto?.randomUUID) {
    try {
      return crypto.randomUUID();
    } catch {
      // Insecure context: fall through.
    }
  }
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
