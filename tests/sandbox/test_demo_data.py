"""The demo data set: deterministic, consistent, and faithful to the rules of the real 1C base."""

from __future__ import annotations

import itertools
import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any

import pytest

from switchboard.sandbox.demo_data import (
    SYNTHETIC_ENTITIES,
    DemoData,
    build_demo_data,
    consultation_status,
    synthetic_catalog,
)
from switchboard.sandbox.demo_data.keys import (
    CLOBUS_FOLDER,
    CONTACT_KIND_EMAIL,
    CONTACT_KIND_PHONE,
    EMPTY_DATE,
    EMPTY_REF,
    EXTERNAL_KEYS,
    LANG_OTHER,
    LANG_RU,
    LANG_UZ,
    UNDEFINED_MANAGER,
)

# 1C speaks naive Tashkent wall-clock time: a Wednesday afternoon.
TODAY = datetime(2026, 2, 11, 14, 30, 0)  # noqa: DTZ001
GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
MOMENT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$")
UZ_PHONE = re.compile(r"^\+998 9\d \d{3} \d{2} \d{2}$")
CYRILLIC = re.compile(r"[А-Яа-яЁё]")

KINDS = "Catalog_ВидыПОДляКонсультаций"
SECTIONS = "Catalog_РазделыПОДляКонсультаций"
CATEGORIES = "Catalog_КатегорииВопросов"
QUESTIONS = "Catalog_ВопросыНаКонсультацию"
KNOWLEDGE = "Catalog_БазаЗнанийДляКонсультаций"
OBSTACLES = "Catalog_ПомехиДляКонсультаций"
USERS = "Catalog_Пользователи"
DEPARTMENTS = "Catalog_Отделы"
CONTRACTORS = "Catalog_Контрагенты"
CALLS_DOC = "Document_ТелефонныйЗвонок"
SETTINGS = "InformationRegister_СписокКонсультантовДляЗаявок"
SKILLS = "InformationRegister_КатегорииВопросовМенеджеров"
USER_LANGS = "InformationRegister_ЯзыкиПользователей"
USER_DEPTS = "InformationRegister_ОтделыПользователей"
REDATES = "InformationRegister_РегистрацияПереносаКонсультации"
RATINGS = "InformationRegister_ОценкаКонсультацийПоЗаявкам"
ATTEMPTS = "InformationRegister_РегистрацияДозвона"
CLOSING = "InformationRegister_ЗакрытиеОчередиНаКонсультанта"

CONTACT_ROW = {"LineNumber", "Тип", "Вид_Key", "Представление", "АдресЭП", "НомерТелефона"}
CATALOG = {"Ref_Key", "Code", "Description", "DeletionMark"}
FIELDS: dict[str, set[str]] = {
    KINDS: CATALOG | {"Описание"},
    SECTIONS: CATALOG | {"Owner_Key", "Описание"},
    CATEGORIES: CATALOG | {"Язык_Key"},
    QUESTIONS: CATALOG | {"Категория_Key", "Язык_Key", "ПолезнаяИнформация", "Вопрос"},
    KNOWLEDGE: CATALOG | {"ВидПО_Key", "РазделПО_Key", "Вопрос", "Ответ", "Автор_Key"},
    OBSTACLES: CATALOG,
    USERS: CATALOG | {"Недействителен", "Служебный", "КонтактнаяИнформация"},
    DEPARTMENTS: CATALOG,
    CONTRACTORS: CATALOG
    | {
        "Parent_Key", "IsFolder", "ИНН", "КодАбонентаClobus", "ЮридическоеФизическоеЛицо",
        "Страна", "Регион", "Город", "Подписка", "ДатаНачалаПодписки", "ДатаОкончанияПодписки",
        "Тариф_Key", "ТарифныйПериод_Key", "Организация_Key", "КонтактнаяИнформация",
    },
    CALLS_DOC: {
        "Ref_Key", "Number", "Date", "DeletionMark", "Posted", "Описание", "ВидОбращения",
        "Входящий", "ДатаСоздания", "ДатаИзменения", "ДатаКонсультации", "Конец",
        "ЗакрытоБезКонсультации", "Абонент_Key", "Автор_Key", "Менеджер_Key", "Ответственный_Key",
        "Тема", "Вопрос", "Язык_Key", "КатегорияВопроса_Key", "ВопросНаКонсультацию_Key",
        "СпособСвязи", "АбонентКакСвязаться", "АбонентПредставление", "Важность", "Комментарий",
        "КонсультацииИТС", "ВопросыИОтветы",
    },
    SETTINGS: {
        "Period", "Менеджер_Key", "ЛимитКонсультаций", "ВремяРаботыНачало", "ВремяРаботыКонец",
    },
    SKILLS: {"Менеджер_Key", "КатегорияВопроса_Key"},
    USER_LANGS: {"Менеджер_Key", "Язык_Key"},
    USER_DEPTS: {"Менеджер_Key", "Отдел_Key"},
    REDATES: {
        "Period", "ДокументОбращения_Key", "Абонент_Key", "Менеджер_Key", "СтараяДата",
        "НоваяДата", "Комментарий",
    },
    RATINGS: {
        "Period", "Обращение_Key", "Контрагент_Key", "Менеджер_Key", "НомерВопроса", "Оценка",
        "Вопрос", "Комментарий", "ОтправленаБаза", "ДатаОценки",
    },
    ATTEMPTS: {"Period", "ДокументОбращения_Key", "Абонент_Key", "Менеджер_Key"},
    CLOSING: {"Дата", "Менеджер_Key", "Закрыт"},
}  # fmt: skip
ITS_ROW = {
    "LineNumber", "ВидПО_Key", "РазделПО_Key", "НаличиеПомех_Key", "ПомощьМенеджера_Key",
    "ПовторноеОбращение", "Вопрос", "Ответ",
}  # fmt: skip
MOMENT_FIELDS = {
    "Date", "ДатаСоздания", "ДатаИзменения", "ДатаКонсультации", "Конец", "Period", "СтараяДата",
    "НоваяДата", "ДатаОценки", "Дата", "ДатаНачалаПодписки", "ДатаОкончанияПодписки",
    "ВремяРаботыНачало", "ВремяРаботыКонец",
}  # fmt: skip
LANGS = {LANG_RU, LANG_UZ, LANG_OTHER}

