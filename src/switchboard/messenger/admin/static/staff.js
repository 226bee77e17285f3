// The staff page: accounts with their role, branch, capacity and personal hours; passwords are
// only ever typed here, never shown (the API answers whether one is set).
import { call, canChange, el, fail, lockIfReadOnly, numberOrNull, options, show } from "./common.js";
import { ScheduleEditor } from "./schedule.js";

const ROLES = { operator: "Оператор", supervisor: "Супервизор", admin: "Администратор" };
const STATUSES = { online: "в сети", away: "отошёл", busy: "занят", offline: "не в сети" };

const form = document.getElementById("staff-form");
const editor = document.getElementById("editor");
const schedule = new ScheduleEditor(document.getElementById("staff-schedule"), { allowNone: true });
let branches = [];
let current = null;

const status = (text, ok = true) => show(text, ok, "staff-status");

async function load() {
  let people;
  [people, branches] = await Promise.all([call("GET", "staff"), call("GET", "branches")]);
  document.querySelector("#staff tbody").replaceChildren(...people.map((person) =>
    el("tr", { class: person.active ? "" : "off", "data-id": person.id },
      el("td", { text: person.name }),
      el("td", { text: person.login }),
      el("td", { text: ROLES[person.role] }),
      el("td", { text: person.branch ? person.branch.name : "—" }),
      el("td", { text: person.capacity }),
      el("td", { text: person.active ? STATUSES[person.status] : "отключён" }),
      el("td", {}, el("button", { type: "button", text: canChange ? "Изменить" : "Открыть", onclick: () => open(person) })))));
}

function open(person) {
  current = person;
  document.getElementById("editor-title").textContent = person ? person.name : "Новый сотрудник";
  form.login.value = person ? person.login : "";
  form.login.readOnly = Boolean(person);
  form.name.value = person ? person.name : "";
  form.role.value = person ? person.role : "operator";
  options(form.branch_id, branches.map((b) => [b.id, b.name]), person && person.branch ? person.branch.id : null, "Без филиала");
  form.capacity.value = String(person ? person.capacity : 5);
  form.active.checked = person ? person.active : true;
  schedule.fill(person ? person.schedule : null);
  form.password.value = "";
  form.password.required = !person;
  document.getElementById("set-password").hidden = !person;
  document.getElementById("password-label").textContent = person ? "Новый пароль" : "Пароль (не меньше 8 символов)";
  document.getElementById("password-note").textContent = person
    ? (person.has_password ? "Пароль задан. Новый пароль завершит все входы сотрудника." : "Пароль не задан: сотрудник не может войти.")
    : "";
  status("");
  editor.hidden = false;
  lockIfReadOnly(editor);
}

function read() {
  return {
    name: form.name.value.trim(),
    role: form.role.value,
    branch_id: numberOrNull(form.branch_id.value),
    capacity: Number(form.capacity.value),
    schedule: schedule.read(),
    active: form.active.checked,
  };
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    let saved;
    if (current) {
      saved = await call("PUT", `staff/${current.id}`, read());
    } else {
      saved = await call("POST", "staff", { ...read(), login: form.login.value.trim(), password: form.password.value || null });
    }
    await load();
    open(saved);
    status("Сохранено");
  } catch (error) {
    status(error.message, false);
  }
});

document.getElementById("set-password").addEventListener("click", async () => {
  if (!current) return;
  try {
    const saved = await call("PUT", `staff/${current.id}/password`, { password: form.password.value });
    open(saved);
    status("Пароль задан");
  } catch (error) {
    status(error.message, false);
  }
});

document.getElementById("new-staff").addEventListener("click", () => open(null));
document.getElementById("close-editor").addEventListener("click", () => { editor.hidden = true; });

lockIfReadOnly();
load().catch(fail);
