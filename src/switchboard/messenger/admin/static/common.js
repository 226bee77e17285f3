// Shared pieces of the messenger's admin pages: the JSON API with the login's CSRF token,
// messages for people, and a tiny element builder. Every text from the server goes in through
// textContent or attribute values, never as HTML.
export const API = "/api/messenger/admin";
const AUTH = "/api/messenger/auth";
// The login answers its CSRF token once; the messenger's pages keep it for this browser.
export const CSRF_KEY = "switchboard-messenger-csrf"; // the operator panel keeps it under the same key

export const canChange = document.body.dataset.canChange === "true";
export const myId = Number(document.body.dataset.staffId || 0);

export function csrf() {
  return window.localStorage.getItem(CSRF_KEY) || "";
}

export class ApiFailure extends Error {
  constructor(status, answer) {
    super(describe(status, answer));
    this.status = status;
    this.answer = answer;
  }
}

function describe(status, answer) {
  if (!answer || typeof answer !== "object") return `Ошибка ${status}`;
  let text = answer.message || `Ошибка ${status}`;
  if (Array.isArray(answer.details) && answer.details.length) {
    const fields = answer.details.map((d) => `${d.field}: ${d.message}`).join("; ");
    if (!text.includes(answer.details[0].field)) text += ` (${fields})`;
  }
  return text;
}

export async function request(url, method = "GET", data = undefined, { signedIn = true } = {}) {
  const options = { method, headers: { Accept: "application/json" }, credentials: "same-origin" };
  if (method !== "GET") options.headers["X-CSRF-Token"] = csrf();
  if (data !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(data);
  }
  const response = await fetch(url, options);
  let answer = null;
  if (response.status !== 204) {
    try { answer = await response.json(); } catch { answer = null; }
  }
  if (!response.ok) {
    if (response.status === 401 && signedIn) window.location.reload();
    if (response.status === 403 && answer && answer.error === "csrf") showRelogin();
    throw new ApiFailure(response.status, answer);
  }
  return answer;
}

export const call = (method, path, data) => request(`${API}/${path}`, method, data);

export async function logIn(login, password) {
  const answer = await request(`${AUTH}/login`, "POST", { login, password }, { signedIn: false });
  window.localStorage.setItem(CSRF_KEY, answer.csrf_token);
  return answer;
}

export function show(text, ok = true, id = "status") {
  const element = document.getElementById(id);
  if (!element) return;
  element.textContent = text;
  element.className = `status ${ok ? "ok" : "error"}`;
}

export function fail(error) {
  show(error instanceof Error ? error.message : String(error), false);
}

export function el(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "text") element.textContent = String(value);
    else if (key === "class") element.className = value;
    else if (key.startsWith("on")) element.addEventListener(key.slice(2), value);
    else if (key in element && typeof value !== "string") element[key] = value;
    else element.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

export function options(select, items, chosen, empty = null) {
  select.replaceChildren();
  if (empty !== null) select.append(el("option", { value: "", text: empty }));
  for (const [value, label] of items) {
    const option = el("option", { value: String(value), text: label });
    option.selected = chosen !== null && chosen !== undefined && String(chosen) === String(value);
    select.append(option);
  }
}

export const numberOrNull = (value) => (value === "" || value === null ? null : Number(value));

function showRelogin() {
  const box = document.getElementById("relogin");
  if (box) box.hidden = false;
}

// Read-only for supervisors: every form control of a change is switched off.
export function lockIfReadOnly(root = document) {
  if (canChange) return;
  for (const control of root.querySelectorAll("[data-change]")) control.disabled = true;
}

function setUp() {
  const relogin = document.getElementById("relogin-form");
  if (relogin) {
    if (canChange && !csrf()) showRelogin();
    relogin.addEventListener("submit", async (event) => {
      event.preventDefault();
      try {
        await logIn(relogin.login.value.trim(), relogin.password.value);
        document.getElementById("relogin").hidden = true;
        relogin.password.value = "";
        show("Вход выполнен, изменения можно сохранять");
      } catch (error) {
        fail(error);
      }
    });
  }
  const logout = document.getElementById("logout");
  if (logout) {
    logout.addEventListener("click", async () => {
      try { await request(`${AUTH}/logout`, "POST"); } catch { /* the session may be gone */ }
      window.localStorage.removeItem(CSRF_KEY);
      window.location.reload();
    });
  }
}

setUp();
