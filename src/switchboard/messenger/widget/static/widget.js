/* Switchboard chat widget: hand-written, no framework, everything in its own Shadow DOM.
   Settings are this script's data-* attributes (the loader copies the snippet's): data-inbox
   (public key), data-api (the API's origin), data-lang (ru|en), data-position (right|left),
   data-color (a CSS colour). */
(function () {
  "use strict";
  const me = document.currentScript;
  const cfg = (me && me.dataset) || {};
  const INBOX = cfg.inbox;
  if (!INBOX || window.SwitchboardChat) return;
  const API = (cfg.api || (me && me.src ? new URL(me.src).origin : location.origin)).replace(/\/+$/, "");
  const W = API + "/api/widget";
  const TEXTS = {
    ru: ["Открыть чат", "Закрыть чат", "Чат с поддержкой", "Напишите сообщение…", "Отправить", "Прикрепить файл",
      "Смайлики", "Убрать", "оператор печатает…", "{name} печатает…", "отправляется", "отправлено", "доставлено",
      "прочитано", "Не отправлено.", "Повторить", "непрочитанных: {n}", "Здравствуйте! Чем мы можем помочь?",
      "Сейчас никого нет на месте.", "Оставить заявку", "Ваше имя", "Телефон", "Эл. почта", "Ваш вопрос",
      "Отправить заявку", "Отмена", "Укажите телефон или эл. почту.", "Напишите, чем помочь.",
      "Спасибо! Мы свяжемся с вами в рабочее время.", "Оцените, пожалуйста, разговор",
      "Насколько вероятно, что вы порекомендуете нас? (0 — нет, 10 — точно да)", "{n} из {max}",
      "Комментарий (необязательно)", "Оценить", "Спасибо за оценку!", "Файл слишком большой.",
      "Такой тип файла не принимается.", "Файл не загрузился.", "Чат сейчас недоступен.",
      "Нет связи с сервером. Повторяем…", "Что-то пошло не так. Попробуйте ещё раз.", "загружается…", "Вложение"],
    en: ["Open chat", "Close chat", "Chat with support", "Type a message…", "Send", "Attach a file",
      "Emoji", "Remove", "an agent is typing…", "{name} is typing…", "sending", "sent", "delivered",
      "read", "Not sent.", "Retry", "unread: {n}", "Hello! How can we help?",
      "Nobody is available right now.", "Leave a request", "Your name", "Phone", "E-mail", "Your question",
      "Send the request", "Cancel", "Give a phone number or an e-mail.", "Tell us how we can help.",
      "Thank you! We will contact you during working hours.", "Please rate the conversation",
      "How likely are you to recommend us? (0 — not at all, 10 — certainly)", "{n} of {max}",
      "Comment (optional)", "Rate", "Thank you for the rating!", "The file is too large.",
      "This type of file is not accepted.", "The file was not uploaded.", "The chat is unavailable now.",
      "No connection to the server. Retrying…", "Something went wrong. Please try again.", "uploading…", "Attachment"],
  };
  const KEYS = ("open close title placeholder send attach emoji remove typing typingName sending sent delivered read " +
    "failed retry unread empty offline leave name phone email text submit cancel needContact needText requested " +
    "rate rateNps star comment rateSend thanks tooBig badType uploadFailed unavailable network error uploading attachment").split(" ");
  // The site's own language first (its <html lang>), then the browser's; Russian by default.
  const LANG = (cfg.lang || document.documentElement.lang || navigator.language || "ru")
    .toLowerCase().startsWith("en") ? "en" : "ru";
  const t = (key, args) => TEXTS[LANG][KEYS.indexOf(key)].replace(/\{(\w+)\}/g, (_, k) => (args ? args[k] : ""));
  const EMOJI = "😀 😊 😂 😉 😍 🤔 😢 😡 👍 👎 👏 🙏 👋 🎉 ❤️ 🔥 ✅ ❌ ❓ ⏰ 📎 📷 💬 🚚".split(" ");

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    for (const name in attrs || {}) node.setAttribute(name, attrs[name]);
    if (text != null) node.textContent = text;
    return node;
  }

  /* ---- the launcher first: nothing goes to the network before it is on screen ---- */
  const FORCE = "all:initial !important;display:block !important;position:static !important;visibility:visible !important;opacity:1 !important";
  const host = el("div", { "data-switchboard-chat": "", style: FORCE });
  const root = host.attachShadow({ mode: "open" });
  const L = cfg.position === "left" ? "left" : "right";
  const R = L === "left" ? "right" : "left";
  const accent = /^[#\w(),.% -]{1,40}$/.test(cfg.color || "") ? cfg.color : "#2563eb";
  const css = `:host{${FORCE}}
*{box-sizing:border-box}
.w{--a:${accent};font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;color:#1f2937;text-align:left;direction:ltr}
[hidden]{display:none!important}
button{font:inherit;color:inherit;background:none;border:0;margin:0;padding:0;cursor:pointer}
:focus-visible{outline:2px solid var(--a);outline-offset:2px}
.launch{position:fixed;${L}:20px;bottom:20px;z-index:2147483000;width:56px;height:56px;border-radius:50%;background:var(--a);color:#fff;display:flex;align-items:center;justify-content:center;box-shadow:0 4px 14px #0004}
.launch svg{width:28px;height:28px;fill:currentColor}
.badge{position:absolute;top:-4px;${R}:-4px;min-width:22px;height:22px;padding:0 6px;border-radius:11px;background:#dc2626;color:#fff;font-size:12px;font-weight:700;line-height:22px;text-align:center}
.panel{position:fixed;${L}:20px;bottom:88px;z-index:2147483000;width:370px;max-width:calc(100vw - 24px);height:560px;max-height:calc(100vh - 108px);background:#fff;border-radius:14px;box-shadow:0 10px 40px #0004;display:flex;flex-direction:column;overflow:hidden}
@media (max-width:480px){.panel{${L}:0;bottom:0;width:100vw;max-width:100vw;height:100%;max-height:100%;border-radius:0}}
.head{background:var(--a);color:#fff;padding:12px 14px;display:flex;align-items:center}
.head h2{flex:1;margin:0;font-size:16px;font-weight:600}
.x{width:32px;height:32px;border-radius:50%;color:#fff;font-size:22px}
.note{padding:8px 14px;background:#fef3c7;color:#78350f;font-size:13px}
.note button{text-decoration:underline;font-weight:600}
.err{padding:8px 14px;background:#fee2e2;color:#991b1b;font-size:13px}
.list{flex:1;overflow-y:auto;margin:0;padding:12px;list-style:none;display:flex;flex-direction:column;gap:6px;background:#f9fafb}
.hello{color:#6b7280;text-align:center;margin:auto 0}
.m{max-width:85%;display:flex;flex-direction:column;align-items:flex-start}
.in{align-self:flex-end;align-items:flex-end}
.sys{align-self:center}
.who,.meta{font-size:11px;color:#6b7280;margin:0 4px}
.meta{display:flex;gap:6px}
.b{padding:8px 11px;border-radius:14px;background:#fff;border:1px solid #e5e7eb;white-space:pre-wrap;overflow-wrap:anywhere}
.b p{margin:0}.b p+p{margin-top:6px}a{color:var(--a)}
.in .b{background:var(--a);color:#fff}.in a{color:#fff}
.sys .b{background:#eef2ff;color:#3730a3;font-size:13px}
.tick{color:#16a34a;font-weight:700;letter-spacing:-3px}
.fail,.fail button{color:#b91c1c}.fail button{text-decoration:underline}
.att img{display:block;max-width:220px;max-height:180px;border-radius:8px;margin-top:4px}
.typing{padding:2px 14px 4px;font-size:12px;color:#6b7280;font-style:italic;background:#f9fafb}
.chips{display:flex;flex-wrap:wrap;gap:6px;padding:6px 10px 0}
.chip{background:#e5e7eb;border-radius:12px;padding:2px 4px 2px 10px;font-size:12px;display:flex;gap:4px;max-width:100%;overflow:hidden;white-space:nowrap}
.form{border-top:1px solid #e5e7eb;display:flex;align-items:flex-end;gap:4px;padding:8px;background:#fff;position:relative}
textarea,input{font:inherit;color:#111827;background:#fff;border:1px solid #d1d5db;border-radius:8px;padding:7px 9px;margin:0;width:100%}
.form textarea{flex:1;resize:none;border-radius:10px;max-height:120px;height:38px}
.ico{width:36px;height:36px;border-radius:50%;font-size:18px;color:#4b5563;flex:none}
.ico:hover,.emo button:hover{background:#f3f4f6}
.go{background:var(--a);color:#fff}
.emo{position:absolute;bottom:54px;${L}:8px;background:#fff;border:1px solid #e5e7eb;border-radius:10px;box-shadow:0 6px 20px #0003;display:grid;grid-template-columns:repeat(6,36px);gap:2px;padding:6px}
.emo button{width:36px;height:36px;font-size:20px;border-radius:6px}
.card{margin:10px 12px;padding:12px;border:1px solid #e5e7eb;border-radius:12px;background:#fff;display:flex;flex-direction:column;gap:8px}
.card h3{margin:0;font-size:14px}
.card textarea{resize:vertical;min-height:60px}
.btn{align-self:flex-end;background:var(--a);color:#fff;border-radius:8px;padding:7px 14px;font-weight:600}
.btn:disabled{opacity:.6}
.scale{display:flex;flex-wrap:wrap;gap:4px}
.scale button{min-width:30px;height:32px;border:1px solid #d1d5db;border-radius:6px;font-weight:600}
.stars button{border:0;font-size:26px;color:#d1d5db}
.stars .on{color:#f59e0b}
.scale:not(.stars) [aria-pressed=true]{background:var(--a);color:#fff}
.ok{color:#166534;font-weight:600}`;
  const wrap = el("div", { class: "w" });
  const launcher = el("button", { class: "launch", type: "button", "aria-label": t("open"), "aria-expanded": "false", "aria-haspopup": "dialog" });
  launcher.innerHTML = '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z"/></svg>';
  const badge = el("span", { class: "badge", hidden: "" });
  launcher.append(badge);
  wrap.append(launcher);
  root.append(el("style", {}, css), wrap);
  (document.body || document.documentElement).appendChild(host);
  if (window.performance && performance.mark) performance.mark("switchboard-chat:launcher");

  /* ---- state, storage ---- */
  const KEY = "switchboard-chat:" + INBOX;
  let memory = {};
  const load = () => { try { return JSON.parse(localStorage.getItem(KEY)) || {}; } catch (e) { return memory; } };
  const save = (patch) => {
    memory = Object.assign(load(), patch);
    try { localStorage.setItem(KEY, JSON.stringify(memory)); } catch (e) { /* private mode: memory only */ }
  };
  const S = {
    open: false, boot: null, booting: null, token: load().token || null, key: null, conv: null,
    messages: new Map(), byClient: new Map(), delivered: 0, read: 0, told: { d: 0, r: 0 },
    lastRead: load().lastRead || 0, lastEvent: null, source: null, polling: false, pollRun: 0, streamTry: 0, failures: 0,
    rebootAt: 0, typingAt: 0, queue: Promise.resolve(),
  };
  const on = (flag) => !S.boot || !S.boot.features || S.boot.features[flag] !== false;
  const visible = () => S.open && document.visibilityState === "visible";
  const sleep = (ms) => new Promise((done) => setTimeout(done, ms));
  const uuid = () => (crypto.randomUUID ? crypto.randomUUID()
    : Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join(""));

  /* ---- the network ---- */
  async function call(method, path, body, form) {
    const headers = { "Accept-Language": LANG };
    if (S.token) headers["X-Visitor-Token"] = S.token;
    if (body) headers["Content-Type"] = "application/json";
    let answer, data = null;
    try {
      answer = await fetch(W + path, { method, headers, body: form || (body && JSON.stringify(body)), credentials: "omit" });
    } catch (e) { return { ok: false, status: 0, data }; }
    try { data = await answer.json(); } catch (e) { /* not JSON */ }
    return { ok: answer.ok, status: answer.status, data };
  }
  const q = (params) => "?" + new URLSearchParams(params);
  const say = (answer, fallback) => (answer.data && typeof answer.data.message === "string" && answer.data.message) || fallback;

  function session() {
    if (S.boot) return Promise.resolve(S.boot);
    return S.booting || (S.booting = bootstrap().finally(() => { S.booting = null; }));
  }

  async function bootstrap() {
    const ask = () => call("POST", "/bootstrap", S.token ? { inbox: INBOX, visitor_token: S.token } : { inbox: INBOX });
    let answer = await ask();
    if (answer.status === 401 && S.token) { S.token = null; save({ token: null, lastRead: 0 }); answer = await ask(); }
    if (!answer.ok || !answer.data) { showError(answer.status ? say(answer, t("unavailable")) : t("network")); return null; }
    const boot = answer.data;
    if (boot.visitor_token) { S.token = boot.visitor_token; save({ token: S.token }); }
    S.key = boot.stream_key || null;
    S.boot = boot;
    showError("");
    offlineBanner();
    setConversation(boot.conversation);
    await catchUp(10);
    live();
    return boot;
  }

  /* The history (after the newest message shown: what came while nothing was listening). */
  async function catchUp(pages) {
    for (let page = 0; page < pages; page++) {
      let after = 0;
      S.messages.forEach((m) => { after = Math.max(after, m.id); });
      const answer = await call("GET", "/messages" + q({ inbox: INBOX, after }));
      if (!answer.ok || !answer.data) break;
      setConversation(answer.data.conversation);
      const got = answer.data.messages || [];
      got.forEach(add);
      if (got.length < 100) break;
    }
    received();
  }

  /* ---- live: the event stream, else polling ---- */
  function live() {
    if (!on("sse") || !window.EventSource || !S.key) return startPolling();
    if (S.source) S.source.close();
    const params = { inbox: INBOX, key: S.key };
    if (S.lastEvent != null) params.last_event_id = S.lastEvent;
    const source = (S.source = new EventSource(W + "/stream/" + q(params)));
    let errors = 0, opened = false;
    const giveUp = setTimeout(() => opened || fallBack(), 10000);
    /* Opened (also as a retry while polling): the stream takes over from polling. */
    source.onopen = () => {
      opened = true; errors = 0; S.polling = false; clearTimeout(giveUp); catchUp(1);
    };
    source.onerror = () => {
      if (source.readyState === EventSource.CLOSED || ++errors >= 3) { clearTimeout(giveUp); fallBack(); }
    };
    for (const type of ["message.created", "messages.seen", "typing.changed", "conversation.changed"]) {
      source.addEventListener(type, (event) => {
        errors = 0;
        if (event.lastEventId) S.lastEvent = event.lastEventId;
        try { handle(type, JSON.parse(event.data)); } catch (e) { /* a frame we cannot read */ }
      });
    }
  }

  function fallBack() {
    if (S.source) { S.source.close(); S.source = null; }
    startPolling();
  }

  function startPolling() {
    if (!S.polling) { S.polling = true; S.streamTry = Date.now() + 30000; poll(++S.pollRun); }
  }

  /* One loop at a time: a loop whose run is over (the stream took over) stops at its turn. */
  async function poll(run) {
    if (!S.polling || run !== S.pollRun) return;
    if (on("sse") && window.EventSource && S.key && !S.source && Date.now() >= S.streamTry) {
      S.streamTry = Date.now() + 30000;
      live(); /* back to the stream once it works again */
    }
    const params = { inbox: INBOX, key: S.key || "" };
    if (S.lastEvent != null) params.after = S.lastEvent;
    const answer = await call("GET", "/events" + q(params));
    let wait = visible() ? 2500 : 8000;
    if (answer.ok && answer.data) {
      S.failures = 0;
      const first = S.lastEvent == null;
      (answer.data.events || []).forEach((event) => handle(event.type, event.data));
      if (answer.data.last_event_id != null) S.lastEvent = String(answer.data.last_event_id);
      if (first) await catchUp(1);
    } else if ((answer.status === 401 || answer.status === 403) && Date.now() - S.rebootAt > 60000) {
      S.rebootAt = Date.now();
      S.boot = null;
      S.polling = false;
      /* A new session brings a new stream key; without one, polling goes on later. */
      return session().then((boot) => boot || ((S.polling = true), setTimeout(() => poll(run), 30000)));
    } else if (answer.data && answer.data.error === "invalid_event_id") {
      S.lastEvent = null;
      wait = 0;
    } else {
      wait = Math.min(60000, 2000 * 2 ** Math.min(++S.failures, 5));
    }
    setTimeout(() => poll(run), wait);
  }

  function handle(type, data) {
    if (!data) return;
    if (type === "message.created" && data.message) {
      add(data.message);
      if (data.message.author_kind === "staff") theirTyping(false);
      received();
    } else if (type === "messages.seen" && data.direction === "in") {
      S.delivered = Math.max(S.delivered, data.delivered_up_to || 0, data.read_up_to || 0);
      S.read = Math.max(S.read, data.read_up_to || 0);
      S.messages.forEach(ticks);
    } else if (type === "typing.changed" && data.author_kind === "staff") {
      theirTyping(data.typing !== false, data.name);
    } else if (type === "conversation.changed" && data.conversation) {
      setConversation(data.conversation);
    }
  }

  /* ---- the panel ---- */
  const panel = el("div", { class: "panel", role: "dialog", "aria-label": t("title"), hidden: "" });
  const head = el("div", { class: "head" });
  const closeButton = el("button", { class: "x", type: "button", "aria-label": t("close") }, "×");
  head.append(el("h2", {}, t("title")), closeButton);
  const note = el("div", { class: "note", role: "status", hidden: "" });
  const errorBox = el("div", { class: "err", role: "alert", hidden: "" });
  const list = el("ul", { class: "list", "aria-live": "polite", "aria-label": t("title") });
  const hello = el("li", { class: "hello" }, t("empty"));
  list.append(hello);
  const typingLine = el("div", { class: "typing", hidden: "" });
  const extra = el("div");
  const chips = el("div", { class: "chips", hidden: "" });
  const form = el("form", { class: "form" });
  const emojiButton = el("button", { class: "ico", type: "button", "aria-label": t("emoji"), "aria-expanded": "false" }, "☺");
  const attachButton = el("button", { class: "ico", type: "button", "aria-label": t("attach") }, "📎");
  const fileInput = el("input", { type: "file", multiple: "", hidden: "", tabindex: "-1" });
  const input = el("textarea", { rows: "1", placeholder: t("placeholder"), "aria-label": t("placeholder"), maxlength: "4000" });
  const sendButton = el("button", { class: "ico go", type: "submit", "aria-label": t("send") }, "➤");
  const emojiBox = el("div", { class: "emo", role: "group", "aria-label": t("emoji"), hidden: "" });
  for (const symbol of EMOJI) {
    const b = el("button", { type: "button", "aria-label": symbol }, symbol);
    b.onclick = () => { insert(symbol); toggleEmoji(false); };
    emojiBox.append(b);
  }
  form.append(emojiButton, attachButton, fileInput, input, sendButton, emojiBox);
  panel.append(head, note, errorBox, list, typingLine, extra, chips, form);
  wrap.append(panel);

  function toggle(open) {
    if (open === S.open) return;
    S.open = open;
    panel.hidden = !open;
    launcher.setAttribute("aria-expanded", String(open));
    if (open) {
      input.focus();
      list.scrollTop = list.scrollHeight;
      session().then(received);
    } else {
      toggleEmoji(false);
      launcher.focus();
    }
    received();
  }
  launcher.onclick = () => toggle(!S.open);
  closeButton.onclick = () => toggle(false);
  wrap.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    event.stopPropagation();
    if (emojiBox.hidden) toggle(false); else { toggleEmoji(false); emojiButton.focus(); }
  });
  document.addEventListener("visibilitychange", received);

  function showError(text) { errorBox.textContent = text; errorBox.hidden = !text; }

  /* ---- messages ---- */
  function setConversation(conversation) {
    if (!conversation || (S.conv && conversation.id < S.conv.id)) return;
    S.conv = conversation;
    askRating();
  }

  function add(message) {
    if (!message || typeof message.id !== "number") return;
    const pending = message.client_id && S.byClient.get(message.client_id);
    const old = (S.messages.get(message.id) || pending || {}).node;
    if (pending) S.byClient.delete(message.client_id);
    message.node = render(message);
    if (old && old.isConnected) old.replaceWith(message.node);
    else {
      let before = null;
      S.messages.forEach((m) => { if (m.id > message.id && (!before || m.id < before.id)) before = m; });
      list.insertBefore(message.node, before ? before.node : null);
    }
    S.messages.set(message.id, message);
    if (message.conversation_id && (!S.conv || message.conversation_id > S.conv.id)) setConversation({ id: message.conversation_id, status: "open" });
    if (message.direction === "in") {
      if (message.read_at) S.read = Math.max(S.read, message.id);
      if (message.delivered_at || message.read_at) S.delivered = Math.max(S.delivered, message.id);
    }
    ticks(message);
    hello.hidden = true;
    list.scrollTop = list.scrollHeight;
  }

  /* A message: its text only from the server's sanitized `html`; anything else (a message
     not stored yet, the visitor's own echo) as plain text, never parsed as HTML. */
  function render(message) {
    const kind = message.author_kind === "system" ? "sys" : message.direction === "in" ? "in" : "out";
    const item = el("li", { class: "m " + kind });
    if (kind === "out" && message.author_name) item.append(el("span", { class: "who" }, message.author_name));
    const bubble = el("div", { class: "b" });
    if (message.id && typeof message.html === "string") {
      bubble.innerHTML = message.html;
      bubble.querySelectorAll("a").forEach((a) => { a.target = "_blank"; a.rel = "noopener noreferrer nofollow"; });
    } else bubble.textContent = message.text || "";
    bubble.hidden = !message.text && !message.html;
    item.append(bubble);
    for (const file of message.attachments || []) item.append(attachment(file));
    const meta = el("div", { class: "meta" });
    const when = new Date(message.created_at || Date.now());
    meta.append(el("time", {}, when.toLocaleTimeString(LANG, { hour: "2-digit", minute: "2-digit" })));
    item.append(meta);
    return item;
  }

  function attachment(file) {
    const box = el("div", { class: "att" });
    const link = el("a", { target: "_blank", rel: "noopener noreferrer" });
    let url = null;
    if (typeof file === "object" && file.url) {
      try { url = new URL(file.url, API + "/"); } catch (e) { /* no link */ }
    }
    if (url && /^https?:$/.test(url.protocol)) link.href = url.href; else url = null;
    if (url && file.is_image) link.append(el("img", { src: url.href, alt: file.name || t("attachment"), loading: "lazy" }));
    else link.textContent = "📄 " + (file.name || t("attachment")) + (file.bytes ? " (" + Math.ceil(file.bytes / 1024) + " KB)" : "");
    box.append(link);
    return box;
  }

  function ticks(message) {
    if (!message.node || message.author_kind !== "contact") return;
    const meta = message.node.querySelector(".meta");
    let tick = meta.querySelector(".tick");
    if (!tick) meta.append((tick = el("span", { class: "tick" })));
    const state = !message.id ? "sending" : message.id <= S.read ? "read" : message.id <= S.delivered ? "delivered" : "sent";
    tick.dataset.state = state;
    tick.textContent = state === "sending" ? "🕓" : !on("read_receipts") ? "" : state === "read" ? "✓✓" : state === "delivered" ? "✓" : "";
    tick.title = t(state);
    tick.setAttribute("aria-label", t(state));
  }

  /* Operator messages this page got (delivered) and showed (read), and the unread badge. */
  let seenTimer = 0;
  function received() {
    let newest = 0, unread = 0;
    S.messages.forEach((m) => {
      if (m.direction !== "out") return;
      newest = Math.max(newest, m.id);
      if (m.id > S.lastRead) unread++;
    });
    if (visible() && newest > S.lastRead) { save({ lastRead: (S.lastRead = newest) }); unread = 0; }
    badge.hidden = !unread;
    badge.textContent = unread > 99 ? "99+" : unread;
    launcher.setAttribute("aria-label", t(S.open ? "close" : "open") + (unread ? ", " + t("unread", { n: unread }) : ""));
    const read = Math.min(newest, S.lastRead);
    if (!S.conv || !on("read_receipts") || (newest <= S.told.d && read <= S.told.r)) return;
    clearTimeout(seenTimer);
    seenTimer = setTimeout(async () => {
      const body = { inbox: INBOX, conversation_id: S.conv.id };
      if (newest > S.told.d) body.delivered_up_to = newest;
      if (read > S.told.r) body.read_up_to = read;
      if ((await call("POST", "/seen", body)).ok) { S.told.d = Math.max(S.told.d, newest); S.told.r = Math.max(S.told.r, read); }
    }, 300);
  }

  /* ---- typing ---- */
  let typingTimer = 0, theirTimer = 0;
  function theirTyping(typing, name) {
    clearTimeout(theirTimer);
    typingLine.hidden = !typing;
    typingLine.textContent = typing ? (name ? t("typingName", { name }) : t("typing")) : "";
    if (typing) theirTimer = setTimeout(theirTyping, 8000, false);
  }

  function typing(now) {
    if (!S.boot || !S.conv || !on("typing")) return;
    clearTimeout(typingTimer);
    if (now) {
      typingTimer = setTimeout(typing, 4000, false);
      if (Date.now() - S.typingAt < 3000) return;
      S.typingAt = Date.now();
    } else if (!S.typingAt) return;
    else S.typingAt = 0;
    call("POST", "/typing", { inbox: INBOX, typing: now });
  }

  /* ---- composing and sending ---- */
  const files = [];
  function insert(text) {
    const at = input.selectionStart, end = input.selectionEnd;
    input.value = input.value.slice(0, at) + text + input.value.slice(end);
    input.selectionStart = input.selectionEnd = at + text.length;
    input.focus();
  }
  function toggleEmoji(open) {
    emojiBox.hidden = !open;
    emojiButton.setAttribute("aria-expanded", String(open));
    if (open) emojiBox.firstChild.focus();
  }
  emojiButton.onclick = () => toggleEmoji(emojiBox.hidden);
  attachButton.onclick = () => fileInput.click();
  fileInput.onchange = () => { Array.from(fileInput.files).forEach(upload); fileInput.value = ""; };
  input.addEventListener("paste", (event) => {
    const pasted = Array.from(event.clipboardData ? event.clipboardData.items : [])
      .filter((item) => item.kind === "file").map((item) => item.getAsFile()).filter(Boolean);
    if (pasted.length) { event.preventDefault(); pasted.forEach(upload); }
  });
  input.addEventListener("input", () => {
    input.style.height = "38px";
    input.style.height = Math.min(120, input.scrollHeight + 2) + "px";
    if (input.value.trim()) typing(true);
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) { event.preventDefault(); submit(); }
  });
  form.onsubmit = (event) => { event.preventDefault(); submit(); };

  async function upload(file) {
    if (!on("attachments")) return;
    const name = file.name || "image.png";
    const chip = el("div", { class: "chip" });
    const label = el("span", {}, name + " — " + t("uploading"));
    const drop = el("button", { type: "button", "aria-label": t("remove") + " " + name }, "×");
    chip.append(label, drop);
    chips.append(chip);
    chips.hidden = false;
    const entry = { chip, id: null };
    files.push(entry);
    drop.onclick = () => {
      chip.remove();
      if (files.includes(entry)) files.splice(files.indexOf(entry), 1);
      chips.hidden = !files.length;
      input.focus();
    };
    if (!(await session())) return drop.click();
    const body = new FormData();
    body.append("inbox", INBOX);
    body.append("file", file, name);
    const answer = await call("POST", "/attachments", null, body);
    if (answer.ok && answer.data && answer.data.id != null) {
      entry.id = answer.data.id;
      entry.view = answer.data;
      label.textContent = answer.data.name || name;
      return;
    }
    const fallback = t(answer.status === 413 ? "tooBig" : answer.status === 415 ? "badType" : "uploadFailed");
    showError(name + ": " + say(answer, fallback));
    drop.click();
  }

  function submit() {
    const text = input.value.trim();
    if (files.some((f) => f.id == null)) return; /* still uploading */
    if (!text && !files.length) return;
    const message = { client_id: uuid(), text, direction: "in", author_kind: "contact", attachments: files.map((f) => f.view) };
    input.value = "";
    input.style.height = "38px";
    files.splice(0).forEach((f) => f.chip.remove());
    chips.hidden = true;
    toggleEmoji(false);
    showError("");
    typing(false);
    message.node = render(message);
    ticks(message);
    S.byClient.set(message.client_id, message);
    hello.hidden = true;
    list.append(message.node);
    list.scrollTop = list.scrollHeight;
    S.queue = S.queue.then(() => deliver(message));
  }

  /* Sends until the server has it; the same client_id each time, so it is stored once. */
  async function deliver(message) {
    const body = { inbox: INBOX, text: message.text, client_id: message.client_id };
    if (message.attachments.length) body.attachments = message.attachments.map((a) => a.id);
    for (let attempt = 0; attempt < 6; attempt++) {
      if (!(await session())) break;
      const answer = await call("POST", "/messages", body);
      if (answer.ok && answer.data) {
        setConversation(answer.data.conversation);
        (answer.data.messages || []).forEach(add);
        return received();
      }
      if (answer.status === 401) { S.boot = S.token = null; save({ token: null }); continue; }
      if (answer.status && answer.status !== 429 && answer.status < 500) return failed(message, say(answer, t("error")));
      if (!answer.status) showError(t("network"));
      await sleep(Math.min(15000, 1000 * 2 ** attempt));
    }
    failed(message, t("failed"));
  }

  function failed(message, text) {
    const meta = message.node.querySelector(".meta");
    const line = el("span", { class: "fail" }, text + " ");
    const again = el("button", { type: "button" }, t("retry"));
    again.onclick = () => { line.remove(); showError(""); S.queue = S.queue.then(() => deliver(message)); };
    line.append(again);
    meta.append(line);
  }

  /* ---- offline: the banner and the "leave a request" form ---- */
  function offlineBanner() {
    note.hidden = !S.boot.offline;
    if (note.hidden) return;
    note.textContent = (S.boot.offline_message || t("offline")) + " ";
    const leave = el("button", { type: "button" }, t("leave"));
    leave.onclick = requestForm;
    note.append(leave);
  }

  function card(cls, title, fields, button, send) {
    const box = el("form", { class: "card " + cls });
    const problem = el("div", { class: "fail", role: "alert" });
    const go = el("button", { class: "btn", type: "submit" }, button);
    box.append(el("h3", {}, title), ...fields, problem, go);
    box.onsubmit = async (event) => {
      event.preventDefault();
      problem.textContent = "";
      go.disabled = true;
      const error = await send();
      go.disabled = false;
      if (error) problem.textContent = error;
    };
    return { box, go };
  }

  function field(tag, name, label, attrs) {
    return el(tag, Object.assign({ name, placeholder: label, "aria-label": label, maxlength: "200" }, attrs));
  }

  function done(box, text) {
    box.textContent = "";
    box.dataset.done = "1";
    box.append(el("div", { class: "ok", role: "status" }, text));
  }

  function requestForm() {
    const open = extra.querySelector(".request");
    if (open) return open.querySelector("input").focus();
    const name = field("input", "name", t("name"), { autocomplete: "name" });
    const phone = field("input", "phone", t("phone"), { type: "tel", autocomplete: "tel" });
    const email = field("input", "email", t("email"), { type: "email", autocomplete: "email" });
    const text = field("textarea", "text", t("text"), { maxlength: "4000" });
    text.value = input.value.trim();
    const { box } = card("request", t("leave"), [name, phone, email, text], t("submit"), async () => {
      const body = { inbox: INBOX, name: name.value.trim(), text: text.value.trim() };
      if (phone.value.trim()) body.phone = phone.value.trim();
      if (email.value.trim()) body.email = email.value.trim();
      if (!body.phone && !body.email) return t("needContact");
      if (!body.text) return t("needText");
      const answer = await call("POST", "/offline-request", body);
      if (!answer.ok) return say(answer, t("error"));
      done(box, t("requested"));
    });
    extra.append(box);
    name.focus();
  }

  /* ---- the rating, once the conversation is resolved or closed ---- */
  function askRating() {
    const boot = S.boot, conv = S.conv;
    if (!boot || !conv || !boot.rating || !boot.rating.enabled) return;
    const shown = extra.querySelector(".rating");
    const rated = conv.rating != null || (load().rated || []).includes(conv.id);
    if (!/^(resolved|closed)$/.test(conv.status)) return shown && shown.remove();
    if (rated) return shown && !shown.dataset.done && done(shown, t("thanks"));
    if (shown && +shown.dataset.conversation === conv.id) return;
    if (shown) shown.remove();
    const nps = +boot.rating.scale === 10, top = nps ? 10 : 5, title = t(nps ? "rateNps" : "rate");
    const scale = el("div", { class: nps ? "scale" : "scale stars", role: "group", "aria-label": title });
    let score = null;
    for (let n = nps ? 0 : 1; n <= top; n++) {
      const b = el("button", { type: "button", "aria-pressed": "false", "aria-label": t("star", { n, max: top }), "data-score": n }, nps ? n : "★");
      b.onclick = () => {
        score = n;
        for (const other of scale.children) {
          other.setAttribute("aria-pressed", String(+other.dataset.score === n));
          other.classList.toggle("on", !nps && +other.dataset.score <= n);
        }
      };
      scale.append(b);
    }
    const comment = field("textarea", "comment", t("comment"), { maxlength: "2000" });
    const { box } = card("rating", title, [scale, comment], t("rateSend"), async () => {
      if (score == null) return title;
      const body = { inbox: INBOX, conversation_id: conv.id, score };
      if (comment.value.trim()) body.comment = comment.value.trim();
      const answer = await call("POST", "/rating", body);
      if (!answer.ok && answer.status !== 409) return say(answer, t("error"));
      save({ rated: (load().rated || []).concat(conv.id).slice(-20) });
      done(box, t("thanks"));
    });
    box.dataset.conversation = conv.id;
    extra.append(box);
  }

  window.SwitchboardChat = { open: () => toggle(true), close: () => toggle(false) };
  /* A returning visitor resumes at once (unread count, live updates); a new one on first open. */
  if (S.token) setTimeout(session, 0);
})();
