"""Build the demo 1C:ЦЛ base and the Chatwoot agents from a seed.

The result is plain JSON-ready records keyed by OData entity name, exactly as 1C returns them:
GUIDs as lowercase strings, naive local datetimes `YYYY-MM-DDTHH:MM:SS`, the empty reference and the
empty date for unset values, row numbers as strings. The same seed and `today` give identical data;
keys depend on the seed only, so restarting the sandbox on another day keeps every `Ref_Key`.

The data obeys the rules of the real base that the platform relies on:
- at most 3 non-deleted `Document_ТелефонныйЗвонок` per counterparty per day of ДатаКонсультации;
- a consultation is booked on a weekday inside its manager's working hours (overnight shifts count
  for the day they start), never on a day the manager's queue was closed;
- a manager gets only categories they have a skill for, in a language they speak;
- registers (redates, ratings, call attempts) agree with their documents.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, TypeVar

from switchboard.sandbox.demo_data import names, texts
from switchboard.sandbox.demo_data.keys import (
    CLOBUS_FOLDER,
    CONTACT_KIND_EMAIL,
    CONTACT_KIND_PHONE,
    EMPTY_DATE,
    EMPTY_REF,
    LANGUAGE_KEYS,
    ORGANIZATIONS,
    TARIFF_PERIODS,
    TARIFFS,
    TASHKENT_OFFSET,
    UNDEFINED_MANAGER,
    KeyFactory,
    clock,
    iso,
)

Record = dict[str, Any]
_T = TypeVar("_T")

DEFAULT_SEED = 2026
DEFAULT_CONSULTATIONS = 300
TASHKENT = timezone(TASHKENT_OFFSET, "Asia/Tashkent")

# Entity sets of the 1C:ЦЛ OData interface.
SOFTWARE_KINDS = "Catalog_ВидыПОДляКонсультаций"
SOFTWARE_SECTIONS = "Catalog_РазделыПОДляКонсультаций"
QUESTION_CATEGORIES = "Catalog_КатегорииВопросов"
QUESTIONS = "Catalog_ВопросыНаКонсультацию"
KNOWLEDGE_BASE = "Catalog_БазаЗнанийДляКонсультаций"
OBSTACLES = "Catalog_ПомехиДляКонсультаций"
USERS = "Catalog_Пользователи"
DEPARTMENTS = "Catalog_Отделы"
CONTRACTORS = "Catalog_Контрагенты"
PHONE_CALLS = "Document_ТелефонныйЗвонок"
CONSULTANT_SETTINGS = "InformationRegister_СписокКонсультантовДляЗаявок"
MANAGER_CATEGORIES = "InformationRegister_КатегорииВопросовМенеджеров"
USER_LANGUAGES = "InformationRegister_ЯзыкиПользователей"
USER_DEPARTMENTS = "InformationRegister_ОтделыПользователей"
REDATES = "InformationRegister_РегистрацияПереносаКонсультации"
RATINGS = "InformationRegister_ОценкаКонсультацийПоЗаявкам"
CALL_ATTEMPTS = "InformationRegister_РегистрацияДозвона"
QUEUE_CLOSING = "InformationRegister_ЗакрытиеОчередиНаКонсультанта"

KIND_QUEUE = "ВОчередьНаКонсультацию"
KIND_DONE = "КонсультацияИТС"
KIND_OTHER = "Другое"
CHANNEL_SOURCES = {"ПоСайту": "SITE", "ПоТелеграм": "TELEGRAM", "ПоТелефону": "PHONE"}
OTHER_FOLDER = "Прочие"
MINOR_OBSTACLES = (
    "Нет доступа к базе клиента",
    "Требуется обновление платформы 1С",
    "Не установлена программа удалённого доступа",
)

CLOBUS_CLIENTS = 60
OTHER_CLIENTS = 15
FUTURE_DAYS = 4
SLOT = timedelta(minutes=30)
# Keys are stamped with fixed moments, not with `today`, so they depend on the seed only.
# 1C works in naive local time, so these are naive on purpose.
CATALOG_EPOCH = datetime(2019, 3, 4, 10, 0)  # noqa: DTZ001
CONTRACTOR_EPOCH = datetime(2021, 4, 5, 11, 0)  # noqa: DTZ001
DOCUMENT_EPOCH = datetime(2025, 6, 2, 9, 0)  # noqa: DTZ001


@dataclass(frozen=True)
class DemoData:
    """The demo data set: 1C records by entity name, the Chatwoot agents and teams to create."""

    seed: int
    today: datetime
    onec: dict[str, list[Record]]
    chatwoot_agents: list[dict[str, str]]
    #: The teams a consultation's type is assigned to (the platform's default team names).
    chatwoot_teams: tuple[str, ...] = ("Консультация по ведению учета", "Техническая поддержка")

    def summary(self) -> dict[str, int]:
        counts = {entity: len(rows) for entity, rows in self.onec.items()}
        counts["chatwoot_agents"] = len(self.chatwoot_agents)
        statuses = Counter(consultation_status(doc) for doc in self.onec.get(PHONE_CALLS, []))
        for status in ("new", "pending", "open", "closed", "cancelled", "deleted"):
            counts[f"consultations_{status}"] = statuses.get(status, 0)
        return counts


def consultation_status(doc: Record) -> str:
    """The platform's status for a document, by the ETL's rules (deleted ones apart)."""
    if doc["DeletionMark"]:
        return "deleted"
    if doc["ЗакрытоБезКонсультации"]:
        return "cancelled"
    if doc["Конец"] != EMPTY_DATE:
        return "closed"
    # Any other kind (Другое) without an end is a new consultation, as the ETL reads it.
    return {KIND_DONE: "open", KIND_QUEUE: "pending"}.get(doc["ВидОбращения"], "new")


def build_demo_data(
    seed: int = DEFAULT_SEED,
    today: datetime | None = None,
    consultations: int = DEFAULT_CONSULTATIONS,
) -> DemoData:
    """The demo base for `seed`, with `consultations` documents around `today`.

    `today` is 1C's local (Tashkent) wall-clock time; an aware datetime is converted to it. The
    documents span the last five weeks (longer when there are many) and four days ahead.
    """
    if consultations < 0:
        raise ValueError("consultations must not be negative")
    if today is None:
        today = datetime.now(TASHKENT)
    if today.tzinfo is not None:
        today = today.astimezone(TASHKENT).replace(tzinfo=None)
    today = today.replace(microsecond=0)
    builder = _Builder(seed, today)
    builder.build(consultations)
    return DemoData(seed, today, builder.onec, builder.agents)


# --- internal model ------------------------------------------------------------------------------


@dataclass
class _Manager:
    key: str
    staff: texts.StaffMember

    @property
    def overnight(self) -> bool:
        return self.staff.end <= self.staff.start

    def works(self, day: date, today: date) -> bool:
        """Whether the manager could take consultations on `day` at all."""
        if self.staff.state == "active":
            return True
        # The deleted consultant left three weeks ago; the invalid one never consulted here.
        return self.staff.state == "deleted" and day < today - timedelta(days=21)

    def shift_day(self, moment: datetime) -> date:
        """The day whose shift `moment` belongs to (after midnight: the previous evening's)."""
        if self.overnight and moment.time() < time(self.staff.end):
            return moment.date() - timedelta(days=1)
        return moment.date()

    def slots(self, day: date) -> list[datetime]:
        start = datetime.combine(day, time(self.staff.start))
        end = datetime.combine(day, time(self.staff.end % 24))
        if self.overnight:
            end += timedelta(days=1)
        out: list[datetime] = []
        while start + SLOT <= end:
            out.append(start)
            start += SLOT
        return out


@dataclass
class _Client:
    key: str
    name: str
    mask: str
    clobus: bool
    lang: str
    phone: names.Phone
    contact: str
    kinds: tuple[str, ...]
    weight: float


@dataclass
class _Category:
    key: str
    topic: str
    name: str
    questions: list[tuple[str, str]]  # (key, text)


@dataclass
class _Consultation:
    record: Record
    client: _Client
    manager: str
    lang: str
    topic: str | None
    start: datetime
    created: datetime
    changed: datetime
    end: datetime | None
    status: str
    calls: list[datetime] = field(default_factory=list)


@dataclass(frozen=True)
class _Booking:
    """Who is consulted by whom, about what, in which slot."""

    client: _Client
    manager: str
    lang: str
    channel: str
    topic: texts.Topic | None
    slot: datetime
    around_now: bool = False  # in progress at `today`


@dataclass
class _Timeline:
    """What happened to a booking by `today`."""

    status: str
    created: datetime
    changed: datetime
    start: datetime
    end: datetime | None = None
    kind: str = KIND_QUEUE
    calls: list[datetime] = field(default_factory=list)


def _weekdays(first: date, last: date) -> list[date]:
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    return [day for day in days if day.weekday() < 5]


def _between(rng: random.Random, low: datetime, high: datetime) -> datetime:
    """A random whole second in [low, high]."""
    span = max(0, int((high - low).total_seconds()))
    return low + timedelta(seconds=rng.randint(0, span))


def _contacts(phone: names.Phone | None, email: str) -> list[Record]:
    rows: list[Record] = []
    if phone is not None:
        rows.append(
            {
                "LineNumber": str(len(rows) + 1),
                "Тип": "Телефон",
                "Вид_Key": CONTACT_KIND_PHONE,
                "Представление": phone.presentation,
                "АдресЭП": "",
                "НомерТелефона": phone.digits,
            }
        )
    if email:
        rows.append(
            {
                "LineNumber": str(len(rows) + 1),
                "Тип": "АдресЭлектроннойПочты",
                "Вид_Key": CONTACT_KIND_EMAIL,
                "Представление": email,
                "АдресЭП": email,
                "НомерТелефона": "",
            }
        )
    return rows


def _add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, 28))


