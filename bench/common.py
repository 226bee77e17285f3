"""Shared set-up for the benchmarks: a database, free ports, a process runner."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager

from tests.databases import scratch_database
from tests.servers import free_port, wait_until_up

__all__ = ["PYTHON", "bench_database", "free_port", "process", "wait_until_up"]


def bench_database() -> AbstractContextManager[str]:
    """A fresh, migrated database: on TEST_DATABASE_URL's server if set, else embedded."""
    return scratch_database("switchboard_bench")


@contextmanager
def process(*command: str, env: dict[str, str] | None = None) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(
        list(command),
        env={**os.environ, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


PYTHON = sys.executable
