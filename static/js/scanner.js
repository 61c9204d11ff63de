// Door scanner: camera + QR detection on top of a page that already works as a typed-code form.
// Uses the browser's BarcodeDetector when it reads QR codes, else the npm `barcode-detector`
// ponyfill (zxing-wasm), whose .wasm is served from our own static files.

const root = document.getElementById("scanner");
const video = document.getElementById("camera");
const cameraBox = root.querySelector(".camera");
const startButton = document.getElementById("start-camera");
const stopButton = document.getElementById("stop-camera");
const torchButton = document.getElementById("torch");
const cameraError = document.getElementById("camera-error");
const result = document.getElementById("result");
const history = document.getElementById("history");
const typedForm = document.getElementById("typed-form");
const csrf = typedForm.querySelector("[name=csrfmiddlewaretoken]").value;
const deviceId = localStorage.getItem("bo-device") || crypto.randomUUID();
localStorage.setItem("bo-device", deviceId);

let stream = null;
let detector = null;
let busy = false;
let lastPayload = "";
let lastAt = 0;
let typedLast = false;

async function makeDetector() {
  if ("BarcodeDetector" in window) {
    const formats = await window.BarcodeDetector.getSupportedFormats();
    if (formats.includes("qr_code")) return new window.BarcodeDetector({ formats: ["qr_code"] });
  }
  const ponyfill = await import(root.dataset.polyfillUrl);
  ponyfill.setZXingModuleOverrides({
    locateFile: (path, prefix) => (path.endsWith(".wasm") ? root.dataset.wasmUrl : prefix + path),
  });
  return new ponyfill.BarcodeDetector({ formats: ["qr_code"] });
}

function feedback(kind) {
  if (navigator.vibrate) navigator.vibrate(kind === "ok" ? 80 : [60, 60, 60]);
  try {
    const ctx = new AudioContext();
    const osc = ctx.createOscillator();
    osc.frequency.value = kind === "ok" ? 880 : 220;
    osc.connect(ctx.destination);
    osc.start();
    osc.stop(ctx.currentTime + 0.15);
  } catch (_) { /* sound is a nicety */ }
}

function show(data) {
  const kind = data.valid ? "ok" : data.already_used ? "used" : "bad";
  result.className = `scan-result ${kind}`;
  result.querySelector(".verdict").textContent =
    data.valid ? "Admitted" : data.already_used ? "Already used" : "Invalid";
  const who = data.attendee_name ? `${data.attendee_name} · ${data.tier}` : "";
  result.querySelector(".detail").textContent = data.valid
    ? who
    : [data.message, who].filter(Boolean).join(" — ");
  result.hidden = false;
  feedback(kind);
  const item = document.createElement("li");
  item.className = kind;
  item.textContent = `${new Date().toLocaleTimeString()} — ${result.querySelector(".verdict").textContent}` +
    (data.attendee_name ? ` — ${data.attendee_name}` : "");
  history.prepend(item);
  while (history.children.length > 10) history.lastChild.remove();
}

async function check(payload) {
  const now = Date.now();
  if (busy || (payload === lastPayload && now - lastAt < 3000)) return;
  busy = true;
  lastPayload = payload;
  lastAt = now;
  try {
    const response = await fetch(root.dataset.scanUrl, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify({ payload, device_id: deviceId }),
      credentials: "same-origin",
    });
    const data = await response.json();
    show(data.error ? { valid: false, message: data.error.message } : data);
  } catch (_) {
    show({ valid: false, message: "No connection — try again." });
  } finally {
    busy = false;
  }
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
    cameraError.textContent = `Camera unavailable (${error.name || error}). Type the code instead.`;
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