# (entity, field) -> target entity set, or a fixed set of keys; True = may be the empty reference.
REFERENCES: dict[tuple[str, str], tuple[str | frozenset[str], bool]] = {
    (SECTIONS, "Owner_Key"): (KINDS, False),
    (CATEGORIES, "Язык_Key"): (frozenset(LANGS), False),
    (QUESTIONS, "Категория_Key"): (CATEGORIES, False),
    (QUESTIONS, "Язык_Key"): (frozenset(LANGS), False),
    (KNOWLEDGE, "ВидПО_Key"): (KINDS, False),
    (KNOWLEDGE, "РазделПО_Key"): (SECTIONS, False),
    (KNOWLEDGE, "Автор_Key"): (USERS, False),
    (CONTRACTORS, "Parent_Key"): (CONTRACTORS, True),
    (CONTRACTORS, "Тариф_Key"): (EXTERNAL_KEYS, True),
    (CONTRACTORS, "ТарифныйПериод_Key"): (EXTERNAL_KEYS, True),
    (CONTRACTORS, "Организация_Key"): (EXTERNAL_KEYS, False),
    (CALLS_DOC, "Абонент_Key"): (CONTRACTORS, False),
    (CALLS_DOC, "Автор_Key"): (USERS, False),
    (CALLS_DOC, "Менеджер_Key"): (USERS, False),
    (CALLS_DOC, "Ответственный_Key"): (USERS, False),
    (CALLS_DOC, "Язык_Key"): (frozenset({LANG_RU, LANG_UZ}), False),
    (CALLS_DOC, "КатегорияВопроса_Key"): (CATEGORIES, True),
    (CALLS_DOC, "ВопросНаКонсультацию_Key"): (QUESTIONS, True),
    (CALLS_DOC, "ВидПО_Key"): (KINDS, False),
    (CALLS_DOC, "РазделПО_Key"): (SECTIONS, False),
    (CALLS_DOC, "НаличиеПомех_Key"): (OBSTACLES, True),
    (CALLS_DOC, "ПомощьМенеджера_Key"): (USERS, True),
    (SETTINGS, "Менеджер_Key"): (USERS, False),
    (SKILLS, "Менеджер_Key"): (USERS, False),
    (SKILLS, "КатегорияВопроса_Key"): (CATEGORIES, False),
    (USER_LANGS, "Менеджер_Key"): (USERS, False),
    (USER_LANGS, "Язык_Key"): (frozenset({LANG_RU, LANG_UZ}), False),
    (USER_DEPTS, "Менеджер_Key"): (USERS, False),
    (USER_DEPTS, "Отдел_Key"): (DEPARTMENTS, False),
    (REDATES, "ДокументОбращения_Key"): (CALLS_DOC, False),
    (REDATES, "Абонент_Key"): (CONTRACTORS, False),
    (REDATES, "Менеджер_Key"): (USERS, False),
    (RATINGS, "Обращение_Key"): (CALLS_DOC, False),
    (RATINGS, "Контрагент_Key"): (CONTRACTORS, False),
    (RATINGS, "Менеджер_Key"): (USERS, False),
    (ATTEMPTS, "ДокументОбращения_Key"): (CALLS_DOC, False),
    (ATTEMPTS, "Абонент_Key"): (CONTRACTORS, False),
    (ATTEMPTS, "Менеджер_Key"): (USERS, False),
    (CLOSING, "Менеджер_Key"): (USERS, False),
}
CONTACT_KINDS = frozenset({CONTACT_KIND_PHONE, CONTACT_KIND_EMAIL})


@pytest.fixture(scope="module")
def data() -> DemoData:
    return build_demo_data(seed=2026, today=TODAY)


def by_key(data: DemoData, entity: str) -> dict[str, dict[str, Any]]:
    return {row["Ref_Key"]: row for row in data.onec[entity]}


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text)


def live_docs(data: DemoData) -> list[dict[str, Any]]:
    return [d for d in data.onec[CALLS_DOC] if not d["DeletionMark"]]


def walk(entity: str, row: dict[str, Any]) -> Iterator[tuple[str, str, Any]]:
    """(entity, field, value) for a record and the rows of its tabular sections."""
    for name, value in row.items():
        if isinstance(value, list):
            for line in value:
                for inner, item in line.items():
                    yield entity, inner, item
        else:
            yield entity, name, value


