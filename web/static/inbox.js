// Keep the queue fresh without a reload: fetch the server-rendered rows and swap them in.
// Keys: j/k move between tickets, Enter or o opens the person, c claims.
(function () {
  var region = document.getElementById("queue-region");
  if (!region || !window.fetch) return;
  var every = Math.max(1, parseInt(region.dataset.poll, 10) || 10) * 1000;
  var selected = null;  // the ticket id, so the selection survives a refresh

  function rows() { return Array.prototype.slice.call(region.querySelectorAll("tr.ticket")); }
  function mark() {
    rows().forEach(function (tr) {
      var on = tr.dataset.ticket === selected;
      tr.classList.toggle("selected", on);
      if (on) tr.setAttribute("aria-selected", "true"); else tr.removeAttribute("aria-selected");
    });
  }
  function move(step) {
    var all = rows();
    if (!all.length) return;
    var at = all.findIndex(function (tr) { return tr.dataset.ticket === selected; });
    var next = all[Math.min(all.length - 1, Math.max(0, at < 0 ? 0 : at + step))];
    selected = next.dataset.ticket;
    mark();
    next.scrollIntoView({block: "nearest"});
  }
  function current() {
    return rows().filter(function (tr) { return tr.dataset.ticket === selected; })[0];
  }

  // A swap while a button is being pressed, or a form in the queue is being sent, would drop
  // the click ("Claim" pressed as the rows came in): wait for the next poll instead.
  var pressing = false, sending = false;
  region.addEventListener("pointerdown", function () { pressing = true; });
  document.addEventListener("pointerup", function () { setTimeout(function () { pressing = false; }, 0); });
  region.addEventListener("submit", function () { sending = true; });

  function refresh() {
    fetch(region.dataset.rowsUrl, {credentials: "same-origin", headers: {"X-Requested-With": "fetch"}})
      .then(function (r) {
        if (r.redirected) { window.location.reload(); }  // signed out: show the login page
        if (r.redirected || !r.ok) throw new Error(r.status);
        return r.text();
      })
      .then(function (html) {
        if (html !== region.dataset.last && !pressing && !sending) {
          region.innerHTML = html; region.dataset.last = html; mark();
        }
        region.dataset.updated = String(Date.now());
      })
      .catch(function () { region.dataset.stale = "1"; })
      .finally(function () { setTimeout(refresh, every); });
  }
  setTimeout(refresh, every);
  document.documentElement.dataset.queueKeys = "ready";   // tests wait on this, not on time

  document.addEventListener("keydown", function (ev) {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    var t = ev.target;
    if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT|BUTTON)$/.test(t.tagName))) return;
    if (ev.key === "j") { move(1); } else if (ev.key === "k") { move(-1); }
    else if (ev.key === "Enter" || ev.key === "o") {
      var tr = current();
      if (tr) { ev.preventDefault(); window.location.href = tr.dataset.personUrl; }
    } else if (ev.key === "c") {
      var row = current(), form = row && row.querySelector("form.claim");
      if (form) form.submit();
    }
  });
})();
