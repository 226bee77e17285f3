"""What the widget's API reads and answers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from switchboard.messenger.attachments.schemas import AttachmentView
from switchboard.messenger.schemas import FeatureFlags

#: Messages a conversation's history answers at most per request.
HISTORY_LIMIT = 100
MAX_TEXT = 4000
MAX_ATTACHMENTS = 10

Status = Literal["open", "pending", "resolved", "closed"]
DbId = Annotated[int, Field(ge=1, le=2**63 - 1)]


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
#: A message's text, possibly empty when it carries attachments.
MessageText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=MAX_TEXT),
    AfterValidator(storable),
]
Comment = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=2000), AfterValidator(storable)
]
RequiredShortText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    AfterValidator(storable),
]
Phone = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=40, pattern=r"^[0-9+()\- .]*$"),
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
    status: Status
    rating: int | None = Field(None, description="The visitor's rating; null: not rated")


class RatingView(BaseModel):
    enabled: bool
    scale: Literal[5, 10] = Field(description="5: stars 1–5; 10: a net promoter score 0–10")


class BootstrapAnswer(BaseModel):
    visitor_token: str | None = Field(
        description="A new visitor's token, shown only here (send it as `X-Visitor-Token` and "
        "to later bootstraps); null when the request's own token was used"
    )
    stream_key: str = Field(
        description="A read-only key for `/stream/` and `/events` (`key=`), bound to this "
        "visitor and inbox, valid for a day: not the visitor's token"
    )
    contact: ContactView
    conversation: ConversationView | None = Field(
        description="The visitor's latest conversation in this inbox; null: none yet"
    )
    offline: bool = Field(description="Out of the inbox's working hours now")
    offline_message: str | None = Field(description="The text to show out of hours")
    features: FeatureFlags
    rating: RatingView


class MessageRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    inbox: PublicKey = Field(description="The widget's public key")
    text: MessageText = Field(
        "", description="Stored as typed (stripped), never interpreted as HTML"
    )
    client_id: ClientId = Field(
        description="The widget's own id of this message: a repeated send is stored once"
    )
    attachments: list[DbId] = Field(
        default_factory=list,
        max_length=MAX_ATTACHMENTS,
        description="Ids of files this visitor uploaded (`POST /api/widget/attachments`)",
    )

    @model_validator(mode="after")
    def _not_empty(self) -> Self:
        if not self.text and not self.attachments:
            raise ValueError("a message needs text or an attachment")
        return self


class MessageView(BaseModel):
    id: int
    conversation_id: int
    direction: Literal["in", "out"]
    author_kind: Literal["contact", "staff", "system"]
    author_name: str | None
    text: str = Field(description="As typed")
    html: str = Field(description="The text rendered as safe HTML (a small Markdown)")
    attachments: list[AttachmentView]
    client_id: str | None
    created_at: datetime
    delivered_at: datetime | None = Field(description="The other side's app received it")
    read_at: datetime | None = Field(description="The other side's app showed it")


class MessagesAnswer(BaseModel):
    conversation: ConversationView | None
    messages: list[MessageView]


# --- the operator's view of a conversation ----------------------------------------------------


class Named(BaseModel):
    id: int
    name: str | None


class ContactSummary(BaseModel):
    id: int
    name: str | None
    email: str | None
    phone: str | None


class LastMessage(BaseModel):
    text: str
    direction: Literal["in", "out"]
    at: datetime


class ConversationSummary(BaseModel):
    """A conversation as staff lists and events show it."""

    id: int
    status: Status
    inbox: Named
    contact: ContactSummary
    branch: Named | None
    assignee: Named | None
    unread: int = Field(description="Visitor's messages after the assignee last read it")
    last_message: LastMessage | None
    assignee_assigned_at: datetime | None
    assignee_opened_at: datetime | None
    rating: int | None
    created_at: datetime
    updated_at: datetime


# --- the widget's other requests ---------------------------------------------------------------


class TypingRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    inbox: PublicKey = Field(description="The widget's public key")
    typing: bool = Field(True, description="false: stopped typing")


class SeenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    inbox: PublicKey = Field(description="The widget's public key")
    conversation_id: DbId
    delivered_up_to: DbId | None = Field(
        None, description="The widget received the operator's messages up to this id"
    )
    read_up_to: DbId | None = Field(
        None, description="The widget showed the operator's messages up to this id"
    )


class RatingRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    inbox: PublicKey = Field(description="The widget's public key")
    conversation_id: DbId
    score: int = Field(ge=0, le=10, description="1–5 (stars) or 0–10 (NPS), per the inbox")
    comment: Comment | None = None


class OfflineRequest(BaseModel):
    """The "leave a request" form out of working hours."""

    model_config = ConfigDict(extra="forbid")

    inbox: PublicKey = Field(description="The widget's public key")
    name: RequiredShortText
    phone: Phone | None = None
    email: Email | None = None
    text: Text

    @model_validator(mode="after")
    def _reachable(self) -> Self:
        if not self.phone and not self.email:
            raise ValueError("give a phone number or an e-mail address")
        return self


class OfflineAnswer(BaseModel):
    conversation: ConversationView
    messages: list[MessageView]


class EventView(BaseModel):
    id: str
    type: str
    data: dict[str, Any]


class EventsAnswer(BaseModel):
    events: list[EventView]
    last_event_id: str = Field(description="Ask for the events after this one next time")
