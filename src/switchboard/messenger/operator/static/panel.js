// The operator panel: the list of conversations with unread counts, one conversation's history
// and its composer, transfers, the staff member's own status, notifications; live over SSE
// (polling when the stream is unavailable).
//
// Safety: only a message's `html` (rendered and cleaned by the server) goes in as HTML; every
// other text (names, file names, plain text, the audit) goes in through textContent.
import { ApiError, call, csrf, toLogin, upload } from "./api.js";
import { Live } from "./live.js";

const $ = (id) => document.getElementById(id);
const me = {
  id: Number(document.body.dataset.staffId),
  name: document.body.dataset.name,
  oversees: document.body.dataset.oversees === "true",
};
const STAFF_STATUSES = { online: "в сети", away: "отошёл", busy: "занят", offline: "не в сети" };
const STATUS_NAMES = { open: "открыт", pending: "ожидает", resolved: "решён", closed: "закрыт" };
const REASONS = {
  new: "новый диалог",
  escalation: "эскалация (не открыт вовремя)",
  transfer_branch: "передан в филиал",
  transfer_manual: "передан вручную",
  offline: "нерабочее время",
  no_operator: "нет свободных операторов",
  no_branch: "филиал не найден",
};
const EMOJI = ["😊", "🙂", "😉", "😄", "😂", "🙏", "👍", "👌", "👋", "🤝", "🎉", "✅",
  "❗", "❓", "⏳", "📞", "📎", "💬", "❤️", "🔥", "😔", "😮", "🤔", "👀"];
const TYPING_EVERY_MS = 2500;
const TYPING_IDLE_MS = 3000;
const TYPING_SHOWN_MS = 6000;
const PAGE = 200;
const HEARTBEAT_MS = 30_000;

const state = {
  list: [],
  current: null, // {id, summary, messages: Map(id → message), lastInbound}
  pendingFiles: [], // AttachmentViews uploaded, not sent yet
  typingSentAt: 0,
  typingIdle: null,
  typingShown: null,
  reloadTimer: null,
  opening: 0,
};

// --- small helpers -------------------------------------------------------------------------

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function timeOf(iso) {
  if (!iso) return "";
  const at = new Date(iso);
  const today = new Date();
  const sameDay = at.toDateString() === today.toDateString();
  return sameDay
    ? at.toLocaleTimeString("ru-RU", { hour: "2-digit", minute: "2-digit" })
    : at.toLocaleString("ru-RU", { day: "2-digit", month: "2-digit", hour: "2-digit", minute: "2-digit" });
}

function contactName(summary) {
  const contact = summary.contact || {};
  return contact.name || contact.email || contact.phone || `Посетитель №${contact.id}`;
}

let toastTimer = null;
function toast(text) {
  const node = $("toast");
  node.textContent = text;
  node.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { node.hidden = true; }, 4000);
}

function failure(error) {
  return error instanceof ApiError ? error.message : "Нет связи с сервером. Повторите позже.";
}

function newClientId() {
  const random = new Uint32Array(2);
  crypto.getRandomValues(random);
  return `p-${Date.now().toString(36)}-${random[0].toString(36)}${random[1].toString(36)}`;
}

// --- notifications -------------------------------------------------------------------------

const sound = new Audio("static/notify.wav");

function notify(title, body, conversationId) {
  if (!document.hidden) return;
  sound.currentTime = 0;
  sound.play().catch(() => {});
  if ("Notification" in window && Notification.permission === "granted") {
    const note = new Notification(title, { body, tag: `conversation-${conversationId}`, lang: "ru" });
    note.onclick = () => {
      window.focus();
      openConversation(conversationId);
      note.close();
    };
  }
}

function setupNotificationButton() {
  const button = $("notify-permission");
  if (!("Notification" in window) || Notification.permission !== "default") return;
  button.hidden = false;
  button.addEventListener("click", async () => {
    await Notification.requestPermission();
    button.hidden = Notification.permission === "default";
  });
}

// --- the list ------------------------------------------------------------------------------

