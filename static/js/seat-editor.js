// Seat-map editor: drag on the layout to draw a block of seats (it fills the "Generate a block"
// form), or to pick many seats at once for a bulk change (zone, attributes, remove).
// Without JavaScript the forms below the picture do the same job.
(function () {
  "use strict";
  const preview = document.querySelector(".seat-preview");
  const svg = preview && preview.querySelector("svg.seat-svg");
  const tools = document.getElementById("board-tools");
  const blockForm = document.getElementById("block-form");
  const bulkForm = document.getElementById("bulk-form");
  if (!svg || !tools || !blockForm || !bulkForm) return;
  const NS = "http://www.w3.org/2000/svg";
  const unit = Number(svg.dataset.unit);
  const pad = Number(svg.dataset.pad);
  const minX = Number(svg.dataset.minX);
  const minY = Number(svg.dataset.minY);
  const status = document.getElementById("board-status");
  const picked = document.getElementById("picked-seats");
  const seats = Array.from(svg.querySelectorAll("g.seat"));
  let mode = "draw";
  let start = null;
  let box = null;

  // Room to draw beside and below the layout: the picture grows by a margin of free grid.
  const view = svg.viewBox.baseVal;
  const extra = 10 * unit;
  svg.setAttribute("viewBox", [view.x, view.y, view.width + extra, view.height + extra].join(" "));
  svg.removeAttribute("width");
  svg.removeAttribute("height");
  const dots = document.createElementNS(NS, "g");
  dots.setAttribute("aria-hidden", "true");
  for (let gx = 0; gx * unit + pad <= view.width + extra; gx += 1) {
    for (let gy = 0; gy * unit + pad <= view.height + extra; gy += 1) {
      const dot = document.createElementNS(NS, "circle");
      dot.setAttribute("class", "grid-dot");
      dot.setAttribute("cx", gx * unit + pad);
      dot.setAttribute("cy", gy * unit + pad);
      dot.setAttribute("r", 1.5);
      dots.appendChild(dot);
    }
  }
  svg.insertBefore(dots, svg.firstChild);
  preview.classList.add("board");
  tools.hidden = false;

  function toGrid(point) {
    return {
      x: Math.max(0, Math.round((point.x - pad) / unit) + minX),
      y: Math.max(0, Math.round((point.y - pad) / unit) + minY),
    };
  }

  function svgPoint(e) {
    const p = svg.createSVGPoint();
    p.x = e.clientX;
    p.y = e.clientY;
    return p.matrixTransform(svg.getScreenCTM().inverse());
  }

  function setMode(next) {
    mode = next;
    tools.querySelectorAll("[data-mode]").forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.mode === mode)));
  }

  function field(name) {
    return blockForm.querySelector('[name="' + name + '"]');
  }

  function clearDraft() {
    svg.querySelectorAll(".draft, .draft-seat, .pick-box").forEach((el) => el.remove());
  }

  function rect(a, b, cls) {
    const r = document.createElementNS(NS, "rect");
    r.setAttribute("class", cls);
    r.setAttribute("x", Math.min(a.x, b.x));
    r.setAttribute("y", Math.min(a.y, b.y));
    r.setAttribute("width", Math.abs(a.x - b.x));
    r.setAttribute("height", Math.abs(a.y - b.y));
    svg.appendChild(r);
    return r;
  }

  function drawBlock(a, b) {
    const g1 = toGrid({ x: Math.min(a.x, b.x), y: Math.min(a.y, b.y) });
    const g2 = toGrid({ x: Math.max(a.x, b.x), y: Math.max(a.y, b.y) });
    const rows = g2.y - g1.y + 1;
    const perRow = g2.x - g1.x + 1;
    clearDraft();
    for (let r = 0; r < rows; r += 1) {
      for (let s = 0; s < perRow; s += 1) {
        const c = document.createElementNS(NS, "circle");
        c.setAttribute("class", "draft-seat");
        c.setAttribute("cx", (g1.x + s - minX) * unit + pad);
        c.setAttribute("cy", (g1.y + r - minY) * unit + pad);
        c.setAttribute("r", 8);
        svg.appendChild(c);
      }
    }
    return { x: g1.x, y: g1.y, rows: rows, perRow: perRow };
  }

  svg.addEventListener("pointerdown", (e) => {
    if (e.button !== 0) return;
    e.preventDefault();
    svg.setPointerCapture(e.pointerId);
    start = svgPoint(e);
    clearDraft();
    box = rect(start, start, mode === "draw" ? "draft" : "pick-box");
  });

  svg.addEventListener("pointermove", (e) => {
    if (!start) return;
    const now = svgPoint(e);
    box.setAttribute("x", Math.min(start.x, now.x));
    box.setAttribute("y", Math.min(start.y, now.y));
    box.setAttribute("width", Math.abs(start.x - now.x));
    box.setAttribute("height", Math.abs(start.y - now.y));
    if (mode === "draw") {
      const block = drawBlock(start, now);
      svg.appendChild(box);
      status.textContent = block.rows + " × " + block.perRow + " seats";
    }
  });

  svg.addEventListener("pointerup", (e) => {
    if (!start) return;
    const end = svgPoint(e);
    const a = start;
    start = null;
    if (mode === "draw") {
      const block = drawBlock(a, end);
      field("x").value = block.x;
      field("y").value = block.y;
      field("rows").value = block.rows;
      field("seats_per_row").value = block.perRow;
      const rows = interpolate(ngettext("%(count)s row", "%(count)s rows", block.rows), { count: block.rows }, true);
      status.textContent = interpolate(
        gettext("Drawn: %(rows)s of %(seats)s seats at x %(x)s, y %(y)s. Name its section and zone below, then Add block."),
        { rows: rows, seats: block.perRow, x: block.x, y: block.y }, true);
      field("section").focus();
      blockForm.scrollIntoView({ block: "nearest" });
    } else {
      pick(a, end, e.shiftKey);
    }
  });

  function pick(a, b, adding) {
    const x1 = Math.min(a.x, b.x), x2 = Math.max(a.x, b.x), y1 = Math.min(a.y, b.y), y2 = Math.max(a.y, b.y);
    const hits = seats.filter((g) => {
      const cx = (Number(g.dataset.x) - minX) * unit + pad;
      const cy = (Number(g.dataset.y) - minY) * unit + pad;
      return cx >= x1 - 4 && cx <= x2 + 4 && cy >= y1 - 4 && cy <= y2 + 4;
    });
    if (!adding) seats.forEach((g) => g.classList.remove("picked"));
    hits.forEach((g) => g.classList.add("picked"));
    const chosen = seats.filter((g) => g.classList.contains("picked"));
    picked.replaceChildren();
    chosen.forEach((g) => {
      const input = document.createElement("input");
      input.type = "hidden";
      input.name = "seat";
      input.value = g.dataset.id;
      picked.appendChild(input);
    });
    // The ticked boxes on this page of the table are the same seats; untick the rest so a seat
    // is never sent twice.
    const ids = new Set(chosen.map((g) => g.dataset.id));
    bulkForm.querySelectorAll('input[type=checkbox][name=seat]').forEach((c) => { c.checked = false; c.disabled = ids.has(c.value); });
    const selectedScope = bulkForm.querySelector('input[name=scope][value=selected]');
    if (selectedScope) selectedScope.checked = true;
    clearDraft();
    status.textContent = chosen.length
      ? interpolate(ngettext(
        "%(count)s seat picked: choose what to do with it below, then Apply. Shift-drag adds more.",
        "%(count)s seats picked: choose what to do with them below, then Apply. Shift-drag adds more.",
        chosen.length), { count: chosen.length }, true)
      : gettext("0 seats picked.");
  }

  tools.addEventListener("click", (e) => {
    const button = e.target.closest("button[data-mode]");
    if (button) setMode(button.dataset.mode);
  });
  setMode("draw");
})();
