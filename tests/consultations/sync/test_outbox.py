"""The outbox runner and its admin API through PostgreSQL: order per key, failures recorded,
refusals parked for a person, "retry now", "cancel", and the ETL state view."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import select

from switchboard.consultations.models import Consultation
from switchboard.consultations.notifications.service import notify
from switchboard.consultations.sync.models import ExternalFailure, OutboxTask
from switchboard.consultations.sync.service import enqueue
from switchboard.consultations.sync.tasks import carry_out, drain
from switchboard.runtime import Runtime

OPS = "ops-test-token"


async def _consultation(runtime: Runtime, conversation_id: int | None = None) -> str:
    cons_id = str(uuid.uuid4())
    async with runtime.database.transaction() as session:
        session.add(
            Consultation(cons_id=cons_id, status="open", chatwoot_conversation_id=conversation_id)
        )
    return cons_id


async def _tasks(runtime: Runtime) -> list[OutboxTask]:
    async with runtime.database.transaction() as session:
        return list(await session.scalars(select(OutboxTask).order_by(OutboxTask.id)))


async def _failures(runtime: Runtime) -> list[ExternalFailure]:
    async with runtime.database.transaction() as session:
        return list(await session.scalars(select(ExternalFailure).order_by(ExternalFailure.id)))


async def test_a_notification_is_queued_once_however_often_it_is_seen(runtime: Runtime) -> None:
    cons_id = await _consultation(runtime, conversation_id=7)
    for _ in range(3):
        async with runtime.database.transaction() as session:
            await notify(session, cons_id=cons_id, kind="call", text="Звонок", unique={"n": 1})
    async with runtime.database.transaction() as session:
        again = await notify(session, cons_id=cons_id, kind="call", text="Звонок", unique={"n": 1})
        other = await notify(session, cons_id=cons_id, kind="call", text="Звонок", unique={"n": 2})
    assert (again, other) == (False, True)
    tasks = await _tasks(runtime)
    assert [task.operation for task in tasks] == ["chatwoot.post_message"] * 2
    assert {task.order_key for task in tasks} == {f"chatwoot:{cons_id}"}


async def test_a_rolled_back_notification_leaves_nothing_marked_sent(runtime: Runtime) -> None:
    cons_id = await _consultation(runtime, conversation_id=7)
    try:
        async with runtime.database.transaction() as session:
            await notify(session, cons_id=cons_id, kind="call", text="Звонок", unique={"n": 1})
            raise RuntimeError("the caller's change failed")
    except RuntimeError:
        pass
    async with runtime.database.transaction() as session:
        assert await notify(session, cons_id=cons_id, kind="call", text="Звонок", unique={"n": 1})


async def test_a_peer_that_is_not_configured_keeps_the_change_and_says_why(
    runtime: Runtime,
) -> None:
    # No Chatwoot in this deployment: the change is kept (pending), the attempt recorded.
    cons_id = await _consultation(runtime, conversation_id=7)
    async with runtime.database.transaction() as session:
        await notify(session, cons_id=cons_id, kind="call", text="Звонок", unique={})

    counts = await drain(runtime)

    assert counts == {"pending": 1}
    [task] = await _tasks(runtime)
    assert task.status == "pending"
    assert task.attempts == 1
    assert "chatwoot is not configured" in (task.last_error or "")
    [failure] = await _failures(runtime)
    assert failure.will_retry
    assert failure.error_kind == "PeerNotConfigured"
    # Not due again for a while: a second drain takes nothing.
    assert await drain(runtime) == {}


async def test_an_unknown_operation_is_parked_for_a_person(runtime: Runtime) -> None:
    async with runtime.database.transaction() as session:
        await enqueue(session, "onec.no_such_thing", {})
    assert await drain(runtime) == {"failed": 1}
    [task] = await _tasks(runtime)
    assert task.status == "failed"
    assert "unknown operation" in (task.last_error or "")


async def test_changes_of_one_key_wait_for_the_earlier_ones(runtime: Runtime) -> None:
    cons_id = await _consultation(runtime)
    async with runtime.database.transaction() as session:
        first = await enqueue(session, "chatwoot.no_such_thing", {}, cons_id=cons_id)
        second = await enqueue(
            session, "chatwoot.post_message", {"cons_id": cons_id}, cons_id=cons_id
        )
        other = await enqueue(session, "onec.no_such_thing", {}, cons_id=cons_id)
    assert first is not None
    assert second is not None
    assert other is not None

    # The first fails for good; the second (same key) waits behind it; 1C's key goes on.
    assert await drain(runtime) == {"failed": 2}
    tasks = {task.id: task for task in await _tasks(runtime)}
    assert tasks[second].status == "pending"
    assert tasks[second].attempts == 0


async def test_the_callers_own_tasks_run_at_once_and_the_rest_is_left_to_the_worker(
    runtime: Runtime,
) -> None:
    cons_id = await _consultation(runtime)
    async with runtime.database.transaction() as session:
        leased = await enqueue(session, "onec.no_such_thing", {}, cons_id=cons_id, lease_seconds=30)
    assert leased is not None
    # The worker does not take a task leased to the request that created it …
    assert await drain(runtime) == {}
    # … the request does.
    outcomes = await carry_out(runtime, [leased], timeout=5)
    assert outcomes[leased].status == "failed"


async def test_dedupe_key_makes_a_second_request_for_the_same_change_a_no_op(
    runtime: Runtime,
) -> None:
    async with runtime.database.transaction() as session:
        first = await enqueue(session, "onec.save_owner", {"n": 1}, dedupe_key="owner:1")
        second = await enqueue(session, "onec.save_owner", {"n": 2}, dedupe_key="owner:1")
    assert first is not None
    assert second is None


async def _admin(
    client_factory: Any, runtime_factory: Any, **settings: str
) -> tuple[Runtime, httpx.AsyncClient]:
    runtime: Runtime = await runtime_factory(**settings)
    client: httpx.AsyncClient = await client_factory(runtime)
    return runtime, client


async def test_admin_api_needs_the_ops_token_and_never_the_front_secret(
    runtime_factory: Any, client_factory: Any
) -> None:
    _, client = await _admin(client_factory, runtime_factory, OPS_TOKEN=OPS, FRONT_SECRET="front")
    assert (await client.get("/api/admin/outbox")).status_code == 401
    assert (
        await client.get("/api/admin/outbox", headers={"X-Front-Secret": "front"})
    ).status_code == 401
    ok = await client.get("/api/admin/outbox", headers={"Authorization": f"Bearer {OPS}"})
    assert ok.status_code == 200

    _, closed = await _admin(client_factory, runtime_factory, FRONT_SECRET="front")
    answer = await closed.get("/api/admin/etl", headers={"X-Front-Secret": "front"})
    assert answer.status_code == 403
    assert answer.json()["error"] == "admin_disabled"


async def test_admin_lists_failures_retries_now_and_cancels(
    runtime_factory: Any, client_factory: Any
) -> None:
    runtime, client = await _admin(client_factory, runtime_factory, OPS_TOKEN=OPS)
    client.headers["Authorization"] = f"Bearer {OPS}"
    cons_id = await _consultation(runtime)
    async with runtime.database.transaction() as session:
        stuck = await enqueue(session, "onec.no_such_thing", {"x": 1}, cons_id=cons_id)
        waiting = await enqueue(session, "onec.no_such_thing_either", {}, cons_id=cons_id)
    await drain(runtime)

    page = (await client.get("/api/admin/outbox", params={"status": "failed"})).json()
    assert [item["id"] for item in page["items"]] == [stuck]
    assert page["counts"] == {"failed": 1, "pending": 1}

    retried = await client.post(f"/api/admin/outbox/{stuck}/retry")
    assert retried.status_code == 200
    assert retried.json()["outcome"] == "failed"
    assert retried.json()["task"]["attempts"] == 2

    cancelled = await client.post(f"/api/admin/outbox/{stuck}/cancel")
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    assert (await client.post(f"/api/admin/outbox/{stuck}/cancel")).status_code == 409
    assert (await client.post(f"/api/admin/outbox/{stuck}/retry")).status_code == 409
    assert (await client.post("/api/admin/outbox/999999/retry")).status_code == 404

    # With the first one cancelled, the change that waited behind it is taken.
    assert await drain(runtime) == {"failed": 1}
    failures = (await client.get("/api/admin/outbox/failures")).json()
    assert failures["total"] == 3
    assert {item["task_id"] for item in failures["items"]} == {stuck, waiting}


async def test_etl_state_shows_runs_and_cursors(runtime_factory: Any, client_factory: Any) -> None:
    runtime, client = await _admin(client_factory, runtime_factory)
    # 1C is not configured here: the run is recorded as skipped, with the reason.
    await runtime.etl_jobs["load_dicts"].run(runtime)
    state = (await client.get("/api/admin/etl")).json()
    jobs = {job["job"]: job for job in state["jobs"]}
    assert "load_dicts" in jobs
    assert "pull_users" in jobs
    assert jobs["load_dicts"]["last_run"]["status"] == "skipped"
    assert jobs["pull_users"]["last_run"] is None
    queued = await client.post("/api/admin/etl/load_dicts/run")
    assert queued.status_code == 202
    assert queued.json() == {"job": "load_dicts", "queued": True}
    assert (await client.post("/api/admin/etl/load_dicts/run")).json()["queued"] is False
    assert (await client.post("/api/admin/etl/nope/run")).status_code == 404


async def test_old_settled_changes_and_logs_are_pruned_but_open_ones_stay(
    runtime: Runtime,
) -> None:
    from sqlalchemy import text

    from switchboard.consultations.sync.repository import prune_logs

    async with runtime.database.transaction() as session:
        old_done = await enqueue(session, "onec.a", {})
        old_failed = await enqueue(session, "onec.b", {})
        fresh_done = await enqueue(session, "onec.c", {})
        await session.execute(
            text(
                "UPDATE sys.outbox SET status = 'done', done_at = now() - interval '40 days' "
                "WHERE id = :id"
            ),
            {"id": old_done},
        )
        await session.execute(
            text(
                "UPDATE sys.outbox SET status = 'failed', created_at = now() - interval '90 days'"
                " WHERE id = :id"
            ),
            {"id": old_failed},
        )
        await session.execute(
            text("UPDATE sys.outbox SET status = 'done', done_at = now() WHERE id = :id"),
            {"id": fresh_done},
        )
        await session.execute(
            text(
                "INSERT INTO log.webhook_log (source, payload, created_at) VALUES "
                "('chatwoot', '{}', now() - interval '31 days'), ('chatwoot', '{}', now())"
            )
        )
    async with runtime.database.transaction() as session:
        assert await prune_logs(session, days=30) == 2
    assert {task.id for task in await _tasks(runtime)} == {old_failed, fresh_done}
    async with runtime.database.transaction() as session:
        assert await session.scalar(text("SELECT count(*) FROM log.webhook_log")) == 1
