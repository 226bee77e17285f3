// The branches page: the default branch, the list (edited in place) and a new branch.
import { call, canChange, el, fail, lockIfReadOnly, numberOrNull, options, show } from "./common.js";

const SOURCES = {
  preference: "Выбран здесь.",
  setting: "Сейчас действует значение из настроек сервера (MESSENGER_DEFAULT_BRANCH).",
  none: "Не выбран: такие посетители ждут без филиала.",
};

function row(branch) {
  const code = el("input", { value: branch.code, "aria-label": "Код", maxlength: 40, "data-change": true });
  const name = el("input", { value: branch.name, "aria-label": "Название", maxlength: 200, "data-change": true });
  const save = el("button", { type: "button", text: "Сохранить", "data-change": true, onclick: async () => {
    try {
      await call("PUT", `branches/${branch.id}`, { code: code.value.trim(), name: name.value.trim() });
      await load();
      show("Филиал сохранён");
    } catch (error) { fail(error); }
  } });
  const remove = el("button", { type: "button", class: "danger", text: "Удалить", "data-change": true, onclick: async () => {
    if (!window.confirm(`Удалить филиал «${branch.name}»?`)) return;
    try {
      await call("DELETE", `branches/${branch.id}`);
      await load();
      show("Филиал удалён");
    } catch (error) { fail(error); }
  } });
  return el("tr", { "data-id": branch.id },
    el("td", {}, code), el("td", {}, name),
    el("td", { text: branch.staff + (branch.is_default ? " · по умолчанию" : "") }),
    el("td", {}, canChange ? [save, remove] : []));
}

async function load() {
  const [branches, preferences] = await Promise.all([call("GET", "branches"), call("GET", "preferences")]);
  document.querySelector("#branches tbody").replaceChildren(...branches.map(row));
  const chosen = preferences.default_branch_source === "preference" ? preferences.default_branch.id : null;
  options(document.getElementById("default-branch"), branches.map((b) => [b.id, b.name]), chosen,
    "Из настроек сервера");
  const current = preferences.default_branch ? `Сейчас: ${preferences.default_branch.name}. ` : "";
  document.getElementById("default-source").textContent = current + SOURCES[preferences.default_branch_source];
  lockIfReadOnly();
}

document.getElementById("default-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    await call("PUT", "preferences", { default_branch_id: numberOrNull(event.currentTarget.default_branch_id.value) });
    await load();
    show("Филиал по умолчанию сохранён");
  } catch (error) { fail(error); }
});

document.getElementById("branch-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  try {
    await call("POST", "branches", { code: form.code.value.trim(), name: form.name.value.trim() });
    form.reset();
    await load();
    show("Филиал добавлен");
  } catch (error) { fail(error); }
});

lockIfReadOnly();
load().catch(fail);
