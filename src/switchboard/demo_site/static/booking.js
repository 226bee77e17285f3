// The booking page of a customer's site: our front-end API for the booking, Chatwoot's public
// API for the chat (as a chat widget uses it). Plain ES module, no build step.

const TEXTS = {
  ru: {
    title: "Запись на консультацию", you: "Ваши данные", name: "Имя", phone: "Телефон",
    email: "Эл. почта", company: "Организация", inn: "ИНН / ПИНФЛ", code: "Код абонента",
    consultation: "Консультация", type: "Вид обращения",
    type_accounting: "Консультация по ведению учёта", type_support: "Техническая поддержка",
    po_type: "Программа", po_section: "Раздел", category: "Категория вопроса", question: "Вопрос",
    date: "Дата и время", comment: "Комментарий", managers: "Свободные консультанты",
    submit: "Записаться", booked: "Заявка принята", number: "Номер заявки",
    queue: "Место в очереди", expected_wait: "Ожидание", manager: "Консультант",
    chat: "Чат с консультантом", send: "Отправить", redate: "Перенести", new_date: "Новая дата",
    redate_do: "Перенести", rate: "Оценить", rate_question: "Как прошла консультация?",
    rate_do: "Отправить оценку", cancel: "Отменить заявку", new_booking: "Новая заявка",
    history: "История", choose: "— выберите —", any: "— любой —",
    no_managers: "Сейчас нет свободных консультантов: заявка встанет в общую очередь.",
    wait_range: "Ожидание: от {min} до {max} мин.", wait_one: "Ожидание: около {min} мин.",
    wait_none: "Ожидание: без очереди.", queue_of: "{position}",
    pending_number: "присваивается…", booking: "Отправляем заявку…",
    cancelled: "Заявка отменена.", redated: "Консультация перенесена.", rated: "Спасибо за оценку!",
    sent: "Сообщение отправлено.", cancel_confirm: "Отменить заявку?", you_label: "Вы",
    support_label: "Консультант", chat_waiting: "Чат откроется, как только заявка появится в системе.",
    failed: "Не получилось: {message}", offline: "Нет связи с сервером. Попробуйте ещё раз.",
    status_new: "Новая", status_open: "Открыта", status_pending: "В очереди",
    status_resolved: "Решена", status_closed: "Закрыта", status_cancelled: "Отменена",
    event_status: "Статус: {value}", event_redate: "Перенос на {value}",
    event_rating: "Оценка {value}", event_call: "Попытка дозвона",
  },
  uz: {
    title: "Konsultatsiyaga yozilish", you: "Ma’lumotlaringiz", name: "Ism", phone: "Telefon",
    email: "E-pochta", company: "Tashkilot", inn: "STIR / JShShIR", code: "Abonent kodi",
    consultation: "Konsultatsiya", type: "Murojaat turi",
    type_accounting: "Hisob yuritish bo‘yicha konsultatsiya", type_support: "Texnik yordam",
    po_type: "Dastur", po_section: "Bo‘lim", category: "Savol toifasi", question: "Savol",
    date: "Sana va vaqt", comment: "Izoh", managers: "Bo‘sh konsultantlar",
    submit: "Yozilish", booked: "Ariza qabul qilindi", number: "Ariza raqami",
    queue: "Navbatdagi o‘rin", expected_wait: "Kutish", manager: "Konsultant",
    chat: "Konsultant bilan chat", send: "Yuborish", redate: "Ko‘chirish", new_date: "Yangi sana",
    redate_do: "Ko‘chirish", rate: "Baholash", rate_question: "Konsultatsiya qanday o‘tdi?",
    rate_do: "Bahoni yuborish", cancel: "Arizani bekor qilish", new_booking: "Yangi ariza",
    history: "Tarix", choose: "— tanlang —", any: "— istalgan —",
    no_managers: "Hozir bo‘sh konsultant yo‘q: ariza umumiy navbatga qo‘yiladi.",
    wait_range: "Kutish: {min} dan {max} daqiqagacha.", wait_one: "Kutish: taxminan {min} daqiqa.",
    wait_none: "Kutish: navbatsiz.", queue_of: "{position}",
    pending_number: "berilmoqda…", booking: "Ariza yuborilmoqda…",
    cancelled: "Ariza bekor qilindi.", redated: "Konsultatsiya ko‘chirildi.", rated: "Baho uchun rahmat!",
    sent: "Xabar yuborildi.", cancel_confirm: "Arizani bekor qilasizmi?", you_label: "Siz",
    support_label: "Konsultant", chat_waiting: "Ariza tizimda paydo bo‘lishi bilan chat ochiladi.",
    failed: "Bajarilmadi: {message}", offline: "Server bilan aloqa yo‘q. Qayta urinib ko‘ring.",
    status_new: "Yangi", status_open: "Ochiq", status_pending: "Navbatda",
    status_resolved: "Hal qilindi", status_closed: "Yopildi", status_cancelled: "Bekor qilindi",
    event_status: "Holat: {value}", event_redate: "{value} ga ko‘chirildi",
    event_rating: "Baho {value}", event_call: "Qo‘ng‘iroq urinishi",
  },
};
const CHAT_POLL_MS = 2000;
const STORAGE_KEY = "switchboard-demo-booking";

