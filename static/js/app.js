// The workspace's small enhancements: the service worker, an offline
// banner, selects that apply themselves, and steps kept on the device
// while there is no connection (see app-queue.js).
(function () {
  "use strict";
  var Q = self.TruyxuatQueue;
  var body = document.body;
  var msg = function (k) { return body.getAttribute("data-msg-" + k) || k; };

  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/app/sw.js", { scope: "/app/" }).catch(function () {});
  }

  var net = document.getElementById("net");
  function showNet() { if (net) { net.hidden = navigator.onLine; } }
  showNet();

  Array.prototype.forEach.call(document.querySelectorAll("select[data-autosubmit]"), function (s) {
    s.addEventListener("change", function () { s.form.submit(); });
  });

  function two(n) { return (n < 10 ? "0" : "") + n; }
  function when(iso) {
    var d = new Date(iso);
    return two(d.getDate()) + "/" + two(d.getMonth() + 1) + "/" + d.getFullYear() + " " + two(d.getHours()) + ":" + two(d.getMinutes());
  }

  function render() {
    var boxes = document.querySelectorAll("#queue");
    if (!boxes.length || !Q) { return Promise.resolve(); }
    return Q.all().then(function (items) {
      items.sort(function (a, b) { return a.recordedAt < b.recordedAt ? -1 : 1; });
      Array.prototype.forEach.call(boxes, function (box) {
        var batch = box.getAttribute("data-batch");
        box.textContent = "";
        var list = document.createElement("ul");
        list.className = "list";
        items.forEach(function (it) {
          if (batch && it.batch !== batch) { return; }
          var li = document.createElement("li");
          li.className = "q-item q-" + it.status;
          li.setAttribute("data-status", it.status);
          var state = document.createElement("strong");
          state.className = "q-state";
          state.textContent = it.status === "waiting" ? msg("waiting") : it.status === "sent" ? "✓ " + msg("sent") : msg("failed") + " (" + (it.error || "") + ")";
          li.appendChild(state);
          li.appendChild(document.createTextNode(" · " + it.label + " · " + msg("recorded") + " " + when(it.recordedAt)));
          list.appendChild(li);
        });
        if (list.children.length) { box.appendChild(list); }
      });
    });
  }

  function flush() {
    if (!Q || !navigator.onLine) { return render(); }
    return render().then(Q.flush).then(render, render);
  }

  function enqueue(form) {
    var now = new Date().toISOString();
    form.elements.device_time.value = now;
    var fields = [];
    new FormData(form).forEach(function (v, k) {
      if (typeof v === "string") { fields.push([k, v]); }
      else if (v && v.size > 0) { fields.push([k, v, v.name]); }
    });
    var item = { key: form.elements.idem.value, url: form.action, fields: fields, csrf: body.getAttribute("data-csrf"),
      batch: form.getAttribute("data-batch"), label: form.getAttribute("data-label"), recordedAt: now, status: "waiting" };
    return Q.put(item).then(function () {
      var note = document.getElementById("saved");
      if (!note) {
        note = document.createElement("p");
        note.id = "saved";
        note.className = "flash";
        note.setAttribute("role", "status");
        form.parentNode.insertBefore(note, form);
      }
      note.textContent = msg("saved");
      form.hidden = true;
      return render();
    });
  }

  Array.prototype.forEach.call(document.querySelectorAll("form[data-queue]"), function (form) {
    form.addEventListener("submit", function (e) {
      if (!Q || !window.indexedDB || form.getAttribute("data-sending")) { return; }
      e.preventDefault();
      if (!navigator.onLine) { enqueue(form); return; }
      form.setAttribute("data-sending", "1");
      fetch(form.action, { method: "POST", body: new FormData(form), credentials: "same-origin", headers: { "X-Queued": "1" } })
        .then(function (res) {
          if (res.status === 201) {
            return res.json().then(function (j) { location.assign("/app/batches/" + j.batch + "?ok=recorded"); });
          }
          // Errors to show next to the fields: send the form the plain way.
          form.submit();
        }, function () { form.removeAttribute("data-sending"); return enqueue(form); });
    });
  });

  window.addEventListener("online", function () { showNet(); flush(); });
  window.addEventListener("offline", showNet);
  flush();
  setInterval(function () { if (navigator.onLine) { flush(); } }, 15000);
})();

// "Use my location" fills a new batch's plot coordinates from the phone;
// they stay optional.
(function () {
  "use strict";
  var b = document.getElementById("locate");
  if (!b || !navigator.geolocation) { return; }
  var state = document.getElementById("locate-state");
  b.hidden = false;
  b.addEventListener("click", function () {
    if (state) { state.textContent = state.getAttribute("data-wait"); }
    navigator.geolocation.getCurrentPosition(function (p) {
      // Written the page's way: 9,47210 in Vietnamese.
      var comma = document.documentElement.lang === "vi";
      var fmt = function (x) { var s = x.toFixed(5); return comma ? s.replace(".", ",") : s; };
      document.getElementById("f-lat").value = fmt(p.coords.latitude);
      document.getElementById("f-lon").value = fmt(p.coords.longitude);
      if (state) { state.textContent = ""; }
    }, function () {
      if (state) { state.textContent = state.getAttribute("data-failed"); }
    }, { enableHighAccuracy: true, timeout: 20000 });
  });
})();

