"""HTTP endpoints of the managers part (filled in by its slice of issue 6)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
