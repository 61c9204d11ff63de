// Live counters on an event dashboard: asks the cheap JSON endpoint every second and writes each
// number into the element whose data-live names its path ("sold", "tiers.0.held"). Without
// JavaScript the page shows the counts of its load.
(function () {
  "use strict";
  var section = document.querySelector("[data-live-url]");
  if (!section || !window.fetch) return;
  var url = section.getAttribute("data-live-url");
  var busy = false;

  function valueAt(data, path) {
    return path.split(".").reduce(function (node, key) {
      return node == null ? undefined : node[key];
    }, data);
  }

  function apply(data) {
    section.querySelectorAll("[data-live]").forEach(function (el) {
      var value = valueAt(data, el.getAttribute("data-live"));
      if (value !== undefined && String(value) !== el.textContent) el.textContent = value;
    });
    // Times come as ISO 8601; people read them as a clock time in the page's language.
    section.querySelectorAll("[data-live-time]").forEach(function (el) {
      var value = valueAt(data, el.getAttribute("data-live-time"));
      if (!value || value === el.getAttribute("datetime")) return;
      el.setAttribute("datetime", value);
      el.textContent = window.clockTime(new Date(value));
    });
  }

  function tick() {
    if (busy || document.hidden) return;
    busy = true;
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) { if (data) apply(data); })
      .catch(function () { /* offline for a moment: the next tick tries again */ })
      .finally(function () { busy = false; });
  }

  setInterval(tick, 1000);
})();
