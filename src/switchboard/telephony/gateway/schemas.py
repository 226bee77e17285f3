"""Bodies and answers of the gateway's operator API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field


class DispatchRequest(BaseModel):
    """Seed 003's `POST /dispatch/call-event`: an event a call service hands to the gateway."""

    token: str = Field(min_length=1, max_length=200, description="The enterprise's PBX token.")
    unique_id: str = Field(alias="uniqueId", min_length=1, max_length=100)
    event_type: Literal["dial", "hangup"]
    raw: dict[str, Any] = Field(description="The PBX's event as it came.")
    record_url: str | None = Field(
        None, max_length=2000, description="Where the PBX serves the call's recording."
    )
    origin: Literal["live", "download"] = Field(
        "live", description="`download`: the PBX's recovery of a hangup it could not report."
    )

    model_config = {"populate_by_name": True}


class DispatchAnswer(BaseModel):
    status: str = Field(examples=["accepted"])
    enterprise_number: str = Field(examples=["0367"])
    stored: bool
    integrations: dict[str, bool] = Field(examples=[{"retailcrm": True}])


class IntegrationsAnswer(BaseModel):
    enterprise_number: str = Field(examples=["0367"])
    integrations: dict[str, bool] = Field(examples=[{"retailcrm": True}])
    active: bool


class CacheStats(BaseModel):
    total_entries: int
    hits: int
    misses: int
    hit_ratio: float | None
    database_reads: int
    invalidations: int
    last_full_refresh: datetime | None
    last_invalidation: datetime | None
    listening: bool
    ttl_seconds: float


class StatsAnswer(BaseModel):
    cache_stats: CacheStats
    deliveries: dict[str, int] = Field(
        description="Deliveries to CRMs by status.", examples=[{"pending": 0, "done": 120}]
    )
    undispatched_events: int


class HealthAnswer(BaseModel):
    status: Literal["ok", "degraded"]
    listening: bool = Field(description="The cache hears configuration changes right now.")


class Invalidated(BaseModel):
    invalidated: str = Field(examples=["0367"])