# --- determinism and shape -----------------------------------------------------------------------


def test_same_seed_same_data(data: DemoData) -> None:
    again = build_demo_data(seed=2026, today=TODAY)
    assert again == data
    assert json.dumps(again.onec, ensure_ascii=False) == json.dumps(data.onec, ensure_ascii=False)


def test_other_seed_other_data(data: DemoData) -> None:
    other = build_demo_data(seed=7, today=TODAY)
    assert other.onec[CONTRACTORS] != data.onec[CONTRACTORS]
    assert other.onec[CALLS_DOC] != data.onec[CALLS_DOC]


def test_keys_depend_on_the_seed_not_on_today(data: DemoData) -> None:
    later = build_demo_data(seed=2026, today=TODAY + timedelta(days=3, hours=2))

    def keys(d: DemoData) -> set[str]:
        return {row["Ref_Key"] for rows in d.onec.values() for row in rows if "Ref_Key" in row}

    assert keys(later) == keys(data)
    for entity in (KINDS, SECTIONS, CATEGORIES, QUESTIONS, KNOWLEDGE, USERS, DEPARTMENTS):
        assert later.onec[entity] == data.onec[entity]


def test_aware_today_is_taken_as_tashkent_wall_clock(data: DemoData) -> None:
    utc = (TODAY - timedelta(hours=5)).replace(tzinfo=UTC)
    assert build_demo_data(seed=2026, today=utc) == data


def test_default_today_is_recent_local_time() -> None:
    made = build_demo_data(consultations=10)
    now = datetime.now(timezone(timedelta(hours=5))).replace(tzinfo=None)
    assert made.today.tzinfo is None
    assert abs(made.today - now) < timedelta(minutes=1)


def test_json_ready_and_exact_field_names(data: DemoData) -> None:
    assert json.loads(json.dumps(data.onec)) == data.onec
    assert set(data.onec) == set(FIELDS)
    for entity, rows in data.onec.items():
        for row in rows:
            if row.get("IsFolder"):
                assert set(row) == {*CATALOG, "Parent_Key", "IsFolder"}
                continue
            assert set(row) == FIELDS[entity], entity
    for doc in data.onec[CALLS_DOC]:
        assert all(set(r) == ITS_ROW for r in doc["КонсультацииИТС"])
        assert all(set(r) == {"LineNumber", "Вопрос", "Ответ"} for r in doc["ВопросыИОтветы"])
    for entity in (USERS, CONTRACTORS):
        for row in data.onec[entity]:
            assert all(set(r) == CONTACT_ROW for r in row.get("КонтактнаяИнформация", []))


def test_value_formats(data: DemoData) -> None:
    for entity, rows in data.onec.items():
        for row in rows:
            for owner, name, value in walk(entity, row):
                if name.endswith("_Key"):
                    assert isinstance(value, str)
                    assert GUID.match(value), (owner, name, value)
                if name in MOMENT_FIELDS:
                    assert isinstance(value, str)
                    assert MOMENT.match(value), (owner, name, value)
                    assert moment(value).tzinfo is None
                if name == "LineNumber":
                    assert isinstance(value, str)
                    assert value.isdigit()
                if name in ("DeletionMark", "Posted", "IsFolder", "Закрыт", "Входящий"):
                    assert isinstance(value, bool)
    for row in data.onec[SETTINGS]:
        assert row["ВремяРаботыНачало"].startswith("0001-01-01T")
        assert type(row["ЛимитКонсультаций"]) is int
    for row in data.onec[CLOSING]:
        assert row["Дата"].endswith("T00:00:00")


def test_catalog_keys_and_codes_unique(data: DemoData) -> None:
    keys = [row["Ref_Key"] for rows in data.onec.values() for row in rows if "Ref_Key" in row]
    assert len(keys) == len(set(keys))
    for entity, rows in data.onec.items():
        if entity.startswith("Catalog_"):
            codes = [row["Code"] for row in rows]
            assert len(codes) == len(set(codes)), entity
            assert all(row["Description"] for row in rows)


def test_summary_counts(data: DemoData) -> None:
    summary = data.summary()
    for entity, rows in data.onec.items():
        assert summary[entity] == len(rows)
    assert summary["chatwoot_agents"] == len(data.chatwoot_agents)
    statuses = [k for k in summary if k.startswith("consultations_")]
    assert sum(summary[k] for k in statuses) == len(data.onec[CALLS_DOC])


# --- references ----------------------------------------------------------------------------------


def test_every_reference_points_at_a_record_of_the_right_entity(data: DemoData) -> None:
    keys = {
        entity: {row["Ref_Key"] for row in rows}
        for entity, rows in data.onec.items()
        if entity.startswith(("Catalog_", "Document_"))
    }
    for entity, rows in data.onec.items():
        for row in rows:
            for _, name, value in walk(entity, row):
                if not name.endswith("_Key") or name == "Ref_Key":
                    continue
                if name == "Вид_Key":
                    assert value in CONTACT_KINDS
                    continue
                assert (entity, name) in REFERENCES, f"unchecked reference {entity}.{name}"
                target, optional = REFERENCES[(entity, name)]
                if value == EMPTY_REF:
                    assert optional, f"{entity}.{name} is empty"
                    continue
                allowed = target if isinstance(target, frozenset) else keys[target]
                assert value in allowed, f"{entity}.{name} = {value}"


