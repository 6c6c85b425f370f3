/*!
 * supportbot chat widget: I One Tech Solutions. Apache-2.0.
 *
 * Embed with one tag:
 *   <script src="https://support.example.com/widget.js" defer></script>
 * Optional attributes on that tag:
 *   data-title="I One Tech Support"   title shown in the header
 *   data-open="true"                  start with the chat panel open
 *   data-server="https://host/prefix" server base URL (default: the origin this script came from)
 * Any element of the host page with a `data-supportbot-open` attribute opens the chat when clicked.
 * A small API is exposed as window.SupportBotWidget: open(), close(), toggle(), sessionId.
 *
 * Plain JavaScript, no dependencies, no build step. Talks Socket.IO (Engine.IO v4) over a plain
 * WebSocket to Rasa's SocketIO channel (`session_request`/`session_confirm`, `user_uttered`/
 * `bot_uttered`), and falls back to Rasa's REST channel (POST /webhooks/rest/webhook).
 *
 * Security: every piece of text (the customer's, the bot's, button titles) is put in the page with
 * textContent / createTextNode, never as HTML.
 */
(function () {
  "use strict";

  if (window.SupportBotWidget && window.SupportBotWidget.loaded) return; // included twice
  if (!document.body && !document.documentElement) return;

  // ---------------------------------------------------------------- configuration
  var script = document.currentScript;
  if (!script) {
    var candidates = document.querySelectorAll('script[src*="widget.js"]');
    script = candidates.length ? candidates[candidates.length - 1] : null;
  }
  function attr(name) {
    return script ? script.getAttribute(name) : null;
  }
  function serverBase() {
    var explicit = attr("data-server");
    try {
      if (explicit) return new URL(explicit, location.href).href.replace(/\/+$/, "");
      if (script && script.src) return new URL(script.src, location.href).origin;
    } catch (e) { /* fall through */ }
    return location.origin;
  }

  var SERVER = serverBase();
  var WS_URL = SERVER.replace(/^http/i, "ws") + "/socket.io/?EIO=4&transport=websocket";
  var REST_URL = SERVER + "/webhooks/rest/webhook";
  var TITLE = (attr("data-title") || "").trim() || "I One Tech Support";
  var START_OPEN = /^(true|1|yes|open)$/i.test(attr("data-open") || "");
  // The customer's language: data-lang on the script tag, else the page's <html lang>. Sent with every
  // message as metadata.language; the server answers in it (en or km) and keeps it for the conversation.
  var LANG = ((attr("data-lang") || document.documentElement.lang || "").trim().toLowerCase().split(/[-_]/)[0]) || "";
  var UI_TEXTS = {
    en: {
      close: "Close chat", conversation: "Conversation", typeLabel: "Type your message",
      placeholder: "Type your message…", sendLabel: "Send message", send: "Send",
      minimize: "Minimize chat", openWith: "Open chat with ", chat: "Chat with us",
      newOne: " new message)", newMany: " new messages)", suggested: "Suggested replies",
      sending: "Sending…", reconnecting: "Reconnecting…"
    },
    km: {
      close: "បិទការជជែក", conversation: "ការសន្ទនា", typeLabel: "វាយសាររបស់អ្នក",
      placeholder: "វាយសាររបស់អ្នក…", sendLabel: "ផ្ញើសារ", send: "ផ្ញើ",
      minimize: "បង្រួមការជជែក", openWith: "បើកការជជែកជាមួយ ", chat: "ជជែកជាមួយយើង",
      newOne: " សារថ្មី)", newMany: " សារថ្មី)", suggested: "ចម្លើយដែលបានណែនាំ",
      sending: "កំពុងផ្ញើ…", reconnecting: "កំពុងភ្ជាប់ឡើងវិញ…"
    }
  };
  var UI = UI_TEXTS[LANG] || UI_TEXTS.en;
  function withLanguage(data) {
    if (LANG) data.metadata = { language: LANG };
    return data;
  }

  var BACKOFF_MS = 1000; // 1 s, 2 s, 4 s, ... capped at MAX_BACKOFF_MS
  var MAX_BACKOFF_MS = 30000;
  var WS_FAILURES_BEFORE_REST = 3;
  var CONNECT_TIMEOUT_MS = 10000;
  var CONFIRM_TIMEOUT_MS = 3000;
  var TYPING_TIMEOUT_MS = 15000;
  var MAX_HISTORY = 200;
  var MAX_MESSAGE_LENGTH = 4000; // the server cuts longer messages (and says so)

  var KEY_SESSION = "supportbot:session_id";
  var KEY_HISTORY = "supportbot:history";
  var KEY_OUTBOX = "supportbot:outbox";
  var KEY_GREETED = "supportbot:greeted";
  var KEY_OPEN = "supportbot:open"; // sessionStorage: the panel stays open across reloads of a tab

  // ---------------------------------------------------------------- storage
  function makeStore(kind) {
    var memory = {};
    var backend = null;
    try {
      backend = window[kind];
      backend.setItem("supportbot:probe", "1");
      backend.removeItem("supportbot:probe");
    } catch (e) {
      backend = null; // blocked (privacy settings, sandboxed iframe): keep it in memory
    }
    return {
      get: function (key) {
        try {
          if (backend) return backend.getItem(key);
        } catch (e) { /* ignore */ }
        return Object.prototype.hasOwnProperty.call(memory, key) ? memory[key] : null;
      },
      set: function (key, value) {
        memory[key] = value;
        try {
          if (backend) backend.setItem(key, value);
        } catch (e) { /* quota: memory copy still works */ }
      },
      getJSON: function (key, fallback) {
        try {
          var raw = this.get(key);
          return raw ? JSON.parse(raw) : fallback;
        } catch (e) {
          return fallback;
        }
      },
      setJSON: function (key, value) {
        this.set(key, JSON.stringify(value));
      }
    };
  }
  var store = makeStore("localStorage");
  var tabStore = makeStore("sessionStorage");

  function uuid() {
    var c = window.crypto || window.msCrypto;
    if (c && typeof c.randomUUID === "function") {
      try {
        return c.randomUUID();
      } catch (e) { /* insecure context: fall back */ }
    }
    var bytes = new Array(16);
    if (c && typeof c.getRandomValues === "function") {
      var buf = new Uint8Array(16);
      c.getRandomValues(buf);
      for (var i = 0; i < 16; i++) bytes[i] = buf[i];
    } else {
      for (var j = 0; j < 16; j++) bytes[j] = Math.floor(Math.random() * 256);
    }
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var hex = bytes.map(function (b) { return (b + 0x100).toString(16).slice(1); }).join("");
    return hex.slice(0, 8) + "-" + hex.slice(8, 12) + "-" + hex.slice(12, 16) + "-" +
      hex.slice(16, 20) + "-" + hex.slice(20);
  }

  var sessionId = store.get(KEY_SESSION);
  if (!sessionId || !/^[A-Za-z0-9_.:-]{8,128}$/.test(sessionId)) {
    sessionId = uuid();
    store.set(KEY_SESSION, sessionId);
  }

  // history entries: {id, from: "user"|"bot"|"system", text, buttons: [{title, payload}], used, pending}
  var history = store.getJSON(KEY_HISTORY, null);
  if (!history || history.session !== sessionId || !Array.isArray(history.messages)) {
    history = { session: sessionId, messages: [] };
  }
  // outbox entries: {id, text, msgId (the log entry to mark as sent, or null for hidden payloads)}
  var outbox = store.getJSON(KEY_OUTBOX, null);
  if (!outbox || outbox.session !== sessionId || !Array.isArray(outbox.items)) {
    outbox = { session: sessionId, items: [] };
  }
  // The server mints session ids and confirms the one this browser speaks for (`session_confirm`,
  // or `recipient_id` of REST replies); an id it did not mint is replaced, and kept from then on.
  function adoptSession(confirmed) {
    var id = confirmed && typeof confirmed === "object" ? confirmed.session_id : confirmed;
    if (typeof id !== "string" || id === sessionId || !/^[A-Za-z0-9_.:-]{8,128}$/.test(id)) return;
    if (store.get(KEY_GREETED) === sessionId) store.set(KEY_GREETED, id);
    sessionId = id;
    store.set(KEY_SESSION, id);
    history.session = id;
    outbox.session = id;
    store.setJSON(KEY_HISTORY, history);
    store.setJSON(KEY_OUTBOX, outbox);
    if (window.SupportBotWidget) window.SupportBotWidget.sessionId = id;
  }
  function saveHistory() {
    if (history.messages.length > MAX_HISTORY) {
      history.messages = history.messages.slice(history.messages.length - MAX_HISTORY);
    }
    store.setJSON(KEY_HISTORY, history);
  }
  function saveOutbox() {
    store.setJSON(KEY_OUTBOX, outbox);
  }

  // ---------------------------------------------------------------- styles
  var P = "sbw"; // class prefix, also protects the no-Shadow-DOM fallback
  var CSS = [
    ":host{all:initial}",
    ".sbw-root{all:initial;position:fixed;z-index:2147483000;right:0;bottom:0;",
    "font-family:system-ui,-apple-system,'Segoe UI',Roboto,'Noto Sans','Noto Sans Khmer','Helvetica Neue',Arial,sans-serif;",
    "font-size:15px;line-height:1.45;color:#1f2933;-webkit-font-smoothing:antialiased;text-align:left;direction:ltr}",
    ".sbw-root *,.sbw-root *::before,.sbw-root *::after{box-sizing:border-box}",
    ".sbw-root [hidden]{display:none !important}",
    ".sbw-sr{position:absolute !important;width:1px;height:1px;padding:0;margin:-1px;overflow:hidden;",
    "clip:rect(0 0 0 0);white-space:nowrap;border:0}",
    ".sbw-root button{font:inherit;margin:0;cursor:pointer;-webkit-tap-highlight-color:transparent}",
    ".sbw-root button:focus-visible{outline:3px solid #f4b400;outline-offset:2px}",

    /* launcher */
    ".sbw-launcher{position:fixed;right:20px;bottom:20px;width:60px;height:60px;border-radius:50%;border:0;",
    "background:#1f4e96;color:#fff;display:flex;align-items:center;justify-content:center;",
    "box-shadow:0 6px 20px rgba(16,42,84,.35);transition:transform .15s ease,background .15s ease}",
    ".sbw-launcher:hover{background:#183f7a;transform:translateY(-1px)}",
    ".sbw-launcher svg{width:28px;height:28px;fill:currentColor}",
    ".sbw-badge{position:absolute;top:-2px;right:-2px;min-width:22px;height:22px;padding:0 6px;border-radius:11px;",
    "background:#d93025;color:#fff;font-size:12px;font-weight:700;line-height:22px;text-align:center;border:2px solid #fff}",

    /* panel */
    ".sbw-panel{position:fixed;right:20px;bottom:92px;width:380px;height:600px;max-height:calc(100vh - 112px);",
    "display:flex;flex-direction:column;background:#fff;border-radius:16px;overflow:hidden;",
    "box-shadow:0 12px 40px rgba(16,42,84,.28),0 2px 6px rgba(16,42,84,.12);border:1px solid #dfe5ee;",
    "animation:sbw-in .18s ease-out}",
    ".sbw-panel:focus{outline:none}",
    "@keyframes sbw-in{from{opacity:0;transform:translateY(12px)}to{opacity:1;transform:none}}",
    ".sbw-header{display:flex;align-items:center;gap:12px;padding:14px 14px 14px 16px;background:#1f4e96;color:#fff;flex:none}",
    ".sbw-avatar{width:38px;height:38px;border-radius:50%;background:#fff;color:#1f4e96;flex:none;",
    "display:flex;align-items:center;justify-content:center;font-weight:800;font-size:14px;letter-spacing:.5px}",
    ".sbw-heading{flex:1;min-width:0}",
    ".sbw-title{margin:0;font-size:16px;font-weight:700;line-height:1.25;color:#fff;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}",
    ".sbw-subtitle{margin:2px 0 0;font-size:12.5px;color:#d6e2f5;line-height:1.3}",
    ".sbw-close{width:36px;height:36px;border-radius:8px;border:0;background:transparent;color:#fff;flex:none;",
    "display:flex;align-items:center;justify-content:center}",
    ".sbw-close:hover{background:rgba(255,255,255,.16)}",
    ".sbw-close svg{width:20px;height:20px;fill:currentColor}",
    ".sbw-header .sbw-close:focus-visible{outline-color:#fff}",
    ".sbw-status{flex:none;padding:6px 16px;font-size:12.5px;background:#fff6e0;color:#6b4e00;border-bottom:1px solid #f2e2b3}",

    /* conversation */
    ".sbw-body{flex:1;min-height:0;overflow-y:auto;padding:16px 14px 8px;background:#f6f8fb;",
    "overscroll-behavior:contain}",
    ".sbw-log{list-style:none;margin:0;padding:0;display:flex;flex-direction:column;gap:10px}",
    ".sbw-msg{display:flex;flex-direction:column;max-width:100%}",
    ".sbw-msg-user{align-items:flex-end}",
    ".sbw-msg-bot{align-items:flex-start}",
    ".sbw-msg-system{align-items:center}",
    ".sbw-bubble{max-width:82%;padding:9px 13px;border-radius:16px;white-space:pre-wrap;overflow-wrap:anywhere;word-break:break-word}",
    ".sbw-msg-user .sbw-bubble{background:#1f4e96;color:#fff;border-bottom-right-radius:4px}",
    ".sbw-msg-bot .sbw-bubble{background:#fff;color:#1f2933;border:1px solid #e1e7ef;border-bottom-left-radius:4px}",
    ".sbw-msg-system .sbw-bubble{background:transparent;color:#5b6675;font-size:12.5px;padding:2px 8px;text-align:center}",
    ".sbw-msg-pending .sbw-bubble{opacity:.65}",
    ".sbw-meta{font-size:11.5px;color:#5b6675;margin-top:3px}",
    ".sbw-replies{display:flex;flex-wrap:wrap;gap:6px;margin-top:8px;max-width:92%}",
    ".sbw-reply{border:1.5px solid #1f4e96;background:#fff;color:#1f4e96;border-radius:18px;padding:6px 14px;",
    "font-size:14px;font-weight:600;line-height:1.3;text-align:left;white-space:pre-wrap;overflow-wrap:anywhere}",
    ".sbw-reply:hover:not(:disabled){background:#eaf1fb}",
    ".sbw-reply:disabled{cursor:default;border-color:#c9d2de;color:#6b7684;background:#f3f5f8}",
    ".sbw-reply.sbw-chosen:disabled{border-color:#1f4e96;color:#1f4e96;background:#eaf1fb}",

    /* typing indicator */
    ".sbw-typing{display:flex;align-items:center;gap:4px;width:58px;padding:12px 14px;margin-top:10px;background:#fff;",
    "border:1px solid #e1e7ef;border-radius:16px;border-bottom-left-radius:4px}",
    ".sbw-dot{width:7px;height:7px;border-radius:50%;background:#8792a2;animation:sbw-blink 1.2s infinite ease-in-out}",
    ".sbw-dot:nth-child(2){animation-delay:.2s}.sbw-dot:nth-child(3){animation-delay:.4s}",
    "@keyframes sbw-blink{0%,80%,100%{opacity:.3;transform:translateY(0)}40%{opacity:1;transform:translateY(-3px)}}",

    /* composer */
    ".sbw-form{flex:none;display:flex;align-items:flex-end;gap:8px;padding:10px 12px;border-top:1px solid #e1e7ef;background:#fff;margin:0}",
    ".sbw-input{flex:1;min-width:0;resize:none;border:1.5px solid #c9d2de;border-radius:12px;padding:9px 12px;",
    "font:inherit;font-size:15px;line-height:1.4;color:#1f2933;background:#fff;max-height:120px;min-height:42px;margin:0;",
    "overflow-y:auto}",
    ".sbw-input::placeholder{color:#6b7684}",
    ".sbw-input:focus{border-color:#1f4e96;box-shadow:0 0 0 3px rgba(31,78,150,.22);outline:2px solid transparent}",
    ".sbw-send{width:42px;height:42px;flex:none;border-radius:12px;border:0;background:#1f4e96;color:#fff;",
    "display:flex;align-items:center;justify-content:center}",
    ".sbw-send:hover{background:#183f7a}",
    ".sbw-send svg{width:20px;height:20px;fill:currentColor}",
    ".sbw-footer{flex:none;padding:0 12px 8px;font-size:11.5px;color:#5b6675;background:#fff;text-align:center}",

    /* phones: the panel takes the whole screen */
    "@media (max-width:480px){",
    ".sbw-panel{inset:0;right:0;bottom:0;width:100%;height:100%;height:100dvh;max-height:none;border-radius:0;border:0}",
    ".sbw-root.sbw-is-open .sbw-launcher{display:none}",
    ".sbw-input{font-size:16px}",
    ".sbw-launcher{right:16px;bottom:16px}",
    "}",
    "@media (prefers-reduced-motion:reduce){.sbw-panel,.sbw-dot{animation:none}",
    ".sbw-launcher{transition:none}}",
    "@media (forced-colors:active){.sbw-bubble,.sbw-reply,.sbw-launcher,.sbw-send,.sbw-typing{border:1px solid CanvasText}}"
  ].join("");

  // ---------------------------------------------------------------- DOM helpers (text only, never HTML)
  var SVG_NS = "http://www.w3.org/2000/svg";
  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text != null) node.textContent = String(text);
    return node;
  }
  function icon(pathData) {
    var svg = document.createElementNS(SVG_NS, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    var path = document.createElementNS(SVG_NS, "path");
    path.setAttribute("d", pathData);
    svg.appendChild(path);
    return svg;
  }
  var ICON_CHAT = "M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H8.4L4 21.5V18a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2zm3 6.5a1.5 1.5 0 1 0 0 3 1.5 1.5 0 0 0 0-3zm5 0a1.5 1.5 0 1 0 0 3 1.5 1.5 0 0 0 0-3zm5 0a1.5 1.5 0 1 0 0 3 1.5 1.5 0 0 0 0-3z";
  var ICON_CLOSE = "M18.3 5.7a1 1 0 0 0-1.4 0L12 10.6 7.1 5.7a1 1 0 0 0-1.4 1.4L10.6 12l-4.9 4.9a1 1 0 1 0 1.4 1.4l4.9-4.9 4.9 4.9a1 1 0 0 0 1.4-1.4L13.4 12l4.9-4.9a1 1 0 0 0 0-1.4z";
  var ICON_DOWN = "M12 15.6a1 1 0 0 1-.7-.3l-5.6-5.6a1 1 0 1 1 1.4-1.4l4.9 4.9 4.9-4.9a1 1 0 1 1 1.4 1.4l-5.6 5.6a1 1 0 0 1-.7.3z";
  var ICON_SEND = "M3.4 20.4 21.6 12.9a1 1 0 0 0 0-1.8L3.4 3.6a1 1 0 0 0-1.4 1.1L3.8 11 13 12l-9.2 1-1.8 6.3a1 1 0 0 0 1.4 1.1z";

  // ---------------------------------------------------------------- build the widget
  // A custom element name (unlikely to match the page's `div {...}` rules) with inline !important
  // styles, which win over the page's own !important rules.
  var host = document.createElement("supportbot-widget");
  host.id = "supportbot-widget";
  // Set through the CSSOM, not a style attribute: a page whose Content-Security-Policy forbids
  // inline styles (as the demo page's does) still lets scripts set them this way.
  host.style.setProperty("all", "initial", "important");
  host.style.setProperty("display", "block", "important");
  host.setAttribute("data-supportbot", "");
  var root;
  var mount;
  if (host.attachShadow) {
    mount = host.attachShadow({ mode: "open" }); // open: lets tests and assistive tech see inside
  } else {
    mount = host; // old browsers: prefixed classes + a style sheet in <head>
  }
  var sheet = null;
  try {
    // A constructed style sheet is allowed under a CSP without 'unsafe-inline'; a <style> is not.
    if (mount !== host && "adoptedStyleSheets" in mount) {
      sheet = new CSSStyleSheet();
      sheet.replaceSync(CSS);
      mount.adoptedStyleSheets = [sheet];
    }
  } catch (e) { sheet = null; }
  if (!sheet) {
    var style = document.createElement("style");
    style.textContent = CSS;
    if (mount === host) {
      (document.head || document.documentElement).appendChild(style);
    } else {
      mount.appendChild(style);
    }
  }

  var uid = P + "-" + Math.random().toString(36).slice(2, 8);
  root = el("div", P + "-root");

  var panel = el("div", P + "-panel");
  panel.id = uid + "-panel";
  panel.setAttribute("role", "dialog");
  panel.setAttribute("aria-modal", "false");
  panel.setAttribute("aria-labelledby", uid + "-title");
  panel.tabIndex = -1;
  panel.hidden = true;

  var header = el("div", P + "-header");
  var avatar = el("div", P + "-avatar", "I1");
  avatar.setAttribute("aria-hidden", "true");
  var heading = el("div", P + "-heading");
  var title = el("h2", P + "-title", TITLE);
  title.id = uid + "-title";
  var subtitle = el("p", P + "-subtitle", "I One Tech Solutions · IT services");
  heading.appendChild(title);
  heading.appendChild(subtitle);
  var closeButton = el("button", P + "-close");
  closeButton.type = "button";
  closeButton.setAttribute("aria-label", UI.close);
  closeButton.title = UI.close;
  closeButton.appendChild(icon(ICON_CLOSE));
  header.appendChild(avatar);
  header.appendChild(heading);
  header.appendChild(closeButton);

  var status = el("div", P + "-status");
  status.setAttribute("role", "status");
  status.hidden = true;

  var body = el("div", P + "-body");
  var log = el("ol", P + "-log");
  log.setAttribute("role", "log");
  log.setAttribute("aria-live", "polite");
  log.setAttribute("aria-relevant", "additions");
  log.setAttribute("aria-label", UI.conversation);
  var typing = el("div", P + "-typing");
  typing.hidden = true;
  typing.appendChild(el("span", P + "-sr", TITLE + " is typing"));
  for (var d = 0; d < 3; d++) {
    var dot = el("span", P + "-dot");
    dot.setAttribute("aria-hidden", "true");
    typing.appendChild(dot);
  }
  body.appendChild(log);
  body.appendChild(typing);

  var form = el("form", P + "-form");
  form.setAttribute("novalidate", "");
  var label = el("label", P + "-sr", UI.typeLabel);
  label.setAttribute("for", uid + "-input");
  var input = el("textarea", P + "-input");
  input.id = uid + "-input";
  input.rows = 1;
  input.maxLength = MAX_MESSAGE_LENGTH;
  input.placeholder = UI.placeholder;
  input.setAttribute("autocomplete", "off");
  input.setAttribute("aria-describedby", uid + "-hint");
  var hint = el("span", P + "-sr", "Press Enter to send, Shift and Enter for a new line, Escape to close the chat.");
  hint.id = uid + "-hint";
  var sendButton = el("button", P + "-send");
  sendButton.type = "submit";
  sendButton.setAttribute("aria-label", UI.sendLabel);
  sendButton.title = UI.send;
  sendButton.appendChild(icon(ICON_SEND));
  form.appendChild(label);
  form.appendChild(input);
  form.appendChild(hint);
  form.appendChild(sendButton);

  panel.appendChild(header);
  panel.appendChild(status);
  panel.appendChild(body);
  panel.appendChild(form);

  var launcher = el("button", P + "-launcher");
  launcher.type = "button";
  launcher.setAttribute("aria-controls", panel.id);
  launcher.setAttribute("aria-expanded", "false");
  var launcherIcon = icon(ICON_CHAT);
  launcher.appendChild(launcherIcon);
  var badge = el("span", P + "-badge");
  badge.setAttribute("aria-hidden", "true");
  badge.hidden = true;
  launcher.appendChild(badge);

  root.appendChild(panel);
  root.appendChild(launcher);
  mount.appendChild(root);

  // ---------------------------------------------------------------- rendering
  var isOpen = false;
  var unread = 0;
  var typingTimer = null;
  var rendered = {}; // message id -> <li>

  function updateLauncher() {
    var name = isOpen ? UI.minimize : UI.openWith + TITLE;
    if (!isOpen && unread > 0) name += " (" + unread + (unread === 1 ? UI.newOne : UI.newMany);
    launcher.setAttribute("aria-label", name);
    launcher.title = isOpen ? UI.minimize : UI.chat;
    launcher.setAttribute("aria-expanded", isOpen ? "true" : "false");
    launcher.replaceChild(icon(isOpen ? ICON_DOWN : ICON_CHAT), launcher.firstChild);
    badge.textContent = unread > 9 ? "9+" : String(unread);
    badge.hidden = isOpen || unread === 0;
  }

  function scrollToBottom() {
    body.scrollTop = body.scrollHeight;
  }

  function renderMessage(msg) {
    var li = el("li", P + "-msg " + P + "-msg-" + msg.from);
    li.setAttribute("data-id", msg.id);
    if (msg.from !== "system") {
      li.appendChild(el("span", P + "-sr", msg.from === "user" ? "You said:" : TITLE + " said:"));
    }
    if (msg.text) {
      var bubble = el("div", P + "-bubble " + P + "-text");
      bubble.textContent = msg.text; // white-space: pre-wrap keeps the line breaks
      li.appendChild(bubble);
    }
    if (msg.from === "bot" && msg.buttons && msg.buttons.length) {
      var group = el("div", P + "-replies");
      group.setAttribute("role", "group");
      group.setAttribute("aria-label", UI.suggested);
      msg.buttons.forEach(function (b, index) {
        var button = el("button", P + "-reply", b.title);
        button.type = "button";
        if (msg.used) {
          button.disabled = true;
          if (msg.chosen === index) button.className += " " + P + "-chosen";
        }
        button.addEventListener("click", function () {
          chooseReply(msg, index);
        });
        group.appendChild(button);
      });
      li.appendChild(group);
    }
    if (msg.pending) {
      li.className += " " + P + "-msg-pending";
      var meta = el("span", P + "-meta", UI.sending);
      li.appendChild(meta);
    }
    rendered[msg.id] = li;
    return li;
  }

  function appendMessage(msg) {
    history.messages.push(msg);
    saveHistory();
    log.appendChild(renderMessage(msg));
    scrollToBottom();
    return msg;
  }

  // Update a rendered message in place (replacing it would make screen readers announce it again).
  function refresh(msg) {
    var li = rendered[msg.id];
    if (!li) return;
    if (!msg.pending) {
      li.classList.remove(P + "-msg-pending");
      var meta = li.querySelector("." + P + "-meta");
      if (meta) li.removeChild(meta);
    }
    if (msg.used) {
      var buttons = li.querySelectorAll("." + P + "-reply");
      for (var i = 0; i < buttons.length; i++) {
        buttons[i].disabled = true;
        if (i === msg.chosen) buttons[i].classList.add(P + "-chosen");
      }
    }
  }

  function findMessage(id) {
    for (var i = history.messages.length - 1; i >= 0; i--) {
      if (history.messages[i].id === id) return history.messages[i];
    }
    return null;
  }

  function markSent(msgId) {
    var msg = msgId && findMessage(msgId);
    if (msg && msg.pending) {
      msg.pending = false;
      saveHistory();
      refresh(msg);
    }
  }

  function setTyping(on) {
    clearTimeout(typingTimer);
    typing.hidden = !on;
    if (on) {
      typingTimer = setTimeout(function () { typing.hidden = true; }, TYPING_TIMEOUT_MS);
      scrollToBottom();
    }
  }

  function setStatus(text) {
    status.textContent = text || "";
    status.hidden = !text;
  }

  function normaliseButtons(data) {
    var out = [];
    var seen = {};
    [data && data.quick_replies, data && data.buttons].forEach(function (list) {
      if (!Array.isArray(list)) return;
      list.forEach(function (b) {
        if (!b || typeof b !== "object") return;
        var title = b.title != null ? String(b.title) : "";
        var payload = b.payload != null ? String(b.payload) : title;
        if (!title && !payload) return;
        var key = title + "\u0000" + payload;
        if (seen[key]) return;
        seen[key] = true;
        out.push({ title: title || payload, payload: payload });
      });
    });
    return out;
  }

  function receiveBot(data) {
    if (data == null) return;
    if (typeof data === "string") data = { text: data };
    if (typeof data !== "object") return;
    var text = data.text != null ? String(data.text) : "";
    var buttons = normaliseButtons(data);
    if (!text && !buttons.length) return; // images, custom payloads: not shown
    setTyping(false);
    appendMessage({ id: uuid(), from: "bot", text: text, buttons: buttons, used: false });
    if (!isOpen) {
      unread += 1;
      updateLauncher();
    }
  }

  function chooseReply(msg, index) {
    if (msg.used) return;
    var b = msg.buttons[index];
    if (!b) return;
    msg.used = true;
    msg.chosen = index;
    saveHistory();
    refresh(msg); // disables the whole group
    focusComposer(); // the pressed button is disabled now: do not leave focus on it
    send(b.payload, b.title);
  }

  // ---------------------------------------------------------------- sending
  // Earlier suggestions go stale once the conversation moves on (an old "Yes" would answer
  // a question the bot is no longer asking): disable them.
  function retireButtons() {
    var changed = false;
    history.messages.forEach(function (msg) {
      if (msg.from === "bot" && msg.buttons && msg.buttons.length && !msg.used) {
        msg.used = true;
        changed = true;
        refresh(msg);
      }
    });
    if (changed) saveHistory();
  }

  function send(text, display) {
    text = String(text == null ? "" : text);
    if (!text.trim()) return;
    var msgId = null;
    retireButtons();
    if (display !== null) {
      var shown = appendMessage({ id: uuid(), from: "user", text: display == null ? text : String(display), pending: true });
      msgId = shown.id;
    }
    outbox.items.push({ id: uuid(), text: text, msgId: msgId });
    saveOutbox();
    setTyping(true);
    ensureConnected();
    flush();
  }

  function submitInput() {
    var text = input.value;
    if (!text.trim()) return;
    input.value = "";
    autosize();
    send(text.replace(/\s+$/, ""), undefined);
  }

  // ---------------------------------------------------------------- transport
  var mode = typeof window.WebSocket === "function" || typeof window.WebSocket === "object" ? "ws" : "rest";
  var ws = null;
  var wsReady = false;      // namespace connected (and session confirmed, or the confirmation timed out)
  var everConnected = false;
  var wsFailures = 0;       // consecutive attempts that never reached the namespace connection
  var attempt = 0;          // for the backoff delay
  var retryTimer = null;
  var restBusy = false;
  var restAttempt = 0;
  var restTimer = null;

  function backoff(n) {
    return Math.min(MAX_BACKOFF_MS, BACKOFF_MS * Math.pow(2, n));
  }

  function ensureConnected() {
    if (mode === "ws") {
      if (!ws && !retryTimer) connectWs();
    }
  }

  function flush() {
    if (!outbox.items.length) return;
    if (mode === "ws") {
      // a REST request in flight finishes first; a closing socket would drop what it is given
      if (!ws || !wsReady || restBusy || ws.readyState !== 1) return;
      while (outbox.items.length) {
        var item = outbox.items[0];
        try {
          emit("user_uttered", withLanguage({ message: item.text, session_id: sessionId }));
        } catch (e) {
          return; // socket died under us: onclose reconnects and flushes again
        }
        outbox.items.shift();
        saveOutbox();
        markSent(item.msgId);
        setTyping(true); // (again) from the moment it really leaves
      }
    } else {
      flushRest();
    }
  }

  function emit(event, data) {
    ws.send("42" + JSON.stringify([event, data]));
  }

  function connectWs() {
    clearTimeout(retryTimer);
    retryTimer = null;
    var socket;
    try {
      socket = new WebSocket(WS_URL);
    } catch (e) {
      wsFailed(null, false);
      return;
    }
    ws = socket;
    wsReady = false;
    var namespaceConnected = false;
    var pingTimer = null;
    var confirmTimer = null;
    var connectTimer = setTimeout(function () { drop(); }, CONNECT_TIMEOUT_MS);

    function resetPing(intervalMs, timeoutMs) {
      clearTimeout(pingTimer);
      pingTimer = setTimeout(function () { drop(); }, intervalMs + timeoutMs + 1000);
    }
    var pingInterval = 25000;
    var pingTimeout = 20000;

    function ready() {
      if (ws !== socket || wsReady) return;
      clearTimeout(confirmTimer);
      wsReady = true;
      everConnected = true;
      attempt = 0;
      wsFailures = 0;
      if (mode !== "ws") mode = "ws"; // the WebSocket came back: leave the REST fallback
      clearTimeout(restTimer);
      setStatus("");
      flush();
    }

    // Tear the socket down now (do not wait for a closing handshake on a dead connection).
    function drop() {
      if (ws !== socket) return;
      clearTimeout(connectTimer);
      clearTimeout(pingTimer);
      clearTimeout(confirmTimer);
      socket.onopen = socket.onmessage = socket.onclose = socket.onerror = null;
      try { socket.close(); } catch (e) { /* ignore */ }
      var wasConnected = namespaceConnected;
      ws = null;
      wsReady = false;
      wsFailed(socket, wasConnected);
    }

    socket.onclose = drop;
    socket.onerror = function () { /* a close event follows */ };
    socket.onmessage = function (event) {
      if (ws !== socket || typeof event.data !== "string") return;
      var packet = event.data;
      var type = packet.charAt(0);
      if (type === "0") { // Engine.IO open
        try {
          var open = JSON.parse(packet.slice(1));
          if (open.pingInterval) pingInterval = open.pingInterval;
          if (open.pingTimeout) pingTimeout = open.pingTimeout;
        } catch (e) { /* keep defaults */ }
        resetPing(pingInterval, pingTimeout);
        socket.send("40"); // connect to the default namespace
      } else if (type === "2") { // ping
        socket.send("3" + packet.slice(1));
        resetPing(pingInterval, pingTimeout);
      } else if (type === "1") { // close
        drop();
      } else if (type === "4") { // a Socket.IO packet
        onSocketIoPacket(packet.slice(1));
      }
      // "3" pong and "6" noop need nothing
    };

    function onSocketIoPacket(s) {
      var type = s.charAt(0);
      var rest = s.slice(1);
      if (rest.charAt(0) === "/") { // namespace, only the default one is ours
        var comma = rest.indexOf(",");
        var nsp = comma < 0 ? rest : rest.slice(0, comma);
        rest = comma < 0 ? "" : rest.slice(comma + 1);
        if (nsp !== "/") return;
      }
      var ack = /^\d+/.exec(rest);
      if (ack) rest = rest.slice(ack[0].length);
      var payload = null;
      if (rest) {
        try { payload = JSON.parse(rest); } catch (e) { return; }
      }
      if (type === "0") { // namespace connected
        clearTimeout(connectTimer);
        namespaceConnected = true;
        emit("session_request", { session_id: sessionId });
        confirmTimer = setTimeout(ready, CONFIRM_TIMEOUT_MS); // a server that never confirms still works
      } else if (type === "1") { // server disconnected us
        drop();
      } else if (type === "4") { // connect error
        drop();
      } else if (type === "2" && Array.isArray(payload)) {
        if (ack) socket.send("43" + ack[0] + "[]");
        onEvent(payload[0], payload[1]);
      }
    }

    function onEvent(name, data) {
      if (name === "session_confirm") {
        adoptSession(data);
        ready();
      } else if (name === "bot_uttered") {
        receiveBot(data);
      }
    }
  }

  function wsFailed(socket, wasConnected) {
    if (wasConnected) {
      wsFailures = 0;
    } else {
      wsFailures += 1;
    }
    if (mode === "ws" && wsFailures >= WS_FAILURES_BEFORE_REST) {
      mode = "rest";
      setStatus("");
      flush();
    }
    if (mode === "ws" && (everConnected || wsFailures > 0)) setStatus(UI.reconnecting);
    // keep trying the WebSocket (also in REST mode, where agent replies can only arrive through it)
    var delay = mode === "rest" ? MAX_BACKOFF_MS : backoff(attempt);
    attempt += 1;
    clearTimeout(retryTimer);
    retryTimer = setTimeout(function () {
      retryTimer = null;
      connectWs();
    }, delay);
  }

  function flushRest() {
    if (restBusy || !outbox.items.length) return;
    clearTimeout(restTimer);
    restBusy = true;
    var item = outbox.items[0];
    setTyping(true);
    var request;
    try {
      request = fetch(REST_URL, {
        method: "POST",
        mode: "cors",
        credentials: "omit",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(withLanguage({ sender: sessionId, message: item.text }))
      });
    } catch (e) {
      request = Promise.reject(e);
    }
    request.then(function (response) {
      if (response.status >= 400 && response.status < 500 && response.status !== 408 && response.status !== 429) {
        var error = new Error("rejected");
        error.permanent = true;
        throw error;
      }
      if (!response.ok) throw new Error("HTTP " + response.status);
      return response.json();
    }).then(function (list) {
      restBusy = false;
      restAttempt = 0;
      removeFromOutbox(item);
      markSent(item.msgId);
      setStatus("");
      if (Array.isArray(list) && list.length) adoptSession(list[0].recipient_id);
      if (Array.isArray(list)) list.forEach(receiveBot);
      if (!outbox.items.length) setTyping(false);
      if (mode === "rest") flushRest(); else flush();
    }, function (error) {
      restBusy = false;
      if (error && error.permanent) {
        removeFromOutbox(item);
        markSent(item.msgId);
        setTyping(false);
        appendMessage({ id: uuid(), from: "system", text: "Sorry, that message could not be delivered. Please try again." });
        if (mode === "rest") flushRest();
        return;
      }
      setStatus(UI.reconnecting);
      var delay = backoff(restAttempt);
      restAttempt += 1;
      restTimer = setTimeout(function () { if (mode === "rest") flushRest(); else flush(); }, delay);
    });
  }

  function removeFromOutbox(item) {
    var i = outbox.items.indexOf(item);
    if (i >= 0) {
      outbox.items.splice(i, 1);
      saveOutbox();
    }
  }

  // ---------------------------------------------------------------- open / close
  function greetOnce() {
    if (history.messages.length || store.get(KEY_GREETED) === sessionId) return;
    store.set(KEY_GREETED, sessionId);
    send("/greet", null); // a payload, not shown in the log
  }

  function open(userInitiated) {
    if (!isOpen) {
      isOpen = true;
      unread = 0;
      panel.hidden = false;
      root.className = P + "-root " + P + "-is-open";
      updateLauncher();
      tabStore.set(KEY_OPEN, "1");
      ensureConnected();
      greetOnce();
      scrollToBottom();
    }
    if (userInitiated !== false) focusComposer();
  }

  // Keyboard and mouse users land in the message field; on touch screens the panel itself takes
  // focus, so the on-screen keyboard does not pop up and cover the conversation.
  function focusComposer() {
    var coarse = window.matchMedia && window.matchMedia("(pointer: coarse)").matches;
    if (coarse) panel.focus(); else input.focus();
  }

  function close(returnFocus) {
    if (!isOpen) return;
    isOpen = false;
    panel.hidden = true;
    root.className = P + "-root";
    updateLauncher();
    tabStore.set(KEY_OPEN, "0");
    if (returnFocus !== false) launcher.focus();
  }

  function autosize() {
    input.style.height = "auto";
    input.style.height = Math.min(input.scrollHeight + 3, 120) + "px";
  }

  launcher.addEventListener("click", function () {
    if (isOpen) close(true); else open(true);
  });
  closeButton.addEventListener("click", function () { close(true); });
  root.addEventListener("keydown", function (event) {
    if ((event.key === "Escape" || event.key === "Esc") && isOpen) {
      event.preventDefault();
      event.stopPropagation();
      close(true);
    }
  });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    submitInput();
    input.focus();
  });
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
      event.preventDefault();
      submitInput();
    }
  });
  input.addEventListener("input", autosize);
  document.addEventListener("click", function (event) {
    var target = event.target;
    var opener = target && target.closest ? target.closest("[data-supportbot-open]") : null;
    if (opener) {
      event.preventDefault();
      open(true);
    }
  });

  // ---------------------------------------------------------------- start
  function start() {
    (document.body || document.documentElement).appendChild(host);
    var queued = {};
    outbox.items.forEach(function (item) { if (item.msgId) queued[item.msgId] = true; });
    history.messages.forEach(function (msg) {
      if (msg.pending && !queued[msg.id]) msg.pending = false; // its outbox entry is gone
      log.appendChild(renderMessage(msg));
    });
    updateLauncher();
    var reopen = tabStore.get(KEY_OPEN);
    if (START_OPEN ? reopen !== "0" : reopen === "1") open(false);
    // a conversation is going on: connect now, so agent replies arrive even while the panel is closed
    if (history.messages.length || outbox.items.length) ensureConnected();
    if (outbox.items.length) flush();
  }

  window.SupportBotWidget = {
    loaded: true,
    sessionId: sessionId,
    server: SERVER,
    open: function () { open(true); },
    close: function () { close(false); },
    toggle: function () { if (isOpen) close(false); else open(true); },
    get transport() { return mode; },
    get connected() { return mode === "rest" || wsReady; }
  };

  if (document.body) start();
  else document.addEventListener("DOMContentLoaded", start);
})();
