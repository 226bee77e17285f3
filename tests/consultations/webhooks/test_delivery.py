"""Delivery: every payload logged, a delivery id processed once, a failed processing leaves its
log row (with why) and is processed when Chatwoot delivers again; bad bodies get a clear 4xx."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import text

from switchboard.consultations.models import Consultation
from switchboard.runtime import Runtime
from switchboard.sandbox.chatwoot.webhooks import DeliverySettings
from tests.consultations.webhooks.support import (
    WEBHOOK_PATH,
    Wired,
    add,
    consultation,
    signed_headers,
    status_history,
    webhook_log,
)


async def _execute(runtime: Runtime, *statements: str) -> None:
    async with runtime.database.transaction() as session:
        for statement in statements:
            await session.execute(text(statement))


async def _fail_status_changes(runtime: Runtime, times: int) -> None:
    """A real failure inside processing: PostgreSQL refuses the next `times` changes of a
    consultation's status (a sequence counts them; it is not rolled back with the failure)."""
    await _execute(
        runtime,
        "CREATE SEQUENCE public.webhook_test_failures",
        f"""
        CREATE FUNCTION public.webhook_test_fail() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.status IS DISTINCT FROM OLD.status
               AND nextval('public.webhook_test_failures') <= {times} THEN
                RAISE EXCEPTION 'injected failure';
            END IF;
            RETURN NEW;
        END $$
        """,
        "CREATE TRIGGER webhook_test_fail BEFORE UPDATE ON cons.cons "
        "FOR EACH ROW EXECUTE FUNCTION public.webhook_test_fail()",
    )


async def _stop_failing(runtime: Runtime) -> None:
    await _execute(
        runtime,
        "DROP TRIGGER webhook_test_fail ON cons.cons",
        "DROP FUNCTION public.webhook_test_fail()",
        "DROP SEQUENCE public.webhook_test_failures",
    )


@pytest.fixture
def quick_retries(wired: Wired) -> Iterator[DeliverySettings]:
    """The emulator's Sidekiq retries, fast (restored afterwards: the emulator is shared)."""
    dispatcher = wired.chatwoot.emulator.webhooks
    before = dispatcher.settings
    dispatcher.settings = DeliverySettings(timeout=before.timeout, retries=2, backoff=0.05)
    yield dispatcher.settings
    dispatcher.settings = before


async def _opened(wired: Wired) -> tuple[str, int]:
    conversation_id = await wired.open_conversation()
    await wired.delivered()
    row = await consultation(wired.runtime, conversation_id=conversation_id)
    assert row is not None
    return row.cons_id, conversation_id


async def test_a_redelivery_is_stored_once_and_processed_once(wired: Wired) -> None:
    cons_id, conversation_id = await _opened(wired)
    wired.chatwoot.emulator.set_status(conversation_id, "resolved")
    deliveries = await wired.delivered()
    changed = next(d for d in deliveries if d.event == "conversation_status_changed")
    # A Sidekiq retry (signed again, same delivery id) and the very same request again.
    retried = await wired.redeliver(changed)
    repeated = await wired.redeliver(changed, fresh=False)
    assert (retried.status_code, repeated.status_code) == (200, 200)
    assert retried.json()["status"] == repeated.json()["status"] == "duplicate"
    log = await webhook_log(wired.runtime)
    assert [e.delivery_id for e in log].count(changed.delivery_id) == 1
    assert len(log) == len(deliveries)
    assert await status_history(wired.runtime, cons_id) == [
        (None, "open", "chatwoot"),
        ("open", "resolved", "chatwoot"),
    ]