def test_references_are_semantically_consistent(data: DemoData) -> None:
    sections = by_key(data, SECTIONS)
    categories = by_key(data, CATEGORIES)
    questions = by_key(data, QUESTIONS)
    contractors = by_key(data, CONTRACTORS)
    for entry in data.onec[KNOWLEDGE]:
        assert sections[entry["РазделПО_Key"]]["Owner_Key"] == entry["ВидПО_Key"]
    for question in data.onec[QUESTIONS]:
        assert categories[question["Категория_Key"]]["Язык_Key"] == question["Язык_Key"]
    for row in data.onec[CONTRACTORS]:
        if row["Parent_Key"] != EMPTY_REF:
            assert contractors[row["Parent_Key"]]["IsFolder"] is True
    for doc in data.onec[CALLS_DOC]:
        assert not contractors[doc["Абонент_Key"]]["IsFolder"]
        assert doc["АбонентПредставление"] == contractors[doc["Абонент_Key"]]["Description"]
        assert doc["Ответственный_Key"] == doc["Менеджер_Key"]
        category, question = doc["КатегорияВопроса_Key"], doc["ВопросНаКонсультацию_Key"]
        assert (category == EMPTY_REF) == (question == EMPTY_REF)
        if category != EMPTY_REF:
            assert questions[question]["Категория_Key"] == category
            assert categories[category]["Язык_Key"] == doc["Язык_Key"]
        for line in doc["КонсультацииИТС"]:
            assert sections[line["РазделПО_Key"]]["Owner_Key"] == line["ВидПО_Key"]


def test_register_rows_agree_with_their_documents(data: DemoData) -> None:
    docs = by_key(data, CALLS_DOC)
    for entity, field in ((REDATES, "ДокументОбращения_Key"), (ATTEMPTS, "ДокументОбращения_Key")):
        for row in data.onec[entity]:
            doc = docs[row[field]]
            assert row["Абонент_Key"] == doc["Абонент_Key"]
            assert row["Менеджер_Key"] == doc["Менеджер_Key"]
    for row in data.onec[RATINGS]:
        doc = docs[row["Обращение_Key"]]
        assert row["Контрагент_Key"] == doc["Абонент_Key"]
        assert row["Менеджер_Key"] == doc["Менеджер_Key"]


REGISTER_KEYS: dict[str, tuple[str, ...]] = {
    SETTINGS: ("Period", "Менеджер_Key"),
    SKILLS: ("Менеджер_Key", "КатегорияВопроса_Key"),
    USER_LANGS: ("Менеджер_Key", "Язык_Key"),
    USER_DEPTS: ("Менеджер_Key", "Отдел_Key"),
    REDATES: ("Period", "ДокументОбращения_Key", "Абонент_Key", "Менеджер_Key"),
    RATINGS: ("Period", "Обращение_Key", "Контрагент_Key", "Менеджер_Key", "НомерВопроса"),
    ATTEMPTS: ("Period", "ДокументОбращения_Key", "Абонент_Key", "Менеджер_Key"),
    CLOSING: ("Дата", "Менеджер_Key"),
}


def test_register_records_are_unique_by_period_and_dimensions(data: DemoData) -> None:
    registers = {e for e in data.onec if e.startswith("InformationRegister_")}
    assert registers == set(REGISTER_KEYS)
    for entity, key in REGISTER_KEYS.items():
        seen = [tuple(row[name] for name in key) for row in data.onec[entity]]
        assert len(seen) == len(set(seen)), entity


# --- counterparties ------------------------------------------------------------------------------


def test_counterparties(data: DemoData) -> None:
    rows = data.onec[CONTRACTORS]
    folders = [r for r in rows if r["IsFolder"]]
    items = [r for r in rows if not r["IsFolder"]]
    clobus = next(r for r in folders if r["Ref_Key"] == CLOBUS_FOLDER)
    assert clobus["Description"] == "CLOBUS"
    assert clobus["Parent_Key"] == EMPTY_REF
    assert clobus["DeletionMark"] is False
    assert len(folders) == 2
    in_clobus = [r for r in items if r["Parent_Key"] == CLOBUS_FOLDER]
    assert 55 <= len(in_clobus) <= 65
    assert 10 <= len(items) - len(in_clobus) <= 20

    inns = [r["ИНН"] for r in items]
    codes = [r["КодАбонентаClobus"] for r in items]
    assert len(set(inns)) == len(inns)
    assert len(set(codes)) == len(codes)
    companies = 0
    for row in items:
        inn, code = row["ИНН"], row["КодАбонентаClobus"]
        assert inn.isdigit()
        if row["ЮридическоеФизическоеЛицо"] == "ЮридическоеЛицо":
            companies += 1
            assert len(inn) == 9
            assert inn[0] in "23"
        else:
            assert row["ЮридическоеФизическоеЛицо"] == "ФизическоеЛицо"
            assert len(inn) == 14
        assert type(code) is int
        assert 10_000 <= code <= 9_999_999
        assert row["Description"].startswith("Clobus ")
        assert row["Description"].endswith(f" {code} ({inn})")
        phones = [c for c in row["КонтактнаяИнформация"] if c["Тип"] == "Телефон"]
        assert len(phones) == 1
        assert phones[0]["Вид_Key"] == CONTACT_KIND_PHONE
        assert phones[0]["НомерТелефона"] == re.sub(r"\D", "", phones[0]["Представление"])
        if row["Страна"] == "Узбекистан":
            assert UZ_PHONE.match(phones[0]["Представление"])
        for mail in (c for c in row["КонтактнаяИнформация"] if c["Тип"] != "Телефон"):
            assert mail["Тип"] == "АдресЭлектроннойПочты"
            assert "@" in mail["АдресЭП"]
            assert mail["Вид_Key"] == CONTACT_KIND_EMAIL
        if row["Подписка"]:
            assert moment(row["ДатаНачалаПодписки"]) < moment(row["ДатаОкончанияПодписки"])
    assert 0.6 <= companies / len(items) <= 0.8
    countries = Counter(r["Страна"] for r in items)
    assert countries["Узбекистан"] >= 0.9 * len(items)
    assert set(countries) - {"Узбекистан"} <= {"Казахстан", "Россия"}
    assert len(set(countries)) > 1
    assert len({r["Город"] for r in items}) >= 6


