// The hold's countdown: the page says until when tickets are held; this adds the time left.
(function () {
  "use strict";
  var hold = document.querySelector("[data-hold-expires]");
  if (!hold) return;
  var out = hold.querySelector(".hold-countdown");
  var expires = Date.parse(hold.getAttribute("data-hold-expires"));
  if (!out || isNaN(expires)) return;
  var lastSpoken = -1;
  function render() {
    var left = Math.max(0, Math.round((expires - Date.now()) / 1000));
    var minutes = Math.floor(left / 60);
    var seconds = left % 60;
    var clock = minutes + ":" + (seconds < 10 ? "0" : "") + seconds;
    var text = left > 0
      ? interpolate(gettext("%(clock)s left"), { clock: clock }, true)
      : gettext("The hold has expired.");
    // Screen readers hear it once a minute and at the end, not every second.
    if (minutes !== lastSpoken || left === 0) {
      out.setAttribute("aria-live", "polite");
      lastSpoken = minutes;
    } else {
      out.setAttribute("aria-live", "off");
    }
    out.textContent = text;
    hold.classList.toggle("is-urgent", left < 120);
    if (left === 0) window.clearInterval(timer);
  }
  out.hidden = false;
  var timer = window.setInterval(render, 1000);
  render();
})();