class _Builder:
    def __init__(self, seed: int, today: datetime) -> None:
        self.seed = seed
        self.today = today
        self.keys = KeyFactory(self._rng("keys"))
        self.onec: dict[str, list[Record]] = {}
        self.agents: list[dict[str, str]] = []
        self.kinds: dict[str, str] = {}  # kind slug -> key
        self.sections: dict[str, str] = {}  # section slug -> key
        self.categories: dict[tuple[str, str], _Category] = {}  # (topic, lang) -> category
        self.obstacles: dict[str, str] = {}  # name -> key
        self.managers: list[_Manager] = []
        self.admin = ""
        self.clients: list[_Client] = []
        self.closed_days: set[tuple[str, date]] = set()
        self.docs: list[_Consultation] = []
        self._serial = 0

    def _rng(self, stream: str) -> random.Random:
        """An independent stream per part, so adding documents does not reshuffle catalogs."""
        return random.Random(f"switchboard-demo/{self.seed}/{stream}")

    def _catalog_key(self, epoch: datetime = CATALOG_EPOCH) -> str:
        self._serial += 1
        return self.keys.new(epoch + timedelta(hours=7 * self._serial))

    def build(self, consultations: int) -> None:
        self.dictionaries()
        self.users()
        self.knowledge_base()
        self.counterparties()
        self.queue_closing()
        self.consultations(consultations)
        self.redates()
        self.ratings()
        self.call_attempts()
        self.onec[QUEUE_CLOSING] = self.onec.pop(QUEUE_CLOSING)  # keep registers after documents

    # --- dictionaries ----------------------------------------------------------------------------

    def dictionaries(self) -> None:
        kinds: list[Record] = []
        sections: list[Record] = []
        for number, kind in enumerate(texts.SOFTWARE_KINDS, 1):
            key = self._catalog_key()
            self.kinds[kind.slug] = key
            kinds.append(
                {
                    "Ref_Key": key,
                    "Code": f"{number:09d}",
                    "Description": kind.name,
                    "DeletionMark": False,
                    "Описание": kind.about,
                }
            )
            for section in kind.sections:
                section_key = self._catalog_key()
                self.sections[section.slug] = section_key
                sections.append(
                    {
                        "Ref_Key": section_key,
                        "Owner_Key": key,
                        "Code": f"{len(sections) + 1:09d}",
                        "Description": section.name,
                        "DeletionMark": False,
                        "Описание": section.about,
                    }
                )
        self.onec[SOFTWARE_KINDS] = kinds
        self.onec[SOFTWARE_SECTIONS] = sections

        categories: list[Record] = []
        questions: list[Record] = []
        rng = self._rng("questions")
        plan: list[tuple[str, str, str, Sequence[str], str]] = []
        for lang in ("ru", "uz"):
            for topic in texts.TOPICS:
                if lang == "ru":
                    plan.append(("ru", topic.slug, topic.ru, topic.ru_questions, topic.ru_hint))
                else:
                    plan.append(("uz", topic.slug, topic.uz, topic.uz_questions, topic.uz_hint))
        plan.append(("en", "", texts.OTHER_LANGUAGE_CATEGORY, texts.OTHER_LANGUAGE_QUESTIONS, ""))
        for lang, topic_slug, name, wording, hint in plan:
            key = self._catalog_key()
            categories.append(
                {
                    "Ref_Key": key,
                    "Code": f"{len(categories) + 1:09d}",
                    "Description": name,
                    "DeletionMark": False,
                    "Язык_Key": LANGUAGE_KEYS[lang],
                }
            )
            category = _Category(key, topic_slug, name, [])
            for text in wording:
                question_key = self._catalog_key()
                category.questions.append((question_key, text))
                questions.append(
                    {
                        "Ref_Key": question_key,
                        "Code": f"{len(questions) + 1:09d}",
                        "Description": text,
                        "DeletionMark": False,
                        "Категория_Key": key,
                        "Язык_Key": LANGUAGE_KEYS[lang],
                        "ПолезнаяИнформация": hint if rng.random() < 0.7 else "",
                        "Вопрос": text,
                    }
                )
            if lang != "en":
                self.categories[(topic_slug, lang)] = category
        self.onec[QUESTION_CATEGORIES] = categories
        self.onec[QUESTIONS] = questions

        self.onec[OBSTACLES] = []
        for number, (name, deleted) in enumerate(texts.OBSTACLES, 1):
            key = self._catalog_key()
            self.obstacles[name] = key
            self.onec[OBSTACLES].append(
                {
                    "Ref_Key": key,
                    "Code": f"{number:09d}",
                    "Description": name,
                    "DeletionMark": deleted,
                }
            )

    # --- users, departments, manager settings ----------------------------------------------------

    def users(self) -> None:
        rng = self._rng("users")
        records: list[Record] = []
        self.admin = self._catalog_key()
        for key, name in (
            (UNDEFINED_MANAGER, texts.UNDEFINED_USER),
            (self.admin, texts.ADMINISTRATOR),
        ):
            records.append(self._user(key, len(records) + 1, name, service=True))
        for staff in texts.STAFF:
            manager = _Manager(self._catalog_key(), staff)
            self.managers.append(manager)
            records.append(
                self._user(
                    manager.key,
                    len(records) + 1,
                    staff.name,
                    deleted=staff.state == "deleted",
                    invalid=staff.state == "invalid",
                    contacts=_contacts(names.phone(rng), staff.email),
                )
            )
        self.onec[USERS] = records
        self.agents = [
            {"name": m.staff.name, "email": m.staff.email, "cl_ref_key": m.key}
            for m in self.managers
            if m.staff.state == "active" and m.staff.email
        ]

        departments: dict[str, str] = {}
        self.onec[DEPARTMENTS] = []
        for number, name in enumerate(texts.DEPARTMENTS, 1):
            departments[name] = self._catalog_key()
            self.onec[DEPARTMENTS].append(
                {
                    "Ref_Key": departments[name],
                    "Code": f"{number:09d}",
                    "Description": name,
                    "DeletionMark": False,
                }
            )

        first_setup = datetime.combine(self.today.date() - timedelta(days=180), time())
        current_setup = datetime.combine(self.today.date() - timedelta(days=45), time())
        settings: list[Record] = []
        skills: list[Record] = []
        languages: list[Record] = []
        member_of: list[Record] = []
        for manager in self.managers:
            staff = manager.staff
            rows = [(current_setup, staff.limit, staff.start, staff.end)]
            if staff.previous is not None:
                rows.insert(0, (first_setup, *staff.previous))
            for period, limit, start, end in rows:
                settings.append(
                    {
                        "Period": iso(period),
                        "Менеджер_Key": manager.key,
                        "ЛимитКонсультаций": limit,
                        "ВремяРаботыНачало": clock(start),
                        "ВремяРаботыКонец": clock(end),
                    }
                )
            for topic in staff.topics:
                for lang in staff.languages:
                    skills.append(
                        {
                            "Менеджер_Key": manager.key,
                            "КатегорияВопроса_Key": self.categories[(topic, lang)].key,
                        }
                    )
            for lang in staff.languages:
                languages.append({"Менеджер_Key": manager.key, "Язык_Key": LANGUAGE_KEYS[lang]})
            member_of.append(
                {"Менеджер_Key": manager.key, "Отдел_Key": departments[staff.department]}
            )
        self.onec[CONSULTANT_SETTINGS] = settings
        self.onec[MANAGER_CATEGORIES] = skills
        self.onec[USER_LANGUAGES] = languages
        self.onec[USER_DEPARTMENTS] = member_of

    @staticmethod
    def _user(
        key: str,
        number: int,
        name: str,
        *,
        service: bool = False,
        deleted: bool = False,
        invalid: bool = False,
        contacts: list[Record] | None = None,
    ) -> Record:
        return {
            "Ref_Key": key,
            "Code": f"{number:09d}",
            "Description": name,
            "DeletionMark": deleted,
            "Недействителен": invalid,
            "Служебный": service,
            "КонтактнаяИнформация": contacts or [],
        }

    def knowledge_base(self) -> None:
        rng = self._rng("knowledge")
        authors = [
            m.key
            for m in self.managers
            if m.staff.state != "invalid" and m.staff.department != texts.DEPT_TECH
        ]
        entries: list[Record] = []
        for number, entry in enumerate(texts.KNOWLEDGE_BASE, 1):
            kind = entry.section.split(".")[0]
            entries.append(
                {
                    "Ref_Key": self._catalog_key(),
                    "Code": f"{number:09d}",
                    "Description": entry.title,
                    "DeletionMark": False,
                    "ВидПО_Key": self.kinds[kind],
                    "РазделПО_Key": self.sections[entry.section],
                    "Вопрос": entry.question,
                    "Ответ": entry.answer,
                    "Автор_Key": rng.choice(authors),
                }
            )
        self.onec[KNOWLEDGE_BASE] = entries

    # --- counterparties --------------------------------------------------------------------------

    def counterparties(self) -> None:
        rng = self._rng("counterparties")
        other_folder = self._catalog_key()
        records: list[Record] = [
            {
                "Ref_Key": other_folder,
                "Code": "000000001",
                "Description": OTHER_FOLDER,
                "DeletionMark": False,
                "Parent_Key": EMPTY_REF,
                "IsFolder": True,
            },
            {
                "Ref_Key": CLOBUS_FOLDER,
                "Code": "000000002",
                "Description": "CLOBUS",
                "DeletionMark": False,
                "Parent_Key": EMPTY_REF,
                "IsFolder": True,
            },
        ]
        total = CLOBUS_CLIENTS + OTHER_CLIENTS
        in_clobus = [True] * CLOBUS_CLIENTS + [False] * OTHER_CLIENTS
        is_company = [True] * round(total * 0.7) + [False] * (total - round(total * 0.7))
        abroad = [True] * 3 + [False] * (total - 3)
        for flags in (in_clobus, is_company, abroad):
            rng.shuffle(flags)
        maker = CounterpartyMaker(rng, self.today.date())
        for index in range(total):
            key = self._catalog_key(CONTRACTOR_EPOCH + timedelta(days=9 * index))
            record, client = maker.make(
                key,
                code=f"{101 + index:09d}",
                parent=CLOBUS_FOLDER if in_clobus[index] else other_folder,
                company=is_company[index],
                abroad=abroad[index],
            )
            records.append(record)
            self.clients.append(client)
        self.onec[CONTRACTORS] = records

    # --- queue closing ---------------------------------------------------------------------------

    def queue_closing(self) -> None:
        today = self.today.date()
        by_name = {m.staff.name.split()[0]: m for m in self.managers}
        past = _weekdays(today - timedelta(days=20), today - timedelta(days=1))
        rows: list[tuple[date, _Manager, bool]] = []
        if len(past) >= 12:
            rows += [(day, by_name["Смирнова"], True) for day in past[2:5]]  # vacation
            rows.append((past[-4], by_name["Юсупов"], True))  # sick day
        rows.append((today, by_name["Ким"], True))
        rows.append((today, by_name["Ташпулатов"], False))  # closed by mistake, reopened
        rows.append((today + timedelta(days=2), by_name["Абдуллаева"], True))
        self.onec[QUEUE_CLOSING] = [
            {"Дата": iso(datetime.combine(day, time())), "Менеджер_Key": m.key, "Закрыт": closed}
            for day, m, closed in sorted(rows, key=lambda row: (row[0], row[1].key))
        ]
        self.closed_days = {(m.key, day) for day, m, closed in rows if closed and day < today}

    # --- consultations ---------------------------------------------------------------------------

    def consultations(self, count: int) -> None:
        rng = self._rng("consultations")
        today = self.today.date()
        past_days = max(35, math.ceil(count / 9))
        days = _weekdays(today - timedelta(days=past_days), today + timedelta(days=FUTURE_DAYS))
        busy: set[tuple[str, datetime]] = set()  # (manager, slot)
        per_day: Counter[tuple[str, date]] = Counter()  # (client, day) -> live documents
        planner = _Planner(self, rng, days, busy, per_day)

        scenarios: list[dict[str, Any]] = []
        if count >= 8:
            # A counterparty at the limit: three live documents on one day, plus a deleted fourth.
            crowded = max((c for c in self.clients if c.clobus), key=lambda c: c.weight)
            day = next((d for d in reversed(days) if d <= today - timedelta(days=8)), days[0])
            scenarios += [{"client": crowded, "day": day}] * 3
            scenarios.append({"client": crowded, "day": day, "deleted": True})
        if count >= 20:
            # Booked while nobody was free: assigned to "<не определено>".
            scenarios += [{"undefined_manager": True}] * 2
            # Consultations going on right now (when someone is on shift).
            scenarios += [{"around_now": True, "optional": True}] * 3
        for scenario in scenarios:
            doc = planner.place(**scenario)
            if doc is not None:
                self.docs.append(doc)
        while len(self.docs) < count:
            doc = planner.place(deleted=rng.random() < 0.02)
            if doc is not None:  # always: place() raises rather than give up
                self.docs.append(doc)

        self._mark_repeats()
        self.docs.sort(key=lambda d: (d.created, d.record["Ref_Key"]))
        for number, doc in enumerate(self.docs, 1):
            doc.record["Number"] = f"ЦЛ00-{number:06d}"
        self.onec[PHONE_CALLS] = [doc.record for doc in self.docs]

    def _mark_repeats(self) -> None:
        """ПовторноеОбращение: the same client came back on the same topic within two weeks."""
        last_seen: dict[tuple[str, str], datetime] = {}
        for doc in sorted(self.docs, key=lambda d: d.start):
            if doc.topic is None or doc.status == "deleted":
                continue
            seen = last_seen.get((doc.client.key, doc.topic))
            if seen is not None and doc.start - seen <= timedelta(days=14):
                for row in doc.record["КонсультацииИТС"]:
                    row["ПовторноеОбращение"] = True
            last_seen[(doc.client.key, doc.topic)] = doc.start

    # --- registers about documents ---------------------------------------------------------------

    def redates(self) -> None:
        rng = self._rng("redates")
        target = round(len(self.docs) * 0.1)
        managers = {m.key: m for m in self.managers}
        candidates = [
            d
            for d in self.docs
            if d.status != "deleted"
            and d.manager in managers
            and d.start - d.created >= timedelta(hours=3)
        ]
        rng.shuffle(candidates)
        rows: list[Record] = []
        moved = 0
        for doc in candidates:
            if moved >= target:
                break
            hops = 2 if rng.random() < 0.12 else 1
            manager = managers[doc.manager]
            shift = manager.shift_day(doc.start)
            options = [
                slot
                for offset in range(-3, 4)
                if (day := shift + timedelta(days=offset)).weekday() < 5
                and manager.works(day, self.today.date())
                and (manager.key, day) not in self.closed_days
                for slot in manager.slots(day)
                if slot != doc.start and slot > doc.created + SLOT
            ]
            if len(options) < hops:
                continue
            dates = [*rng.sample(options, hops), doc.start]
            low = doc.created + timedelta(minutes=5)
            high = min(*dates, self.today) - timedelta(minutes=5)
            if high <= low:
                continue
            periods = sorted(_between(rng, low, high) for _ in range(hops))
            if len(set(periods)) < hops:
                continue
            lang = doc.lang if doc.lang in texts.REDATE_COMMENTS else "ru"
            for hop, period in enumerate(periods):
                rows.append(
                    {
                        "Period": iso(period),
                        "ДокументОбращения_Key": doc.record["Ref_Key"],
                        "Абонент_Key": doc.client.key,
                        "Менеджер_Key": doc.manager,
                        "СтараяДата": iso(dates[hop]),
                        "НоваяДата": iso(dates[hop + 1]),
                        "Комментарий": rng.choice(texts.REDATE_COMMENTS[lang]),
                    }
                )
            doc.changed = max(doc.changed, periods[-1])
            doc.record["ДатаИзменения"] = iso(doc.changed)
            moved += 1
        self.onec[REDATES] = sorted(rows, key=lambda r: (r["Period"], r["ДокументОбращения_Key"]))

    def ratings(self) -> None:
        rng = self._rng("ratings")
        rows: list[Record] = []
        for doc in self.docs:
            if doc.status != "closed" or doc.end is None or doc.record["ВидОбращения"] != KIND_DONE:
                continue
            if rng.random() >= 0.4:
                continue
            period = doc.end + timedelta(minutes=rng.randint(3, 240), seconds=rng.randint(0, 59))
            if period > self.today:
                continue
            questions = texts.RATING_QUESTIONS[doc.lang]
            asked = rng.choices((1, 2, 3), weights=(40, 30, 30))[0]
            for number in range(1, asked + 1):
                score = rng.choices((5, 4, 3, 2, 1), weights=(58, 24, 9, 5, 4))[0]
                comment = ""
                if number == 1 and rng.random() < 0.4:
                    comment = rng.choice(texts.RATING_COMMENTS[doc.lang][score])
                rows.append(
                    {
                        "Period": iso(period),
                        "Обращение_Key": doc.record["Ref_Key"],
                        "Контрагент_Key": doc.client.key,
                        "Менеджер_Key": doc.manager,
                        "НомерВопроса": number,
                        "Оценка": score,
                        "Вопрос": questions[number - 1],
                        "Комментарий": comment,
                        "ОтправленаБаза": rng.random() < 0.85,
                        "ДатаОценки": iso(period),
                    }
                )
        self.onec[RATINGS] = sorted(rows, key=lambda r: (r["Period"], r["Обращение_Key"]))

    def call_attempts(self) -> None:
        rows = [
            {
                "Period": iso(moment),
                "ДокументОбращения_Key": doc.record["Ref_Key"],
                "Абонент_Key": doc.client.key,
                "Менеджер_Key": doc.manager,
            }
            for doc in self.docs
            for moment in doc.calls
        ]
        self.onec[CALL_ATTEMPTS] = sorted(
            rows, key=lambda r: (r["Period"], r["ДокументОбращения_Key"])
        )


