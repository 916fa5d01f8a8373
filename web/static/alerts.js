// On every staff page: urgent tickets nobody has answered show a banner and a count in the tab
// title, and a ticket not seen before plays the chime (unless turned off) and raises a browser
// notification (when allowed). The notification names the reason, never what anyone wrote.
// Also the keys that work everywhere: "/" search, "?" the list of shortcuts.
(function () {
  var banner = document.getElementById("urgent-banner");
  if (!banner || !window.fetch) return;
  var every = Math.max(1, parseInt(banner.dataset.poll, 10) || 10) * 1000;
  var baseTitle = document.title, what = banner.querySelector(".what"), go = banner.querySelector(".go");
  var allow = document.getElementById("allow-notifications");
  var KEY = "homeward.seenUrgent";
  window.homewardAlerts = {sounds: 0, notifications: []};

  function seen() {
    try { return JSON.parse(localStorage.getItem(KEY) || "[]"); } catch (e) { return []; }
  }
  function remember(ids) {
    try { localStorage.setItem(KEY, JSON.stringify(ids.slice(-200))); } catch (e) { /* private mode */ }
  }
  function chime() {
    window.homewardAlerts.sounds += 1;
    try { var a = new Audio(banner.dataset.soundUrl); var p = a.play(); if (p && p.catch) p.catch(function () {}); }
    catch (e) { /* no audio device */ }
  }
  function notify(title, url) {
    if (!("Notification" in window) || Notification.permission !== "granted") return;
    try {
      var n = new Notification(title, {body: "Open the Homeward inbox to answer.", tag: "homeward-urgent"});
      n.onclick = function () { window.focus(); window.location.href = url; };
      window.homewardAlerts.notifications.push(title);
    } catch (e) { /* some browsers allow notifications only from a service worker */ }
  }
  function offerPermission() {
    if (allow && "Notification" in window && Notification.permission === "default") allow.hidden = false;
  }
  if (allow) allow.addEventListener("click", function () {
    Notification.requestPermission().then(function () { allow.hidden = true; });
  });

  function show(data) {
    var items = data.tickets.concat(data.overdue);
    var n = data.urgent;
    document.title = n > 0 ? "(" + n + ") " + baseTitle : baseTitle;
    if (n === 0 && data.overdue.length === 0) { banner.hidden = true; return; }
    var top = data.overdue.length ? data.overdue[0] : data.tickets[0];
    var text = data.overdue.length
      ? "Past its SLA with nobody on it: " + top.reason
      : (n === 1 ? "Urgent: " + top.reason : n + " urgent tickets waiting. Newest: " + top.reason);
    what.textContent = text;
    go.href = top ? top.url : banner.dataset.inboxUrl;
    banner.hidden = false;
    offerPermission();
    var known = seen(), fresh = items.filter(function (t) { return known.indexOf(t.id + ":" + t.kind) < 0; });
    if (fresh.length) {
      if (data.sound) chime();
      fresh.forEach(function (t) {
        notify(t.kind === "overdue" ? "Past its SLA: " + t.reason : "Urgent: " + t.reason, t.url);
      });
      remember(known.concat(fresh.map(function (t) { return t.id + ":" + t.kind; })));
    }
  }
  function poll() {
    // a background refresh, not activity: a tab left open still signs out after the idle limit
    fetch(banner.dataset.updatesUrl, {credentials: "same-origin", headers: {"Accept": "application/json", "X-Requested-With": "fetch"}})
      .then(function (r) { if (r.redirected || !r.ok) throw new Error(r.status); return r.json(); })
      .then(function (data) {
        data.tickets.forEach(function (t) { t.kind = "urgent"; });
        data.overdue.forEach(function (t) { t.kind = "overdue"; });
        show(data);
        banner.dataset.updated = String(Date.now());
      })
      .catch(function () { banner.dataset.stale = "1"; })
      .finally(function () { setTimeout(poll, every); });
  }
  poll();

  document.addEventListener("keydown", function (ev) {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    var t = ev.target, typing = t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName));
    if (typing) { if (ev.key === "Escape") t.blur(); return; }
    if (ev.key === "/") {
      ev.preventDefault();
      var box = document.getElementById("search");
      if (box) { box.focus(); box.select(); } else { window.location.href = banner.dataset.inboxUrl + "?focus=search"; }
    } else if (ev.key === "?") {
      var help = document.getElementById("shortcuts");
      if (help) { help.open = !help.open; if (help.open) help.scrollIntoView({block: "nearest"}); }
    }
  });
  if (/[?&]focus=search\b/.test(window.location.search)) {
    var box = document.getElementById("search");
    if (box) box.focus();
  }
})();
