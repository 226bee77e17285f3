"""The table of contents of the HTTP API: every domain's routers, then the platform's own."""

from __future__ import annotations

from fastapi import APIRouter

from switchboard import domains
from switchboard.ops.health import router as health


def routers() -> list[APIRouter]:
    # Routes are matched top to bottom, so the busiest (the domains') come first.
    return [*domains.routers(), health]
