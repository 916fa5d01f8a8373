// Keep the queue fresh without a reload: fetch the server-rendered rows and swap them in.
(function () {
  var region = document.getElementById("queue-region");
  if (!region || !window.fetch) return;
  var every = Math.max(1, parseInt(region.dataset.poll, 10) || 10) * 1000;
  function refresh() {
    fetch(region.dataset.rowsUrl, {credentials: "same-origin", headers: {"X-Requested-With": "fetch"}})
      .then(function (r) {
        if (r.redirected) { window.location.reload(); }  // signed out: show the login page
        if (r.redirected || !r.ok) throw new Error(r.status);
        return r.text();
      })
      .then(function (html) {
        if (html !== region.dataset.last) { region.innerHTML = html; region.dataset.last = html; }
        region.dataset.updated = String(Date.now());
      })
      .catch(function () { region.dataset.stale = "1"; })
      .finally(function () { setTimeout(refresh, every); });
  }
  setTimeout(refresh, every);
})();
