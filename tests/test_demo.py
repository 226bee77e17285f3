"""`switchboard demo` as a newcomer runs it: everything comes up, data flows, Ctrl+C stops it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.servers import free_port
from tests.stoppable_postgres import PostgresControl

pytestmark = pytest.mark.slow


def _wait_for(
    predicate: object, timeout: float, what: str, process: subprocess.Popen[bytes]
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the demo exited ({process.returncode}) while waiting for {what}")
        try:
            if predicate():  # type: ignore[operator]
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def _database_healthy(base: str) -> bool:
    try:
        return httpx.get(f"{base}/api/health/db", timeout=10).status_code == 200
    except httpx.HTTPError:
        return False


def _worker_children(pid: int) -> list[int]:
    """Process ids of the demo's `switchboard worker` children."""
    import psutil

    workers = []
    for child in psutil.Process(pid).children():
        try:
            if child.status() == psutil.STATUS_ZOMBIE:
                continue  # killed, not yet reaped by the demo
            command = child.cmdline()
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            continue
        if "worker" in command and "switchboard" in command:
            workers.append(child.pid)
    return workers


def test_demo_starts_everything_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "TEST_DATABASE_URL"}}
    env.update({"LOG_LEVEL": "WARNING", "REDIS_URL": ""})
    log = (tmp_path / "demo.log").open("wb")
    demo = subprocess.Popen(
        [sys.executable, "-m", "switchboard", "demo", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for(
            lambda: "demo is running" in (tmp_path / "demo.log").read_text(),
            120,
            "the banner",
            demo,
        )
        banner = (tmp_path / "demo.log").read_text()
        for url in (
            f"{base}/docs",
            f"{base}/api/dicts/po-types",
            f"{base}/metrics",
            "/cl/odata/standard.odata/",  # the emulators take the next ports when free
            "/public/api/v1/inboxes/",
            f"{base}/messenger/",
            f"{base}/messenger/admin/",
            "/shop",
            "operator@demo.local / demo-operator",
            "supervisor@demo.local / demo-supervisor",
            "admin@demo.local / demo-admin",
        ):
            assert url in banner, url
        # The messenger: the demo operator signs in and has the scripted chat, answered.
        login = httpx.post(
            f"{base}/api/messenger/auth/login",
            json={"login": "operator@demo.local", "password": "demo-operator"},
        )
        assert login.status_code == 200, login.text
        chats = httpx.get(f"{base}/api/messenger/conversations", cookies=login.cookies).json()
        assert len(chats) == 1
        assert chats[0]["branch"]["name"] == "Екатеринбург"  # 127.0.0.1 by the demo's GeoIP
        assert chats[0]["last_message"]["direction"] == "in"

        assert httpx.get(f"{base}/api/health").json()["status"] == "ok"
        # The worker child loads the dictionaries from the 1C emulator on start.
        # Each catalog shows up as soon as it is loaded (its change is announced on commit).
        for path in ("po-types", "online-questions?language=uz", "interference"):
            _wait_for(
                lambda path=path: len(httpx.get(f"{base}/api/dicts/{path}").json()) > 0,
                90,
                f"dictionaries: {path}",
                demo,
            )
        uz = httpx.get(f"{base}/api/dicts/online-questions", params={"language": "uz"}).json()
        assert all(q["language"] == "uz" for q in uz)
        dependencies = httpx.get(f"{base}/api/health/dependencies").json()
        assert dependencies["status"] == "ok"
        assert {s["name"] for s in dependencies["systems"]} == {"onec", "chatwoot"}
        _wait_for(
            lambda: (
                httpx.get(f"{base}/api/health/dependencies").json()["workers"]["status"] == "ok"
            ),
            30,
            "the worker's heartbeat",
            demo,
        )
        worker_metrics_url = next(
            line.split()[-1] for line in banner.splitlines() if "Metrics (worker)" in line
        )
        worker_metrics = httpx.get(worker_metrics_url).text
        assert (
            'switchboard_job_runs_total{outcome="succeeded",task="etl.load_dicts"}'
            in worker_metrics
        )

        # A worker killed outright is started again, and the demo says so instead of stopping.
        (first_worker,) = _worker_children(demo.pid)
        os.kill(first_worker, signal.SIGKILL)
        _wait_for(
            lambda: _worker_children(demo.pid) not in ([], [first_worker]),
            30,
            "a new worker",
            demo,
        )
        assert "the worker exited unexpectedly; restarting it" in (
            (tmp_path / "demo.log").read_text()
        )
        _wait_for(lambda: httpx.get(worker_metrics_url).status_code == 200, 30, "its metrics", demo)
        assert httpx.get(f"{base}/api/health").json()["status"] == "ok"

        # The demo, and its worker, stay up while the database is away and go on after it.
        (worker,) = _worker_children(demo.pid)
        database = PostgresControl.of(tmp_path / "var" / "postgres")
        database.stop()
        try:
            time.sleep(5)
            assert not _database_healthy(base)
            assert demo.poll() is None
            assert _worker_children(demo.pid) == [worker]
        finally:
            database.start()
        _wait_for(lambda: _database_healthy(base), 60, "the database", demo)
        assert _worker_children(demo.pid) == [worker]
    finally:
        demo.send_signal(signal.SIGINT)
        try:
            code = demo.wait(timeout=60)
        except subprocess.TimeoutExpired:
            demo.kill()
            raise
        log.close()
        _stop_restarted_database(tmp_path / "var" / "postgres")
    assert code == 0, (tmp_path / "demo.log").read_text()[-3000:]
    assert (tmp_path / "var" / "postgres" / "PG_VERSION").exists()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{base}/api/health", timeout=2)


def _stop_restarted_database(pgdata: Path) -> None:
    """The demo stops the PostgreSQL it started; one the test started again with pg_ctl is not
    tracked by it, so the test stops that one itself (no server left behind)."""
    try:
        database = PostgresControl.of(pgdata)
    except RuntimeError:
        return
    if database.answers():
        database.stop()


async def test_the_supervisor_restarts_a_killed_child_with_backoff_and_says_so() -> None:
    import asyncio

    from structlog.testing import capture_logs

    from switchboard.demo import ChildSupervisor

    async def spawn() -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-c", "import time; time.sleep(120)"
        )

    supervisor = ChildSupervisor(spawn, initial_delay=0.2, max_delay=1.0)
    stop = asyncio.Event()
    with capture_logs() as logs:
        running = asyncio.create_task(supervisor.run(stop))
        pids = []
        for _ in range(2):
            while supervisor.process is None or supervisor.process.pid in pids:
                await asyncio.sleep(0.05)
            pids.append(supervisor.process.pid)
            os.kill(supervisor.process.pid, signal.SIGKILL)
        while supervisor.restarts < 2 or supervisor.process.pid in pids:
            await asyncio.sleep(0.05)
        last = supervisor.process
        stop.set()
        await asyncio.wait_for(running, timeout=5)
    assert last.returncode is None  # stopping the supervisor leaves the child to its owner
    last.kill()
    await last.wait()
    restarts = [e for e in logs if e["event"] == "the worker exited unexpectedly; restarting it"]
    assert [e["code"] for e in restarts] == [-signal.SIGKILL, -signal.SIGKILL]
    assert [e["restart_in_seconds"] for e in restarts] == [0.2, 0.4]  # the pause grows
