// The flow editor: keep the line-number gutter in step with the text (long lines wrap, so each
// number takes the height of its wrapped line, measured on a hidden copy), jump to a problem's
// line, and keep the simulator's newest message in view. The page works without it.
(function () {
  var box = document.getElementById("source"), gutter = document.getElementById("gutter");
  if (!box || !gutter) { return; }
  var marks = {};
  Array.prototype.forEach.call(gutter.querySelectorAll("span.ln"), function (el) {
    if (el.className !== "ln") { marks[el.textContent] = { cls: el.className, title: el.title }; }
  });
  var shown = -1;
  function lines() { var n = box.value.split("\n").length; return box.value.endsWith("\n") ? n - 1 : n; }
  var mirror = document.createElement("div");
  mirror.setAttribute("aria-hidden", "true");
  document.body.appendChild(mirror);
  function heights() {
    var css = window.getComputedStyle(box);
    var width = box.clientWidth - parseFloat(css.paddingLeft) - parseFloat(css.paddingRight);
    mirror.style.cssText = "position:absolute;visibility:hidden;left:-9999px;top:0;white-space:pre-wrap;" +
      "overflow-wrap:anywhere;width:" + width + "px;font:" + css.font + ";tab-size:" + css.tabSize + ";";
    mirror.textContent = "";
    var texts = box.value.split("\n");
    if (texts.length > 1 && texts[texts.length - 1] === "") { texts.pop(); }
    texts.forEach(function (t) {
      var div = document.createElement("div");
      div.textContent = t || " ";
      mirror.appendChild(div);
    });
    return Array.prototype.map.call(mirror.children, function (d) { return d.getBoundingClientRect().height; });
  }
  function fit() {
    var hs = heights(), spans = gutter.querySelectorAll("span.ln");
    for (var i = 0; i < spans.length; i++) { spans[i].style.height = (hs[i] || hs[0] || 0) + "px"; }
    box.style.height = "auto";
    box.style.height = Math.max(box.scrollHeight, gutter.scrollHeight) + "px";
  }
  function redraw() {
    var n = Math.max(lines(), 1);
    if (n === shown) { fit(); return; }
    shown = n;
    var frag = document.createDocumentFragment();
    for (var i = 1; i <= n; i++) {
      var span = document.createElement("span"), mark = marks[String(i)];
      span.id = "L" + i;
      span.className = mark ? mark.cls : "ln";
      if (mark) { span.title = mark.title; }
      span.textContent = String(i);
      frag.appendChild(span);
    }
    gutter.textContent = "";
    gutter.appendChild(frag);
    fit();
  }
  box.addEventListener("input", redraw);
  window.addEventListener("resize", fit);
  redraw();

  function goToLine(n) {
    var text = box.value, start = 0;
    for (var i = 1; i < n; i++) {
      var next = text.indexOf("\n", start);
      if (next < 0) { break; }
      start = next + 1;
    }
    var end = text.indexOf("\n", start);
    box.focus();
    box.setSelectionRange(start, end < 0 ? text.length : end);
    var row = document.getElementById("L" + n);
    if (row) { row.scrollIntoView({ block: "center" }); }
  }
  document.addEventListener("click", function (ev) {
    var link = ev.target.closest ? ev.target.closest("a[data-line]") : null;
    if (link) { ev.preventDefault(); goToLine(parseInt(link.dataset.line, 10)); }
  });

  var log = document.getElementById("sim-log");
  if (log) { log.scrollTop = log.scrollHeight; }
})();
