"""`pull_queue_closing_cl`: today's closings from the 1C emulator, clients told once, waiting
consultations moved to another manager with the changes owed to Chatwoot and 1C queued."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from switchboard.consultations.managers.tasks import run_pull_queue_closing_cl
from switchboard.consultations.models import TECH_SUPPORT, Consultation, QueueClosing
from switchboard.consultations.sync.models import OutboxTask
from switchboard.core.db.base import utcnow
from switchboard.core.http.errors import PeerUnavailable
from switchboard.integrations.models import NotificationLog
from switchboard.runtime import Runtime
from switchboard.sandbox.faults import Fault
from switchboard.sandbox.pytest_plugin import RunningChatwoot, RunningOneC
from tests.consultations.managers.factories import (
    TASHKENT,
    key,
    manager,
    picked_name,
    queued,
    store,
)

CLOSINGS = "InformationRegister_ЗакрытиеОчередиНаКонсультанта"


def today() -> date:
    """Today in the 1C base's zone, as the job sees it."""
    return datetime.now(TASHKENT).date()


def closing_row(name: str, day: date, *, closed: bool, hour: int = 0) -> dict[str, Any]:
    return {
        "Дата": f"{day.isoformat()}T{hour:02d}:00:00",
        "Менеджер_Key": str(key(name)),
        "Закрыт": closed,
    }


async def _rows(runtime: Runtime, model: Any) -> list[Any]:
    async with runtime.database.transaction() as session:
        return list((await session.scalars(select(model))).all())


async def _managers_of(runtime: Runtime) -> dict[str, Any]:
    return {row.cons_id: row.manager for row in await _rows(runtime, Consultation)}


async def _closed_runtime(onec: RunningOneC, runtime_factory: Any) -> Runtime:
    runtime: Runtime = await runtime_factory(**onec.settings(), ODATA_TIMEZONE="Asia/Tashkent")
    return runtime


async def test_a_new_closing_moves_todays_queue_and_tells_each_client_once(
    onec: RunningOneC, runtime_factory: Any
) -> None:
    runtime = await _closed_runtime(onec, runtime_factory)
    now = utcnow()
    waiting = queued("Анна", 2, start=now - timedelta(hours=1))
    waiting[0].chatwoot_conversation_id = 501
    waiting[1].lang = "uz"
    later = queued("Анна", 1, start=now + timedelta(days=3))  # not today: Анна is back by then
    theirs = queued("Анна", 1, prefix="cl_all_", start=now)  # another subscriber's: 1C's to move
    await store(
        runtime,
        manager("Анна", limit=5, uz=True),
        manager("Борис", limit=5, uz=True),
        manager("Вера", limit=5, uz=True),
        queued("Борис", 1),
        waiting,
        later,
        theirs,
    )
    onec.emulator.store.load(
        {
            CLOSINGS: [
                closing_row("Анна", today(), closed=True),
                closing_row("Борис", today(), closed=False),
                # Tomorrow: stored for bookings on that day, nobody is moved today.
                closing_row("Вера", today() + timedelta(days=1), closed=True),
                # Beyond the days a consultation can be booked for: not read.
                closing_row("Борис", today() + timedelta(days=40), closed=True),
            ]
        }
    )

    report = await run_pull_queue_closing_cl(runtime)

    assert (report["newly_closed"], report["notified"], report["reassigned"]) == (1, 2, 2)
    assert report["later"] == {"days": 30, "closed": 1, "newly_closed": 1, "reopened": 0}
    closings = await _rows(runtime, QueueClosing)
    assert sorted((c.period, c.manager_key) for c in closings) == [
        (today(), key("Анна")),
        (today() + timedelta(days=1), key("Вера")),
    ]
    managers = await _managers_of(runtime)
    # Вера works today (her queue closes tomorrow), Борис's reopened queue is open.
    assert {managers[w.cons_id] for w in waiting} <= {key("Борис"), key("Вера")}
    assert managers[later[0].cons_id] == key("Анна")
    assert managers[theirs[0].cons_id] == key("Анна")

    tasks = await _rows(runtime, OutboxTask)
    by_consultation = {
        w.cons_id: sorted(t.operation for t in tasks if t.cons_id == w.cons_id) for w in waiting
    }
    # Told twice (queue closed, then who it is now); the new assignee goes to both systems.
    expected = sorted(
        ["chatwoot.assign", "onec.update_consultation", *["chatwoot.post_message"] * 2]
    )
    assert by_consultation == {w.cons_id: expected for w in waiting}
    assert all(t.payload["cons_id"] in by_consultation for t in tasks)
    texts = {t.cons_id: t.payload["text"] for t in tasks if t.operation == "chatwoot.post_message"}
    assert set(texts) == set(by_consultation)
    messages = [t.payload["text"] for t in tasks if t.operation == "chatwoot.post_message"]
    day = today().strftime("%d.%m.%Y")
    assert (
        f"Очередь для Анна закрыта на {day}. В скором времени ваша консультация будет "
        "переназначена другому менеджеру." in messages
    )
    assert f"Анна navbati {day} kuni yopilgan." in " ".join(messages)
    assert any(
        m.startswith("Ваша консультация переназначена другому менеджеру. Было: Анна.")
        for m in messages
    )

    # A second run changes nothing and tells nobody anything again.
    again = await run_pull_queue_closing_cl(runtime)
    assert (again["newly_closed"], again["notified"], again["reassigned"]) == (0, 0, 0)
    assert again["later"]["newly_closed"] == 0
    assert len(await _rows(runtime, OutboxTask)) == len(tasks)
    assert len(await _rows(runtime, NotificationLog)) == 4
    assert await _managers_of(runtime) == managers