const state = { lang: localStorage.getItem("switchboard-demo-lang") || "ru", config: null, booked: null, poll: null };
const $ = (selector) => document.querySelector(selector);
const form = $("#booking");

function t(key, params = {}) {
  const text = (TEXTS[state.lang] || TEXTS.ru)[key] ?? TEXTS.ru[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(params[name] ?? ""));
}

function applyTexts() {
  document.documentElement.lang = state.lang;
  document.title = t("title");
  for (const node of document.querySelectorAll("[data-text]")) node.textContent = t(node.dataset.text);
  for (const button of document.querySelectorAll("[data-lang]")) {
    button.setAttribute("aria-pressed", String(button.dataset.lang === state.lang));
  }
}

function notice(text, kind = "info") {
  const box = $("#notice");
  box.textContent = text;
  box.className = kind === "error" ? "error" : "";
  box.hidden = !text;
}

async function api(path, { method = "GET", body } = {}) {
  const headers = { "Accept-Language": state.lang };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (state.config.front_secret) headers["X-Front-Secret"] = state.config.front_secret;
  let response;
  try {
    response = await fetch(state.config.api_url + path, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new Error(t("offline"));
  }
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) {
    const fields = (data?.details || []).map((item) => `${item.field}: ${item.message}`).join("; ");
    throw new Error([data?.message || response.statusText, fields].filter(Boolean).join(" — "));
  }
  return data;
}

function chatwoot(path, init = {}) {
  const base = `${state.config.chatwoot_url}/public/api/v1/inboxes/${state.config.inbox_identifier}`;
  return fetch(base + path, {
    ...init, headers: { "Content-Type": "application/json", ...(init.headers || {}) },
  });
}

function fillSelect(select, items, { optional = false, label = (item) => item.description } = {}) {
  const previous = select.value;
  select.replaceChildren();
  const empty = document.createElement("option");
  empty.value = "";
  empty.textContent = t(optional ? "any" : "choose");
  select.append(empty);
  for (const item of items) {
    const option = document.createElement("option");
    option.value = item.ref_key;
    option.textContent = label(item);
    option.dataset.hint = item.useful_info || "";
    select.append(option);
  }
  if ([...select.options].some((option) => option.value === previous)) select.value = previous;
}

async function loadSoftware() {
  fillSelect(form.po_type_key, await api("/api/dicts/po-types"));
  await loadSections();
}

async function loadSections() {
  const owner = form.po_type_key.value;
  const sections = owner ? await api(`/api/dicts/po-sections?owner_key=${owner}`) : [];
  fillSelect(form.po_section_key, sections, { optional: true });
}

async function loadCategories() {
  fillSelect(form.category_key, await api(`/api/dicts/online-question/categories?language=${state.lang}`));
  await loadQuestions();
}

async function loadQuestions() {
  const category = form.category_key.value;
  const query = `language=${state.lang}` + (category ? `&category_key=${category}` : "");
  const questions = category ? await api(`/api/dicts/online-questions?${query}`) : [];
  fillSelect(form.question_key, questions, { optional: true });
  showHint();
}

function showHint() {
  const hint = form.question_key.selectedOptions[0]?.dataset.hint || "";
  $("#hint").textContent = hint;
  $("#hint").hidden = !hint;
}

function waitText(wait) {
  if (!wait) return "";
  const min = wait.estimated_wait_minutes_min ?? wait.estimated_wait_minutes ?? 0;
  const max = wait.estimated_wait_minutes_max ?? min;
  if (!max) return t("wait_none");
  return wait.show_range ? t("wait_range", { min, max }) : t("wait_one", { min });
}

async function loadManagers() {
  const params = new URLSearchParams({ language: state.lang });
  for (const name of ["category_key", "po_section_key", "po_type_key"]) {
    if (form[name].value) params.set(name, form[name].value);
  }
  const list = $("#manager-list");
  let managers = [];
  try {
    managers = await api(`/api/managers/available?${params}`);
  } catch (error) {
    notice(t("failed", { message: error.message }), "error");
  }
  managers = Array.isArray(managers) ? managers : managers?.items || [];
  list.replaceChildren(...managers.map((manager) => {
    const item = document.createElement("li");
    item.textContent = manager.name || manager.description || manager.manager_key;
    return item;
  }));
  $("#wait").textContent = managers.length ? "" : t("no_managers");
  if (managers.length) {
    const best = managers[0];
    const wait = await api(`/api/managers/${best.manager_key}/wait-time`).catch(() => null);
    $("#wait").textContent = waitText(wait);
  }
}

