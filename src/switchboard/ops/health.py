"""Health of the process, its database and the external systems it is configured to use; and
the Prometheus `/metrics` endpoint.

`/api/health` and `/api/health/db` are open (load balancers probe them). The dependencies'
report probes each peer at most once per `PROBE_INTERVAL_SECONDS` — concurrent callers share one
probe and its result — and, once front credentials or `OPS_TOKEN` are configured, answers only
callers that present one of them. What a peer said, its breaker state and the latencies are shown
only to such an authenticated caller, never to an anonymous one.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any, Self

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError
from starlette.responses import Response

from switchboard import __version__
from switchboard.core.auth import bearer_token, front_request_allowed, secret_matches
from switchboard.core.errors import Unauthorized, error_responses
from switchboard.core.http.errors import IntegrationError
from switchboard.core.jobs import refresh_job_gauges
from switchboard.core.responses import JsonResponse
from switchboard.core.routing import StrictQueryRoute
from switchboard.core.settings import CoreSettings
from switchboard.runtime import Runtime, RuntimeDep


class OpsRoute(StrictQueryRoute):
    """Health endpoints never touch the request path's database (they report it)."""

    error_statuses = (400,)


router = APIRouter(tags=["health"], route_class=OpsRoute)

CHECK_TIMEOUT = 5.0
PROBE_INTERVAL_SECONDS = 10.0
#: What an anonymous caller sees of each part of the report.
PUBLIC_FIELDS = frozenset({"name", "configured", "status"})


@router.get("/api/health", summary="The process is up")
async def health(runtime: RuntimeDep) -> dict[str, Any]:
    return {"status": "ok", "version": __version__, "env": runtime.settings.env.value}


async def _database_status(runtime: Runtime) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        await asyncio.wait_for(runtime.database.ping(), timeout=CHECK_TIMEOUT)
    except (TimeoutError, OSError, SQLAlchemyError):
        return {"status": "unavailable"}
    return {"status": "ok", "latency_ms": round((time.perf_counter() - started) * 1000, 1)}


class DatabaseHealth(BaseModel):
    status: str = Field(description="ok or unavailable")
    latency_ms: float | None = Field(None, description="Round trip of a ping, when it answered")


@router.get(
    "/api/health/db",
    summary="The database answers",
    response_model=DatabaseHealth,
    responses={503: {"model": DatabaseHealth, "description": "The database does not answer"}},
)
async def health_db(runtime: RuntimeDep) -> JsonResponse:
    status = await _database_status(runtime)
    return JsonResponse(status, status_code=200 if status["status"] == "ok" else 503)


async def _system_status(runtime: Runtime, system: Any) -> dict[str, Any]:
    started = time.perf_counter()
    result: dict[str, Any] = {
        "name": system.name,
        "configured": True,
        "breaker": runtime.http.breakers.state(system.name),
    }
    try:
        await asyncio.wait_for(system.ping(), timeout=CHECK_TIMEOUT + 1)
    except IntegrationError as exc:
        # The kit has masked known secrets in the message already.
        result.update(status="unavailable", reason=type(exc).__name__, detail=exc.message)
    except TimeoutError:
        result.update(status="unavailable", reason="Timeout")
    else:
        result["status"] = "ok"
    result["latency_ms"] = round((time.perf_counter() - started) * 1000, 1)
    return result


async def _workers(runtime: Runtime) -> dict[str, Any]:
    try:
        async with runtime.database.engine.connect() as connection:
            alive = await connection.scalar(
                select(func.count())
                .select_from(text("procrastinate_workers"))
                .where(text("last_heartbeat > now() - interval '60 seconds'"))
            )
    except (TimeoutError, OSError, SQLAlchemyError):
        return {"status": "unknown"}
    return {"status": "ok" if alive else "no_worker", "alive": alive}


async def probe_dependencies(runtime: Runtime) -> dict[str, Any]:
    """The full report: the database, the workers and every external system, probed now."""
    database, workers, *systems = await asyncio.gather(
        _database_status(runtime),
        _workers(runtime),
        *(_system_status(runtime, system) for system in runtime.adapters.systems),
    )
    systems += [
        {"name": name, "configured": False, "status": "not_configured"}
        for name in runtime.adapters.unconfigured
    ]
    healthy = database["status"] == "ok" and all(
        s["status"] in ("ok", "not_configured") for s in systems
    )
    return {
        "status": "ok" if healthy else "degraded",
        "database": database,
        "event_bus": {"backend": runtime.bus.name},
        "workers": workers,
        "systems": systems,
    }


