// The door scanner's service worker (served at /door/sw.js, scope /door/): the scanner page
// and its static files load without a network. Pages: network first, the cached copy when
// offline. Static files: cache first (their names change with their content in production).
// JSON (scan, sync, bundle, stats) always goes to the network; the page handles its failure.

const CACHE = "door-v1";

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

async function networkFirst(request) {
  const cache = await caches.open(CACHE);
  try {
    const response = await fetch(request);
    if (response.ok) await cache.put(request, response.clone());
    return response;
  } catch (error) {
    const hit = await cache.match(request);
    if (hit) return hit;
    throw error;
  }
}

async function cacheFirst(request) {
  const cache = await caches.open(CACHE);
  const hit = await cache.match(request);
  if (hit) return hit;
  const response = await fetch(request);
  if (response.ok) await cache.put(request, response.clone());
  return response;
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname.startsWith("/static/")) {
    event.respondWith(cacheFirst(request));
  } else if (
    request.mode === "navigate" ||
    url.pathname.endsWith(".webmanifest") ||
    url.pathname.startsWith("/i18n/") // the scanner's words in the page's language
  ) {
    event.respondWith(networkFirst(request));
  }
});
