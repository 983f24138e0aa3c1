// truyxuat: the shopper's own check of a batch's history.
//
// It fetches the history as JSON and checks, in this browser, with no trust
// in the server: every event's SHA-256, the chain links and order inside the
// signed bytes, every Ed25519 signature against the cooperative's keys or
// those of the inspectors the history lists (and that the page names the
// right one as the event's author), the signed records of the product and
// the cooperative, every inclusion proof (RFC 6962) against the log
// checkpoint, and the checkpoint's Ed25519 signature against the log key
// this page pins. It also checks that what the page shows as the
// cooperative's word is what was signed: the product and the cooperative
// (their signed records), the lot's facts (the newest facts record of its
// chain, and the lot the scanned label names), each step with its quantity
// and details, the certificates and the photos. A fact no signature covers
// must be marked so on the page and listed by the history as unsigned.
// Only when all pass does <html data-verification> become "verified"; any
// failure makes it "failed" and names what failed.

const root = document.documentElement;
root.classList.add("js");
const box = document.getElementById("verification");
const enc = new TextEncoder();

const b64 = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
const hex = (u) => Array.from(u, (b) => b.toString(16).padStart(2, "0")).join("");
const same = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);

function concat(parts) {
  const n = parts.reduce((s, p) => s + p.length, 0);
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

async function sha256(...parts) {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", concat(parts)));
}

// Ed25519 with WebCrypto where the browser has it, else with the vendored
// @noble/ed25519 (older Android WebViews), so the check always runs here.
let noble;
async function ed25519Verify(pub, sig, msg) {
  try {
    const key = await crypto.subtle.importKey("raw", pub, { name: "Ed25519" }, false, ["verify"]);
    return await crypto.subtle.verify({ name: "Ed25519" }, key, sig, msg);
  } catch (e) {
    if (pub.length !== 32 || sig.length !== 64) return false;
    noble = noble || (await import("/static/vendor/noble-ed25519/index.js"));
    try { return await noble.verifyAsync(sig, msg, pub); } catch (_) { return false; }
  }
}

class Failure extends Error {
  constructor(check, message) { super(message); this.check = check; }
}

// RFC 9162 §2.1.3.2: the root an inclusion proof leads to.
async function rootFromProof(index, size, leaf, proof) {
  if (index >= size) throw new Failure("log", "index beyond the checkpoint");
  let fn = index, sn = size - 1, r = leaf;
  for (const p of proof) {
    if (sn === 0) throw new Failure("log", "inclusion proof too long");
    if (fn % 2 === 1 || fn === sn) {
      r = await sha256(new Uint8Array([1]), p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
      }
    } else {
      r = await sha256(new Uint8Array([1]), r, p);
    }
    fn = Math.floor(fn / 2); sn = Math.floor(sn / 2);
  }
  if (sn !== 0) throw new Failure("log", "inclusion proof too short");
  return r;
}

// A C2SP signed note: the text (through its last newline), then a blank
// line, then "— <name> <base64(key ID ‖ signature)>" lines.
function parseNote(note) {
  const cut = note.indexOf("\n\n");
  if (cut < 0) throw new Failure("checkpoint", "the checkpoint is not a signed note");
  const text = note.slice(0, cut + 1);
  const sigs = [];
  for (const line of note.slice(cut + 2).split("\n")) {
    if (line === "") continue;
    const m = /^\u2014 (\S+) ([A-Za-z0-9+/=]+)$/.exec(line);
    if (!m) throw new Failure("checkpoint", "malformed signature line");
    const raw = b64(m[2]);
    sigs.push({ name: m[1], id: hex(raw.slice(0, 4)), sig: raw.slice(4) });
  }
  return { text, sigs };
}

// Checks the checkpoint note against the pinned log key (a C2SP vkey) and
// returns its size and root.
async function openCheckpoint(note, vkey, origin) {
  // <name>+<8 hex key ID>+<base64 key>; the base64 may itself hold '+'.
  const m = /^([^+]+)\+([0-9a-f]{8})\+([A-Za-z0-9+/=]+)$/.exec(vkey || "");
  if (!m) throw new Failure("checkpoint", "the pinned log key is malformed");
  const [, name, id, keyB64] = m;
  const key = b64(keyB64);
  if (key[0] !== 1 || key.length !== 33) throw new Failure("checkpoint", "the pinned log key is not Ed25519");
  const want = hex((await sha256(enc.encode(name + "\n"), key)).slice(0, 4));
  if (want !== id) throw new Failure("checkpoint", "the pinned log key has a wrong key ID");
  const n = parseNote(note);
  const lines = n.text.split("\n");
  if (lines[0] !== origin || name !== origin) throw new Failure("checkpoint", "the checkpoint is for another log");
  if (!/^(0|[1-9][0-9]*)$/.test(lines[1])) throw new Failure("checkpoint", "bad tree size");
  const size = Number(lines[1]);
  const rootHash = b64(lines[2]);
  if (rootHash.length !== 32) throw new Failure("checkpoint", "bad root hash");
  const mine = n.sigs.filter((s) => s.name === name && s.id === id);
  if (mine.length === 0) throw new Failure("checkpoint", "the checkpoint has no signature from the log key");
  for (const s of mine) {
    if (!(await ed25519Verify(key.slice(1), s.sig, enc.encode(n.text)))) {
      throw new Failure("checkpoint", "the log's signature on the checkpoint is invalid");
    }
  }
  const witnesses = [...new Set(n.sigs.filter((s) => s.name !== name).map((s) => s.name))];
  return { size, root: rootHash, witnesses };
}

const FACTS_STEP = "creating_class_instance";
const dec = new TextDecoder("utf-8", { fatal: true });

function parseJSON(bytes, what) {
  try { return JSON.parse(dec.decode(bytes)); } catch (_) { throw new Failure("hashes", `${what}: bytes are not valid`); }
}

// Numbers as the page writes them: Vietnamese groups thousands with "."
// and writes a decimal comma, other languages the other way round.
function formatNumber(lang, n) {
  const [int, frac] = n.split(".");
  const [group, point] = lang === "vi" ? [".", ","] : [",", "."];
  let out = "";
  for (let i = 0; i < int.length; i++) {
    if (i > 0 && (int.length - i) % 3 === 0) out += group;
    out += int[i];
  }
  return frac === undefined ? out : out + point + frac;
}

const ddmmyyyy = (d) => d.split("-").reverse().join("/");
const text = (el) => (el ? el.textContent : "");

// A quantity shown as "<number> <unit name>" with its signed value and
// unit in data-value and data-unit.
function sameQuantity(el, q, lang) {
  return !!el && !!q && el.dataset.value === q.value && el.dataset.unit === q.unit &&
    el.textContent.startsWith(formatNumber(lang, q.value) + " ");
}

// Opens a signed registry record (the product's or the cooperative's):
// its hash, that it is the record of that entry, signed by a key of the
// cooperative. Returns its decoded contents, or null when the history
// carries none.
async function openRecord(r, kind, id, coopID, keys) {
  if (!r) return null;
  if (typeof r.canonical !== "string") throw new Failure("hashes", `${kind} record: it carries no signed bytes`);
  const body = b64(r.canonical);
  const hash = await sha256(body);
  if (hex(hash) !== r.hash) throw new Failure("hashes", `${kind} record: hash does not match its bytes`);
  const c = parseJSON(body, `${kind} record`);
  if (c.v !== 1 || c.kind !== kind || (id !== null && c.id !== id) || c.cooperative !== coopID) throw new Failure("links", `${kind} record: it is another ${kind}'s`);
  if (!keys.has(r.signer)) throw new Failure("signatures", `${kind} record: signed by a key that is not the cooperative's`);
  const sig = b64(r.signature), signer = b64(r.signer);
  if (!(await ed25519Verify(signer, sig, body))) throw new Failure("signatures", `${kind} record: bad signature`);
  return { fields: c.fields || {}, r, hash, sig, signer };
}

// The lot a Digital Link path names (/01/<gtin>/10/<lot>), or null for
// another kind of path.
function labelLot() {
  const m = /^\/01\/([0-9]{14})\/10\/([^/]+)$/.exec(location.pathname);
  if (!m) return null;
  try { return { gtin: m[1], lot: decodeURIComponent(m[2]) }; } catch (_) { return { gtin: m[1], lot: null }; }
}

// checkPage checks what the page shows against what was signed: facts is
// the newest facts record of the chain (null for a lot registered before
// lots had signed facts), product and coop the opened registry records.
// A certificate's state on a day (YYYY-MM-DD) from its signed dates, as
// trace.CertificateStatus says it.
function certStatus(f, day) {
  if (f.valid_to && day > f.valid_to) return "expired";
  if (f.valid_from && day < f.valid_from) return "not_yet";
  return "valid";
}

// checkRegistry checks the certificates and the places to buy the page
// shows against the signed registry records the history carries: each
// record shown once, as it was signed, and each certificate's state on
// the lot's day worked out here from its signed dates.
function checkRegistry(h, facts, registry) {
  const byHash = new Map(registry.map((r) => [r.r.hash, r]));
  const day = (facts && facts.ilmd && facts.ilmd.harvestDate) || h.batch.harvest_date || (h.events[0] ? h.events[0].event_time.slice(0, 10) : "");
  const yesterday = new Date(Date.now() + 7 * 3600e3 - 864e5).toISOString().slice(0, 10); // in Vietnam
  const seen = new Set();
  const use = (el, kind) => {
    const r = byHash.get(el.dataset.record);
    if (!r || r.kind !== kind || seen.has(r.r.hash)) throw new Failure("hashes", `the page shows a ${kind} that was not signed`);
    seen.add(r.r.hash);
    return r.fields;
  };
  for (const li of document.querySelectorAll(".certs li[data-record]")) {
    const f = use(li, "certificate");
    if (li.dataset.scheme !== f.scheme || li.dataset.number !== f.number || text(li.querySelector(".c-number")) !== f.number ||
        text(li.querySelector(".c-issuer")) !== f.issuer || text(li.querySelector(".c-from")) !== ddmmyyyy(f.valid_from) ||
        text(li.querySelector(".c-to")) !== ddmmyyyy(f.valid_to)) {
      throw new Failure("hashes", `the page shows certificate ${f.number} otherwise than it was signed`);
    }
    if (li.dataset.atLot !== certStatus(f, day)) throw new Failure("hashes", `the page misstates whether certificate ${f.number} was valid for this lot`);
    // Expired is never shown as current (a day's leeway for clocks).
    if ((li.dataset.today === "valid" && certStatus(f, yesterday) === "expired") ||
        !!li.querySelector(".badge.now") !== (li.dataset.atLot === "valid" && li.dataset.today === "expired")) {
      throw new Failure("hashes", `the page shows certificate ${f.number} as current; it has expired`);
    }
  }
  for (const a of document.querySelectorAll(".buy a")) {
    const f = use(a, "listing");
    if (a.getAttribute("href") !== f.url || a.textContent !== f.label || a.dataset.platform !== f.platform) {
      throw new Failure("hashes", "the page shows a place to buy otherwise than it was signed");
    }
  }
  if (seen.size !== registry.length) throw new Failure("hashes", "the page leaves out a certificate or a place to buy the history carries");
}

function checkPage(h, lang, facts, product, coop, signedCerts, signedPhotos) {
  const unsigned = new Set(h.unsigned || []);
  const f = facts ? facts.data || {} : null;
  const plot = f && f.plot ? { name: f.plot, lat: f.plot_lat, lon: f.plot_lon } : null;
  // Each fact the page may show: where its signed value comes from, the
  // history fields that say it is unsigned, and the check of the element.
  const facts_ = {
    product: [product, ["product.name_vi", "product.name_en"], (el) =>
      el.textContent === (lang === "vi" ? product.fields.name_vi : product.fields["name_" + lang] || product.fields.name_vi)],
    ocop: [product, ["product.ocop_stars"], (el) =>
      el.dataset.stars === product.fields.ocop_stars && el.textContent === "★".repeat(Number(product.fields.ocop_stars))],
    cooperative: [coop, ["cooperative.name"], (el) => el.textContent === coop.fields.name],
    province: [coop, ["cooperative.province"], (el) => el.textContent === coop.fields.province],
    lot: [f, ["batch.lot"], (el) => el.textContent === f.lot],
    quantity: [f, ["batch.quantity"], (el) => sameQuantity(el, facts.quantity, lang)],
    harvest_date: [f && facts.ilmd && facts.ilmd.harvestDate, ["batch.harvest_date"], (el) => el.textContent === ddmmyyyy(facts.ilmd.harvestDate)],
    description: [product, [], (el) =>
      el.textContent === (product.fields["description_" + lang] || product.fields.description_vi)],
    phone: [coop, [], (el) => el.getAttribute("href") === "tel:" + coop.fields.phone && el.textContent.endsWith(" " + coop.fields.phone)],
    zalo: [coop, [], (el) => {
      const z = coop.fields.zalo || "";
      return el.getAttribute("href") === "https://zalo.me/" + (z.startsWith("+84") ? "0" + z.slice(3) : z) && el.textContent.endsWith(" " + z);
    }],
    address: [coop, [], (el) => el.textContent.startsWith(coop.fields.address || "") && el.textContent.endsWith(coop.fields.province)],
    plot: [plot, ["batch.plot"], (el) => {
      // A plot whose position is not known has no map link.
      const osm = document.querySelector(".farm a.osm");
      if (plot.lat === undefined || plot.lon === undefined) return el.textContent === plot.name && !osm;
      return el.textContent === plot.name && !!osm &&
        osm.getAttribute("href") === `https://www.openstreetmap.org/?mlat=${plot.lat}&mlon=${plot.lon}#map=16/${plot.lat}/${plot.lon}`;
    }],
  };
  let marked = 0;
  for (const el of document.querySelectorAll("[data-bind]")) {
    const spec = facts_[el.dataset.bind];
    if (!spec) throw new Failure("hashes", `the page shows an unknown fact (${el.dataset.bind})`);
    const [source, fields, check] = spec;
    if (el.dataset.signed === "false") {
      // Shown as the server's word: the history must say no signature covers it.
      if (!fields.some((x) => unsigned.has(x))) throw new Failure("hashes", `the page marks ${el.dataset.bind} as unsigned, but the history does not`);
      marked++;
      continue;
    }
    if (!source) throw new Failure("hashes", `the page shows ${el.dataset.bind} as signed, but no signature covers it`);
    if (!check(el)) throw new Failure("hashes", `the page shows a ${el.dataset.bind} other than the signed one`);
  }
  if (marked > 0 && !document.getElementById("unsigned")) throw new Failure("hashes", "the page does not say which facts are unsigned");
  // What the page must show, signed or marked: the product and the lot.
  for (const k of ["product", "lot", "quantity"]) {
    if (!document.querySelector(`[data-bind="${k}"]`)) throw new Failure("hashes", `the page does not show the ${k}`);
  }
  // The scanned label names this lot.
  const label = labelLot();
  if (label && f && (label.lot !== f.lot || (f.gtin && label.gtin !== f.gtin))) {
    throw new Failure("hashes", "the label names another lot than the signed one");
  }
  for (const li of document.querySelectorAll(".certs li:not([data-record])")) {
    if (!signedCerts.has(li.dataset.scheme + " " + li.dataset.id)) throw new Failure("hashes", "the page shows a certificate that was not signed");
  }
  for (const img of document.querySelectorAll(".photos img, img.hero")) {
    if (!signedPhotos.has(img.dataset.sha256) || !img.getAttribute("src").startsWith("/attachments/" + img.dataset.sha256 + "?")) {
      throw new Failure("hashes", "the page shows a photo that was not signed");
    }
  }
}

async function verifyHistory(h, batchID, vkey, origin) {
  if (!h.batch || h.batch.id !== batchID) throw new Failure("links", "the history is for another batch");
  const lang = root.lang;
  const keys = new Set(h.cooperative.public_keys || []);
  // An inspection is signed by the inspector who made it; the chain is
  // still the cooperative's.
  const inspectorOf = new Map();
  for (const ins of h.inspectors || []) {
    for (const k of ins.public_keys || []) if (!keys.has(k)) inspectorOf.set(k, ins.id);
  }
  let prev = null;
  const checked = [];
  let facts = null;
  const signedCerts = new Set(), signedPhotos = new Set();
  // Each step as readers show it: the newest correction of it in its
  // place (trace.EffectiveEvents does the same on the server).
  const shown = [], byHash = new Map();
  for (let i = 0; i < h.events.length; i++) {
    const ev = h.events[i];
    const body = b64(ev.canonical);
    const hash = await sha256(body);
    if (hex(hash) !== ev.hash) throw new Failure("hashes", `event ${i}: hash does not match its bytes`);
    const c = parseJSON(body, `event ${i}`);
    if (c.v !== 1 || c.seq !== i || c.batch !== batchID) throw new Failure("links", `event ${i}: out of order or from another batch`);
    if ((prev === null && "prev" in c) || (prev !== null && c.prev !== prev)) throw new Failure("links", `event ${i}: does not link to the event before it`);
    // What the JSON says must be what was signed.
    if ((ev.note || "") !== (c.note || "") || ev.biz_step !== c.bizStep || ev.event_time !== c.eventTime) {
      throw new Failure("hashes", `event ${i}: the readable record differs from the signed one`);
    }
    const owner = keys.has(ev.signer) ? "cooperative" : inspectorOf.has(ev.signer) ? "inspector:" + inspectorOf.get(ev.signer) : null;
    if (owner === null) throw new Failure("signatures", `event ${i}: signed by a key that is neither the cooperative's nor an inspector's`);
    const sig = b64(ev.signature), signer = b64(ev.signer);
    if (!(await ed25519Verify(signer, sig, body))) throw new Failure("signatures", `event ${i}: bad signature`);
    const isFacts = c.type === "ObjectEvent" && c.bizStep === FACTS_STEP && c.data && c.data.product && c.data.lot;
    if (isFacts && owner === "cooperative") facts = c;
    for (const ce of c.certifications || []) signedCerts.add(ce.scheme + " " + ce.id);
    for (const a of c.attachments || []) signedPhotos.add(a.sha256);
    checked.push({ what: `event ${ev.seq}`, rec: ev, hash, sig, signer });
    prev = hex(hash);
    const item = { c, ev, owner };
    const target = c.data && c.data.corrects;
    const orig = target && byHash.get(target);
    // A correction stands in for the step only when the same key signed
    // both: a cooperative cannot replace an inspector's verdict.
    if (orig && c.type !== "TransformationEvent" && c.type === orig.orig.c.type && c.action === orig.orig.c.action &&
        c.bizStep === orig.orig.c.bizStep && ev.signer === orig.orig.ev.signer) {
      orig.corrections.push(item);
      orig.shown = item;
      continue;
    }
    const eff = { orig: item, shown: item, corrections: [] };
    shown.push(eff);
    if (!target && !isFacts) byHash.set(ev.hash, eff);
  }
  // The page shows every step, as it stands, and who signed it.
  const items = document.querySelectorAll(".timeline > li[data-hash]");
  if (items.length !== shown.length) throw new Failure("hashes", "the page does not show every signed step");
  shown.forEach((eff, i) => {
    const li = items[i], { c, ev, owner } = eff.shown;
    const day = c.eventTime.slice(0, 10).split("-").reverse().join("/");
    if (li.dataset.hash !== eff.orig.ev.hash || li.dataset.shown !== ev.hash || li.dataset.step !== c.bizStep ||
        !text(li.querySelector(".when")).startsWith(day) || text(li.querySelector(".note")) !== (c.note || "")) {
      throw new Failure("hashes", `step ${i}: the page shows something other than what was signed`);
    }
    const qty = li.querySelector(".qty");
    if ((qty || c.quantity) && !sameQuantity(qty, c.quantity, lang)) throw new Failure("hashes", `step ${i}: the page shows another quantity than the signed one`);
    const override = (c.data || {}).interval_override_reason, o = li.querySelector(".override .o-reason");
    if (override === undefined ? !!o : text(o) !== override) throw new Failure("hashes", `step ${i}: the page says otherwise than was signed about the pre-harvest interval`);
    for (const p of li.querySelectorAll(".data")) {
      const v = (c.data || {})[p.dataset.k];
      if (v === undefined || p.dataset.v !== v || !p.textContent.endsWith(": " + v)) throw new Failure("hashes", `step ${i}: the page shows a detail that was not signed`);
    }
    if ((li.querySelector(".by") || { dataset: {} }).dataset.by !== owner) {
      throw new Failure("signatures", `step ${i}: the page names someone other than who signed it`);
    }
    const fixes = li.querySelectorAll(".corrections li");
    if (fixes.length !== eff.corrections.length) throw new Failure("hashes", `step ${i}: the page hides a correction`);
    eff.corrections.forEach((fix, j) => {
      const d = fix.c.data;
      if (fixes[j].dataset.hash !== fix.ev.hash || text(fixes[j].querySelector(".c-reason")) !== d.correction_reason ||
          text(fixes[j].querySelector(".c-date")) !== ddmmyyyy((d.corrected_at || "").slice(0, 10))) {
        throw new Failure("hashes", `step ${i}: the page says the correction otherwise than it was signed`);
      }
    });
  });
  const product = await openRecord(h.product_record, "product", h.product.id, h.cooperative.id, keys);
  const coop = await openRecord(h.cooperative_record, "cooperative", h.cooperative.id, h.cooperative.id, keys);
  if (product && facts && facts.data.product !== h.product.id) throw new Failure("links", "the lot's signed facts name another product");
  if (product) for (const sum of (product.fields.photos || "").split(" ")) if (sum) signedPhotos.add(sum);
  const registry = [];
  for (const [i, r] of (h.registry_records || []).entries()) {
    const kind = r && (r.kind === "certificate" || r.kind === "listing") ? r.kind : null;
    if (!kind) throw new Failure("links", `registry record ${i}: a lot's page shows certificates and places to buy only`);
    const o = await openRecord(r, kind, null, h.cooperative.id, keys);
    if (o.fields.removed) throw new Failure("links", `registry record ${i}: it was removed from the registry`);
    o.kind = kind;
    registry.push(o);
  }
  for (const r of [product, coop, ...registry]) if (r) checked.push({ what: `${r.r.kind} record`, rec: r.r, hash: r.hash, sig: r.sig, signer: r.signer });
  mark("hashes"); mark("links"); mark("signatures");
  checkPage(h, lang, facts, product, coop, signedCerts, signedPhotos);
  checkRegistry(h, facts, registry);
  // The log signs a checkpoint within about a second of an event.
  if (!h.checkpoint) return { cp: null, missing: checked.length };
  const cp = await openCheckpoint(h.checkpoint, vkey, origin);
  mark("checkpoint");
  let missing = 0;
  for (const { what, rec, hash, sig, signer } of checked) {
    const entry = await sha256(enc.encode("truyxuat log entry v1\n"), hash, sig, signer);
    if (rec.log_entry !== undefined && !same(entry, b64(rec.log_entry))) throw new Failure("log", `${what}: log entry does not match`);
    if (!rec.inclusion_proof) { missing++; continue; }
    const leaf = await sha256(new Uint8Array([0]), entry);
    const r = await rootFromProof(rec.log_index, cp.size, leaf, rec.inclusion_proof.map(b64));
    if (!same(r, cp.root)) throw new Failure("log", `${what}: not in the log`);
  }
  return { cp, missing };
}

function mark(check, ok = true) {
  const li = box.querySelector(`[data-check="${check}"]`);
  if (li) li.className = ok ? "ok" : "bad";
}

function show(state, title, detail) {
  // When the check ended, in milliseconds since the page was asked for:
  // what a shopper waits (the benchmarks read it).
  root.dataset.checkedAt = String(Math.round(performance.now()));
  root.dataset.verification = state;
  document.getElementById("v-state").textContent = title;
  document.getElementById("v-detail").textContent = detail;
}

async function run() {
  const d = box.dataset;
  if (!window.crypto || !crypto.subtle) {
    // Not a secure context: this browser cannot check; say what the server found.
    document.getElementById("v-state").textContent = document.getElementById("v-state").dataset.server;
    return;
  }
  for (let attempt = 0; ; attempt++) {
    try {
      // The history the page was rendered from travels inside it; a
      // later attempt (events newer than the checkpoint) reads it anew.
      const inline = document.getElementById("history-data");
      let h;
      if (attempt === 0 && inline) {
        try { h = JSON.parse(inline.textContent); } catch (_) { throw new Failure("hashes", "the history in the page is not valid"); }
      } else {
        const res = await fetch(d.json, { headers: { Accept: "application/json" }, cache: "no-store" });
        if (!res.ok) throw new Failure("hashes", `the history could not be read (${res.status})`);
        h = await res.json();
      }
      const { cp, missing } = await verifyHistory(h, d.batch, d.logKey, d.origin);
      if (missing > 0 && attempt < 4) {
        // Events newer than the last checkpoint: the log signs one within about a second.
        await new Promise((r) => setTimeout(r, 1500));
        continue;
      }
      if (!cp) throw new Failure("checkpoint", "the log has no checkpoint yet");
      if (missing > 0) throw new Failure("log", `${missing} event(s) not yet in the log`);
      mark("log");
      document.getElementById("v-log").textContent =
        `${d.msgSize}: ${cp.size} · ${d.msgWitnesses}: ${cp.witnesses.length ? cp.witnesses.join(", ") : d.msgNone}`;
      show("verified", d.msgOk, document.querySelector('[data-signed="false"]') ? d.msgOkPartial : d.msgOkDetail);
    } catch (e) {
      if (e instanceof Failure) mark(e.check, false);
      show("failed", d.msgFailed, `${d.msgFailedDetail} (${e.message})`);
    }
    return;
  }
}

run();
