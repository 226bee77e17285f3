"""Values as 1C stores and sends them.

The store keeps every value in its wire form, so rendering is a copy and comparing is cheap:
GUIDs as lower-case strings, datetimes as naive `YYYY-MM-DDTHH:MM:SS` strings (which sort like the
dates they stand for), numbers as numbers, booleans as booleans. 1C has no NULL in an attribute:
an omitted or null value is the type's empty value (the all-zero GUID, 0001-01-01, "", 0, false).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from typing import Any

from switchboard.sandbox.onec.entities import INTEGER_TYPES, Edm, Property

Scalar = str | int | float | bool | None
# A record is a JSON document: scalars, and lists of row objects for tabular sections.
Record = dict[str, Any]
Clock = Callable[[], datetime]

EMPTY_GUID = "00000000-0000-0000-0000-000000000000"
EMPTY_DATE = "0001-01-01T00:00:00"

# Uzbekistan has kept UTC+5 without daylight saving since 1992: a fixed offset is exact.
TASHKENT = timezone(timedelta(hours=5), "Asia/Tashkent")

_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_DATETIME = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,7})?)?")
_INTEGER = re.compile(r"[+-]?\d+")
_INT_LIMITS = {Edm.INT16: 2**15, Edm.INT32: 2**31, Edm.INT64: 2**63}


class BadValue(ValueError):
    """A value that does not fit its property's type; the message says why."""


def tashkent_now() -> datetime:
    return datetime.now(TASHKENT).replace(tzinfo=None, microsecond=0)


def empty_value(edm: Edm) -> Scalar:
    if edm is Edm.GUID:
        return EMPTY_GUID
    if edm is Edm.DATETIME:
        return EMPTY_DATE
    if edm is Edm.BOOLEAN:
        return False
    if edm in INTEGER_TYPES:
        return 0
    if edm is Edm.DOUBLE:
        return 0
    return ""


def canonical_guid(value: object) -> str:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, str) and _GUID.fullmatch(value):
        return value.lower()
    raise BadValue(f"{value!r} is not a GUID")


def canonical_datetime(value: object) -> str:
    """`YYYY-MM-DDTHH:MM[:SS[.fff]]` without a zone, cut to whole seconds like 1C's Дата."""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            raise BadValue("1C datetimes have no time zone; pass a naive local datetime")
        return format_datetime(value)
    if isinstance(value, date):
        return format_datetime(datetime(value.year, value.month, value.day))  # noqa: DTZ001
    if isinstance(value, str):
        match = _DATETIME.fullmatch(value)
        if match:
            year, month, day, hour, minute, second = (int(part or 0) for part in match.groups())
            try:
                parsed = datetime(year, month, day, hour, minute, second)  # noqa: DTZ001
            except ValueError as exc:
                raise BadValue(f"{value!r} is not a valid date: {exc}") from None
            return format_datetime(parsed)
    raise BadValue(f"{value!r} is not a datetime of the form YYYY-MM-DDTHH:MM:SS (no time zone)")


def format_datetime(value: datetime) -> str:
    return value.replace(microsecond=0).isoformat(timespec="seconds")


def parse_datetime(text: str) -> datetime:
    return datetime.fromisoformat(text)


def coerce(prop: Property, raw: object) -> Scalar:
    """A value from a request body (or a Python caller) in stored form, or `BadValue`."""
    if raw is None:
        return empty_value(prop.type)
    if prop.type in INTEGER_TYPES:
        return _integer(prop.type, raw)
    if prop.type is Edm.STRING:
        return _string(prop, raw)
    return _CONVERTERS[prop.type](raw)


def _boolean(raw: object) -> bool:
    if isinstance(raw, bool):
        return raw
    if raw in ("true", "false"):
        return raw == "true"
    raise BadValue(f"{raw!r} is not a boolean")


def _integer(edm: Edm, raw: object) -> int:
    if isinstance(raw, bool):
        raise BadValue(f"{raw!r} is not a number")
    if isinstance(raw, int):
        value = raw
    elif isinstance(raw, str) and _INTEGER.fullmatch(raw.strip()):
        # 1C reads numbers sent as JSON strings ("LineNumber": "1" in the guide's own example).
        value = int(raw)
    else:
        raise BadValue(f"{raw!r} is not an integer")
    limit = _INT_LIMITS[edm]
    if not -limit <= value < limit:
        raise BadValue(f"{value} does not fit {edm}")
    return value


def _double(raw: object) -> float | int:
    if isinstance(raw, bool):
        raise BadValue(f"{raw!r} is not a number")
    if isinstance(raw, int | float):
        return raw
    if isinstance(raw, str):
        try:
            return float(raw)
        except ValueError:
            pass
    raise BadValue(f"{raw!r} is not a number")


def _string(prop: Property, raw: object) -> str:
    if not isinstance(raw, str):
        raise BadValue(f"{raw!r} is not a string")
    if prop.enum and raw and raw not in prop.enum:
        raise BadValue(f"{raw!r} is not one of {', '.join(prop.enum)}")
    return raw


_CONVERTERS: dict[Edm, Callable[[object], Scalar]] = {
    Edm.GUID: canonical_guid,
    Edm.DATETIME: canonical_datetime,
    Edm.BOOLEAN: _boolean,
    Edm.DOUBLE: _double,
}


# --- presentations (the `____Presentation` fields) ---------------------------------------------


def date_presentation(text: str) -> str:
    """1C's default date format, `dd.MM.yyyy H:mm:ss`; the empty date presents as ""."""
    if text == EMPTY_DATE:
        return ""
    moment = parse_datetime(text)
    return f"{moment:%d.%m.%Y} {moment.hour}:{moment:%M:%S}"


def scalar_presentation(edm: Edm, value: Scalar) -> str:
    if value is None:
        return ""
    if edm is Edm.BOOLEAN:
        return "Да" if value else "Нет"
    if edm is Edm.DATETIME and isinstance(value, str):
        return date_presentation(value)
    if edm is Edm.GUID and value == EMPTY_GUID:
        return ""
    return str(value)
