// A mirror of bot/sms.py count_segments, so the peer sees the cost while typing.
// The server counts again when it sends; tests check the two agree.
(function () {
  var BASIC = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
              "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
  var EXTENDED = "^{}\\[~]|€\f";
  function count(text) {
    var chars = Array.from(text), gsm = chars.every(function (c) {
      return BASIC.indexOf(c) >= 0 || EXTENDED.indexOf(c) >= 0;
    });
    var units = 0, single = gsm ? 160 : 70, multi = gsm ? 153 : 67;
    chars.forEach(function (c) {
      units += gsm ? (EXTENDED.indexOf(c) >= 0 ? 2 : 1) : (c.codePointAt(0) > 0xFFFF ? 2 : 1);
    });
    var segments = units === 0 ? 1 : (units <= single ? 1 : Math.ceil(units / multi));
    return segments + " segment" + (segments !== 1 ? "s" : "") + " (" + (gsm ? "GSM-7" : "UCS-2") + ", " + units + " units)";
  }
  window.homewardSegments = count;
  var body = document.getElementById("body"), out = document.getElementById("segments");
  if (body && out) {
    var webchat = out.dataset.channel === "webchat";   // no carrier, so no segments
    var update = function () { out.textContent = webchat ? "web chat" : count(body.value); };
    body.addEventListener("input", update);
    update();
  }
})();
