"""Durable jobs: transactional enqueue, singleton locks, retries with backoff, schedules."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import procrastinate
import psycopg
import pytest
from sqlalchemy import text

from switchboard.core.db import Database
from switchboard.core.http.errors import PeerRejected, PeerUnavailable
from switchboard.core.jobs import (
    AlreadyRunning,
    BackoffRetry,
    Requirement,
    configure_job,
    create_job_app,
    defer_in_transaction,
    defer_unless_queued,
    etl_task,
    exclusive,
    lock_is_free,
    lock_key,
    singleton,
)
from switchboard.domains import blueprints

blueprint = procrastinate.Blueprint()
spans: list[tuple[int, float, float]] = []


@blueprint.task(**singleton("test.slow_singleton"))
async def slow_singleton(n: int) -> None:
    started = time.monotonic()
    await asyncio.sleep(0.3)
    spans.append((n, started, time.monotonic()))


@blueprint.task(name="test.peer_down", retry=BackoffRetry(max_attempts=3, base_seconds=30))
async def peer_down() -> None:
    raise PeerUnavailable("onec", "connection refused")


@blueprint.task(name="test.peer_refused", retry=BackoffRetry(max_attempts=3))
async def peer_refused() -> None:
    raise PeerRejected("onec", "bad request")


@blueprint.task(name="test.noop")
async def noop() -> None:
    return None


@pytest.fixture
async def app(clean_database: str) -> AsyncIterator[procrastinate.App]:
    spans.clear()
    job_app = create_job_app(clean_database, [blueprint])
    async with job_app.open_async():
        yield job_app


async def _jobs(app: procrastinate.App, task_name: str) -> list[dict[str, Any]]:
    rows = await app.connector.execute_query_all_async(
        "SELECT id, status::text AS status, attempts, scheduled_at FROM procrastinate_jobs "
        "WHERE task_name = %(name)s ORDER BY id",
        name=task_name,
    )
    return list(rows)


async def _run_until_idle(app: procrastinate.App, concurrency: int = 1) -> None:
    await asyncio.wait_for(
        app.run_worker_async(concurrency=concurrency, wait=False, install_signal_handlers=False),
        timeout=20,
    )


async def test_enqueue_in_a_rolled_back_transaction_leaves_no_job(
    app: procrastinate.App, database: Database
) -> None:
    with pytest.raises(RuntimeError):
        async with database.transaction() as session:
            await session.execute(text("SELECT 1"))
            await defer_in_transaction(session, app, noop)
            raise RuntimeError("the business change failed")
    assert await _jobs(app, "test.noop") == []
    async with database.transaction() as session:
        await defer_in_transaction(session, app, noop)
        assert await _jobs(app, "test.noop") == []  # not visible before commit
    assert [job["status"] for job in await _jobs(app, "test.noop")] == ["todo"]


async def test_a_singleton_waits_once_and_never_runs_twice_at_once_across_workers(
    app: procrastinate.App, clean_database: str
) -> None:
    assert await defer_unless_queued(app, slow_singleton, n=1)
    assert not await defer_unless_queued(app, slow_singleton, n=2)  # one is already waiting
    # Two workers (each could run several jobs at once) share the queue, as on two hosts.
    other = create_job_app(clean_database, [blueprint])
    async with other.open_async():
        workers = [
            asyncio.create_task(
                job_app.run_worker_async(concurrency=2, wait=True, install_signal_handlers=False)
            )
            for job_app in (app, other)
        ]
        await asyncio.sleep(0.1)
        # Another copy arrives while the first is running: it waits for it, on either worker.
        assert await defer_unless_queued(app, slow_singleton, n=2)
        assert not await defer_unless_queued(app, slow_singleton, n=3)
        deadline = time.monotonic() + 10
        while len(spans) < 2 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        for worker in workers:
            worker.cancel()
        for worker in workers:
            with pytest.raises(asyncio.CancelledError):
                await worker
    assert [n for n, _, _ in spans] == [1, 2]
    (_, _, first_end), (_, second_start, _) = spans
    assert second_start >= first_end


async def test_a_peer_outage_is_retried_later_with_backoff(app: procrastinate.App) -> None:
    await configure_job(app, peer_down).defer_async()
    await _run_until_idle(app)
    (job,) = await _jobs(app, "test.peer_down")
    assert job["status"] == "todo"
    assert job["attempts"] == 1
    wait = (job["scheduled_at"] - (await _now(app))).total_seconds()
    assert 10 <= wait <= 40  # base 30 s with jitter between half and full


async def test_a_refusal_is_not_retried_and_stays_visible_as_failed(app: procrastinate.App) -> None:
    await configure_job(app, peer_refused).defer_async()
    await _run_until_idle(app)
    (job,) = await _jobs(app, "test.peer_refused")
    assert job["status"] == "failed"


async def _now(app: procrastinate.App) -> Any:
    row = await app.connector.execute_query_one_async("SELECT now() AS now")
    return row["now"]


def test_schedules_are_declared_in_code() -> None:
    job_app = create_job_app("postgresql://unused/db", blueprints())
    schedules = {
        periodic.task.name: periodic.cron
        for periodic in job_app.periodic_registry.periodic_tasks.values()
    }
    assert schedules["etl.load_dicts"] == "*/15 * * * *"
    assert schedules["etl.pull_users"] == "0 3 * * *"
    for name in ("etl.load_dicts", "etl.pull_users"):
        task = job_app.tasks[name]
        assert task.lock == name
        assert task.queueing_lock == name


async def test_a_period_is_deferred_once_whatever_the_number_of_workers(
    clean_database: str,
) -> None:
    apps = [create_job_app(clean_database, blueprints()) for _ in range(3)]
    timestamp = int(time.time()) // 900 * 900
    job_ids = []
    for job_app in apps:
        async with job_app.open_async():
            job_ids.append(
                await job_app.job_manager.defer_periodic_job(
                    job=configure_job(
                        job_app,
                        job_app.tasks["etl.load_dicts"],
                        task_kwargs={"timestamp": timestamp},
                    ).job,
                    periodic_id="quarter-hourly",
                    defer_timestamp=timestamp,
                )
            )
    assert sum(1 for job_id in job_ids if job_id is not None) == 1


def test_the_users_pull_runs_at_three_utc_whatever_the_local_zone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import datetime

    monkeypatch.setenv("TZ", "Asia/Tashkent")
    time.tzset()
    try:
        job_app = create_job_app("postgresql://unused/db", blueprints())
        (periodic,) = [
            p
            for p in job_app.periodic_registry.periodic_tasks.values()
            if p.task.name == "etl.pull_users"
        ]
        start = datetime.datetime(2026, 11, 22, 12, 0, tzinfo=datetime.UTC).timestamp()
        following = periodic.croniter.get_next(ret_type=float, start_time=start)
        assert datetime.datetime.fromtimestamp(following, datetime.UTC) == datetime.datetime(
            2026, 11, 23, 3, 0, tzinfo=datetime.UTC
        )
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


etl_blueprint = procrastinate.Blueprint()
etl_runs: list[object] = []
x_configured = {"value": False}


async def _sample_body(runtime: Any) -> dict[str, Any]:
    etl_runs.append(runtime)
    return {"loaded": 1}


SAMPLE = etl_task(
    etl_blueprint,
    "sample",
    cron="*/5 * * * *",
    periodic_id="every-5-min",
    requires=Requirement(met=lambda runtime: x_configured["value"], missing="X is not configured"),
)(_sample_body)


def test_an_etl_job_is_one_declaration() -> None:
    job_app = create_job_app("postgresql://unused/db", [etl_blueprint])
    task = job_app.tasks["etl.sample"]
    assert SAMPLE.task is etl_blueprint.tasks["etl.sample"]
    assert (task.lock, task.queueing_lock) == ("etl.sample", "etl.sample")
    assert isinstance(task.retry_strategy, BackoffRetry)
    (periodic,) = job_app.periodic_registry.periodic_tasks.values()
    assert (periodic.task.name, periodic.cron) == ("etl.sample", "*/5 * * * *")


async def test_an_etl_job_skips_when_unconfigured_and_runs_alone_when_configured(
    runtime: Any, clean_database: str
) -> None:
    etl_runs.clear()
    x_configured["value"] = False
    assert await SAMPLE.run(runtime) == {"skipped": "X is not configured"}
    assert etl_runs == []
    x_configured["value"] = True
    try:
        async with exclusive(clean_database, "etl.sample"):  # a copy runs elsewhere
            with pytest.raises(AlreadyRunning):
                await SAMPLE.run(runtime, wait=False)
            waiting = asyncio.create_task(SAMPLE.run(runtime, wait=True))
            await asyncio.sleep(0.3)
            assert not waiting.done()
        assert await asyncio.wait_for(waiting, timeout=5) == {"loaded": 1}
    finally:
        x_configured["value"] = False
    assert etl_runs == [runtime]


async def test_the_exclusive_lock_is_cluster_wide_and_dies_with_its_holder(
    clean_database: str,
) -> None:
    assert await lock_is_free(clean_database, "work")
    async with exclusive(clean_database, "work"):
        assert not await lock_is_free(clean_database, "work")
        assert await lock_is_free(clean_database, "other work")
        with pytest.raises(AlreadyRunning, match="a copy of work is already running"):
            async with exclusive(clean_database, "work"):
                pass
    assert await lock_is_free(clean_database, "work")
    # A holder whose connection dies (its process killed) frees the lock.
    holder = await psycopg.AsyncConnection.connect(clean_database, autocommit=True)
    await holder.execute("SELECT pg_advisory_lock(%s)", (lock_key("work"),))
    assert not await lock_is_free(clean_database, "work")
    await holder.close()
    assert await lock_is_free(clean_database, "work")
