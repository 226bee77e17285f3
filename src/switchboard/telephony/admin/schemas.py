"""Bodies and answers of the RetailCRM admin API."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, HttpUrl, field_validator


class ConfigChange(BaseModel):
    """What the connection form sends (JSON or form fields). Missing fields stay as they are;
    the extension map is never touched by it."""

    domain: HttpUrl | None = Field(None, examples=["https://june.retailcrm.ru"])
    api_key: str | None = Field(None, min_length=8, max_length=200)
    enabled: bool | None = None


class ConfigView(BaseModel):
    enabled: bool
    domain: str
    #: Masked: `••••wxyz`.
    api_key: str
    has_api_key: bool
    user_extensions: dict[str, str | None]
    last_sync: str | None = None
    registered: bool


class InternalPhone(BaseModel):
    number: str = Field(examples=["150"])
    user_name: str | None = Field(None, examples=["Джулай Джуновый"])
    #: The RetailCRM user this number is given to here, if any.
    assigned_to: str | None = Field(None, examples=["19"])
    #: `150 (Джулай Джуновый)` / `151 (свободен)`.
    label: str


class Manager(BaseModel):
    id: int
    name: str
    email: str | None = None
    active: bool
    status: str | None = None
    extension: str | None = None


class ManagersView(BaseModel):
    managers: list[Manager]
    #: Numbers RetailCRM had that differed from ours (ours won and RetailCRM was corrected).
    corrected: dict[str, str | None] = Field(default_factory=dict)
    imported: bool = False


class Extensions(BaseModel):
    user_extensions: dict[str, str | None] = Field(examples=[{"19": "150", "18": "151"}])


class Outcome(BaseModel):
    success: bool
    message: str
    details: dict[str, Any] = Field(default_factory=dict)


class LogEntry(BaseModel):
    created_at: datetime
    integration_type: str
    event_type: str
    call_unique_id: str | None
    status: str
    error_message: str | None
    request_data: dict[str, Any] | None
    response_data: dict[str, Any] | None


# --- call notifications in Telegram and the PBX's AMI ------------------------------------------

#: A Telegram chat: its numeric id (`-100…` for supergroups and channels) or a public `@name`.
ChatRef = int | str
_CHAT_NAME = re.compile(r"^@[A-Za-z][A-Za-z0-9_]{3,31}$")
_CHAT_NUMBER = re.compile(r"^-?\d{1,16}$")
#: `<bot id>:<secret>`, as BotFather gives it (anything else would change the API's URL path).
_BOTFATHER_SHAPE = r"^\d{1,20}:[A-Za-z0-9_-]{10,100}$"
#: No whitespace or control characters: AMI is a line protocol (a CR/LF would start a new
#: header or action).
_AMI_WORD = r"^[^\s\x00-\x1f\x7f]+$"
#: A secret may hold spaces, never a control character.
_PRINTABLE_LINE = r"^[^\x00-\x1f\x7f]+$"


def _blank_is_none(value: Any) -> Any:
    """A form's empty field means "not given" (keep what is stored)."""
    return None if isinstance(value, str) and not value.strip() else value


def _chat(value: Any) -> ChatRef:
    if isinstance(value, bool):
        raise ValueError("a chat is a number or an @name")
    if isinstance(value, int):
        if value == 0 or abs(value) >= 10**16:
            raise ValueError("a chat number is not 0 and has at most 16 digits")
        return value
    if isinstance(value, str):
        text = value.strip()
        if _CHAT_NUMBER.match(text) and int(text) != 0:
            return int(text)
        if _CHAT_NAME.match(text):
            return text
    raise ValueError("a chat is a number (-1001234567890) or an @name")


def _chats(value: Any) -> Any:
    """A list, or text with one chat a line (commas and spaces also separate)."""
    if value is None:
        return None
    items = re.split(r"[\s,;]+", value) if isinstance(value, str) else value
    if not isinstance(items, list):
        raise ValueError("chats are a list or text with one chat a line")
    chats: list[ChatRef] = []
    for item in items:
        if isinstance(item, str) and not item.strip():
            continue
        chat = _chat(item)
        if chat not in chats:
            chats.append(chat)
    return chats


class TelegramChange(BaseModel):
    """What the Telegram form sends (JSON or form fields; `chat_ids` may be text with one chat
    a line). Missing fields stay as they are; an empty or missing `bot_token` keeps the stored
    token. Turning notifications on needs a token and at least one chat."""

    enabled: bool | None = None
    bot_token: str | None = Field(
        None, pattern=_BOTFATHER_SHAPE, examples=["7000000042:AAH-example_token"]
    )
    chat_ids: list[ChatRef] | None = Field(
        None, max_length=50, examples=[[-1001000000001, "@june_calls"]]
    )
    #: The Bot API server (a local one, or a proxy); empty: Telegram's own.
    api_url: str | None = Field(None, max_length=2000, examples=["https://api.telegram.org"])

    _blank_token = field_validator("bot_token", mode="before")(_blank_is_none)
    _chat_list = field_validator("chat_ids", mode="before")(_chats)

    @field_validator("api_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if not value or not value.strip():
            return value if value is None else ""
        try:
            url = HttpUrl(value.strip())
        except ValueError:
            raise ValueError("an http(s) URL, or empty for Telegram's own") from None
        return str(url).rstrip("/")


class TelegramView(BaseModel):
    enabled: bool
    #: Masked: `••••wxyz`; never the token itself.
    bot_token: str
    has_bot_token: bool
    chat_ids: list[ChatRef] = Field(examples=[[-1001000000001]])
    api_url: str = Field(examples=["https://api.telegram.org"])


class AmiChange(BaseModel):
    """What the AMI form sends (JSON or form fields). Missing fields stay as they are; an
    empty or missing `secret` keeps the stored one."""

    host: str | None = Field(
        None,
        min_length=1,
        max_length=253,
        pattern=r"^[A-Za-z0-9._:\[\]-]+$",
        examples=["pbx.june.local"],
    )
    port: int | None = Field(None, ge=1, le=65535, examples=[5038])
    username: str | None = Field(None, min_length=1, max_length=80, pattern=_AMI_WORD)
    secret: str | None = Field(None, min_length=1, max_length=200, pattern=_PRINTABLE_LINE)
    #: The dialplan context click-to-call dials in.
    context: str | None = Field(
        None, min_length=1, max_length=80, pattern=r"^[A-Za-z0-9_.-]+$", examples=["from-internal"]
    )

    _blank_is_kept = field_validator("secret", "port", mode="before")(_blank_is_none)

    @field_validator("host", "username", "context", mode="before")
    @classmethod
    def _trimmed(cls, value: Any) -> Any:
        # An empty host stays empty (and is refused): only surrounding blanks go.
        return value.strip() if isinstance(value, str) else value


class AmiView(BaseModel):
    host: str = Field(examples=["pbx.june.local"])
    port: int = Field(examples=[5038])
    username: str
    #: Masked: `••••wxyz`; never the secret itself.
    secret: str
    has_secret: bool
    context: str = Field(examples=["from-internal"])
