"""The Starlette app: every API family's routes, the webhook worker's lifespan, Rails' 404s.

A path no route matches (or a method a path does not take) is a Rails routing error. Chatwoot's
production exception app renders it by the request's format, which for an unmatched route comes
from the `Accept` header or a `.json` extension: JSON asked for gets `{"status":404,"error":"Not
Found"}`, anything else (`*/*` included) gets the HTML 404 page. Either way it is a 404 that no
controller saw, so it needs no token and never says "Resource could not be found".
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from switchboard.sandbox.chatwoot import (
    api_account,
    api_attributes,
    api_contacts,
    api_conversations,
    api_platform,
    api_public,
)
from switchboard.sandbox.chatwoot.engine import Engine
from switchboard.sandbox.chatwoot.errors import rails_body
from switchboard.sandbox.chatwoot.http import json_response

CHATWOOT_VERSION = "4.10.0"


async def _api_info(request: Request) -> Response:
    return json_response(
        {"version": CHATWOOT_VERSION, "queue_services": "ok", "data_services": "ok"}
    )


async def _health(request: Request) -> Response:
    return json_response({"status": "woot"})


async def _blob(request: Request) -> Response:
    """Attachment downloads, standing in for ActiveStorage's redirect to the file."""
    engine: Engine = request.app.state.engine
    attachment = engine.store.attachment_by_key(request.path_params["key"])
    if attachment is None:
        return json_response(rails_body(404), 404)
    return Response(attachment.data, media_type=attachment.content_type)


NOT_FOUND_PAGE = """<!DOCTYPE html>
<html>
<head><title>Not found (404)</title></head>
<body><h1>404</h1><p>No route matches this path.</p></body>
</html>
"""


JSON_TYPES = ("application/json", "text/x-json", "application/jsonrequest")


def wants_json(request: Request) -> bool:
    """Rails' format for a route miss: a usable Accept header first, then a `.json` extension.

    An Accept list that also names `*/*` looks like a browser's and is ignored; otherwise its
    most preferred type decides (`*/*` alone means HTML).
    """
    accept = request.headers.get("accept", "").strip()
    if accept and not re.search(r",\s*\*/\*|\*/\*\s*,", accept):
        return _preferred(accept) in JSON_TYPES
    return request.url.path.endswith(".json")


def _preferred(accept: str) -> str:
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept.split(",")):
        media, *options = (piece.strip() for piece in part.split(";"))
        quality = 1.0
        for option in options:
            name, _, value = option.partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        ranked.append((-quality, position, media.lower()))
    return min(ranked)[2] if ranked else ""


def route_miss(request: Request) -> Response:
    if wants_json(request):
        return json_response(rails_body(404), 404)
    return HTMLResponse(NOT_FOUND_PAGE, status_code=404)


async def _routing_error(request: Request, exc: Exception) -> Response:
    """An unknown path or method is a Rails routing error, never seen by a controller."""
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    if status in (404, 405):
        return route_miss(request)
    return json_response(rails_body(status), status)


async def _crash(request: Request, exc: Exception) -> Response:
    return json_response(rails_body(500), 500)


def build_app(engine: Engine) -> PublicApiCors:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # Deliveries run in the loop that serves the app, so they work in a BackgroundServer thread.
        await engine.webhooks.start()
        try:
            yield
        finally:
            await engine.webhooks.stop()

    routes: list[Route] = [
        Route("/api", _api_info, methods=["GET"]),
        Route("/health", _health, methods=["GET"]),
        Route("/rails/active_storage/blobs/redirect/{key}/{filename}", _blob, methods=["GET"]),
        *api_public.ROUTES,
        *api_conversations.ROUTES,
        *api_contacts.ROUTES,
        *api_attributes.ROUTES,
        *api_account.ROUTES,
        *api_platform.ROUTES,
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={HTTPException: _routing_error, Exception: _crash},
    )
    app.state.engine = engine
    return PublicApiCors(app)


class PublicApiCors:
    """Chatwoot's rack-cors rule for the public API (`config/initializers/cors.rb`): any origin,
    any header and method under `/public/api/*`, so a website's own chat client can call it from
    the browser. Other paths get no CORS headers, as upstream in production."""

    def __init__(self, app: Starlette) -> None:
        self.inner = app
        self.state = app.state
        self.cors = CORSMiddleware(
            app, allow_origins=["*"], allow_methods=["*"], allow_headers=["*"]
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/public/api/"):
            await self.cors(scope, receive, send)
        else:
            await self.inner(scope, receive, send)
