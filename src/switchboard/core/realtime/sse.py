"""Server-Sent Events over the bus: heartbeats, exact `Last-Event-ID` resume, bounded lifetime,
and a poll fallback for clients that cannot hold a stream open.

Every stream starts with a frame that carries the channel's position as its `id`, so a browser
that reconnects (after the stream's lifetime, a network blip) sends `Last-Event-ID` and misses
nothing in between, even if it received no event at all.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.requests import Request

from switchboard.core.errors import BadRequest
from switchboard.core.realtime.bus import EventBus
from switchboard.core.realtime.events import InvalidEventId

# Tells EventSource how long to wait before it reconnects after the server closed the stream.
RECONNECT_AFTER_MS = 2000
POLL_PAGE = 500


def requested_last_event_id(request: Request) -> str | None:
    """The id the client saw last: the standard header, or `last_event_id` in the query."""
    value = request.headers.get("last-event-id") or request.query_params.get("last_event_id")
    return value.strip() or None if value else None


async def resume_point(bus: EventBus, channel: str, raw_id: str | None) -> int | None:
    """The client's position in `channel`, or a 400 `invalid_event_id` for an id that is not a
    plain number, does not fit, or is ahead of the channel."""
    if raw_id is None:
        return None
    try:
        return await bus.resume_point(channel, raw_id)
    except InvalidEventId as exc:
        raise BadRequest("invalid_event_id", exc.message, head=exc.head) from None


async def event_stream(
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
    after = await resume_point(bus, channel, requested_last_event_id(request))

    async def frames() -> AsyncIterator[ServerSentEvent]:
        deadline = time.monotonic() + max_lifetime_seconds
        async with bus.subscribe(channel, after) as subscription:
            yield ServerSentEvent(
                comment="connected", id=str(subscription.position), retry=RECONNECT_AFTER_MS
            )
            events = subscription.events().__aiter__()
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return
                try:
                    event = await asyncio.wait_for(events.__anext__(), timeout=remaining)
                except (StopAsyncIteration, TimeoutError):
                    return
                yield ServerSentEvent(
                    data=event.payload.model_dump_json(), event=event.type, id=event.id
                )

    return EventSourceResponse(
        frames(),
        ping=heartbeat_seconds,
        send_timeout=30,
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


async def poll_events(bus: EventBus, channel: str, after: str | None) -> dict[str, Any]:
    """The poll fallback: events after `after`, and the id to ask from next time. Without
    `after`, no events and the channel's current position, to poll from."""
    position = await resume_point(bus, channel, after)
    if position is None:
        return {"events": [], "last_event_id": str(await bus.head(channel))}
    events = await bus.history(channel, position, limit=POLL_PAGE)
    last = events[-1].id if events else str(position)
    return {"events": [event.as_json() for event in events], "last_event_id": last}
