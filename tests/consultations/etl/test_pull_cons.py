"""`pull_cons_cl`, its `open_update` mode and `pull_all_cons_cl` against the 1C emulator and
PostgreSQL: what lands in `cons.cons`, the cursor, resuming, and what Chatwoot and the client
are told (only of real changes, each once)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import pytest

from switchboard.consultations.etl.tasks import (
    PULL_ALL_CONS,
    PULL_CONS,
    PULL_CONS_OPEN_UPDATE,
)
from switchboard.consultations.models import ACCOUNTING, Client
from switchboard.consultations.sync.service import enqueue
from switchboard.consultations.sync.tasks import drain
from switchboard.core.http.errors import PeerUnavailable
from switchboard.integrations.ports import ContactCard
from switchboard.runtime import Runtime
from switchboard.sandbox.faults import Fault
from switchboard.sandbox.pytest_plugin import RunningChatwoot, RunningOneC
from tests.consultations.etl.support import (
    CONSULTED,
    CONTRACTORS,
    DOCUMENTS,
    UZ,
    add_booked,
    add_manager,
    consultations,
    cursor,
    document,
    filters,
    key,
    lines,
    local,
    messages,
    notification_count,
    now,
    outbox,
    put_documents,
    row_versions,
    subscriber,
    ukey,
)


async def _runtime(runtime_factory: Any, onec: RunningOneC, **settings: Any) -> Runtime:
    runtime: Runtime = await runtime_factory(**onec.settings(), **settings)
    return runtime


def _base(onec: RunningOneC) -> None:
    onec.emulator.store.load(
        {
            CONTRACTORS: [
                subscriber("romashka"),
                subscriber("lutik"),
                subscriber("stranger", ours=False),
            ]
        }
    )


async def test_first_run_stores_our_clients_documents_with_their_questions(
    onec: RunningOneC, runtime_factory: Any
) -> None:
    _base(onec)
    moment = now()
    put_documents(
        onec,
        document("d1", "romashka", changed=moment - timedelta(days=3)),
        document(
            "d2",
            "lutik",
            changed=moment - timedelta(days=2),
            kind=CONSULTED,
            end=moment - timedelta(days=2, hours=-1),
            its=[("Как закрыть месяц?", "Через обработку закрытия месяца")],
            answers=[("Где отчёт?", "В разделе Отчёты")],
            lang=UZ,
        ),
        document("d3", "romashka", changed=moment - timedelta(days=1), denied=True),
        document("foreign", "stranger", changed=moment - timedelta(days=1)),
    )
    runtime = await _runtime(runtime_factory, onec)
    async with runtime.database.transaction() as session:
        session.add(
            Client(
                client_id=uuid.uuid4(),
                is_parent=True,
                name="Ромашка",
                cl_ref_key=ukey("romashka"),
            )
        )

    report = await PULL_CONS.run(runtime)

    assert (report["received"], report["inserted"], report["updated"]) == (3, 3, 0)
    rows = await consultations(runtime)
    assert set(rows) == {ukey("d1"), ukey("d2"), ukey("d3")}  # not the other subscriber's
    d1, d2, d3 = rows[ukey("d1")], rows[ukey("d2")], rows[ukey("d3")]
    assert d1.cons_id == f"cl_{key('d1')}"
    assert (d1.source, d1.consultation_type, d1.status) == ("ONEC", ACCOUNTING, "pending")
    assert d1.client_key == ukey("romashka")
    assert d1.client_id is not None
    assert d1.manager == ukey("manager-a")
    assert (d2.status, d2.lang, d2.client_id) == ("closed", "uz", None)
    assert d3.status == "cancelled"
    assert d3.denied is True
    assert await lines(runtime, d2.cons_id) == [
        (1, "Через обработку закрытия месяца"),
        (1001, "В разделе Отчёты"),
    ]
    assert await cursor(runtime, "cons") == moment - timedelta(days=1)
    # Documents made in 1C have no chat: nothing is queued, nobody is told.
    assert await outbox(runtime) == []


async def test_the_cursor_starts_at_the_setting_then_looks_back_seven_days_and_never_past_now(
    onec: RunningOneC, runtime_factory: Any
) -> None:
    _base(onec)
    moment = now()
    old = document("old", "romashka", changed=moment - timedelta(days=20))
    recent = document("recent", "romashka", changed=moment - timedelta(days=3))
    # A base whose clock runs ahead: the cursor must not follow it into the future.
    ahead = document("ahead", "lutik", changed=moment + timedelta(days=2))
    put_documents(onec, old, recent, ahead)
    first_day = (moment - timedelta(days=40)).date()
    runtime = await _runtime(runtime_factory, onec, ETL_INITIAL_FROM_DATE=first_day.isoformat())

    report = await PULL_CONS.run(runtime)

    assert report["inserted"] == 3
    saved = await cursor(runtime, "cons")
    assert saved is not None
    assert moment <= saved < moment + timedelta(minutes=5)
    assert (
        f"ДатаИзменения ge datetime'{first_day.isoformat()}T05:00:00'"
        in filters(onec, DOCUMENTS)[0]
    )

    # 1C changes two documents without a newer ДатаИзменения (a late commit): the one within the
    # 7-day look-back is read again, the one before it is not.
    put_documents(
        onec,
        {**old, "Менеджер_Key": key("manager-b")},
        {**recent, "Менеджер_Key": key("manager-b")},
    )
    onec.emulator.journal.clear()

    report = await PULL_CONS.run(runtime)

    assert (
        f"ДатаИзменения ge datetime'{local(saved - timedelta(days=7))}'"
        in filters(onec, DOCUMENTS)[0]
    )
    rows = await consultations(runtime)
    assert rows[ukey("recent")].manager == ukey("manager-b")
    assert rows[ukey("old")].manager == ukey("manager-a")
    assert report["updated"] == 1


async def test_terminal_statuses_are_kept_while_the_rest_follows_1c(
    onec: RunningOneC, runtime_factory: Any
) -> None:
    _base(onec)
    moment = now()
    runtime = await _runtime(runtime_factory, onec)
    closed = await add_booked(runtime, "closed", status="closed", conversation_id=11)
    cancelled = await add_booked(runtime, "cancelled", status="cancelled", conversation_id=12)
    resolved = await add_booked(runtime, "resolved", status="resolved", conversation_id=13)
    put_documents(
        onec,
        *(
            document(name, "romashka", changed=moment - timedelta(hours=1), number=f"N-{name}")
            for name in ("closed", "cancelled", "resolved")
        ),
    )

    await PULL_CONS.run(runtime)

    rows = await consultations(runtime)
    assert {
        rows[ukey(n)].cons_id: rows[ukey(n)].status for n in ("closed", "cancelled", "resolved")
    } == {
        closed: "closed",
        cancelled: "cancelled",
        resolved: "resolved",
    }
    assert rows[ukey("closed")].number == "N-closed"
    # The number is news for Chatwoot; the status is not (it did not change).
    assert {op for op, _ in await outbox(runtime)} == {"chatwoot.set_attributes"}


async def test_a_run_killed_half_way_resumes_from_its_last_saved_page(
    onec: RunningOneC, runtime_factory: Any
) -> None:
    _base(onec)
    moment = now()
    put_documents(
        onec,
        document("p1", "romashka", changed=moment - timedelta(days=60)),
        document("p2", "romashka", changed=moment - timedelta(days=50)),
        document("p3", "lutik", changed=moment - timedelta(days=5)),
        document("p4", "lutik", changed=moment - timedelta(days=4)),
        document("p5", "lutik", changed=moment - timedelta(days=3)),
    )
    first_day = (moment - timedelta(days=90)).date().isoformat()
    runtime = await _runtime(
        runtime_factory,
        onec,
        ODATA_PAGE_SIZE=2,
        ODATA_DOCUMENT_PAGE_SIZE=2,
        ETL_INITIAL_FROM_DATE=first_day,
    )
    # The first page is served; then 1C goes down for good.
    onec.emulator.faults.add(Fault(path=f"*/{DOCUMENTS}", status=503, after=1))

    with pytest.raises(PeerUnavailable):
        await PULL_CONS.run(runtime)

    assert set(await consultations(runtime)) == {ukey("p1"), ukey("p2")}
    saved = await cursor(runtime, "cons")
    assert saved == moment - timedelta(days=50)

    onec.emulator.faults.clear()
    onec.emulator.journal.clear()
    report = await PULL_CONS.run(runtime)

    # The rerun starts from the saved page (minus the look-back), not from the beginning.
    assert f"datetime'{local(saved - timedelta(days=7))}'" in filters(onec, DOCUMENTS)[0]
    assert report["received"] == 4  # p2 (within the look-back) and the three it had not reached
    assert len(await consultations(runtime)) == 5
    assert await cursor(runtime, "cons") == moment - timedelta(days=3)


async def test_a_second_run_writes_nothing_queues_nothing_and_tells_nobody(
    onec: RunningOneC, runtime_factory: Any
) -> None:
    _base(onec)
    moment = now()
    runtime = await _runtime(runtime_factory, onec, ODATA_PAGE_SIZE=2, ODATA_DOCUMENT_PAGE_SIZE=2)
    await add_manager(runtime, "manager-a", "Алишер Каримов")
    await add_manager(runtime, "manager-b", "Дилноза Юсупова")
    await add_booked(runtime, "booked", manager="manager-a")
    put_documents(
        onec,
        document("booked", "romashka", changed=moment - timedelta(hours=2), manager="manager-b"),
        document(
            "with-lines",
            "lutik",
            changed=moment - timedelta(hours=1),
            kind=CONSULTED,
            end=moment - timedelta(minutes=30),
            its=[("Вопрос", "Ответ")],
        ),
        document("deleted", "lutik", changed=moment - timedelta(minutes=5), deleted=True),
    )
    first = await PULL_CONS.run(runtime)
    assert first["inserted"] == 2
    assert first["updated"] == 1
    assert first["notified"] == 1
    before = await row_versions(runtime)

    second = await PULL_CONS.run(runtime)

    assert (second["inserted"], second["updated"], second["notified"]) == (0, 0, 0)
    assert second["received"] == 3
    assert await row_versions(runtime) == before


async def test_a_manager_changed_in_1c_is_assigned_in_chatwoot_and_the_client_told_once(
    onec: RunningOneC, chatwoot: RunningChatwoot, runtime_factory: Any
) -> None:
    _base(onec)
    moment = now()
    runtime = await _runtime(runtime_factory, onec, **chatwoot.settings())
    agent = chatwoot.emulator.add_agent("Дилноза Юсупова", "dilnoza@example.uz")
    await add_manager(runtime, "manager-a", "Алишер Каримов")
    await add_manager(runtime, "manager-b", "Дилноза Юсупова", chatwoot_user_id=agent["id"])
    chat = runtime.adapters.chat
    assert chat is not None
    contact = await chat.ensure_contact(ContactCard(identifier=str(uuid.uuid4()), name="Алишер"))
    conversation = await chat.open_conversation(contact, reference="booked", attributes={})
    booked = await add_booked(
        runtime,
        "booked",
        manager="manager-a",
        lang="uz",
        conversation_id=conversation.conversation_id,
    )
    put_documents(
        onec,
        document(
            "booked",
            "romashka",
            changed=moment - timedelta(minutes=10),
            manager="manager-b",
            kind=CONSULTED,
            start=moment + timedelta(days=1),
            lang=UZ,
        ),
    )

    report = await PULL_CONS.run(runtime)

    row = (await consultations(runtime))[ukey("booked")]
    assert (row.manager, row.status) == (ukey("manager-b"), "open")
    assert (report["chat_tasks"], report["notified"]) == (2, 1)
    # pending → open is "open" in Chatwoot both times: no status change is sent.
    assert [operation for operation, _ in await outbox(runtime)] == [
        "chatwoot.set_attributes",
        "chatwoot.assign",
        "chatwoot.post_message",
    ]
    text = "Menejer almashtirildi. Avval: Алишер Каримов. Endi: Дилноза Юсупова."
    assert await messages(runtime) == [(booked, text)]

    assert await drain(runtime) == {"done": 3}
    emulator = chatwoot.emulator
    seen = emulator.store.conversation_by_display_id(
        emulator.account_id, conversation.conversation_id
    )
    assert seen is not None
    assert seen.assignee_id == agent["id"]
    posted = [m for m in emulator.store.messages_of(seen.id) if not m.private]
    assert [m.content for m in posted if m.content == text] == [text]

    await PULL_CONS.run(runtime)
    assert len(await outbox(runtime)) == 3
    assert await notification_count(runtime) == 1


async def test_a_row_with_a_change_owed_to_1c_is_not_overwritten_by_the_older_1c_state(
    onec: RunningOneC, runtime_factory: Any
) -> None:
    _base(onec)
    moment = now()
    runtime = await _runtime(runtime_factory, onec)
    booked = await add_booked(runtime, "booked", manager="manager-b")
    async with runtime.database.transaction() as session:
        await enqueue(session, "onec.update_consultation", {"cons_id": booked}, cons_id=booked)
    put_documents(onec, document("booked", "romashka", changed=moment - timedelta(minutes=1)))

    report = await PULL_CONS.run(runtime)

    assert report["skipped"] == 1
    assert (await consultations(runtime))[ukey("booked")].manager == ukey("manager-b")


async def test_a_document_deleted_in_1c_cancels_the_consultation_and_tells_the_client(
    onec: RunningOneC, runtime_factory: Any
) -> None:
    _base(onec)
    moment = now()
    runtime = await _runtime(runtime_factory, onec)
    booked = await add_booked(runtime, "booked")
    put_documents(
        onec, document("booked", "romashka", changed=moment - timedelta(minutes=1), deleted=True)
    )

    await PULL_CONS.run(runtime)

    assert (await consultations(runtime))[ukey("booked")].status == "cancelled"
    assert ("chatwoot.set_status", {"cons_id": booked, "status": "resolved"}) in await outbox(
        runtime
    )
    assert await messages(runtime) == [(booked, "Заявка была удалена в системе.")]


async def test_open_update_rereads_live_consultations_and_cancels_those_gone_from_1c(
    onec: RunningOneC, runtime_factory: Any
) -> None:
    _base(onec)
    moment = now()
    runtime = await _runtime(runtime_factory, onec, ETL_CONS_REF_KEY_BATCH_SIZE=2)
    await add_manager(runtime, "manager-a", "Алишер Каримов")
    live = await add_booked(runtime, "live", manager="manager-a", conversation_id=21)
    gone = await add_booked(runtime, "gone", conversation_id=22)
    await add_booked(runtime, "finished", status="closed", conversation_id=23)
    pending = await add_booked(runtime, "not-yet-in-1c", conversation_id=None)
    async with runtime.database.transaction() as session:
        await enqueue(session, "onec.create_consultation", {"cons_id": pending}, cons_id=pending)
    # A document changed long ago (outside any incremental window) still is re-read by key.
    put_documents(
        onec,
        document("live", "romashka", changed=moment - timedelta(days=90), manager="manager-b"),
    )

    report = await PULL_CONS_OPEN_UPDATE.run(runtime)

    assert report["asked"] == 2  # live and gone: not the finished one, not the one still owed
    rows = await consultations(runtime)
    assert rows[ukey("live")].manager == ukey("manager-b")
    assert rows[ukey("gone")].status == "cancelled"
    assert rows[ukey("finished")].status == "closed"
    assert rows[ukey("not-yet-in-1c")].status == "pending"
    assert ("chatwoot.set_status", {"cons_id": gone, "status": "resolved"}) in await outbox(runtime)
    assert await messages(runtime) == [
        (live, "Менеджер переназначен. Было: Алишер Каримов. Стало: другой менеджер."),
        (gone, "Заявка была удалена в системе."),
    ]

    again = await PULL_CONS_OPEN_UPDATE.run(runtime)
    assert (again["updated"], again["notified"], again["asked"]) == (0, 0, 1)


async def test_all_subscribers_share_our_rows_and_keep_theirs_apart(
    onec: RunningOneC, runtime_factory: Any
) -> None:
    _base(onec)
    moment = now()
    put_documents(
        onec,
        document("ours", "romashka", changed=moment - timedelta(hours=3)),
        document("theirs", "stranger", changed=moment - timedelta(hours=2)),
    )
    runtime = await _runtime(runtime_factory, onec)
    await PULL_CONS.run(runtime)

    report = await PULL_ALL_CONS.run(runtime)

    rows = await consultations(runtime)
    assert len(rows) == 2
    assert rows[ukey("ours")].cons_id == f"cl_{key('ours')}"
    assert rows[ukey("theirs")].cons_id == f"cl_all_{key('theirs')}"
    assert (report["received"], report["inserted"], report["updated"]) == (2, 1, 0)
    assert await cursor(runtime, "Document_ТелефонныйЗвонок_ALL") == moment - timedelta(hours=2)
    assert await cursor(runtime, "cons") == moment - timedelta(hours=3)

    # Another subscriber's consultation changes manager: counted for the queue, nobody told.
    put_documents(
        onec,
        document("theirs", "stranger", changed=moment - timedelta(hours=1), manager="manager-b"),
    )
    report = await PULL_ALL_CONS.run(runtime)
    assert report["updated"] == 1
    assert (await consultations(runtime))[ukey("theirs")].manager == ukey("manager-b")
    assert await outbox(runtime) == []


async def test_two_runtimes_running_the_job_at_once_tell_the_client_once(
    onec: RunningOneC, runtime_factory: Any
) -> None:
    _base(onec)
    moment = now()
    first = await _runtime(runtime_factory, onec)
    second = await _runtime(runtime_factory, onec)
    await add_booked(first, "booked", manager="manager-a")
    put_documents(
        onec, document("booked", "romashka", changed=moment, manager="manager-b", deleted=True)
    )

    reports = await asyncio.gather(PULL_CONS.run(first), PULL_CONS.run(second))

    assert sorted(report["notified"] for report in reports) == [0, 2]
    assert await notification_count(first) == 2  # the reassignment and the deletion, once each


async def test_reading_every_subscriber_first_never_takes_our_document_for_theirs(
    onec: RunningOneC, runtime_factory: Any
) -> None:
    _base(onec)
    moment = now()
    put_documents(
        onec,
        document("ours", "romashka", changed=moment - timedelta(hours=3)),
        document("theirs", "stranger", changed=moment - timedelta(hours=2)),
    )
    runtime = await _runtime(runtime_factory, onec)

    # The read of every subscriber runs before the read of our clients ever completed: it
    # cannot tell whose the documents are, so it leaves them (and its cursor) for later.
    early = await PULL_ALL_CONS.run(runtime)

    assert (early["received"], early["inserted"], early["skipped"]) == (2, 0, 2)
    assert await consultations(runtime) == {}
    assert await cursor(runtime, "Document_ТелефонныйЗвонок_ALL") is None

    await PULL_CONS.run(runtime)
    later = await PULL_ALL_CONS.run(runtime)

    assert later["inserted"] == 1
    rows = await consultations(runtime)
    assert {row.cons_id for row in rows.values()} == {
        f"cl_{key('ours')}",
        f"cl_all_{key('theirs')}",
    }
