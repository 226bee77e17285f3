"""Start the platform's own commands as real processes, for tests that cross process lines."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until_up(url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"process exited early with {process.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url} did not come up in {timeout} s")


@contextmanager
def switchboard_process(
    *args: str, env: dict[str, str], cwd: Path | None = None, log: Path | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """`python -m switchboard <args>` with the given environment; stopped with SIGTERM."""
    output = log.open("wb") if log else subprocess.DEVNULL
    process = subprocess.Popen(
        [sys.executable, "-m", "switchboard", *args],
        env={**os.environ, **env},
        cwd=str(cwd) if cwd else None,
        stdout=output,
        stderr=subprocess.STDOUT,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if log:
            output.close()  # type: ignore[union-attr]


def platform_env(database_url: str, **extra: str) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "ENV": "test",
        "LOG_LEVEL": "WARNING",
        "LOAD_DICTS_ON_START": "false",
        "RATE_LIMIT_PER_MINUTE": "0",
        "ACCESS_LOG": "off",
        "REDIS_URL": "",
        "FRONT_SECRET": "",
        "FRONT_BEARER_TOKEN": "",
        **extra,
    }


def run_switchboard(
    database_url: str, *args: str, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    """`python -m switchboard <args>` on `database_url`, its output captured."""
    return subprocess.run(
        [sys.executable, "-m", "switchboard", *args],
        env={**os.environ, **platform_env(database_url)},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        # No controlling terminal: a password prompt reads stdin, as it would in a pipe.
        start_new_session=True,
    )