function listQuery() {
  const params = new URLSearchParams();
  const scope = $("scope");
  params.set("scope", scope ? scope.value : "mine");
  const filter = $("status-filter").value;
  if (filter === "active") {
    params.append("status", "open");
    params.append("status", "pending");
  } else {
    params.append("status", filter);
  }
  return params.toString();
}

function inFilter(summary) {
  const filter = $("status-filter").value;
  const statusMatches = filter === "active"
    ? summary.status === "open" || summary.status === "pending"
    : summary.status === filter;
  const scope = $("scope") ? $("scope").value : "mine";
  const mine = summary.assignee && summary.assignee.id === me.id;
  return statusMatches && (scope === "all" || mine);
}

async function loadList() {
  try {
    state.list = await call("GET", `conversations?${listQuery()}`);
  } catch (error) {
    toast(failure(error));
    return;
  }
  renderList();
}

function scheduleListReload() {
  clearTimeout(state.reloadTimer);
  state.reloadTimer = setTimeout(loadList, 250);
}

function upsert(summary) {
  const index = state.list.findIndex((item) => item.id === summary.id);
  if (!inFilter(summary)) {
    if (index >= 0) state.list.splice(index, 1);
  } else if (index >= 0) {
    state.list[index] = summary;
  } else {
    state.list.unshift(summary);
  }
  renderList();
}

function renderList() {
  const list = $("conversations");
  const focused = document.activeElement && document.activeElement.closest("#conversations");
  list.replaceChildren();
  for (const summary of state.list) {
    const item = el("li");
    const button = el("button", "conversation-item");
    button.type = "button";
    button.dataset.id = String(summary.id);
    if (state.current && state.current.id === summary.id) {
      button.classList.add("selected");
      button.setAttribute("aria-current", "true");
    }
    const top = el("span", "item-top");
    top.append(el("span", "item-name", contactName(summary)));
    if (summary.unread > 0) {
      const unread = el("span", "badge", summary.unread);
      unread.setAttribute("aria-label", `непрочитанных: ${summary.unread}`);
      top.append(unread);
    }
    const last = summary.last_message;
    const preview = el("span", "item-preview", last ? `${last.direction === "out" ? "Вы: " : ""}${last.text}` : "");
    const meta = el("span", "item-meta muted");
    meta.textContent = [
      STATUS_NAMES[summary.status] || summary.status,
      summary.assignee ? summary.assignee.name : "не назначен",
      last ? timeOf(last.at) : timeOf(summary.created_at),
    ].join(" · ");
    button.append(top, preview, meta);
    button.addEventListener("click", () => openConversation(summary.id));
    item.append(button);
    list.append(item);
  }
  $("list-empty").hidden = state.list.length > 0;
  if (focused && state.current) {
    const again = list.querySelector(`button[data-id="${state.current.id}"]`);
    if (again) again.focus();
  }
  updateBadge();
}

function updateBadge() {
  if ($("status-filter").value !== "active") return;
  const total = state.list.reduce((sum, item) => sum + (item.unread || 0), 0);
  const badge = $("unread-badge");
  badge.textContent = String(total);
  badge.hidden = total === 0;
  document.title = total > 0 ? `(${total}) Диалоги — Мессенджер` : "Диалоги — Мессенджер";
}

function moveSelection(step) {
  if (state.list.length === 0) return;
  const index = state.current ? state.list.findIndex((item) => item.id === state.current.id) : -1;
  const next = index < 0 ? (step > 0 ? 0 : state.list.length - 1)
    : Math.min(state.list.length - 1, Math.max(0, index + step));
  if (state.list[next] && (!state.current || state.list[next].id !== state.current.id)) {
    openConversation(state.list[next].id);
  }
}

// --- one conversation ----------------------------------------------------------------------

