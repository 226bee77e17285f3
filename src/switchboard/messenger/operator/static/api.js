// The operator API as the panel calls it: the session cookie goes by itself; every change also
// sends the login's CSRF token, which only the login answer shows (kept in this browser's
// localStorage until logout).
const CSRF_KEY = "switchboard-messenger-csrf";
export const API = "/api/messenger";

export const csrf = {
  get: () => localStorage.getItem(CSRF_KEY),
  set: (token) => localStorage.setItem(CSRF_KEY, token),
  clear: () => localStorage.removeItem(CSRF_KEY),
};

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export function toLogin() {
  window.location.assign("/messenger/login");
}

async function answerOf(response) {
  if (response.status === 204) return null;
  let body = null;
  try { body = await response.json(); } catch { body = null; }
  if (response.ok) return body;
  if (response.status === 401 || (response.status === 403 && body && body.error === "csrf")) {
    csrf.clear();
    toLogin();
  }
  const message = (body && body.message) || `Ошибка ${response.status}`;
  throw new ApiError(response.status, body && body.error, message);
}

export async function call(method, path, data) {
  const headers = { Accept: "application/json" };
  const options = { method, headers, credentials: "same-origin" };
  if (method !== "GET") headers["X-CSRF-Token"] = csrf.get() || "";
  if (data !== undefined) {
    headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(data);
  }
  return answerOf(await fetch(path.startsWith("/") ? path : `${API}/${path}`, options));
}

export async function upload(file) {
  const form = new FormData();
  form.append("file", file, file.name || "снимок.png");
  const response = await fetch(`${API}/attachments`, {
    method: "POST",
    credentials: "same-origin",
    headers: { Accept: "application/json", "X-CSRF-Token": csrf.get() || "" },
    body: form,
  });
  return answerOf(response);
}