function localInput(date) {
  const shifted = new Date(date.getTime() - date.getTimezoneOffset() * 60000);
  return shifted.toISOString().slice(0, 16);
}

function dateLimits() {
  const now = new Date();
  const latest = new Date(now.getTime() + state.config.max_future_days * 86400000);
  for (const input of [form.start_date, $("#redate-form").new_date]) {
    input.min = localInput(now);
    input.max = localInput(latest);
    if (!input.value) input.value = localInput(new Date(now.getTime() + 3600000));
  }
}

function fromLocalInput(value) {
  return new Date(value).toISOString();
}

function bookingBody() {
  const client = { ...state.config.client };
  for (const name of ["name", "phone_number", "email", "company_name", "org_inn", "code_abonent"]) {
    const value = form[name].value.trim();
    client[name] = value || null;
  }
  const consultation = {
    consultation_type: form.consultation_type.value,
    start_date: fromLocalInput(form.start_date.value),
    comment: form.comment.value.trim() || null,
    lang: state.lang,
    source: "SITE",
  };
  for (const name of ["po_type_key", "po_section_key", "category_key", "question_key"]) {
    if (form[name].value) consultation[name] = form[name].value;
  }
  const question = form.question_key.selectedOptions[0];
  if (question?.value) consultation.topic = question.textContent;
  return { client, consultation };
}

function pick(data, ...paths) {
  for (const path of paths) {
    const value = path.split(".").reduce((node, key) => node?.[key], data);
    if (value !== undefined && value !== null) return value;
  }
  return null;
}

function showBooked() {
  const booked = state.booked;
  form.hidden = true;
  $("#booked").hidden = false;
  $("#booked-number").textContent = booked.number || t("pending_number");
  $("#booked-queue").textContent = booked.queue_position ?? "—";
  $("#booked-wait").textContent = booked.wait_text || "—";
  $("#booked-manager").textContent = booked.manager_name || "—";
  startChat();
  loadHistory();
}

async function submitBooking(event) {
  event.preventDefault();
  if (!form.reportValidity()) return;
  $("#submit").disabled = true;
  notice(t("booking"));
  try {
    const answer = await api("/api/consultations/create", { method: "POST", body: bookingBody() });
    state.booked = {
      cons_id: answer.cons_id,
      number: pick(answer, "number", "consultation.number"),
      queue_position: pick(answer, "queue.position"),
      wait_text: pick(answer, "queue.wait_text"),
      manager_name: pick(answer, "manager_name", "manager.name"),
      conversation_id: pick(answer, "chatwoot_conversation_id"),
      source_id: pick(answer, "chatwoot_source_id"),
    };
    localStorage.setItem(STORAGE_KEY, JSON.stringify(state.booked));
    notice("");
    showBooked();
  } catch (error) {
    notice(t("failed", { message: error.message }), "error");
  } finally {
    $("#submit").disabled = false;
  }
}

async function refreshBooking() {
  const booked = state.booked;
  const current = await api(`/api/consultations/${booked.cons_id}`).catch(() => null);
  if (!current) return;
  booked.number = current.number || booked.number;
  booked.conversation_id = current.chatwoot_conversation_id ?? booked.conversation_id;
  booked.source_id = current.chatwoot_source_id ?? booked.source_id;
  booked.manager_name = current.manager_name || booked.manager_name;
  localStorage.setItem(STORAGE_KEY, JSON.stringify(booked));
  $("#booked-number").textContent = booked.number || t("pending_number");
  $("#booked-manager").textContent = booked.manager_name || "—";
}

function renderMessages(messages) {
  const list = $("#messages");
  const seen = new Set([...list.children].map((item) => item.dataset.id));
  for (const message of messages) {
    if (seen.has(String(message.id))) continue;
    const item = document.createElement("li");
    item.dataset.id = String(message.id);
    const incoming = message.message_type === 0 || message.message_type === "incoming";
    item.className = incoming ? "incoming" : "outgoing";
    const author = document.createElement("span");
    author.className = "author";
    author.textContent = incoming ? t("you_label") : message.sender?.name || t("support_label");
    const text = document.createElement("span");
    text.textContent = message.content || "";  // text only: nothing from the chat becomes HTML
    item.append(author, text);
    list.append(item);
    list.scrollTop = list.scrollHeight;
  }
}

