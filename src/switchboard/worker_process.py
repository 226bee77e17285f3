"""The worker process: jobs, schedules, the stalled-job watchdog, and its own /metrics.

The worker outlives its database: when PostgreSQL goes away, procrastinate's worker stops (its
heartbeat or its listener fails); this process logs it, waits with backoff, and starts a new one,
which registers again once the database answers. Only SIGINT/SIGTERM end the process.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from dataclasses import dataclass

import structlog
from prometheus_client import start_http_server

from switchboard.config import Settings
from switchboard.core.db.migrate import upgrade_async
from switchboard.core.housekeeping import (
    STALLED_AFTER_SECONDS,
    STALLED_CHECK_SECONDS,
    watch_stalled_jobs,
)
from switchboard.core.jobs import RUNTIME_KEY, liveness_middleware, metrics_middleware
from switchboard.domains import open_runtime
from switchboard.runtime import Runtime

log = structlog.get_logger(__name__)

#: A run of the job worker that lasted this long was healthy: the next restart starts quick again.
HEALTHY_RUN_SECONDS = 60.0


@dataclass(frozen=True)
class Backoff:
    initial: float = 1.0
    maximum: float = 30.0

    def next(self, delay: float) -> float:
        return min(self.maximum, delay * 2)


def serve_metrics(runtime: Runtime, host: str, port: int) -> None:
    """Metrics help operators but are not the worker's job: a busy port is reported, not fatal."""
    try:
        start_http_server(port, addr=host, registry=runtime.metrics.registry)
    except OSError as exc:
        log.error("worker metrics not served: port unavailable", port=port, error=str(exc))
        return
    log.info("worker metrics served", url=f"http://{host}:{port}/metrics")


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    return stop


async def run_worker(
    settings: Settings,
    *,
    concurrency: int,
    metrics_port: int = 0,
    stalled_after: float = STALLED_AFTER_SECONDS,
    stalled_check_every: float = STALLED_CHECK_SECONDS,
    backoff: Backoff = Backoff(),
) -> None:
    """Run jobs until SIGINT/SIGTERM. A job whose worker has been silent for `stalled_after`
    seconds is taken back within `stalled_check_every` seconds more (see `watch_stalled_jobs`)."""
    stop = _stop_on_signals()
    async with open_runtime(settings) as runtime:
        await upgrade_async(runtime.database.url)
        if metrics_port:
            serve_metrics(runtime, settings.app_host, metrics_port)
        log.info("worker started", concurrency=concurrency, bus=runtime.bus.name)
        watchdog = asyncio.create_task(
            watch_stalled_jobs(
                runtime.jobs,
                runtime.database.url,
                stalled_after=stalled_after,
                every=stalled_check_every,
            ),
            name="stalled-job watchdog",
        )
        try:
            await keep_working(
                runtime,
                stop,
                concurrency=concurrency,
                heartbeat_seconds=min(10.0, stalled_after / 4),
                stalled_after=stalled_after,
                backoff=backoff,
            )
        finally:
            watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watchdog
    log.info("worker stopped")


async def keep_working(
    runtime: Runtime,
    stop: asyncio.Event,
    *,
    concurrency: int,
    heartbeat_seconds: float,
    stalled_after: float,
    backoff: Backoff,
) -> None:
    """Run procrastinate's worker; when it ends on its own (the database went away), start
    another after a growing pause, until `stop` is set."""
    delay = backoff.initial
    while not stop.is_set():
        started = time.monotonic()
        run = asyncio.create_task(
            runtime.jobs.run_worker_async(
                concurrency=concurrency,
                additional_context={RUNTIME_KEY: runtime},
                worker_middleware=[
                    metrics_middleware(runtime),
                    liveness_middleware(runtime.database.url),
                ],
                install_signal_handlers=False,
                update_heartbeat_interval=heartbeat_seconds,
                stalled_worker_timeout=stalled_after,
                wait=True,
            ),
            name="job worker",
        )
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait({run, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if stop.is_set():
            # Cancelling asks procrastinate for a graceful stop: running jobs finish first.
            run.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await run
            return
        if time.monotonic() - started >= HEALTHY_RUN_SECONDS:
            delay = backoff.initial
        log.error(
            "job worker stopped unexpectedly; starting it again",
            error=_failure(run),
            restart_in_seconds=delay,
        )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=delay)
        delay = backoff.next(delay)


def _failure(run: asyncio.Task[None]) -> str:
    if run.cancelled():
        return "cancelled"
    error = run.exception()
    if error is None:
        return "stopped without an error (a side task failed)"
    return _describe(error)


def _describe(error: BaseException) -> str:
    """One line: the error and what caused it (procrastinate wraps psycopg's errors)."""
    text = f"{type(error).__name__}: {' '.join(str(error).split())}"
    cause = error.__cause__
    if cause is not None:
        text += f" (caused by {type(cause).__name__}: {' '.join(str(cause).split())})"
    return text
