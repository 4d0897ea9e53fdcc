// Free association: a visible countdown and the writing time sent with the text (in seconds).
(function () {
  "use strict";
  var script = document.currentScript;
  var minutes = Number((script && script.getAttribute("data-minutes")) || 5);
  var text = document.getElementById("fa-text");
  var timer = document.getElementById("fa-timer");
  var seconds = document.getElementById("fa-seconds");
  var form = document.getElementById("fa-form");
  if (!text || !timer || !seconds || !form) { return; }
  var started = null;
  var lastAnnounced = null;
  function tick() {
    if (started === null) { return; }
    var left = Math.max(0, minutes * 60 - (performance.now() - started) / 1000);
    var whole = Math.ceil(left / 60);
    if (whole !== lastAnnounced) {
      timer.textContent = left > 0 ? whole + " minute" + (whole === 1 ? "" : "s") + " left" : "Time is up: finish your sentence and keep what you wrote.";
      lastAnnounced = whole;
    }
    if (left > 0) { window.setTimeout(tick, 1000); }
  }
  text.addEventListener("input", function () {
    if (started === null) { started = performance.now(); timer.hidden = false; tick(); }
  });
  form.addEventListener("submit", function () {
    if (started !== null) { seconds.value = String(Math.round((performance.now() - started) / 100) / 10); }
  });
}());
