// The regions page: region → branch rules and the regions themselves, edited in place.
import { call, canChange, el, fail, lockIfReadOnly, numberOrNull, options, show } from "./common.js";

let regions = [];
let branches = [];
let inboxes = [];

function actions(save, remove) {
  if (!canChange) return [];
  return [
    el("button", { type: "button", text: "Сохранить", "data-change": true, onclick: save }),
    el("button", { type: "button", class: "danger", text: "Удалить", "data-change": true, onclick: remove }),
  ];
}

async function run(action, done) {
  try {
    await action();
    await load();
    show(done);
  } catch (error) { fail(error); }
}

function select(items, chosen, empty = null, label = "") {
  const element = el("select", { "aria-label": label, "data-change": true });
  options(element, items, chosen, empty);
  return element;
}

const regionItems = () => regions.map((r) => [r.id, `${r.code} — ${r.name}`]);
const branchItems = () => branches.map((b) => [b.id, b.name]);
const inboxItems = () => inboxes.map((i) => [i.id, i.name]);

function ruleRow(rule) {
  const region = select(regionItems(), rule.region.id, null, "Регион");
  const branch = select(branchItems(), rule.branch.id, null, "Филиал");
  const inbox = select(inboxItems(), rule.inbox ? rule.inbox.id : null, "Все каналы", "Канал");
  const priority = el("input", { type: "number", min: 0, max: 10000, value: String(rule.priority), "aria-label": "Приоритет", "data-change": true });
  const active = el("input", { type: "checkbox", "aria-label": "Действует", "data-change": true });
  active.checked = rule.active;
  const body = () => ({
    region_id: Number(region.value), branch_id: Number(branch.value), inbox_id: numberOrNull(inbox.value),
    priority: Number(priority.value), active: active.checked,
  });
  return el("tr", { "data-id": rule.id },
    el("td", {}, region), el("td", {}, branch), el("td", {}, inbox), el("td", {}, priority), el("td", {}, active),
    el("td", {}, actions(
      () => run(() => call("PUT", `rules/${rule.id}`, body()), "Правило сохранено"),
      () => window.confirm("Удалить правило?") && run(() => call("DELETE", `rules/${rule.id}`), "Правило удалено"))));
}

function regionRow(region) {
  const code = el("input", { value: region.code, maxlength: 6, "aria-label": "Код", "data-change": true });
  const name = el("input", { value: region.name, maxlength: 200, "aria-label": "Название", "data-change": true });
  return el("tr", { "data-id": region.id },
    el("td", {}, code), el("td", {}, name), el("td", { text: region.rules }),
    el("td", {}, actions(
      () => run(() => call("PUT", `regions/${region.id}`, { code: code.value.trim(), name: name.value.trim() }), "Регион сохранён"),
      () => window.confirm(`Удалить регион ${region.code} и его правила?`)
        && run(() => call("DELETE", `regions/${region.id}`), "Регион удалён"))));
}

async function load() {
  let rules;
  [regions, branches, inboxes, rules] = await Promise.all(
    ["regions", "branches", "inboxes", "rules"].map((path) => call("GET", path)));
  document.querySelector("#rules tbody").replaceChildren(...rules.map(ruleRow));
  document.querySelector("#regions tbody").replaceChildren(...regions.map(regionRow));
  const form = document.getElementById("rule-form");
  options(form.region_id, regionItems(), form.region_id.value || null);
  options(form.branch_id, branchItems(), form.branch_id.value || null);
  options(form.inbox_id, inboxItems(), form.inbox_id.value || null, "Все каналы");
  lockIfReadOnly();
}

document.getElementById("rule-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  run(() => call("POST", "rules", {
    region_id: Number(form.region_id.value), branch_id: Number(form.branch_id.value),
    inbox_id: numberOrNull(form.inbox_id.value), priority: Number(form.priority.value), active: true,
  }), "Правило добавлено");
});

document.getElementById("region-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  run(async () => {
    await call("POST", "regions", { code: form.code.value.trim().toUpperCase(), name: form.name.value.trim() });
    form.reset();
  }, "Регион добавлен");
});

lockIfReadOnly();
load().catch(fail);
