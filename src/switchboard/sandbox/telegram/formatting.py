"""Message text as Telegram stores it: plain text plus entities, from a parse mode or given.

A bot sends `text` with `parse_mode` HTML, MarkdownV2 or Markdown (the legacy one); the server
turns the markup into plain text and a list of MessageEntity objects whose offsets and lengths
count UTF-16 code units, and answers 400 "can't parse entities: …" with the byte offset of the
first mistake. The rules below follow the Bot API's formatting documentation and the error
wording of the official server; what is not emulated: the `tg-time` format check, `\\r` removal
and control-character cleaning.

After parsing, as the server does: trailing whitespace is cut, leading spaces and newlines before
the first entity are cut, then URLs, e-mail addresses, @mentions, #hashtags and /commands are
found in what is left (outside code, pre and links) and added as entities.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from switchboard.sandbox.telegram.errors import BotApiError

MAX_TEXT_LENGTH = 4096
MAX_RAW_TEXT_BYTES = 1 << 15

_SPACES = " \t\r\n\v\f"
_HTML_TAGS = frozenset(
    {
        "a", "b", "strong", "i", "em", "s", "strike", "del", "u", "ins", "tg-spoiler",
        "tg-emoji", "tg-time", "span", "pre", "code", "blockquote",
    }
)  # fmt: skip
_HTML_SIMPLE_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "u": "underline",
    "ins": "underline",
    "tg-spoiler": "spoiler",
}
_HTML_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_MARKDOWN_V2_RESERVED = frozenset("_*[]()~`>#+-=|{}.!\n")
_LINK_SCHEMES = frozenset({"http", "https", "tg", "ton", "tonsite"})
#: The server's own names of entity types, used in MarkdownV2 error messages.
_SERVER_TYPE_NAMES = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "text_link": "TextUrl",
    "code": "Code",
    "pre": "Pre",
    "custom_emoji": "CustomEmoji",
    "blockquote": "BlockQuote",
}
#: Entities inside which nothing more is detected.
_OPAQUE_TYPES = frozenset({"code", "pre", "text_link", "url", "email", "text_mention"})


def utf16_length(text: str) -> int:
    return len(text) + sum(1 for char in text if ord(char) > 0xFFFF)


@dataclass
class Entity:
    """One MessageEntity; `extra` holds the type's own fields (url, language, user, …)."""

    type: str
    offset: int
    length: int
    extra: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {"offset": self.offset, "length": self.length, "type": self.type, **self.extra}

    @property
    def end(self) -> int:
        return self.offset + self.length


@dataclass(frozen=True)
class FormattedText:
    text: str
    entities: tuple[dict[str, Any], ...] = ()


def format_text(text: str, parse_mode: str = "", entities: Any = None) -> FormattedText:
    """A bot's `text` as the server keeps it, or the 400 the server answers."""
    if not text:
        raise BotApiError.bad_request("Message text is empty")
    if len(text.encode()) > MAX_RAW_TEXT_BYTES:
        raise BotApiError.bad_request("Text is too long")
    mode = parse_mode.lower()
    if mode in ("", "none"):
        plain, found = text, given_entities(entities, text)
    else:
        parser = _PARSERS.get(mode)
        if parser is None:
            raise BotApiError.bad_request("Unsupported parse_mode")
        try:
            plain, found = parser(text)
        except _ParseError as error:
            raise BotApiError.bad_request(f"Can't parse entities: {error}") from None
    plain, found = _trim(plain, found)
    if len(plain) > MAX_TEXT_LENGTH:
        raise BotApiError.bad_request("Message is too long")
    return FormattedText(plain, tuple(e.as_json() for e in _sorted(found + detect(plain, found))))


def user_text(text: str) -> FormattedText:
    """What a person types: no markup, only the entities the server finds by itself."""
    return FormattedText(text, tuple(e.as_json() for e in _sorted(detect(text, []))))


# -- building output -------------------------------------------------------------------------


class _ParseError(Exception):
    pass


class _Output:
    """Text being produced, with its length in UTF-16 units (what entity offsets count)."""

    def __init__(self) -> None:
        self.chars: list[str] = []
        self.utf16 = 0

    def add(self, char: str) -> None:
        self.chars.append(char)
        self.utf16 += 2 if ord(char) > 0xFFFF else 1

    def since(self, index: int) -> str:
        return "".join(self.chars[index:])

    def text(self) -> str:
        return "".join(self.chars)


