/*!
 * Meso Assistant chat widget (Apache-2.0). No framework; socket.io-client 4 is loaded
 * from vendor/ beside this file. Embed with one tag (docs/widget.md):
 *   <script>window.MesoWidgetConfig = { serverUrl: "https://bot.clinic.example" };</script>
 *   <script src="https://bot.clinic.example:8080/widget/meso-widget.js" defer></script>
 */
(function () {
  "use strict";

  // A clinic that pastes the tag twice (e.g. in a template and a page) gets one widget.
  if (window.MesoWidget) return;

  var SCRIPT = document.currentScript;
  var ASSET_BASE = new URL(".", (SCRIPT && SCRIPT.src) || location.href).href;

  var TEXTS = {
    launcher: "Chat with us",
    closeChat: "Close chat",
    staff: "Talk to staff",
    staffHint: "Ask for a member of staff to contact you",
    inputLabel: "Your message",
    placeholder: "Type your question…",
    send: "Send",
    log: "Conversation",
    you: "You said:",
    bot: "Assistant said:",
    online: "Online",
    connecting: "Connecting…",
    offline: "Offline, retrying",
    denied: "Unavailable",
    offlineBanner:
      "We can't reach the assistant right now. We keep trying automatically; " +
      "anything you send is delivered once the connection is back.",
    deniedBanner:
      "The chat could not start because access was refused. Please contact the clinic directly.",
    unconfiguredBanner: "This chat is not configured (no server URL).",
    retry: "Retry now",
    queued: "Waiting for connection",
    sources: "Sources",
    suggestions: "Suggested replies",
    newMessages: "new messages",
    footer: "Automated assistant · general information, not medical advice",
    staffConnected: "Connected to clinic staff",
    staffTyping: "Staff typing…",
    staffSaid: "Clinic staff said:",
    staffName: "Clinic staff",
  };

  var DEFAULTS = {
    serverUrl: "", // the Rasa server, e.g. "https://bot.clinic.example"
    socketPath: "/socket.io",
    title: "Clinic assistant",
    subtitle: "",
    primaryColor: "#0d5c63",
    initialPayload: "/session_start", // sent once per new session: greeting + disclaimer
    staffPayload: "/request_human",
    token: null, // optional JWT (string, or function returning one), sent as socket.io auth
    metadata: null, // optional object passed to Rasa as message metadata
    transports: null, // socket.io default: polling, upgraded to websocket
    userEvent: "user_uttered",
    botEvent: "bot_uttered",
    storagePrefix: "meso-widget",
    historyHours: 24, // local transcript lifetime; shared computers should not keep it forever
    openOnLoad: false,
    texts: {},
  };

  var cfg = Object.assign({}, DEFAULTS, window.MesoWidgetConfig || {});
  var T = Object.assign({}, TEXTS, cfg.texts || {});
  var SOURCES_LINE = /^\s*sources?\s*:/i;
  var URL_IN_TEXT = /\bhttps?:\/\/[^\s<>"']+/gi;
  var MAX_MESSAGES = 200;

  // ---- storage: a convenience only, so every access tolerates private mode / full quota ----
  var prefix = cfg.storagePrefix + ":v1:";
  function load(area, key) {
    try {
      return JSON.parse(window[area].getItem(prefix + key));
    } catch (e) {
      return null;
    }
  }
  function save(area, key, value) {
    try {
      if (value === null) window[area].removeItem(prefix + key);
      else window[area].setItem(prefix + key, JSON.stringify(value));
    } catch (e) {
      /* history is lost on reload; the conversation itself still works */
    }
  }

  var state = {
    open: false,
    status: "idle", // idle | connecting | online | offline | denied | unconfigured
    socket: null,
    loading: false,
    ready: false, // connected AND session confirmed: only then may user_uttered be sent
    session: load("localStorage", "session"), // {id, started, savedAt}
    messages: [],
    unread: 0,
    typingTimer: null,
    staff: null, // {title} while clinic staff have taken over the chat (docs/widget.md)
    staffTypingTimer: null,
  };
  if (state.session && Date.now() - state.session.savedAt > cfg.historyHours * 3600e3) {
    save("localStorage", "log:" + state.session.id, null);
    state.session = null;
    save("localStorage", "session", null);
  }
  if (state.session) state.messages = load("localStorage", "log:" + state.session.id) || [];
  if (state.session) state.staff = load("localStorage", "staff:" + state.session.id);

  function persist() {
    if (!state.session) return; // before the first session_confirm there is no key yet
    state.session.savedAt = Date.now();
    save("localStorage", "session", state.session);
    save("localStorage", "log:" + state.session.id, state.messages.slice(-MAX_MESSAGES));
    save("localStorage", "staff:" + state.session.id, state.staff);
  }

  // ---- DOM helpers: text only ever goes through textContent / text nodes ----
  function h(tag, attrs, children) {
    var el = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      var v = attrs[k];
      if (v === null || v === undefined || v === false) return;
      if (k === "text") el.textContent = v;
      else if (k.slice(0, 2) === "on") el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? "" : v);
    });
    (children || []).forEach(function (c) {
      if (c) el.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
    return el;
  }

  var ICONS = {
    chat: "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z",
    close: "M6 6l12 12M18 6L6 18",
    send: "M4 12l16-8-6 16-2.5-6.5z",
    staff: "M12 12a4 4 0 1 0 0-8 4 4 0 0 0 0 8zM4 21a8 8 0 0 1 16 0",
    source: "M7 3h7l5 5v13H7zM14 3v5h5",
    offline: "M2 8.5a15 15 0 0 1 20 0M5.5 12a10 10 0 0 1 13 0M9 15.5a5 5 0 0 1 6 0M12 19h.01M3 3l18 18",
  };
  function icon(name) {
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    svg.setAttribute("class", "mw-icon");
    var path = document.createElementNS(ns, "path");
    path.setAttribute("d", ICONS[name]);
    svg.appendChild(path);
    return svg;
  }

  function safeUrl(raw) {
    try {
      var url = new URL(raw, location.href);
      return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
    } catch (e) {
      return null;
    }
  }

  // Plain text with bare http(s) URLs turned into safe links; nothing is parsed as HTML.
  function richText(text) {
    var frag = document.createDocumentFragment();
    var last = 0;
    text.replace(URL_IN_TEXT, function (match, offset) {
      var url = match.replace(/[.,;:!?)\]]+$/, ""); // sentence punctuation is not part of the link
      var href = safeUrl(url);
      frag.appendChild(document.createTextNode(text.slice(last, offset)));
      frag.appendChild(
        href
          ? h("a", { href: href, target: "_blank", rel: "noopener noreferrer", text: url })
          : document.createTextNode(url)
      );
      last = offset + url.length;
      return match;
    });
    frag.appendChild(document.createTextNode(text.slice(last)));
    return frag;
  }

  // "answer text\nSources: ..." -> ["answer text", "Sources: ..."]
  function splitSources(text) {
    var lines = text.split("\n");
    for (var i = lines.length - 1; i >= 0; i--) {
      if (SOURCES_LINE.test(lines[i])) {
        return [lines.slice(0, i).join("\n").replace(/\s+$/, ""), lines.slice(i).join("\n")];
      }
    }
    return [text, ""];
  }

  function formatTime(ts) {
    var d = new Date(ts);
    var time = d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    if (d.toDateString() === new Date().toDateString()) return time;
    return d.toLocaleDateString([], { day: "numeric", month: "short" }) + ", " + time;
  }

  // ---- build the widget in a shadow root so the clinic's CSS cannot restyle it ----
  var host = h("div", { id: "meso-widget" });
  host.style.visibility = "hidden"; // CSSOM, not a style attribute: allowed by a strict CSP
  var root = host.attachShadow({ mode: "open" });
  var stylesheet = h("link", { rel: "stylesheet", href: ASSET_BASE + "meso-widget.css" });
  function reveal() {
    host.style.visibility = "";
    if (state.open) scrollToBottom(); // the log only scrolls once its CSS has arrived
  }
  stylesheet.addEventListener("load", reveal);
  stylesheet.addEventListener("error", reveal);
  setTimeout(reveal, 4000); // never leave the patient without a launcher

  var unreadBadge = h("span", { class: "mw-badge", "aria-hidden": "true", hidden: true });
  var unreadText = h("span", { class: "mw-sr" });
  // The visible label is the accessible name (WCAG 2.5.3); on phones it is only visually hidden.
  var launcher = h(
    "button",
    {
      type: "button",
      class: "mw-launcher",
      "aria-expanded": "false",
      "aria-controls": "mw-panel",
      onclick: function () {
        state.open ? closePanel() : openPanel();
      },
    },
    [
      icon("chat"),
      icon("close"),
      h("span", { class: "mw-launcher-label", text: T.launcher }),
      unreadText,
      unreadBadge,
    ]
  );

  var statusText = h("span", { class: "mw-status-text", text: "" });
  var statusLine = h("p", { class: "mw-status", "data-state": "idle" }, [
    h("span", { class: "mw-dot", "aria-hidden": "true" }),
    statusText,
  ]);
  var staffButton = h(
    "button",
    { type: "button", class: "mw-staff", title: T.staffHint, onclick: talkToStaff },
    [icon("staff"), h("span", { text: T.staff })]
  );
  var closeButton = h(
    "button",
    { type: "button", class: "mw-close", "aria-label": T.closeChat, onclick: closePanel },
    [icon("close")]
  );
  var header = h("header", { class: "mw-header" }, [
    h("div", { class: "mw-heading" }, [
      h("h2", { id: "mw-title", class: "mw-title", text: cfg.title }),
      cfg.subtitle ? h("p", { class: "mw-subtitle", text: cfg.subtitle }) : null,
      statusLine,
    ]),
    staffButton,
    closeButton,
  ]);

  var bannerText = h("p", { class: "mw-banner-text" });
  var retryButton = h("button", {
    type: "button",
    class: "mw-retry",
    text: T.retry,
    onclick: function () {
      connect(true);
    },
  });
  // role=status so the change to offline is announced once, not on every retry
  var banner = h("div", { class: "mw-banner", role: "status" }, [icon("offline"), bannerText, retryButton]);
  banner.hidden = true;

  // Live takeover: who the patient is talking to, and when staff are typing.
  var staffBarText = h("span", { class: "mw-staffbar-text" });
  var staffBar = h("p", { class: "mw-staffbar", role: "status" }, [icon("staff"), staffBarText]);
  staffBar.hidden = true;
  var staffTyping = h("p", { class: "mw-staff-typing", "aria-live": "off", text: T.staffTyping });
  staffTyping.hidden = true;

  // The log is also the scroll container, focusable so keyboard users can scroll history.
  var log = h("div", {
    class: "mw-log",
    role: "log",
    "aria-live": "polite",
    "aria-relevant": "additions",
    "aria-label": T.log,
    tabindex: "0",
  });
  // Last child of the log but aria-hidden: showing it must not be announced as a message.
  var typing = h("div", { class: "mw-typing", "aria-hidden": "true", hidden: true }, [
    h("span"),
    h("span"),
    h("span"),
  ]);

  var input = h("textarea", {
    id: "mw-input",
    class: "mw-input",
    rows: "1",
    maxlength: "1000",
    placeholder: T.placeholder,
    "aria-label": T.inputLabel,
    autocomplete: "off",
  });
  var sendButton = h("button", { type: "submit", class: "mw-send", "aria-label": T.send }, [icon("send")]);
  var composer = h("form", { class: "mw-composer", onsubmit: onSubmit }, [input, sendButton]);

  var panel = h(
    "section",
    {
      id: "mw-panel",
      class: "mw-panel",
      role: "dialog",
      "aria-labelledby": "mw-title",
      tabindex: "-1",
      hidden: true,
    },
    [header, banner, staffBar, log, staffTyping, composer, h("p", { class: "mw-footer", text: T.footer })]
  );
  root.appendChild(stylesheet);
  root.appendChild(h("div", { class: "mw-root" }, [panel, launcher]));

  // The clinic picks the colour; we pick readable text on it (WCAG contrast), so a light
  // brand colour does not produce white-on-yellow buttons.
  function applyColor(color) {
    if (!color || !(window.CSS && CSS.supports("color", color))) return;
    host.style.setProperty("--mw-primary", color);
    var probe = document.createElement("span");
    probe.style.color = color;
    document.body.appendChild(probe);
    var rgb = (getComputedStyle(probe).color.match(/\d+(\.\d+)?/g) || []).slice(0, 3).map(Number);
    probe.remove();
    if (rgb.length !== 3) return;
    var lum = rgb
      .map(function (c) {
        c /= 255;
        return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
      })
      .reduce(function (sum, c, i) {
        return sum + c * [0.2126, 0.7152, 0.0722][i];
      }, 0);
    var onWhite = 1.05 / (lum + 0.05);
    var onDark = (lum + 0.05) / 0.05;
    host.style.setProperty("--mw-on-primary", onWhite >= onDark ? "#ffffff" : "#111827");
  }

  // ---- rendering ----
  var nodes = {}; // message id -> row element, for in-place updates (citations, pending)

  function renderMessage(msg) {
    var bubble = h("div", { class: "mw-bubble" }, [
      h("span", { class: "mw-sr", text: msg.from === "user" ? T.you : msg.staff ? T.staffSaid : T.bot }),
    ]);
    if (msg.staff) bubble.appendChild(h("p", { class: "mw-staff-name", "aria-hidden": "true", text: staffLabel(msg.staff) }));
    if (msg.image) {
      bubble.appendChild(h("img", { src: msg.image, alt: "", class: "mw-image", loading: "lazy" }));
    }
    if (msg.text) {
      var parts = splitSources(msg.text);
      bubble.appendChild(h("p", { class: "mw-text" }, [richText(parts[0] || msg.text)]));
      if (parts[0] && parts[1]) {
        bubble.appendChild(h("p", { class: "mw-sources-text", hidden: !!msg.sources }, [richText(parts[1])]));
      }
    }
    var rowClass = "mw-row mw-" + msg.from + (msg.staff ? " mw-from-staff" : "") + (msg.notice ? " mw-notice" : "");
    var row = h("div", { class: rowClass, "data-id": msg.id, hidden: !!msg.hidden }, [
      bubble,
      h("div", { class: "mw-meta" }, [
        h("time", { datetime: new Date(msg.ts).toISOString(), text: formatTime(msg.ts) }),
        msg.pending ? h("span", { class: "mw-pending", text: " · " + T.queued }) : null,
      ]),
    ]);
    if (msg.sources) renderSources(row, msg.sources);
    nodes[msg.id] = row;
    return row;
  }

  function renderSources(row, sources) {
    if (!sources.length || row.querySelector(".mw-cites")) return;
    var list = h("ul", { class: "mw-cites-list" });
    sources.forEach(function (s) {
      var href = s.url ? safeUrl(s.url) : null;
      var title = href
        ? h("a", { href: href, target: "_blank", rel: "noopener noreferrer", text: s.title })
        : h("span", { class: "mw-cite-title", text: s.title });
      list.appendChild(
        h("li", { class: "mw-cite", "data-source-id": s.id }, [
          icon("source"),
          h("span", {}, [
            title,
            s.publisher ? h("span", { class: "mw-cite-publisher", text: s.publisher }) : null,
          ]),
        ])
      );
    });
    var block = h("div", { class: "mw-cites", role: "group", "aria-label": T.sources }, [
      h("p", { class: "mw-cites-label", "aria-hidden": "true", text: T.sources }),
      list,
    ]);
    row.querySelector(".mw-bubble").appendChild(block);
  }

  function renderReplies(msg) {
    var row = nodes[msg.id];
    if (!row || !msg.replies || !msg.replies.length) return;
    var group = h("div", { class: "mw-replies", role: "group", "aria-label": T.suggestions });
    msg.replies.forEach(function (r) {
      group.appendChild(
        h("button", {
          type: "button",
          class: "mw-reply",
          text: r.title,
          onclick: function () {
            sendUser(r.payload, r.title);
            input.focus(); // the clicked button is gone with its group; don't drop focus to <body>
          },
        })
      );
    });
    row.appendChild(group);
  }

  // Quick replies belong to the current turn only: once the patient answers, they go.
  function clearReplies() {
    Array.prototype.forEach.call(log.querySelectorAll(".mw-replies"), function (g) {
      g.remove();
    });
  }

  function markGrouping(row) {
    // Consecutive messages from the same side within two minutes share one timestamp.
    var prev = row.previousElementSibling;
    while (prev && prev.hidden) prev = prev.previousElementSibling;
    if (!prev) return;
    var a = state.messages.find(function (m) { return m.id === prev.getAttribute("data-id"); });
    var b = state.messages.find(function (m) { return m.id === row.getAttribute("data-id"); });
    if (a && b && a.from === b.from && b.ts - a.ts < 120e3) {
      prev.classList.add("mw-cont");
      row.classList.add("mw-follow");
    }
  }

  function renderAll() {
    log.textContent = "";
    log.appendChild(typing);
    nodes = {};
    state.messages.forEach(function (m) {
      var row = renderMessage(m);
      log.insertBefore(row, typing);
      markGrouping(row);
    });
    // replies stay only on the bot messages after the patient's last message
    for (var i = state.messages.length - 1; i >= 0 && state.messages[i].from === "bot"; i--) {
      renderReplies(state.messages[i]);
    }
  }

  function isNearBottom() {
    return log.scrollHeight - log.scrollTop - log.clientHeight < 80;
  }
  function scrollToBottom() {
    log.scrollTop = log.scrollHeight;
  }

  function addMessage(msg) {
    var stick = isNearBottom() || msg.from === "user";
    msg.id = msg.id || Date.now().toString(36) + Math.random().toString(36).slice(2, 7);
    msg.ts = msg.ts || Date.now();
    if (msg.from === "user") clearReplies();
    state.messages.push(msg);
    var row = renderMessage(msg);
    log.insertBefore(row, typing);
    markGrouping(row);
    renderReplies(msg);
    if (stick) scrollToBottom();
    persist();
    return msg;
  }

  // ---- typing indicator ----
  function showTyping() {
    typing.hidden = false;
    if (isNearBottom()) scrollToBottom();
    clearTimeout(state.typingTimer);
    // The bot may not answer (action server down); don't suggest it is still writing.
    state.typingTimer = setTimeout(hideTyping, 25000);
  }
  function hideTyping() {
    typing.hidden = true;
    clearTimeout(state.typingTimer);
  }

  // ---- connection status ----
  function setStatus(status) {
    state.status = status;
    statusLine.setAttribute("data-state", status);
    statusText.textContent =
      { online: T.online, offline: T.offline, denied: T.denied, unconfigured: T.denied }[status] ||
      T.connecting;
    var bannerMsg = { offline: T.offlineBanner, denied: T.deniedBanner, unconfigured: T.unconfiguredBanner }[
      status
    ];
    banner.hidden = !bannerMsg;
    bannerText.textContent = bannerMsg || "";
    retryButton.hidden = status !== "offline";
    // Queueing makes sense while we retry; when access is refused nothing would ever send.
    var blocked = status === "denied" || status === "unconfigured";
    input.disabled = blocked;
    sendButton.disabled = blocked;
    staffButton.disabled = blocked;
    if (status !== "online") hideTyping();
  }

  // ---- socket.io ----
  function loadSocketIo(done) {
    var previous = window.io; // a host page may use its own (other version of) socket.io
    var tag = h("script", { src: ASSET_BASE + "vendor/socket.io.min.js", async: true });
    tag.onload = function () {
      var io = window.io;
      if (previous === undefined) delete window.io;
      else window.io = previous;
      done(typeof io === "function" ? io : null);
    };
    tag.onerror = function () {
      done(null);
    };
    document.head.appendChild(tag);
  }

  function connect(manual) {
    if (!cfg.serverUrl) return setStatus("unconfigured");
    if (state.socket) {
      if (!state.socket.connected) {
        setStatus("connecting");
        // While a backoff timer is pending, connect() alone would just wait for it: a
        // manual retry restarts the manager so it tries at once.
        if (manual) state.socket.disconnect();
        state.socket.connect();
      }
      return;
    }
    if (state.loading) return;
    state.loading = true;
    setStatus("connecting");
    loadSocketIo(function (io) {
      state.loading = false;
      if (!io) {
        setStatus("offline");
        if (!manual) setTimeout(connect, 5000); // the web server may be restarting
        return;
      }
      openSocket(io);
    });
  }

  function openSocket(io) {
    var opts = {
      path: cfg.socketPath,
      reconnection: true, // unlimited attempts, backing off to 10 s
      reconnectionDelay: 1000,
      reconnectionDelayMax: 10000,
      timeout: 10000,
    };
    if (cfg.transports) opts.transports = cfg.transports;
    if (cfg.token) {
      // A function is called on every (re)connect so the page can hand over a fresh token.
      opts.auth = function (cb) {
        cb({ token: typeof cfg.token === "function" ? cfg.token() : cfg.token });
      };
    }
    var socket = io(cfg.serverUrl, opts);
    state.socket = socket;

    socket.on("connect", function () {
      setStatus("connecting");
      // Rasa joins this socket to the session's room; replies are sent to the room.
      socket.emit("session_request", { session_id: state.session ? state.session.id : null });
    });
    socket.on("session_confirm", onSessionConfirm);
    socket.on(cfg.botEvent, onBotMessage);
    socket.on("staff_typing", function (data) {
      if (data && data.typing === false) hideStaffTyping();
      else showStaffTyping();
    });
    socket.on("disconnect", function (reason) {
      state.ready = false;
      setStatus("offline");
      if (reason === "io server disconnect") socket.connect(); // the client won't retry by itself
    });
    socket.on("connect_error", function () {
      state.ready = false;
      // `active` is false when the server refused us (e.g. bad JWT): retrying won't help.
      setStatus(socket.active ? "offline" : "denied");
    });
  }

  function onSessionConfirm(data) {
    var id = data && typeof data === "object" ? data.session_id : data;
    if (!id) return;
    if (!state.session || state.session.id !== id) {
      state.session = { id: String(id), started: false, savedAt: Date.now() };
    }
    state.ready = true;
    setStatus("online");
    if (!state.session.started) {
      state.session.started = true;
      if (cfg.initialPayload) emit(cfg.initialPayload);
    }
    persist();
    // messages typed while offline, in order
    state.messages.forEach(function (m) {
      if (m.pending) deliver(m);
    });
  }

  function emit(payload) {
    var data = { message: payload, session_id: state.session.id };
    if (cfg.metadata) data.metadata = cfg.metadata;
    state.socket.emit(cfg.userEvent, data);
    if (!state.staff) showTyping(); // a person answers in their own time: no bot dots
  }

  // ---- live takeover (clinic staff in the chat) ----
  function staffLabel(title) {
    var t = String(title || "");
    return t ? T.staffName + " · " + t.charAt(0).toUpperCase() + t.slice(1) : T.staffName;
  }

  function setStaff(staff) {
    state.staff = staff;
    staffBar.hidden = !staff;
    staffBarText.textContent = staff ? T.staffConnected + " (" + staff.title + ")" : "";
    root.querySelector(".mw-root").classList.toggle("mw-with-staff", !!staff);
    staffButton.hidden = !!staff; // already talking to staff
    if (!staff) hideStaffTyping();
    persist();
  }

  function showStaffTyping() {
    if (!state.staff) return;
    staffTyping.hidden = false;
    clearTimeout(state.staffTypingTimer);
    // The staff app repeats the event every few seconds while they type.
    state.staffTypingTimer = setTimeout(hideStaffTyping, 6000);
  }
  function hideStaffTyping() {
    staffTyping.hidden = true;
    clearTimeout(state.staffTypingTimer);
  }

  // A takeover payload follows the text it belongs to: mark that message.
  function onTakeover(meta) {
    var last = state.messages[state.messages.length - 1];
    if (meta.kind === "staff_message") {
      hideStaffTyping();
      if (last && last.from === "bot") last.staff = String(meta.title || "");
    } else if (last && last.from === "bot") {
      last.notice = true;
    }
    if (meta.kind === "takeover") setStaff(meta.state === "joined" ? { title: String(meta.title || "") } : null);
    var old = last && nodes[last.id];
    if (old) {
      var fresh = renderMessage(last); // also points nodes[last.id] at the new row
      ["mw-cont", "mw-follow"].forEach(function (c) {
        if (old.classList.contains(c)) fresh.classList.add(c); // keep the timestamp grouping
      });
      log.replaceChild(fresh, old);
      renderReplies(last);
    }
    persist();
  }

  function deliver(msg) {
    emit(msg.payload);
    delete msg.payload; // the payload (e.g. an intent) is not part of the visible transcript
    msg.pending = false;
    var pending = nodes[msg.id] && nodes[msg.id].querySelector(".mw-pending");
    if (pending) pending.remove();
    persist();
  }

  function sendUser(payload, display) {
    var text = String(payload || "").trim();
    if (!text || state.status === "denied" || state.status === "unconfigured") return;
    var msg = addMessage({ from: "user", text: display || text, payload: text, pending: true });
    if (state.ready) deliver(msg);
    else if (!state.socket) connect(); // otherwise socket.io is already retrying; it's queued
  }

  function talkToStaff() {
    sendUser(cfg.staffPayload, T.staff);
    input.focus();
  }

  function onBotMessage(data) {
    if (!data || typeof data !== "object") return;
    if (data.data && typeof data.data === "object" && data.data.kind) data = data.data;
    if (data.kind === "answer_meta") return attachSources(data);
    if (data.kind === "takeover" || data.kind === "staff_message") return onTakeover(data);
    hideTyping();
    if (typeof data.text === "string" && data.text.trim()) {
      var replies = (data.quick_replies || data.buttons || [])
        .filter(function (r) { return r && r.title && r.payload; })
        .map(function (r) { return { title: String(r.title), payload: String(r.payload) }; });
      addMessage({ from: "bot", text: data.text, replies: replies.length ? replies : null });
    } else if (data.attachment && data.attachment.type === "image" && data.attachment.payload) {
      var src = safeUrl(data.attachment.payload.src);
      if (src) addMessage({ from: "bot", image: src });
    } else {
      return; // other custom payloads are for other clients
    }
    if (!state.open) {
      state.unread += 1;
      unreadBadge.hidden = false;
      unreadBadge.textContent = String(state.unread);
      unreadText.textContent = " (" + state.unread + " " + T.newMessages + ")";
    }
  }

  // answer_meta follows the answer's text. Rasa splits text on blank lines, so the
  // "Sources:" line is either the last line of the answer or a message of its own
  // (which then also carries the quick replies).
  function attachSources(meta) {
    var sources = (Array.isArray(meta.sources) ? meta.sources : [])
      .filter(function (s) { return s && s.title; })
      .map(function (s) {
        return { id: String(s.id || ""), title: String(s.title), publisher: s.publisher ? String(s.publisher) : null, url: s.url || null };
      });
    var turn = [];
    for (var i = state.messages.length - 1; i >= 0 && state.messages[i].from === "bot"; i--) {
      if (state.messages[i].sources) break; // an earlier answer of the same turn
      turn.unshift(state.messages[i]);
    }
    var sourcesOnly = turn.filter(function (m) { return m.text && SOURCES_LINE.test(m.text); });
    var bodies = turn.filter(function (m) { return m.text && !SOURCES_LINE.test(m.text); });
    var target = bodies[bodies.length - 1];
    // Without sources or an answer to hang them on, leave the "Sources:" text visible.
    if (!target || !sources.length) return;
    var stick = isNearBottom();
    target.sources = sources;
    var row = nodes[target.id];
    var line = row && row.querySelector(".mw-sources-text");
    if (line) line.hidden = true;
    if (row) renderSources(row, sources);
    sourcesOnly.forEach(function (m) {
      m.hidden = true;
      var hiddenRow = nodes[m.id];
      if (hiddenRow) hiddenRow.hidden = true;
      if (m.replies && !target.replies) {
        // the quick replies came with the hidden "Sources:" part: move them up
        target.replies = m.replies;
        var group = hiddenRow && hiddenRow.querySelector(".mw-replies");
        if (group) group.remove();
        renderReplies(target);
      }
      m.replies = null;
    });
    if (stick) scrollToBottom();
    persist();
  }

  // ---- panel, keyboard and focus ----
  var mobile = window.matchMedia("(max-width: 520px)");

  function openPanel() {
    state.open = true;
    panel.hidden = false;
    launcher.setAttribute("aria-expanded", "true");
    launcher.setAttribute("aria-label", T.closeChat);
    root.querySelector(".mw-root").classList.add("mw-is-open");
    // full screen on phones: behave as a modal dialog there
    if (mobile.matches) panel.setAttribute("aria-modal", "true");
    else panel.removeAttribute("aria-modal");
    state.unread = 0;
    unreadBadge.hidden = true;
    unreadText.textContent = "";
    save("sessionStorage", "open", true);
    scrollToBottom();
    if (!state.socket) connect();
    requestAnimationFrame(function () {
      scrollToBottom();
      // On phones a focused input pops up the keyboard over the greeting: focus the dialog.
      (mobile.matches || input.disabled ? panel : input).focus();
    });
  }

  function closePanel() {
    state.open = false;
    panel.hidden = true;
    launcher.setAttribute("aria-expanded", "false");
    launcher.removeAttribute("aria-label");
    root.querySelector(".mw-root").classList.remove("mw-is-open");
    save("sessionStorage", "open", null);
    launcher.focus();
  }

  function onSubmit(event) {
    event.preventDefault();
    var text = input.value;
    if (!text.trim()) return;
    input.value = "";
    autoGrow();
    sendUser(text);
  }

  function autoGrow() {
    input.style.height = "auto";
    input.style.height = Math.min(input.scrollHeight, 120) + "px";
  }

  input.addEventListener("input", autoGrow);
  input.addEventListener("keydown", function (event) {
    // Enter sends, Shift+Enter adds a line; never while an IME is composing a word.
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      composer.requestSubmit ? composer.requestSubmit() : onSubmit(event);
    }
  });
  // Esc also works when a focused node inside the panel vanished and focus fell to <body>.
  document.addEventListener("keydown", function (event) {
    var active = document.activeElement;
    if (event.key === "Escape" && state.open && (active === document.body || active === host)) {
      closePanel();
    }
  });
  panel.addEventListener("keydown", function (event) {
    if (event.key === "Escape") {
      event.preventDefault();
      closePanel();
    } else if (event.key === "Tab" && panel.getAttribute("aria-modal") === "true") {
      // keep focus inside the full-screen panel; the page behind it is covered
      var items = Array.prototype.filter.call(
        panel.querySelectorAll("button, textarea, a[href], [tabindex='0']"),
        function (el) { return !el.disabled && el.offsetParent !== null; }
      );
      var first = items[0];
      var last = items[items.length - 1];
      var active = root.activeElement;
      if (event.shiftKey && active === first) {
        event.preventDefault();
        last.focus();
      } else if (!event.shiftKey && active === last) {
        event.preventDefault();
        first.focus();
      }
    }
  });

  // Any element of the clinic's page with data-meso-widget-open opens the chat.
  document.addEventListener("click", function (event) {
    var trigger = event.target.closest && event.target.closest("[data-meso-widget-open]");
    if (trigger) {
      event.preventDefault();
      openPanel();
    }
  });

  function mount() {
    (cfg.container ? document.querySelector(cfg.container) : document.body).appendChild(host);
    applyColor(cfg.primaryColor);
    renderAll();
    setStaff(state.staff);
    setStatus(cfg.serverUrl ? "idle" : "unconfigured");
    if (cfg.openOnLoad || load("sessionStorage", "open")) openPanel();
  }

  // Small public API for the clinic page ("Chat with us" links) and for tests.
  window.MesoWidget = {
    open: openPanel,
    close: closePanel,
    send: function (text) {
      sendUser(text);
    },
    talkToStaff: talkToStaff,
    reset: function () {
      if (state.session) save("localStorage", "log:" + state.session.id, null);
      save("localStorage", "session", null);
      state.session = null;
      state.messages = [];
      setStaff(null);
      renderAll();
      if (state.socket) state.socket.disconnect().connect();
    },
    get status() {
      return state.status;
    },
    get staff() {
      return state.staff;
    },
  };

  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);
})();
