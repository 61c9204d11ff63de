// Discovery page: "near me" from the browser's location.
(function () {
  "use strict";

  const button = document.getElementById("near-me");
  const form = document.getElementById("filter-form");
  if (!button || !form || !("geolocation" in navigator)) return;
  button.hidden = false;
  button.addEventListener("click", function () {
    const state = document.getElementById("near-state");
    state.textContent = gettext("Finding you…");
    navigator.geolocation.getCurrentPosition(
      function (pos) {
        form.elements.lat.value = pos.coords.latitude.toFixed(4);
        form.elements.lon.value = pos.coords.longitude.toFixed(4);
        if (!form.elements.sort.value) form.elements.sort.value = "distance";
        form.submit();
      },
      function () { state.textContent = gettext("Your location is not available."); },
      { timeout: 10000, maximumAge: 600000 }
    );
  });
})();
