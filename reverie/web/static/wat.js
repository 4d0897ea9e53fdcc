// Jung's word association experiment in the browser: reaction times with performance.now().
// For each stimulus: the time from the word being painted to the first keystroke (reaction_ms)
// and to the answer being submitted (submit_ms). Then a reproduction trial: each word again,
// "what did you answer the first time?". The answers go to the server as JSON, which scores them.
(function () {
  "use strict";
  var dataNode = document.getElementById("wat-stimuli");
  if (!dataNode) { return; }
  var words = JSON.parse(dataNode.textContent);
  var intro = document.getElementById("wat-intro");
  var trial = document.getElementById("wat-trial");
  var done = document.getElementById("wat-done");
  var stimulus = document.getElementById("wat-stimulus");
  var progress = document.getElementById("wat-progress");
  var phaseText = document.getElementById("wat-phase");
  var label = document.getElementById("wat-label");
  var form = document.getElementById("wat-form");
  var answer = document.getElementById("wat-answer");
  var result = document.getElementById("wat-result");
  var csrf = document.getElementById("wat-csrf").value;

  var results = [];
  var index = 0;
  var phase = "association";
  var shownAt = null;
  var firstKeyAt = null;

  function show() {
    answer.value = "";
    firstKeyAt = null;
    shownAt = null;
    progress.textContent = "Word " + (index + 1) + " of " + words.length;
    stimulus.textContent = words[index];
    answer.focus();
    // the clock starts when the word is on the screen: the frame after it was set
    window.requestAnimationFrame(function () { shownAt = performance.now(); });
  }

  answer.addEventListener("keydown", function (event) {
    if (firstKeyAt !== null || shownAt === null) { return; }
    if (event.key === "Enter" || event.key === "Tab" || event.key === "Shift" ||
        event.ctrlKey || event.metaKey || event.altKey) { return; }
    firstKeyAt = performance.now();
  });

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var now = performance.now();
    var start = shownAt === null ? now : shownAt;
    if (phase === "association") {
      results.push({
        number: index + 1,
        response: answer.value,
        reaction_ms: firstKeyAt === null ? null : Math.round((firstKeyAt - start) * 10) / 10,
        submit_ms: Math.round((now - start) * 10) / 10,
        reproduction: null
      });
    } else {
      results[index].reproduction = answer.value;
    }
    index += 1;
    if (index < words.length) { show(); return; }
    if (phase === "association") {
      phase = "reproduction";
      index = 0;
      phaseText.textContent = "Now: what did you answer the first time to this word?";
      label.textContent = "Your first answer";
      show();
      return;
    }
    send();
  });

  function send() {
    trial.hidden = true;
    done.hidden = false;
    result.textContent = "Saving your answers...";
    fetch("/client/word-association", {
      method: "POST",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": csrf },
      credentials: "same-origin",
      body: JSON.stringify({ trials: results })
    }).then(function (response) {
      return response.json().then(function (body) { return { ok: response.ok, body: body }; });
    }).then(function (r) {
      result.textContent = r.ok
        ? "Your answers were saved (" + r.body.trials + " words). Your clinician will go through them with you."
        : "Your answers could not be saved: " + (r.body.detail || r.body.error || "please try again") + ".";
      done.setAttribute("data-saved", r.ok ? "yes" : "no");
    }).catch(function () {
      result.textContent = "Your answers could not be saved (no connection). Please try again later.";
      done.setAttribute("data-saved", "no");
    });
  }

  document.getElementById("wat-start").addEventListener("click", function () {
    intro.hidden = true;
    trial.hidden = false;
    show();
  });
}());
