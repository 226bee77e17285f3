"""`POST /api/consultations/create` through PostgreSQL and both emulators: the row, Chatwoot's
conversation (attributes, team, agent, labels, the info message), 1C's document; peers that are
down; 1C's daily limit; the idempotency key; refused requests that write nothing."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from switchboard.consultations.models import ACCOUNTING
from switchboard.runtime import Runtime
from switchboard.sandbox.faults import Fault
from switchboard.sandbox.pytest_plugin import RunningChatwoot, RunningOneC
from tests.consultations.booking.support import (
    ACCOUNTING_TEAM,
    COUNTERPARTIES,
    TECH_TEAM,
    accounting,
    add_dictionaries,
    add_manager,
    book,
    chatwoot_teams,
    conversations,
    documents,
    in_days,
    messages,
    outbox,
    owner,
    row,
    rows,
    settings,
    settle,
    statuses,
    tech,
    utc,
)


async def _booking_setup(
    runtime_factory: Any,
    client_factory: Any,
    onec: RunningOneC,
    chatwoot: RunningChatwoot,
    **extra: Any,
) -> tuple[Runtime, Any]:
    runtime: Runtime = await runtime_factory(**settings(onec, chatwoot, **extra))
    return runtime, await client_factory(runtime)


async def test_an_accounting_booking_lands_in_the_database_chatwoot_and_1c(
    onec: RunningOneC, chatwoot: RunningChatwoot, runtime_factory: Any, client_factory: Any
) -> None:
    runtime, client = await _booking_setup(runtime_factory, client_factory, onec, chatwoot)
    teams = chatwoot_teams(chatwoot)
    keys = await add_dictionaries(runtime)
    manager_key, agent_id = await add_manager(runtime, chatwoot, "Алишер Каримов")
    body = {
        "client": owner(1),
        "consultation": accounting(
            start_date=in_days(1),
            category_key=str(keys["category"]),
            question_key=str(keys["question"]),
            po_type_key=str(keys["bp"]),
            po_section_key=str(keys["bp.bank"]),
            topic="Банковская выписка",
        ),
    }

    response = await book(client, body)

    assert response.status_code == 201, response.text
    answer = response.json()
    cons_id = answer["cons_id"]
    uuid.UUID(cons_id)  # our own id, a GUID
    assert answer["manager"] == {"manager_key": str(manager_key), "name": "Алишер Каримов"}
    assert answer["queue"]["position"] == 1
    assert answer["number"] is not None
    assert answer["cl_ref_key"] is not None
    assert answer["chatwoot_conversation_id"] is not None
    assert answer["chatwoot_source_id"]
    assert answer["chatwoot_pubsub_token"]
    assert (
        answer["chatwoot"]["inbox_identifier"] == chatwoot.settings()["CHATWOOT_INBOX_IDENTIFIER"]
    )
    assert answer["consultation"]["status"] == "pending"
    assert utc(answer["start_date"]) == utc(body["consultation"]["start_date"])

    stored = await row(runtime, cons_id)
    assert stored is not None
    assert stored.cons_id == cons_id
    assert str(stored.cl_ref_key) == answer["cl_ref_key"]
    assert stored.manager == manager_key
    assert stored.consultation_type == ACCOUNTING
    assert await statuses(runtime, cons_id) == [(None, "pending", "booking")]

    [document] = documents(onec)
    assert document["Ref_Key"] == answer["cl_ref_key"]
    assert document["Number"] == answer["number"]
    assert document["Менеджер_Key"] == str(manager_key)
    assert document["АбонентПредставление"] == "Clobus ООО Фирма 1 100001 (300000001)"
    assert document["КатегорияВопроса_Key"] == str(keys["category"])
    assert document["ВопросНаКонсультацию_Key"] == str(keys["question"])
    assert document["СпособСвязи"] == "ПоСайту"
    [counterparty] = onec.emulator.store.records(COUNTERPARTIES)
    assert document["Абонент_Key"] == counterparty["Ref_Key"]

    await settle(runtime)  # the worker: team, agent, labels, the info message, attributes
    [conversation] = conversations(chatwoot)
    assert conversation.display_id == answer["chatwoot_conversation_id"]
    assert conversation.team_id == teams[ACCOUNTING_TEAM]
    assert conversation.assignee_id == agent_id
    assert set(conversation.label_list) == {"рус", "сайт", "бух"}
    attributes = conversation.custom_attributes or {}
    assert attributes["code_abonent"] == "100001"
    assert attributes["number_con"] == answer["number"]
    assert attributes["category_name"] == "Банк и касса"
    assert attributes["question_name"] == "Выписка не загружается"
    assert attributes["consultation_type"] == ACCOUNTING
    assert attributes["closed_without_con"] is False
    [info] = messages(chatwoot, conversation)
    assert f"Номер заявки: {answer['number']}" in info
    assert "принята" in info


async def test_a_tech_support_booking_has_no_document_and_one_open_request_per_client(
    onec: RunningOneC, chatwoot: RunningChatwoot, runtime_factory: Any, client_factory: Any
) -> None:
    runtime, client = await _booking_setup(runtime_factory, client_factory, onec, chatwoot)
    teams = chatwoot_teams(chatwoot)
    body = {"client": owner(2), "consultation": tech(lang="uz", source="TELEGRAM")}

    first = await book(client, body)
    second = await book(client, body)

    assert first.status_code == 201, first.text
    assert first.json()["manager"] is None
    assert first.json()["queue"] is None
    assert first.json()["cl_ref_key"] is None
    assert second.status_code == 409, second.text
    assert second.json()["error"] == "tech_request_open"
    assert len(await rows(runtime)) == 1
    assert documents(onec) == []
    await settle(runtime)
    [conversation] = conversations(chatwoot)
    assert conversation.team_id == teams[TECH_TEAM]
    assert set(conversation.label_list) == {"узб", "тг", "тех"}
    [info] = messages(chatwoot, conversation)
    assert "Texnik yordamga arizangiz qabul qilindi" in info


async def test_chatwoot_down_during_booking_answers_and_the_outbox_opens_it_exactly_once(
    onec: RunningOneC, chatwoot: RunningChatwoot, runtime_factory: Any, client_factory: Any
) -> None:
    runtime, client = await _booking_setup(runtime_factory, client_factory, onec, chatwoot)
    await add_manager(runtime, chatwoot, "Дилноза")
    chatwoot.emulator.faults.add(Fault(path="*", status=503))

    response = await book(client, {"client": owner(3), "consultation": accounting()})

    assert response.status_code == 201, response.text
    answer = response.json()
    assert answer["chatwoot_conversation_id"] is None
    assert answer["number"] is not None  # 1C was up
    assert "Chatwoot" in answer["message"]
    assert conversations(chatwoot) == []

    chatwoot.emulator.faults.clear()
    await settle(runtime)
    await settle(runtime)  # a second worker pass changes nothing

    [conversation] = conversations(chatwoot)
    stored = await row(runtime, answer["cons_id"])
    assert stored is not None
    assert stored.chatwoot_conversation_id == conversation.display_id
    created = chatwoot.emulator.journal.matching("POST", "*/contacts/*/conversations")
    assert len([entry for entry in created if entry.status in {201, 200}]) == 1
    assert len(messages(chatwoot, conversation)) == 1  # the info message, once
    assert all(
        task.status == "done" for task in await outbox(runtime) if task.cons_id == stored.cons_id
    )


async def test_1c_down_during_booking_answers_and_the_document_is_created_later_once(
    onec: RunningOneC, chatwoot: RunningChatwoot, runtime_factory: Any, client_factory: Any
) -> None:
    runtime, client = await _booking_setup(runtime_factory, client_factory, onec, chatwoot)
    await add_manager(runtime, chatwoot, "Санжар")
    onec.emulator.faults.add(Fault(path="*", status=503))

    response = await book(client, {"client": owner(4), "consultation": accounting()})

    assert response.status_code == 201, response.text
    answer = response.json()
    assert answer["number"] is None
    assert answer["cl_ref_key"] is None
    assert answer["chatwoot_conversation_id"] is not None

    onec.emulator.faults.clear()
    await settle(runtime)
    await settle(runtime)

    [document] = documents(onec)
    stored = await row(runtime, answer["cons_id"])
    assert stored is not None
    assert str(stored.cl_ref_key) == document["Ref_Key"]
    assert stored.number == document["Number"]
    [conversation] = conversations(chatwoot)
    [info] = messages(chatwoot, conversation)
    assert document["Number"] in info


async def test_1c_daily_limit_answers_429_and_leaves_nothing(
    onec: RunningOneC, chatwoot: RunningChatwoot, runtime_factory: Any, client_factory: Any
) -> None:
    runtime, client = await _booking_setup(runtime_factory, client_factory, onec, chatwoot)
    await add_manager(runtime, chatwoot, "Нодира", limit=50)
    first = await book(
        client, {"client": owner(5), "consultation": accounting(start_date=in_days(2))}
    )
    assert first.status_code == 201, first.text
    subscriber = documents(onec)[0]["Абонент_Key"]
    # Three documents of this subscriber on that day are in 1C already (booked by phone).
    onec.emulator.store.load(
        {
            "Document_ТелефонныйЗвонок": [
                {
                    "Ref_Key": str(uuid.uuid4()),
                    "Абонент_Key": subscriber,
                    "ДатаКонсультации": documents(onec)[0]["ДатаКонсультации"],
                    "Number": f"ТЕЛ{n}",
                }
                for n in range(2)
            ]
        }
    )
    await settle(runtime)
    before_rows = len(await rows(runtime))
    before_conversations = len(conversations(chatwoot))

    refused = await book(
        client, {"client": owner(5), "consultation": accounting(start_date=in_days(2, hour=15))}
    )

    assert refused.status_code == 429, refused.text
    assert refused.json()["error"] == "daily_limit_reached"
    assert "лимит" in refused.json()["message"].lower()
    assert len(await rows(runtime)) == before_rows
    assert len(conversations(chatwoot)) == before_conversations
    assert len(documents(onec)) == 3
    assert [t for t in await outbox(runtime) if t.status == "pending"] == []


async def test_the_local_daily_limit_answers_429_before_anything_is_sent(
    onec: RunningOneC, chatwoot: RunningChatwoot, runtime_factory: Any, client_factory: Any
) -> None:
    runtime, client = await _booking_setup(runtime_factory, client_factory, onec, chatwoot)
    await add_manager(runtime, chatwoot, "Камола", limit=50)
    subscriber = owner(6)
    for hour in (10, 12, 14):
        done = await book(
            client, {"client": subscriber, "consultation": accounting(start_date=in_days(3, hour))}
        )
        assert done.status_code == 201, done.text
    onec.emulator.journal.clear()

    refused = await book(
        client, {"client": subscriber, "consultation": accounting(start_date=in_days(3, 16))}
    )
    next_day = await book(
        client, {"client": subscriber, "consultation": accounting(start_date=in_days(4, 10))}
    )

    assert refused.status_code == 429
    assert refused.json()["message"].startswith("Лимит консультаций")
    assert next_day.status_code == 201
    assert len(onec.emulator.journal.matching("POST", f"*/{'Document_ТелефонныйЗвонок'}*")) == 1


async def test_an_idempotency_key_answers_the_same_booking_and_refuses_another_body(
    onec: RunningOneC, chatwoot: RunningChatwoot, runtime_factory: Any, client_factory: Any
) -> None:
    runtime, client = await _booking_setup(runtime_factory, client_factory, onec, chatwoot)
    await add_manager(runtime, chatwoot, "Бобур")
    body = {"client": owner(7), "consultation": accounting(start_date=in_days(1))}

    first = await book(client, body, **{"Idempotency-Key": "booking-7"})
    again = await book(client, body, **{"Idempotency-Key": "booking-7"})
    other = await book(
        client,
        {**body, "consultation": accounting(start_date=in_days(2))},
        **{"Idempotency-Key": "booking-7"},
    )

    assert first.status_code == again.status_code == 201
    assert again.json()["cons_id"] == first.json()["cons_id"]
    assert again.json()["number"] == first.json()["number"]
    assert other.status_code == 422
    assert other.json()["error"] == "idempotency_key_reused"
    assert len(await rows(runtime)) == 1
    assert len(documents(onec)) == 1


async def test_refused_bookings_write_nothing(
    onec: RunningOneC, chatwoot: RunningChatwoot, runtime_factory: Any, client_factory: Any
) -> None:
    runtime, client = await _booking_setup(
        runtime_factory, client_factory, onec, chatwoot, MAX_FUTURE_CONSULTATION_DAYS="5"
    )
    keys = await add_dictionaries(runtime)
    await add_manager(runtime, chatwoot, "Зафар")
    cases: list[tuple[dict[str, Any], int, str]] = [
        (accounting(start_date=in_days(-1)), 400, "date_in_past"),
        (accounting(start_date=in_days(6)), 400, "date_too_far"),
        (accounting(category_key="not-a-guid"), 422, "consultation.category_key"),
        (accounting(category_key=str(uuid.uuid4())), 422, "consultation.category_key"),
        (
            accounting(category_key=str(keys["category"]), question_key=str(keys["alien"])),
            422,
            "consultation.question_key",
        ),
        (
            accounting(po_type_key=str(keys["rt"]), po_section_key=str(keys["bp.bank"])),
            422,
            "consultation.po_section_key",
        ),
        (accounting(lang="en"), 422, "consultation.lang"),
        (accounting(source="FAX"), 422, "consultation.source"),
        (accounting(importance=7), 422, "consultation.importance"),
    ]
    for consultation, status, expected in cases:
        response = await book(client, {"client": owner(8), "consultation": consultation})
        assert response.status_code == status, (consultation, response.text)
        body = response.json()
        if status == 422:
            assert expected in [detail["field"] for detail in body["details"]], body
        else:
            assert body["error"] == expected
    malformed = await client.post(
        "/api/consultations/create",
        content=b'{"client": {',
        headers={"content-type": "application/json"},
    )
    assert malformed.status_code == 422
    assert await rows(runtime) == []
    assert conversations(chatwoot) == []
    assert documents(onec) == []


async def _subscriber_day_full_in_1c(onec: RunningOneC, subscriber: str, day: str) -> None:
    """Three documents of the subscriber on that day in 1C, made there (by phone)."""
    onec.emulator.store.load(
        {
            "Document_ТелефонныйЗвонок": [
                {
                    "Ref_Key": str(uuid.uuid4()),
                    "Абонент_Key": subscriber,
                    "ДатаКонсультации": day,
                    "Number": f"ТЕЛ{n}",
                }
                for n in range(3)
            ]
        }
    )


async def test_1c_refusing_later_cancels_the_booking_and_tells_the_client(
    onec: RunningOneC, chatwoot: RunningChatwoot, runtime_factory: Any, client_factory: Any
) -> None:
    runtime, client = await _booking_setup(runtime_factory, client_factory, onec, chatwoot)
    await add_manager(runtime, chatwoot, "Гульнора", limit=50)
    subscriber = owner(9)
    first = await book(client, {"client": subscriber, "consultation": accounting()})
    assert first.status_code == 201
    subscriber_key = documents(onec)[0]["Абонент_Key"]
    onec.emulator.faults.add(Fault(path="*", status=503))

    booked = await book(
        client, {"client": subscriber, "consultation": accounting(start_date=in_days(3, 10))}
    )
    assert booked.status_code == 201  # 1C is down: the booking stands for now
    onec.emulator.faults.clear()
    await _subscriber_day_full_in_1c(onec, subscriber_key, in_days(3, 12)[:19])
    await settle(runtime)

    stored = await row(runtime, booked.json()["cons_id"])
    assert stored is not None
    assert (stored.status, stored.denied) == ("cancelled", True)
    assert await statuses(runtime, stored.cons_id) == [
        (None, "pending", "booking"),
        ("pending", "cancelled", "onec"),
    ]
    conversation = next(
        c for c in conversations(chatwoot) if c.display_id == stored.chatwoot_conversation_id
    )
    assert conversation.status == "resolved"
    assert "не приняла заявку" in messages(chatwoot, conversation)[-1]
    failed = [t for t in await outbox(runtime) if t.status in ("pending", "failed")]
    assert failed == []


async def test_1c_refusing_while_chatwoot_is_slow_undoes_everything_once_it_answers(
    onec: RunningOneC, chatwoot: RunningChatwoot, runtime_factory: Any, client_factory: Any
) -> None:
    runtime, client = await _booking_setup(
        runtime_factory, client_factory, onec, chatwoot, BOOKING_WAIT_SECONDS="0.5"
    )
    await add_manager(runtime, chatwoot, "Отабек", limit=50)
    subscriber = owner(10)
    first = await book(client, {"client": subscriber, "consultation": accounting()})
    assert first.status_code == 201
    await settle(runtime)
    await _subscriber_day_full_in_1c(onec, documents(onec)[0]["Абонент_Key"], in_days(4, 12)[:19])
    chatwoot.emulator.faults.add(Fault(path="*/conversations", method="POST", latency=1.5, times=1))

    refused = await book(
        client, {"client": subscriber, "consultation": accounting(start_date=in_days(4, 10))}
    )

    assert refused.status_code == 429, refused.text
    await asyncio.sleep(1.6)  # Chatwoot answers at last
    await settle(runtime)
    assert [r.cons_id for r in await rows(runtime)] == [first.json()["cons_id"]]
    assert [c.display_id for c in conversations(chatwoot)] == [
        first.json()["chatwoot_conversation_id"]
    ]
