// The workspace's outbox: steps recorded while offline, kept in IndexedDB
// (so closing the page loses nothing) and sent when the connection
// returns. Each carries the idempotency key its form was rendered with,
// so sending one twice records it once. Used by the pages and the
// service worker.
(function (g) {
  "use strict";
  var DB = "truyxuat-app", STORE = "outbox";
  function open() {
    return new Promise(function (resolve, reject) {
      var r = indexedDB.open(DB, 1);
      r.onupgradeneeded = function () { r.result.createObjectStore(STORE, { keyPath: "key" }); };
      r.onsuccess = function () { resolve(r.result); };
      r.onerror = function () { reject(r.error); };
    });
  }
  function run(mode, fn) {
    return open().then(function (db) {
      return new Promise(function (resolve, reject) {
        var t = db.transaction(STORE, mode);
        var req = fn(t.objectStore(STORE));
        t.oncomplete = function () { db.close(); resolve(req ? req.result : undefined); };
        t.onerror = function () { db.close(); reject(t.error); };
      });
    });
  }
  var flushing = null;
  var Q = {
    put: function (item) { return run("readwrite", function (s) { return s.put(item); }); },
    all: function () { return run("readonly", function (s) { return s.getAll(); }); },
    remove: function (key) { return run("readwrite", function (s) { return s.delete(key); }); },
    // flush sends every waiting item in the order recorded; it stops at
    // the first network failure and keeps the rest for later.
    flush: function () {
      if (flushing) { return flushing; }
      flushing = Q.all().then(function (items) {
        items.sort(function (a, b) { return a.recordedAt < b.recordedAt ? -1 : 1; });
        var chain = Promise.resolve(true);
        items.forEach(function (item) {
          if (item.status === "sent" && Date.now() - item.sentAt > 86400000) {
            chain = chain.then(function (go) { return Q.remove(item.key).then(function () { return go; }); });
            return;
          }
          if (item.status !== "waiting") { return; }
          chain = chain.then(function (go) {
            if (!go) { return false; }
            var body = new FormData();
            item.fields.forEach(function (f) {
              if (f[2] !== undefined) { body.append(f[0], f[1], f[2]); } else { body.append(f[0], f[1]); }
            });
            return fetch(item.url, { method: "POST", body: body, credentials: "same-origin",
              headers: { "X-Queued": "1", "X-CSRF-Token": item.csrf } })
              .then(function (res) {
                if (res.ok) { item.status = "sent"; item.sentAt = Date.now(); }
                else { item.status = "failed"; item.error = "HTTP " + res.status; }
                return Q.put(item).then(function () { return true; });
              }, function () { return false; });
          });
        });
        return chain;
      }).then(function (r) { flushing = null; return r; }, function (e) { flushing = null; throw e; });
      return flushing;
    }
  };
  g.TruyxuatQueue = Q;
})(self);
