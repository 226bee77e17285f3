"""The widget's two scripts at stable addresses, for any site to load:

- `/widget/widget-loader.js`: the snippet's script. Tiny; it loads `widget.js` after
  `data-load-after` seconds, on the first scroll (`data-load-on-scroll`), or at once, and hands it
  the snippet's `data-*` settings. Cached briefly (a new version reaches sites within minutes).
- `/widget/widget.js`: the widget itself. The loader asks for it with `?v=<its version>`, and
  that address is cached for a year (a new version has a new address); without the current
  version it is cached briefly.

Both carry an ETag (a repeated request with `If-None-Match` answers 304), are plain JavaScript
(`nosniff`) and may be loaded from any site (`Access-Control-Allow-Origin: *`,
`Cross-Origin-Resource-Policy: cross-origin`): they hold nothing secret.
"""

from __future__ import annotations

import hashlib
from html import escape
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Header, Query
from starlette.responses import Response

from switchboard.core.routing import StrictQueryRoute

STATIC = Path(__file__).resolve().parent / "static"
PREFIX = "/widget"
MEDIA_TYPE = "text/javascript; charset=utf-8"
#: What the loader's text says in place of the widget's version.
VERSION_MARK = "__WIDGET_VERSION__"
SHORT_CACHE = "public, max-age=300"
LONG_CACHE = "public, max-age=31536000, immutable"

router = APIRouter(prefix=PREFIX, tags=["messenger: widget scripts"], route_class=StrictQueryRoute)

IfNoneMatch = Annotated[str | None, Header(include_in_schema=False)]


def version_of(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()[:16]


def widget_script() -> bytes:
    return (STATIC / "widget.js").read_bytes()


def loader_script() -> bytes:
    """The loader, naming the current widget's version (so the widget's address changes with it)."""
    text = (STATIC / "widget-loader.js").read_text("utf-8")
    return text.replace(VERSION_MARK, version_of(widget_script())).encode()


def embed_snippet(api_url: str, public_key: str) -> str:
    """The HTML a site pastes into its pages to show the chat of the inbox `public_key`, served
    by the API at `api_url` (e.g. `https://api.example.com`)."""
    base = api_url.rstrip("/")
    return (
        f'<script src="{escape(base)}{PREFIX}/widget-loader.js" '
        f'data-inbox="{escape(public_key)}" data-api="{escape(base)}" async></script>'
    )


def _script(content: bytes, cache_control: str, if_none_match: str | None) -> Response:
    etag = f'"{version_of(content)}"'
    headers = {
        "ETag": etag,
        "Cache-Control": cache_control,
        "Access-Control-Allow-Origin": "*",
        "Cross-Origin-Resource-Policy": "cross-origin",
        "X-Content-Type-Options": "nosniff",
    }
    held = {tag.strip().removeprefix("W/") for tag in (if_none_match or "").split(",")}
    if etag in held:
        return Response(status_code=304, headers=headers)
    return Response(content, media_type=MEDIA_TYPE, headers=headers)


@router.get(
    "/widget-loader.js",
    response_class=Response,
    responses={200: {"content": {"text/javascript": {}}, "description": "The loader script"}},
    summary="The chat widget's loader (the script of the embed snippet)",
    description=(
        "Loads `widget.js` after `data-load-after` seconds, on the first scroll "
        "(`data-load-on-scroll`) or at once, and passes it the snippet's settings "
        "(`data-inbox`, `data-api`, `data-lang`). Any site may load it; cached for 5 minutes, "
        "with an ETag."
    ),
)
async def loader(if_none_match: IfNoneMatch = None) -> Response:
    return _script(loader_script(), SHORT_CACHE, if_none_match)


@router.get(
    "/widget.js",
    response_class=Response,
    responses={200: {"content": {"text/javascript": {}}, "description": "The widget script"}},
    summary="The chat widget",
    description=(
        "The widget (its own Shadow DOM, under 40 KB). With `v` equal to the current version "
        "(what the loader asks for) it is cached for a year; otherwise for 5 minutes. Any "
        "site may load it; with an ETag."
    ),
)
async def widget(
    v: Annotated[
        str | None,
        Query(max_length=64, pattern=r"^[A-Za-z0-9_-]+$", description="The widget's version"),
    ] = None,
    if_none_match: IfNoneMatch = None,
) -> Response:
    content = widget_script()
    current = v is not None and v == version_of(content)
    return _script(content, LONG_CACHE if current else SHORT_CACHE, if_none_match)
