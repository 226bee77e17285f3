// The inboxes page: the list, and the editor of one inbox (branch, hours, offline text,
// rating, features, allowed sites) with its embed code and a new public key on demand.
import { call, canChange, el, fail, lockIfReadOnly, numberOrNull, options, show } from "./common.js";
import { ScheduleEditor } from "./schedule.js";

const FEATURES = {
  attachments: "Вложения (файлы и скриншоты)",
  typing: "«Печатает…» в обе стороны",
  read_receipts: "Отметки «доставлено» и «прочитано»",
  sse: "Мгновенная доставка (SSE); выключено — опрос сервера",
};

const form = document.getElementById("inbox-form");
const editor = document.getElementById("editor");
const schedule = new ScheduleEditor(document.getElementById("inbox-schedule"));
let branches = [];
let current = null; // the inbox being edited; null: a new one

function status(text, ok = true) {
  show(text, ok, "inbox-status");
}

async function load() {
  const [inboxes, loadedBranches] = await Promise.all([call("GET", "inboxes"), call("GET", "branches")]);
  branches = loadedBranches;
  const rows = document.querySelector("#inboxes tbody");
  rows.replaceChildren(...inboxes.map((inbox) => el("tr", { class: inbox.active ? "" : "off", "data-id": inbox.id },
    el("td", { text: inbox.name }),
    el("td", { text: inbox.branch ? inbox.branch.name : "по региону посетителя" }),
    el("td", { text: inbox.active ? "да" : "нет" }),
    el("td", {}, el("code", { class: "key", text: inbox.public_key })),
    el("td", {}, el("button", { type: "button", text: canChange ? "Изменить" : "Открыть", onclick: () => open(inbox) })))));
  if (!inboxes.length) rows.append(el("tr", {}, el("td", { colspan: 5, class: "muted", text: "Каналов пока нет." })));
  return inboxes;
}

function featureBoxes(features) {
  const box = document.getElementById("features");
  box.querySelectorAll("label").forEach((label) => label.remove());
  for (const [name, value] of Object.entries(features)) {
    const input = el("input", { type: "checkbox", name: `feature_${name}`, "data-feature": name, "data-change": true });
    input.checked = Boolean(value);
    box.append(el("label", { class: "check" }, input, ` ${FEATURES[name] || name}`));
  }
}

const DEFAULTS = {
  schedule: { time_zone: "Europe/Moscow", weekly: {}, holidays: [] },
  offline: { enabled: true, message: "Сейчас никого нет. Оставьте сообщение — мы ответим в рабочее время." },
  rating: { enabled: true, scale: 5 },
  features: { attachments: true, typing: true, read_receipts: true },
  allowed_domains: [],
};

function open(inbox) {
  current = inbox;
  const settings = inbox ? inbox.settings : DEFAULTS;
  document.getElementById("editor-title").textContent = inbox ? `Канал «${inbox.name}»` : "Новый канал";
  form.name.value = inbox ? inbox.name : "";
  options(form.branch_id, branches.map((b) => [b.id, `Только филиал «${b.name}»`]),
    inbox && inbox.branch ? inbox.branch.id : null, "По региону посетителя (правила регионов)");
  form.active.checked = inbox ? inbox.active : true;
  schedule.fill(settings.schedule);
  form.offline_enabled.checked = settings.offline.enabled;
  form.offline_message.value = settings.offline.message;
  form.rating_enabled.checked = settings.rating.enabled;
  form.rating_scale.value = String(settings.rating.scale);
  featureBoxes(settings.features);
  form.allowed_domains.value = settings.allowed_domains.join("\n");
  document.getElementById("delete-inbox").hidden = !inbox;
  const embed = document.getElementById("embed");
  embed.hidden = !inbox;
  if (inbox) {
    document.getElementById("embed-code").value = inbox.embed_code;
    document.getElementById("public-key").textContent = inbox.public_key;
  }
  status("");
  editor.hidden = false;
  lockIfReadOnly(editor);
  form.name.focus();
}

function read() {
  const features = {};
  for (const input of form.querySelectorAll("[data-feature]")) features[input.dataset.feature] = input.checked;
  const base = current ? current.settings : DEFAULTS;
  return {
    name: form.name.value.trim(),
    branch_id: numberOrNull(form.branch_id.value),
    active: form.active.checked,
    settings: {
      ...base,
      schedule: schedule.read(),
      offline: { enabled: form.offline_enabled.checked, message: form.offline_message.value.trim() },
      rating: { enabled: form.rating_enabled.checked, scale: Number(form.rating_scale.value) },
      features,
      allowed_domains: form.allowed_domains.value.split("\n").map((line) => line.trim()).filter(Boolean),
    },
  };
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    const body = read();
    const saved = current ? await call("PUT", `inboxes/${current.id}`, body) : await call("POST", "inboxes", body);
    await load();
    open(saved);
    status("Сохранено");
  } catch (error) {
    status(error.message, false);
  }
});

document.getElementById("new-inbox").addEventListener("click", () => open(null));
document.getElementById("close-editor").addEventListener("click", () => { editor.hidden = true; });

document.getElementById("delete-inbox").addEventListener("click", async () => {
  if (!current || !window.confirm(`Удалить канал «${current.name}»?`)) return;
  try {
    await call("DELETE", `inboxes/${current.id}`);
    editor.hidden = true;
    await load();
    show("Канал удалён");
  } catch (error) {
    status(error.message, false);
  }
});

document.getElementById("copy-embed").addEventListener("click", async () => {
  const code = document.getElementById("embed-code");
  try {
    await navigator.clipboard.writeText(code.value);
    status("Код скопирован");
  } catch {
    code.select();
    status("Выделите код и скопируйте его (Ctrl+C)");
  }
});

document.getElementById("regenerate-key").addEventListener("click", async () => {
  if (!current || !window.confirm("Выдать новый ключ? Старый код на сайтах перестанет работать.")) return;
  try {
    const saved = await call("POST", `inboxes/${current.id}/regenerate-key`);
    await load();
    open(saved);
    status("Новый ключ выдан: вставьте новый код на сайт");
  } catch (error) {
    status(error.message, false);
  }
});

lockIfReadOnly();
load().catch(fail);
