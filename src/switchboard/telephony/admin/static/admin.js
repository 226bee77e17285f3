// The RetailCRM admin page: every text from RetailCRM goes in through textContent, never as
// HTML (a manager named "<img onerror=…>" is shown as typed).
const body = document.body;
const enterprise = body.dataset.enterprise;
const csrf = body.dataset.csrf;
const api = (path) => `api/${path}/${encodeURIComponent(enterprise)}`;

async function call(method, path, data) {
  const options = { method, headers: { "X-CSRF-Token": csrf, Accept: "application/json" } };
  if (data !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(data);
  }
  const response = await fetch(api(path), options);
  let answer = null;
  try { answer = await response.json(); } catch { answer = null; }
  if (!response.ok) {
    throw new Error((answer && answer.message) || `Ошибка ${response.status}`);
  }
  return answer;
}

function show(id, text, ok) {
  const element = document.getElementById(id);
  element.textContent = text;
  element.className = `status ${ok ? "ok" : "error"}`;
}

document.getElementById("connection").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  const change = { domain: form.domain.value.trim(), enabled: form.enabled.checked };
  if (form.api_key.value) change.api_key = form.api_key.value;
  try {
    const saved = await call("PUT", "config", change);
    form.api_key.value = "";
    document.getElementById("masked-key").textContent = saved.api_key || "не задан";
    const registered = await call("POST", "register");
    show("connection-status", registered.message, registered.success);
  } catch (error) {
    show("connection-status", error.message, false);
  }
});

document.getElementById("test").addEventListener("click", async () => {
  try {
    const outcome = await call("POST", "test");
    show("connection-status", outcome.message, outcome.success);
  } catch (error) {
    show("connection-status", error.message, false);
  }
});

document.getElementById("delete").addEventListener("click", async () => {
  if (!window.confirm("Удалить интеграцию? Ссылки из RetailCRM перестанут работать.")) return;
  try {
    const outcome = await call("DELETE", "config");
    document.getElementById("enabled").checked = false;
    show("connection-status", outcome.message, outcome.success);
  } catch (error) {
    show("connection-status", error.message, false);
  }
});

let phones = [];

function numberSelect(manager) {
  const select = document.createElement("select");
  select.dataset.user = String(manager.id);
  select.setAttribute("aria-label", `Внутренний номер: ${manager.name}`);
  const none = document.createElement("option");
  none.value = "";
  none.textContent = "Без номера";
  select.append(none);
  for (const phone of phones) {
    const option = document.createElement("option");
    option.value = phone.number;
    const owner = phone.user_name ? phone.user_name : "свободен";
    option.textContent = `${phone.number} (${owner})`;
    option.selected = manager.extension === phone.number;
    select.append(option);
  }
  // One number per manager: taking a number here frees it elsewhere on the page.
  select.addEventListener("change", () => {
    for (const other of document.querySelectorAll("#managers select")) {
      if (other !== select && select.value && other.value === select.value) other.value = "";
    }
  });
  return select;
}

document.getElementById("load-managers").addEventListener("click", async () => {
  try {
    phones = await call("GET", "internal-phones");
    const view = await call("GET", "managers");
    const rows = document.querySelector("#managers tbody");
    rows.replaceChildren();
    for (const manager of view.managers) {
      const row = document.createElement("tr");
      const name = document.createElement("td");
      name.textContent = manager.active ? manager.name : `${manager.name} (неактивен)`;
      const email = document.createElement("td");
      email.textContent = manager.email || "";
      const number = document.createElement("td");
      number.append(numberSelect(manager));
      row.append(name, email, number);
      rows.append(row);
    }
    document.getElementById("managers").hidden = false;
    document.getElementById("save-extensions").hidden = false;
    let note = `Менеджеров: ${view.managers.length}`;
    if (view.imported) note += "; номера взяты из RetailCRM";
    if (Object.keys(view.corrected).length) note += "; RetailCRM исправлен по нашим данным";
    show("managers-status", note, true);
  } catch (error) {
    show("managers-status", error.message, false);
  }
});

document.getElementById("save-extensions").addEventListener("click", async () => {
  const extensions = {};
  for (const select of document.querySelectorAll("#managers select")) {
    extensions[select.dataset.user] = select.value || null;
  }
  try {
    await call("POST", "save-extensions", { user_extensions: extensions });
    show("managers-status", "Номера сохранены и отправлены в RetailCRM", true);
  } catch (error) {
    show("managers-status", error.message, false);
  }
});

// Secrets (the bot token, the AMI secret) go out only when a new one is typed: an empty field
// keeps the stored one. The page never receives a secret, only its mask.
async function saveSettings(path, change, statusId, done) {
  try {
    const saved = await call("PUT", path, change);
    done(saved);
    show(statusId, "Настройки сохранены", true);
  } catch (error) {
    show(statusId, error.message, false);
  }
}

async function runCheck(path, statusId) {
  show(statusId, "Проверяем…", true);
  try {
    const outcome = await call("POST", path);
    show(statusId, outcome.message, outcome.success);
  } catch (error) {
    show(statusId, error.message, false);
  }
}

const telegramForm = document.getElementById("telegram");
telegramForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const fields = telegramForm.elements;
  const change = {
    enabled: fields.enabled.checked,
    chat_ids: fields.chat_ids.value.split("\n").map((line) => line.trim()).filter(Boolean),
    api_url: fields.api_url.value.trim(),
  };
  if (fields.bot_token.value.trim()) change.bot_token = fields.bot_token.value.trim();
  await saveSettings("telegram", change, "telegram-status", (saved) => {
    fields.bot_token.value = "";
    if (saved.has_bot_token) fields.bot_token.placeholder = "введите, чтобы заменить";
    document.getElementById("masked-token").textContent = saved.bot_token || "не задан";
    fields.chat_ids.value = saved.chat_ids.join("\n");
    fields.api_url.value = saved.api_url;
    fields.enabled.checked = saved.enabled;
  });
});

document.getElementById("test-telegram").addEventListener("click", () =>
  runCheck("telegram-test", "telegram-status"));

const amiForm = document.getElementById("ami");
amiForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const fields = amiForm.elements;
  const change = {
    host: fields.host.value.trim(),
    username: fields.username.value.trim(),
    context: fields.context.value.trim(),
  };
  if (fields.port.value !== "") change.port = Number(fields.port.value);
  if (fields.secret.value) change.secret = fields.secret.value;
  await saveSettings("ami", change, "ami-status", (saved) => {
    fields.secret.value = "";
    if (saved.has_secret) fields.secret.placeholder = "введите, чтобы заменить";
    document.getElementById("masked-secret").textContent = saved.secret || "не задан";
    fields.host.value = saved.host;
    fields.port.value = String(saved.port);
    fields.username.value = saved.username;
    fields.context.value = saved.context;
  });
});

document.getElementById("test-ami").addEventListener("click", () =>
  runCheck("ami-test", "ami-status"));