// The step form: a product used before fills in its active ingredient and
// pre-harvest interval (never a dose); a harvest's date and hour show the
// sprayings whose pre-harvest interval they fall inside.
(function () {
  "use strict";
  var form = document.getElementById("step-form") || document.getElementById("correct-form");
  if (!form) { return; }
  var fill = [];
  try { fill = JSON.parse(form.getAttribute("data-product-fill") || "[]") || []; } catch (e) { fill = []; }
  var product = form.elements.v_product;
  if (product && fill.length) {
    product.addEventListener("change", function () {
      fill.forEach(function (p) {
        if (p.Value !== product.value) { return; }
        Object.keys(p.Fields || {}).forEach(function (k) {
          if (form.elements[k]) { form.elements[k].value = p.Fields[k]; }
        });
      });
    });
  }
  var warn = document.getElementById("phi-warning");
  var date = form.elements.date, hour = form.elements.hour;
  if (!warn || !date) { return; }
  function two(n) { return ("0" + n).slice(-2); }
  function chosen() {
    // Day first (dd/mm/yyyy), as the form writes it; or yyyy-mm-dd.
    var v = date.value.trim(), d = /^(\d{1,2})[\/.-](\d{1,2})[\/.-](\d{4})$/.exec(v), iso;
    if (d) { iso = d[3] + "-" + two(d[2]) + "-" + two(d[1]); }
    else if ((d = /^(\d{4})-(\d{2})-(\d{2})$/.exec(v))) { iso = v; }
    else { return null; }
    var h = /^(\d{1,2})[:h.](\d{2})/.exec(hour && hour.value.trim() || "");
    // Today in the service's zone (UTC+7), whatever the phone's zone.
    var now = Date.now(), sameDay = iso === new Date(now + 7 * 36e5).toISOString().slice(0, 10);
    if (!h && sameDay) { return now; }
    // The service's zone is UTC+7.
    return Date.parse(iso + "T" + (h ? two(h[1]) + ":" + h[2] : "00:00") + ":00+07:00");
  }
  function update() {
    var t = chosen();
    var any = false;
    Array.prototype.forEach.call(warn.querySelectorAll("li[data-safe]"), function (li) {
      var sprayed = +li.getAttribute("data-sprayed"), safe = +li.getAttribute("data-safe");
      var on = t !== null && t >= sprayed && t < safe;
      li.hidden = !on;
      if (on) {
        any = true;
        var left = safe - t, msg;
        if (left >= 864e5) { msg = warn.getAttribute("data-days-left").replace("{n}", Math.ceil(left / 864e5)); }
        else { msg = warn.getAttribute("data-hours-left").replace("{n}", Math.max(1, Math.ceil(left / 36e5))); }
        li.querySelector(".left").textContent = msg;
      }
    });
    warn.hidden = !any;
  }
  date.addEventListener("input", update);
  date.addEventListener("change", update);
  if (hour) { hour.addEventListener("input", update); hour.addEventListener("change", update); }
})();

// The labels form offers the layouts of the chosen format only: A4
// sheets for PDF, rolls for thermal printers (with their resolution); the
// preview shows the product's name in the chosen second language.
(function () {
  "use strict";
  var form = document.getElementById("labels-form");
  if (!form) { return; }
  var format = form.elements.format, layout = form.elements.layout, dpi = document.getElementById("dpi-field");
  var lang = form.elements.label_lang;
  function showLang() {
    Array.prototype.forEach.call(document.querySelectorAll(".preview [data-lang], #labels-form [data-lang]"), function (el) {
      el.hidden = el.getAttribute("data-lang") !== lang.value;
    });
  }
  if (lang) { lang.addEventListener("change", showLang); }
  function update() {
    var kind = format.value === "pdf" ? "sheet" : "roll";
    var first = null, keep = false;
    Array.prototype.forEach.call(layout.options, function (o) {
      var on = o.getAttribute("data-kind") === kind;
      o.hidden = !on;
      o.disabled = !on;
      if (on && !first) { first = o; }
      if (on && o.selected) { keep = true; }
    });
    if (!keep && first) { first.selected = true; }
    if (dpi) { dpi.hidden = kind !== "roll"; }
  }
  format.addEventListener("change", update);
  update();
})();

// The diary form shows the choice its scope needs: a lot, a plot or the
// season's dates.
(function () {
  "use strict";
  var form = document.getElementById("diary-form");
  if (!form) { return; }
  var scope = form.elements.scope;
  function update() {
    Array.prototype.forEach.call(form.querySelectorAll("[data-scope]"), function (el) {
      el.hidden = el.getAttribute("data-scope") !== scope.value;
    });
  }
  scope.addEventListener("change", update);
  update();
})();

// File pickers say, in the page's language, which file was chosen.
(function () {
  "use strict";
  Array.prototype.forEach.call(document.querySelectorAll("input.file-input"), function (input) {
    var name = input.parentNode.querySelector(".file-name");
    if (!name) { return; }
    var none = name.textContent;
    input.addEventListener("change", function () {
      name.textContent = input.files && input.files.length ? input.files[0].name : none;
    });
  });
})();
