// The home app's service worker: what the app has loaded works offline. Its own files and the
// API's answers are fetched from the network first and kept; offline, the kept copy answers.
// The font's parts (named by their content, never changed) come from the cache first. Signing
// out deletes the kept answers ("homeloop-home-data"). Only GET requests are kept.
const SHELL = "homeloop-home-shell-v1";
const DATA = "homeloop-home-data";
const PRECACHE = ["home.html", "home.js", "home.css", "home.webmanifest", "icon.svg"];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(SHELL).then((cache) => cache.addAll(PRECACHE)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => k.startsWith("homeloop-home-shell") && k !== SHELL).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

async function networkFirst(request, cacheName, ignoreSearch) {
  const cache = await caches.open(cacheName);
  try {
    const response = await fetch(request);
    if (response.ok) await cache.put(request, response.clone());
    return response;
  } catch (offline) {
    const kept = await cache.match(request, { ignoreSearch }) ?? await lastTimeline(cache, request);
    if (kept) return kept;
    throw offline;
  }
}

// A chart asks for a timeline up to "now", which is never the same address twice: offline,
// the last one kept of that product and bucket answers.
async function lastTimeline(cache, request) {
  const url = new URL(request.url);
  if (!url.pathname.endsWith("/timeline")) return undefined;
  const same = (await cache.keys()).filter((k) => {
    const kept = new URL(k.url);
    return kept.pathname === url.pathname && kept.searchParams.get("bucket") === url.searchParams.get("bucket");
  });
  return same.length ? cache.match(same[same.length - 1]) : undefined;
}

async function cacheFirst(request) {
  const cache = await caches.open(SHELL);
  const kept = await cache.match(request);
  if (kept) return kept;
  const response = await fetch(request);
  if (response.ok) await cache.put(request, response.clone());
  return response;
}

self.addEventListener("fetch", (event) => {
  const { request } = event;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== location.origin) return;
  if (url.pathname.startsWith("/v1/")) event.respondWith(networkFirst(request, DATA, false));
  else if (url.pathname.startsWith("/kiosk/fonts/")) event.respondWith(cacheFirst(request));
  else if (url.pathname.startsWith("/kiosk/")) event.respondWith(networkFirst(request, SHELL, request.mode === "navigate"));
});