# --- consultations -------------------------------------------------------------------------------


def test_consultation_counts_and_spread(data: DemoData) -> None:
    docs = data.onec[CALLS_DOC]
    assert len(docs) == 300
    starts = [moment(d["ДатаКонсультации"]) for d in docs]
    assert min(starts) >= TODAY - timedelta(days=36)
    assert max(starts) <= TODAY + timedelta(days=5)
    assert any(s > TODAY for s in starts)
    statuses = Counter(consultation_status(d) for d in docs)
    assert 0.02 <= statuses["cancelled"] / len(docs) <= 0.09
    assert statuses["pending"] >= 5
    assert statuses["open"] >= 1  # someone is consulting right now
    assert statuses["closed"] >= 0.7 * len(docs)
    assert 1 <= statuses["deleted"] <= 20
    kinds = Counter(d["ВидОбращения"] for d in docs)
    assert set(kinds) == {"ВОчередьНаКонсультацию", "КонсультацияИТС", "Другое"}
    assert kinds["Другое"] <= 0.05 * len(docs)
    assert {d["СпособСвязи"] for d in docs} == {"ПоСайту", "ПоТелеграм", "ПоТелефону"}
    assert {d["Важность"] for d in docs} == {"Низкая", "Обычная", "Высокая"}
    contractors = by_key(data, CONTRACTORS)
    parents = Counter(contractors[d["Абонент_Key"]]["Parent_Key"] for d in docs)
    assert parents[CLOBUS_FOLDER] >= 0.7 * len(docs)
    assert len(parents) == 2  # some documents of the other folder too


def test_at_most_three_live_documents_per_counterparty_per_day(data: DemoData) -> None:
    per_day = Counter((d["Абонент_Key"], d["ДатаКонсультации"][:10]) for d in live_docs(data))
    assert max(per_day.values()) == 3  # the limit is reached, never exceeded
    full_days = {pair for pair, n in per_day.items() if n == 3}
    deleted = [d for d in data.onec[CALLS_DOC] if d["DeletionMark"]]
    assert any((d["Абонент_Key"], d["ДатаКонсультации"][:10]) in full_days for d in deleted)


def _shift(settings: dict[str, Any], start: datetime) -> tuple[date, bool]:
    """(the day of the shift `start` belongs to, whether `start` lies inside the shift)."""
    begin = time.fromisoformat(settings["ВремяРаботыНачало"][11:])
    end = time.fromisoformat(settings["ВремяРаботыКонец"][11:])
    at = start.time()
    if begin < end:
        return start.date(), begin <= at < end
    if at >= begin:
        return start.date(), True
    return start.date() - timedelta(days=1), at < end


def test_consultations_sit_in_their_managers_working_hours(data: DemoData) -> None:
    latest: dict[str, dict[str, Any]] = {}
    for row in sorted(data.onec[SETTINGS], key=lambda r: r["Period"]):
        latest[row["Менеджер_Key"]] = row
    closed = {
        (r["Менеджер_Key"], r["Дата"][:10])
        for r in data.onec[CLOSING]
        if r["Закрыт"] and moment(r["Дата"]).date() < TODAY.date()
    }
    night = 0
    for doc in live_docs(data):
        manager = doc["Менеджер_Key"]
        start = moment(doc["ДатаКонсультации"])
        if manager == UNDEFINED_MANAGER:
            assert start > TODAY
            assert time(9) <= start.time() < time(18)
            continue
        day, inside = _shift(latest[manager], start)
        assert inside, doc["Number"]
        assert day.weekday() < 5, doc["Number"]
        assert (manager, day.isoformat()) not in closed
        night += not time(2) <= start.time() < time(20)
    assert night  # the night-shift consultant has consultations too


def test_managers_get_only_their_categories_and_languages(data: DemoData) -> None:
    skills = defaultdict(set)
    for row in data.onec[SKILLS]:
        skills[row["Менеджер_Key"]].add(row["КатегорияВопроса_Key"])
    languages = defaultdict(set)
    for row in data.onec[USER_LANGS]:
        languages[row["Менеджер_Key"]].add(row["Язык_Key"])
    for doc in live_docs(data):
        manager = doc["Менеджер_Key"]
        if manager == UNDEFINED_MANAGER:
            continue
        assert doc["Язык_Key"] in languages[manager]
        if doc["КатегорияВопроса_Key"] != EMPTY_REF:
            assert doc["КатегорияВопроса_Key"] in skills[manager]


