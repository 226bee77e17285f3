"""What the widget's API reads and answers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from switchboard.messenger.schemas import FeatureFlags

#: Messages a conversation's history answers at most per request.
HISTORY_LIMIT = 100
MAX_TEXT = 4000


def storable(value: str) -> str:
    """Text PostgreSQL can keep: no NUL character, no lone surrogate (not UTF-8)."""
    if "\x00" in value:
        raise ValueError("NUL characters are not allowed")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("the text is not valid Unicode") from None
    return value


PublicKey = Annotated[
    str,
    StringConstraints(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_-]+$"),
]
Text = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_TEXT),
    AfterValidator(storable),
]
ShortText = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=200), AfterValidator(storable)
]
Email = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=254), AfterValidator(storable)
]
ClientId = Annotated[
    str, StringConstraints(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.:-]+$")
]


class BootstrapRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    inbox: PublicKey = Field(description="The widget's public key (from the site's snippet)")
    visitor_token: str | None = Field(
        None,
        min_length=1,
        max_length=200,
        description="The token a previous bootstrap answered; absent: a new visitor",
    )
    name: ShortText | None = None
    email: Email | None = None
    region: str | None = Field(
        None,
        max_length=20,
        pattern=r"^[A-Za-z]{2}(-[A-Za-z0-9]{1,3})?$",
        description="The region the visitor chose (ISO 3166 code such as `RU-SVE`); an unknown "
        "one is ignored",
    )


class ContactView(BaseModel):
    id: int
    name: str | None


class ConversationView(BaseModel):
    id: int
    status: Literal["open", "pending", "resolved", "closed"]


class BootstrapAnswer(BaseModel):
    visitor_token: str | None = Field(
        description="A new visitor's token, shown only here (send it as `X-Visitor-Token` and "
        "to later bootstraps); null when the request's own token was used"
    )
    contact: ContactView
    conversation: ConversationView | None = Field(
        description="The visitor's latest conversation in this inbox; null: none yet"
    )
    offline: bool = Field(description="Out of the inbox's working hours now")
    offline_message: str | None = Field(description="The text to show out of hours")
    features: FeatureFlags


class MessageRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    inbox: PublicKey = Field(description="The widget's public key")
    text: Text = Field(description="Stored as typed (stripped), never interpreted as HTML")
    client_id: ClientId = Field(
        description="The widget's own id of this message: a repeated send is stored once"
    )


class MessageView(BaseModel):
    id: int
    conversation_id: int
    direction: Literal["in", "out"]
    author_kind: Literal["contact", "staff", "system"]
    text: str
    client_id: str | None
    created_at: datetime
    delivered_at: datetime | None


class MessagesAnswer(BaseModel):
    conversation: ConversationView | None
    messages: list[MessageView]
