// A person's page as a live conversation: newest at the bottom and scrolled there; new texts,
// notes and delivery statuses appear without a reload; who else has this person open is shown
// (and this page tells them when we are typing). Keys: r reply, Ctrl+Enter send, e resolve, c claim.
(function () {
  var thread = document.getElementById("thread");
  var body = document.getElementById("body"), csrf = document.querySelector('meta[name="csrf-token"]');
  if (thread) thread.scrollTop = thread.scrollHeight;
  var reply = document.getElementById("reply");
  if (thread && reply && !window.location.hash) {
    // The newest text and the reply box together in view. The box may be sticky, so measure
    // from the thread: the box's own place is right below it.
    var need = thread.getBoundingClientRect().bottom + reply.offsetHeight + 16 - window.innerHeight;
    if (need > 0) window.scrollBy(0, need);
  }

  // Canned replies go into the box; the page does not reload.
  var form = document.getElementById("canned-form"), pick = document.getElementById("canned");
  function useCanned() {
    var opt = pick.options[pick.selectedIndex];
    if (!opt || !opt.dataset.body || !body) return;
    body.value = opt.dataset.body;
    body.dispatchEvent(new Event("input"));
    body.focus();
    var gap = body.value.indexOf("…");   // the part the peer types in
    if (gap >= 0) body.setSelectionRange(gap, gap + 1); else body.setSelectionRange(body.value.length, body.value.length);
  }
  if (form && pick) {
    form.addEventListener("submit", function (ev) { ev.preventDefault(); useCanned(); });
    pick.addEventListener("change", useCanned);
  }

  if (body) body.addEventListener("keydown", function (ev) {   // Ctrl+Enter sends
    if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey) && body.form) {
      ev.preventDefault();
      if (body.form.requestSubmit) body.form.requestSubmit(); else body.form.submit();
    }
  });

  document.addEventListener("keydown", function (ev) {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    var t = ev.target;
    if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName))) return;
    if (ev.key === "r" && body) { ev.preventDefault(); body.focus(); body.scrollIntoView({block: "nearest"}); }
    else if (ev.key === "e") {
      var resolve = document.getElementById("resolve");
      if (resolve) { ev.preventDefault(); resolve.open = true; var sel = resolve.querySelector("select"); if (sel) sel.focus(); }
    } else if (ev.key === "c") {
      var claim = document.getElementById("claim-button");
      if (claim) claim.click();
    }
  });

  document.documentElement.dataset.personKeys = "ready";   // tests wait on this, not on time
  if (!thread || !thread.dataset.liveUrl || !window.fetch) return;
  var region = document.getElementById("presence");
  var every = 1000 * Math.max(1, parseInt((document.getElementById("urgent-banner") || {dataset: {}}).dataset.poll, 10) || 5);
  var FINAL = ["delivered", "undelivered", "failed", "read"];
  function watching() {
    return Array.prototype.slice.call(thread.querySelectorAll("li[data-status]"))
      .filter(function (li) { return FINAL.indexOf(li.dataset.status) < 0; })
      .map(function (li) { return parseInt(li.dataset.message, 10); });
  }
  function nearBottom() { return thread.scrollHeight - thread.scrollTop - thread.clientHeight < 80; }
  function poll() {
    var payload = {message: thread.dataset.lastMessage, note: thread.dataset.lastNote, event: thread.dataset.lastEvent,
                   watch: watching(), replying: !!(body && body.value.trim())};
    // A background refresh is not activity (the idle sign-out still comes to an open tab), unless
    // the peer is writing a reply: typing in the box keeps them signed in.
    var headers = {"Content-Type": "application/json", "X-CSRFToken": csrf ? csrf.content : ""};
    if (!payload.replying) headers["X-Requested-With"] = "fetch";
    fetch(thread.dataset.liveUrl, {method: "POST", credentials: "same-origin",
                                   headers: headers,
                                   body: JSON.stringify(payload)})
      .then(function (r) { if (r.redirected || !r.ok) throw new Error(r.status); return r.json(); })
      .then(function (data) {
        var stick = nearBottom();
        if (data.html) {
          var empty = thread.querySelector("li.empty");
          if (empty) empty.remove();
          thread.insertAdjacentHTML("beforeend", data.html);
          if (stick) thread.scrollTop = thread.scrollHeight;
        }
        Object.keys(data.statuses).forEach(function (id) {
          var li = thread.querySelector('li[data-message="' + id + '"]');
          var old = li && li.querySelector(".status");
          if (old && li.dataset.status !== data.statuses[id].status) {
            old.outerHTML = data.statuses[id].html;
            li.dataset.status = data.statuses[id].status;
          }
        });
        thread.dataset.lastMessage = data.last.message;
        thread.dataset.lastNote = data.last.note;
        thread.dataset.lastEvent = data.last.event;
        if (region) region.textContent = data.others.join(" · ");
        thread.dataset.updated = String(Date.now());
      })
      .catch(function () { thread.dataset.stale = "1"; })
      .finally(function () { setTimeout(poll, every); });
  }
  setTimeout(poll, every);
})();
