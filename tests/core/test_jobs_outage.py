"""A worker outlives a database outage: PostgreSQL really stops and starts under it.

The database is a private PostgreSQL in a temporary folder (never the shared server other tests
use), stopped with `pg_ctl stop -m fast` and started again on the same socket.
"""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest

from switchboard.consultations.dictionaries.tasks import load_dicts
from switchboard.core.jobs import create_job_app, defer_unless_queued
from switchboard.domains import blueprints
from switchboard.sandbox.pytest_plugin import RunningOneC
from tests.consultations.dictionaries.catalogs import catalogs
from tests.servers import platform_env, switchboard_process
from tests.stoppable_postgres import PrivatePostgres

pytestmark = [
    pytest.mark.slow,
    # pgserver keeps its lock in the user's runtime folder; /tmp is fine for a test's server.
    pytest.mark.filterwarnings("ignore:XDG_RUNTIME_DIR"),
]


def _defer_load(database_url: str) -> None:
    async def defer() -> None:
        app = create_job_app(database_url, blueprints())
        async with app.open_async():
            await defer_unless_queued(app, load_dicts)

    asyncio.run(defer())


def _statuses(database_url: str) -> list[str]:
    with psycopg.connect(database_url) as connection:
        rows = connection.execute(
            "SELECT status::text FROM procrastinate_jobs "
            "WHERE task_name = 'etl.load_dicts' ORDER BY id"
        ).fetchall()
    return [status for (status,) in rows]


def _wait(what: str, predicate: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except psycopg.OperationalError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_worker_outlives_a_database_outage_and_runs_the_next_job(
    private_postgres: PrivatePostgres, onec: RunningOneC, tmp_path: Path
) -> None:
    url = private_postgres.url
    onec.emulator.store.load(catalogs())
    log = tmp_path / "worker.log"
    env = platform_env(url, **onec.settings(), LOG_LEVEL="INFO")
    # A job running when the database went away stays `doing`; the stalled-job check takes it
    # back (quickly here) so that the job deferred after the restart is not held up by it.
    options = ("--stalled-after", "4", "--stalled-check-every", "1")
    with switchboard_process("worker", *options, env=env, log=log) as worker:
        _wait("the worker", lambda: "worker started" in log.read_text(), 60)
        _defer_load(url)
        _wait("a first load", lambda: "succeeded" in _statuses(url), 60)

        private_postgres.control.stop()
        _wait(
            "the worker to notice the outage",
            lambda: "job worker stopped unexpectedly" in log.read_text(),
            120,
        )
        time.sleep(3)  # a few reconnection attempts fail while the database is away
        assert worker.poll() is None, "the worker exited during the outage"

        private_postgres.control.start()
        done_before = _statuses(url).count("succeeded")
        _defer_load(url)
        _wait(
            "the job deferred after the restart to run",
            lambda: _statuses(url).count("succeeded") == done_before + 1,
            90,
        )
        assert worker.poll() is None  # the same process ran it
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 0
    text = log.read_text()
    assert text.count("worker started") == 1
    assert "starting it again" in text
