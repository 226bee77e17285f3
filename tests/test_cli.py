"""The `switchboard` command as a person uses it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest


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
    with psycopg.connect(clean_database) as connection:
        assert connection.execute("SELECT count(*) FROM sys.db_migrations").fetchone() == (2,)


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
