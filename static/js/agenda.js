// Stars without a page reload (the forms work without this), and a share button.
(function () {
  "use strict";
  document.addEventListener("submit", async function (e) {
    const form = e.target;
    if (!form.classList || !form.classList.contains("star-form")) return;
    e.preventDefault();
    const button = form.querySelector("button");
    const action = form.elements.action;
    button.disabled = true;
    try {
      // form.action would be the <input name="action">, not the attribute.
      const response = await fetch(form.getAttribute("action"), {
        method: "POST",
        body: new FormData(form),
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      });
      const data = await response.json();
      const item = form.closest(".session");
      let note = item.querySelector(".star-note");
      if (!note) {
        note = document.createElement("p");
        note.className = "star-note";
        note.setAttribute("role", "status");
        form.after(note);
      }
      if (!response.ok) {
        note.textContent = data.error ? data.error.message : gettext("That did not work.");
        return;
      }
      action.value = data.starred ? "unstar" : "star";
      button.classList.toggle("on", data.starred);
      button.setAttribute("aria-pressed", String(data.starred));
      button.textContent = data.starred ? gettext("★ On my agenda") : gettext("☆ Add to my agenda");
      item.classList.toggle("clash", data.clashes.length > 0);
      note.textContent = data.clashes.length
        ? interpolate(gettext("Overlaps %(titles)s on your agenda."), {
          titles: data.clashes.map(function (t) { return "“" + t + "”"; }).join(", "),
        }, true)
        : (data.starred ? gettext("Added to your agenda.") : gettext("Removed from your agenda."));
    } catch (err) {
      form.submit();
    } finally {
      button.disabled = false;
    }
  });

  const share = document.getElementById("share");
  if (share) {
    share.addEventListener("click", async function (e) {
      e.preventDefault();
      const url = share.getAttribute("href");
      if (navigator.share) {
        try { await navigator.share({ title: share.dataset.title, url: url }); return; } catch (err) { /* closed */ }
      }
      if (navigator.clipboard) {
        await navigator.clipboard.writeText(url);
        share.textContent = gettext("Link copied");
      }
    });
  }
})();