def _byte_offset(source: str, index: int) -> int:
    return len(source[:index].encode())


def _sorted(entities: Iterable[Entity]) -> list[Entity]:
    return sorted(entities, key=lambda e: (e.offset, -e.length))


def _link_entity(url: str, offset: int, length: int) -> Entity | None:
    """`text_link`, or `text_mention` for tg://user?id=…; None for a link the server drops."""
    user_id = _linked_user_id(url)
    if user_id is not None:
        user = {"id": user_id, "is_bot": False, "first_name": ""}
        return Entity("text_mention", offset, length, {"user": user})
    checked = checked_link(url)
    if checked is None:
        return None
    return Entity("text_link", offset, length, {"url": checked})


def _linked_user_id(url: str) -> int | None:
    parts = urlsplit(url.strip())
    if parts.scheme.lower() != "tg" or parts.netloc.lower() != "user":
        return None
    ids = parse_qs(parts.query).get("id", [])
    return int(ids[0]) if ids and ids[0].isdigit() and int(ids[0]) > 0 else None


def checked_link(url: str) -> str | None:
    """The URL as the server stores it: a scheme added when missing, "/" for an empty path."""
    url = url.strip()
    if not url or any(char in _SPACES for char in url):
        return None
    has_scheme = re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", url) is not None
    if not has_scheme:
        url = "http://" + url
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in _LINK_SCHEMES:
        return None
    if scheme in ("http", "https"):
        if not parts.hostname or (not has_scheme and "." not in parts.hostname):
            return None
        if not parts.path:
            host_end = url.index(parts.netloc) + len(parts.netloc)
            url = url[:host_end] + "/" + url[host_end:]
    return url


# -- HTML ----------------------------------------------------------------------------------


@dataclass
class _OpenTag:
    tag: str
    argument: str
    offset: int
    index: int
    unix: int = 0


