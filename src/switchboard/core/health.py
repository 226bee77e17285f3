"""Health of the process, its database and every external system it is configured to use."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError
from starlette.responses import Response

from switchboard import __version__
from switchboard.core.auth import secret_matches
from switchboard.core.errors import Unauthorized
from switchboard.core.http.errors import IntegrationError
from switchboard.core.jobs import refresh_job_gauges
from switchboard.core.responses import JsonResponse
from switchboard.runtime import Runtime, runtime_dependency

router = APIRouter(tags=["health"])

CHECK_TIMEOUT = 5.0


@router.get("/api/health", summary="The process is up")
async def health(runtime: Runtime = Depends(runtime_dependency)) -> dict[str, Any]:
    return {"status": "ok", "version": __version__, "env": runtime.settings.env.value}


async def _database_status(runtime: Runtime) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        await asyncio.wait_for(runtime.database.ping(), timeout=CHECK_TIMEOUT)
    except (TimeoutError, OSError, SQLAlchemyError):
        return {"status": "unavailable"}
    return {"status": "ok", "latency_ms": round((time.perf_counter() - started) * 1000, 1)}


@router.get("/api/health/db", summary="The database answers")
async def health_db(runtime: Runtime = Depends(runtime_dependency)) -> JsonResponse:
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


@router.get(
    "/api/health/dependencies",
    summary="Each external system: reachable, and the state of its circuit breaker",
)
async def health_dependencies(runtime: Runtime = Depends(runtime_dependency)) -> dict[str, Any]:
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


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request, runtime: Runtime = Depends(runtime_dependency)) -> Response:
    token = runtime.settings.metrics_token.get_secret_value()
    if token:
        scheme, _, given = (request.headers.get("authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not secret_matches(given.strip(), token):
            raise Unauthorized("unauthorized", "Authentication is required.")
    try:
        await asyncio.wait_for(refresh_job_gauges(runtime), timeout=CHECK_TIMEOUT)
    except (TimeoutError, OSError, SQLAlchemyError):
        # The queue gauge is unknown for this scrape; the other metrics are still worth serving.
        runtime.metrics.jobs.clear()
    return Response(runtime.metrics.render(), media_type="text/plain; version=0.0.4")