def test_document_dates_are_consistent(data: DemoData) -> None:
    docs = data.onec[CALLS_DOC]
    numbers = [d["Number"] for d in docs]
    assert numbers == [f"ЦЛ00-{n:06d}" for n in range(1, len(docs) + 1)]
    created = [moment(d["ДатаСоздания"]) for d in docs]
    assert created == sorted(created)
    for doc in docs:
        made, changed = moment(doc["ДатаСоздания"]), moment(doc["ДатаИзменения"])
        start = moment(doc["ДатаКонсультации"])
        assert doc["Date"] == doc["ДатаСоздания"]
        assert doc["Входящий"] is True
        assert made <= changed <= TODAY
        assert made <= start
        if doc["Конец"] != EMPTY_DATE:
            end = moment(doc["Конец"])
            assert start <= end <= changed
            assert doc["Posted"] is True
        if start > TODAY:
            assert doc["ВидОбращения"] == "ВОчередьНаКонсультацию"
            assert doc["Конец"] == EMPTY_DATE
            assert not doc["ЗакрытоБезКонсультации"]
        if doc["ВидОбращения"] == "КонсультацияИТС" and doc["Конец"] != EMPTY_DATE:
            assert doc["КонсультацииИТС"], doc["Number"]
            assert all(r["Ответ"] for r in doc["КонсультацииИТС"])
        if doc["ЗакрытоБезКонсультации"]:
            assert doc["Конец"] != EMPTY_DATE
            assert doc["КонсультацииИТС"][0]["НаличиеПомех_Key"] != EMPTY_REF
        if doc["СпособСвязи"] != "ПоТелефону":
            assert doc["Комментарий"].startswith("Создано из Clobus.uz")
        phone, contact, source = doc["АбонентКакСвязаться"].split(" / ")
        assert phone.startswith("+")
        assert contact
        assert source in ("SITE", "TELEGRAM", "PHONE")


def test_texts_follow_the_document_language(data: DemoData) -> None:
    for doc in data.onec[CALLS_DOC]:
        if doc["Язык_Key"] == LANG_UZ:
            assert not CYRILLIC.search(doc["Описание"]), doc["Описание"]
        else:
            assert CYRILLIC.search(doc["Описание"])
    ratings_uz = [r for r in data.onec[RATINGS] if not CYRILLIC.search(r["Вопрос"])]
    assert ratings_uz  # Uzbek customers rate in Uzbek


# --- dictionaries and people ---------------------------------------------------------------------


def test_dictionaries(data: DemoData) -> None:
    assert 5 <= len(data.onec[KINDS]) <= 7
    owners = Counter(r["Owner_Key"] for r in data.onec[SECTIONS])
    assert set(owners) == {k["Ref_Key"] for k in data.onec[KINDS]}
    assert all(4 <= n <= 8 for n in owners.values())

    languages = Counter(r["Язык_Key"] for r in data.onec[CATEGORIES])
    assert 6 <= languages[LANG_RU] <= 10
    assert languages[LANG_UZ] == languages[LANG_RU]
    assert languages[LANG_OTHER] >= 1
    for category in data.onec[CATEGORIES]:
        has_cyrillic = bool(CYRILLIC.search(category["Description"]))
        assert has_cyrillic == (category["Язык_Key"] == LANG_RU)
    per_category = Counter(q["Категория_Key"] for q in data.onec[QUESTIONS])
    assert set(per_category) == {c["Ref_Key"] for c in data.onec[CATEGORIES]}
    assert all(3 <= n <= 6 for n in per_category.values())
    for question in data.onec[QUESTIONS]:
        if question["Язык_Key"] == LANG_UZ:
            assert not CYRILLIC.search(question["Description"] + question["ПолезнаяИнформация"])

    assert 35 <= len(data.onec[KNOWLEDGE]) <= 50
    assert all(e["Вопрос"] and e["Ответ"] for e in data.onec[KNOWLEDGE])
    obstacles = data.onec[OBSTACLES]
    assert 5 <= len(obstacles) <= 8
    assert sum(o["DeletionMark"] for o in obstacles) == 1