class _HtmlParser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.size = len(source)
        self.out = _Output()
        self.entities: list[Entity] = []
        self.open: list[_OpenTag] = []
        self.code_languages: dict[int, str] = {}

    def parse(self) -> tuple[str, list[Entity]]:
        i = 0
        while i < self.size:
            char = self.source[i]
            if char == "&":
                decoded = _decode_html_entity(self.source, i)
                if decoded is not None:
                    value, i = decoded
                    self.out.add(value)
                    continue
            if char != "<":
                self.out.add(char)
                i += 1
                continue
            if i + 1 < self.size and self.source[i + 1] == "/":
                i = self._end_tag(i)
            else:
                i = self._start_tag(i)
        if self.open:
            tag = self.open[-1].tag
            raise _ParseError(f'Can\'t find end tag corresponding to start tag "{tag}"')
        for entity in self.entities:
            if entity.type == "code":
                entity.extra.pop("language", None)
        return self.out.text(), self.entities

    def _error(self, message: str, index: int) -> _ParseError:
        return _ParseError(f"{message} at byte offset {_byte_offset(self.source, index)}")

    def _skip_spaces(self, i: int) -> int:
        while i < self.size and self.source[i] in _SPACES:
            i += 1
        return i

    def _start_tag(self, begin: int) -> int:
        i = begin + 1
        while i < self.size and self.source[i] not in _SPACES and self.source[i] != ">":
            i += 1
        if i >= self.size:
            raise self._error("Unclosed start tag", begin)
        tag = self.source[begin + 1 : i].lower()
        if tag not in _HTML_TAGS:
            raise self._error(f'Unsupported start tag "{tag}"', begin)
        opened = _OpenTag(tag, "", self.out.utf16, len(self.out.chars))
        while True:
            i = self._skip_spaces(i)
            if i >= self.size:
                raise self._error(f'Unclosed start tag "{tag}"', begin)
            if self.source[i] == ">":
                break
            i = self._attribute(opened, begin, i)
        if tag == "span" and opened.argument != "spoiler":
            raise self._error('Tag "span" must have class "tg-spoiler"', begin)
        self.open.append(opened)
        return i + 1

    def _attribute(self, opened: _OpenTag, begin: int, i: int) -> int:
        name_begin = i
        while i < self.size and self.source[i] not in _SPACES and self.source[i] not in "=>/\"'":
            i += 1
        name = self.source[name_begin:i]
        if not name:
            raise self._error(f'Empty attribute name in the tag "{opened.tag}"', begin)
        i = self._skip_spaces(i)
        if i >= self.size:
            raise self._error(f'Unclosed start tag "{opened.tag}"', begin)
        if self.source[i] != "=":
            if opened.tag == "blockquote" and name == "expandable":
                opened.argument = "1"
            return i
        i = self._skip_spaces(i + 1)
        if i >= self.size:
            raise self._error(f'Unclosed start tag "{opened.tag}"', begin)
        value, i = self._attribute_value(i)
        if i >= self.size:
            raise self._error("Unclosed start tag", begin)
        _apply_attribute(opened, name, value)
        return i

    def _attribute_value(self, i: int) -> tuple[str, int]:
        quote = self.source[i]
        if quote not in "\"'":
            # A name token: letters, digits, periods and hyphens, not case-sensitive.
            token_begin = i
            while i < self.size and (self.source[i].isalnum() or self.source[i] in ".-"):
                i += 1
            if i < self.size and self.source[i] not in _SPACES and self.source[i] != ">":
                raise self._error("Unexpected end of name token", token_begin)
            return self.source[token_begin:i].lower(), i
        i += 1
        value: list[str] = []
        while i < self.size and self.source[i] != quote:
            if self.source[i] == "&":
                decoded = _decode_html_entity(self.source, i)
                if decoded is not None:
                    char, i = decoded
                    value.append(char)
                    continue
            value.append(self.source[i])
            i += 1
        if i < self.size:
            i += 1
        return "".join(value), i

    def _end_tag(self, begin: int) -> int:
        if not self.open:
            raise self._error("Unexpected end tag", begin)
        i = begin + 2
        while i < self.size and self.source[i] not in _SPACES and self.source[i] != ">":
            i += 1
        name = self.source[begin + 2 : i].lower()
        i = self._skip_spaces(i)
        if i >= self.size or self.source[i] != ">":
            raise self._error("Unclosed end tag", begin)
        top = self.open[-1]
        if name and name != top.tag:
            raise _ParseError(
                f"Unmatched end tag at byte offset {_byte_offset(self.source, begin)}, "
                f'expected "</{top.tag}>", found "</{name}>"'
            )
        if self.out.utf16 > top.offset:
            self._close(top)
        self.open.pop()
        return i + 1

    def _close(self, top: _OpenTag) -> None:
        offset, length = top.offset, self.out.utf16 - top.offset
        if top.tag in _HTML_SIMPLE_TAGS or top.tag == "span":
            self.entities.append(Entity(_HTML_SIMPLE_TAGS.get(top.tag, "spoiler"), offset, length))
        elif top.tag == "tg-emoji":
            if not top.argument.isdigit() or int(top.argument) == 0:
                raise _ParseError("Invalid custom emoji identifier specified")
            extra = {"custom_emoji_id": top.argument}
            self.entities.append(Entity("custom_emoji", offset, length, extra))
        elif top.tag == "tg-time":
            if top.unix > 0:
                date: dict[str, Any] = {"unix_time": top.unix}
                if top.argument:
                    date["date_time_format"] = top.argument
                self.entities.append(Entity("date_time", offset, length, date))
        elif top.tag == "a":
            link = _link_entity(top.argument or self.out.since(top.index), offset, length)
            if link is not None:
                self.entities.append(link)
        elif top.tag in ("pre", "code"):
            self._close_code(top, offset, length)
        else:
            kind = "expandable_blockquote" if top.argument else "blockquote"
            self.entities.append(Entity(kind, offset, length))

    def _close_code(self, top: _OpenTag, offset: int, length: int) -> None:
        """`<pre><code class="language-x">` is one pre entity with a language."""
        last = self.entities[-1] if self.entities else None
        same_span = last is not None and (last.offset, last.length) == (offset, length)
        if top.tag == "pre":
            if (
                same_span
                and last is not None
                and last.type == "code"
                and last.extra.get("language")
            ):
                last.type = "pre"
            else:
                self.entities.append(Entity("pre", offset, length))
        elif same_span and last is not None and last.type == "pre" and top.argument:
            last.extra["language"] = top.argument
        else:
            extra = {"language": top.argument} if top.argument else {}
            self.entities.append(Entity("code", offset, length, extra))


