// Live attendance: polls the JSON twice a second with If-None-Match; a poll that finds nothing
// new is a 304 with no body, so the page stays current within a second or two cheaply.

const root = document.getElementById("attendance");
const status = document.getElementById("live-status");
let etag = null;

function setText(scope, selector, value) {
  const node = scope.querySelector(selector);
  if (node) node.textContent = value;
}

function render(data) {
  for (const list of data.lists) {
    const section = root.querySelector(`[data-list-id="${list.id}"]`);
    if (!section) { location.reload(); return; } // a new list: the page layout changed
    setText(section, ".big .admitted", list.admitted);
    setText(section, ".big .expected", list.expected);
    setText(section, ".big .inside", list.inside);
    setText(section, ".big .conflicts", list.conflicts);
    for (const tier of list.tiers) {
      const row = section.querySelector(`[data-tier-id="${tier.id}"]`);
      if (!row) continue;
      setText(row, ".admitted", tier.admitted);
      setText(row, ".expected", tier.expected);
    }
  }
  const body = document.getElementById("scan-rows");
  if (!data.scans.length) {
    // As the server renders it: the table says it is empty rather than showing only its head.
    const tr = document.createElement("tr");
    const td = document.createElement("td");
    td.colSpan = 5;
    td.textContent = gettext("No scans yet.");
    tr.append(td);
    body.replaceChildren(tr);
    return;
  }
  body.replaceChildren(...data.scans.map((scan) => {
    const tr = document.createElement("tr");
    tr.className = scan.result + (scan.conflict ? " conflict" : "");
    const cells = [
      scan.scanned_at,
      scan.list,
      `${scan.result} · ${scan.reason}${scan.offline ? " · offline" : ""}${scan.conflict ? " · conflict" : ""}`,
      scan.tier ? `${scan.attendee} (${scan.tier})` : scan.attendee,
      scan.device,
    ];
    for (const text of cells) {
      const td = document.createElement("td");
      td.textContent = text;
      tr.append(td);
    }
    return tr;
  }));
}

async function poll() {
  try {
    const response = await fetch(root.dataset.url, {
      credentials: "same-origin",
      headers: etag ? { "If-None-Match": etag } : {},
      cache: "no-store",
    });
    if (response.status === 200) {
      etag = response.headers.get("ETag");
      render(await response.json());
    }
    status.textContent = interpolate(gettext("Updated %(time)s"), {
      time: window.clockTime(new Date()),
    }, true);
  } catch (_) {
    status.textContent = gettext("Connection lost; retrying…");
  } finally {
    setTimeout(poll, 500);
  }
}
poll();
