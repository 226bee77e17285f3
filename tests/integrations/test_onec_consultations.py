"""The 1C adapter's writes (the `AccountingSystem` port) against the 1C emulator: counterparties,
consultation documents and the registers we write — each safe to repeat, each refusal named."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from switchboard.core.http.errors import (
    IntegrationError,
    PeerBusinessError,
    PeerNotFound,
    PeerRejected,
    PeerUnavailable,
)
from switchboard.integrations.onec import constants as c
from switchboard.integrations.onec.consultations import OneCAccounting
from switchboard.integrations.onec.records import InvalidValue
from switchboard.integrations.ports import (
    ConsultationChanges,
    CounterpartyCard,
    DailyLimitReached,
    RatingRecord,
    RedateRecord,
)
from switchboard.runtime import Runtime
from switchboard.sandbox.faults import Fault
from switchboard.sandbox.pytest_plugin import RunningOneC

from .onec_consultations_support import (
    AUTHOR,
    CALLS,
    CONTRACTORS,
    FOLDER,
    MANAGER,
    MORNING,
    OTHER_FOLDER,
    OTHER_MANAGER,
    document,
    odata_error,
    odata_value,
    open_accounting,
    subscriber,
)


@pytest.fixture
async def accounting(onec: RunningOneC, settings_factory: Any) -> AsyncIterator[OneCAccounting]:
    async for adapter in open_accounting(onec, settings_factory):
        yield adapter


def card(**changes: Any) -> CounterpartyCard:
    base = CounterpartyCard(
        inn="301234567",
        code_abonent="1001",
        title="Clobus ООО Ромашка 1001 (301234567)",
        phone_number="+998901234567",
        email="info@romashka.uz",
        city="Ташкент",
    )
    return replace(base, **changes)


# --- wiring ------------------------------------------------------------------------------------


async def test_the_registry_fills_the_accounting_port_when_1c_is_configured(
    onec: RunningOneC, runtime_factory: Any
) -> None:
    runtime: Runtime = await runtime_factory(**onec.settings())
    assert isinstance(runtime.adapters.accounting, OneCAccounting)
    # One client (one pool) for the catalogs and the consultations.
    assert runtime.adapters.accounting.client is runtime.adapters.reference_source.client  # type: ignore[union-attr]
    bare: Runtime = await runtime_factory()
    assert bare.adapters.accounting is None


# --- counterparties ----------------------------------------------------------------------------


async def test_a_company_is_created_in_our_folder_as_a_legal_entity(
    onec: RunningOneC, accounting: OneCAccounting
) -> None:
    saved = await accounting.save_counterparty(card())

    stored = onec.emulator.store.get(CONTRACTORS, str(saved.ref_key))
    assert stored is not None
    assert stored["Parent_Key"] == FOLDER
    assert stored["ЮридическоеФизическоеЛицо"] == "ЮридическоеЛицо"
    assert stored["КодАбонентаClobus"] == 1001
    assert stored["Description"] == "Clobus ООО Ромашка 1001 (301234567)"
    assert stored["Город"] == "Ташкент"
    contacts = {row["Тип"]: row for row in stored["КонтактнаяИнформация"]}
    assert contacts["Телефон"]["Вид_Key"] == str(c.CONTACT_KIND_PHONE)
    assert contacts["Телефон"]["Представление"] == "+998901234567"
    assert contacts["Телефон"]["НомерТелефона"] == "+998901234567"
    assert contacts["АдресЭлектроннойПочты"]["Вид_Key"] == str(c.CONTACT_KIND_EMAIL)
    assert contacts["АдресЭлектроннойПочты"]["АдресЭП"] == "info@romashka.uz"
    (post,) = onec.emulator.journal.matching("POST", f"*/{CONTRACTORS}")
    assert post.json()["КодАбонентаClobus"] == 1001  # an int on the wire, as 1C's Int64
    assert saved.code_abonent == "1001"
    assert saved.parent_key == c.CLOBUS_CLIENTS_FOLDER
    assert saved.inn == "301234567"


async def test_a_pinfl_is_a_natural_person(onec: RunningOneC, accounting: OneCAccounting) -> None:
    saved = await accounting.save_counterparty(card(inn="31234567890123", code_abonent=None))
    stored = onec.emulator.store.get(CONTRACTORS, str(saved.ref_key))
    assert stored is not None
    assert stored["ЮридическоеФизическоеЛицо"] == "ФизическоеЛицо"
    assert stored["КодАбонентаClobus"] == 0
    assert saved.code_abonent is None


async def test_saving_the_same_new_card_twice_makes_one_counterparty(
    onec: RunningOneC, accounting: OneCAccounting
) -> None:
    first = await accounting.save_counterparty(card())
    again = await accounting.save_counterparty(card(phone_number="+998907654321"))

    assert again.ref_key == first.ref_key
    assert len(onec.emulator.store.all(CONTRACTORS)) == 1
    posts = onec.emulator.journal.matching("POST", f"*/{CONTRACTORS}")
    assert [post.status for post in posts] == [201, 400]  # the second met "key exists"
    stored = onec.emulator.store.get(CONTRACTORS, str(first.ref_key))
    assert stored is not None
    phones = [row for row in stored["КонтактнаяИнформация"] if row["Тип"] == "Телефон"]
    assert [row["НомерТелефона"] for row in phones] == ["+998907654321"]


async def test_an_update_keeps_contact_rows_of_other_kinds(
    onec: RunningOneC, accounting: OneCAccounting
) -> None:
    known = onec.emulator.store.put(
        CONTRACTORS,
        {
            "Description": "старое имя",
            "Parent_Key": FOLDER,
            "ИНН": "301234567",
            "КонтактнаяИнформация": [
                {"Тип": "Адрес", "Представление": "Ташкент, ул. Навои 1"},
                {"Тип": "Телефон", "Представление": "+998900000000"},
            ],
        },
    )
    saved = await accounting.save_counterparty(
        card(ref_key=uuid.UUID(known["Ref_Key"]), email=None)
    )

    assert saved.ref_key == uuid.UUID(known["Ref_Key"])
    assert onec.emulator.journal.matching("POST", "*") == []
    stored = onec.emulator.store.get(CONTRACTORS, known["Ref_Key"])
    assert stored is not None
    assert stored["Description"] == "Clobus ООО Ромашка 1001 (301234567)"
    rows = [(row["Тип"], row["Представление"]) for row in stored["КонтактнаяИнформация"]]
    assert rows == [("Адрес", "Ташкент, ул. Навои 1"), ("Телефон", "+998901234567")]


async def test_find_looks_only_at_live_counterparties_in_our_folder(
    onec: RunningOneC, accounting: OneCAccounting
) -> None:
    store = onec.emulator.store
    ours = store.put(
        CONTRACTORS,
        {"Parent_Key": FOLDER, "ИНН": "301234567", "КодАбонентаClobus": 1001, "Code": "000000005"},
    )
    store.put(CONTRACTORS, {"Parent_Key": OTHER_FOLDER, "ИНН": "301234567"})
    store.put(CONTRACTORS, {"Parent_Key": FOLDER, "ИНН": "309999999", "DeletionMark": True})
    store.put(CONTRACTORS, {"Parent_Key": FOLDER, "ИНН": "301234567", "КодАбонентаClobus": 2002})

    by_code = await accounting.find_counterparty(inn="301234567", code_abonent="1001")
    assert by_code is not None
    assert by_code.ref_key == uuid.UUID(ours["Ref_Key"])
    assert by_code.code_abonent == "1001"
    assert await accounting.find_counterparty(inn="309999999", code_abonent=None) is None
    assert await accounting.find_counterparty(inn="301234567", code_abonent="3003") is None
    # Without a code, the oldest of the INN's counterparties in the folder.
    by_inn = await accounting.find_counterparty(inn="301234567", code_abonent=None)
    assert by_inn is not None
    assert by_inn.parent_key == c.CLOBUS_CLIENTS_FOLDER


async def test_a_subscriber_code_sent_as_a_string_is_read(
    onec: RunningOneC, accounting: OneCAccounting
) -> None:
    # OData v3 writes Int64 as a JSON string; some 1C versions do so.
    key = str(uuid.uuid4())
    row = {"Ref_Key": key, "ИНН": "301234567", "КодАбонентаClobus": "1001", "Parent_Key": FOLDER}
    onec.emulator.faults.add(
        Fault(method="GET", path=f"*/{CONTRACTORS}", status=200, body=odata_value(row), times=1)
    )
    found = await accounting.find_counterparty(inn="301234567", code_abonent="1001")
    assert found is not None
    assert found.code_abonent == "1001"
    assert found.ref_key == uuid.UUID(key)


@pytest.mark.parametrize(
    ("inn", "code"),
    [
        ("301234567' or ИНН ne '", None),
        ("301234567", "1 or true"),
        ("301234567", "1001) or (1 eq 1"),
        ("３０１２３４５６７", None),  # full-width digits are not digits to 1C
        ("", None),
        ("301234567", "-5"),
        ("301234567", "0"),
    ],
)
async def test_an_injection_attempt_is_refused_before_any_request(
    onec: RunningOneC, accounting: OneCAccounting, inn: str, code: str | None
) -> None:
    with pytest.raises(InvalidValue) as refused:
        await accounting.find_counterparty(inn=inn, code_abonent=code)
    assert isinstance(refused.value, PeerRejected)
    with pytest.raises(InvalidValue):
        await accounting.save_counterparty(card(inn=inn, code_abonent=code))
    assert onec.emulator.journal.entries() == []


async def test_an_inn_of_another_length_is_not_saved(
    onec: RunningOneC, accounting: OneCAccounting
) -> None:
    with pytest.raises(InvalidValue, match="9 digits"):
        await accounting.save_counterparty(card(inn="1234567890"))
    assert onec.emulator.journal.entries() == []


# --- consultation documents --------------------------------------------------------------------


async def test_a_consultation_is_recorded_with_every_field_the_base_reads(
    onec: RunningOneC, accounting: OneCAccounting
) -> None:
    abonent = subscriber(onec)
    category, question = uuid.uuid4(), uuid.uuid4()
    booked = document(
        abonent,
        channel="TELEGRAM",
        language="uz",
        importance=3,
        category_key=category,
        question_key=question,
    )
    record = await accounting.create_consultation(booked)

    stored = onec.emulator.store.get(CALLS, str(booked.ref_key))
    assert stored is not None
    assert stored["Абонент_Key"] == str(abonent)
    assert stored["Менеджер_Key"] == stored["Ответственный_Key"] == str(MANAGER)
    assert stored["Автор_Key"] == str(AUTHOR)
    assert stored["ВидОбращения"] == "ВОчередьНаКонсультацию"
    assert stored["Входящий"] is True
    assert stored["Posted"] is False
    assert stored["СпособСвязи"] == "ПоТелеграм"
    assert stored["Язык_Key"] == "15d38cdb-1812-11ef-b824-c67597d01fa8"
    assert stored["Важность"] == "Высокая"
    assert stored["КатегорияВопроса_Key"] == str(category)
    assert stored["ВопросНаКонсультацию_Key"] == str(question)
    assert stored["АбонентПредставление"] == booked.subscriber_title
    assert stored["АбонентКакСвязаться"] == booked.contact_how
    assert stored["Тема"] == booked.subject
    assert stored["Описание"] == booked.description
    assert stored["Комментарий"] == booked.comment
    # 1C keeps wall-clock time of its zone: 05:00Z is 10:00 in Tashkent.
    assert stored["ДатаКонсультации"] == "2026-03-02T10:00:00"
    assert stored["ДатаСоздания"] == "2026-03-01T12:30:00"

    assert record.ref_key == booked.ref_key
    assert record.number == stored["Number"]
    assert record.status == "pending"
    assert record.scheduled_at == MORNING
    assert record.language == "uz"
    assert record.manager_key == MANAGER
    assert record.subscriber_key == abonent


@pytest.mark.parametrize(
    ("importance", "channel", "expected"),
    [
        (1, "SITE", ("Низкая", "ПоСайту")),
        (2, "CALL_CENTER", ("Обычная", "ПоТелефону")),
        (None, "site", ("Обычная", "ПоСайту")),
        (5, "TELEGRAM", ("Высокая", "ПоТелеграм")),
    ],
)
async def test_importance_and_channel_are_written_as_1c_enumerations(
    onec: RunningOneC,
    accounting: OneCAccounting,
    importance: int | None,
    channel: str,
    expected: tuple[str, str],
) -> None:
    booked = document(subscriber(onec), importance=importance, channel=channel, language=None)
    await accounting.create_consultation(booked)
    stored = onec.emulator.store.get(CALLS, str(booked.ref_key))
    assert stored is not None
    assert (stored["Важность"], stored["СпособСвязи"]) == expected
    assert stored["Язык_Key"] == "00000000-0000-0000-0000-000000000000"


async def test_an_unknown_channel_is_refused_before_any_request(
    onec: RunningOneC, accounting: OneCAccounting
) -> None:
    with pytest.raises(InvalidValue, match="channel"):
        await accounting.create_consultation(document(subscriber(onec), channel="FAX"))
    assert onec.emulator.journal.entries() == []


async def test_creating_the_same_document_twice_makes_one(
    onec: RunningOneC, accounting: OneCAccounting
) -> None:
    booked = document(subscriber(onec))
    first = await accounting.create_consultation(booked)
    again = await accounting.create_consultation(booked)

    assert again == first
    assert len(onec.emulator.store.all(CALLS)) == 1
    posts = onec.emulator.journal.matching("POST", f"*/{CALLS}")
    assert [post.status for post in posts] == [201, 400]
    assert {post.json()["Ref_Key"] for post in posts} == {str(booked.ref_key)}


async def test_a_create_retried_after_a_server_error_makes_one_document(
    onec: RunningOneC, accounting: OneCAccounting
) -> None:
    # The key is ours, so the kit may send the POST again after a 5xx.
    onec.emulator.faults.add(Fault(method="POST", path=f"*/{CALLS}", status=502, times=1))
    booked = document(subscriber(onec))
    record = await accounting.create_consultation(booked)
    assert record.ref_key == booked.ref_key
    assert [p.status for p in onec.emulator.journal.matching("POST", f"*/{CALLS}")] == [502, 201]
    assert len(onec.emulator.store.all(CALLS)) == 1


async def test_the_fourth_consultation_of_a_day_is_the_daily_limit(
    onec: RunningOneC, accounting: OneCAccounting
) -> None:
    abonent = subscriber(onec)
    same_day = [
        await accounting.create_consultation(
            document(abonent, scheduled_at=MORNING + timedelta(hours=hour))
        )
        for hour in (0, 2, 4)
    ]
    with pytest.raises(DailyLimitReached) as refused:
        await accounting.create_consultation(
            document(abonent, scheduled_at=MORNING + timedelta(hours=6))
        )
    assert "лимит" in refused.value.message
    assert refused.value.status_code == 500
    assert not refused.value.retriable
    # Refused once, not retried: a business refusal is a definite "no".
    assert [p.status for p in onec.emulator.journal.matching("POST", f"*/{CALLS}")][-1:] == [500]
    assert len(onec.emulator.journal.matching("POST", f"*/{CALLS}")) == 4

    # The next day is free, and a deleted consultation frees its slot.
    await accounting.create_consultation(
        document(abonent, scheduled_at=MORNING + timedelta(days=1))
    )
    await accounting.delete_consultation(same_day[0].ref_key)
    fourth = await accounting.create_consultation(
        document(abonent, scheduled_at=MORNING + timedelta(hours=6))
    )
    assert fourth.status == "pending"


async def test_the_limit_counts_days_of_1c_zone(
    onec: RunningOneC, accounting: OneCAccounting
) -> None:
    abonent = subscriber(onec)
    # 20:00Z on 1 March is 01:00 on 2 March in Tashkent: the same 1C day as MORNING.
    for moment in (datetime(2026, 3, 1, 20, 0, tzinfo=UTC), MORNING, MORNING + timedelta(hours=1)):
        await accounting.create_consultation(document(abonent, scheduled_at=moment))
    with pytest.raises(DailyLimitReached):
        await accounting.create_consultation(
            document(abonent, scheduled_at=MORNING + timedelta(hours=2))
        )


async def test_an_unrelated_server_error_is_not_the_limit(
    onec: RunningOneC, accounting: OneCAccounting
) -> None:
    onec.emulator.faults.add(Fault(method="POST", path=f"*/{CALLS}", status=500))
    with pytest.raises(PeerUnavailable) as failed:
        await accounting.create_consultation(document(subscriber(onec)))
    assert not isinstance(failed.value, PeerBusinessError)
    assert failed.value.retriable


async def test_another_business_refusal_is_not_the_limit(
    onec: RunningOneC, accounting: OneCAccounting
) -> None:
    refusal = odata_error("-1", "Не заполнено поле «Тема»")
    onec.emulator.faults.add(
        Fault(method="POST", path=f"*/{CALLS}", status=500, body=refusal, times=1)
    )
    with pytest.raises(PeerBusinessError) as refused:
        await accounting.create_consultation(document(subscriber(onec)))
    assert not isinstance(refused.value, DailyLimitReached)
    assert "Тема" in refused.value.message


async def test_a_repeat_refused_by_the_base_finds_the_document_it_made(
    onec: RunningOneC, accounting: OneCAccounting
) -> None:
    # A base whose own check runs before the platform's key check answers a repeat with the
    # limit: the document is ours and there, so the create succeeded.
    booked = document(subscriber(onec))
    await accounting.create_consultation(booked)
    limit = odata_error("-1", "Превышен лимит консультаций: не более 3 консультаций в день")
    onec.emulator.faults.add(Fault(method="POST", path=f"*/{CALLS}", status=500, body=limit))
    again = await accounting.create_consultation(booked)
    assert again.ref_key == booked.ref_key
    assert len(onec.emulator.store.all(CALLS)) == 1


async def test_an_update_patches_only_the_given_fields(
    onec: RunningOneC, accounting: OneCAccounting
) -> None:
    booked = document(subscriber(onec))
    await accounting.create_consultation(booked)
    later = MORNING + timedelta(hours=3)

    record = await accounting.update_consultation(
        booked.ref_key, ConsultationChanges(manager_key=OTHER_MANAGER, scheduled_at=later)
    )

    (patch,) = onec.emulator.journal.matching("PATCH", f"*/{CALLS}*")
    assert patch.json() == {
        "Менеджер_Key": str(OTHER_MANAGER),
        "Ответственный_Key": str(OTHER_MANAGER),
        "ДатаКонсультации": "2026-03-02T13:00:00",
    }
    assert record.manager_key == OTHER_MANAGER
    assert record.scheduled_at == later
    assert record.description == booked.description


@pytest.mark.parametrize(
    ("status", "written", "read_back"),
    [
        ("resolved", {"ВидОбращения": "КонсультацияИТС"}, "open"),
        ("closed", {"ВидОбращения": "КонсультацияИТС"}, "open"),
        ("open", {"ВидОбращения": "ВОчередьНаКонсультацию"}, "pending"),
        ("new", {"ВидОбращения": "ВОчередьНаКонсультацию"}, "pending"),
        ("cancelled", {"ЗакрытоБезКонсультации": True}, "cancelled"),
    ],
)
async def test_our_status_is_written_as_1c_fields(
    onec: RunningOneC,
    accounting: OneCAccounting,
    status: str,
    written: dict[str, Any],
    read_back: str,
) -> None:
    booked = document(subscriber(onec))
    await accounting.create_consultation(booked)
    record = await accounting.update_consultation(
        booked.ref_key, ConsultationChanges(status=status)
    )
    (patch,) = onec.emulator.journal.matching("PATCH", f"*/{CALLS}*")
    assert patch.json() == written
    assert record.status == read_back


async def test_an_end_closes_the_consultation(
    onec: RunningOneC, accounting: OneCAccounting
) -> None:
    booked = document(subscriber(onec))
    await accounting.create_consultation(booked)
    end = MORNING + timedelta(minutes=40)
    record = await accounting.update_consultation(
        booked.ref_key, ConsultationChanges(ended_at=end, description="Закрыли месяц")
    )
    assert record.status == "closed"
    assert record.ended_at == end
    assert record.description == "Закрыли месяц"


async def test_an_update_without_changes_only_reads(
    onec: RunningOneC, accounting: OneCAccounting
) -> None:
    booked = document(subscriber(onec))
    await accounting.create_consultation(booked)
    record = await accounting.update_consultation(booked.ref_key, ConsultationChanges())
    assert record.ref_key == booked.ref_key
    assert onec.emulator.journal.matching("PATCH", "*") == []


async def test_an_unknown_status_is_refused_before_any_request(
    onec: RunningOneC, accounting: OneCAccounting
) -> None:
    with pytest.raises(InvalidValue, match="status"):
        await accounting.update_consultation(uuid.uuid4(), ConsultationChanges(status="other"))
    assert onec.emulator.journal.entries() == []


async def test_moving_onto_a_full_day_is_the_daily_limit(
    onec: RunningOneC, accounting: OneCAccounting
) -> None:
    abonent = subscriber(onec)
    for hour in (0, 1, 2):
        await accounting.create_consultation(
            document(abonent, scheduled_at=MORNING + timedelta(hours=hour))
        )
    other_day = document(abonent, scheduled_at=MORNING + timedelta(days=1))
    await accounting.create_consultation(other_day)
    with pytest.raises(DailyLimitReached):
        await accounting.update_consultation(
            other_day.ref_key, ConsultationChanges(scheduled_at=MORNING + timedelta(hours=5))
        )


async def test_updating_a_missing_document_is_not_found(accounting: OneCAccounting) -> None:
    with pytest.raises(PeerNotFound):
        await accounting.update_consultation(uuid.uuid4(), ConsultationChanges(description="x"))


async def test_delete_marks_the_document_and_a_missing_one_is_fine(
    onec: RunningOneC, accounting: OneCAccounting
) -> None:
    booked = document(subscriber(onec))
    await accounting.create_consultation(booked)

    await accounting.delete_consultation(booked.ref_key)
    await accounting.delete_consultation(booked.ref_key)  # again: still fine
    await accounting.delete_consultation(uuid.uuid4())  # never existed: fine

    stored = onec.emulator.store.get(CALLS, str(booked.ref_key))
    assert stored is not None
    assert stored["DeletionMark"] is True
    record = await accounting.consultation(booked.ref_key)
    assert record is not None
    assert record.deletion_mark
    assert record.status == "cancelled"
    assert await accounting.consultation(uuid.uuid4()) is None


async def test_consultation_reads_1c_state_in_our_vocabulary(
    onec: RunningOneC, accounting: OneCAccounting
) -> None:
    abonent = subscriber(onec)
    key = str(uuid.uuid4())
    onec.emulator.store.put(
        CALLS,
        {
            "Ref_Key": key,
            "Абонент_Key": str(abonent),
            "ВидОбращения": "КонсультацияИТС",
            "Вопрос": "Вопрос из 1С",
            "ДатаКонсультации": "2026-03-02T10:00:00",
            "Менеджер_Key": "00000000-0000-0000-0000-000000000000",
            "Язык_Key": "15d38cda-1812-11ef-b824-c67597d01fa8",
        },
    )
    record = await accounting.consultation(uuid.UUID(key))
    assert record is not None
    assert record.status == "open"
    assert record.manager_key is None  # the empty reference
    assert record.ended_at is None  # the empty date
    assert record.description == "Вопрос из 1С"
    assert record.language == "ru"
    assert record.scheduled_at == MORNING


# --- registers ---------------------------------------------------------------------------------


async def test_a_redate_is_recorded_once(onec: RunningOneC, accounting: OneCAccounting) -> None:
    booked = document(subscriber(onec))
    await accounting.create_consultation(booked)
    redate = RedateRecord(
        period=datetime(2026, 3, 1, 9, 15, 30, 123456, tzinfo=UTC),
        document_key=booked.ref_key,
        subscriber_key=booked.subscriber_key,
        manager_key=MANAGER,
        old_date=MORNING,
        new_date=MORNING + timedelta(days=1),
        comment="Клиент попросил",
    )
    await accounting.record_redate(redate)
    await accounting.record_redate(redate)

    (stored,) = onec.emulator.store.all(c.REGISTER_REDATES)
    assert stored["Period"] == "2026-03-01T14:15:30"
    assert stored["ДокументОбращения_Key"] == str(booked.ref_key)
    assert stored["Менеджер_Key"] == str(MANAGER)
    assert stored["СтараяДата"] == "2026-03-02T10:00:00"
    assert stored["НоваяДата"] == "2026-03-03T10:00:00"
    assert stored["Комментарий"] == "Клиент попросил"
    posts = onec.emulator.journal.matching("POST", f"*/{c.REGISTER_REDATES}")
    assert [post.status for post in posts] == [201, 400]


async def test_a_rating_is_recorded_once(onec: RunningOneC, accounting: OneCAccounting) -> None:
    booked = document(subscriber(onec))
    await accounting.create_consultation(booked)
    rating = RatingRecord(
        period=datetime(2026, 3, 2, 6, 0, tzinfo=UTC),
        document_key=booked.ref_key,
        counterparty_key=booked.subscriber_key,
        manager_key=MANAGER,
        question_number=2,
        rating=5,
        question="Насколько понятно объяснили?",
        comment="Спасибо",
    )
    await accounting.record_rating(rating)
    await accounting.record_rating(rating)

    (stored,) = onec.emulator.store.all(c.REGISTER_RATINGS)
    assert stored["Обращение_Key"] == str(booked.ref_key)
    assert stored["Контрагент_Key"] == str(booked.subscriber_key)
    assert stored["НомерВопроса"] == 2
    assert stored["Оценка"] == 5
    assert stored["Period"] == stored["ДатаОценки"] == "2026-03-02T11:00:00"
    assert stored["Вопрос"] == "Насколько понятно объяснили?"


@pytest.mark.parametrize("manager", [None, uuid.UUID(int=0)])
async def test_a_register_record_needs_a_real_manager(
    onec: RunningOneC, accounting: OneCAccounting, manager: uuid.UUID | None
) -> None:
    redate = RedateRecord(
        period=MORNING,
        document_key=uuid.uuid4(),
        subscriber_key=None,
        manager_key=manager,
        old_date=None,
        new_date=MORNING,
    )
    with pytest.raises(InvalidValue, match="manager"):
        await accounting.record_redate(redate)
    rating = RatingRecord(
        period=MORNING,
        document_key=uuid.uuid4(),
        counterparty_key=None,
        manager_key=manager or uuid.UUID(int=0),
        question_number=1,
        rating=4,
    )
    with pytest.raises(InvalidValue, match="manager"):
        await accounting.record_rating(rating)
    assert onec.emulator.journal.entries() == []


async def test_every_failure_is_an_integration_error(
    onec: RunningOneC, accounting: OneCAccounting
) -> None:
    onec.emulator.faults.add(Fault(path="*", status=503))
    with pytest.raises(IntegrationError):
        await accounting.consultation(uuid.uuid4())
    with pytest.raises(IntegrationError):
        await accounting.delete_consultation(uuid.uuid4())
    with pytest.raises(IntegrationError):
        await accounting.find_counterparty(inn="301234567", code_abonent=None)
