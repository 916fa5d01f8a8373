// Progressive enhancement for /chat: send without a reload and poll for a peer's replies.
// Without this file the page works by plain form posts; bodies are only ever set as text.
(function () {
  var log = document.getElementById("messages"), form = document.getElementById("chat-form");
  if (!log || !form || !window.fetch || !window.FormData) return;
  var box = document.getElementById("body"), status = document.getElementById("chat-status");
  var button = form.querySelector("button[type=submit]");
  var every = Math.max(1, parseInt(log.dataset.poll, 10) || 5) * 1000;

  function lastId() {
    var items = log.querySelectorAll("li[data-id]");
    return items.length ? items[items.length - 1].getAttribute("data-id") : "0";
  }
  function add(messages) {
    var atBottom = window.innerHeight + window.scrollY >= document.body.offsetHeight - 150;
    (messages || []).forEach(function (m) {
      if (log.querySelector('li[data-id="' + m.id + '"]')) return;
      var li = document.createElement("li"), who = document.createElement("span"), body = document.createElement("span");
      li.className = m.direction + " kind-" + m.kind;
      li.setAttribute("data-id", m.id);
      who.className = "who"; who.textContent = m.who;
      body.className = "body"; body.textContent = m.body;
      li.appendChild(who); li.appendChild(body); log.appendChild(li);
      var empty = document.getElementById("empty"); if (empty) empty.remove();
    });
    if (messages && messages.length && atBottom) window.scrollTo(0, document.body.scrollHeight);
  }
  function poll() {
    if (document.hidden) { setTimeout(poll, every); return; }
    fetch(log.dataset.url + "?after=" + lastId(), {credentials: "same-origin", headers: {Accept: "application/json"}})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) { if (data) add(data.messages); })
      .catch(function () {})
      .then(function () { setTimeout(poll, every); });
  }
  form.addEventListener("submit", function (event) {
    // The first message sets up the chat (and its code): let it go as a plain post.
    if (form.getAttribute("data-started") !== "1" || !box.value.trim()) return;
    event.preventDefault();
    var data = new FormData(form);
    data.append("after", lastId());
    button.disabled = true;
    status.textContent = "";
    fetch(form.action, {method: "POST", body: data, credentials: "same-origin", headers: {Accept: "application/json"}})
      .then(function (r) { return r.json().then(function (d) { return {ok: r.ok, data: d}; }); })
      .then(function (res) {
        if (res.data.nonce) form.elements.nonce.value = res.data.nonce;
        if (res.data.csrf_token) form.elements.csrf_token.value = res.data.csrf_token;
        if (res.ok) { box.value = ""; add(res.data.messages); }
        else { status.textContent = res.data.error || "Not sent. Try again."; }
      })
      .catch(function () { form.submit(); })   // same nonce: never processed twice
      .then(function () { button.disabled = false; box.focus(); });
  });
  setTimeout(poll, every);
})();
