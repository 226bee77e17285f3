"""The table of contents of the HTTP API: every router the platform serves."""

from __future__ import annotations

from fastapi import APIRouter

from switchboard.consultations.dictionaries.endpoints import router as dictionaries
from switchboard.core.health import router as health

# Order matters a little: routes are matched top to bottom, so the busiest come first.
ROUTERS: list[APIRouter] = [
    dictionaries,
    health,
]
