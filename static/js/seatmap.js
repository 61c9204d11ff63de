// Seat map enhancement: the seat list (checkboxes) is the form; the SVG drives it.
// One tab stop into the map (roving tabindex), arrow keys between seats, Space/Enter to choose.
// The whole hall fits the screen; where seats would be smaller than a 24 px target, a tap (or
// focus) zooms into that part first. Pinch, Ctrl+wheel and the buttons zoom too.
// Live states every second (ETag; the server caches states for a second).
(function () {
  "use strict";
  const form = document.getElementById("seat-form");
  const svg = document.getElementById("seatmap");
  const viewport = document.getElementById("seatmap-viewport");
  if (!form || !svg || !viewport) return;
  const message = document.getElementById("seat-message");
  const count = document.getElementById("seat-count");
  const seats = Array.from(svg.querySelectorAll("g.seat"));
  const boxes = new Map();
  form.querySelectorAll('input[name="seat"]').forEach((box) => boxes.set(box.dataset.index, box));
  // The words the server puts at the end of each seat's label (ticketing.selectors.STATE_WORDS).
  const names = { a: gettext("available"), h: gettext("held"), s: gettext("sold"), b: gettext("not for sale") };
  const view = svg.viewBox.baseVal;
  const pitch = Number(svg.dataset.pitch) || 30;
  const TARGET_PX = 28; // comfortably above WCAG 2.5.8's 24 px
  let etag = null;
  let scale = 0; // CSS px per SVG unit; 0 = fitted to the screen

  // --- Rows for arrow keys: seats grouped by their grid row, left to right -------------------
  const rows = new Map();
  seats.forEach((g) => {
    g.gridX = Number(g.dataset.x);
    g.gridY = Number(g.dataset.y);
    if (!rows.has(g.gridY)) rows.set(g.gridY, []);
    rows.get(g.gridY).push(g);
  });
  const rowKeys = Array.from(rows.keys()).sort((a, b) => a - b);
  rows.forEach((row) => row.sort((a, b) => a.gridX - b.gridX));

  function say(text) {
    message.replaceChildren();
    const p = document.createElement("p");
    p.className = "message error";
    p.textContent = text;
    message.appendChild(p);
  }

  function refreshCount() {
    const chosen = seats.filter((g) => g.classList.contains("selected"));
    count.textContent = chosen.length
      ? interpolate(gettext("%(count)s chosen: %(seats)s"), { count: chosen.length, seats: chosen.map((g) => g.dataset.label).join(", ") }, true)
      : "";
  }

  function toggle(g) {
    if (!g.classList.contains("s-a")) return;
    const on = !g.classList.contains("selected");
    g.classList.toggle("selected", on);
    g.setAttribute("aria-checked", on ? "true" : "false");
    const box = boxes.get(g.dataset.index);
    if (box) box.checked = on;
    refreshCount();
  }

  function moveFocus(g) {
    seats.forEach((s) => { if (s !== g && s.tabIndex === 0) s.tabIndex = -1; });
    g.tabIndex = 0;
    g.focus();
  }

  function neighbour(g, key) {
    const row = rows.get(g.gridY);
    const at = row.indexOf(g);
    if (key === "ArrowLeft") return row[Math.max(0, at - 1)];
    if (key === "ArrowRight") return row[Math.min(row.length - 1, at + 1)];
    if (key === "Home") return row[0];
    if (key === "End") return row[row.length - 1];
    const r = rowKeys.indexOf(g.gridY) + (key === "ArrowDown" ? 1 : -1);
    if (r < 0 || r >= rowKeys.length) return g;
    return rows.get(rowKeys[r]).reduce((best, s) => (Math.abs(s.gridX - g.gridX) < Math.abs(best.gridX - g.gridX) ? s : best));
  }

  svg.addEventListener("keydown", (e) => {
    const g = e.target.closest("g.seat");
    if (!g) return;
    if (e.key === " " || e.key === "Enter") {
      e.preventDefault();
      toggle(g);
    } else if (["ArrowLeft", "ArrowRight", "ArrowUp", "ArrowDown", "Home", "End"].includes(e.key)) {
      e.preventDefault();
      moveFocus(neighbour(g, e.key));
    }
  });

  svg.addEventListener("click", (e) => {
    if (viewport.classList.contains("overview")) {
      zoomAt(TARGET_PX / pitch, e.clientX, e.clientY);
      return;
    }
    const g = e.target.closest("g.seat");
    if (!g) return;
    toggle(g);
    moveFocus(g);
  });

  boxes.forEach((box, index) => {
    box.addEventListener("change", () => {
      const g = seats[Number(index)];
      g.classList.toggle("selected", box.checked);
      g.setAttribute("aria-checked", box.checked ? "true" : "false");
      refreshCount();
    });
  });

  // --- Zoom -------------------------------------------------------------------------------
  // The whole hall on screen; but when only the height makes seats too small to tap and the
  // width would not (a wide screen), fit the width and let the hall scroll up and down instead.
  function fitScale() {
    const height = Math.max(200, window.innerHeight * 0.75);
    const byWidth = viewport.clientWidth / view.width;
    const whole = Math.min(byWidth, height / view.height);
    if (whole * pitch < 24 && byWidth * pitch >= 24) return Math.min(byWidth, TARGET_PX / pitch);
    return whole;
  }

  function currentScale() {
    return scale || fitScale();
  }

  function updateMode() {
    viewport.classList.toggle("overview", currentScale() * pitch < 24);
  }

  function setScale(next) {
    const fit = fitScale();
    next = Math.min(Math.max(next, fit), 3);
    scale = next <= fit * 1.001 ? 0 : next;
    viewport.classList.toggle("zoomed", scale > 0);
    svg.style.width = Math.floor(view.width * (scale || fit)) + "px";
    updateMode();
  }

  // Where a screen point falls on the hall, as fractions of its width and height.
  function hallPoint(clientX, clientY) {
    const r = svg.getBoundingClientRect();
    return { fx: (clientX - r.left) / r.width, fy: (clientY - r.top) / r.height };
  }

  // Keep the point under the finger (or the pointer) where it was. A pinch passes the point
  // it started on: while the hall is still shorter than its box, the box grows with it and
  // cannot scroll, so a point re-measured on each step would drift away from the fingers.
  function zoomAt(next, clientX, clientY, anchor) {
    const { fx, fy } = anchor || hallPoint(clientX, clientY);
    setScale(next);
    const after = svg.getBoundingClientRect();
    viewport.scrollLeft += after.left + fx * after.width - clientX;
    viewport.scrollTop += after.top + fy * after.height - clientY;
  }

  function zoomToSeat(g) {
    if (currentScale() * pitch >= 24) {
      g.scrollIntoView({ block: "nearest", inline: "nearest" });
      return;
    }
    setScale(TARGET_PX / pitch);
    const r = svg.getBoundingClientRect();
    const x = ((g.gridX * pitch - view.x) / view.width) * r.width;
    const y = ((g.gridY * pitch - view.y) / view.height) * r.height;
    viewport.scrollLeft = x - viewport.clientWidth / 2;
    viewport.scrollTop = y - viewport.clientHeight / 2;
  }

  svg.addEventListener("focusin", (e) => {
    const g = e.target.closest("g.seat");
    if (g) zoomToSeat(g);
  });

  const tools = form.querySelector(".seatmap-tools");
  tools.hidden = false;
  tools.addEventListener("click", (e) => {
    const button = e.target.closest("button[data-zoom]");
    if (!button) return;
    const port = viewport.getBoundingClientRect();
    const cx = port.left + port.width / 2;
    const cy = port.top + port.height / 2;
    if (button.dataset.zoom === "fit") setScale(0);
    else zoomAt(currentScale() * (button.dataset.zoom === "in" ? 1.4 : 1 / 1.4), cx, cy);
  });

  viewport.addEventListener("wheel", (e) => {
    if (!e.ctrlKey) return; // plain wheel scrolls the page
    e.preventDefault();
    zoomAt(currentScale() * (e.deltaY < 0 ? 1.15 : 1 / 1.15), e.clientX, e.clientY);
  }, { passive: false });

  // Pinch: two pointers on the map; one finger still scrolls.
  const pointers = new Map();
  let pinch = null;
  viewport.addEventListener("pointerdown", (e) => {
    if (e.pointerType !== "touch") return;
    pointers.set(e.pointerId, e);
    if (pointers.size === 2) {
      const [a, b] = Array.from(pointers.values());
      pinch = {
        distance: Math.hypot(a.clientX - b.clientX, a.clientY - b.clientY),
        scale: currentScale(),
        anchor: hallPoint((a.clientX + b.clientX) / 2, (a.clientY + b.clientY) / 2),
      };
    }
  });
  viewport.addEventListener("pointermove", (e) => {
    if (!pointers.has(e.pointerId)) return;
    pointers.set(e.pointerId, e);
    if (!pinch || pointers.size !== 2) return;
    const [a, b] = Array.from(pointers.values());
    const distance = Math.hypot(a.clientX - b.clientX, a.clientY - b.clientY);
    zoomAt(
      pinch.scale * (distance / pinch.distance),
      (a.clientX + b.clientX) / 2,
      (a.clientY + b.clientY) / 2,
      pinch.anchor,
    );
  });
  const lift = (e) => { pointers.delete(e.pointerId); if (pointers.size < 2) pinch = null; };
  viewport.addEventListener("pointerup", lift);
  viewport.addEventListener("pointercancel", lift);
  window.addEventListener("resize", () => setScale(scale));

  // --- Live states --------------------------------------------------------------------------
  function apply(states) {
    const lost = [];
    seats.forEach((g, i) => {
      const state = states[i];
      if (!state || g.classList.contains("s-" + state)) return;
      const wasChosen = g.classList.contains("selected");
      g.classList.remove("s-a", "s-h", "s-s", "s-b");
      g.classList.add("s-" + state);
      const box = boxes.get(String(i));
      const free = state === "a";
      if (box) box.disabled = !free;
      g.setAttribute("aria-disabled", free ? "false" : "true");
      g.setAttribute("aria-label", g.getAttribute("aria-label").replace(/[^,]+$/, " " + names[state]));
      if (!free && wasChosen) {
        g.classList.remove("selected");
        g.setAttribute("aria-checked", "false");
        if (box) box.checked = false;
        lost.push(g.dataset.label);
      }
    });
    if (lost.length) {
      say(interpolate(gettext("Someone just took %(seats)s. Your other seats are still selected."), { seats: lost.join(", ") }, true));
    }
    refreshCount();
  }

  async function poll() {
    try {
      const response = await fetch(form.dataset.statesUrl, { headers: etag ? { "If-None-Match": etag } : {} });
      if (response.status === 200) {
        etag = response.headers.get("ETag");
        apply((await response.json()).states);
      }
    } catch (err) {
      // Offline for a moment: the next poll catches up.
    }
    setTimeout(poll, 1000);
  }

  setScale(0);
  refreshCount();
  setTimeout(poll, 1000);
})();
