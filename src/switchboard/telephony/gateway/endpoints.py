"""The integration gateway's operator API (seed 003's port 8020), under `/gateway`, behind
OPS_TOKEN (the original served it to anyone)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request

from switchboard.core.auth import require_ops_token
from switchboard.core.errors import NotFound, Unauthorized, error_responses
from switchboard.core.routing import StrictQueryRoute
from switchboard.runtime import Session, runtime_of
from switchboard.telephony.gateway import repository
from switchboard.telephony.gateway.schemas import (
    CacheStats,
    DispatchAnswer,
    DispatchRequest,
    HealthAnswer,
    IntegrationsAnswer,
    Invalidated,
    StatsAnswer,
)
from switchboard.telephony.gateway.service import announce_change
from switchboard.telephony.gateway.tasks import Gateway
from switchboard.telephony.ingest.service import EventWriter

router = APIRouter(
    prefix="/gateway",
    tags=["telephony: gateway"],
    route_class=StrictQueryRoute,
    dependencies=[Depends(require_ops_token)],
    responses=error_responses(400, 401, 403),
)

EnterpriseNumber = Annotated[
    str, Path(min_length=1, max_length=20, pattern=r"^[0-9A-Za-z_-]+$", examples=["0367"])
]


@router.post(
    "/dispatch/call-event",
    response_model=DispatchAnswer,
    responses=error_responses(400, 401, 403, 422),
    summary="Hand a call event to the gateway",
    description=(
        "Seed 003's dispatch: the enterprise is found by `token` (401 when unknown), the event "
        "is stored (once) and the CRMs it has enabled are told in order, durably: a hangup "
        "without a dial first pops up a synthetic dial."
    ),
)
async def dispatch_call_event(request: Request, body: DispatchRequest) -> DispatchAnswer:
    runtime = runtime_of(request)
    entry = await runtime.extension(Gateway).cache.by_token(body.token)
    if entry is None or not entry.active:
        raise Unauthorized("unknown_token", "Unknown PBX token.")
    raw = {**body.raw, "UniqueId": body.unique_id}
    raw.pop("Token", None)
    if body.record_url:
        raw["RecordUrl"] = body.record_url
    stored = await runtime.extension(EventWriter).store(
        enterprise_number=entry.number,
        unique_id=body.unique_id,
        event_type="download" if body.origin == "download" else body.event_type,
        body=raw,
        data_source="download" if body.origin == "download" else "gateway",
    )
    return DispatchAnswer(
        status="accepted",
        enterprise_number=entry.number,
        stored=stored,
        integrations=entry.integrations,
    )


@router.get(
    "/integrations/{enterprise_number}",
    response_model=IntegrationsAnswer,
    responses=error_responses(400, 401, 403, 404),
    summary="An enterprise's enabled integrations (from the cache)",
)
async def integrations(request: Request, enterprise_number: EnterpriseNumber) -> IntegrationsAnswer:
    entry = await runtime_of(request).extension(Gateway).cache.by_number(enterprise_number)
    if entry is None:
        raise NotFound("enterprise_not_found", "Enterprise not found.")
    return IntegrationsAnswer(
        enterprise_number=entry.number, integrations=entry.integrations, active=entry.active
    )


@router.post(
    "/cache/invalidate/{enterprise_number}",
    response_model=Invalidated,
    responses=error_responses(400, 401, 403),
    summary="Drop an enterprise from every process's cache now",
    description=(
        "For changes made straight in the database: every process reads the enterprise again "
        "on its next event (saving through the platform does this by itself)."
    ),
)
async def invalidate(
    request: Request, session: Session, enterprise_number: EnterpriseNumber
) -> Invalidated:
    runtime = runtime_of(request)
    runtime.extension(Gateway).cache.invalidate(enterprise_number)
    await announce_change(runtime.bus, session, enterprise_number)
    return Invalidated(invalidated=enterprise_number)


@router.get("/stats", response_model=StatsAnswer, summary="The cache's and deliveries' figures")
async def stats(request: Request, session: Session) -> StatsAnswer:
    cache = runtime_of(request).extension(Gateway).cache
    return StatsAnswer(
        cache_stats=CacheStats(**cache.report()),
        deliveries=await repository.delivery_counts(session),
        undispatched_events=await repository.undispatched_count(session),
    )


@router.get("/health", response_model=HealthAnswer, summary="Is the gateway current?")
async def health(request: Request) -> HealthAnswer:
    listening = runtime_of(request).extension(Gateway).cache.listening
    return HealthAnswer(status="ok" if listening else "degraded", listening=listening)
