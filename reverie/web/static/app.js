// reverie: small progressive enhancements. Every page works without this script.
(function () {
  "use strict";

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function line(list, speaker, text, crisis) {
    var old = document.getElementById("latest");
    if (old) old.removeAttribute("id");
    var item = el("li", (speaker === "client" ? "client" : "reverie") + (crisis ? " crisis" : ""));
    item.appendChild(el("span", "who", speaker === "client" ? "You" : "reverie"));
    item.appendChild(document.createTextNode(text));
    item.id = "latest";
    list.appendChild(item);
    return item;
  }

  function listSection(title, items) {
    if (!items || !items.length) return null;
    var frag = document.createDocumentFragment();
    frag.appendChild(el("h3", null, title));
    var ul = el("ul");
    items.forEach(function (x) { ul.appendChild(el("li", null, x)); });
    frag.appendChild(ul);
    return frag;
  }

  function showCrisis(data) {
    var panel = document.getElementById("crisis-panel");
    if (!panel) return;
    var wasHidden = panel.classList.contains("hidden");
    var box = document.getElementById("crisis-plan-box");
    var plan = data.crisis_plan;
    if (box && plan && (plan.warning_signs.length || plan.coping.length || plan.people.length)) {
      box.textContent = "";
      var section = el("section", "panel");
      section.appendChild(el("h2", null, "Your crisis plan"));
      [["Warning signs", plan.warning_signs], ["What helps me cope", plan.coping],
       ["People I can contact", plan.people]].forEach(function (pair) {
        var part = listSection(pair[0], pair[1]);
        if (part) section.appendChild(part);
      });
      box.appendChild(section);
    }
    panel.classList.remove("hidden");
    if (wasHidden) panel.focus();
    return wasHidden;
  }

  function room() {
    var form = document.getElementById("composer");
    var list = document.getElementById("conversation");
    if (!form || !list || !window.fetch) return;
    var box = document.getElementById("message");
    var send = document.getElementById("send");
    var error = document.getElementById("send-error");
    var csrf = form.querySelector("input[name=csrf]").value;
    var latest = document.getElementById("latest");
    if (latest) latest.scrollIntoView({ block: "end" });

    box.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        form.requestSubmit ? form.requestSubmit() : form.dispatchEvent(new Event("submit", { cancelable: true }));
      }
    });

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var text = box.value;
      var helpShown = false;
      if (!text.trim()) { box.focus(); return; }
      send.disabled = true;
      error.classList.add("hidden");
      var body = new URLSearchParams();
      body.set("text", text);
      body.set("csrf", csrf);
      fetch(form.action, {
        method: "POST",
        headers: { "Accept": "application/json", "X-CSRF-Token": csrf,
                   "Content-Type": "application/x-www-form-urlencoded" },
        body: body.toString(),
        credentials: "same-origin"
      }).then(function (response) {
        return response.json().then(function (data) { return { status: response.status, data: data }; });
      }).then(function (result) {
        if (result.status === 401) { window.location.href = "/login?next=/client/session"; return; }
        if (result.status !== 200) {
          error.textContent = result.data.error || "The message could not be sent. Please try again.";
          error.classList.remove("hidden");
          return;
        }
        var data = result.data;
        line(list, "client", text.trim(), false);
        var reply = line(list, "reverie", data.text, data.crisis);
        box.value = "";
        var minutes = document.getElementById("minutes-left");
        if (minutes && typeof data.minutes_left === "number") minutes.textContent = data.minutes_left;
        if (data.crisis_panel) helpShown = showCrisis(data);
        reply.scrollIntoView({ block: "end", behavior: "smooth" });
      }).catch(function () {
        error.textContent = "The message could not be sent (no connection?). Nothing is lost: try again.";
        error.classList.remove("hidden");
      }).then(function () {
        send.disabled = false;
        if (!helpShown) box.focus();  // when the crisis panel just opened, focus stays on it
      });
    });

    var minutes = document.getElementById("minutes-left");
    if (minutes) {
      window.setInterval(function () {
        var n = parseInt(minutes.textContent, 10);
        if (n > 0) minutes.textContent = String(n - 1);
      }, 60000);
    }
  }

  document.addEventListener("DOMContentLoaded", room);
})();
