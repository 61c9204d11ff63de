// Waiting room: the buyer's page polls a tiny JSON endpoint (served from Redis) and updates
// in place; the organizer's page turns two readings of "let through so far" into a pass rate.
(function () {
  "use strict";

  function minutes(seconds) {
    if (seconds === null || seconds === undefined) return "–";
    if (seconds < 60) return gettext("under a minute");
    return interpolate(gettext("about %(minutes)s min"), { minutes: Math.round(seconds / 60) }, true);
  }

  function show(root, role, visible) {
    var element = root.querySelector('[data-role="' + role + '"]');
    if (element) element.hidden = !visible;
  }

  function buyer(root) {
    var url = root.getAttribute("data-status-url");
    function poll() {
      fetch(url, { credentials: "same-origin", cache: "no-store" })
        .then(function (response) { return response.json(); })
        .then(function (status) {
          if (status.error) return;
          root.setAttribute("data-state", status.state);
          show(root, "before", status.state === "before_opening");
          show(root, "waiting", status.state === "waiting");
          show(root, "turn", status.state === "your_turn");
          var position = root.querySelector('[data-role="position"]');
          if (position && status.position !== null) position.textContent = status.position;
          var wait = root.querySelector('[data-role="wait"]');
          if (wait) wait.textContent = minutes(status.estimated_wait_s);
          if (status.state !== "your_turn") {
            window.setTimeout(poll, Math.max(1, status.poll_after_s) * 1000);
          }
        })
        .catch(function () { window.setTimeout(poll, 5000); });
    }
    var state = root.getAttribute("data-state");
    if (state !== "your_turn") window.setTimeout(poll, 1000);
  }

  function organizer(root) {
    var url = root.getAttribute("data-stats-url");
    var previous = null;
    function poll() {
      fetch(url, { credentials: "same-origin", cache: "no-store" })
        .then(function (response) { return response.json(); })
        .then(function (stats) {
          ["waiting", "admitted", "rate_per_minute"].forEach(function (name) {
            var cell = root.querySelector('[data-stat="' + name + '"]');
            if (cell) cell.textContent = stats[name];
          });
          var on = root.querySelector('[data-stat="on"]');
          if (on) on.textContent = stats.on ? gettext("on") : gettext("off");
          if (previous && stats.at > previous.at) {
            var rate = (stats.admitted - previous.admitted) / (stats.at - previous.at) * 60;
            root.querySelector('[data-stat="pass_rate"]').textContent = rate.toFixed(1);
          }
          previous = stats;
        })
        .finally(function () { window.setTimeout(poll, 3000); });
    }
    poll();
  }

  var room = document.querySelector(".waiting-room");
  if (room) buyer(room);
  var stats = document.querySelector(".waiting-room-stats");
  if (stats) organizer(stats);
})();