async function openConversation(id) {
  // Quick Alt+↓ presses: only the last conversation asked for is shown.
  const ticket = ++state.opening;
  let detail;
  try {
    detail = await call("GET", `conversations/${id}`);
    while (detail.messages.length > 0 && detail.messages.length % PAGE === 0) {
      const after = detail.messages[detail.messages.length - 1].id;
      const more = await call("GET", `conversations/${id}?after=${after}`);
      detail.messages.push(...more.messages);
      if (more.messages.length < PAGE) break;
    }
  } catch (error) {
    toast(failure(error));
    if (error instanceof ApiError && (error.status === 403 || error.status === 404)) loadList();
    return;
  }
  if (ticket !== state.opening) return;
  stopTyping();
  state.current = { id, summary: detail.conversation, messages: new Map(), lastInbound: null };
  state.pendingFiles = [];
  renderPendingFiles();
  $("placeholder").hidden = true;
  $("view").hidden = false;
  $("typing").hidden = true;
  $("composer-error").textContent = "";
  const list = $("messages");
  list.replaceChildren();
  for (const message of detail.messages) addMessage(message);
  renderHead(detail.conversation);
  if (detail.assignments) renderAudit(detail.assignments);
  renderList();
  list.scrollTop = list.scrollHeight;
  if (!document.activeElement || !document.activeElement.closest(".list")) $("text").focus();
  try {
    const opened = await call("POST", `conversations/${id}/open`);
    if (state.current && state.current.id === id) {
      state.current.summary = opened;
      renderHead(opened);
    }
    upsert(opened);
  } catch (error) {
    toast(failure(error));
  }
  markSeen(true);
}

function markSeen(read) {
  const current = state.current;
  if (!current || current.lastInbound === null) return;
  const body = { delivered_up_to: current.lastInbound };
  if (read) body.read_up_to = current.lastInbound;
  call("POST", `conversations/${current.id}/seen`, body).catch(() => {});
  if (read) {
    const item = state.list.find((summary) => summary.id === current.id);
    if (item && item.unread) {
      item.unread = 0;
      renderList();
    }
  }
}

function renderHead(summary) {
  $("contact-name").textContent = contactName(summary);
  const contact = summary.contact || {};
  $("contact-details").textContent = [contact.email, contact.phone, summary.inbox && summary.inbox.name]
    .filter(Boolean).join(" · ");
  $("conversation-meta").textContent = [
    `Статус: ${STATUS_NAMES[summary.status] || summary.status}`,
    summary.branch ? `филиал: ${summary.branch.name}` : null,
    `оператор: ${summary.assignee ? summary.assignee.name : "не назначен"}`,
    summary.rating !== null && summary.rating !== undefined ? `оценка: ${summary.rating}` : null,
  ].filter(Boolean).join(" · ");
  const finished = summary.status === "resolved" || summary.status === "closed";
  $("resolve").hidden = finished;
  $("close").hidden = summary.status === "closed";
  $("reopen").hidden = !finished;
  $("transfer").hidden = finished;
  $("text").disabled = summary.status === "closed";
  $("send").disabled = summary.status === "closed";
}

function ticksOf(message) {
  if (message.read_at) return ["✓✓", "read", "Прочитано"];
  if (message.delivered_at) return ["✓", "delivered", "Доставлено"];
  return ["🕓", "sent", "Отправлено"];
}

function renderMessage(message, pending) {
  const item = el("li", `message ${message.direction} ${message.author_kind}`);
  if (pending) item.classList.add("pending");
  if (message.id) item.dataset.id = String(message.id);
  if (message.client_id) item.dataset.clientId = message.client_id;
  const head = el("div", "message-head");
  const author = message.author_kind === "system" ? "Автоответ"
    : message.author_name || (message.direction === "in" ? "Посетитель" : "Оператор");
  head.append(el("span", "author", author), el("time", "muted", timeOf(message.created_at)));
  const body = el("div", "message-body");
  if (typeof message.html === "string" && message.html) {
    body.innerHTML = message.html; // sanitized by the server (formatting.render)
  } else {
    body.textContent = message.text || "";
  }
  item.append(head, body);
  if (message.attachments && message.attachments.length) {
    const files = el("div", "attachments");
    for (const file of message.attachments) {
      if (!file.url) {
        files.append(el("span", "attachment muted", `📄 ${file.name}`));
        continue;
      }
      const link = el("a", "attachment");
      link.href = file.url;
      link.target = "_blank";
      link.rel = "noopener";
      if (file.is_image) {
        const image = el("img");
        image.src = file.url;
        image.alt = file.name;
        image.addEventListener("load", () => {
          const list = $("messages");
          if (list.scrollHeight - list.scrollTop - list.clientHeight < image.height + 80) {
            list.scrollTop = list.scrollHeight;
          }
        });
        link.append(image);
      } else {
        link.textContent = `📄 ${file.name}`;
        link.download = file.name;
      }
      files.append(link);
    }
    item.append(files);
  }
  if (message.direction === "out" && message.author_kind === "staff") {
    const [mark, kind, title] = pending ? ["🕓", "sent", "Отправляется"] : ticksOf(message);
    const ticks = el("span", `ticks ${kind}`, mark);
    ticks.title = title;
    ticks.setAttribute("aria-label", title);
    item.append(ticks);
  }
  return item;
}

