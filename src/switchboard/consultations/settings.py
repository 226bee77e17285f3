"""Settings of the consultations domain: seed 001's business rules and start-up behaviour."""

from __future__ import annotations

from datetime import time

from pydantic import Field

from switchboard.core.settings import SettingsSection


class ConsultationSettings(SettingsSection):
    max_future_consultation_days: int = Field(
        30, ge=1, le=365, validation_alias="MAX_FUTURE_CONSULTATION_DAYS"
    )
    cancel_consultation_timeout_minutes: int = Field(
        90, ge=0, le=1440, validation_alias="CANCEL_CONSULTATION_TIMEOUT_MINUTES"
    )
    tech_support_working_hours_start: time = Field(
        time(9, 0), validation_alias="TECH_SUPPORT_WORKING_HOURS_START"
    )
    tech_support_working_hours_end: time = Field(
        time(18, 0), validation_alias="TECH_SUPPORT_WORKING_HOURS_END"
    )
    send_queue_wait_time_message: bool = Field(
        True, validation_alias="SEND_QUEUE_WAIT_TIME_MESSAGE"
    )
    dict_cache_ttl_seconds: float = Field(1800, gt=0, validation_alias="DICT_CACHE_TTL_SECONDS")
    dict_cache_max_entries: int = Field(
        512, ge=1, le=100_000, validation_alias="DICT_CACHE_MAX_ENTRIES"
    )
    load_dicts_on_start: bool = Field(True, validation_alias="LOAD_DICTS_ON_START")
    sync_users_on_start: bool = Field(False, validation_alias="SYNC_USERS_ON_START")
