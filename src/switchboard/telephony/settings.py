"""Settings of the telephony domain (seed 003)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AnyHttpUrl, Field, SecretStr

from switchboard.core.settings import SettingsSection


class TelephonySettings(SettingsSection):
    # --- ingest: group commit of the PBX's events -------------------------------------------
    #: Events arriving while the writer's connections are busy go together in one statement: at
    #: most this many.
    ingest_batch_max: int = Field(256, ge=1, le=5000, validation_alias="INGEST_BATCH_MAX")
    #: The writer's own connections (statements in flight at once).
    ingest_connections: int = Field(2, ge=1, le=32, validation_alias="INGEST_CONNECTIONS")
    #: Extra time a write waits for more events to join (0: none; the batches grow with the
    #: load by themselves).
    ingest_batch_wait_ms: float = Field(0.0, ge=0, le=100, validation_alias="INGEST_BATCH_WAIT_MS")

    # --- where the delivery service runs -----------------------------------------------------
    #: API processes also run the delivery service (plans and sends what CRMs and chats are
    #: owed). Off: they only take events, and `switchboard telephony-deliver` processes (or the
    #: worker) deliver; for PBXs sending thousands of events a second.
    telephony_delivery_in_api: bool = Field(True, validation_alias="TELEPHONY_DELIVERY_IN_API")

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

    # --- call recordings ---------------------------------------------------------------------
    #: Where fetched recordings are kept: `local` (a folder) or `s3` (any S3-compatible store).
    recordings_storage: Literal["local", "s3"] = Field(
        "local", validation_alias="RECORDINGS_STORAGE"
    )
    #: The folder of `local` storage; unset: `<DATA_DIR>/recordings`.
    recordings_dir: Path | None = Field(None, validation_alias="RECORDINGS_DIR")
    recordings_s3_endpoint: AnyHttpUrl | None = Field(
        None, validation_alias="RECORDINGS_S3_ENDPOINT"
    )
    recordings_s3_bucket: str = Field("call-recordings", validation_alias="RECORDINGS_S3_BUCKET")
    recordings_s3_region: str = Field("us-east-1", validation_alias="RECORDINGS_S3_REGION")
    recordings_s3_access_key: str = Field("", validation_alias="RECORDINGS_S3_ACCESS_KEY")
    recordings_s3_secret_key: SecretStr = Field(
        SecretStr(""), validation_alias="RECORDINGS_S3_SECRET_KEY"
    )
    #: How long a `recordUrl` given to a CRM or a chat stays valid.
    recordings_link_days: int = Field(90, ge=1, le=3650, validation_alias="RECORDINGS_LINK_DAYS")
    #: The largest recording fetched from a PBX.
    recordings_max_bytes: int = Field(
        200 * 1024 * 1024, ge=1024, validation_alias="RECORDINGS_MAX_BYTES"
    )
    #: How long one fetch from the PBX may take.
    recordings_fetch_timeout_seconds: float = Field(
        30.0, gt=0, le=600, validation_alias="RECORDINGS_FETCH_TIMEOUT_SECONDS"
    )
