"""`POST /start`, `/dial`, `/bridge`, `/hangup`, `/download`: call events from the PBX (seed 003).

The event is committed before the answer (the PBX may forget it once answered), then answered
at once: CRMs and Telegram are told by the dispatcher, off this path. A repeated delivery of the
same event is stored once (`stored: false`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Body, Request
from fastapi.openapi.models import Example

from switchboard.core.errors import Forbidden, Unauthorized, error_responses
from switchboard.runtime import runtime_of
from switchboard.telephony.gateway.tasks import Gateway
from switchboard.telephony.ingest.schemas import EXAMPLE_DIAL, Accepted, AsteriskEvent
from switchboard.telephony.ingest.service import EVENT_TYPES, EventWriter, store_event

router = APIRouter(tags=["telephony: ingest"])

_ERRORS = error_responses(400, 401, 403, 422)


async def _accept(request: Request, event_type: str, event: AsteriskEvent) -> Accepted:
    runtime = runtime_of(request)
    enterprise = await runtime.extension(Gateway).cache.by_token(event.token)
    if enterprise is None:
        raise Unauthorized("unknown_token", "Unknown PBX token.")
    if not enterprise.active:
        raise Forbidden("enterprise_inactive", "The enterprise of this token is switched off.")
    stored = await store_event(runtime.extension(EventWriter), enterprise.number, event_type, event)
    return Accepted(status="ok", stored=stored)


_EXAMPLES: dict[str, Example] = {
    "dial": {"summary": "An incoming call rings two extensions", "value": EXAMPLE_DIAL}
}
_DESCRIPTION = (
    "A call event from the enterprise's PBX, authenticated by its `Token` (401 when unknown, "
    "403 when the enterprise is switched off; the token itself is never stored). The event is "
    "stored before the answer, with every field the PBX sent except the token, and answered at "
    "once; CRMs and Telegram are told off this path. The same event delivered again is stored "
    "once (`stored: false`). 422 names a malformed field."
)


_SUMMARIES = dict(
    zip(
        EVENT_TYPES,
        (
            "A call starts (PBX event)",
            "Extensions ring (PBX event)",
            "A call is answered and connected (PBX event)",
            "A call ends (PBX event)",
            "A call recovered by the PBX, or its recording (PBX event)",
        ),
        strict=True,
    )
)


def _endpoint(event_type: str) -> Callable[..., Awaitable[Accepted]]:
    async def accept(
        request: Request, event: AsteriskEvent = Body(openapi_examples=_EXAMPLES)
    ) -> Accepted:
        return await _accept(request, event_type, event)

    accept.__name__ = event_type
    return accept


for _event_type, _summary in _SUMMARIES.items():
    router.add_api_route(
        f"/{_event_type}",
        _endpoint(_event_type),
        methods=["POST"],
        response_model=Accepted,
        responses=_ERRORS,
        summary=_summary,
        description=_DESCRIPTION,
    )
