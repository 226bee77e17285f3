"""Everything a process of the platform holds while it runs, opened and closed in one place.

The API, the worker and the CLI commands each open one `Runtime` (through
`switchboard.domains.open_runtime`, which adds the domains' job blueprints); nothing of it lives
in module globals, so tests open as many as they like and close them again. A runtime knows the
core pieces and the adapters; a domain keeps its own per-process state as an *extension*
(`runtime.extension(DictionaryCache)`), created on first use.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any, Protocol, Self, TypeVar

import procrastinate
import structlog
from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.core.db import Database
from switchboard.core.db.embedded import EmbeddedPostgres
from switchboard.core.http import HttpKit
from switchboard.core.jobs import EtlJob, create_job_app
from switchboard.core.metrics import Metrics
from switchboard.core.realtime import EventBus, create_bus
from switchboard.integrations.registry import Adapters, build_adapters
from switchboard.integrations.settings import IntegrationSettings

log = structlog.get_logger(__name__)


class Extension(Protocol):
    @classmethod
    def create(cls, runtime: Runtime) -> Self: ...


E = TypeVar("E", bound=Extension)


@dataclass
class Runtime:
    settings: IntegrationSettings
    database: Database
    metrics: Metrics
    http: HttpKit
    bus: EventBus
    jobs: procrastinate.App
    adapters: Adapters
    embedded: EmbeddedPostgres | None = None
    #: Every domain's ETL jobs by name (for the admin view and the command line).
    etl_jobs: Mapping[str, EtlJob] = field(default_factory=dict)
    _extensions: dict[type[Any], Any] = field(default_factory=dict)

    def extension(self, kind: type[E]) -> E:
        """The process-wide instance of a domain's `kind`, created on first use."""
        instance = self._extensions.get(kind)
        if instance is None:
            instance = self._extensions[kind] = kind.create(self)
        return instance

    async def close_extensions(self) -> None:
        """Close the extensions that hold connections (those with an `aclose`)."""
        extensions, self._extensions = list(self._extensions.values()), {}
        for extension in extensions:
            close = getattr(extension, "aclose", None)
            if close is not None:
                await close()

    @classmethod
    @asynccontextmanager
    async def open(
        cls,
        settings: IntegrationSettings,
        *,
        blueprints: Sequence[procrastinate.Blueprint] = (),
        etl_jobs: Mapping[str, EtlJob] | None = None,
        database_url: str | None = None,
        bus: EventBus | None = None,
        metrics: Metrics | None = None,
    ) -> AsyncIterator[Runtime]:
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
            jobs=create_job_app(database.url, list(blueprints)),
            adapters=build_adapters(settings, kit),
            embedded=embedded,
            etl_jobs=dict(etl_jobs or {}),
        )
        try:
            await runtime.bus.start()
            async with runtime.jobs.open_async():
                yield runtime
        finally:
            await runtime.bus.stop()
            await runtime.close_extensions()
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


async def session_dependency(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's unit of work: committed when the endpoint returns, rolled back when it
    raises — before the response is sent, so a failed commit is the caller's error, not a
    silent loss."""
    async with runtime_of(request).database.transaction() as session:
        yield session


#: An endpoint parameter: `session: Session` (FastAPI closes it before sending the answer).
Session = Annotated[AsyncSession, Depends(session_dependency, scope="function")]
RuntimeDep = Annotated[Runtime, Depends(runtime_dependency)]
