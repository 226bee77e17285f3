"""Server-Sent Events over the bus: heartbeats, exact `Last-Event-ID` resume, bounded lifetime,
and a poll fallback for clients that cannot hold a stream open.

Every stream starts with a frame that carries the channel's position as its `id`, so a browser
that reconnects (after the stream's lifetime, a network blip) sends `Last-Event-ID` and misses
nothing in between, even if it received no event at all.

A stream is one plain ASGI response rather than a generic streaming one: an idle connection
holds its subscription and one coroutine that waits for the next event or the next heartbeat;
whether the client has left is checked at each heartbeat. So one process holds thousands.
"""

from __future__ import annotations

import asyncio
from typing import Any

import structlog
from sqlalchemy.exc import SQLAlchemyError
from sse_starlette.sse import AppStatus
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from switchboard.core.errors import BadRequest
from switchboard.core.realtime.bus import EventBus, Subscription
from switchboard.core.realtime.events import Event, InvalidEventId

log = structlog.get_logger(__name__)

# Tells EventSource how long to wait before it reconnects after the server closed the stream.
RECONNECT_AFTER_MS = 2000
POLL_PAGE = 500
#: A client that does not take a frame within this time is dropped (it resumes later).
SEND_TIMEOUT_SECONDS = 30.0
#: How often a process checks whether its server has begun to stop.
EXIT_CHECK_SECONDS = 0.5
PING = b": ping\n\n"
HANDOFF_SCOPE_KEY = "switchboard.stream_handoff"


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


def event_frame(event: Event) -> bytes:
    # The model's JSON is compact (no newline), so it fits one `data:` line.
    return (f"id: {event.seq}\nevent: {event.type}\ndata: {event.data_json()}\n\n").encode()


def opening_frame(position: int) -> bytes:
    return f": connected\nid: {position}\nretry: {RECONNECT_AFTER_MS}\n\n".encode()


class EventStreamResponse(Response):
    """`text/event-stream` of one channel for one client.

    Under `StreamHandoff` the response sends its headers and opening frame through every layer
    of the app (request id, CORS, metrics see a normal answer), then leaves the request's call
    stack to the handoff, which streams the rest: an idle stream then holds its own coroutine
    only, not one for each layer of the app.
    """

    media_type = "text/event-stream"

    def __init__(
        self,
        bus: EventBus,
        channel: str,
        after: int | None,
        *,
        heartbeat_seconds: float,
        max_lifetime_seconds: float,
    ) -> None:
        # Not Response.__init__: a stream has no body, so no Content-Length either.
        self.status_code = 200
        self.background = None
        self.init_headers({"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
        self.bus = bus
        self.channel = channel
        self.after = after
        self.heartbeat_seconds = heartbeat_seconds
        self.max_lifetime_seconds = max_lifetime_seconds
        self._subscription: Subscription | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.bus.run_helper("end-streams-at-exit", lambda: _end_streams_at_exit(self.bus))
        subscription = await self.bus.open_subscription(self.channel, self.after)
        try:
            await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
            await _send_frame(send, opening_frame(subscription.position))
        except BaseException:
            subscription.detach()
            raise
        self._subscription = subscription
        self.raw_headers = []
        handoff: list[EventStreamResponse] | None = scope.get(HANDOFF_SCOPE_KEY)
        if handoff is not None:
            handoff.append(self)
            return
        await self.continue_stream(receive, send)

    async def continue_stream(self, receive: Receive, send: Send) -> None:
        """Stream until the lifetime ends, the client leaves or the process stops. One
        coroutine (no helpers awaited while idle): thousands of these are cheap."""
        subscription = self._subscription
        if subscription is None:
            raise RuntimeError("the stream has not started")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.max_lifetime_seconds
        try:
            while (remaining := deadline - loop.time()) > 0:
                try:
                    async with asyncio.timeout(min(self.heartbeat_seconds, remaining)):
                        event = await subscription.next()
                except TimeoutError:
                    # A heartbeat keeps proxies from closing a quiet stream; it is also when a
                    # client that left is noticed (no task per connection waits for that).
                    if await _client_left(receive):
                        break
                    await _send_frame(send, PING)
                    continue
                if event is None:
                    break
                await _send_frame(send, event_frame(event))
        except TimeoutError:
            log.info("event stream client stopped reading", channel=self.channel)
        except (SQLAlchemyError, OSError) as exc:
            # The answer has started: no error status now. Ending the stream makes the
            # client reconnect and meet the error (or the recovered database) then.
            log.warning("event stream ended by an error", channel=self.channel, error=str(exc))
        finally:
            subscription.detach()
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    def abandon(self) -> None:
        if self._subscription is not None:
            self._subscription.detach()


class StreamHandoff:
    """ASGI middleware, outside every layer that should see a stream as a normal answer:
    takes over event streams once their headers are out (see `EventStreamResponse`)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        handed: list[EventStreamResponse] = []
        # The layers keep per-request state in the scope (FastAPI its exit stacks): they get a
        # copy of their own, dropped with them at the handoff.
        try:
            await self.app({**scope, HANDOFF_SCOPE_KEY: handed}, receive, send)
        except BaseException:
            for stream in handed:
                stream.abandon()
            raise
        for stream in handed:
            await stream.continue_stream(receive, send)


async def _send_frame(send: Send, frame: bytes) -> None:
    async with asyncio.timeout(SEND_TIMEOUT_SECONDS):
        await send({"type": "http.response.body", "body": frame, "more_body": True})


async def _client_left(receive: Receive) -> bool:
    """Whether the server has reported the client gone, without waiting for it."""
    while True:
        try:
            async with asyncio.timeout(0):
                message = await receive()
        except TimeoutError:
            return False
        if message["type"] == "http.disconnect":
            return True


async def _end_streams_at_exit(bus: EventBus) -> None:
    """Streams never finish on their own; a server that is stopping waits for its responses.
    When it starts to stop (uvicorn's exit signal, as sse-starlette reports it), end them, so
    the process exits and the clients resume elsewhere with their last id."""
    # A flag set by a signal handler, so polled: there is nothing to await.
    while not AppStatus.should_exit:  # noqa: ASYNC110
        await asyncio.sleep(EXIT_CHECK_SECONDS)
    bus.drain()


async def event_stream(
    request: Request,
    bus: EventBus,
    channel: str,
    *,
    heartbeat_seconds: float,
    max_lifetime_seconds: float,
) -> EventStreamResponse:
    """A stream of `channel`'s events for one client, resumed after its `Last-Event-ID`.

    The stream ends after `max_lifetime_seconds` so that load balancers rebalance and no
    connection lives forever; the browser reconnects on its own and resumes where it stopped.
    """
    after = await resume_point(bus, channel, requested_last_event_id(request))
    return EventStreamResponse(
        bus,
        channel,
        after,
        heartbeat_seconds=heartbeat_seconds,
        max_lifetime_seconds=max_lifetime_seconds,
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
