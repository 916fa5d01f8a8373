// The flow editor: keep the line-number gutter in step with the text, jump to a problem's line,
// and keep the simulator's newest message in view. The page works without it.
(function () {
  var box = document.getElementById("source"), gutter = document.getElementById("gutter");
  if (!box || !gutter) { return; }
  var marks = {};
  Array.prototype.forEach.call(gutter.querySelectorAll("span.ln"), function (el) {
    if (el.className !== "ln") { marks[el.textContent] = { cls: el.className, title: el.title }; }
  });
  var shown = -1;
  function lines() { var n = box.value.split("\n").length; return box.value.endsWith("\n") ? n - 1 : n; }
  function redraw() {
    var n = Math.max(lines(), 1);
    box.rows = n + 3;
    if (n === shown) { return; }
    shown = n;
    var frag = document.createDocumentFragment();
    for (var i = 1; i <= n; i++) {
      var span = document.createElement("span"), mark = marks[String(i)];
      span.id = "L" + i;
      span.className = mark ? mark.cls : "ln";
      if (mark) { span.title = mark.title; }
      span.textContent = String(i);
      frag.appendChild(span);
      frag.appendChild(document.createTextNode("\n"));
    }
    gutter.textContent = "";
    gutter.appendChild(frag);
  }
  box.addEventListener("input", redraw);
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
