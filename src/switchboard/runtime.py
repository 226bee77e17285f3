"""Everything a process of the platform holds while it runs, opened and closed in one place.

The API, the worker and the CLI commands each open one `Runtime`; nothing of it lives in module
globals, so tests open as many as they like and close them again.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import procrastinate
import structlog
from fastapi import Request

from switchboard.config import Settings
from switchboard.core.cache import ResponseCache
from switchboard.core.db import Database
from switchboard.core.db.embedded import EmbeddedPostgres
from switchboard.core.http import HttpKit
from switchboard.core.jobs import create_job_app
from switchboard.core.metrics import Metrics
from switchboard.core.realtime import EventBus, create_bus
from switchboard.integrations.registry import Adapters, build_adapters

log = structlog.get_logger(__name__)


@dataclass
class Runtime:
    settings: Settings
    database: Database
    metrics: Metrics
    http: HttpKit
    bus: EventBus
    jobs: procrastinate.App
    adapters: Adapters
    dictionary_cache: ResponseCache
    embedded: EmbeddedPostgres | None = None

    @classmethod
    @asynccontextmanager
    async def open(
        cls,
        settings: Settings,
        *,
        database_url: str | None = None,
        bus: EventBus | None = None,
        metrics: Metrics | None = None,
    ) -> AsyncIterator[Runtime]:
        from switchboard.worker import BLUEPRINTS

        embedded = None
        url = database_url or settings.configured_database_url()
        if url is None:
            embedded = EmbeddedPostgres(settings.data_dir / "postgres")
            url = embedded.start()
            log.info("using the embedded PostgreSQL", data_dir=str(embedded.data_dir))
        database = Database.from_settings(url, settings)
        metrics = metrics or Metrics()
        kit = HttpKit.from_settings(settings, metrics)
        runtime = cls(
            settings=settings,
            database=database,
            metrics=metrics,
            http=kit,
            bus=bus or create_bus(settings, database),
            jobs=create_job_app(database.url, BLUEPRINTS),
            adapters=build_adapters(settings, kit),
            dictionary_cache=ResponseCache(
                "dictionaries", settings.dict_cache_ttl_seconds, metrics
            ),
            embedded=embedded,
        )
        try:
            await runtime.bus.start()
            async with runtime.jobs.open_async():
                yield runtime
        finally:
            await runtime.bus.stop()
            await runtime.adapters.aclose()
            await database.dispose()
            if embedded is not None:
                embedded.stop()


def runtime_of(request: Request) -> Runtime:
    """The runtime of the app serving `request`."""
    runtime: Runtime = request.app.state.runtime
    return runtime


async def runtime_dependency(request: Request) -> Runtime:
    """FastAPI dependency. Async on purpose: a plain `def` would run in a worker thread."""
    runtime: Runtime = request.app.state.runtime
    return runtime