def test_users_and_manager_settings(data: DemoData) -> None:
    users = data.onec[USERS]
    undefined = by_key(data, USERS)[UNDEFINED_MANAGER]
    assert undefined["Description"] == "<не определено>"
    assert undefined["Служебный"] is True
    consultants = [
        u for u in users if not (u["DeletionMark"] or u["Недействителен"] or u["Служебный"])
    ]
    assert 10 <= len(consultants) <= 14
    assert sum(u["DeletionMark"] for u in users) == 1
    assert sum(u["Недействителен"] for u in users) == 1
    assert any(u["Служебный"] and u["Description"] == "Администратор" for u in users)
    for user in consultants:
        assert len(user["Description"].split()) == 3  # Фамилия Имя Отчество
        phones = [c for c in user["КонтактнаяИнформация"] if c["Тип"] == "Телефон"]
        assert UZ_PHONE.match(phones[0]["Представление"])

    latest: dict[str, dict[str, Any]] = {}
    for row in sorted(data.onec[SETTINGS], key=lambda r: r["Period"]):
        latest[row["Менеджер_Key"]] = row
    assert len(data.onec[SETTINGS]) > len(latest)  # some managers' settings changed over time
    active = {u["Ref_Key"] for u in consultants}
    assert active <= set(latest)
    hours = {(r["ВремяРаботыНачало"][11:13], r["ВремяРаботыКонец"][11:13]) for r in latest.values()}
    assert {("09", "18"), ("08", "17"), ("10", "19"), ("20", "02")} <= hours
    assert all(3 <= latest[key]["ЛимитКонсультаций"] <= 15 for key in active)

    categories = by_key(data, CATEGORIES)
    topics: dict[str, set[str]] = defaultdict(set)
    for row in data.onec[SKILLS]:
        topics[row["Менеджер_Key"]].add(categories[row["КатегорияВопроса_Key"]]["Code"])
    languages: dict[str, set[str]] = defaultdict(set)
    for row in data.onec[USER_LANGS]:
        languages[row["Менеджер_Key"]].add(row["Язык_Key"])
    for key in active:
        per_language = len(topics[key]) // len(languages[key])
        assert 1 <= per_language <= 3
    assert any(languages[k] == {LANG_RU} for k in active)
    assert any(languages[k] == {LANG_RU, LANG_UZ} for k in active)

    departments = {d["Ref_Key"]: d["Description"] for d in data.onec[DEPARTMENTS]}
    assert {"ИТС консультанты", "1С:УК 3.0 и Розница 3.0", "Техническая поддержка"} <= set(
        departments.values()
    )
    assert {r["Менеджер_Key"] for r in data.onec[USER_DEPTS]} >= active


def test_chatwoot_agents_are_the_active_consultants_with_email(data: DemoData) -> None:
    users = by_key(data, USERS)
    agents = data.chatwoot_agents
    assert 8 <= len(agents) <= 14
    assert len({a["email"] for a in agents}) == len(agents)
    for agent in agents:
        assert set(agent) == {"name", "email", "cl_ref_key"}
        user = users[agent["cl_ref_key"]]
        assert not user["DeletionMark"]
        assert not user["Недействителен"]
        assert not user["Служебный"]
        assert agent["name"] == user["Description"]
        assert re.match(r"^[a-z.]+@clobus\.uz$", agent["email"])
        emails = [c["АдресЭП"] for c in user["КонтактнаяИнформация"] if c["АдресЭП"]]
        assert emails == [agent["email"]]


# --- registers -----------------------------------------------------------------------------------


def test_redates(data: DemoData) -> None:
    docs = by_key(data, CALLS_DOC)
    rows = data.onec[REDATES]
    assert 20 <= len(rows) <= 45
    chains: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        chains[row["ДокументОбращения_Key"]].append(row)
    for key, chain in chains.items():
        doc = docs[key]
        chain.sort(key=lambda r: r["Period"])
        assert chain[-1]["НоваяДата"] == doc["ДатаКонсультации"]
        for earlier, later in itertools.pairwise(chain):
            assert earlier["НоваяДата"] == later["СтараяДата"]
        for row in chain:
            assert row["СтараяДата"] != row["НоваяДата"]
            assert moment(doc["ДатаСоздания"]) <= moment(row["Period"]) <= TODAY
            assert moment(row["Period"]) <= moment(doc["ДатаИзменения"])
            assert row["Комментарий"]
        assert not doc["DeletionMark"]


def test_ratings(data: DemoData) -> None:
    docs = by_key(data, CALLS_DOC)
    rows = data.onec[RATINGS]
    rated: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        rated[row["Обращение_Key"]].append(row)
    finished = [d for d in live_docs(data) if consultation_status(d) == "closed"]
    assert 0.25 <= len(rated) / len(finished) <= 0.55  # about 40%
    for key, answers in rated.items():
        doc = docs[key]
        assert doc["Конец"] != EMPTY_DATE
        assert not doc["ЗакрытоБезКонсультации"]
        assert sorted(r["НомерВопроса"] for r in answers) == list(range(1, len(answers) + 1))
        assert len(answers) <= 3
        for row in answers:
            assert row["Оценка"] in (1, 2, 3, 4, 5)
            assert row["ДатаОценки"] == row["Period"]
            assert moment(doc["Конец"]) <= moment(row["Period"]) <= TODAY
            assert isinstance(row["ОтправленаБаза"], bool)
    scores = [r["Оценка"] for r in rows]
    assert sum(scores) / len(scores) >= 4.0
    assert min(scores) < 4  # not only praise


def test_call_attempts(data: DemoData) -> None:
    docs = by_key(data, CALLS_DOC)
    rows = data.onec[ATTEMPTS]
    keys = [(r["Period"], r["ДокументОбращения_Key"], r["Менеджер_Key"]) for r in rows]
    assert len(keys) == len(set(keys))
    per_doc = Counter(r["ДокументОбращения_Key"] for r in rows)
    assert 0.15 <= len(per_doc) / len(docs) <= 0.35
    assert all(1 <= n <= 3 for n in per_doc.values())
    for row in rows:
        doc = docs[row["ДокументОбращения_Key"]]
        assert not doc["DeletionMark"]
        assert moment(row["Period"]) <= TODAY
        assert moment(row["Period"]) >= moment(doc["ДатаКонсультации"]) - timedelta(minutes=5)
    for doc in docs.values():
        if doc["ЗакрытоБезКонсультации"]:
            assert per_doc[doc["Ref_Key"]] >= 2  # they tried before giving up


