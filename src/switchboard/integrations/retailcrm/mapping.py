"""Seed 003's mapping of PBX events to RetailCRM: pure functions, no I/O.

- Direction: `CallType` 0 → `in`, 1 → `out`, 2 (internal) → not for the CRM; without it, the
  side that is an internal number says.
- Phones: E.164 (`+375…`) for `call/event`, digits without `+` for `calls/upload`.
- Managers: the internal numbers concerned as `codes` (every extension of a ring group, not just
  the first); `userIds` (through the enterprise's `user_extensions`) only when no code is known.
- `callExternalId` / `externalId` = the PBX's `UniqueId`.
- Times are the PBX's local times as it sent them; an unanswered call's date is when it arrived
  (`DateReceived`), never the time of the upload.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import phonenumbers

Raw = Mapping[str, Any]

_INTERNAL = re.compile(r"^\d{2,5}$")
_PBX_TIME = "%Y-%m-%d %H:%M:%S"
#: Q.850 cause 17 = user busy (and a `CallStatus` some PBXs send for it).
_BUSY_CAUSES = {"17"}


def is_internal(number: str | None) -> bool:
    """An internal number (extension): 2 to 5 digits."""
    return bool(number) and bool(_INTERNAL.match(str(number)))


@functools.lru_cache(maxsize=8192)  # the same customers call again and again
def e164(number: str | None) -> str | None:
    """`375291234567`, `+375 29 123-45-67` → `+375291234567`; None for no number."""
    if not number:
        return None
    digits = re.sub(r"\D", "", str(number))
    if not digits:
        return None
    try:
        parsed = phonenumbers.parse("+" + digits)
        if phonenumbers.is_possible_number(parsed):
            return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    except phonenumbers.NumberParseException:
        pass
    return "+" + digits


def direction(raw: Raw) -> str | None:
    """`in`, `out`, or None for an internal call (which the CRM does not get)."""
    call_type = raw.get("CallType")
    if call_type in (0, "0"):
        return "in"
    if call_type in (1, "1"):
        return "out"
    if call_type in (2, "2"):
        return None
    caller = str(raw.get("CallerIDNum") or "")
    phone = str(raw.get("Phone") or "")
    if is_internal(caller) and phone and not is_internal(phone):
        return "out"
    if is_internal(caller) and (not phone or is_internal(phone)):
        return None
    return "in"


def customer_phone(raw: Raw) -> str | None:
    """The customer's number: `Phone`, else the external one of the caller and the other side."""
    for key in ("Phone", "CallerIDNum", "ConnectedLineNum"):
        value = raw.get(key)
        if value and not is_internal(str(value)):
            return str(value)
    return None


def extensions(raw: Raw) -> list[str]:
    """The internal numbers an event concerns, in order, once each."""
    found: list[str] = []
    listed = raw.get("Extensions") or []
    candidates = [*listed] if isinstance(listed, list) else [listed]
    candidates += [raw.get("CallerIDNum"), raw.get("ConnectedLineNum")]
    for value in candidates:
        text = str(value) if value is not None else ""
        if is_internal(text) and text not in found:
            found.append(text)
    return found


def managers(codes: Sequence[str], user_extensions: Mapping[str, str | None]) -> dict[str, Any]:
    """`codes` when any is known, else the CRM users of these numbers (`userIds`)."""
    known = {code for code in user_extensions.values() if code}
    if any(code in known for code in codes) or not user_extensions:
        return {"codes": list(codes)} if codes else {}
    user_ids = [int(user) for user, code in user_extensions.items() if code in codes]
    return {"userIds": user_ids} if user_ids else {"codes": list(codes)} if codes else {}


def answered(raw: Raw) -> bool:
    return str(raw.get("CallStatus") or "") == "2"


def result(raw: Raw) -> str:
    """RetailCRM's call result: `answered`, `busy` or `no answer`."""
    if answered(raw):
        return "answered"
    cause = str(raw.get("Cause") or "")
    if cause in _BUSY_CAUSES or str(raw.get("CallStatus") or "") == "1":
        return "busy"
    return "no answer"


def _parse(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        # The PBX sends its local wall-clock time, and RetailCRM takes the same.
        return datetime.strptime(str(value).replace("T", " ")[:19], _PBX_TIME)  # noqa: DTZ007
    except ValueError:
        return None


@dataclass(frozen=True)
class CallTimes:
    began: datetime | None
    answered: datetime | None
    ended: datetime | None

    @property
    def talk_seconds(self) -> int:
        if self.answered is None or self.ended is None:
            return 0
        return max(0, int((self.ended - self.answered).total_seconds()))

    @property
    def waiting_seconds(self) -> int:
        start = self.began
        stop = self.answered or self.ended
        if start is None or stop is None:
            return 0
        return max(0, int((stop - start).total_seconds()))


def times(hangup: Raw, first_seen: datetime | None) -> CallTimes:
    """A call's times from its hangup (`StartTime` is the answer, empty when unanswered) and the
    first event's arrival (`DateReceived`) when the hangup lacks it."""
    if first_seen is not None and first_seen.tzinfo is not None:
        # The PBX's times are naive wall-clock times; an aware one cannot be compared with them.
        first_seen = first_seen.replace(tzinfo=None)
    answered_at = _parse(hangup.get("StartTime")) if answered(hangup) else None
    ended = _parse(hangup.get("EndTime"))
    began = _parse(hangup.get("DateReceived")) or first_seen or answered_at or ended
    return CallTimes(began=began, answered=answered_at, ended=ended)


def call_event(
    kind: str, raw: Raw, user_extensions: Mapping[str, str | None], *, unique_id: str
) -> dict[str, Any] | None:
    """The `event` of `POST telephony/call/event` for a dial (`kind` in|out) or a hangup."""
    phone = e164(customer_phone(raw))
    if phone is None:
        return None
    event: dict[str, Any] = {"phone": phone, "type": kind, "callExternalId": unique_id}
    event.update(managers(extensions(raw), user_extensions))
    if kind == "hangup":
        event["hangupStatus"] = "answered" if answered(raw) else "no answered"
    return event


def upload(
    hangup: Raw,
    kind: str,
    user_extensions: Mapping[str, str | None],
    *,
    unique_id: str,
    first_seen: datetime | None,
    record_url: str | None,
) -> dict[str, Any] | None:
    """One call of `POST telephony/calls/upload`, from the call's hangup."""
    phone = e164(customer_phone(hangup))
    moments = times(hangup, first_seen)
    if phone is None or moments.began is None:
        return None
    call: dict[str, Any] = {
        "date": moments.began.strftime(_PBX_TIME),
        "type": kind,
        "phone": phone.lstrip("+"),
        "duration": moments.talk_seconds,
        "durationWaiting": moments.waiting_seconds,
        "result": result(hangup),
        "externalId": unique_id,
    }
    handled = extensions(hangup)
    if handled:
        chosen = handled[-1] if answered(hangup) else handled[0]
        user = next((u for u, code in user_extensions.items() if code == chosen), None)
        call["code"] = chosen
        if user is not None:
            call["userId"] = int(user)
    if record_url and answered(hangup):
        call["recordUrl"] = record_url
    return call
