// The chief page's service worker: /chief opens with no signal. Everything
// is fetched from the network first and kept: the app shell (page, styles,
// scripts) so a new deployment is used at once, all its modules together;
// the chief's own data (status, reaches, history, notices) so offline the
// page shows the last status it saw. When the network fails, or is slower
// than a few seconds, the kept copy answers. Patrols and problem reports
// are never sent from here: the page queues them in IndexedDB.

const SHELL_CACHE = 'rc-shell-v2';
// Answers of the API for the chief page, newest kept. Deleted at logout
// (api.js) so a shared phone does not show one chief's data to the next.
const API_CACHE = 'rc-api';
const SHELL = [
  '/chief',
  '/manifest.webmanifest',
  '/css/app.css',
  '/img/icon.svg',
  '/js/chief.js', '/js/ui.js', '/js/api.js', '/js/i18n.js', '/js/messages.js', '/js/time.js',
  '/js/status.js', '/js/recorder.js', '/js/outbox.js', '/js/store.js', '/js/photo.js', '/js/issue-outbox.js', '/js/sketch.js', '/js/trackfile.js',
];
// How long the network may take before the kept copy answers instead.
const SHELL_TIMEOUT_MS = 3000;
const API_TIMEOUT_MS = 5000;

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(SHELL_CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name !== SHELL_CACHE && name !== API_CACHE) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

self.addEventListener('fetch', (event) => {
  const { request } = event;
  const url = new URL(request.url);
  if (request.method !== 'GET' || url.origin !== self.location.origin) return;
  // The listed shell, and any other script, style or image of ours (a
  // module added later is kept the first time it loads online).
  if (SHELL.includes(url.pathname) || /^\/(js|css|img)\//.test(url.pathname)) {
    event.respondWith(networkFirst(request, SHELL_CACHE, SHELL_TIMEOUT_MS));
  } else if (url.pathname.startsWith('/api/v1/') && fromChiefPage(request)) {
    event.respondWith(networkFirst(request, API_CACHE, API_TIMEOUT_MS));
  }
});

function fromChiefPage(request) {
  try {
    return new URL(request.referrer).pathname === '/chief';
  } catch {
    return false;
  }
}

/** The network, unless it fails or takes over `timeoutMs`: then the copy kept in `cacheName`. */
async function networkFirst(request, cacheName, timeoutMs) {
  const cache = await caches.open(cacheName);
  const network = fetch(request).then((response) => {
    if (response.ok) cache.put(request, response.clone());
    return response;
  });
  const timeout = new Promise((resolve) => { setTimeout(resolve, timeoutMs, null); });
  try {
    const first = await Promise.race([network, timeout]);
    if (first) return first;
  } catch {
    // Offline: the kept copy below, else the failure.
  }
  const kept = await cache.match(request, { ignoreSearch: cacheName === SHELL_CACHE });
  if (kept) return kept;
  return network;
}