def test_queue_closing(data: DemoData) -> None:
    rows = data.onec[CLOSING]
    pairs = [(r["Дата"], r["Менеджер_Key"]) for r in rows]
    assert len(pairs) == len(set(pairs))
    today = TODAY.date()
    days = [(moment(r["Дата"]).date(), r["Закрыт"]) for r in rows]
    assert (today, True) in days
    assert any(day > today and closed for day, closed in days)
    assert any(not closed for _, closed in days)


# --- other sizes ---------------------------------------------------------------------------------


@pytest.mark.parametrize("count", [0, 1, 19, 50])
def test_small_data_sets(count: int) -> None:
    made = build_demo_data(seed=3, today=TODAY, consultations=count)
    assert len(made.onec[CALLS_DOC]) == count
    per_day = Counter((d["Абонент_Key"], d["ДатаКонсультации"][:10]) for d in live_docs(made))
    assert max(per_day.values(), default=0) <= 3


def test_large_data_set_keeps_the_rules() -> None:
    made = build_demo_data(seed=11, today=TODAY, consultations=1500)
    docs = made.onec[CALLS_DOC]
    assert len(docs) == 1500
    per_day = Counter((d["Абонент_Key"], d["ДатаКонсультации"][:10]) for d in live_docs(made))
    assert max(per_day.values()) <= 3
    slots = Counter((d["Менеджер_Key"], d["ДатаКонсультации"][:15]) for d in docs)
    undefined = {k for k in slots if k[0] == UNDEFINED_MANAGER}
    assert all(n == 1 for k, n in slots.items() if k not in undefined)


def test_weekend_and_night_today() -> None:
    saturday_noon = TODAY + timedelta(days=3, hours=-2, minutes=-30)
    saturday_night = TODAY + timedelta(days=3, hours=-13, minutes=-20)
    for today in (saturday_noon, saturday_night):
        made = build_demo_data(seed=5, today=today, consultations=120)
        for doc in made.onec[CALLS_DOC]:
            assert moment(doc["ДатаСоздания"]) <= today
            if consultation_status(doc) == "open":
                assert moment(doc["ДатаКонсультации"]) <= today


def test_negative_count_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        build_demo_data(consultations=-1)


# --- synthetic catalogs --------------------------------------------------------------------------


def test_synthetic_catalog_of_ten_thousand_rows() -> None:
    rows = synthetic_catalog("Catalog_ВопросыНаКонсультацию", 10_000, seed=1)
    assert len(rows) == 10_000
    for field in ("Ref_Key", "Code", "Description"):
        assert len({r[field] for r in rows}) == 10_000
    assert all(set(r) == FIELDS[QUESTIONS] for r in rows)
    assert {r["Язык_Key"] for r in rows} == {LANG_RU, LANG_UZ}
    assert all(GUID.match(r["Ref_Key"]) for r in rows)
    assert synthetic_catalog("Catalog_ВопросыНаКонсультацию", 50, seed=1) == rows[:50]


@pytest.mark.parametrize("entity", SYNTHETIC_ENTITIES)
def test_synthetic_catalog_every_entity(entity: str) -> None:
    rows = synthetic_catalog(entity, 300, seed=4)
    assert len(rows) == 300
    assert len({r["Ref_Key"] for r in rows}) == 300
    assert len({r["Code"] for r in rows}) == 300
    assert all(set(r) == FIELDS[entity] for r in rows)
    assert json.loads(json.dumps(rows)) == rows
    assert synthetic_catalog(entity, 300, seed=4) == rows
    assert synthetic_catalog(entity, 300, seed=5) != rows


def test_synthetic_counterparties_are_unique_where_1c_needs_it() -> None:
    rows = synthetic_catalog("Catalog_Контрагенты", 3_000, seed=2)
    assert len({r["ИНН"] for r in rows}) == 3_000
    assert len({r["КодАбонентаClobus"] for r in rows}) == 3_000
    assert len({r["Description"] for r in rows}) == 3_000
    assert all(r["Parent_Key"] == CLOBUS_FOLDER for r in rows)


def test_synthetic_catalog_references_and_errors() -> None:
    owners = [r["Ref_Key"] for r in synthetic_catalog(KINDS, 3)]
    sections = synthetic_catalog(SECTIONS, 9, references={"Owner_Key": owners})
    assert [s["Owner_Key"] for s in sections] == owners * 3
    assert {r["Owner_Key"] for r in synthetic_catalog(SECTIONS, 5)} == {EMPTY_REF}
    assert synthetic_catalog(OBSTACLES, 0) == []
    with pytest.raises(ValueError, match="no synthetic rows"):
        synthetic_catalog("Catalog_Несуществующий", 5)
    with pytest.raises(ValueError, match="no reference field"):
        synthetic_catalog(KINDS, 5, references={"Owner_Key": owners})
    with pytest.raises(ValueError, match="negative"):
        synthetic_catalog(KINDS, -1)