function addMessage(message, pending = false) {
  const current = state.current;
  if (!current) return;
  const list = $("messages");
  if (message.id && current.messages.has(message.id)) {
    replaceMessage(message);
    return;
  }
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 60;
  const node = renderMessage(message, pending);
  const waiting = message.client_id
    ? list.querySelector(`li.pending[data-client-id="${CSS.escape(message.client_id)}"]`)
    : null;
  if (waiting && !pending) waiting.replaceWith(node);
  else list.append(node);
  if (message.id) current.messages.set(message.id, message);
  if (message.direction === "in" && message.id) {
    current.lastInbound = Math.max(current.lastInbound || 0, message.id);
  }
  if (atBottom || pending || message.direction === "out") list.scrollTop = list.scrollHeight;
}

// A newer copy of a shown message (the answer to a send, a fetch with signed file links):
// it replaces the shown one, keeping the delivery and read marks already known.
function replaceMessage(message) {
  const current = state.current;
  const known = current.messages.get(message.id);
  const linked = (m) => (m.attachments || []).every((file) => file.url);
  if (linked(known) && !linked(message)) return;
  const merged = {
    ...message,
    delivered_at: message.delivered_at || known.delivered_at,
    read_at: message.read_at || known.read_at,
  };
  current.messages.set(message.id, merged);
  const node = $("messages").querySelector(`li[data-id="${message.id}"]`);
  if (node) node.replaceWith(renderMessage(merged, false));
}

// Events carry no signed file links: the message is fetched again for them.
async function withLinks(conversationId, message) {
  if ((message.attachments || []).every((file) => file.url)) return;
  try {
    const detail = await call("GET", `conversations/${conversationId}?after=${message.id - 1}`);
    const fresh = detail.messages.find((item) => item.id === message.id);
    if (fresh && state.current && state.current.id === conversationId) addMessage(fresh);
  } catch { /* shown without links */ }
}

function updateTicks(seen) {
  const current = state.current;
  if (!current || seen.conversation_id !== current.id || seen.direction !== "out") return;
  for (const [id, message] of current.messages) {
    if (message.direction !== "out") continue;
    let changed = false;
    if (seen.read_up_to && id <= seen.read_up_to && !message.read_at) {
      message.read_at = new Date().toISOString();
      changed = true;
    }
    if (seen.delivered_up_to && id <= seen.delivered_up_to && !message.delivered_at) {
      message.delivered_at = new Date().toISOString();
      changed = true;
    }
    if (changed) {
      const node = $("messages").querySelector(`li[data-id="${id}"]`);
      if (node) node.replaceWith(renderMessage(message, false));
    }
  }
}

