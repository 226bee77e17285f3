"""A worker outlives a database outage: PostgreSQL really stops and starts under it.

The database is a private PostgreSQL in a temporary folder (never the shared server other tests
use), stopped with `pg_ctl stop -m fast` and started again on the same socket.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

from switchboard.consultations.dictionaries.tasks import load_dicts
from switchboard.core.db.migrate import upgrade
from switchboard.core.jobs import create_job_app, defer_unless_queued
from switchboard.domains import blueprints
from switchboard.sandbox.pytest_plugin import RunningOneC
from tests.consultations.dictionaries.catalogs import catalogs
from tests.servers import platform_env, switchboard_process

pytestmark = [
    pytest.mark.slow,
    # pgserver keeps its lock in the user's runtime folder; /tmp is fine for a test's server.
    pytest.mark.filterwarnings("ignore:XDG_RUNTIME_DIR"),
]


@dataclass
class PostgresControl:
    """Stops and starts a pgserver PostgreSQL (a private one of a test, or the demo's)."""

    pgdata: Path
    socket_dir: str

    @classmethod
    def of(cls, pgdata: Path) -> PostgresControl:
        from pgserver.utils import PostmasterInfo  # type: ignore[import-untyped]

        info = PostmasterInfo.read_from_pgdata(pgdata)
        if info is None or info.socket_dir is None:
            raise RuntimeError(f"no PostgreSQL is running on {pgdata}")
        return cls(pgdata, str(info.socket_dir))

    @property
    def _user(self) -> str | None:
        # pgserver runs PostgreSQL as its own system user when started by root.
        return "pgserver" if os.geteuid() == 0 else None

    def stop(self) -> None:
        from pgserver import _commands  # type: ignore[attr-defined]

        _commands.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.pgdata, user=self._user)

    def start(self) -> None:
        from pgserver import _commands

        options = ["-w", "-o", '-h ""', "-o", f"-k {self.socket_dir}"]
        _commands.pg_ctl(
            [*options, "-l", str(self.pgdata / "log"), "start"],
            pgdata=self.pgdata,
            user=self._user,
            timeout=30,
        )

    def answers(self) -> bool:
        try:
            with psycopg.connect(
                f"postgresql://postgres:@/postgres?host={self.socket_dir}", connect_timeout=2
            ) as connection:
                connection.execute("SELECT 1")
        except psycopg.OperationalError:
            return False
        return True


@dataclass
class PrivatePostgres:
    control: PostgresControl
    url: str


@pytest.fixture
def private_postgres(tmp_path: Path) -> Iterator[PrivatePostgres]:
    from pgserver import get_server  # type: ignore[attr-defined]

    server = get_server(tmp_path / "pg", cleanup_mode="stop")
    url = server.get_uri("postgres")
    upgrade(url)
    control = PostgresControl.of(tmp_path / "pg")
    try:
        yield PrivatePostgres(control, url)
    finally:
        if not control.answers():
            control.start()
        server.cleanup()
        # A server started again with pg_ctl is not the one pgserver tracks: stop it too.
        if control.answers():
            control.stop()


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