async def test_concurrent_copies_of_one_delivery_are_processed_once(wired: Wired) -> None:
    cons_id, conversation_id = await _opened(wired)
    body = (
        b'{"event":"conversation_status_changed","id":%d,"inbox_id":1,"status":"pending"}'
        % conversation_id
    )

    async def post() -> httpx.Response:
        headers = signed_headers(wired.secret, body, delivery_id="same-delivery")
        return await wired.app.post(WEBHOOK_PATH, content=body, headers=headers)

    answers = await asyncio.gather(*(post() for _ in range(8)))
    assert sorted(a.json()["status"] for a in answers) == ["duplicate"] * 7 + ["processed"]
    assert await status_history(wired.runtime, cons_id) == [
        (None, "open", "chatwoot"),
        ("open", "pending", "chatwoot"),
    ]


async def test_a_failure_keeps_the_log_row_with_its_outcome_and_chatwoots_retry_heals(
    wired: Wired, quick_retries: DeliverySettings
) -> None:
    cons_id, conversation_id = await _opened(wired)
    await _fail_status_changes(wired.runtime, times=1)
    try:
        wired.chatwoot.emulator.set_status(conversation_id, "resolved")
        deliveries = await wired.delivered()
    finally:
        await _stop_failing(wired.runtime)
    changed = [d for d in deliveries if d.event == "conversation_status_changed"]
    # The first attempt failed (500), Chatwoot delivered again with the same id: processed.
    assert [d.status for d in changed] == [500, 200]
    assert len({d.delivery_id for d in changed}) == 1
    (entry,) = [
        e for e in await webhook_log(wired.runtime) if e.delivery_id == changed[0].delivery_id
    ]
    assert entry.processed_at is not None
    assert entry.outcome is not None
    assert not entry.outcome.startswith("failed")
    assert await status_history(wired.runtime, cons_id) == [
        (None, "open", "chatwoot"),
        ("open", "resolved", "chatwoot"),
    ]


async def test_a_lasting_failure_leaves_the_payload_and_why_in_the_log(
    wired: Wired, quick_retries: DeliverySettings
) -> None:
    _, conversation_id = await _opened(wired)
    await _fail_status_changes(wired.runtime, times=1000)
    try:
        wired.chatwoot.emulator.set_status(conversation_id, "resolved")
        deliveries = await wired.delivered()
    finally:
        await _stop_failing(wired.runtime)
    changed = [d for d in deliveries if d.event == "conversation_status_changed"]
    assert [d.status for d in changed] == [500, 500, 500]  # the first attempt and 2 retries
    (entry,) = [
        e for e in await webhook_log(wired.runtime) if e.delivery_id == changed[0].delivery_id
    ]
    assert entry.processed_at is None
    assert entry.outcome is not None
    assert "injected failure" in entry.outcome
    assert entry.payload["status"] == "resolved"
    row = await consultation(wired.runtime, conversation_id=conversation_id)
    assert row is not None
    assert row.status == "open"
    # Once the database takes it again, the stored delivery is processed on its next delivery.
    again = await wired.redeliver(changed[0])
    assert again.json()["status"] == "processed"
    row = await consultation(wired.runtime, conversation_id=conversation_id)
    assert row is not None
    assert row.status == "resolved"


