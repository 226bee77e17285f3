"""What each Chatwoot event does to our database, driven by the emulator as people use it."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time

import pytest

from switchboard.consultations.models import Client, Consultation, Manager, ManagerMapping
from switchboard.consultations.sync.tasks import drain
from tests.consultations.webhooks.support import (
    PUBLIC,
    Wired,
    add,
    chat,
    consultation,
    consultations,
    notifications,
    outbox,
    status_history,
    webhook_log,
)

ONEC_DOCUMENT = uuid.UUID("5f0c5c3e-0000-4000-8000-00000000d0c1")


def manager_key(name: str) -> uuid.UUID:
    return uuid.uuid5(uuid.NAMESPACE_URL, f"webhook-manager:{name}")


async def _ours(wired: Wired, **fields: object) -> tuple[str, int]:
    """A consultation of ours whose conversation exists in Chatwoot: (cons_id, display id)."""
    conversation_id = await wired.open_conversation()
    await wired.delivered()
    row = await consultation(wired.runtime, conversation_id=conversation_id)
    assert row is not None
    # Make it the booking flow's row: our own values, not the adopted ones.
    async with wired.runtime.database.transaction() as session:
        own = await session.get(Consultation, row.cons_id)
        assert own is not None
        own.status = str(fields.pop("status", "pending"))
        for name, value in fields.items():
            setattr(own, name, value)
    return row.cons_id, conversation_id


# -- conversation_created ------------------------------------------------------------------


async def test_a_new_conversation_in_our_inbox_becomes_a_consultation(wired: Wired) -> None:
    client_id = uuid.uuid4()
    await add(wired.runtime, Client(client_id=client_id, is_parent=True, name="ООО Ромашка"))
    conversation_id = await wired.open_conversation(identifier=str(client_id))
    deliveries = await wired.delivered()
    assert "conversation_created" in [d.event for d in deliveries]
    assert {d.status for d in deliveries} == {200}
    row = await consultation(wired.runtime, conversation_id=conversation_id)
    assert row is not None
    uuid.UUID(row.cons_id)  # a fresh id of ours, not Chatwoot's
    assert row.cons_id != str(conversation_id)
    assert (row.status, row.source, row.client_id) == ("open", "SITE", client_id)
    assert row.chatwoot_source_id  # the contact's source id in the inbox (for the widget)
    assert await status_history(wired.runtime, row.cons_id) == [(None, "open", "chatwoot")]


async def test_a_known_or_referenced_conversation_is_not_created_twice(wired: Wired) -> None:
    # The booking flow opened it and named our consultation in it, but has not yet written
    # the conversation id back when the webhook arrives.
    await add(wired.runtime, Consultation(cons_id="ours-1", status="pending"))
    conversation_id = await wired.open_conversation(cons_id="ours-1")
    await wired.delivered()
    (row,) = await consultations(wired.runtime)
    assert (row.cons_id, row.chatwoot_conversation_id) == ("ours-1", conversation_id)
    assert row.status == "pending"


async def test_a_conversation_of_another_inbox_is_ignored(wired: Wired) -> None:
    answer = await wired.post_signed(
        {"event": "conversation_created", "id": 77, "inbox_id": 99, "status": "open"}
    )
    assert answer.status_code == 200
    assert answer.json()["status"] == "ignored"
    assert await consultations(wired.runtime) == []


# -- status ----------------------------------------------------------------------------------


async def test_status_changes_follow_chatwoot_and_resolve_sets_the_end(wired: Wired) -> None:
    cons_id, conversation_id = await _ours(wired, status="new", cl_ref_key=ONEC_DOCUMENT)
    for status in ("pending", "open", "snoozed"):
        wired.chatwoot.emulator.set_status(conversation_id, status)
    await wired.delivered()
    row = await consultation(wired.runtime, conversation_id=conversation_id)
    assert row is not None
    assert row.status == "pending"
    assert row.end_date is None
    wired.chatwoot.emulator.set_status(conversation_id, "resolved")
    deliveries = await wired.delivered()
    assert {d.status for d in deliveries} == {200}
    row = await consultation(wired.runtime, conversation_id=conversation_id)
    assert row is not None
    assert row.status == "resolved"
    assert row.end_date is not None
    assert await status_history(wired.runtime, cons_id) == [
        (None, "open", "chatwoot"),  # adopted when the conversation was opened
        ("new", "pending", "chatwoot"),
        ("pending", "open", "chatwoot"),
        ("open", "pending", "chatwoot"),  # snoozed: still waiting
        ("pending", "resolved", "chatwoot"),
    ]
    # Each change is owed to the 1C document, through the outbox.
    tasks = await outbox(wired.runtime, "onec.update_consultation")
    assert [task.payload for task in tasks] == [{"cons_id": cons_id}] * 4


async def test_a_finished_consultation_is_not_reopened_by_chatwoot(wired: Wired) -> None:
    _cons_id, conversation_id = await _ours(wired, status="cancelled", cl_ref_key=ONEC_DOCUMENT)
    wired.chatwoot.emulator.set_status(conversation_id, "resolved")
    wired.chatwoot.emulator.set_status(conversation_id, "open")
    await wired.delivered()
    row = await consultation(wired.runtime, conversation_id=conversation_id)
    assert row is not None
    assert row.status == "cancelled"
    assert await outbox(wired.runtime, "onec.update_consultation") == []
    outcomes = [entry.outcome for entry in await webhook_log(wired.runtime)]
    assert "status cancelled kept (Chatwoot: resolved)" in outcomes
    assert "status cancelled kept (Chatwoot: open)" in outcomes


async def test_a_consultation_without_a_1c_document_owes_1c_nothing(wired: Wired) -> None:
    _, conversation_id = await _ours(wired)
    wired.chatwoot.emulator.set_status(conversation_id, "resolved")
    await wired.delivered()
    row = await consultation(wired.runtime, conversation_id=conversation_id)
    assert row is not None
    assert row.status == "resolved"
    assert await outbox(wired.runtime, "onec.update_consultation") == []


# -- assignee --------------------------------------------------------------------------------


@pytest.fixture
async def agents(wired: Wired) -> dict[str, int]:
    """Three agents: one mapped in sys.user_mapping, one known by cons.users, one unknown."""
    emulator = wired.chatwoot.emulator
    ids = {
        name: int(emulator.add_agent(name, f"{name.lower()}@example.uz")["id"])
        for name in ("Dilnoza", "Rustam", "Stranger")
    }
    await add(
        wired.runtime,
        Manager(cl_ref_key=manager_key("Dilnoza"), description="Дилноза Каримова"),
        Manager(
            cl_ref_key=manager_key("Rustam"),
            description="Рустам Алиев",
            chatwoot_user_id=ids["Rustam"],
        ),
        ManagerMapping(chatwoot_user_id=ids["Dilnoza"], cl_manager_key=manager_key("Dilnoza")),
    )
    return ids


async def test_an_assignment_maps_the_agent_to_the_1c_manager_and_tells_the_client(
    wired: Wired, agents: dict[str, int]
) -> None:
    cons_id, conversation_id = await _ours(wired, cl_ref_key=ONEC_DOCUMENT, lang="ru")
    wired.chatwoot.emulator.assign(conversation_id, assignee_id=agents["Dilnoza"])
    await wired.delivered()
    row = await consultation(wired.runtime, conversation_id=conversation_id)
    assert row is not None
    assert row.manager == manager_key("Dilnoza")

    wired.chatwoot.emulator.assign(conversation_id, assignee_id=agents["Rustam"])
    await wired.delivered()
    row = await consultation(wired.runtime, conversation_id=conversation_id)
    assert row is not None
    assert row.manager == manager_key("Rustam")

    messages = await outbox(wired.runtime, "chatwoot.post_message")
    assert [task.payload["text"] for task in messages] == [
        "Ваш менеджер изменён: Дилноза Каримова",
        "Ваш менеджер изменён: Рустам Алиев",
    ]
    assert {task.cons_id for task in messages} == {cons_id}
    logged = await notifications(wired.runtime)
    assert [n.notification_type for n in logged] == ["manager_reassignment"] * 2
    assert len(await outbox(wired.runtime, "onec.update_consultation")) == 2


async def test_an_unknown_agent_or_an_unassignment_keeps_the_manager(
    wired: Wired, agents: dict[str, int]
) -> None:
    _, conversation_id = await _ours(wired, manager=manager_key("Rustam"))
    wired.chatwoot.emulator.assign(conversation_id, assignee_id=agents["Stranger"])
    wired.chatwoot.emulator.assign(conversation_id)  # unassigned
    await wired.delivered()
    row = await consultation(wired.runtime, conversation_id=conversation_id)
    assert row is not None
    assert row.manager == manager_key("Rustam")
    outcomes = [entry.outcome for entry in await webhook_log(wired.runtime)]
    assert f"agent {agents['Stranger']} is no known 1C manager; manager kept" in outcomes
    assert "unassigned in Chatwoot; manager kept" in outcomes
    assert await outbox(wired.runtime, "chatwoot.post_message") == []


async def test_an_uzbek_client_is_told_in_uzbek_and_only_once(
    wired: Wired, agents: dict[str, int]
) -> None:
    _, conversation_id = await _ours(wired, lang="uz")
    wired.chatwoot.emulator.assign(conversation_id, assignee_id=agents["Rustam"])
    (update,) = [d for d in await wired.delivered() if d.event == "conversation_updated"]
    again = await wired.redeliver(update)
    assert again.json()["status"] == "duplicate"
    (message,) = await outbox(wired.runtime, "chatwoot.post_message")
    assert message.payload["text"] == "Menejeringiz o'zgartirildi: Рустам Алиев"


# -- custom attributes -----------------------------------------------------------------------


async def test_custom_attributes_a_person_changes_reach_the_consultation(wired: Wired) -> None:
    cons_id, conversation_id = await _ours(wired, cl_ref_key=ONEC_DOCUMENT)
    attributes = {
        "date_con": "2026-12-10T09:00:00",
        "con_end": "2026-12-10T10:15:00+05:00",
        "redate_con": "2026-12-11",
        "retime_con": "14:30",
        "closed_without_con": "true",
        "number_con": "000123",
    }
    await wired.set_attributes(conversation_id, attributes)
    await wired.delivered()
    row = await consultation(wired.runtime, conversation_id=conversation_id)
    assert row is not None
    assert row.start_date == datetime(2026, 12, 10, 9, 0, tzinfo=UTC)
    assert row.end_date == datetime(2026, 12, 10, 5, 15, tzinfo=UTC)
    assert (row.redate, row.redate_time, row.denied) == (date(2026, 12, 11), time(14, 30), True)
    assert row.custom_attributes == attributes
    assert len(await outbox(wired.runtime, "onec.update_consultation")) == 1

    await wired.set_attributes(conversation_id, {**attributes, "date_con": "someday"})
    await wired.delivered()
    row = await consultation(wired.runtime, conversation_id=conversation_id)
    assert row is not None
    assert row.start_date == datetime(2026, 12, 10, 9, 0, tzinfo=UTC)
    assert "date_con not understood: someday" in [
        e.outcome for e in await webhook_log(wired.runtime)
    ]
    assert cons_id


# -- messages and typing ---------------------------------------------------------------------


async def test_chat_messages_are_stored_but_private_notes_are_not(
    wired: Wired, agents: dict[str, int]
) -> None:
    cons_id, conversation_id = await _ours(wired)
    emulator = wired.chatwoot.emulator
    emulator.contact_message(conversation_id, "Здравствуйте, не проходит выписка")
    emulator.agent_reply(conversation_id, "Сейчас посмотрю", user_id=agents["Rustam"])
    emulator.agent_reply(conversation_id, "клиент с долгом", private=True)
    deliveries = await wired.delivered()
    assert [d.event for d in deliveries].count("message_created") == 3
    rows = await chat(wired.runtime, cons_id)
    assert [(r.sender_type, r.message_type, r.content) for r in rows] == [
        ("contact", "incoming", "Здравствуйте, не проходит выписка"),
        ("user", "outgoing", "Сейчас посмотрю"),
    ]
    assert all(r.line_number is None and r.chatwoot_message_id for r in rows)
    first = next(d for d in deliveries if d.event == "message_created")
    assert (await wired.redeliver(first)).json()["status"] == "duplicate"
    assert len(await chat(wired.runtime, cons_id)) == 2


async def test_typing_is_accepted_and_only_logged(wired: Wired) -> None:
    conversation_id = await wired.open_conversation()
    await wired.delivered()
    person = await consultation(wired.runtime, conversation_id=conversation_id)
    assert person is not None
    source_id = person.chatwoot_source_id
    for status in ("on", "off"):
        typed = await wired.api.post(
            f"{PUBLIC}/contacts/{source_id}/conversations/{conversation_id}/toggle_typing",
            json={"typing_status": status},
        )
        assert typed.status_code == 200, typed.text
    deliveries = await wired.delivered()
    assert [d.event for d in deliveries][-2:] == [
        "conversation_typing_on",
        "conversation_typing_off",
    ]
    assert {d.status for d in deliveries} == {200}
    log = await webhook_log(wired.runtime)
    assert [e.outcome for e in log][-2:] == ["typing indicator: nothing to store"] * 2


async def test_a_csat_answer_is_logged(wired: Wired) -> None:
    _, conversation_id = await _ours(wired)
    answer = await wired.post_signed(
        {
            "event": "message_updated",
            "id": 501,
            "message_type": "template",
            "content_type": "input_csat",
            "content_attributes": {
                "submitted_values": {
                    "csat_survey_response": {"rating": 5, "feedback_message": "Спасибо"}
                }
            },
            "conversation": {"id": conversation_id, "inbox_id": 1, "status": "resolved"},
        }
    )
    assert answer.status_code == 200
    assert answer.json() == {
        "status": "ignored",
        "event": "message_updated",
        "outcome": "CSAT rating 5 from the client: kept in this log only",
    }


async def test_the_reassignment_message_reaches_the_clients_chat_and_comes_back(
    wired: Wired, agents: dict[str, int]
) -> None:
    cons_id, conversation_id = await _ours(wired)
    wired.chatwoot.emulator.assign(conversation_id, assignee_id=agents["Dilnoza"])
    await wired.delivered()
    outcome = await drain(wired.runtime)  # the worker's part: the outbox to Chatwoot
    assert outcome.get("done") == 1, outcome
    shown = await wired.api.get(f"{wired.account}/conversations/{conversation_id}/messages")
    texts = [(m["content"], m["message_type"], m["private"]) for m in shown.json()["payload"]]
    assert ("Ваш менеджер изменён: Дилноза Каримова", 1, False) in texts  # outgoing, not a note
    # Chatwoot tells us of the message it posted; it is stored with the chat.
    await wired.delivered()
    assert [r.content for r in await chat(wired.runtime, cons_id)] == [
        "Ваш менеджер изменён: Дилноза Каримова"
    ]
