"""Settings of the telephony domain (seed 003)."""

from __future__ import annotations

from pydantic import Field

from switchboard.core.settings import SettingsSection


class TelephonySettings(SettingsSection):
    # --- ingest: group commit of the PBX's events -------------------------------------------
    #: Events arriving together are written in one statement: at most this many …
    ingest_batch_max: int = Field(256, ge=1, le=5000, validation_alias="INGEST_BATCH_MAX")
    #: … gathered for at most this long after the first one (an answer waits for its commit).
    ingest_batch_wait_ms: float = Field(2.0, ge=0, le=100, validation_alias="INGEST_BATCH_WAIT_MS")

    # --- the integration cache (seed 003: TTL 90 s, full refresh every 180–300 s) ------------
    integration_cache_ttl_seconds: float = Field(
        90.0, gt=0, le=3600, validation_alias="INTEGRATION_CACHE_TTL_SECONDS"
    )
    integration_cache_refresh_min_seconds: float = Field(
        180.0, gt=0, validation_alias="INTEGRATION_CACHE_REFRESH_MIN_SECONDS"
    )
    integration_cache_refresh_max_seconds: float = Field(
        300.0, gt=0, validation_alias="INTEGRATION_CACHE_REFRESH_MAX_SECONDS"
    )
    integration_cache_cleanup_seconds: float = Field(
        30.0, gt=0, validation_alias="INTEGRATION_CACHE_CLEANUP_SECONDS"
    )