async def test_bad_bodies_get_a_clear_4xx_and_are_logged(
    unsigned: httpx.AsyncClient, unsigned_runtime: Runtime
) -> None:
    await add(
        unsigned_runtime, Consultation(cons_id="c-1", status="open", chatwoot_conversation_id=5)
    )
    json_headers = {"Content-Type": "application/json"}
    broken = await unsigned.post(WEBHOOK_PATH, content=b'{"event": "conv', headers=json_headers)
    listed = await unsigned.post(WEBHOOK_PATH, json=[{"event": "conversation_updated"}])
    nameless = await unsigned.post(WEBHOOK_PATH, json={"id": 5})
    deep = await unsigned.post(
        WEBHOOK_PATH,
        content=b'{"event":"x","a":' + b"[" * 40 + b"]" * 40 + b"}",
        headers=json_headers,
    )
    shapeless = await unsigned.post(
        WEBHOOK_PATH, json={"event": "conversation_updated", "id": "five", "meta": []}
    )
    huge = await unsigned.post(
        WEBHOOK_PATH, content=b'{"event":"x","pad":"' + b"a" * (1024 * 1024) + b'"}'
    )
    assert [r.status_code for r in (broken, listed, nameless, deep)] == [400] * 4
    assert {r.json()["error"] for r in (broken, listed, nameless, deep)} == {"webhook_malformed"}
    assert broken.json()["message"].startswith("Тело вебхука — не JSON-объект с именем события")
    assert shapeless.status_code == 422
    assert shapeless.json()["error"] == "webhook_invalid_payload"
    assert {d["field"] for d in shapeless.json()["details"]} == {"id", "meta"}
    assert huge.status_code == 413
    log = await webhook_log(unsigned_runtime)
    assert [e.outcome.split(":")[0] if e.outcome else None for e in log] == ["rejected"] * 5
    assert log[-1].event == "conversation_updated"
    assert log[-1].payload == {"event": "conversation_updated", "id": "five", "meta": []}


async def test_unknown_events_and_dot_names(
    unsigned: httpx.AsyncClient, unsigned_runtime: Runtime
) -> None:
    await add(
        unsigned_runtime, Consultation(cons_id="c-1", status="open", chatwoot_conversation_id=5)
    )
    unknown = await unsigned.post(WEBHOOK_PATH, json={"event": "contact_created", "id": 3})
    assert unknown.status_code == 200
    assert unknown.json() == {
        "status": "ignored",
        "event": "contact_created",
        "outcome": "event contact_created is not handled",
    }
    # Seed 001's dotted names, with the record wrapped in `data` as the original expected it.
    dotted = await unsigned.post(
        WEBHOOK_PATH,
        json={"event": "conversation.resolved", "data": {"conversation": {"id": 5}}},
    )
    assert dotted.json()["status"] == "processed"
    row = await consultation(unsigned_runtime, conversation_id=5)
    assert row is not None
    assert row.status == "resolved"
    nul = await unsigned.post(
        WEBHOOK_PATH,
        json={
            "event": "message_created",
            "id": 9,
            "content": "a\x00b",
            "message_type": 0,
            "conversation": {"id": 5},
        },
    )
    assert nul.json()["status"] == "processed"
    log = await webhook_log(unsigned_runtime)
    assert [e.event for e in log] == ["contact_created", "conversation_resolved", "message_created"]
    assert log[-1].payload["content"] == "a\ufffdb"


async def test_ids_beyond_our_columns_are_refused_or_unknown_never_a_server_error(
    unsigned: httpx.AsyncClient, unsigned_runtime: Runtime
) -> None:
    await add(
        unsigned_runtime, Consultation(cons_id="c-1", status="open", chatwoot_conversation_id=5)
    )
    huge_agent = await unsigned.post(
        WEBHOOK_PATH,
        json={
            "event": "conversation_updated",
            "id": 5,
            "meta": {"assignee": {"id": 2**62, "type": "user"}},
            "changed_attributes": [{"assignee_id": {"previous_value": None, "current_value": 1}}],
        },
    )
    assert huge_agent.status_code == 200
    assert huge_agent.json()["outcome"] == f"agent {2**62} is no known 1C manager; manager kept"
    huge_conversation = await unsigned.post(
        WEBHOOK_PATH, json={"event": "conversation_updated", "id": 2**40}
    )
    assert huge_conversation.status_code == 422
    odd_dates = await unsigned.post(
        WEBHOOK_PATH,
        json={
            "event": "conversation_created",
            "id": 6,
            "inbox_id": 1,
            "created_at": 1e30,
            "custom_attributes": {"date_con": "0001-01-01T00:00:00+05:00"},
        },
    )
    assert odd_dates.status_code == 200
    row = await consultation(unsigned_runtime, conversation_id=6)
    assert row is not None
    assert row.start_date is None
    assert row.create_date is not None