def _apply_attribute(opened: _OpenTag, name: str, value: str) -> None:
    tag = opened.tag
    if tag == "a" and name == "href":
        opened.argument = value
    elif tag == "code" and name == "class" and value.startswith("language-"):
        opened.argument = value[len("language-") :]
    elif tag == "span" and name == "class" and value.startswith("tg-"):
        opened.argument = value[len("tg-") :]
    elif (tag == "tg-emoji" and name == "emoji-id") or (tag == "tg-time" and name == "format"):
        opened.argument = value
    elif tag == "blockquote" and name == "expandable":
        opened.argument = "1"
    elif tag == "tg-time" and name == "unix":
        opened.unix = int(value) if value.isdigit() else 0


def _decode_html_entity(source: str, index: int) -> tuple[str, int] | None:
    """`&lt;`, `&gt;`, `&amp;`, `&quot;` and numeric references; None leaves the `&` as text."""
    end = index + 1
    if source[end : end + 1] == "#":
        end += 1
        hexadecimal = source[end : end + 1] == "x"
        if hexadecimal:
            end += 1
        digits = "0123456789abcdefABCDEF" if hexadecimal else "0123456789"
        start = end
        while end < len(source) and source[end] in digits:
            end += 1
        code = int(source[start:end], 16 if hexadecimal else 10) if end > start else 0
        if code == 0 or code >= 0x10FFFF or end - index >= 10:
            return None
        if 0xD800 <= code <= 0xDFFF:
            raise _ParseError(
                "Text contains invalid Unicode characters after decoding HTML entities, check for "
                "unmatched surrogate code units"
            )
        value = chr(code)
    else:
        while end < len(source) and source[end].isascii() and source[end].isalpha():
            end += 1
        named = _HTML_NAMED_ENTITIES.get(source[index + 1 : end])
        if named is None:
            return None
        value = named
    if source[end : end + 1] == ";":
        end += 1
    return value, end


def parse_html(source: str) -> tuple[str, list[Entity]]:
    return _HtmlParser(source).parse()


# -- MarkdownV2 ----------------------------------------------------------------------------


@dataclass
class _OpenMark:
    type: str
    argument: str
    offset: int
    position: int
    index: int


