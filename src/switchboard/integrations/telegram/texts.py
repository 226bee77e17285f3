"""The Russian text of a call's Telegram message, for each state the call passes through.

Each text is built from one PBX event alone and says everything the message should show at that
moment (the direction, the customer's number, the line, who rings or talks, the outcome): an
edit replaces the whole message, so nothing of an earlier state survives unless it is said
again. What an event lacks is read from what it has: an incoming call's bridge carries no
`Trunk`, but its trunk channel (`SIP/0001363-0000001a`) names the line.

The texts are Telegram HTML. Every value that came from the PBX is escaped, so a caller id such
as `<a href="…">` shows as typed and can add neither markup nor links: the only markup is ours,
and the one link (the recording) must be an http(s) URL.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from urllib.parse import urlsplit

import phonenumbers

Raw = Mapping[str, Any]
Direction = Literal["in", "out", "internal"]

#: Characters of one PBX field shown (numbers are short; anything longer is cut).
MAX_FIELD = 64
#: Extensions of a ring group named before "и ещё N".
MAX_EXTENSIONS = 20
#: The longest recording link put in a message.
MAX_URL = 2000

_INTERNAL = re.compile(r"^\d{2,5}$")
_PHONE_LIKE = re.compile(r"^\+?[\d\s()\-]{5,}$")
#: `SIP/0001363-0000001a`, `PJSIP/150-00000a1f` → the peer (a line or an extension).
_CHANNEL_PEER = re.compile(r"^[^/]+/(.+)-[0-9a-fA-F]+$")
_PBX_TIME = "%Y-%m-%d %H:%M:%S"
#: Q.850 cause 17: user busy.
_BUSY_CAUSES = frozenset({"17"})

TITLES: Mapping[Direction, str] = {
    "in": "📞 <b>Входящий звонок</b>",
    "out": "📲 <b>Исходящий звонок</b>",
    "internal": "🏢 <b>Внутренний звонок</b>",
}


def escape(value: object) -> str:
    """A PBX value as text in Telegram HTML (cut to `MAX_FIELD` characters first)."""
    text = str(value)
    if len(text) > MAX_FIELD:
        text = text[: MAX_FIELD - 1] + "…"
    return html.escape(text, quote=True)


def is_internal(number: object) -> bool:
    """An internal number (extension): 2 to 5 digits."""
    return number is not None and bool(_INTERNAL.match(str(number)))


def phone(number: str) -> str:
    """A customer's number as people read it (`+375 29 123-45-67`) when it is one; else as
    the PBX sent it. Not escaped."""
    if not _PHONE_LIKE.match(number):
        return number
    digits = re.sub(r"\D", "", number)
    try:
        parsed = phonenumbers.parse("+" + digits)
    except phonenumbers.NumberParseException:
        return number
    if not phonenumbers.is_possible_number(parsed):
        return number
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def duration(seconds: int) -> str:
    """`42` → `0:42`, `3725` → `1:02:05`."""
    hours, rest = divmod(max(0, seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _text(raw: Raw, key: str) -> str:
    value = raw.get(key)
    return "" if value is None else str(value).strip()


def _moment(raw: Raw, key: str) -> datetime | None:
    value = _text(raw, key)
    if not value:
        return None
    try:
        # Both ends of a difference are the PBX's own local wall-clock times.
        return datetime.strptime(value.replace("T", " ")[:19], _PBX_TIME)  # noqa: DTZ007
    except ValueError:
        return None


def _seconds(raw: Raw, since: str, until: str) -> int | None:
    start, end = _moment(raw, since), _moment(raw, until)
    if start is None or end is None:
        return None
    return max(0, int((end - start).total_seconds()))


def _peer(channel: str) -> str:
    match = _CHANNEL_PEER.match(channel)
    return match.group(1) if match else ""


@dataclass(frozen=True)
class CallView:
    """What one event says of its call."""

    direction: Direction
    #: The customer's number as the PBX sent it (None: hidden or unknown; internal calls).
    customer: str | None
    #: The trunk (line) of an external call.
    line: str | None
    #: `Extensions`: who rings (dial), who was rung or who talked (hangup).
    extensions: tuple[str, ...]
    #: The extension that dialled (outgoing and internal calls).
    caller: str | None
    #: The internal number on the other side (`ConnectedLineNum`, or an internal `Phone`).
    connected: str | None

    @classmethod
    def of(cls, raw: Raw) -> CallView:
        direction = _direction(raw)
        listed = raw.get("Extensions") or []
        extensions = tuple(
            str(item).strip()
            for item in (listed if isinstance(listed, list) else [listed])
            if str(item).strip()
        )
        caller_id = _text(raw, "CallerIDNum")
        caller = caller_id if is_internal(caller_id) else None
        if caller is None and direction != "in" and extensions:
            caller = extensions[0]
        connected = next(
            (
                value
                for value in (_text(raw, "ConnectedLineNum"), _text(raw, "Phone"))
                if is_internal(value) and value != caller
            ),
            None,
        )
        return cls(
            direction=direction,
            customer=None if direction == "internal" else _customer(raw),
            line=None if direction == "internal" else _line(raw),
            extensions=extensions,
            caller=caller,
            connected=connected,
        )

    @property
    def answerer(self) -> str | None:
        """Who took an incoming call: the connected extension, else the last one listed."""
        return self.connected or (self.extensions[-1] if self.extensions else None)


def _direction(raw: Raw) -> Direction:
    call_type = _text(raw, "CallType")
    if call_type == "0":
        return "in"
    if call_type == "1":
        return "out"
    if call_type == "2":
        return "internal"
    caller, other = _text(raw, "CallerIDNum"), _text(raw, "Phone")
    if is_internal(caller):
        return "internal" if not other or is_internal(other) else "out"
    return "in"


def _customer(raw: Raw) -> str | None:
    for key in ("Phone", "CallerIDNum", "ConnectedLineNum"):
        value = _text(raw, key)
        if value and not is_internal(value):
            return value
    return None


def _line(raw: Raw) -> str | None:
    trunk = _text(raw, "Trunk")
    if trunk:
        return trunk
    for key in ("Channel", "DestChannel"):
        peer = _peer(_text(raw, key))
        if peer and not is_internal(peer):
            return peer
    return None


def _numbers(numbers: Sequence[str]) -> str:
    shown = ", ".join(escape(number) for number in numbers[:MAX_EXTENSIONS])
    more = len(numbers) - MAX_EXTENSIONS
    return f"{shown} и ещё {more}" if more > 0 else shown


def _or_unknown(number: str | None) -> str:
    return escape(number) if number else "?"


def recording_link(url: str | None) -> str | None:
    """The recording as a link, when `url` is an http(s) URL."""
    if not url or len(url) > MAX_URL:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f'🎧 <a href="{html.escape(url, quote=True)}">Запись разговора</a>'


# -- the parties (said in every state) -------------------------------------------------------


def _parties(call: CallView) -> list[str]:
    if call.direction == "internal":
        return [f"Номера: {_or_unknown(call.caller)} → {_or_unknown(call.connected)}"]
    customer = escape(phone(call.customer)) if call.customer else "номер не определён"
    lines = [f"Клиент: {customer}"]
    if call.line:
        lines.append(f"Линия: {escape(call.line)}")
    return lines


# -- the states ------------------------------------------------------------------------------


def _started(call: CallView, raw: Raw, record_url: str | None) -> list[str]:
    return ["⏳ Поступил, ждёт ответа"]


def _ringing(call: CallView, raw: Raw, record_url: str | None) -> list[str]:
    return [f"🔔 Вызов на {_numbers(call.extensions) or '?'}"]


def _transferred(call: CallView, raw: Raw, record_url: str | None) -> list[str]:
    """A dial after the call was answered: the one who answered passes the caller on."""
    return [f"🔀 Перевод на {_numbers(call.extensions) or '?'}"]


def _dialling(call: CallView, raw: Raw, record_url: str | None) -> list[str]:
    if call.direction == "out":
        return [f"🔔 Вызов с {_or_unknown(call.caller)}, ждём ответа клиента"]
    if call.direction == "internal":
        return [f"🔔 Вызов на {_or_unknown(call.connected)}"]
    return _ringing(call, raw, record_url)


def _talking(call: CallView, raw: Raw, record_url: str | None) -> list[str]:
    if call.direction == "out":
        return [f"🗣 Клиент ответил, идёт разговор с {_or_unknown(call.caller)}"]
    if call.direction == "internal":
        return ["🗣 Идёт разговор"]
    return [f"🗣 Идёт разговор, ответил {_or_unknown(call.answerer)}"]


def outcome(raw: Raw) -> Literal["answered", "busy", "missed"]:
    """How a call ended, from its hangup: `CallStatus` "2" is answered; a busy status or
    cause is busy; anything else was not answered."""
    status = _text(raw, "CallStatus")
    if status == "2":
        return "answered"
    if status == "1" or _text(raw, "Cause") in _BUSY_CAUSES:
        return "busy"
    return "missed"


def _ended(call: CallView, raw: Raw, record_url: str | None) -> list[str]:
    result = outcome(raw)
    if result == "answered":
        lines = ["✅ Завершён, отвечен", *_who_talked(call)]
        talk = _seconds(raw, "StartTime", "EndTime")
        if talk is not None:
            lines.append(f"Разговор: {duration(talk)}")
    elif result == "busy":
        lines = ["⛔ Занято", *_who_was_called(call)]
    else:
        lines = [_not_answered(call), *_who_was_called(call)]
        waited = _seconds(raw, "DateReceived", "EndTime")
        if waited is not None and call.direction == "in":
            lines.append(f"Ожидание: {duration(waited)}")
    link = recording_link(record_url)
    if link:
        lines.append(link)
    return lines


def _who_talked(call: CallView) -> list[str]:
    if call.direction == "in":
        return [f"Ответил: {_or_unknown(call.answerer)}"]
    if call.direction == "out":
        return [f"Звонил: {_or_unknown(call.caller)}"]
    return []


def _who_was_called(call: CallView) -> list[str]:
    if call.direction == "in":
        return [f"Вызов на {_numbers(call.extensions)}"] if call.extensions else []
    if call.direction == "out":
        return [f"Звонил: {_or_unknown(call.caller)}"]
    return []


def _not_answered(call: CallView) -> str:
    if call.direction == "out":
        return "❌ Клиент не ответил"
    if call.direction == "internal":
        return f"❌ Не ответил {_or_unknown(call.connected)}"
    return "❌ Пропущен"


State = Callable[[CallView, Raw, str | None], list[str]]

_STATES: Mapping[str, State] = {
    "start": _started,
    "dial": _dialling,
    "bridge": _talking,
    "hangup": _ended,
}


def call_text(
    event_type: str,
    raw: Raw,
    *,
    record_url: str | None = None,
    answered_before: bool = False,
) -> str | None:
    """The message for the state the event `event_type` leaves its call in (Telegram HTML);
    None for an event that shows nothing. `answered_before`: the call was answered before
    this event (a dial then is a transfer)."""
    state = _STATES.get(event_type)
    if state is None:
        return None
    call = CallView.of(raw)
    if event_type == "dial" and answered_before and call.direction == "in":
        state = _transferred
    return "\n".join([TITLES[call.direction], *_parties(call), *state(call, raw, record_url)])
