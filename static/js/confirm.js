// Forms that undo something ask first: <form data-confirm="Delete this?">. (An inline
// onsubmit= handler would need the Content-Security-Policy to allow inline script.)
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (form instanceof HTMLFormElement && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
    event.preventDefault();
  }
});