function renderAudit(assignments) {
  const list = $("audit-list");
  if (!list) return;
  list.replaceChildren();
  for (const entry of assignments) {
    const item = el("li");
    const who = entry.to_staff ? entry.to_staff.name : "никому";
    item.append(el("strong", null, `${timeOf(entry.at)} — ${REASONS[entry.reason] || entry.reason}: ${who}`));
    const facts = [
      `политика: ${entry.policy}`,
      entry.branch ? `филиал: ${entry.branch.name}` : null,
      entry.branch_source ? `филиал выбран по: ${entry.branch_source}` : null,
      entry.from_staff ? `от: ${entry.from_staff.name}` : null,
      entry.actor ? `решил: ${entry.actor.name}` : null,
    ].filter(Boolean).join(" · ");
    item.append(el("div", "muted", facts));
    if (entry.explanation) item.append(el("div", null, explain(entry.explanation)));
    if (entry.candidates && entry.candidates.length) {
      const candidates = el("ul", "candidates");
      for (const candidate of entry.candidates) {
        const line = `${candidate.name} — ${STAFF_STATUSES[candidate.status] || candidate.status}, `
          + `${candidate.load}/${candidate.capacity}`
          + (candidate.eligible ? " ✔" : `: ${whyNot(candidate.why_not)}`);
        candidates.append(el("li", candidate.eligible ? null : "muted", line));
      }
      item.append(candidates);
    }
    list.append(item);
  }
}

// Routing's reasons for passing someone over, in Russian (anything else as it came).
function whyNot(reason) {
  const text = String(reason || "");
  const status = text.match(/^status (\w+)$/);
  if (status) return `статус «${STAFF_STATUSES[status[1]] || status[1]}»`;
  const full = text.match(/^at capacity \((\d+)\/(\d+)\)$/);
  if (full) return `нет мест (${full[1]}/${full[2]})`;
  if (text === "outside personal hours") return "вне личного графика";
  if (text.startsWith("excluded")) return "исключён (текущий оператор)";
  return text;
}

// Routing's explanation (English in the audit, parts joined by "; "), in Russian part by part;
// a part not known here is shown as it came.
const WAITS = { no_branch: "нет филиала", offline: "нерабочее время", no_operator: "нет свободного оператора" };
const EXPLAINED = [
  [/^the inbox belongs to a branch$/, () => "ящик сайта принадлежит филиалу"],
  [/^region (.+): rule (\d+) \(priority (-?\d+)\)$/, (m) => `регион ${m[1]}: правило ${m[2]} (приоритет ${m[3]})`],
  [/^(.+): no rule and no default branch$/, (m) => `${region(m[1])}: нет правила и филиала по умолчанию`],
  [/^(.+): the default branch$/, (m) => `${region(m[1])}: филиал по умолчанию`],
  [/^invalid schedule ignored: (.*)$/, (m) => `неверный график не учтён: ${m[1]}`],
  [/^waits: (\w+)$/, (m) => `ждёт: ${WAITS[m[1]] || m[1]}`],
  [/^fewest active conversations \((\d+)\) among (\d+) available$/,
    (m) => `меньше всех активных диалогов (${m[1]}) из ${m[2]} доступных`],
  [/^of (\d+) tied, the longest since an assignment$/, (m) => `из ${m[1]} равных — дольше всех без нового диалога`],
  [/^not opened by (\d+) within (.+)$/, (m) => `оператор ${m[1]} не открыл диалог за ${m[2]}`],
  [/^(.*): stays, timer restarted$/, (m) => `${explainPart(m[1])}: остаётся, таймер запущен заново`],
  [/^no operators in the branch$/, () => "в филиале нет операторов"],
  [/^nobody available$/, () => "никто не свободен"],
  [/^transferred to branch (\d+)$/, (m) => `передан в филиал ${m[1]}`],
  [/^transferred to (.+) by hand$/, (m) => `передан вручную: ${m[1]}`],
];

function region(text) {
  return text === "no region detected" ? "регион не определён" : text;
}

function explainPart(part) {
  for (const [pattern, say] of EXPLAINED) {
    const match = part.match(pattern);
    if (match) return say(match);
  }
  return part;
}

function explain(text) {
  return String(text).split("; ").map(explainPart).join("; ");
}

async function refreshAudit() {
  if (!me.oversees || !state.current) return;
  try {
    const detail = await call("GET", `conversations/${state.current.id}?after=${Number.MAX_SAFE_INTEGER}`);
    if (detail.assignments) renderAudit(detail.assignments);
  } catch { /* the next change refreshes it */ }
}

// --- sending -------------------------------------------------------------------------------

