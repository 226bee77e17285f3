"""Secrets never reach a log line: known secret values, auth headers and secret-looking query
parameters are replaced before anything is written."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

MASK = "***"
SECRET_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "api_access_token",
        "api-access-token",
        "x-api-key",
        "x-front-secret",
        "cookie",
        "set-cookie",
        "x-chatwoot-signature",
        "x-telegram-bot-api-secret-token",
    }
)
SECRET_NAME = re.compile(r"(pass|secret|token|apikey|api_key|signature|hash)", re.IGNORECASE)


class Masker:
    def __init__(self, secrets: Iterable[str] = ()) -> None:
        # Longest first, so that a secret containing another is masked whole.
        self.secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def text(self, value: str) -> str:
        for secret in self.secrets:
            value = value.replace(secret, MASK)
        return value

    def headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        return {
            name: MASK if name.lower() in SECRET_HEADERS else self.text(value)
            for name, value in headers.items()
        }

    def url(self, url: str) -> str:
        parts = urlsplit(url)
        netloc = parts.netloc
        if "@" in netloc:
            netloc = MASK + "@" + netloc.rsplit("@", 1)[1]
        query = urlencode(
            [
                (name, MASK if SECRET_NAME.search(name) else value)
                for name, value in parse_qsl(parts.query, keep_blank_values=True)
            ]
        )
        # Decoded for people: 1C's entity names are Cyrillic and unreadable when %-encoded.
        readable = unquote(urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment)))
        return self.text(readable)
