"""OData v3 literals and query strings exactly as 1C reads them.

Every value that goes into a `$filter` passes through a literal function here, so a value can
never break out of its quotes (the original built filters by string interpolation).
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

EMPTY_GUID = "00000000-0000-0000-0000-000000000000"
EMPTY_DATE = "0001-01-01T00:00:00"

# Characters 1C expects to see literally in a query string; everything else is %-encoded.
_SAFE = "$',/()=:*"


def guid(value: uuid.UUID | str) -> str:
    return f"guid'{uuid.UUID(str(value))}'"


def string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def integer(value: int) -> str:
    """A whole number (Edm.Int16/32/64), bare as OData writes it."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"an integer literal needs an int, not {type(value).__name__}")
    return str(value)


def to_local_naive(moment: datetime, zone: ZoneInfo) -> datetime:
    """1C stores wall-clock time of its own zone, without an offset."""
    if moment.tzinfo is None:
        raise ValueError("naive datetimes are ambiguous; pass an aware one")
    return moment.astimezone(zone).replace(tzinfo=None, microsecond=0)


def datetime_literal(moment: datetime, zone: ZoneInfo) -> str:
    return f"datetime'{format_datetime(moment, zone)}'"


def format_datetime(moment: datetime, zone: ZoneInfo) -> str:
    return to_local_naive(moment, zone).isoformat(timespec="seconds")


def parse_datetime(value: str | None, zone: ZoneInfo) -> datetime | None:
    """A 1C datetime (local, naive) as an aware UTC datetime; the empty date is None."""
    if not value or value.startswith("0001-01-01"):
        return None
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    return parsed.astimezone(UTC)


def to_wire(value: object, zone: ZoneInfo) -> object:
    """A body value as 1C reads it: datetimes as wall-clock time of `zone` without an offset,
    dates at midnight; mappings and lists converted throughout. A naive datetime is refused."""
    if isinstance(value, datetime):
        return format_datetime(value, zone)
    if isinstance(value, date):
        return f"{value.isoformat()}T00:00:00"
    if isinstance(value, Mapping):
        return {key: to_wire(item, zone) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [to_wire(item, zone) for item in value]
    return value


def clear_empty_moments(record: Mapping[str, Any], names: Collection[str]) -> dict[str, Any]:
    """`record` for writing: a named datetime property set to None becomes 1C's empty date."""
    return {
        key: EMPTY_DATE if key in names and value is None else value
        for key, value in record.items()
    }


def read_moments(
    record: Mapping[str, Any], names: Collection[str], zone: ZoneInfo
) -> dict[str, Any]:
    """`record` as read from 1C with the named datetime properties as aware UTC datetimes (None
    for the empty date), in the record and in the rows of its tabular sections."""
    result: dict[str, Any] = {}
    for key, value in record.items():
        if key in names and (value is None or isinstance(value, str)):
            result[key] = parse_datetime(value, zone)
        elif isinstance(value, list):
            result[key] = [
                read_moments(row, names, zone) if isinstance(row, Mapping) else row for row in value
            ]
        else:
            result[key] = value
    return result


def parse_guid(value: str | None) -> uuid.UUID | None:
    """A reference; the empty reference and malformed values are None."""
    if not value or value == EMPTY_GUID:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def any_of(field: str, keys: Iterable[uuid.UUID | str]) -> str:
    return " or ".join(f"{field} eq {guid(key)}" for key in keys)


def entity_key(key: uuid.UUID | str) -> str:
    return f"({guid(key)})"


def query_string(options: Mapping[str, str | int | None]) -> str:
    parts = [
        f"{quote(name, safe='$')}={quote(str(value), safe=_SAFE)}"
        for name, value in options.items()
        if value is not None
    ]
    return "&".join(parts)


def virtual_table(entity: str, table: str) -> str:
    """A register's virtual table, e.g. `InformationRegister_X/SliceLast()` (guide 17.4.9)."""
    return resource(entity) + "/" + quote(table, safe="()")


def resource(entity: str, key: uuid.UUID | str | None = None) -> str:
    """An entity-set path segment, %-encoded (names are Cyrillic)."""
    path = quote(entity, safe="_")
    return path + (entity_key(key) if key is not None else "")