class _MarkdownV2Parser:
    """Nested entities; every reserved character outside them must be escaped with `\\`."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.size = len(source)
        self.out = _Output()
        self.entities: list[Entity] = []
        self.open: list[_OpenMark] = []
        self.in_blockquote = False
        self.line_start = True

    def at(self, index: int) -> str:
        return self.source[index] if 0 <= index < self.size else ""

    def parse(self) -> tuple[str, list[Entity]]:
        i = 0
        while i < self.size:
            i = self._step(i) + 1
        self._close_trailing_blockquote()
        if self.open:
            raise self._unclosed(self.open[-1])
        return self.out.text(), self.entities

    def _unclosed(self, mark: _OpenMark) -> _ParseError:
        name = _SERVER_TYPE_NAMES.get(mark.type, mark.type)
        if mark.type == "pre" and mark.argument:
            name = "PreCode"
        offset = _byte_offset(self.source, mark.position)
        return _ParseError(f"Can't find end of {name} entity at byte offset {offset}")

    def _reserved(self, char: str) -> _ParseError:
        return _ParseError(
            f"Character '{char}' is reserved and must be escaped with the preceding '\\'"
        )

    def _step(self, i: int) -> int:
        """Consume what starts at `i`; returns the index of the last character consumed."""
        char = self.source[i]
        following = self.at(i + 1)
        if char == "\\" and following and 0 < ord(following) <= 126:
            self.out.add(following)
            if following != "\r":
                self.line_start = following == "\n"
            return i + 1
        in_code = bool(self.open) and self.open[-1].type in ("code", "pre")
        if char not in ("`" if in_code else _MARKDOWN_V2_RESERVED):
            self.out.add(char)
            if char != "\r":
                self.line_start = False
            return i
        if self._ends_entity(i):
            return self._end(i)
        return self._begin(i)

    def _ends_entity(self, i: int) -> bool:
        if not self.open:
            return False
        char = self.source[i]
        if self.in_blockquote and char == "\n" and self.at(i + 1) != ">":
            return True
        kind = self.open[-1].type
        following = self.at(i + 1)
        ends: dict[str, Callable[[], bool]] = {
            "bold": lambda: char == "*",
            "italic": lambda: char == "_" and following != "_",
            "underline": lambda: char == "_" and following == "_",
            "strikethrough": lambda: char == "~",
            "spoiler": lambda: char == "|" and following == "|",
            "code": lambda: char == "`",
            "pre": lambda: char == "`" and following == "`" and self.at(i + 2) == "`",
            "text_link": lambda: char == "]",
            "custom_emoji": lambda: char == "]",
            "blockquote": lambda: False,
        }
        return ends[kind]()

    def _begin(self, i: int) -> int:
        char, following = self.source[i], self.at(i + 1)
        position, argument = i, ""
        if char == "_":
            kind = "underline" if following == "_" else "italic"
            i += 1 if following == "_" else 0
        elif char in "*~[":
            kind = {"*": "bold", "~": "strikethrough", "[": "text_link"}[char]
        elif char == "|" and following == "|":
            kind, i = "spoiler", i + 1
        elif char == "`" and following == "`" and self.at(i + 2) == "`":
            kind = "pre"
            argument, i = self._pre_header(i + 3)
        elif char == "`":
            kind = "code"
        elif char == "!" and following == "[":
            kind, i = "custom_emoji", i + 1
        elif char == "\n":
            self.out.add("\n")
            self.line_start = True
            return i
        elif char == ">" and self.line_start:
            if self.in_blockquote:
                return i
            kind, self.in_blockquote = "blockquote", True
        else:
            raise self._reserved(char)
        self.open.append(_OpenMark(kind, argument, self.out.utf16, position, len(self.out.chars)))
        return i

    def _pre_header(self, i: int) -> tuple[str, int]:
        """The language after ``` (up to whitespace), then one newline skipped; returns the
        language and the index of the last character of the header."""
        end = i
        while end < self.size and self.source[end] not in _SPACES and self.source[end] != "`":
            end += 1
        language = ""
        if end != i and end < self.size and self.source[end] != "`":
            language, i = self.source[i:end], end
        i = _skip_one_newline(self.source, i)
        return language, i - 1

    def _end(self, i: int) -> int:
        top = self.open[-1]
        kind = top.type
        char = self.source[i]
        if char == "\n" and kind != "blockquote":
            # "**>quote||" then a newline: the spoiler mark closes an expandable block quote.
            spoiler_just_before = top.position == i - 2 or (
                top.position == i - 3 and self.out.chars[-1:] == ["\r"]
            )
            if kind != "spoiler" or not spoiler_just_before:
                raise self._unclosed(top)
            self.open.pop()
            top = self.open[-1]
            if top.type != "blockquote":
                raise self._unclosed(top)
            kind = "expandable_blockquote"
        entity, i = self._finish(top, kind, i)
        if entity is not None:
            self.entities.append(entity)
        self.open.pop()
        return i

    def _finish(self, top: _OpenMark, kind: str, i: int) -> tuple[Entity | None, int]:
        empty = self.out.utf16 == top.offset
        extra: dict[str, Any] = {}
        if kind in ("underline", "spoiler"):
            i += 1
        elif kind == "pre":
            i += 2
            if top.argument:
                extra["language"] = top.argument
        elif kind == "text_link":
            url, i = self._link_target(top, i)
            if empty:
                return None, i
            return _link_entity(url, top.offset, self.out.utf16 - top.offset), i
        elif kind == "custom_emoji":
            return self._custom_emoji(top, i)
        elif kind in ("blockquote", "expandable_blockquote"):
            self.in_blockquote = False
            self.out.add(self.source[i])
            self.line_start = True
            empty = False
        if empty:
            return None, i
        return Entity(kind, top.offset, self.out.utf16 - top.offset, extra), i

    def _link_target(self, top: _OpenMark, i: int) -> tuple[str, int]:
        if self.at(i + 1) != "(":
            return self.out.since(top.index), i
        return self._url(i + 2)

    def _url(self, i: int) -> tuple[str, int]:
        begin = i
        url: list[str] = []
        while i < self.size and self.source[i] != ")":
            following = self.at(i + 1)
            if self.source[i] == "\\" and following and 0 < ord(following) <= 126:
                url.append(following)
                i += 2
                continue
            url.append(self.source[i])
            i += 1
        if i >= self.size:
            offset = _byte_offset(self.source, begin)
            raise _ParseError(f"Can't find end of a URL at byte offset {offset}")
        return "".join(url), i

    def _custom_emoji(self, top: _OpenMark, i: int) -> tuple[Entity | None, int]:
        if self.at(i + 1) != "(":
            raise _ParseError("The entity must contain a tg://emoji or tg://time URL")
        url, i = self._url(i + 2)
        parts = urlsplit(url)
        query = parse_qs(parts.query)
        length = self.out.utf16 - top.offset
        if parts.scheme == "tg" and parts.netloc == "emoji" and query.get("id", [""])[0].isdigit():
            return Entity(
                "custom_emoji", top.offset, length, {"custom_emoji_id": query["id"][0]}
            ), i
        if parts.scheme == "tg" and parts.netloc == "time" and query.get("unix", [""])[0].isdigit():
            extra: dict[str, Any] = {"unix_time": int(query["unix"][0])}
            if query.get("format"):
                extra["date_time_format"] = query["format"][0]
            return Entity("date_time", top.offset, length, extra), i
        raise _ParseError("Invalid tg://emoji or tg://time URL specified")

    def _close_trailing_blockquote(self) -> None:
        if not self.in_blockquote:
            return
        kind = "blockquote"
        top = self.open[-1]
        if top.type == "spoiler" and top.position == self.size - 2:
            self.open.pop()
            kind = "expandable_blockquote"
        top = self.open[-1]
        if top.type == "blockquote":
            self.in_blockquote = False
            if self.out.utf16 != top.offset:
                self.entities.append(Entity(kind, top.offset, self.out.utf16 - top.offset))
            self.open.pop()


