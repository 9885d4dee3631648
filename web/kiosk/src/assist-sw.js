// The assistant's tablet offline: its shell (page, script, styles, icon) is kept at install and
// served when the network fails; the API is never cached (customers' data stays on the server).
const CACHE = "assist-shell-v1";
const SHELL = ["assist.html", "assist.js", "assist.css", "icon.svg", "assist.webmanifest"];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((c) => c.addAll(SHELL)).then(() => self.skipWaiting()));
});
self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys().then((keys) => Promise.all(
    keys.filter((k) => k.startsWith("assist-shell-") && k !== CACHE).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});
self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.pathname.startsWith("/v1/")) return;
  // network first (a new build shows at once), the kept shell when offline
  event.respondWith(fetch(event.request).then((response) => {
    if (response.ok && (SHELL.some((f) => url.pathname.endsWith(`/${f}`)) || url.pathname.includes("/fonts/"))) {
      const copy = response.clone();
      caches.open(CACHE).then((c) => c.put(event.request, copy));
    }
    return response;
  }).catch(() => caches.match(event.request, { ignoreSearch: true })
    .then((hit) => hit || caches.match("assist.html"))));
});