async function send() {
  const current = state.current;
  if (!current) return;
  const textarea = $("text");
  const text = textarea.value.trim();
  const files = state.pendingFiles.slice();
  if (!text && files.length === 0) return;
  const clientId = newClientId();
  const draft = {
    id: null, client_id: clientId, direction: "out", author_kind: "staff", author_name: me.name,
    text, html: "", attachments: files, created_at: new Date().toISOString(),
  };
  addMessage(draft, true);
  textarea.value = "";
  state.pendingFiles = [];
  renderPendingFiles();
  stopTyping();
  $("composer-error").textContent = "";
  try {
    const message = await call("POST", `conversations/${current.id}/messages`, {
      text, client_id: clientId, attachments: files.map((file) => file.id),
    });
    if (state.current === current) addMessage(message);
  } catch (error) {
    const waiting = $("messages").querySelector(`li.pending[data-client-id="${CSS.escape(clientId)}"]`);
    if (waiting) waiting.remove();
    if (state.current === current) {
      textarea.value = text;
      state.pendingFiles = files;
      renderPendingFiles();
      $("composer-error").textContent = failure(error);
    }
  }
}

function sendTyping(typing) {
  const current = state.current;
  if (!current) return;
  call("POST", `conversations/${current.id}/typing`, { typing }).catch(() => {});
}

function typed() {
  const now = Date.now();
  if (now - state.typingSentAt > TYPING_EVERY_MS) {
    state.typingSentAt = now;
    sendTyping(true);
  }
  clearTimeout(state.typingIdle);
  state.typingIdle = setTimeout(stopTyping, TYPING_IDLE_MS);
}

function stopTyping() {
  clearTimeout(state.typingIdle);
  state.typingIdle = null;
  if (state.typingSentAt) {
    state.typingSentAt = 0;
    sendTyping(false);
  }
}

function showTyping(event) {
  const current = state.current;
  if (!current || event.conversation_id !== current.id) return;
  if (event.author_kind === "staff" && event.name === me.name) return;
  const node = $("typing");
  clearTimeout(state.typingShown);
  if (!event.typing) {
    node.hidden = true;
    return;
  }
  const who = event.author_kind === "contact"
    ? (event.name || "Посетитель")
    : `Оператор ${event.name || ""}`.trim();
  node.textContent = `${who} печатает…`;
  node.hidden = false;
  state.typingShown = setTimeout(() => { node.hidden = true; }, TYPING_SHOWN_MS);
}

async function attach(files) {
  $("composer-error").textContent = "";
  for (const file of files) {
    try {
      state.pendingFiles.push(await upload(file));
    } catch (error) {
      $("composer-error").textContent = `${file.name || "Файл"}: ${failure(error)}`;
    }
    renderPendingFiles();
  }
}

function renderPendingFiles() {
  const list = $("pending-files");
  list.replaceChildren();
  state.pendingFiles.forEach((file, index) => {
    const item = el("li", null, file.name);
    const remove = el("button", "link", "✕");
    remove.type = "button";
    remove.setAttribute("aria-label", `Убрать ${file.name}`);
    remove.addEventListener("click", () => {
      state.pendingFiles.splice(index, 1);
      renderPendingFiles();
    });
    item.append(remove);
    list.append(item);
  });
}

// --- emoji ---------------------------------------------------------------------------------

function setupEmoji() {
  const panel = $("emoji-panel");
  const button = $("emoji-button");
  for (const emoji of EMOJI) {
    const choice = el("button", "emoji", emoji);
    choice.type = "button";
    choice.addEventListener("click", () => {
      const textarea = $("text");
      const start = textarea.selectionStart ?? textarea.value.length;
      const end = textarea.selectionEnd ?? start;
      textarea.value = textarea.value.slice(0, start) + emoji + textarea.value.slice(end);
      textarea.selectionStart = textarea.selectionEnd = start + emoji.length;
      closeEmoji();
      textarea.focus();
    });
    panel.append(choice);
  }
  button.addEventListener("click", () => (panel.hidden ? openEmoji() : closeEmoji()));
}

function openEmoji() {
  $("emoji-panel").hidden = false;
  $("emoji-button").setAttribute("aria-expanded", "true");
  $("emoji-panel").querySelector("button").focus();
}

