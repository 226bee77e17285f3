"""Settings of the messenger domain (issue 8, seed 004)."""

from __future__ import annotations

from pydantic import Field

from switchboard.messenger.attachments.settings import AttachmentSettings


class MessengerSettings(AttachmentSettings):
    #: An assigned conversation not opened by its operator within this many seconds goes to the
    #: next operator (seed 004 item 3: 4 minutes). Once opened, never by timeout.
    messenger_escalation_seconds: int = Field(
        240, ge=10, le=86400, validation_alias="MESSENGER_ESCALATION_SECONDS"
    )
    #: The branch (its code) of visitors whose region is unknown or matches no rule.
    messenger_default_branch: str = Field("", validation_alias="MESSENGER_DEFAULT_BRANCH")
    #: A MaxMind City database (`.mmdb`, GeoLite2-City or GeoIP2-City) for visitors' regions;
    #: unset: no lookup, every visitor without a declared region goes to the default branch.
    geoip_database_path: str = Field("", validation_alias="GEOIP_DATABASE_PATH")
    #: How long a staff member's login lasts (the session cookie and its row), in hours.
    messenger_session_hours: int = Field(
        12, ge=1, le=720, validation_alias="MESSENGER_SESSION_HOURS"
    )
    #: How long a visitor's stream key (`bootstrap`'s `stream_key`) opens the event stream.
    messenger_stream_key_hours: int = Field(
        24, ge=1, le=720, validation_alias="MESSENGER_STREAM_KEY_HOURS"
    )
    #: A comment line on a quiet event stream of the widget or the panel every this many
    #: seconds (keeps proxies from closing it; notices clients that left).
    messenger_sse_heartbeat_seconds: float = Field(
        20, gt=0, le=300, validation_alias="MESSENGER_SSE_HEARTBEAT_SECONDS"
    )
    #: An event stream ends after this many seconds (the browser resumes with Last-Event-ID), so
    #: connections rebalance across processes.
    messenger_sse_lifetime_seconds: float = Field(
        1800, gt=0, le=86400, validation_alias="MESSENGER_SSE_LIFETIME_SECONDS"
    )
