// The workspace's service worker, served from /app/sw.js (scope /app/).
// It keeps the assets and an offline page, never a signed-in page.
importScripts("/static/js/app-queue.js?v=__VERSION__");
var CACHE = "truyxuat-app-__VERSION__";
var ASSETS = ["/app/offline", "/static/css/app.css?v=__VERSION__", "/static/js/app.js?v=__VERSION__",
  "/static/js/app-queue.js?v=__VERSION__"];

self.addEventListener("install", function (e) {
  e.waitUntil(caches.open(CACHE).then(function (c) { return c.addAll(ASSETS); }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (e) {
  e.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (k) { return k.indexOf("truyxuat-app-") === 0 && k !== CACHE; })
      .map(function (k) { return caches.delete(k); }));
  }).then(function () { return self.clients.claim(); }));
});

self.addEventListener("fetch", function (e) {
  var req = e.request;
  if (req.method !== "GET") { return; }
  var url = new URL(req.url);
  if (url.origin !== location.origin) { return; }
  if (url.pathname.indexOf("/static/") === 0) {
    e.respondWith(caches.match(req).then(function (hit) { return hit || fetch(req); }));
    return;
  }
  if (req.mode === "navigate" && url.pathname.indexOf("/app/") === 0) {
    e.respondWith(fetch(req).catch(function () { return caches.match("/app/offline"); }));
  }
});

// The outbox is sent by the workspace's pages: when one opens and when
// the connection returns.
