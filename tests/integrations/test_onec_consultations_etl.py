"""The 1C adapter's reads for the ETL against the 1C emulator: paged (pages of 2 here), filtered
and ordered on 1C's side, moments in UTC, 1C's empty values as None."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time
from typing import Any, TypeVar
from urllib.parse import parse_qs

import pytest

from switchboard.integrations.onec import constants as c
from switchboard.integrations.onec.consultations import OneCAccounting
from switchboard.sandbox.faults import Fault
from switchboard.sandbox.pytest_plugin import RunningOneC

from .onec_consultations_support import (
    CALLS,
    MANAGER,
    OTHER_FOLDER,
    OTHER_MANAGER,
    odata_value,
    open_accounting,
    subscriber,
)

T = TypeVar("T")
RU, UZ = "15d38cda-1812-11ef-b824-c67597d01fa8", "15d38cdb-1812-11ef-b824-c67597d01fa8"
EMPTY_DATE = "0001-01-01T00:00:00"
#: 1C local 2026-03-02T00:00 in Tashkent.
SINCE = datetime(2026, 3, 1, 19, 0, tzinfo=UTC)


@pytest.fixture
async def accounting(onec: RunningOneC, settings_factory: Any) -> AsyncIterator[OneCAccounting]:
    async for adapter in open_accounting(
        onec, settings_factory, ODATA_PAGE_SIZE=2, ODATA_DOCUMENT_PAGE_SIZE=2
    ):
        yield adapter


async def pages(source: AsyncIterator[list[T]]) -> list[list[T]]:
    return [page async for page in source]


def queries(onec: RunningOneC, entity: str) -> list[dict[str, list[str]]]:
    return [
        parse_qs(entry.query) for entry in onec.emulator.journal.matching("GET", f"*/{entity}*")
    ]


def put_call(onec: RunningOneC, abonent: uuid.UUID, changed: str, **fields: Any) -> str:
    record = onec.emulator.store.put(
        CALLS, {"Абонент_Key": str(abonent), "ДатаИзменения": changed, **fields}
    )
    return str(record["Ref_Key"])


async def test_changed_consultations_of_our_clients_in_change_order(
    onec: RunningOneC, accounting: OneCAccounting
) -> None:
    ours, theirs = subscriber(onec), subscriber(onec, folder=OTHER_FOLDER, name="Чужой")
    put_call(onec, ours, "2026-03-01T23:59:59")  # before `since` (1C time)
    expected = [
        put_call(
            onec, ours, "2026-03-02T09:00:00", Ref_Key=f"00000000-0000-0000-0000-00000000000{n}"
        )
        for n in (3, 1, 2)
    ]
    expected = sorted(expected)  # same change time: by key
    expected.append(put_call(onec, ours, "2026-03-02T10:00:00"))
    expected.insert(0, put_call(onec, ours, "2026-03-02T00:00:00"))  # exactly `since`
    other = put_call(onec, theirs, "2026-03-02T11:00:00")

    found = await pages(accounting.consultations_changed_since(SINCE))

    assert [len(page) for page in found] == [2, 2, 1]
    assert [str(record.ref_key) for page in found for record in page] == expected
    (first, *_), *_ = found
    assert first.changed_at == SINCE
    query = queries(onec, CALLS)[0]
    assert query["$filter"] == [
        "ДатаИзменения ge datetime'2026-03-02T00:00:00'"
        f" and Абонент/Parent_Key eq guid'{c.CLOBUS_CLIENTS_FOLDER}'"
    ]
    assert query["$orderby"] == ["ДатаИзменения asc, Ref_Key asc"]
    assert query["$top"] == ["2"]

    everyone = await pages(accounting.consultations_changed_since(SINCE, only_our_clients=False))
    assert str(everyone[-1][-1].ref_key) == other


async def test_tabular_sections_become_question_lines(
    onec: RunningOneC, accounting: OneCAccounting
) -> None:
    kind, section, helper = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    key = put_call(
        onec,
        subscriber(onec),
        "2026-03-02T09:00:00",
        Конец="2026-03-02T10:40:00",
        КонсультацииИТС=[
            {
                "ВидПО_Key": str(kind),
                "РазделПО_Key": str(section),
                "ПомощьМенеджера_Key": str(helper),
                "ПовторноеОбращение": True,
                "Вопрос": "Как закрыть месяц?",
                "Ответ": "Так",
            }
        ],
        ВопросыИОтветы=[{"Вопрос": "А НДС?", "Ответ": "Тоже"}, {"Вопрос": "Ещё", "Ответ": ""}],
    )
    (record,) = await accounting.consultations_by_keys([uuid.UUID(key)])
    assert record.status == "closed"
    assert record.ended_at == datetime(2026, 3, 2, 5, 40, tzinfo=UTC)
    first, second, third = record.questions
    assert (first.line_number, first.po_type_key, first.po_section_key) == (1, kind, section)
    assert (first.manager_help_key, first.repeat_request, first.interference_key) == (
        helper,
        True,
        None,
    )
    assert (first.question, first.answer) == ("Как закрыть месяц?", "Так")
    assert (second.line_number, second.question, second.answer) == (1001, "А НДС?", "Тоже")
    assert (third.line_number, third.answer) == (1002, None)


async def test_by_keys_asks_at_most_forty_keys_at_once(
    onec: RunningOneC, accounting: OneCAccounting
) -> None:
    abonent = subscriber(onec)
    stored = [put_call(onec, abonent, "2026-03-02T09:00:00") for _ in range(45)]
    missing = uuid.uuid4()

    found = await accounting.consultations_by_keys([*map(uuid.UUID, stored), missing])

    assert {str(record.ref_key) for record in found} == set(stored)
    filters = [query["$filter"][0] for query in queries(onec, CALLS)]
    assert [text.count("Ref_Key eq guid'") for text in filters] == [40, 6]
    assert await accounting.consultations_by_keys([]) == []


@pytest.mark.parametrize(
    ("status", "fields"),
    [
        ("cancelled", {"DeletionMark": True, "Конец": "2026-03-02T11:00:00"}),
        ("cancelled", {"ЗакрытоБезКонсультации": True}),
        ("closed", {"Конец": "2026-03-02T11:00:00", "ВидОбращения": "КонсультацияИТС"}),
        ("open", {"ВидОбращения": "КонсультацияИТС"}),
        ("pending", {"ВидОбращения": "ВОчередьНаКонсультацию"}),
        ("new", {"ВидОбращения": "Другое"}),
        ("new", {}),
    ],
)
async def test_status_vocabulary(
    onec: RunningOneC, accounting: OneCAccounting, status: str, fields: dict[str, Any]
) -> None:
    key = put_call(onec, subscriber(onec), "2026-03-02T09:00:00", **fields)
    (record,) = await accounting.consultations_by_keys([uuid.UUID(key)])
    assert record.status == status


async def test_redates_since_in_period_order(onec: RunningOneC, accounting: OneCAccounting) -> None:
    document, abonent = uuid.uuid4(), uuid.uuid4()

    def redate(period: str, manager: uuid.UUID = MANAGER, **extra: Any) -> dict[str, Any]:
        return {
            "Period": period,
            "ДокументОбращения_Key": str(document),
            "Абонент_Key": str(abonent),
            "Менеджер_Key": str(manager),
            "СтараяДата": "2026-03-03T10:00:00",
            "НоваяДата": "2026-03-04T15:00:00",
            **extra,
        }

    onec.emulator.store.load(
        {
            c.REGISTER_REDATES: [
                redate("2026-03-02T12:00:00", Комментарий="перенос"),
                redate("2026-03-01T23:00:00"),
                redate("2026-03-02T00:00:00", OTHER_MANAGER),
                redate("2026-03-02T00:00:00"),
                redate("2026-03-02T08:00:00", СтараяДата=EMPTY_DATE),
            ]
        }
    )
    found = [item for page in await pages(accounting.redates_since(SINCE)) for item in page]

    assert [item.period for item in found] == [
        SINCE,
        SINCE,
        datetime(2026, 3, 2, 3, 0, tzinfo=UTC),
        datetime(2026, 3, 2, 7, 0, tzinfo=UTC),
    ]
    assert [item.manager_key for item in found[:2]] == [MANAGER, OTHER_MANAGER]
    assert found[0].old_date == datetime(2026, 3, 3, 5, 0, tzinfo=UTC)
    assert found[0].new_date == datetime(2026, 3, 4, 10, 0, tzinfo=UTC)
    assert found[2].old_date is None
    assert (found[3].comment, found[0].comment) == ("перенос", None)
    assert found[0].document_key == document
    assert found[0].subscriber_key == abonent
    assert queries(onec, c.REGISTER_REDATES)[0]["$filter"] == [
        "Period ge datetime'2026-03-02T00:00:00'"
    ]


async def test_ratings_since_filter_on_period(
    onec: RunningOneC, accounting: OneCAccounting
) -> None:
    def rating(period: str, number: int, score: object, rated: str = EMPTY_DATE) -> dict[str, Any]:
        return {
            "Period": period,
            "Обращение_Key": "ffffffff-0000-0000-0000-000000000001",
            "Контрагент_Key": "ffffffff-0000-0000-0000-000000000002",
            "Менеджер_Key": str(MANAGER),
            "НомерВопроса": number,
            "Оценка": score,
            "Вопрос": f"Вопрос {number}",
            "ДатаОценки": rated,
        }

    onec.emulator.store.load(
        {
            c.REGISTER_RATINGS: [
                # A document key sorting first but rated long ago: the original's GUID cursor
                # would pick it up on every run; a Period filter leaves it out.
                {**rating("2026-02-01T10:00:00", 1, 3), "Обращение_Key": str(uuid.UUID(int=1))},
                rating("2026-03-02T10:00:00", 2, 4, "2026-03-02T10:00:05"),
                rating("2026-03-02T10:00:00", 1, 5),
                rating("2026-03-02T11:00:00", 1, 2),
            ]
        }
    )
    found = [item for page in await pages(accounting.ratings_since(SINCE)) for item in page]

    assert [(item.question_number, item.rating) for item in found] == [(1, 5), (2, 4), (1, 2)]
    assert found[0].rated_at is None  # 1C's empty date
    assert found[1].rated_at == datetime(2026, 3, 2, 5, 0, 5, tzinfo=UTC)
    assert found[0].manager_key == MANAGER
    assert found[0].question == "Вопрос 1"
    assert queries(onec, c.REGISTER_RATINGS)[0]["$filter"] == [
        "Period ge datetime'2026-03-02T00:00:00'"
    ]


async def test_calls_since(onec: RunningOneC, accounting: OneCAccounting) -> None:
    document = uuid.uuid4()

    def call(period: str, manager: str = str(MANAGER)) -> dict[str, Any]:
        return {"Period": period, "ДокументОбращения_Key": str(document), "Менеджер_Key": manager}

    onec.emulator.store.load(
        {
            c.REGISTER_CALLS: [
                call("2026-03-02T10:00:00"),
                call("2026-03-01T10:00:00"),
                call("2026-03-02T09:00:00"),
                # No manager: not a call anyone made, left out.
                call("2026-03-02T09:30:00", "00000000-0000-0000-0000-000000000000"),
            ]
        }
    )
    found = [item for page in await pages(accounting.calls_since(SINCE)) for item in page]
    assert [item.period.hour for item in found] == [4, 5]
    assert found[0].document_key == document
    assert found[0].subscriber_key is None


async def test_queue_closings_of_a_day_of_1c_zone(
    onec: RunningOneC, accounting: OneCAccounting
) -> None:
    def closing(day: str, manager: uuid.UUID, closed: bool = True) -> dict[str, Any]:
        return {"Дата": f"{day}T00:00:00", "Менеджер_Key": str(manager), "Закрыт": closed}

    onec.emulator.store.load(
        {
            c.REGISTER_QUEUE_CLOSINGS: [
                closing("2026-03-01", MANAGER),
                closing("2026-03-02", MANAGER),
                closing("2026-03-02", OTHER_MANAGER, closed=False),
                closing("2026-03-03", MANAGER),
            ]
        }
    )
    found = await accounting.queue_closings(date(2026, 3, 2))

    assert [(item.day, item.manager_key, item.closed) for item in found] == [
        (date(2026, 3, 2), MANAGER, True),
        (date(2026, 3, 2), OTHER_MANAGER, False),
    ]
    assert queries(onec, c.REGISTER_QUEUE_CLOSINGS)[0]["$filter"] == [
        "Дата ge datetime'2026-03-02T00:00:00' and Дата lt datetime'2026-03-03T00:00:00'"
    ]


async def test_consultant_profiles_gather_the_managers_registers(
    onec: RunningOneC, accounting: OneCAccounting
) -> None:
    store = onec.emulator.store
    its = store.put(c.ENTITY_DEPARTMENTS, {"Description": "ИТС консультанты"})["Ref_Key"]
    retail = store.put(c.ENTITY_DEPARTMENTS, {"Description": "1С:УК 3.0 и Розница 3.0"})["Ref_Key"]
    gone = store.put(c.ENTITY_DEPARTMENTS, {"Description": "Старый", "DeletionMark": True})
    category = uuid.uuid4()
    manager, other = str(MANAGER), str(OTHER_MANAGER)
    store.load(
        {
            c.REGISTER_CONSULTANTS: [
                {
                    "Period": "2025-01-01T00:00:00",
                    "Менеджер_Key": manager,
                    "ЛимитКонсультаций": 3,
                    "ВремяРаботыНачало": "0001-01-01T08:00:00",
                    "ВремяРаботыКонец": "0001-01-01T17:00:00",
                },
                {
                    "Period": "2026-01-01T00:00:00",
                    "Менеджер_Key": manager,
                    "ЛимитКонсультаций": 8,
                    "ВремяРаботыНачало": "0001-01-01T09:00:00",
                    "ВремяРаботыКонец": "0001-01-01T18:30:00",
                },
            ],
            c.REGISTER_USER_DEPARTMENTS: [
                {"Менеджер_Key": manager, "Отдел_Key": its},
                {"Менеджер_Key": manager, "Отдел_Key": retail},
                {"Менеджер_Key": other, "Отдел_Key": gone["Ref_Key"]},
            ],
            c.REGISTER_USER_LANGUAGES: [
                {"Менеджер_Key": manager, "Язык_Key": RU},
                {"Менеджер_Key": manager, "Язык_Key": UZ},
                {"Менеджер_Key": other, "Язык_Key": str(uuid.uuid4())},  # neither ru nor uz
            ],
            c.REGISTER_MANAGER_CATEGORIES: [
                {"Менеджер_Key": manager, "КатегорияВопроса_Key": str(category)},
                {"Менеджер_Key": other, "КатегорияВопроса_Key": str(category)},
            ],
        }
    )
    first, second = await accounting.consultant_profiles()

    assert first.manager_key == MANAGER
    assert first.limit == 8  # the latest settings record
    assert (first.start_hour, first.end_hour) == (time(9, 0), time(18, 30))
    assert first.departments == {"ИТС консультанты", "1С:УК 3.0 и Розница 3.0"}
    assert first.department == "1С:УК 3.0 и Розница 3.0"  # the first by name
    assert first.languages == {"ru", "uz"}
    assert first.category_keys == {category}
    assert second.manager_key == OTHER_MANAGER
    assert (second.limit, second.start_hour, second.department) == (None, None, None)
    assert second.languages == frozenset()
    assert second.category_keys == {category}
    (slice_query,) = [entry for entry in onec.emulator.journal.matching("GET", "*SliceLast*")]
    assert slice_query.path.endswith(f"{c.REGISTER_CONSULTANTS}/SliceLast()")


async def test_a_limit_sent_as_a_digit_string_is_read(
    onec: RunningOneC, accounting: OneCAccounting
) -> None:
    # A real base may send the number as text; the original lost the other form instead.
    row = {
        "Period": "2026-01-01T00:00:00",
        "Менеджер_Key": str(MANAGER),
        "ЛимитКонсультаций": "12",
        "ВремяРаботыНачало": "0001-01-01T09:00:00",
        "ВремяРаботыКонец": EMPTY_DATE,
    }
    onec.emulator.faults.add(
        Fault(method="GET", path="*SliceLast*", status=200, body=odata_value(row), times=1)
    )
    (profile,) = await accounting.consultant_profiles()
    assert profile.limit == 12
    assert (profile.start_hour, profile.end_hour) == (time(9, 0), None)


async def test_since_is_a_moment_in_1c_zone(onec: RunningOneC, settings_factory: Any) -> None:
    # The same instant filters by another wall clock when the base lives in another zone.
    async for accounting in open_accounting(onec, settings_factory, ODATA_TIMEZONE="Europe/Moscow"):
        await pages(accounting.consultations_changed_since(SINCE))
    (query,) = queries(onec, CALLS)
    assert query["$filter"][0].startswith("ДатаИзменения ge datetime'2026-03-01T22:00:00'")
