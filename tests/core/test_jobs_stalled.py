"""A worker killed with `kill -9` in the middle of `etl.load_dicts` does not stop the loads.

Real worker processes (`python -m switchboard worker`) against the real database and the 1C
emulator, made slow so that the job is mid-flight when the worker dies.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest

from switchboard.consultations.dictionaries.tasks import load_dicts
from switchboard.core.jobs import create_job_app, defer_unless_queued
from switchboard.domains import blueprints
from switchboard.sandbox.faults import Fault
from switchboard.sandbox.pytest_plugin import RunningOneC
from tests.consultations.dictionaries.catalogs import catalogs
from tests.servers import platform_env, switchboard_process

pytestmark = pytest.mark.slow

STALLED_AFTER = 2.0
CHECK_EVERY = 1.0
#: procrastinate's worker looks for new jobs at least this often (when no NOTIFY wakes it).
FETCH_POLL = 5.0
#: The documented bound (docs/operations.md): stalled-after + check period + one poll, plus the
#: time a worker needs to start and the load itself takes on this machine.
NEXT_LOAD_WITHIN = STALLED_AFTER + CHECK_EVERY + FETCH_POLL + 20


def _jobs(database_url: str, task: str = "etl.load_dicts") -> list[dict[str, Any]]:
    with psycopg.connect(database_url) as connection:
        rows = connection.execute(
            "SELECT id, status::text, attempts FROM procrastinate_jobs WHERE task_name = %s "
            "ORDER BY id",
            (task,),
        ).fetchall()
    return [{"id": i, "status": s, "attempts": a} for i, s, a in rows]


def _po_types(database_url: str) -> int:
    with psycopg.connect(database_url) as connection:
        row = connection.execute("SELECT count(*) FROM dict.po_types").fetchone()
    return int(row[0]) if row else 0


def _wait(what: str, predicate: Any, timeout: float, *logs: Path) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if predicate():
            return time.monotonic() - started
        time.sleep(0.1)
    shown = "".join(
        f"\n--- {log.name} (end) ---\n{log.read_text(errors='replace')[-4000:]}"
        for log in logs
        if log.exists()
    )
    raise AssertionError(f"timed out after {timeout} s waiting for {what}{shown}")


def _defer_load(database_url: str) -> bool:
    async def defer() -> bool:
        app = create_job_app(database_url, blueprints())
        async with app.open_async():
            return await defer_unless_queued(app, load_dicts)

    return asyncio.run(defer())


def _schedule_already_queued_this_quarter(database_url: str) -> None:
    """As if the schedule had queued (and run) this quarter hour's load already: no worker queues
    it when it starts. Workers race their start-up queueing against taking the test's own copy,
    and a copy queued by the schedule would change what the dead job finds."""
    quarter_start = int(time.time() // 900 * 900)
    with psycopg.connect(database_url, autocommit=True) as connection:
        connection.execute(
            "INSERT INTO procrastinate_periodic_defers (task_name, periodic_id, defer_timestamp) "
            "VALUES ('etl.load_dicts', %s, %s) ON CONFLICT DO NOTHING",
            ("quarter-hourly", quarter_start),  # the periodic_id of etl.load_dicts
        )


def _away_from_a_quarter_hour() -> None:
    """Each worker queues the latest quarter-hour's load when it starts; a tick during the test
    would add a copy the scenario does not expect, so start well after one."""
    seconds_into_quarter = time.time() % 900
    if seconds_into_quarter > 840:
        time.sleep(900 - seconds_into_quarter + 1)


@contextmanager
def _worker(
    database_url: str, onec: RunningOneC, log: Path, **extra: str
) -> Iterator[subprocess.Popen[bytes]]:
    env = platform_env(
        database_url, **onec.settings(), HTTP_TIMEOUT_SECONDS="90", LOG_LEVEL="INFO", **extra
    )
    with switchboard_process(
        "worker",
        "--concurrency",
        "2",
        "--stalled-after",
        str(STALLED_AFTER),
        "--stalled-check-every",
        str(CHECK_EVERY),
        env=env,
        log=log,
    ) as process:
        yield process


@pytest.fixture
def slow_1c(onec: RunningOneC) -> RunningOneC:
    onec.emulator.store.load(catalogs())
    # Long enough that the job is surely mid-flight when the worker dies.
    onec.emulator.faults.add(Fault(path="*Catalog_*", method="GET", latency=60))
    return onec


def _start_mid_flight(
    database_url: str, onec: RunningOneC, stack: ExitStack, log: Path
) -> tuple[subprocess.Popen[bytes], int]:
    assert _defer_load(database_url)
    worker = stack.enter_context(_worker(database_url, onec, log))
    _wait(
        "the load to be running and waiting for 1C",
        lambda: (
            any(j["status"] == "doing" for j in _jobs(database_url))
            and onec.emulator.journal.matching("GET", "*Catalog_*")
        ),
        60,
    )
    (running,) = [j["id"] for j in _jobs(database_url) if j["status"] == "doing"]
    return worker, running


def test_a_worker_killed_mid_load_does_not_stop_the_loads(
    clean_database: str, slow_1c: RunningOneC, tmp_path: Path
) -> None:
    _away_from_a_quarter_hour()
    with ExitStack() as stack:
        first, dead_job = _start_mid_flight(clean_database, slow_1c, stack, tmp_path / "a.log")
        # A restart with load-on-start (or the schedule) queues another copy meanwhile.
        _defer_load(clean_database)
        waiting = [j for j in _jobs(clean_database) if j["status"] == "todo"]
        assert len(waiting) == 1

        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        slow_1c.emulator.faults.clear()
        killed_at = time.monotonic()
        second = stack.enter_context(_worker(clean_database, slow_1c, tmp_path / "b.log"))

        def loaded() -> bool:
            done = [j for j in _jobs(clean_database) if j["status"] == "succeeded"]
            return bool(done) and _po_types(clean_database) == 2

        _wait("the next load", loaded, NEXT_LOAD_WITHIN, tmp_path / "a.log", tmp_path / "b.log")
        took = time.monotonic() - killed_at
        assert second.poll() is None, "the new worker must keep running"

    jobs = {j["id"]: j for j in _jobs(clean_database)}
    # The dead copy is closed (a copy was already waiting), not left `doing` holding the lock.
    assert jobs[dead_job]["status"] == "failed"
    assert [j["status"] for j in jobs.values() if j["id"] != dead_job] == ["succeeded"]
    assert took < NEXT_LOAD_WITHIN
    log = (tmp_path / "b.log").read_text()
    assert "another copy is waiting to run" in log
    assert "UniqueViolation" not in log


def test_a_job_killed_with_nothing_waiting_is_queued_again_and_completes(
    clean_database: str, slow_1c: RunningOneC, tmp_path: Path
) -> None:
    _away_from_a_quarter_hour()
    # Nothing but the killed job: no copy of this quarter hour's load from the schedule.
    _schedule_already_queued_this_quarter(clean_database)
    with ExitStack() as stack:
        first, dead_job = _start_mid_flight(clean_database, slow_1c, stack, tmp_path / "a.log")
        assert [j["status"] for j in _jobs(clean_database)] == ["doing"]
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        slow_1c.emulator.faults.clear()
        stack.enter_context(_worker(clean_database, slow_1c, tmp_path / "b.log"))
        _wait(
            "the killed job to run again",
            lambda: {j["id"]: j["status"] for j in _jobs(clean_database)}[dead_job] == "succeeded",
            NEXT_LOAD_WITHIN,
            tmp_path / "a.log",
            tmp_path / "b.log",
        )
    assert _po_types(clean_database) == 2
    assert "stalled job queued again" in (tmp_path / "b.log").read_text()


def test_a_job_whose_worker_is_silent_but_alive_is_not_started_twice(
    clean_database: str, slow_1c: RunningOneC, tmp_path: Path
) -> None:
    """A frozen worker (no heartbeat, but its connections and its lock alive) keeps its job."""
    _away_from_a_quarter_hour()
    slow_1c.emulator.faults.clear()
    slow_1c.emulator.faults.add(Fault(path="*Catalog_*", method="GET", latency=25))
    with ExitStack() as stack:
        first, job = _start_mid_flight(clean_database, slow_1c, stack, tmp_path / "a.log")
        os.kill(first.pid, signal.SIGSTOP)
        frozen_at = time.monotonic()
        try:
            stack.enter_context(_worker(clean_database, slow_1c, tmp_path / "b.log"))
            # Several check periods after the heartbeat went stale, the job is still the frozen
            # worker's: not queued again, and no copy of the load started by the other worker
            # (a copy would be a second `doing` row: procrastinate marks a job `doing` when a
            # worker takes it, before it sends anything to 1C).
            time.sleep(STALLED_AFTER + 4 * CHECK_EVERY + 3)
            jobs = _jobs(clean_database)
            (state,) = [j for j in jobs if j["id"] == job]
            assert (state["status"], state["attempts"]) == ("doing", 0)  # never queued again
            started = [j for j in jobs if j["id"] != job and j["status"] != "todo"]
            assert started == [], (
                started,
                [(e.path, e.query, e.at) for e in slow_1c.emulator.journal.matching("GET")],
                (tmp_path / "b.log").read_text(errors="replace")[-4000:],
            )
        finally:
            slow_1c.emulator.faults.clear()
            os.kill(first.pid, signal.SIGCONT)
        # The check above ran while the frozen worker's request was still waiting in 1C.
        assert time.monotonic() - frozen_at < 25
        _wait(
            "the thawed worker to finish its job",
            lambda: {j["id"]: j["status"] for j in _jobs(clean_database)}[job] == "succeeded",
            120,
        )
    assert _po_types(clean_database) == 2
    log = (tmp_path / "b.log").read_text()
    assert "stalled job queued again" not in log