async def test_nobody_free_keeps_the_consultation_and_tells_the_client_once(
    onec: RunningOneC, runtime_factory: Any
) -> None:
    runtime = await _closed_runtime(onec, runtime_factory)
    waiting = queued("Анна", 1, start=utcnow())
    tech = queued("Анна", 1, start=utcnow(), consultation_type=TECH_SUPPORT)
    await store(
        runtime, manager("Анна"), manager("Борис", limit=1), queued("Борис", 1), waiting, tech
    )
    onec.emulator.store.load({CLOSINGS: [closing_row("Анна", today(), closed=True, hour=9)]})

    first = await run_pull_queue_closing_cl(runtime)
    second = await run_pull_queue_closing_cl(runtime)

    assert (first["notified"], first["reassigned"], first["unassigned"]) == (2, 0, 2)
    assert (second["notified"], second["reassigned"], second["unassigned"]) == (0, 0, 2)
    assert (await _managers_of(runtime))[waiting[0].cons_id] == key("Анна")
    operations = [t.operation for t in await _rows(runtime, OutboxTask)]
    assert operations == ["chatwoot.post_message", "chatwoot.post_message"]


async def test_reopened_queues_are_removed_and_past_days_left_alone(
    onec: RunningOneC, runtime_factory: Any
) -> None:
    runtime = await _closed_runtime(onec, runtime_factory)
    yesterday, in_a_week = today() - timedelta(days=1), today() + timedelta(days=7)
    await store(
        runtime,
        manager("Анна"),
        QueueClosing(period=today(), manager_key=key("Анна")),
        QueueClosing(period=yesterday, manager_key=key("Анна")),
        QueueClosing(period=in_a_week, manager_key=key("Анна")),
    )
    # Reopened today in 1C; the closing in a week was deleted from the register.
    onec.emulator.store.load({CLOSINGS: [closing_row("Анна", today(), closed=False)]})

    report = await run_pull_queue_closing_cl(runtime)

    assert (report["reopened"], report["closed"], report["later"]["reopened"]) == (1, 0, 1)
    assert [c.period for c in await _rows(runtime, QueueClosing)] == [yesterday]


async def test_a_closing_ahead_keeps_bookings_for_that_day_away(
    onec: RunningOneC, runtime_factory: Any
) -> None:
    runtime = await _closed_runtime(onec, runtime_factory)
    on_leave = today() + timedelta(days=3)
    await store(runtime, manager("Анна"))
    onec.emulator.store.load({CLOSINGS: [closing_row("Анна", on_leave, closed=True)]})

    await run_pull_queue_closing_cl(runtime)

    noon = datetime.combine(on_leave, time(12), tzinfo=TASHKENT)
    assert await picked_name(runtime, now=noon) is None
    assert await picked_name(runtime, now=noon + timedelta(days=1)) == "Анна"


async def test_1c_down_changes_nothing(onec: RunningOneC, runtime_factory: Any) -> None:
    runtime = await _closed_runtime(onec, runtime_factory)
    await store(runtime, manager("Анна"), QueueClosing(period=today(), manager_key=key("Анна")))
    onec.emulator.faults.add(Fault(status=503, path=f"*/{CLOSINGS}*"))
    with pytest.raises(PeerUnavailable):
        await run_pull_queue_closing_cl(runtime)
    assert len(await _rows(runtime, QueueClosing)) == 1


async def test_without_1c_the_job_is_skipped(runtime: Runtime) -> None:
    report = await run_pull_queue_closing_cl(runtime)
    assert report == {"skipped": "1C is not configured (ODATA_BASEURL_CL)"}


async def test_the_reassignment_reaches_the_chat_through_the_outbox(
    onec: RunningOneC, chatwoot: RunningChatwoot, runtime_factory: Any
) -> None:
    from switchboard.consultations.sync.tasks import drain
    from switchboard.integrations.ports import ContactCard

    runtime: Runtime = await runtime_factory(**onec.settings(), **chatwoot.settings())
    anna = chatwoot.emulator.add_agent("Анна", "anna@example.uz")
    boris = chatwoot.emulator.add_agent("Борис", "boris@example.uz")
    chat = runtime.adapters.chat
    assert chat is not None
    row = queued("Анна", 1, start=utcnow(), consultation_type=None)[0]
    contact = await chat.ensure_contact(ContactCard(identifier="client-1", name="Клиент"))
    conversation = await chat.open_conversation(contact, reference=row.cons_id, attributes={})
    row.chatwoot_conversation_id = conversation.conversation_id
    await store(
        runtime,
        manager("Анна", chatwoot_user_id=anna["id"]),
        manager("Борис", chatwoot_user_id=boris["id"]),
        row,
    )
    onec.emulator.store.load({CLOSINGS: [closing_row("Анна", today(), closed=True)]})

    await run_pull_queue_closing_cl(runtime)
    await drain(runtime)
    await run_pull_queue_closing_cl(runtime)  # nothing new: no second message
    await drain(runtime)

    store_ = chatwoot.emulator.store
    with store_.locked():
        conv = store_.conversation_by_display_id(
            chatwoot.emulator.account_id, conversation.conversation_id
        )
        assert conv is not None
        assignee = conv.assignee_id
        sent = [
            m.content
            for m in store_.messages_of(conv.id)
            if m.message_type == 1 and not m.private  # outgoing, seen by the client
        ]
    assert assignee == boris["id"]
    assert len(sent) == 2
    assert sent[0].startswith("Очередь для Анна закрыта на")
    assert sent[1].startswith("Ваша консультация переназначена другому менеджеру. Было: Анна.")
    assert "Стало: Борис. Вы в очереди №1" in sent[1]
