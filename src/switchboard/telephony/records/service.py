"""Call records and their recordings.

Each stored event updates the call's row in `telephony.calls` (who rang, who answered, how it
ended, how long it took). A hangup or a `download` event that names the PBX's recording
(`RecordUrl`) gives the call a recording id; the delivery service then fetches the file from the
PBX into the store (`storage.py`), and CRMs and chats get the platform's own link to it:
`{PUBLIC_URL}/recordings/{id}?expires=…&signature=…`, an HMAC under a key kept for this purpose
alone, valid for `RECORDINGS_LINK_DAYS`.
"""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, tzinfo
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.integrations.retailcrm import mapping
from switchboard.telephony.models import Call, CallEvent
from switchboard.telephony.records import repository
from switchboard.telephony.records.schemas import CallRecord

#: The signing key's purpose (`SecretBox.signing_key`): a recording link and nothing else.
LINK_PURPOSE = "telephony.recording-link"


# --- the signed link ---------------------------------------------------------------------------


def signature(key: bytes, record_id: str, expires: int) -> str:
    return hmac.new(key, f"{record_id}:{expires}".encode(), hashlib.sha256).hexdigest()


def link(base_url: str, key: bytes, record_id: str, *, days: int, now: float | None = None) -> str:
    expires = int((time.time() if now is None else now) + days * 86400)
    query = f"expires={expires}&signature={signature(key, record_id, expires)}"
    return f"{base_url.rstrip('/')}/recordings/{record_id}?{query}"


LinkState = Literal["valid", "forged", "expired"]


def check_link(
    key: bytes, record_id: str, expires: int, given: str, *, now: float | None = None
) -> LinkState:
    """Forged before expired: an altered expiry is a forgery, not an old link."""
    expected = signature(key, record_id, expires).encode()
    if not hmac.compare_digest(expected, given.lower().encode()):
        return "forged"
    if expires < (time.time() if now is None else now):
        return "expired"
    return "valid"


# --- the call record ---------------------------------------------------------------------------


def _direction(raw: mapping.Raw) -> str:
    if raw.get("CallType") in (2, "2"):
        return "internal"
    return mapping.direction(raw) or "internal"


def _result(raw: mapping.Raw) -> str:
    verdict = mapping.result(raw)
    return "missed" if verdict == "no answer" else verdict


def recording_source(raw: mapping.Raw) -> str | None:
    """The PBX's URL of the call's recording, when the event names one."""
    value = str(raw.get("RecordUrl") or "").strip()
    return value if value.startswith(("http://", "https://")) and len(value) <= 2000 else None


async def calls_of(
    session: AsyncSession, keys: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], CallRecord]:
    return await repository.records_of(session, keys)


async def save(session: AsyncSession, records: Sequence[CallRecord]) -> None:
    await repository.save_records(session, records)


def note_event(
    record: CallRecord | None, event: CallEvent, first_seen: datetime | None, zone: tzinfo
) -> CallRecord:
    """The call's record after `event` (a new one for the call's first event). `zone`: the
    PBX's."""
    raw = event.raw_data
    if record is None:
        record = CallRecord(
            enterprise_number=event.enterprise_number,
            unique_id=event.unique_id,
            started_at=first_seen or event.received_at,
        )
    record.direction = record.direction or _direction(raw)
    record.phone = record.phone or mapping.e164(mapping.customer_phone(raw))
    record.trunk = record.trunk or (str(raw.get("Trunk") or "") or None)
    heard = mapping.extensions(raw)
    if any(number not in record.extensions for number in heard):
        record.extensions = [*record.extensions, *(n for n in heard if n not in record.extensions)]
    if event.event_type == "bridge" and record.answered_at is None:
        record.answered_at = event.received_at
        record.answered_by = _answerer(raw) or record.answered_by
    if event.event_type in ("hangup", "download"):
        _note_end(record, event, zone)
    return record


def _answerer(raw: mapping.Raw) -> str | None:
    for key in ("ConnectedLineNum", "CallerIDNum"):
        value = str(raw.get(key) or "")
        if mapping.is_internal(value):
            return value
    return None


def _note_end(call: CallRecord, event: CallEvent, zone: tzinfo) -> None:
    raw = event.raw_data
    began = call.started_at.astimezone(zone).replace(tzinfo=None) if call.started_at else None
    moments = mapping.times(raw, began)
    call.result = _result(raw)
    call.ended_at = call.ended_at or event.received_at
    call.talk_seconds = moments.talk_seconds
    call.total_seconds = moments.waiting_seconds + moments.talk_seconds
    if mapping.answered(raw):
        handled = mapping.extensions(raw)
        call.answered_by = handled[-1] if handled else call.answered_by
    source = recording_source(raw)
    if source and call.record_status != "stored":
        call.record_source = source
        call.record_status = "pending"
        call.record_error = None
        call.record_id = call.record_id or uuid.uuid4()


def storage_key(call: Call, extension: str) -> str:
    when = call.started_at or datetime.now(UTC)
    return f"{call.enterprise_number}/{when:%Y/%m}/{call.record_id}{extension}"
