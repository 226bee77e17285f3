// The sign-in form of the admin pages: a login through the staff API, then the page again.
import { fail, logIn, show } from "./common.js";

const form = document.getElementById("login-form");
form.addEventListener("submit", async (event) => {
  event.preventDefault();
  show("Входим…");
  try {
    await logIn(form.login.value.trim(), form.password.value);
    window.location.reload();
  } catch (error) {
    fail(error);
  }
});
