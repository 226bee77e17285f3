"""The PBX's four event paths, answered without FastAPI's router and request machinery.

A PBX sends every event of every call; at thousands a second the router's walk over the app's
routes and the per-request dependency machinery cost more than storing the event. This ASGI
layer (inside the request pipeline: request ids, rate limits, metrics and logs still apply)
answers the well-formed events of known, active enterprises itself, exactly as the route would.
Anything else — a malformed body, an unknown token, a switched-off enterprise, a body over
`MAX_BODY` — goes on to the regular route with the body it read, so every refusal is the one
the API documents.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import orjson
import psycopg
from pydantic import ValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from switchboard.core.errors import is_database_outage
from switchboard.telephony.gateway.tasks import Gateway
from switchboard.telephony.ingest.schemas import AsteriskEvent
from switchboard.telephony.ingest.service import EVENT_TYPES, EventWriter, store_event

PATHS = {f"/{event_type}": event_type for event_type in EVENT_TYPES}
#: Larger bodies are left to the regular route (and its limits).
MAX_BODY = 64 * 1024
_HEADERS = [(b"content-type", b"application/json")]


class IngestFastPath:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        #: What the metrics label these requests with (the regular routes' paths).
        self._routes = {path: SimpleNamespace(path=path) for path in PATHS}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        event_type = PATHS.get(scope["path"]) if scope["type"] == "http" else None
        if event_type is None or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        body, complete = await _read(receive)
        runtime = getattr(scope["app"].state, "runtime", None)
        if complete and runtime is not None:
            stored = await self._store(runtime, event_type, body)
            if stored is not None:
                scope["route"] = self._routes[scope["path"]]
                answer = orjson.dumps({"status": "ok", "stored": stored})
                headers = [*_HEADERS, (b"content-length", str(len(answer)).encode())]
                await send({"type": "http.response.start", "status": 200, "headers": headers})
                await send({"type": "http.response.body", "body": answer})
                return
        await self.app(scope, _replay(body, receive if not complete else None), send)

    @staticmethod
    async def _store(runtime: Any, event_type: str, body: bytes) -> bool | None:
        """Whether the event was new; None when the regular route must answer."""
        try:
            event = AsteriskEvent.model_validate_json(body)
        except ValidationError:
            return None
        enterprise = await runtime.extension(Gateway).cache.by_token(event.token)
        if enterprise is None or not enterprise.active:
            return None
        try:
            return await store_event(
                runtime.extension(EventWriter), enterprise.number, event_type, event
            )
        except psycopg.Error as error:
            if is_database_outage(error):
                return None  # the regular route tries again, and answers 503 as every route does
            raise


async def _read(receive: Receive) -> tuple[bytes, bool]:
    """The body, and whether it is all of it (False past MAX_BODY: the rest is still unread)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), False
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), True
        if size > MAX_BODY:
            return b"".join(chunks), False


def _replay(body: bytes, rest: Receive | None) -> Receive:
    """A receive that gives back what was read, then the rest of the body (if any)."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": rest is not None}
        if rest is not None:
            return await rest()
        return {"type": "http.disconnect"}

    return receive