class CounterpartyMaker:
    """Makes `Catalog_Контрагенты` elements with unique names, ИНН/ПИНФЛ and subscriber codes."""

    def __init__(self, rng: random.Random, today: date, *, unique_names: bool = True) -> None:
        self.rng = rng
        self.today = today
        # Masks stay unique either way (they carry the subscriber code); load tests with many
        # thousands of rows may repeat a company name.
        self.unique_names = unique_names
        self.names: set[str] = set()
        self.inns: set[str] = set()
        self.codes: set[int] = set()

    @staticmethod
    def _unique(make: Callable[[], _T], seen: set[_T]) -> _T:
        for _ in range(10_000):
            value = make()
            if value not in seen:
                seen.add(value)
                return value
        raise RuntimeError("ran out of unique demo values")

    def _code(self) -> int:
        roll = self.rng.random()
        if roll < 0.2:
            return self.rng.randint(10_000, 99_999)
        if roll < 0.9:
            return self.rng.randint(100_000, 999_999)
        return self.rng.randint(1_000_000, 2_999_999)

    def make(
        self, key: str, *, code: str, parent: str, company: bool, abroad: bool
    ) -> tuple[Record, _Client]:
        rng = self.rng
        where = names.place(rng, abroad=abroad)
        who = names.person(rng)
        latin = False
        if company:
            firm = names.company(rng)
            if self.unique_names:
                while firm.name in self.names:
                    firm = names.company(rng)
                self.names.add(firm.name)
            display, latin = firm.name, firm.name.endswith(("MChJ", "XK"))
            inn = self._unique(lambda: names.company_inn(rng), self.inns)
            email = names.company_email(rng, firm) if rng.random() < 0.8 else ""
        else:
            display = names.individual_name(rng, who)
            while self.unique_names and display in self.names:
                who = names.person(rng)
                display = names.individual_name(rng, who)
            self.names.add(display)
            inn = self._unique(lambda: names.pinfl(rng, who), self.inns)
            email = names.person_email(rng, who) if rng.random() < 0.6 else ""
        subscriber = self._unique(self._code, self.codes)
        mask = f"Clobus {display} {subscriber} ({inn})"
        lang = "ru" if abroad else ("uz" if rng.random() < (0.85 if latin else 0.3) else "ru")
        phone = names.phone(rng, where.country)
        if company:
            pool = texts.CONTACT_NAMES_UZ if lang == "uz" else texts.CONTACT_NAMES_RU
            contact = rng.choice(pool)
        else:
            contact = who.name
        clobus = parent == CLOBUS_FOLDER
        subscription, start, end = "", EMPTY_DATE, EMPTY_DATE
        tariff, period = EMPTY_REF, EMPTY_REF
        if clobus and rng.random() < 0.92:
            months = rng.choices((1, 3, 6, 12), weights=(35, 20, 15, 30))[0]
            began = self.today - timedelta(days=rng.randint(5, 420))
            subscription = f"CLB-{began.year}-{rng.randint(1, 99_999):05d}"
            start = iso(datetime.combine(began, time()))
            end = iso(datetime.combine(_add_months(began, months), time()))
            plans = list(TARIFFS.values())
            tariff = rng.choices(plans, weights=(35, 40, 20, 5))[0]
            period = TARIFF_PERIODS[months]
        organization = list(ORGANIZATIONS.values())[0 if clobus or rng.random() < 0.5 else 1]
        record: Record = {
            "Ref_Key": key,
            "Code": code,
            "Description": mask,
            "DeletionMark": False,
            "Parent_Key": parent,
            "IsFolder": False,
            "ИНН": inn,
            "КодАбонентаClobus": subscriber,
            "ЮридическоеФизическоеЛицо": "ЮридическоеЛицо" if company else "ФизическоеЛицо",
            "Страна": where.country,
            "Регион": where.region,
            "Город": where.city,
            "Подписка": subscription,
            "ДатаНачалаПодписки": start,
            "ДатаОкончанияПодписки": end,
            "Тариф_Key": tariff,
            "ТарифныйПериод_Key": period,
            "Организация_Key": organization,
            "КонтактнаяИнформация": _contacts(phone, email),
        }
        software = rng.choices(
            [("bp",), ("clb",), ("bp", "zup"), ("uk",), ("rt",), ("clb", "bp"), ("uk", "rt")],
            weights=(30, 25, 12, 10, 8, 10, 5),
        )[0]
        client = _Client(
            key=key,
            name=display,
            mask=mask,
            clobus=clobus,
            lang=lang,
            phone=phone,
            contact=contact,
            kinds=software,
            weight=min(rng.paretovariate(1.4), 12.0),
        )
        return record, client


