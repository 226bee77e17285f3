"""A method's parameters, from wherever the client put them.

Telegram takes the same parameters from the query string, a urlencoded or multipart form, or a
JSON body; the server reads every one of them as text and decodes the structured ones (markup,
lists, reply parameters) as JSON itself. A JSON body may also carry them as real objects, so every
getter here accepts both forms. Numbers are read as leniently as the server does: an unparsable
one counts as 0, which then fails the check that needs it ("chat not found").
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import orjson

from switchboard.sandbox.telegram.errors import BotApiError

_LEADING_INTEGER = re.compile(r"\s*([+-]?\d+)")
_TRUE_WORDS = {"true", "1"}


class Params:
    """Read-only access to one request's parameters (names are case-sensitive, as Telegram's)."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        self._values = dict(values)

    def __contains__(self, name: str) -> bool:
        return self.text(name) != ""

    def raw(self, name: str) -> Any:
        return self._values.get(name)

    def text(self, name: str) -> str:
        """The parameter as the server sees it: text; "" when absent."""
        value = self._values.get(name)
        if value is None:
            return ""
        if isinstance(value, str):
            return value
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float):
            return str(value)
        return orjson.dumps(value).decode()

    def integer(self, name: str, default: int = 0) -> int:
        value = self._values.get(name)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, int):
            return value
        if isinstance(value, float):
            return int(value)
        match = _LEADING_INTEGER.match(str(value))
        return int(match.group(1)) if match else 0

    def bounded(self, name: str, default: int, low: int, high: int) -> int:
        """Telegram clamps out-of-range numbers instead of refusing them (`limit`, `timeout`)."""
        if name not in self:
            return default
        return max(low, min(high, self.integer(name, default)))

    def flag(self, name: str) -> bool:
        value = self._values.get(name)
        if isinstance(value, bool):
            return value
        return self.text(name).strip().lower() in _TRUE_WORDS

    def json(self, name: str, parse_error: str) -> Any:
        """A structured parameter (None when absent); unparsable text → 400 `parse_error`."""
        value = self._values.get(name)
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            return value
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            raise BotApiError.bad_request(parse_error) from None

    def items(self) -> dict[str, Any]:
        return dict(self._values)
