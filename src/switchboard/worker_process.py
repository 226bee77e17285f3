"""The worker process: jobs, schedules, and its own /metrics."""

from __future__ import annotations

import structlog
from prometheus_client import start_http_server

from switchboard.config import Settings
from switchboard.core.db.migrate import upgrade_async
from switchboard.core.jobs import RUNTIME_KEY, metrics_middleware
from switchboard.domains import open_runtime
from switchboard.runtime import Runtime

log = structlog.get_logger(__name__)


def serve_metrics(runtime: Runtime, host: str, port: int) -> None:
    """Metrics help operators but are not the worker's job: a busy port is reported, not fatal."""
    try:
        start_http_server(port, addr=host, registry=runtime.metrics.registry)
    except OSError as exc:
        log.error("worker metrics not served: port unavailable", port=port, error=str(exc))
        return
    log.info("worker metrics served", url=f"http://{host}:{port}/metrics")


async def run_worker(settings: Settings, *, concurrency: int, metrics_port: int = 0) -> None:
    async with open_runtime(settings) as runtime:
        await upgrade_async(runtime.database.url)
        if metrics_port:
            start_http_server(
                metrics_port, addr=settings.app_host, registry=runtime.metrics.registry
            )
            log.info(
                "worker metrics served", url=f"http://{settings.app_host}:{metrics_port}/metrics"
            )
        log.info("worker started", concurrency=concurrency, bus=runtime.bus.name)
        await runtime.jobs.run_worker_async(
            concurrency=concurrency,
            additional_context={RUNTIME_KEY: runtime},
            worker_middleware=[metrics_middleware(runtime)],
            install_signal_handlers=True,
            wait=True,
        )
        log.info("worker stopped")