class _Planner:
    """Places consultations on the calendar and writes their documents."""

    def __init__(
        self,
        builder: _Builder,
        rng: random.Random,
        days: list[date],
        busy: set[tuple[str, datetime]],
        per_day: Counter[tuple[str, date]],
    ) -> None:
        self.b = builder
        self.rng = rng
        self.days = days
        self.busy = busy
        self.per_day = per_day
        self.today = builder.today
        self.knowledge = texts.KNOWLEDGE_BASE
        self.consultants = [m for m in builder.managers if m.staff.state != "invalid"]
        self.active = [m.key for m in builder.managers if m.staff.state == "active"]

    # -- choosing what, who and when --

    def _topic(self) -> texts.Topic:
        return self.rng.choices(texts.TOPICS, weights=[t.weight for t in texts.TOPICS])[0]

    def _eligible(self, topic: str | None, lang: str, day: date) -> list[_Manager]:
        return [
            m
            for m in self.consultants
            if m.works(day, self.today.date())
            and lang in m.staff.languages
            and (topic is None or topic in m.staff.topics)
            and (m.key, day) not in self.b.closed_days
        ]

    def place(self, *, optional: bool = False, **wish: Any) -> _Consultation | None:
        """Book one consultation as `_try` describes; None if `optional` and nothing fits."""
        for _ in range(200 if optional else 2_000):
            doc = self._try(**wish)
            if doc is not None:
                return doc
        if optional:
            return None
        raise ValueError("cannot fit that many consultations into the demo calendar")

    def _what(self, who: _Client) -> tuple[str, str, texts.Topic | None]:
        """Language, channel and topic of a new booking by `who`."""
        rng = self.rng
        lang = who.lang if rng.random() < 0.85 else ("ru" if who.lang == "uz" else "uz")
        if who.lang == "ru" and lang == "uz" and rng.random() < 0.7:
            lang = "ru"
        channel = rng.choices(list(CHANNEL_SOURCES), weights=(50, 30, 20))[0]
        topic: texts.Topic | None = self._topic()
        if channel == "ПоТелефону" and rng.random() < 0.2:
            topic = None  # the operator did not fill in the category
        return lang, channel, topic

    def _try(
        self,
        *,
        client: _Client | None = None,
        day: date | None = None,
        deleted: bool = False,
        undefined_manager: bool = False,
        around_now: bool = False,
    ) -> _Consultation | None:
        """One attempt at a booking: a client (or `client`), a day (or `day`), a manager who
        can take the topic in that language, a free slot; None when the draw does not fit."""
        rng = self.rng
        clients = self.b.clients
        who = client or rng.choices(clients, weights=[c.weight for c in clients])[0]
        lang, channel, topic = self._what(who)
        pinned = day  # a scenario's day means that calendar date, not a night shift past it
        if around_now:  # today's shift, or last night's one still going on after midnight
            yesterday = self.today.date() - timedelta(days=1)
            shifts = [d for d in (self.today.date(), yesterday) if d.weekday() < 5]
            if not shifts:
                return None
            day = rng.choice(shifts)
        if undefined_manager:
            when_day = day or rng.choice([d for d in self.days if d > self.today.date()])
            slots = [datetime.combine(when_day, time(9)) + SLOT * n for n in range(18)]
            slots = [s for s in slots if s > self.today]
            manager_key = UNDEFINED_MANAGER
        else:
            when_day = day or rng.choice(self.days)
            eligible = self._eligible(topic.slug if topic else None, lang, when_day)
            if not eligible:
                return None
            manager = rng.choices(eligible, weights=[m.staff.limit for m in eligible])[0]
            slots = [s for s in manager.slots(when_day) if (manager.key, s) not in self.busy]
            manager_key = manager.key
        if pinned is not None:
            slots = [s for s in slots if s.date() == pinned]
        if around_now:
            slots = [s for s in slots if s <= self.today < s + SLOT]
        if not deleted:  # the limit is per calendar day of ДатаКонсультации
            slots = [s for s in slots if self.per_day[(who.key, s.date())] < 3]
        if not slots:
            return None
        slot = rng.choice(slots)
        self.busy.add((manager_key, slot))
        if not deleted:
            self.per_day[(who.key, slot.date())] += 1
        booking = _Booking(who, manager_key, lang, channel, topic, slot, around_now)
        return self._document(booking, deleted=deleted)

    # -- the document itself --

    def _document(self, booking: _Booking, *, deleted: bool) -> _Consultation:
        rng = self.rng
        start = booking.slot
        if booking.channel == "ПоТелефону" and not booking.around_now:
            start += timedelta(minutes=rng.randint(0, 20))
        timeline = self._timeline(booking, start, deleted=deleted)
        record = self._record(booking, timeline)
        record["КонсультацииИТС"] = self._its_rows(booking, timeline)
        record["ВопросыИОтветы"] = self._qa_rows(record, booking, timeline)
        return _Consultation(
            record=record,
            client=booking.client,
            manager=booking.manager,
            lang=booking.lang,
            topic=booking.topic.slug if booking.topic else None,
            start=start,
            created=timeline.created,
            changed=timeline.changed,
            end=timeline.end,
            status=timeline.status,
            calls=timeline.calls,
        )

    def _created(self, start: datetime, channel: str) -> datetime:
        """Phone calls are logged shortly before; bookings come minutes to days ahead."""
        rng = self.rng
        if channel == "ПоТелефону" and rng.random() < 0.7:
            lead = timedelta(minutes=rng.randint(5, 180))
        elif rng.random() < 0.35:
            lead = timedelta(minutes=rng.randint(15, 300))
        else:
            lead = timedelta(days=rng.randint(1, 5), minutes=rng.randint(0, 600))
        created = start - lead + timedelta(seconds=rng.randint(0, 59))
        if created > self.today:  # booked ahead: it was created recently
            created = self.today - timedelta(
                minutes=rng.randint(1, 240), seconds=rng.randint(0, 59)
            )
        return created

    def _timeline(self, booking: _Booking, start: datetime, *, deleted: bool) -> _Timeline:
        rng = self.rng
        today = self.today
        duration = timedelta(minutes=round(rng.triangular(8, 60, 20)))
        if booking.around_now:
            duration = max(duration, self.today - start + timedelta(minutes=rng.randint(5, 25)))
        created = self._created(start, booking.channel)
        status = self._status(start, duration, deleted, booking.manager)
        line = _Timeline(status, created, created, start)
        if line.status == "closed":
            line.kind, line.end = KIND_DONE, start + duration
        elif line.status == "open":
            line.kind = KIND_DONE
        elif line.status == "cancelled":
            line.calls = self._calls(start, rng.randint(2, 3), today)
            line.end = min(
                max(line.calls[-1], start) + timedelta(minutes=rng.randint(3, 12)), today
            )
        elif line.status == "other":
            line.kind = KIND_OTHER
            if rng.random() < 0.5:
                line.end, line.status = start + duration, "closed"
        if (
            line.status in ("closed", "open")
            and booking.manager != UNDEFINED_MANAGER
            and rng.random() < 0.25
        ):
            limit = min(line.end or today, today)
            line.calls = [c for c in self._calls(start, rng.randint(1, 3), limit) if c <= limit]

        if deleted:
            changed = _between(rng, created, max(created, min(start, today)))
        elif line.end is not None:
            changed = min(line.end + timedelta(minutes=rng.randint(0, 15)), today)
        elif line.status == "open":
            changed = min(max(start, created) + timedelta(minutes=rng.randint(0, 5)), today)
        else:
            changed = min(created + timedelta(minutes=rng.randint(0, 10)), today)
        line.changed = max(changed, created)
        return line

    def _status(self, start: datetime, duration: timedelta, deleted: bool, manager: str) -> str:
        status = "closed"
        roll = self.rng.random()
        if deleted:
            status = "deleted"
        elif start > self.today:
            status = "pending"
        elif start + duration > self.today:
            status = "open"
        elif roll < 0.06 and manager != UNDEFINED_MANAGER:
            status = "cancelled"
        elif roll < 0.08:
            status = "other"
        elif roll < 0.10 and start.date() >= self.today.date() - timedelta(days=3):
            status = "pending"  # overdue: nobody has closed it yet
        return status

    def _calls(self, start: datetime, attempts: int, limit: datetime) -> list[datetime]:
        moment = start + timedelta(minutes=self.rng.randint(-3, 1), seconds=self.rng.randint(0, 59))
        out: list[datetime] = []
        for _ in range(attempts):
            if moment > limit:
                break
            out.append(moment)
            moment += timedelta(minutes=self.rng.randint(3, 12), seconds=self.rng.randint(0, 59))
        return out or [min(start, limit)]

    def _record(self, booking: _Booking, line: _Timeline) -> Record:
        rng = self.rng
        lang, topic, client, manager = booking.lang, booking.topic, booking.client, booking.manager
        if topic is None:
            any_topic = self._topic()
            situations = any_topic.uz_situations if lang == "uz" else any_topic.ru_situations
            category_key = question_key = EMPTY_REF
            category_name = question = ""
            subject = "Konsultatsiya" if lang == "uz" else "Консультация по ведению учёта"
        else:
            category = self.b.categories[(topic.slug, lang)]
            situations = topic.uz_situations if lang == "uz" else topic.ru_situations
            category_key, category_name = category.key, category.name
            question_key, question = rng.choice(category.questions)
            subject = category_name
        remarks = texts.UZ_REMARKS if lang == "uz" else texts.RU_REMARKS
        description = rng.choice(situations)
        if rng.random() < 0.45:
            description += " " + rng.choice(remarks)
        if booking.channel == "ПоТелефону":
            comment_lines = ["Звонок на линию консультаций", description]
            author = manager if manager != UNDEFINED_MANAGER else self.b.admin
            if rng.random() < 0.3:
                author = rng.choice(self.active)
        else:
            comment_lines = ["Создано из Clobus.uz"]
            if category_name:
                comment_lines.append(f"Категория вопроса: {category_name}")
            if question:
                comment_lines.append(f"Вопрос: {question}")
            comment_lines.append(description)
            author = self.b.admin
        contact = client.contact if rng.random() < 0.85 else rng.choice(texts.CONTACT_NAMES_RU)
        source = CHANNEL_SOURCES[booking.channel]
        return {
            "Ref_Key": self.b.keys.new(DOCUMENT_EPOCH + timedelta(minutes=37 * len(self.b.docs))),
            "Number": "",
            "Date": iso(line.created),
            "DeletionMark": line.status == "deleted",
            "Posted": line.end is not None,
            "Описание": description,
            "ВидОбращения": line.kind,
            "Входящий": True,
            "ДатаСоздания": iso(line.created),
            "ДатаИзменения": iso(line.changed),
            "ДатаКонсультации": iso(line.start),
            "Конец": iso(line.end) if line.end is not None else EMPTY_DATE,
            "ЗакрытоБезКонсультации": line.status == "cancelled",
            "Абонент_Key": client.key,
            "Автор_Key": author,
            "Менеджер_Key": manager,
            "Ответственный_Key": manager,
            "Тема": subject,
            "Вопрос": question or description,
            "Язык_Key": LANGUAGE_KEYS[lang],
            "КатегорияВопроса_Key": category_key,
            "ВопросНаКонсультацию_Key": question_key,
            "СпособСвязи": booking.channel,
            "АбонентКакСвязаться": f"{client.phone.presentation} / {contact} / {source}",
            "АбонентПредставление": client.mask,
            "Важность": rng.choices(("Низкая", "Обычная", "Высокая"), weights=(10, 75, 15))[0],
            "Комментарий": "\n".join(comment_lines),
            "КонсультацииИТС": [],
            "ВопросыИОтветы": [],
        }

    def _knowledge(self, client: _Client, topic: texts.Topic | None) -> texts.KnowledgeEntry:
        pool = [e for e in self.knowledge if topic is None or e.topic == topic.slug]
        preferred = [e for e in pool if e.section.split(".")[0] in client.kinds]
        return self.rng.choice(preferred or pool)

    def _its_rows(self, booking: _Booking, line: _Timeline) -> list[Record]:
        rng = self.rng
        if line.status == "cancelled":
            entry = self._knowledge(booking.client, booking.topic)
            obstacle = (
                texts.OBSTACLE_NO_ANSWER
                if rng.random() < 0.7
                else rng.choice(("Нет интернета у клиента", "Нет доступа к базе клиента"))
            )
            return [self._its_row(1, entry, self.b.obstacles[obstacle], with_answer=False)]
        if line.end is None:
            return []
        rows: list[Record] = []
        for number in range(1, rng.choices((1, 2), weights=(75, 25))[0] + 1):
            entry = self._knowledge(booking.client, booking.topic)
            obstacle = EMPTY_REF
            if rng.random() < 0.08:
                obstacle = self.b.obstacles[rng.choice(MINOR_OBSTACLES)]
            rows.append(self._its_row(number, entry, obstacle, with_answer=True))
        return rows

    def _its_row(
        self, number: int, entry: texts.KnowledgeEntry, obstacle: str, *, with_answer: bool
    ) -> Record:
        helper = EMPTY_REF
        if with_answer and self.rng.random() < 0.08:
            helper = self.rng.choice(self.active)
        return {
            "LineNumber": str(number),
            "ВидПО_Key": self.b.kinds[entry.section.split(".")[0]],
            "РазделПО_Key": self.b.sections[entry.section],
            "НаличиеПомех_Key": obstacle,
            "ПомощьМенеджера_Key": helper,
            "ПовторноеОбращение": False,
            "Вопрос": entry.question,
            "Ответ": entry.answer if with_answer else "",
        }

    def _qa_rows(self, record: Record, booking: _Booking, line: _Timeline) -> list[Record]:
        if line.status != "closed" or self.rng.random() >= 0.55:
            return []
        entry = self._knowledge(booking.client, booking.topic)
        return [{"LineNumber": "1", "Вопрос": record["Описание"], "Ответ": entry.answer}]
