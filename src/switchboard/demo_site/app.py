"""The booking page's own little web server: static files and the page's configuration."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

STATIC = Path(__file__).resolve().parent / "static"


@dataclass(frozen=True)
class SiteConfig:
    """What the page needs to know; a real site would have it in its own settings."""

    #: Our API, e.g. http://127.0.0.1:8000 (it answers the page with CORS).
    api_url: str
    #: Chatwoot's base URL and the website inbox's identifier (its public API, as a widget uses).
    chatwoot_url: str
    inbox_identifier: str
    max_future_days: int = 30
    #: Sent as X-Front-Secret when set. A shared secret in a browser is public; the demo keeps
    #: front auth off, and production sites use OpenID tokens instead.
    front_secret: str | None = None
    #: The client the page books for (a logged-in customer on a real site).
    client: dict[str, Any] = field(default_factory=dict)
    #: The public key of the messenger inbox whose chat widget the shop page embeds.
    messenger_inbox: str | None = None


def create_site(config: SiteConfig) -> Starlette:
    async def page(request: Request) -> Response:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})

    async def shop(request: Request) -> Response:
        return FileResponse(STATIC / "shop.html", headers={"Cache-Control": "no-store"})

    async def settings(request: Request) -> Response:
        return JSONResponse(asdict(config), headers={"Cache-Control": "no-store"})

    return Starlette(
        routes=[
            Route("/", page),
            Route("/shop", shop),
            Route("/config.json", settings),
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
        ]
    )
