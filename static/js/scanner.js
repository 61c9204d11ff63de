// Door scanner: camera + QR detection on top of a page that already works as a typed-code form.
// Uses the browser's BarcodeDetector when it reads QR codes, else the npm `barcode-detector`
// ponyfill (zxing-wasm), whose .wasm is served from our own static files.
//
// Online, each code goes to the server. When the network is gone (or does not answer within a
// few seconds) the page decides itself from the bundle it downloaded (door-offline.js), shows
// the verdict at once and queues the scan in IndexedDB; back online it syncs the queue (the
// server is idempotent by client scan id) and downloads a fresh bundle.

import { OfflineGate, decodePayload } from "./door-offline.js";

const root = document.getElementById("scanner");
const cfg = root.dataset;
const video = document.getElementById("camera");
const cameraBox = root.querySelector(".camera");
const startButton = document.getElementById("start-camera");
const stopButton = document.getElementById("stop-camera");
const torchButton = document.getElementById("torch");
const cameraError = document.getElementById("camera-error");
const result = document.getElementById("result");
const history = document.getElementById("history");
const typedForm = document.getElementById("typed-form");
const connection = document.getElementById("connection");
const queueStatus = document.getElementById("queue-status");
const counters = {
  admitted: document.getElementById("admitted"),
  expected: document.getElementById("expected"),
  inside: document.getElementById("inside"),
};
const csrf = typedForm.querySelector("[name=csrfmiddlewaretoken]").value;
const deviceId = localStorage.getItem("bo-device") || crypto.randomUUID();
localStorage.setItem("bo-device", deviceId);
const ONLINE_TIMEOUT_MS = 4000;

let stream = null;
let detector = null;
let busy = false;
let lastPayload = "";
let lastAt = 0;
let typedLast = false;
let gate = null; // OfflineGate, once a bundle is known
let queue = []; // scans made offline, oldest first
let online = navigator.onLine;
let syncing = false;

// --- Storage: one IndexedDB store, keyed per list (and per member/link) ---------------------
const dbReady = new Promise((resolve, reject) => {
  const open = indexedDB.open("boxoffice-door", 1);
  open.onupgradeneeded = () => open.result.createObjectStore("kv");
  open.onsuccess = () => resolve(open.result);
  open.onerror = () => reject(open.error);
});
async function load(name) {
  const db = await dbReady;
  return new Promise((resolve, reject) => {
    const req = db.transaction("kv").objectStore("kv").get(`${cfg.storeKey}:${name}`);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}
async function save(name, value) {
  const db = await dbReady;
  return new Promise((resolve, reject) => {
    const tx = db.transaction("kv", "readwrite");
    tx.objectStore("kv").put(value, `${cfg.storeKey}:${name}`);
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
  });
}

// --- Status line -------------------------------------------------------------------------------
function setOnline(value) {
  online = value;
  connection.classList.toggle("offline", !online);
  connection.querySelector(".label").textContent = online ? gettext("Online") : gettext("Offline");
  renderQueue();
}
function renderQueue() {
  queueStatus.textContent = queue.length
    ? "· " + interpolate(ngettext("%(count)s scan waiting to sync", "%(count)s scans waiting to sync", queue.length), { count: queue.length }, true)
    : "";
}
function renderCounts(counts) {
  if (!counts) return;
  counters.admitted.textContent = counts.admitted;
  counters.expected.textContent = counts.expected;
  if (counters.inside && counts.inside !== undefined) counters.inside.textContent = counts.inside;
}
function localCounts() {
  if (!gate) return null;
  const pending = queue.filter((s) => s.local_result === "admitted" && !s.readmission).length;
  return gate.counts(pending);
}

// --- Network -------------------------------------------------------------------------------------
async function request(url, options = {}) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), ONLINE_TIMEOUT_MS);
  try {
    return await fetch(url, {
      credentials: "same-origin",
      ...options,
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, ...(options.headers || {}) },
      signal: controller.signal,
    });
  } finally {
    clearTimeout(timer);
  }
}

async function refreshBundle() {
  const response = await request(cfg.bundleUrl);
  if (!response.ok) return;
  const bundle = await response.json();
  await save("bundle", bundle);
  useBundle(bundle);
  renderCounts(bundle.counts);
}

function useBundle(bundle) {
  gate = new OfflineGate(bundle);
  for (const scan of queue) gate.apply(scan, scan.ticket_id);
}

