// Seat map enhancement: the seat list (checkboxes) is the form; the SVG drives it.
// Live states every second (ETag; the server caches states for a second), a message when a chosen seat goes, zoom buttons.
(function () {
  "use strict";
  const form = document.getElementById("seat-form");
  const svg = document.getElementById("seatmap");
  if (!form || !svg) return;
  const message = document.getElementById("seat-message");
  const count = document.getElementById("seat-count");
  const seats = Array.from(svg.querySelectorAll("g.seat"));
  const boxes = new Map();
  form.querySelectorAll('input[name="seat"]').forEach((box) => boxes.set(box.dataset.index, box));
  const names = { a: "available", h: "held", s: "sold", b: "not for sale" };
  let etag = null;
  let zoom = 1;

  function say(text) {
    message.innerHTML = "";
    const p = document.createElement("p");
    p.className = "message error";
    p.textContent = text;
    message.appendChild(p);
  }

  function refreshCount() {
    const chosen = seats.filter((g) => g.classList.contains("selected"));
    count.textContent = chosen.length ? chosen.length + " chosen: " + chosen.map((g) => g.dataset.label).join(", ") : "";
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

  svg.addEventListener("click", (e) => {
    const g = e.target.closest("g.seat");
    if (g) toggle(g);
  });
  svg.addEventListener("keydown", (e) => {
    const g = e.target.closest("g.seat");
    if (g && (e.key === " " || e.key === "Enter")) {
      e.preventDefault();
      toggle(g);
    }
  });
  boxes.forEach((box, index) => {
    box.addEventListener("change", () => {
      const g = seats[Number(index)];
      g.classList.toggle("selected", box.checked);
      g.setAttribute("aria-checked", box.checked ? "true" : "false");
      refreshCount();
    });
  });

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
      if (free) g.setAttribute("tabindex", "0");
      else g.removeAttribute("tabindex");
      g.setAttribute("aria-label", g.getAttribute("aria-label").replace(/[^,]+$/, " " + names[state]));
      if (!free && wasChosen) {
        g.classList.remove("selected");
        g.setAttribute("aria-checked", "false");
        if (box) box.checked = false;
        lost.push(g.dataset.label);
      }
    });
    if (lost.length) say("Someone just took " + lost.join(", ") + ". Your other seats are still selected.");
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

  const tools = form.querySelector(".seatmap-tools");
  tools.hidden = false;
  const width = Number(svg.getAttribute("width"));
  const height = Number(svg.getAttribute("height"));
  tools.addEventListener("click", (e) => {
    const button = e.target.closest("button[data-zoom]");
    if (!button) return;
    zoom = Math.min(3, Math.max(0.4, zoom * (button.dataset.zoom === "in" ? 1.25 : 0.8)));
    svg.setAttribute("width", String(Math.round(width * zoom)));
    svg.setAttribute("height", String(Math.round(height * zoom)));
  });
  refreshCount();
  setTimeout(poll, 1000);
})();