class DependencyProbe:
    """The dependencies' report of one process, probed at most once per `interval`: a caller
    inside the interval gets the stored report, and callers arriving during a probe wait for
    that one probe instead of starting their own (a flood of callers is one probe per peer)."""

    def __init__(
        self,
        runtime: Runtime,
        *,
        interval: float = PROBE_INTERVAL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.runtime = runtime
        self.interval = interval
        self.clock = clock
        self.probes = 0
        self._report: dict[str, Any] | None = None
        self._taken_at = 0.0
        self._running: asyncio.Task[dict[str, Any]] | None = None

    @classmethod
    def create(cls, runtime: Runtime) -> Self:
        return cls(runtime)

    async def report(self) -> dict[str, Any]:
        if self._report is not None and self.clock() - self._taken_at < self.interval:
            return self._report
        if self._running is None:
            self._running = asyncio.create_task(self._probe(), name="health-probe")
        # Shielded: a caller that goes away does not cancel the probe the others wait for.
        return await asyncio.shield(self._running)

    async def _probe(self) -> dict[str, Any]:
        try:
            self.probes += 1
            report = await probe_dependencies(self.runtime)
            self._report, self._taken_at = report, self.clock()
            return report
        finally:
            self._running = None


def ops_auth_configured(settings: CoreSettings) -> bool:
    return settings.front_auth_enabled() or bool(settings.ops_token.get_secret_value())


def ops_caller(settings: CoreSettings, request: Request) -> bool:
    """Whether the caller presented the front credentials or the ops token (False while none
    is configured: then every caller is anonymous)."""
    if settings.front_auth_enabled() and front_request_allowed(settings, request.headers):
        return True
    token = settings.ops_token.get_secret_value()
    return bool(token) and secret_matches(bearer_token(request.headers), token)


def public_view(report: dict[str, Any]) -> dict[str, Any]:
    """The report without what only operators may see (peers' words, breakers, timings)."""
    return {
        "status": report["status"],
        "database": {"status": report["database"]["status"]},
        "workers": {"status": report["workers"]["status"]},
        "systems": [
            {key: value for key, value in system.items() if key in PUBLIC_FIELDS}
            for system in report["systems"]
        ],
    }


@router.get(
    "/api/health/dependencies",
    summary="Each external system: reachable or not (details for operators)",
    description=(
        "Probed at most once per 10 s. Once FRONT_SECRET, FRONT_BEARER_TOKEN or OPS_TOKEN is "
        "configured, send the front credentials or `Authorization: Bearer <OPS_TOKEN>`; only "
        "such a caller sees each system's breaker, latency and failure."
    ),
    responses=error_responses(401),
)
async def health_dependencies(request: Request, runtime: RuntimeDep) -> dict[str, Any]:
    settings = runtime.settings
    authenticated = ops_caller(settings, request)
    if ops_auth_configured(settings) and not authenticated:
        raise Unauthorized(
            "unauthorized",
            "Authentication required: send the front credentials or the ops token.",
            headers={"WWW-Authenticate": 'Bearer realm="switchboard"'},
        )
    report = await runtime.extension(DependencyProbe).report()
    return report if authenticated else public_view(report)


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request, runtime: RuntimeDep) -> Response:
    token = runtime.settings.metrics_token.get_secret_value()
    if token and not secret_matches(bearer_token(request.headers), token):
        raise Unauthorized(
            "unauthorized",
            "Authentication is required.",
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )
    try:
        await asyncio.wait_for(refresh_job_gauges(runtime), timeout=CHECK_TIMEOUT)
    except (TimeoutError, OSError, SQLAlchemyError):
        # The queue gauge is unknown for this scrape; the other metrics are still worth serving.
        runtime.metrics.jobs.clear()
    return Response(runtime.metrics.render(), media_type="text/plain; version=0.0.4")