async function pollChat() {
  const booked = state.booked;
  if (!booked) return;
  if (!booked.conversation_id || !booked.source_id) {
    await refreshBooking();
    if (!booked.conversation_id || !booked.source_id) {
      $("#messages").dataset.waiting = t("chat_waiting");
      return;
    }
  }
  const path = `/contacts/${booked.source_id}/conversations/${booked.conversation_id}/messages`;
  const response = await chatwoot(path).catch(() => null);
  if (response?.ok) renderMessages(await response.json());
}

function startChat() {
  clearInterval(state.poll);
  $("#messages").replaceChildren();
  pollChat();
  state.poll = setInterval(pollChat, CHAT_POLL_MS);
}

async function sendMessage(event) {
  event.preventDefault();
  const booked = state.booked;
  const input = event.target.content;
  if (!input.value.trim() || !booked.conversation_id) return;
  const path = `/contacts/${booked.source_id}/conversations/${booked.conversation_id}/messages`;
  const response = await chatwoot(path, { method: "POST", body: JSON.stringify({ content: input.value }) });
  if (response.ok) {
    renderMessages([await response.json()]);
    input.value = "";
  }
}

async function action(work, done) {
  try {
    await work();
    notice(t(done));
    await refreshBooking();
    await loadHistory();
  } catch (error) {
    notice(t("failed", { message: error.message }), "error");
  }
}

function historyLine(event) {
  const value = event.status ? t(`status_${event.status}`) : event.value ?? event.new_date ?? event.rating ?? "";
  const when = event.at || event.occurred_at || event.date || event.period;
  const kind = { status: "event_status", redate: "event_redate", rating: "event_rating", call: "event_call" }[event.kind || event.type] || "event_status";
  const at = when ? new Date(when).toLocaleString(state.lang === "uz" ? "uz-UZ" : "ru-RU") : "";
  return `${at} — ${t(kind, { value: typeof value === "string" && value.includes("T") ? new Date(value).toLocaleString() : value })}`;
}

async function loadHistory() {
  const booked = state.booked;
  if (!booked) return;
  const history = await api(`/api/consultations/${booked.cons_id}/history`).catch(() => null);
  const events = Array.isArray(history) ? history : history?.events || history?.items || [];
  $("#history").replaceChildren(...events.map((event) => {
    const item = document.createElement("li");
    item.textContent = historyLine(event);
    return item;
  }));
}

function newBooking() {
  clearInterval(state.poll);
  state.booked = null;
  localStorage.removeItem(STORAGE_KEY);
  $("#booked").hidden = true;
  form.hidden = false;
  notice("");
}

async function start() {
  state.config = await (await fetch("/config.json")).json();
  for (const [name, value] of Object.entries(state.config.client || {})) {
    if (form[name] && value !== null && value !== undefined) form[name].value = value;
  }
  applyTexts();
  dateLimits();
  form.addEventListener("submit", submitBooking);
  form.po_type_key.addEventListener("change", () => loadSections().then(loadManagers));
  form.po_section_key.addEventListener("change", loadManagers);
  form.category_key.addEventListener("change", () => loadQuestions().then(loadManagers));
  form.question_key.addEventListener("change", showHint);
  $("#chat-form").addEventListener("submit", sendMessage);
  $("#redate-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const body = { new_date: fromLocalInput(event.target.new_date.value), comment: event.target.comment.value || null };
    action(() => api(`/api/consultations/${state.booked.cons_id}/redates`, { method: "POST", body }), "redated");
  });
  $("#rating-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const rating = Number(new FormData(event.target).get("rating"));
    const answers = [{ question_number: 1, rating, question: t("rate_question"), comment: event.target.comment.value || null }];
    action(() => api(`/api/consultations/${state.booked.cons_id}/ratings`, { method: "POST", body: { answers } }), "rated");
  });
  $("#cancel").addEventListener("click", () => {
    if (!window.confirm(t("cancel_confirm"))) return;
    action(() => api(`/api/consultations/${state.booked.cons_id}/cancel`, { method: "POST" }), "cancelled");
  });
  $("#new-booking").addEventListener("click", newBooking);
  for (const button of document.querySelectorAll("[data-lang]")) {
    button.addEventListener("click", async () => {
      state.lang = button.dataset.lang;
      localStorage.setItem("switchboard-demo-lang", state.lang);
      applyTexts();
      await Promise.all([loadSoftware(), loadCategories()]);
      await loadManagers();
      if (state.booked) await loadHistory();
    });
  }
  try {
    await Promise.all([loadSoftware(), loadCategories()]);
    await loadManagers();
  } catch (error) {
    notice(t("failed", { message: error.message }), "error");
  }
  const saved = localStorage.getItem(STORAGE_KEY);
  if (saved) {
    state.booked = JSON.parse(saved);
    showBooked();
  }
}

start();
