// The chief page's service worker: /chief opens with no signal. The app
// shell (page, styles, scripts) is answered from the cache at once and
// refreshed in the background, so a weak signal never holds up the page and
// a new version arrives on the next visit. The chief's own data (status,
// reaches, history, notices) is fetched from the network first and kept,
// so offline the page shows the last status it saw. Patrols and problem
// reports are never sent from here: the page queues them in IndexedDB.

const SHELL_CACHE = 'rc-shell-v1';
// Answers of the API for the chief page, newest kept. Deleted at logout
// (api.js) so a shared phone does not show one chief's data to the next.
const API_CACHE = 'rc-api';
const SHELL = [
  '/chief',
  '/manifest.webmanifest',
  '/css/app.css',
  '/img/icon.svg',
  '/js/chief.js', '/js/ui.js', '/js/api.js', '/js/i18n.js', '/js/messages.js', '/js/time.js',
  '/js/status.js', '/js/recorder.js', '/js/outbox.js', '/js/store.js', '/js/photo.js', '/js/issue-outbox.js', '/js/sketch.js',
];
// How long the API may take before the kept answer is shown instead.
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
  if (SHELL.includes(url.pathname)) {
    event.respondWith(shellFirst(request, event));
  } else if (url.pathname.startsWith('/api/v1/') && fromChiefPage(request)) {
    event.respondWith(networkFirst(request));
  }
});

function fromChiefPage(request) {
  try {
    return new URL(request.referrer).pathname === '/chief';
  } catch {
    return false;
  }
}

/** The kept copy at once (refreshed behind it); the network when there is none. */
async function shellFirst(request, event) {
  const cache = await caches.open(SHELL_CACHE);
  const kept = await cache.match(request, { ignoreSearch: true });
  const fresh = fetch(request).then((response) => {
    if (response.ok) cache.put(request, response.clone());
    return response;
  });
  if (kept) {
    event.waitUntil(fresh.catch(() => {}));
    return kept;
  }
  return fresh;
}

/** The network, unless it fails or takes over API_TIMEOUT_MS: then the last answer kept. */
async function networkFirst(request) {
  const cache = await caches.open(API_CACHE);
  const network = fetch(request).then((response) => {
    if (response.ok) cache.put(request, response.clone());
    return response;
  });
  const timeout = new Promise((resolve) => { setTimeout(resolve, API_TIMEOUT_MS, null); });
  try {
    const first = await Promise.race([network, timeout]);
    if (first) return first;
  } catch {
    // Offline: the kept answer below, else the failure.
  }
  const kept = await cache.match(request);
  if (kept) return kept;
  return network;
}
