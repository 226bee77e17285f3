"""HTTP endpoints of the clients part (filled in by its slice of issue 6)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
