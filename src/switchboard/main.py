"""The ASGI application factory."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator

import structlog
from fastapi import FastAPI

from switchboard import __version__, domains
from switchboard.api import routers
from switchboard.config import Settings
from switchboard.core.db.migrate import upgrade_async
from switchboard.core.errors import install_error_handlers
from switchboard.core.metrics import Metrics
from switchboard.core.middleware import install_middleware
from switchboard.core.ratelimit import RateLimiter
from switchboard.ops.docs import install_docs
from switchboard.runtime import Runtime

log = structlog.get_logger(__name__)

DESCRIPTION = """
Switchboard connects a company's customers to its people by chat, phone and booked
consultations, and keeps Chatwoot, 1C:ЦЛ, RetailCRM and Asterisk in sync with one PostgreSQL.

Errors always come as `{"error": "<code>", "message": "<text>"}` (plus `details` for invalid
fields); texts follow `Accept-Language` (ru by default, en, uz).
"""


async def on_start(runtime: Runtime) -> None:
    """Every domain's start-up work (seed 001's start-up loads are queued as durable jobs)."""
    for hook in domains.start_up_hooks():
        await hook(runtime)


def start_watchers(runtime: Runtime) -> list[asyncio.Task[None]]:
    """The domains' long-running watchers of an API process (each restarts itself on errors)."""
    return [
        asyncio.create_task(watcher(runtime), name=getattr(watcher, "__name__", "watcher"))
        for watcher in domains.api_watchers()
    ]


def _keep_start_up_objects_out_of_gc() -> None:
    """What start-up made (modules, the app, its routes and schemas: hundreds of thousands of
    objects) lives as long as the process; moved out of the collector's view, a full collection
    no longer walks them all, which paused every request for 150 ms or so now and then."""
    gc.collect()
    gc.freeze()


def create_app(
    settings: Settings,
    *,
    runtime: Runtime | None = None,
    database_url: str | None = None,
    migrate: bool = True,
) -> FastAPI:
    """The platform's API. With `runtime`, the app uses it as it is (tests, the demo); without,
    it opens its own at start-up, migrating the database first."""
    metrics = runtime.metrics if runtime is not None else Metrics()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            active = runtime
            if active is None:
                active = await stack.enter_async_context(
                    domains.open_runtime(settings, database_url=database_url, metrics=metrics)
                )
                if migrate:
                    await upgrade_async(active.database.url)
                await on_start(active)
            app.state.runtime = active
            watchers = start_watchers(active)
            _keep_start_up_objects_out_of_gc()
            try:
                yield
            finally:
                for watcher in watchers:
                    watcher.cancel()
                for watcher in watchers:
                    with contextlib.suppress(asyncio.CancelledError):
                        await watcher

    app = FastAPI(
        title="Switchboard",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        # The documentation pages are served by `install_docs`, with local assets.
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json" if settings.docs_enabled() else None,
    )
    app.state.settings = settings
    app.state.rate_limiter = RateLimiter(
        per_minute=settings.rate_limit_per_minute,
        create_per_minute=settings.rate_limit_create_per_minute,
        webhook_per_minute=settings.rate_limit_webhook_per_minute,
        redis_url=settings.redis_dsn(),
        redis_prefix=settings.redis_prefix,
        trusted_proxies=settings.trusted_proxies,
    )
    install_error_handlers(app)
    for router in routers():
        app.include_router(router)
    install_docs(app)
    for layer in domains.asgi_middleware():  # innermost: inside the whole request pipeline
        app.add_middleware(layer)
    install_middleware(
        app,
        settings,
        metrics=metrics,
        limiter=app.state.rate_limiter,
        public_paths=domains.public_paths(),
    )
    return app


def app_from_environment() -> FastAPI:
    """Factory for `uvicorn --factory switchboard.main:app_from_environment` (several workers)."""
    from switchboard.config import load_settings
    from switchboard.core.logging import configure_logging

    settings = load_settings()
    configure_logging(level=settings.log_level, json=settings.json_logs())
    return create_app(settings)
