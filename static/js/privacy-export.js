// The privacy page: while an export is being built, poll its status and show the progress;
// when it is ready, offer the download link. Without JavaScript a reload shows the same.
(() => {
  const POLL_MS = 1000;
  const labels = {
    pending: gettext("Waiting for a worker"),
    running: gettext("Being collected"),
    ready: gettext("Ready to download"),
    failed: gettext("Failed"),
  };

  const follow = (item) => {
    const poll = async () => {
      let state;
      try {
        const response = await fetch(item.dataset.exportStatus, { headers: { Accept: "application/json" } });
        if (!response.ok) return setTimeout(poll, POLL_MS * 3);
        state = await response.json();
      } catch {
        return setTimeout(poll, POLL_MS * 3);
      }
      item.dataset.state = state.status;
      item.querySelector(".export-state").textContent = labels[state.status] || state.status;
      const bar = item.querySelector("progress");
      if (bar) bar.value = state.progress;
      if (state.download_url) {
        if (bar) bar.remove();
        if (!item.querySelector(".export-download")) {
          const link = document.createElement("a");
          link.className = "export-download";
          link.href = state.download_url;
          link.textContent = item.closest("[data-download-label]")?.dataset.downloadLabel || gettext("Download the zip");
          item.append(" ", link);
        }
        return;
      }
      if (state.status === "pending" || state.status === "running") setTimeout(poll, POLL_MS);
    };
    poll();
  };

  document.querySelectorAll("[data-export-status]").forEach((item) => {
    if (item.dataset.state === "pending" || item.dataset.state === "running") follow(item);
  });
})();