function closeEmoji() {
  $("emoji-panel").hidden = true;
  $("emoji-button").setAttribute("aria-expanded", "false");
}

// --- actions and the transfer dialog -------------------------------------------------------

async function act(action) {
  const current = state.current;
  if (!current) return;
  try {
    const summary = await call("POST", `conversations/${current.id}/${action}`);
    if (state.current === current) {
      current.summary = summary;
      renderHead(summary);
    }
    upsert(summary);
    refreshAudit();
  } catch (error) {
    toast(failure(error));
  }
}

async function openTransfer() {
  const dialog = $("transfer-dialog");
  $("transfer-error").textContent = "";
  let branches, staff;
  try {
    [branches, staff] = await Promise.all([call("GET", "branches"), call("GET", "staff")]);
  } catch (error) {
    toast(failure(error));
    return;
  }
  const branchSelect = $("transfer-branch");
  branchSelect.replaceChildren();
  for (const branch of branches) {
    const option = el("option", null, `${branch.name} (в сети: ${branch.online})`);
    option.value = String(branch.id);
    branchSelect.append(option);
  }
  const staffSelect = $("transfer-staff");
  staffSelect.replaceChildren();
  for (const person of staff) {
    if (state.current && state.current.summary.assignee && state.current.summary.assignee.id === person.id) continue;
    const branch = person.branch ? person.branch.name : "без филиала";
    const option = el("option", null,
      `${person.name} — ${branch}, ${STAFF_STATUSES[person.status] || person.status}, диалогов ${person.load}/${person.capacity}`);
    option.value = String(person.id);
    staffSelect.append(option);
  }
  dialog.showModal();
  branchSelect.focus();
}

async function transfer(target) {
  const current = state.current;
  if (!current) return;
  try {
    const summary = await call("POST", `conversations/${current.id}/transfer`, target);
    $("transfer-dialog").close();
    toast(`Диалог передан: ${summary.assignee ? summary.assignee.name : "—"}`);
    if (!me.oversees && (!summary.assignee || summary.assignee.id !== me.id)) {
      closeView();
    } else {
      current.summary = summary;
      renderHead(summary);
      refreshAudit();
    }
    loadList();
  } catch (error) {
    $("transfer-error").textContent = failure(error);
  }
}

function closeView() {
  stopTyping();
  state.current = null;
  $("view").hidden = true;
  $("placeholder").hidden = false;
  renderList();
}

// --- live events ---------------------------------------------------------------------------

function onEvent(type, data) {
  const current = state.current;
  const isCurrent = current && data.conversation_id === current.id;
  if (type === "message.created") {
    const message = data.message;
    if (isCurrent) {
      addMessage(message);
      withLinks(data.conversation_id, message);
      if (message.direction === "in") {
        $("typing").hidden = true;
        markSeen(!document.hidden);
      }
    }
    if (message.direction === "in") {
      const known = state.list.find((item) => item.id === data.conversation_id);
      const mine = known && known.assignee && known.assignee.id === me.id;
      if (!isCurrent && mine) {
        call("POST", `conversations/${data.conversation_id}/seen`, { delivered_up_to: message.id }).catch(() => {});
      }
      // Supervisors follow everything: only their own chats ring.
      if (mine || isCurrent || (!known && !me.oversees)) {
        notify(`Новое сообщение: ${known ? contactName(known) : "посетитель"}`, message.text || "📎", data.conversation_id);
      }
    }
    scheduleListReload();
  } else if (type === "messages.seen") {
    updateTicks(data);
  } else if (type === "typing.changed") {
    showTyping(data);
  } else if (type === "conversation.changed") {
    const summary = data.conversation;
    const before = state.list.find((item) => item.id === summary.id);
    const nowMine = summary.assignee && summary.assignee.id === me.id;
    const wasMine = before && before.assignee && before.assignee.id === me.id;
    if (nowMine && !wasMine && ["assigned", "transferred", "escalated"].includes(data.change)) {
      notify("Новый диалог", contactName(summary), summary.id);
    }
    if (isCurrent) {
      current.summary = summary;
      renderHead(summary);
      refreshAudit();
      if (!me.oversees && !nowMine) {
        toast("Диалог передан другому оператору.");
        closeView();
      }
    }
    upsert(summary);
    scheduleListReload();
  }
}