async function sync() {
  if (syncing || revoked || !queue.length) return;
  syncing = true;
  try {
    const batch = queue.slice(0, 500);
    const response = await request(cfg.syncUrl, {
      method: "POST",
      body: JSON.stringify({ device_id: deviceId, scans: batch.map(({ ticket_id, readmission, ...scan }) => scan) }),
    });
    if (checkRevoked(response) || !response.ok) return;
    const data = await response.json();
    const done = new Set([...data.results, ...data.invalid].map((r) => r.client_scan_id));
    const conflicts = data.results.filter((r) => r.conflict).length;
    queue = queue.filter((s) => !done.has(s.client_scan_id));
    await save("queue", queue);
    setOnline(true);
    renderCounts(data.counts);
    const synced = interpolate(ngettext("Synced %(count)s offline scan", "Synced %(count)s offline scans", done.size), { count: done.size }, true);
    const flagged = conflicts
      ? interpolate(ngettext("%(count)s conflict flagged for the organizer", "%(count)s conflicts flagged for the organizer", conflicts), { count: conflicts }, true)
      : "";
    note(flagged ? `${synced}, ${flagged}` : synced);
    await refreshBundle();
  } catch (_) {
    setOnline(false);
  } finally {
    syncing = false;
  }
}

// The organizer revoked this device link (410): say so and stop calling the server.
let revoked = false;
function checkRevoked(response) {
  if (response.status !== 410) return false;
  revoked = true;
  connection.classList.add("offline");
  connection.querySelector(".label").textContent = gettext("This scanner link was revoked");
  return true;
}

function refreshCounts() {
  request(cfg.statsUrl)
    .then((response) => (response.ok ? response.json() : null))
    .then(renderCounts)
    .catch(() => null);
}

async function heartbeat() {
  if (revoked) return;
  if (!navigator.onLine) {
    setOnline(false);
    return;
  }
  if (queue.length) await sync();
  try {
    const response = await request(cfg.statsUrl);
    if (checkRevoked(response)) return;
    if (response.ok) {
      setOnline(true);
      renderCounts(await response.json());
      if (queue.length) await sync();
    }
  } catch (_) {
    setOnline(false);
    renderCounts(localCounts());
  }
}

// --- Verdicts ------------------------------------------------------------------------------------
function note(text) {
  const item = document.createElement("li");
  item.className = "note";
  item.textContent = `${clockTime()} — ${text}`;
  history.prepend(item);
}

function feedback(kind) {
  if (navigator.vibrate) navigator.vibrate(kind === "ok" ? 80 : [60, 60, 60]);
  try {
    const ctx = new AudioContext();
    const osc = ctx.createOscillator();
    osc.frequency.value = kind === "ok" ? 880 : kind === "used" ? 440 : 220;
    osc.connect(ctx.destination);
    osc.start();
    osc.stop(ctx.currentTime + 0.15);
  } catch (_) { /* sound is a nicety */ }
}

function verdictText(data) {
  if (data.valid) return data.direction === "out" ? gettext("Exit") : gettext("Admitted");
  return data.already_used ? gettext("Already used") : gettext("Invalid");
}

function clockTime() {
  // A door page opened offline from a cache filled before ui.js was in it has no clockTime;
  // the verdict must show all the same.
  return window.clockTime ? window.clockTime(new Date()) : new Date().toLocaleTimeString();
}

function show(data) {
  const kind = data.valid ? "ok" : data.already_used ? "used" : "bad";
  result.className = `scan-result ${kind}`;
  result.querySelector(".verdict").textContent = verdictText(data);
  const who = [data.attendee_name, data.tier, data.seat ? interpolate(gettext("Seat %(seat)s"), { seat: data.seat }, true) : ""].filter(Boolean).join(" · ");
  result.querySelector(".detail").textContent = data.valid
    ? who
    : [data.message, who].filter(Boolean).join(" — ");
  result.querySelector(".reason").textContent =
    (data.valid ? "" : data.reason || "") + (data.offline ? " " + gettext("(offline)") : "");
  result.hidden = false;
  feedback(kind);
  const item = document.createElement("li");
  item.className = kind;
  item.textContent = `${clockTime()} — ${verdictText(data)}` +
    (data.attendee_name ? ` — ${data.attendee_name}` : "") + (data.offline ? " " + gettext("(offline)") : "");
  history.prepend(item);
  while (history.children.length > 15) history.lastChild.remove();
}

async function decideOffline(payload, direction) {
  if (!gate) {
    return { valid: false, reason: "no_bundle", message: gettext("Offline, and no ticket data downloaded yet."), offline: true };
  }
  const now = new Date().toISOString();
  const claim = decodePayload(payload);
  const known = claim ? gate.state.has(claim.ticketId) : false;
  const data = await gate.check(payload, direction, now);
  const scan = {
    client_scan_id: crypto.randomUUID(),
    payload,
    scanned_at: now,
    direction,
    local_result: data.valid ? (direction === "out" ? "exited" : "admitted") : data.already_used ? "already_used" : "rejected",
    ticket_id: data.ticket_id,
    readmission: known,
  };
  queue.push(scan);
  await save("queue", queue);
  renderQueue();
  renderCounts(localCounts());
  return data;
}