def _skip_one_newline(source: str, i: int) -> int:
    if source[i : i + 1] in ("\n", "\r"):
        pair = source[i : i + 2]
        return i + 2 if pair in ("\r\n", "\n\r") else i + 1
    return i


def parse_markdown_v2(source: str) -> tuple[str, list[Entity]]:
    return _MarkdownV2Parser(source).parse()


# -- Markdown (legacy) ---------------------------------------------------------------------


def parse_markdown(source: str) -> tuple[str, list[Entity]]:
    """The legacy mode: *bold*, _italic_, `code`, ```pre```, [text](url); no nesting."""
    out = _Output()
    entities: list[Entity] = []
    size = len(source)
    i = 0
    while i < size:
        char = source[i]
        if char == "\\" and source[i + 1 : i + 2] in ("_", "*", "`", "["):
            out.add(source[i + 1])
            i += 2
            continue
        if char not in "_*`[":
            out.add(char)
            i += 1
            continue
        i = _legacy_entity(source, i, out, entities) + 1
    return out.text(), entities


def _legacy_entity(source: str, begin: int, out: _Output, entities: list[Entity]) -> int:
    char, size = source[begin], len(source)
    closing = "]" if char == "[" else char
    i = begin + 1
    language, is_pre = "", False
    if source[begin : begin + 3] == "```":
        is_pre = True
        i = begin + 3
        end = i
        while end < size and source[end] not in _SPACES and source[end] != "`":
            end += 1
        if end != i and end < size and source[end] != "`":
            language, i = source[i:end], end
        i = _skip_one_newline(source, i)
    offset = out.utf16
    while i < size and (source[i] != closing or (is_pre and source[i + 1 : i + 3] != "``")):
        out.add(source[i])
        i += 1
    if i >= size:
        raise _ParseError(
            f"Can't find end of the entity starting at byte offset {_byte_offset(source, begin)}"
        )
    length = out.utf16 - offset
    if length:
        entity: Entity | None
        if char == "[":
            url = source[begin + 1 : i]
            if source[i + 1 : i + 2] == "(":
                close = source.find(")", i + 2)
                close = size if close < 0 else close
                url, i = source[i + 2 : close], close
            entity = _link_entity(url, offset, length)
        elif char == "`":
            kind = "pre" if is_pre else "code"
            entity = Entity(kind, offset, length, {"language": language} if language else {})
        else:
            entity = Entity("italic" if char == "_" else "bold", offset, length)
        if entity is not None:
            entities.append(entity)
    return i + 2 if is_pre else i


