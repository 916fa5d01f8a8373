// The flow step form: under each text, its SMS segment count and encoding, and any stigmatizing
// word with the person-first words to use instead, as the supervisor types. The lexicon is the
// checker's own (bot/content/stigma.yaml, served as JSON); the checker checks again on save.
(function () {
  var form = document.getElementById("node-form");
  if (!form) { return; }
  var lexicon = null;
  function norm(s) { return s.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase(); }
  function words(text) {
    return (norm(text.replace(/\{[^}]*\}/g, " ")).match(/[\p{L}\p{N}_]+(?:[-'][\p{L}\p{N}_]+)*/gu) || []);
  }
  function hits(text, lang) {
    var ws = words(text), out = [];
    ((lexicon || {})[lang] || []).forEach(function (entry) {
      for (var k = 0; k < entry.words.length; k++) {
        var phrase = words(entry.words[k]);
        for (var i = 0; i + phrase.length <= ws.length; i++) {
          if (ws.slice(i, i + phrase.length).join(" ") === phrase.join(" ")) {
            out.push({ word: entry.words[k], instead: entry.instead, severity: entry.severity });
            return;
          }
        }
      }
    });
    return out;
  }
  function update(box) {
    var field = box.closest(".text-field");
    var seg = field.querySelector(".seg"), flag = field.querySelector(".stigma");
    if (seg && window.homewardSegments) { seg.textContent = window.homewardSegments(box.value); }
    if (!flag) { return; }
    var found = hits(box.value, box.dataset.lang);
    flag.textContent = found.map(function (h) {
      return "“" + h.word + "” is stigmatizing; person-first: " + h.instead;
    }).join(" · ");
    flag.className = "stigma small" + (found.length ? " flagged " + found[0].severity : "");
    box.classList.toggle("has-stigma", found.length > 0);
  }
  var boxes = form.querySelectorAll("textarea.checked-text");
  Array.prototype.forEach.call(boxes, function (box) {
    box.addEventListener("input", function () { update(box); });
    update(box);
  });
  fetch(form.dataset.stigma, { credentials: "same-origin" }).then(function (r) { return r.json(); })
    .then(function (data) { lexicon = data; Array.prototype.forEach.call(boxes, update); });
})();
