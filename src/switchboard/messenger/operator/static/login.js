// The sign-in form: the JSON login API sets the session cookie and answers the CSRF token,
// kept for the panel's changes.
import { csrf } from "./api.js";

const form = document.getElementById("login-form");
const error = document.getElementById("login-error");

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  error.hidden = true;
  const button = form.querySelector("button");
  button.disabled = true;
  try {
    const response = await fetch("/api/messenger/auth/login", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ login: form.login.value.trim(), password: form.password.value }),
    });
    let body = null;
    try { body = await response.json(); } catch { body = null; }
    if (!response.ok) {
      if (response.status === 422) throw new Error("Введите логин и пароль.");
      throw new Error((body && body.message) || `Ошибка ${response.status}`);
    }
    csrf.set(body.csrf_token);
    window.location.assign("/messenger/");
  } catch (failure) {
    error.textContent = failure instanceof TypeError ? "Нет связи с сервером." : failure.message;
    error.hidden = false;
    form.password.select();
  } finally {
    button.disabled = false;
  }
});
