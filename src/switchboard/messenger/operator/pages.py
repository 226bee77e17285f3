"""The operator panel's pages (Russian): `/messenger/login`, `/messenger/` and their own
assets (no third-party host: the panel works offline). The pages are shells; the panel's
ES modules talk to the JSON API (`/api/messenger/...`)."""

from __future__ import annotations

import io
import math
import struct
import wave
from functools import cache
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Cookie, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from switchboard.core.errors import ApiError, NotFound
from switchboard.messenger.accounts import service as accounts
from switchboard.messenger.accounts.endpoints import SESSION_COOKIE
from switchboard.runtime import Session

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
PREFIX = "/messenger"

pages = APIRouter(prefix=PREFIX, include_in_schema=False)

ROLE_NAMES = {"operator": "оператор", "supervisor": "супервизор", "admin": "администратор"}
_STATIC = {
    "panel.js": "text/javascript; charset=utf-8",
    "api.js": "text/javascript; charset=utf-8",
    "live.js": "text/javascript; charset=utf-8",
    "login.js": "text/javascript; charset=utf-8",
    "panel.css": "text/css; charset=utf-8",
    "logo.svg": "image/svg+xml",
}
_NO_STORE = {"Cache-Control": "no-store"}


@pages.get("/login", response_class=HTMLResponse)
async def login_page(request: Request) -> Response:
    return templates.TemplateResponse(request, "login.html", {}, headers=_NO_STORE)


@pages.get("/", response_class=HTMLResponse)
async def panel_page(
    request: Request,
    session: Session,
    token: Annotated[str | None, Cookie(alias=SESSION_COOKIE, max_length=200)] = None,
) -> Response:
    """The panel of the signed-in staff member; without a live login, the login page."""
    try:
        record = await accounts.signed_in(session, token)
    except ApiError:
        return RedirectResponse(f"{PREFIX}/login", status_code=303)
    staff = record.staff
    return templates.TemplateResponse(
        request,
        "panel.html",
        {
            "staff": staff,
            "role_name": ROLE_NAMES.get(staff.role, staff.role),
            "oversees": staff.role in ("supervisor", "admin"),
        },
        headers=_NO_STORE,
    )


@cache
def notification_sound() -> bytes:
    """A short two-note chime as a WAV file (8 kHz, 16-bit mono, about 5 KB), made here."""
    rate = 8000
    frames = bytearray()
    for frequency, seconds in ((880.0, 0.12), (1320.0, 0.18)):
        count = int(rate * seconds)
        for n in range(count):
            # A quick fade in and out keeps the notes from clicking.
            envelope = min(1.0, n / 80, (count - n) / 400)
            sample = 0.35 * envelope * math.sin(2 * math.pi * frequency * n / rate)
            frames += struct.pack("<h", int(sample * 32767))
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(bytes(frames))
    return buffer.getvalue()


@pages.get("/static/notify.wav")
async def sound() -> Response:
    return Response(
        notification_sound(), media_type="audio/wav", headers={"Cache-Control": "max-age=86400"}
    )


@pages.get("/static/{name}")
async def static_file(name: str) -> Response:
    """The panel's own scripts and styles."""
    media_type = _STATIC.get(name)
    if media_type is None:
        raise NotFound("not_found", "Not found.")
    return Response(
        (HERE / "static" / name).read_bytes(),
        media_type=media_type,
        headers={"Cache-Control": "no-cache"},
    )
