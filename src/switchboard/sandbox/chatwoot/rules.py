"""Chatwoot's model validations and Rails' value casting, as small pure functions."""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime
from typing import Any

from switchboard.sandbox.chatwoot.errors import ServerError

# Devise.email_regexp.
_EMAIL = re.compile(r"\A[^@\s]+@[^@\s]+\Z")
# Contact phone format. Chatwoot anchors only the end, so "abc+7999..." passes as it does there.
_PHONE = re.compile(r"\+[1-9]\d{1,14}\Z")
# URI::DEFAULT_PARSER.make_regexp(%w[http https]) is not anchored: an http(s) URI anywhere passes.
_HTTP_URI = re.compile(r"(?i)\bhttps?://[^\s/?#]+")

_FALSE_STRINGS = {"0", "f", "false", "off", "no", "n"}

_ADJECTIVES = (
    "autumn", "hidden", "bitter", "misty", "silent", "empty", "dry", "dark", "summer", "icy",
    "delicate", "quiet", "white", "cool", "spring", "winter", "patient", "twilight", "dawn",
    "crimson", "wispy", "weathered", "blue", "billowing", "broken", "cold", "damp", "falling",
)  # fmt: skip
_NOUNS = (
    "waterfall", "river", "breeze", "moon", "rain", "wind", "sea", "morning", "snow", "lake",
    "sunset", "pine", "shadow", "leaf", "dawn", "glitter", "forest", "hill", "cloud", "meadow",
    "sun", "glade", "bird", "brook", "butterfly", "bush", "dew", "dust", "field", "fire",
)  # fmt: skip


def valid_email(email: str) -> bool:
    return bool(_EMAIL.match(email))


def valid_phone(phone: str) -> bool:
    return bool(_PHONE.search(phone))


def valid_label_title(title: str) -> bool:
    """Letters, digits, hyphens and underscores in any script (Label's title format)."""
    return bool(re.fullmatch(r"[\w-]+", title))


def valid_webhook_url(url: Any) -> bool:
    return isinstance(url, str) and bool(_HTTP_URI.search(url))


def haiku_name() -> str:
    """What `Haikunator.haikunate(1000)` gives a contact created without a name."""
    number = random.randint(0, 999)
    return f"{random.choice(_ADJECTIVES)}-{random.choice(_NOUNS)}-{number}"


def present(value: Any) -> bool:
    """Rails' `present?`: not nil/false, not a blank string, not an empty container."""
    if value is None or value is False:
        return False
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, (list, dict, tuple, set)):
        return bool(value)
    return True


def cast_bool(value: Any) -> bool | None:
    """ActiveModel::Type::Boolean: "" is nil, a short list of strings is false, the rest true."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value != 0
    return str(value).strip().lower() not in _FALSE_STRINGS


def cast_int(value: Any) -> int | None:
    """`to_i`-like casting for ids from params; None when it is not a number at all."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
        return int(value)
    return None


def parse_unix_time(value: Any) -> datetime:
    """`DateTime.strptime(value.to_s, '%s')`; anything else raises, which Rails answers with 500."""
    text = str(value).strip()
    if not re.fullmatch(r"-?\d+", text):
        raise ServerError(f"invalid date: {text!r}")
    return datetime.fromtimestamp(int(text), UTC)


def enum_value(kind: str, value: Any, allowed: tuple[str, ...] | list[str]) -> str:
    """Rails enum assignment: an unknown value raises ArgumentError (a 500 unless rescued)."""
    if isinstance(value, str) and value in allowed:
        return value
    raise ServerError(f"'{value}' is not a valid {kind}")


def tag_list(value: Any) -> list[str]:
    """acts-as-taggable-on with `force_lowercase`: split on commas, strip, lower, unique."""
    items: list[Any]
    if value is None:
        items = []
    elif isinstance(value, list):
        items = value
    else:
        items = [value]
    tags: list[str] = []
    for item in items:
        for part in str(item).split(","):
            tag = part.strip().lower()
            if tag and tag not in tags:
                tags.append(tag)
    return tags


def like(pattern: str, *, case_insensitive: bool) -> re.Pattern[str]:
    """A SQL LIKE/ILIKE pattern as a regex: `%` is any run, `_` one character, `\\` escapes."""
    parts: list[str] = []
    escaped = False
    for char in pattern:
        if escaped:
            parts.append(re.escape(char))
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "%":
            parts.append(".*")
        elif char == "_":
            parts.append(".")
        else:
            parts.append(re.escape(char))
    flags = re.DOTALL | (re.IGNORECASE if case_insensitive else 0)
    return re.compile("".join(parts), flags)


def like_matches(value: str | None, pattern: str, *, case_insensitive: bool) -> bool:
    """`value LIKE pattern`; NULL never matches, as in SQL."""
    if value is None:
        return False
    return like(pattern, case_insensitive=case_insensitive).fullmatch(value) is not None
