"""AMI framing: a message is `Key: Value` lines, each ended by CRLF, and a blank line after them.

Asterisk reads headers verbatim and matches a key case-insensitively against the text before the
first colon, skipping blanks after it (`Action:Ping` works as well as `Action: Ping`). A key may
repeat (`Variable:` once per variable). We accept a bare LF as a line end too, as telnet users
type it; we always write CRLF.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

EOL = "\r\n"
#: Longest line we keep; longer ones are dropped as Asterisk drops them ("Dumping long line").
MAX_LINE = 8192
#: Asterisk keeps at most this many headers of one message (AST_MAX_MANHEADERS); the rest are lost.
MAX_HEADERS = 128

Header = tuple[str, str]


@dataclass(frozen=True)
class AmiMessage:
    """One message as received: its headers in order, keys as the sender spelled them."""

    headers: tuple[Header, ...]

    def get(self, key: str, default: str = "") -> str:
        """The first value of `key` (case-insensitive), or `default`."""
        wanted = key.lower()
        return next((value for name, value in self.headers if name.lower() == wanted), default)

    def get_all(self, key: str) -> list[str]:
        wanted = key.lower()
        return [value for name, value in self.headers if name.lower() == wanted]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and any(name.lower() == key.lower() for name, _ in self.headers)

    @property
    def action(self) -> str:
        return self.get("Action").strip()

    def fields(self) -> dict[str, str | list[str]]:
        """The headers as a dict: the first spelling of a key, a list when the key repeats."""
        spelled: dict[str, str] = {}
        values: dict[str, list[str]] = {}
        for name, value in self.headers:
            spelled.setdefault(name.lower(), name)
            values.setdefault(name.lower(), []).append(value)
        return {
            spelled[key]: found[0] if len(found) == 1 else found for key, found in values.items()
        }


def parse_header(line: str) -> Header | None:
    """`Key: Value` → (key, value); a line without a colon carries no header."""
    key, colon, value = line.partition(":")
    if not colon or not key:
        return None
    return key, value.lstrip(" \t")


def _clean(text: str) -> str:
    """A value never breaks the framing: a CR or LF inside it would start a header of its own."""
    return text.replace("\r", " ").replace("\n", " ")


def render(headers: Iterable[Header]) -> bytes:
    lines = "".join(f"{_clean(key)}: {_clean(value)}{EOL}" for key, value in headers)
    return (lines + EOL).encode("utf-8")


async def read_line(reader: asyncio.StreamReader) -> str | None:
    """One line without its terminator; None at the end of the stream (a last line that never
    ended is part of a message the peer did not finish, so it is dropped too)."""
    while True:
        try:
            raw = await reader.readline()
        except ValueError:
            # Longer than the reader's limit: the reader has discarded it.
            continue
        if not raw.endswith(b"\n"):
            return None
        if len(raw) > MAX_LINE:
            continue
        return raw.rstrip(b"\r\n").decode("utf-8", "replace")


async def read_message(reader: asyncio.StreamReader) -> AmiMessage | None:
    """The next message that had any line, or None when the peer has gone. Lines without a
    colon still make a message (one without an Action, which Asterisk answers)."""
    headers: list[Header] = []
    lines = 0
    while True:
        line = await read_line(reader)
        if line is None:
            return None
        if not line.strip():
            if lines:
                return AmiMessage(tuple(headers))
            continue
        lines += 1
        header = parse_header(line)
        if header is not None and len(headers) < MAX_HEADERS:
            headers.append(header)


def iter_messages(text: str) -> Iterator[AmiMessage]:
    """Messages of a captured stream (for tests and tools that read a transcript)."""
    headers: list[Header] = []
    for line in text.replace("\r\n", "\n").split("\n"):
        if not line.strip():
            if headers:
                yield AmiMessage(tuple(headers))
                headers = []
            continue
        header = parse_header(line)
        if header is not None:
            headers.append(header)
    if headers:
        yield AmiMessage(tuple(headers))
