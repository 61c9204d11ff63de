// Design-system behaviour shared by every page: dismissable toasts, typed confirmations.
// Words in scripts come from the page language's catalogue (/i18n/<language>.js, loaded just
// before this file); where it could not load, scripts still run, in English.
window.gettext = window.gettext || ((text) => text);
window.ngettext = window.ngettext || ((one, many, n) => (n === 1 ? one : many));
window.interpolate = window.interpolate || ((format, values) =>
  format.replace(/%\((\w+)\)s/g, (match, name) => String(values[name])));
// A clock time as the server renders one (24-hour, with seconds) in the page's language.
window.clockTime = (date) => date.toLocaleTimeString(document.documentElement.lang || undefined, {
  hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23",
});
(function () {
  "use strict";
  document.querySelectorAll(".toast [data-dismiss]").forEach((button) => {
    button.hidden = false;
    button.addEventListener("click", () => button.closest(".toast").remove());
  });
  // A form that asks before it does something hard to undo (no inline handlers: CSP).
  document.querySelectorAll("form[data-confirm]").forEach((form) => {
    form.addEventListener("submit", (e) => {
      if (!window.confirm(form.dataset.confirm)) e.preventDefault();
    });
  });
  // A dangerous form stays disabled until the person types the name it asks for.
  document.querySelectorAll("form[data-confirm-name]").forEach((form) => {
    const input = form.querySelector("input[name=confirm_name]");
    const submit = form.querySelector("button[type=submit]");
    if (!input || !submit) return;
    const expected = form.dataset.confirmName.trim();
    const update = () => { submit.disabled = input.value.trim() !== expected; };
    input.addEventListener("input", update);
    update();
  });
})();