_PARSERS: dict[str, Callable[[str], tuple[str, list[Entity]]]] = {
    "html": parse_html,
    "markdownv2": parse_markdown_v2,
    "markdown": parse_markdown,
}


# -- entities given by the bot ---------------------------------------------------------------

_ENTITY_FIELDS = {
    "text_link": ("url",),
    "text_mention": ("user",),
    "pre": ("language",),
    "custom_emoji": ("custom_emoji_id",),
    "date_time": ("unix_time", "date_time_format"),
}


def given_entities(value: Any, text: str) -> list[Entity]:
    """The `entities` parameter (a JSON array of MessageEntity), clipped to the text."""
    if not isinstance(value, list):
        return []
    limit = utf16_length(text)
    found: list[Entity] = []
    for item in value:
        if not isinstance(item, dict):
            raise BotApiError.bad_request("Can't parse MessageEntity: expected an Object")
        for name in ("offset", "length", "type"):
            if name not in item:
                raise BotApiError.bad_request(
                    f"Can't parse MessageEntity: Can't find field \"{name}\""
                )
        offset, length, kind = item["offset"], item["length"], item["type"]
        if not isinstance(offset, int) or not isinstance(length, int) or not isinstance(kind, str):
            raise BotApiError.bad_request("Can't parse MessageEntity: wrong field types")
        end = min(offset + length, limit)
        if offset < 0 or end <= offset:
            continue
        extra = {key: item[key] for key in _ENTITY_FIELDS.get(kind, ()) if key in item}
        found.append(Entity(kind, offset, end - offset, extra))
    return found


# -- trimming and detection ------------------------------------------------------------------


def _trim(text: str, entities: list[Entity]) -> tuple[str, list[Entity]]:
    """Trailing whitespace goes; so do leading spaces and newlines before the first entity."""
    stripped = text.rstrip()
    if not stripped:
        raise BotApiError.bad_request("Text must be non-empty")
    limit = utf16_length(stripped)
    kept: list[Entity] = []
    for entity in entities:
        if entity.offset >= limit:
            continue
        entity.length = min(entity.end, limit) - entity.offset
        kept.append(entity)
    first_entity = min((e.offset for e in kept), default=limit)
    cut = 0
    while cut < len(stripped) and stripped[cut] in " \n" and cut < first_entity:
        cut += 1
    for entity in kept:
        entity.offset -= cut
    return stripped[cut:], kept


_DETECTORS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("url", re.compile(r"(?<![\w@/.])https?://[^\s<>\"']+", re.IGNORECASE)),
    ("email", re.compile(r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")),
    ("bot_command", re.compile(r"(?<![\w/])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w/])")),
    ("mention", re.compile(r"(?<![\w@])@[A-Za-z][A-Za-z0-9_]{3,31}(?![\w@])")),
    ("hashtag", re.compile(r"(?<![\w#])#\w*[^\W\d]\w*")),
)
_URL_TAIL = ".,;:!?)]}'\""


def detect(text: str, existing: list[Entity]) -> list[Entity]:
    """Entities the server finds by itself, outside code, pre, links and each other."""
    units = _utf16_prefix(text)
    taken = [(e.offset, e.end) for e in existing if e.type in _OPAQUE_TYPES]
    found: list[Entity] = []
    for kind, pattern in _DETECTORS:
        for match in pattern.finditer(text):
            start, end = match.span()
            if kind == "url":
                while end > start and text[end - 1] in _URL_TAIL:
                    end -= 1
            offset, stop = units[start], units[end]
            if any(offset < other_end and other_start < stop for other_start, other_end in taken):
                continue
            taken.append((offset, stop))
            found.append(Entity(kind, offset, stop - offset))
    return found


def _utf16_prefix(text: str) -> list[int]:
    prefix = [0]
    for char in text:
        prefix.append(prefix[-1] + (2 if ord(char) > 0xFFFF else 1))
    return prefix
