"""Settings of the consultations domain: seed 001's business rules and start-up behaviour."""

from __future__ import annotations

from datetime import date, time
from typing import Annotated, Any

from pydantic import Field, field_validator
from pydantic_settings import NoDecode

from switchboard.core.settings import SettingsSection, split_csv


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
    #: Pull clients, consultations and their registers from 1C once at start (the demo does).
    pull_on_start: bool = Field(False, validation_alias="PULL_ON_START")
    #: The first word of an owner's counterparty name in 1C and of a consultation's
    #: `АбонентПредставление`: `{prefix} {company or name} {code} ({INN})`.
    onec_client_name_prefix: str = Field(
        "Clobus", min_length=1, max_length=40, validation_alias="ONEC_CLIENT_NAME_PREFIX"
    )
    #: How old a signed Chatwoot delivery (`X-Chatwoot-Timestamp`) may be before it counts as a
    #: replay; the same in the other direction for a sender whose clock runs ahead.
    chatwoot_webhook_tolerance_seconds: int = Field(
        300, ge=30, le=3600, validation_alias="CHATWOOT_WEBHOOK_TOLERANCE_SECONDS"
    )
    #: With ENV=prod and no CHATWOOT_WEBHOOK_SECRET, webhooks are refused (401) unless this says
    #: the Chatwoot in front cannot sign (versions up to 4.11.1).
    chatwoot_webhook_allow_unsigned: bool = Field(
        False, validation_alias="CHATWOOT_WEBHOOK_ALLOW_UNSIGNED"
    )
    #: Departments (1C `Catalog_Отделы` names) whose staff consult on accounting; the automatic
    #: choice of a manager takes only them. Empty: any department.
    manager_departments: Annotated[list[str], NoDecode] = Field(
        default_factory=list, validation_alias="MANAGER_DEPARTMENTS"
    )

    #: Chatwoot teams a new consultation is assigned to, by its type (matched by name).
    chatwoot_team_accounting: str = Field(
        "Консультация по ведению учета", max_length=255, validation_alias="CHATWOOT_TEAM_ACCOUNTING"
    )
    chatwoot_team_tech_support: str = Field(
        "Техническая поддержка", max_length=255, validation_alias="CHATWOOT_TEAM_TECH_SUPPORT"
    )
    #: How long a booking waits for Chatwoot and 1C to take the new consultation before it
    #: answers anyway (what has not landed by then is carried out by the worker). 0: never wait.
    booking_wait_seconds: float = Field(3.0, ge=0, le=30, validation_alias="BOOKING_WAIT_SECONDS")

    #: The ETL from 1C (seed 001): where incremental reads start on the first run (default:
    #: 30 days ago), how far back each later run looks again, and keys per by-key read.
    etl_initial_from_date: date | None = Field(None, validation_alias="ETL_INITIAL_FROM_DATE")
    etl_cons_buffer_days: int = Field(
        7, ge=0, le=90, validation_alias="ETL_CONS_INCREMENTAL_BUFFER_DAYS"
    )
    etl_redate_buffer_hours: int = Field(
        6, ge=0, le=720, validation_alias="ETL_REDATE_BUFFER_HOURS"
    )
    etl_rates_buffer_hours: int = Field(6, ge=0, le=720, validation_alias="ETL_RATES_BUFFER_HOURS")
    etl_calls_buffer_hours: int = Field(12, ge=0, le=720, validation_alias="ETL_CALLS_BUFFER_HOURS")
    etl_calls_lookback_days: int = Field(7, ge=0, le=90, validation_alias="ETL_CALLS_LOOKBACK_DAYS")
    etl_cons_ref_key_batch_size: int = Field(
        200, ge=1, le=5000, validation_alias="ETL_CONS_REF_KEY_BATCH_SIZE"
    )

    @field_validator("manager_departments", mode="before")
    @classmethod
    def _departments_csv(cls, value: Any) -> Any:
        return split_csv(value)
