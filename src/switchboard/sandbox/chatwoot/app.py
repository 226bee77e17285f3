"""The Starlette app: every API family's routes, the webhook worker's lifespan, Rails' 404s."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from switchboard.sandbox.chatwoot import (
    api_account,
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


async def _routing_error(request: Request, exc: Exception) -> Response:
    """An unknown path or method is a Rails routing error: always a 404 in Rails' JSON shape."""
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    status = 404 if status in (404, 405) else status
    return json_response(rails_body(status), status)


async def _crash(request: Request, exc: Exception) -> Response:
    return json_response(rails_body(500), 500)


def build_app(engine: Engine) -> Starlette:
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
        *api_account.ROUTES,
        *api_platform.ROUTES,
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={HTTPException: _routing_error, Exception: _crash},
    )
    app.state.engine = engine
    return app
