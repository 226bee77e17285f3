// The editor of working hours (an inbox's or an operator's): a time zone, the hours of each
// weekday ("09:00-18:00, 19:00-21:00"; empty: a day off) or around the clock, and holidays.
import { el } from "./common.js";

const DAYS = [
  ["mon", "Понедельник"], ["tue", "Вторник"], ["wed", "Среда"], ["thu", "Четверг"],
  ["fri", "Пятница"], ["sat", "Суббота"], ["sun", "Воскресенье"],
];
const ZONES = [
  "Europe/Kaliningrad", "Europe/Moscow", "Europe/Samara", "Asia/Yekaterinburg", "Asia/Omsk",
  "Asia/Novosibirsk", "Asia/Krasnoyarsk", "Asia/Irkutsk", "Asia/Yakutsk", "Asia/Vladivostok",
  "Asia/Magadan", "Asia/Kamchatka", "Asia/Tashkent", "Asia/Almaty", "UTC",
];
const CLOCK = /^([01]?\d|2[0-4]):([0-5]\d)$/;

let counter = 0;

export class ScheduleEditor {
  // `allowNone`: a choice "no schedule of its own" (an operator always available).
  constructor(container, { allowNone = false } = {}) {
    const id = `schedule-${++counter}`;
    this.allowNone = allowNone;
    this.zone = el("input", { id: `${id}-zone`, name: "time_zone", list: `${id}-zones`, "data-change": true });
    const zones = el("datalist", { id: `${id}-zones` }, ZONES.map((zone) => el("option", { value: zone })));
    const modes = [["always", "Круглосуточно, без выходных"], ["weekly", "По дням недели"]];
    if (allowNone) modes.unshift(["none", "Без личного графика (всегда, когда в сети)"]);
    this.modes = modes.map(([value, label]) => {
      const input = el("input", { type: "radio", name: `${id}-mode`, value, "data-change": true, onchange: () => this.sync() });
      return [input, el("label", { class: "check" }, input, ` ${label}`)];
    });
    this.days = new Map();
    const rows = DAYS.map(([day, name]) => {
      const input = el("input", {
        type: "text", name: `day-${day}`, "data-day": day, placeholder: "выходной",
        "aria-label": `${name}: часы работы`, "data-change": true,
      });
      this.days.set(day, input);
      return el("tr", {}, el("td", { text: name }), el("td", {}, input));
    });
    this.table = el("table", { class: "days" }, el("tbody", {}, rows));
    this.holidays = el("textarea", { name: "holidays", rows: 3, placeholder: "2027-01-01", "data-change": true, id: `${id}-holidays` });
    this.details = el("div", {},
      el("label", { for: `${id}-zone`, text: "Часовой пояс" }), this.zone, zones,
      el("p", { class: "muted", text: "Часы — местное время пояса, например 09:00-18:00 или 09:00-13:00, 14:00-18:00; пустая строка — выходной." }),
      this.table,
      el("label", { for: `${id}-holidays`, text: "Праздничные дни (по одному в строке, ГГГГ-ММ-ДД)" }), this.holidays);
    container.replaceChildren(el("fieldset", {}, el("legend", { text: "Рабочее время" }),
      this.modes.map(([, label]) => label), this.details));
  }

  mode() {
    const chosen = this.modes.find(([input]) => input.checked);
    return chosen ? chosen[0].value : "always";
  }

  sync() {
    const mode = this.mode();
    this.details.hidden = mode === "none";
    this.table.hidden = mode !== "weekly";
  }

  fill(schedule) {
    let mode = "always";
    if (!schedule) mode = this.allowNone ? "none" : "always";
    else if (schedule.weekly && Object.keys(schedule.weekly).length) mode = "weekly";
    for (const [input] of this.modes) input.checked = input.value === mode;
    this.zone.value = (schedule && schedule.time_zone) || "Europe/Moscow";
    const weekly = (schedule && schedule.weekly) || {};
    for (const [day, input] of this.days) {
      input.value = (weekly[day] || []).map(([start, end]) => `${start}-${end}`).join(", ");
    }
    this.holidays.value = ((schedule && schedule.holidays) || []).join("\n");
    this.sync();
  }

  // The schedule as the API takes it (null: none of its own); throws Error for bad hours.
  read() {
    const mode = this.mode();
    if (mode === "none") return null;
    const schedule = {
      time_zone: this.zone.value.trim() || "UTC",
      weekly: {},
      holidays: this.holidays.value.split(/\s+/).map((day) => day.trim()).filter(Boolean),
    };
    if (mode === "always") return schedule;
    for (const [day, input] of this.days) {
      const name = DAYS.find(([key]) => key === day)[1];
      const parts = input.value.split(",").map((part) => part.trim()).filter(Boolean);
      if (!parts.length) continue;
      schedule.weekly[day] = parts.map((part) => {
        const [start, end] = part.split(/\s*[-–—]\s*/);
        if (!CLOCK.test(start || "") || !CLOCK.test(end || "")) {
          throw new Error(`${name}: «${part}» — пишите часы как 09:00-18:00`);
        }
        const pad = (clock) => clock.padStart(5, "0");
        return [pad(start), pad(end)];
      });
    }
    if (!Object.keys(schedule.weekly).length) {
      throw new Error("По дням недели: укажите часы хотя бы одного дня");
    }
    return schedule;
  }
}