function onState(mode) {
  const node = $("connection");
  const texts = { stream: "● на связи", poll: "● на связи (опрос)", lost: "● нет связи" };
  node.textContent = texts[mode] || "";
  node.dataset.state = mode;
}

// The panel is open: without this, staff who closed the browser are set offline (routing
// then passes them over).
async function heartbeat() {
  try {
    const staff = await call("POST", "/api/messenger/auth/me/heartbeat");
    showOwnStatus(staff.status);
  } catch { /* the next beat tries again */ }
}

function showOwnStatus(status) {
  const select = $("own-status");
  let option = select.querySelector(`option[value="${status}"]`);
  if (!option && status === "offline") {
    option = el("option", null, "Не в сети");
    option.value = "offline";
    option.disabled = true;
    select.append(option);
  }
  if (option) select.value = status;
}

function resync() {
  loadList();
  if (state.current) openConversation(state.current.id);
}

// --- start ---------------------------------------------------------------------------------

function setup() {
  if (!csrf.get()) {
    toLogin();
    return;
  }
  $("composer").addEventListener("submit", (event) => {
    event.preventDefault();
    send();
  });
  const textarea = $("text");
  textarea.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.altKey && !event.isComposing) {
      event.preventDefault();
      send();
    }
  });
  textarea.addEventListener("input", () => {
    if (textarea.value.trim()) typed();
    else stopTyping();
  });
  textarea.addEventListener("paste", (event) => {
    const files = [...(event.clipboardData ? event.clipboardData.files : [])];
    if (files.length === 0) return;
    event.preventDefault();
    attach(files);
  });
  $("attach-button").addEventListener("click", () => $("file-input").click());
  $("file-input").addEventListener("change", (event) => {
    attach([...event.target.files]);
    event.target.value = "";
  });
  setupEmoji();
  $("resolve").addEventListener("click", () => act("resolve"));
  $("close").addEventListener("click", () => act("close"));
  $("reopen").addEventListener("click", () => act("reopen"));
  $("transfer").addEventListener("click", openTransfer);
  $("transfer-to-branch").addEventListener("click", () => {
    const value = $("transfer-branch").value;
    if (value) transfer({ branch_id: Number(value) });
  });
  $("transfer-to-staff").addEventListener("click", () => {
    const value = $("transfer-staff").value;
    if (value) transfer({ staff_id: Number(value) });
    else $("transfer-error").textContent = "Выберите сотрудника.";
  });
  $("transfer-staff").addEventListener("dblclick", () => $("transfer-to-staff").click());
  $("status-filter").addEventListener("change", loadList);
  if ($("scope")) $("scope").addEventListener("change", loadList);
  $("own-status").addEventListener("change", async (event) => {
    try {
      const staff = await call("PUT", "/api/messenger/auth/me/status", { status: event.target.value });
      showOwnStatus(staff.status);
      toast("Статус изменён.");
    } catch (error) {
      toast(failure(error));
    }
  });
  $("logout").addEventListener("click", async () => {
    try { await call("POST", "/api/messenger/auth/logout"); } catch { /* signed out anyway */ }
    csrf.clear();
    toLogin();
  });
  document.addEventListener("keydown", (event) => {
    if (event.altKey && (event.key === "ArrowUp" || event.key === "ArrowDown")) {
      event.preventDefault();
      moveSelection(event.key === "ArrowUp" ? -1 : 1);
    } else if (event.key === "Escape" && !$("emoji-panel").hidden) {
      closeEmoji();
      $("emoji-button").focus();
    }
  });
  document.addEventListener("click", (event) => {
    if (!$("emoji-panel").hidden && !event.target.closest("#emoji-panel, #emoji-button")) closeEmoji();
  });
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) markSeen(true);
  });
  setupNotificationButton();
  heartbeat();
  setInterval(heartbeat, HEARTBEAT_MS);
  loadList();
  new Live({ onEvent, onState, onResync: resync }).start();
}

setup();