async function check(payload, direction = currentDirection()) {
  const now = Date.now();
  if (busy || (payload === lastPayload && now - lastAt < 3000)) return;
  busy = true;
  lastPayload = payload;
  lastAt = now;
  try {
    let data = null;
    if (navigator.onLine) {
      try {
        const response = await request(cfg.scanUrl, {
          method: "POST",
          body: JSON.stringify({ payload, device_id: deviceId, direction }),
        });
        if (response.status < 500) {
          checkRevoked(response);
          data = await response.json();
          if (data.error) data = { valid: false, reason: data.error.code, message: data.error.message };
          setOnline(true);
          refreshCounts();
          if (gate && data.ticket_id && data.valid) gate.apply({ local_result: data.direction === "out" ? "exited" : "admitted", scanned_at: new Date().toISOString() }, data.ticket_id);
        }
      } catch (_) {
        setOnline(false);
      }
    } else {
      setOnline(false);
    }
    show(data || (await decideOffline(payload, direction)));
  } finally {
    busy = false;
  }
}

function currentDirection() {
  const checked = typedForm.querySelector("[name=direction]:checked");
  return checked ? checked.value : "in";
}

// --- Camera --------------------------------------------------------------------------------------
async function makeDetector() {
  if ("BarcodeDetector" in window) {
    const formats = await window.BarcodeDetector.getSupportedFormats();
    if (formats.includes("qr_code")) return new window.BarcodeDetector({ formats: ["qr_code"] });
  }
  const ponyfill = await import(cfg.polyfillUrl);
  ponyfill.setZXingModuleOverrides({
    locateFile: (path, prefix) => (path.endsWith(".wasm") ? cfg.wasmUrl : prefix + path),
  });
  return new ponyfill.BarcodeDetector({ formats: ["qr_code"] });
}

async function loop() {
  if (!stream) return;
  // While a verdict is on screen the camera rests: the ticket is usually still in front of it,
  // and reading it again would turn "Admitted" into "Already used" before anyone is let in.
  if (!busy && result.hidden && video.readyState >= 2) {
    try {
      const codes = await detector.detect(video);
      if (codes.length) await check(codes[0].rawValue);
    } catch (_) { /* a frame that cannot be read */ }
  }
  setTimeout(loop, 150);
}

async function startCamera() {
  cameraError.textContent = "";
  try {
    detector = detector || (await makeDetector());
    stream = await navigator.mediaDevices.getUserMedia({
      video: { facingMode: "environment" }, audio: false,
    });
  } catch (error) {
    cameraError.textContent = interpolate(gettext("Camera unavailable (%(error)s). Type the code instead."), { error: error.name || error }, true);
    return;
  }
  video.srcObject = stream;
  await video.play();
  cameraBox.hidden = false;
  startButton.hidden = true;
  const track = stream.getVideoTracks()[0];
  const caps = track.getCapabilities ? track.getCapabilities() : {};
  torchButton.hidden = !caps.torch;
  loop();
}

function stopCamera() {
  if (stream) stream.getTracks().forEach((t) => t.stop());
  stream = null;
  cameraBox.hidden = true;
  startButton.hidden = false;
}

torchButton.addEventListener("click", async () => {
  const track = stream && stream.getVideoTracks()[0];
  if (!track) return;
  const on = torchButton.getAttribute("aria-pressed") !== "true";
  await track.applyConstraints({ advanced: [{ torch: on }] });
  torchButton.setAttribute("aria-pressed", String(on));
});
startButton.addEventListener("click", startCamera);
stopButton.addEventListener("click", stopCamera);
document.getElementById("dismiss").addEventListener("click", () => {
  result.hidden = true;
  if (typedLast) typedForm.elements.payload.focus();
  typedLast = false;
  lastAt = Date.now(); // a few seconds to take the ticket just checked out of view
});
typedForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const input = typedForm.elements.payload;
  lastPayload = "";
  // Focus returns on "Next ticket", so the phone keyboard does not cover the verdict.
  check(input.value.trim()).then(() => { input.value = ""; typedLast = true; });
});

if (navigator.mediaDevices && navigator.mediaDevices.getUserMedia) {
  startButton.hidden = false;
}

// --- Offline readiness: service worker, cached page and assets, bundle, queue ---------------
async function prepareOffline() {
  if ("serviceWorker" in navigator && navigator.onLine) {
    try {
      await navigator.serviceWorker.register(cfg.swUrl, { scope: "/door/" });
      // The page caches itself and what it needs, so a reload without network still works.
      const cache = await caches.open("door-v1");
      const urls = [location.pathname + location.search, ...cfg.precache.split(/\s+/).filter(Boolean)];
      await Promise.all(urls.map((url) => cache.add(url).catch(() => null)));
    } catch (_) { /* the page still works online without it */ }
  }
  queue = (await load("queue")) || [];
  const stored = await load("bundle");
  if (stored) useBundle(stored);
  renderQueue();
  if (navigator.onLine) {
    try {
      await refreshBundle();
      await sync();
    } catch (_) {
      setOnline(false);
    }
  } else {
    setOnline(false);
    renderCounts(localCounts());
  }
  root.dataset.ready = "1"; // tests wait for this before going offline
}

window.addEventListener("online", () => { setOnline(true); heartbeat(); });
window.addEventListener("offline", () => setOnline(false));
setInterval(heartbeat, 5000);
prepareOffline();
