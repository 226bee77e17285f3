"""Server-Sent Events over the bus: heartbeats, `Last-Event-ID` resume, bounded lifetime, and a
poll fallback for clients that cannot hold a stream open."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import orjson
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.requests import Request

from switchboard.core.errors import BadRequest
from switchboard.core.realtime.bus import EventBus, InvalidEventId

# Tells EventSource how long to wait before it reconnects after the server closed the stream.
RECONNECT_AFTER_MS = 2000


def requested_last_event_id(request: Request) -> str | None:
    """The id the client saw last: the standard header, or `last_event_id` in the query."""
    value = request.headers.get("last-event-id") or request.query_params.get("last_event_id")
    return value.strip() or None if value else None


def _validated(bus: EventBus, event_id: str | None) -> str | None:
    if event_id is None:
        return None
    try:
        bus.sort_key(event_id)
    except InvalidEventId:
        raise BadRequest("invalid_event_id", "Unknown event id (Last-Event-ID).") from None
    return event_id


def event_stream(
    request: Request,
    bus: EventBus,
    channel: str,
    *,
    heartbeat_seconds: float,
    max_lifetime_seconds: float,
) -> EventSourceResponse:
    """A stream of `channel`'s events for one client, resumed after its `Last-Event-ID`.

    The stream ends after `max_lifetime_seconds` so that load balancers rebalance and no
    connection lives forever; the browser reconnects on its own and resumes where it stopped.
    """
    after = _validated(bus, requested_last_event_id(request))

    async def frames() -> AsyncIterator[ServerSentEvent]:
        deadline = time.monotonic() + max_lifetime_seconds
        yield ServerSentEvent(comment="connected", retry=RECONNECT_AFTER_MS)
        async with bus.subscribe(channel) as subscription:
            events = subscription.events(after).__aiter__()
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return
                try:
                    event = await asyncio.wait_for(events.__anext__(), timeout=remaining)
                except (StopAsyncIteration, TimeoutError):
                    return
                yield ServerSentEvent(
                    data=orjson.dumps(event.data).decode(), event=event.type, id=event.id
                )

    return EventSourceResponse(
        frames(),
        ping=heartbeat_seconds,
        send_timeout=30,
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


async def poll_events(bus: EventBus, channel: str, after: str | None) -> dict[str, Any]:
    """The poll fallback: events after `after`, and the id to ask from next time."""
    after = _validated(bus, after)
    if after is None:
        return {"events": [], "last_event_id": None}
    events = await bus.history(channel, after, limit=500)
    last = events[-1].id if events else after
    return {"events": [event.as_json() for event in events], "last_event_id": last}
