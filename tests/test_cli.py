"""The `switchboard` command as a person uses it."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest

from switchboard.sandbox.faults import Fault
from switchboard.sandbox.pytest_plugin import RunningOneC
from tests.consultations.dictionaries.catalogs import catalogs
from tests.servers import platform_env, switchboard_process


def run(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "switchboard", *args],
        env={**os.environ, **(env or {})},
        cwd=str(cwd) if cwd else None,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_help_lists_every_command() -> None:
    result = run("--help")
    assert result.returncode == 0
    for command in ("demo", "serve", "worker", "migrate", "sandbox", "etl"):
        assert command in result.stdout


@pytest.mark.parametrize("command", ["demo", "serve", "worker", "migrate", "sandbox", "etl"])
def test_each_command_explains_itself(command: str) -> None:
    result = run(command, "--help")
    assert result.returncode == 0
    assert len(result.stdout.strip().splitlines()) > 3


def test_unknown_etl_job_is_a_clear_error() -> None:
    result = run("etl", "load_everything")
    assert result.returncode == 2
    assert "unknown ETL job 'load_everything'" in result.stderr
    assert "load_dicts" in result.stderr


def test_migrate_applies_to_the_configured_database(clean_database: str) -> None:
    result = run("migrate", env={"DATABASE_URL": clean_database, "LOG_LEVEL": "WARNING"})
    assert result.returncode == 0, result.stderr
    assert "database migrated to head" in result.stdout
    revisions = [
        path
        for path in (Path(__file__).parents[1] / "src/switchboard/migrations/versions").glob("*.py")
        if path.name != "__init__.py"
    ]
    with psycopg.connect(clean_database) as connection:
        applied = connection.execute("SELECT count(*) FROM sys.db_migrations").fetchone()
    assert applied == (len(revisions),)


def test_etl_runs_in_the_foreground_and_reports(clean_database: str, onec: object) -> None:
    from switchboard.sandbox.pytest_plugin import RunningOneC
    from tests.consultations.dictionaries.catalogs import catalogs

    assert isinstance(onec, RunningOneC)
    onec.emulator.store.load(catalogs())
    env = {"DATABASE_URL": clean_database, "LOG_LEVEL": "WARNING", **onec.settings()}
    result = run("etl", "load_dicts", env=env)
    assert result.returncode == 0, result.stderr
    assert '"catalog": "po_types"' in result.stdout
    queued = run("etl", "load_dicts", "--queue", env=env)
    assert '"queued": true' in queued.stdout
    again = run("etl", "load_dicts", "--queue", env=env)
    assert '"queued": false' in again.stdout  # one copy is already waiting


def test_etl_against_an_unreachable_1c_fails_with_one_clear_line(clean_database: str) -> None:
    env = {
        "DATABASE_URL": clean_database,
        "LOG_LEVEL": "ERROR",
        "ODATA_BASEURL_CL": "http://127.0.0.1:9/base/odata/standard.odata/",
        "HTTP_MAX_ATTEMPTS": "1",
    }
    result = run("etl", "load_dicts", env=env)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "switchboard: etl load_dicts failed: onec: cannot connect" in result.stderr


def _load_jobs(database_url: str) -> list[tuple[int, str]]:
    with psycopg.connect(database_url) as connection:
        return connection.execute(
            "SELECT id, status::text FROM procrastinate_jobs "
            "WHERE task_name = 'etl.load_dicts' ORDER BY id"
        ).fetchall()


def _wait_until(what: str, predicate: Any, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.slow
def test_etl_in_the_foreground_refuses_while_a_workers_copy_runs(
    clean_database: str, onec: RunningOneC, tmp_path: Path
) -> None:
    onec.emulator.store.load(catalogs())
    onec.emulator.faults.add(Fault(path="*Catalog_*", method="GET", latency=0.8))
    env = {"DATABASE_URL": clean_database, "LOG_LEVEL": "WARNING", **onec.settings()}
    assert '"queued": true' in run("etl", "load_dicts", "--queue", env=env).stdout
    with switchboard_process("worker", env=platform_env(clean_database, **onec.settings())):
        _wait_until(
            "the worker's copy to run", lambda: "doing" in dict(_load_jobs(clean_database)).values()
        )
        refused = run("etl", "load_dicts", env=env)
        assert refused.returncode == 3
        assert refused.stderr.strip().splitlines() == [
            "switchboard: etl load_dicts not started: a copy is already running "
            "(in a worker or another terminal); try again later or pass --wait"
        ]
        # With --wait it runs once the worker's copy has finished.
        waited = run("etl", "load_dicts", "--wait", env=env)
        assert waited.returncode == 0, waited.stderr
        # (the worker may have queued the latest quarter-hour's load too when it started)
        assert _load_jobs(clean_database)[0][1] == "succeeded"


@pytest.mark.slow
def test_a_workers_copy_waits_for_the_foreground_run(
    clean_database: str, onec: RunningOneC, tmp_path: Path
) -> None:
    latency = 0.5
    onec.emulator.store.load(catalogs())
    fault = onec.emulator.faults.add(Fault(path="*Catalog_*", method="GET", latency=latency))
    env = {"DATABASE_URL": clean_database, "LOG_LEVEL": "WARNING", **onec.settings()}
    worker_log = tmp_path / "worker.log"
    worker_env = platform_env(clean_database, **onec.settings(), LOG_LEVEL="INFO")
    with switchboard_process("worker", env=worker_env, log=worker_log):
        _wait_until("the worker", lambda: "worker started" in worker_log.read_text())
        # A worker queues the latest quarter-hour's load when it starts: let that one finish.
        time.sleep(1)
        _wait_until(
            "the worker to be idle",
            lambda: not {"todo", "doing"} & {s for _, s in _load_jobs(clean_database)},
        )
        onec.emulator.journal.clear()
        done_before = len(_load_jobs(clean_database))
        # The foreground load must still be running when the worker takes its copy, however slow
        # the machine: 1C answers it slowly until the worker is seen waiting.
        slow = onec.emulator.faults.add(Fault(path="*Catalog_*", method="GET", latency=latency * 6))
        onec.emulator.faults.remove(fault.id)
        foreground = subprocess.Popen(
            [sys.executable, "-m", "switchboard", "etl", "load_dicts"],
            env={**os.environ, **env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            _wait_until("the foreground load", lambda: onec.emulator.journal.matching("GET", "*"))
            assert '"queued": true' in run("etl", "load_dicts", "--queue", env=env).stdout
            _wait_until(
                "the worker's copy to wait for the lock",
                lambda: "waiting for the running copy to finish" in worker_log.read_text(),
            )
            assert foreground.poll() is None
            onec.emulator.faults.add(Fault(path="*Catalog_*", method="GET", latency=latency))
            onec.emulator.faults.remove(slow.id)
            assert foreground.wait(timeout=60) == 0
            _wait_until(
                "the worker's copy to finish",
                lambda: [s for _, s in _load_jobs(clean_database)][done_before:] == ["succeeded"],
            )
        finally:
            if foreground.poll() is None:
                foreground.kill()
            foreground.wait()
    # Two whole loads reached 1C, one after the other: with each request held `latency` seconds,
    # two loads at once would show requests arriving closer together than that.
    arrivals = sorted(entry.at for entry in onec.emulator.journal.matching("GET", "*Catalog_*"))
    assert len(arrivals) == 24
    assert min(b - a for a, b in itertools.pairwise(arrivals)) >= latency * 0.9


def test_demo_and_sandbox_are_refused_in_production(tmp_path: Path) -> None:
    for command in ("demo", "sandbox"):
        result = run(command, env={"ENV": "prod"}, cwd=tmp_path)
        assert result.returncode == 2
        assert result.stderr.strip().splitlines() == [
            f"switchboard: {command} is not available with ENV=prod "
            "(it runs emulators in place of the real systems)"
        ]
    # The same when ENV=prod comes from the .env file of the working folder.
    (tmp_path / ".env").write_text("ENV=prod\n")
    result = run("demo", cwd=tmp_path)
    assert result.returncode == 2
    assert "not available with ENV=prod" in result.stderr


def test_the_telephony_commands_explain_themselves() -> None:
    listed = run("--help")
    for command, option in (("telephony-enterprise", "--new-token"), ("telephony-phones", "")):
        assert command in listed.stdout
        result = run(command, "--help")
        assert result.returncode == 0, result.stderr
        assert option in result.stdout
