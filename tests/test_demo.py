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
        ):
            assert url in banner, url

        assert httpx.get(f"{base}/api/health").json()["status"] == "ok"
        # The worker child loads the dictionaries from the 1C emulator on start.
        _wait_for(
            lambda: len(httpx.get(f"{base}/api/dicts/po-types").json()) > 0,
            90,
            "dictionaries",
            demo,
        )
        uz = httpx.get(f"{base}/api/dicts/online-questions", params={"language": "uz"}).json()
        assert uz
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
    finally:
        demo.send_signal(signal.SIGINT)
        try:
            code = demo.wait(timeout=60)
        except subprocess.TimeoutExpired:
            demo.kill()
            raise
        log.close()
    assert code == 0, (tmp_path / "demo.log").read_text()[-3000:]
    assert (tmp_path / "var" / "postgres" / "PG_VERSION").exists()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{base}/api/health", timeout=2)
