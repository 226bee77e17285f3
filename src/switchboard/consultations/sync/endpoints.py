"""Admin endpoints of the outbox and the ETL state (filled in by the sync slice of issue 6)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
