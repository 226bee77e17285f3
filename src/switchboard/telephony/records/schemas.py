"""The shapes of the records part."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class CallRecord:
    """What the dispatcher keeps of a call in `telephony.calls` (the columns it owns; the
    recording's storage columns are the fetcher's)."""

    enterprise_number: str
    unique_id: str
    started_at: datetime | None = None
    direction: str | None = None
    phone: str | None = None
    trunk: str | None = None
    extensions: list[str] = field(default_factory=list)
    answered_by: str | None = None
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    result: str | None = None
    talk_seconds: int | None = None
    total_seconds: int | None = None
    record_id: uuid.UUID | None = None
    record_source: str | None = None
    record_status: str | None = None
    record_error: str | None = None
