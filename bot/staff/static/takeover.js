/* Live takeover panel (bot/staff/templates/_takeover.html): polls the conversation's
 * live.json for new messages (no page reload), sends staff messages and "typing", and
 * highlights urgent patient messages with a sound cue. Served as a file: the staff
 * app's CSP allows no inline script. */
(function () {
  "use strict";
  var panel = document.getElementById("takeover");
  if (!panel || panel.dataset.live !== "1") return;

  var POLL_MS = 1500;
  var TYPING_EVERY_MS = 3000;
  var after = Number(panel.dataset.after) || 0;
  var csrf = panel.dataset.csrf;
  var log = panel.querySelector(".live-log");
  var errorLine = panel.querySelector(".live-error");
  var sendForm = panel.querySelector(".takeover-send");
  var held = panel.dataset.held === "1";
  var mine = panel.dataset.mine === "1";
  var lastTyping = 0;
  var audio = null;

  function post(url, fields) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "X-CSRF-Token": csrf,
        Accept: "application/json",
        "Content-Type": "application/x-www-form-urlencoded",
      },
      body: new URLSearchParams(fields || {}),
    }).then(function (r) {
      return r.json().then(function (body) {
        if (!r.ok) throw new Error(body.error || "HTTP " + r.status);
        return body;
      });
    });
  }

  function showError(message) {
    errorLine.textContent = message || "";
    errorLine.hidden = !message;
  }

  // A short beep for urgent messages. Browsers may keep audio muted until the page has
  // had a click; the count on the panel says a cue was due either way.
  function soundCue() {
    panel.dataset.soundCues = String((Number(panel.dataset.soundCues) || 0) + 1);
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      var osc = audio.createOscillator();
      var gain = audio.createGain();
      osc.frequency.value = 880;
      gain.gain.value = 0.2;
      osc.connect(gain);
      gain.connect(audio.destination);
      osc.start();
      osc.stop(audio.currentTime + 0.35);
    } catch (e) {
      /* no audio device: the highlight still shows */
    }
  }

  function time(ts) {
    return ts ? new Date(ts * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) : "";
  }

  function render(item) {
    var li = document.createElement("li");
    li.className = "live-item live-" + item.kind + (item.urgent ? " urgent" : "");
    li.dataset.eventId = String(item.id);
    var who = document.createElement("span");
    who.className = "live-who";
    who.textContent =
      item.kind === "patient" ? "Patient" : item.kind === "staff" ? item.by : item.kind === "bot" ? "Assistant" : "";
    var text = document.createElement("span");
    text.className = "live-text";
    text.textContent = item.text;
    var at = document.createElement("time");
    at.textContent = time(item.at);
    li.appendChild(who);
    li.appendChild(text);
    if (item.urgent) {
      var badge = document.createElement("span");
      badge.className = "badge urgent";
      badge.textContent = "urgent";
      li.appendChild(badge);
    }
    li.appendChild(at);
    log.appendChild(li);
    li.scrollIntoView({ block: "nearest" });
    if (item.urgent) soundCue();
  }

  function poll() {
    fetch(panel.dataset.liveUrl + "?after=" + after, {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    })
      .then(function (r) {
        return r.ok ? r.json() : null;
      })
      .then(function (data) {
        if (!data) return;
        data.events.forEach(function (item) {
          after = Math.max(after, item.id);
          render(item);
        });
        var state = data.takeover;
        // Someone took over or handed back (maybe the idle timeout): redraw the panel.
        if (state.held !== held || state.mine !== mine) location.reload();
      })
      .catch(function () {
        /* the next poll retries */
      })
      .then(function () {
        setTimeout(poll, POLL_MS);
      });
  }

  if (sendForm) {
    var textarea = sendForm.querySelector("textarea");
    sendForm.addEventListener("submit", function (event) {
      event.preventDefault();
      var text = textarea.value.trim();
      if (!text) return;
      textarea.disabled = true;
      post(sendForm.action, { text: text })
        .then(function () {
          textarea.value = "";
          showError("");
        })
        .catch(function (err) {
          showError(err.message);
        })
        .then(function () {
          textarea.disabled = false;
          textarea.focus();
        });
    });
    textarea.addEventListener("input", function () {
      var now = Date.now();
      if (now - lastTyping < TYPING_EVERY_MS) return;
      lastTyping = now;
      post(panel.dataset.base + "/typing").catch(function () {});
    });
  }

  poll();
})();
