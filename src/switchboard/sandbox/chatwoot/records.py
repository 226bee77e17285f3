"""The rows of the emulated Chatwoot database, as plain dataclasses.

Field names follow Chatwoot's columns so the JSON views read like the jbuilder files they mirror.
Times are timezone-aware UTC datetimes; the views turn them into unix seconds or ISO strings the
way Rails does for each endpoint.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

JsonDict = dict[str, Any]

# Conversation.status enum (name -> stored integer).
STATUSES = {"open": 0, "resolved": 1, "pending": 2, "snoozed": 3}
PRIORITIES = {"low": 0, "medium": 1, "high": 2, "urgent": 3}

# Message.message_type enum: REST shows the integer, webhooks the name.
INCOMING, OUTGOING, ACTIVITY, TEMPLATE = 0, 1, 2, 3
MESSAGE_TYPES = {
    "incoming": INCOMING,
    "outgoing": OUTGOING,
    "activity": ACTIVITY,
    "template": TEMPLATE,
}
MESSAGE_TYPE_NAMES = {value: name for name, value in MESSAGE_TYPES.items()}
MESSAGE_STATUSES = ("sent", "delivered", "read", "failed")
CONTENT_TYPES = (
    "text",
    "input_text",
    "input_textarea",
    "input_email",
    "input_select",
    "cards",
    "form",
    "article",
    "incoming_email",
    "input_csat",
    "integrations",
    "sticker",
)

ROLES = ("agent", "administrator")

# CustomAttributeDefinition enums (name -> stored integer).
ATTRIBUTE_MODELS = {"conversation_attribute": 0, "contact_attribute": 1}
ATTRIBUTE_DISPLAY_TYPES = {
    "text": 0,
    "number": 1,
    "currency": 2,
    "percent": 3,
    "link": 4,
    "date": 5,
    "list": 6,
    "checkbox": 7,
}
API_CHANNEL = "Channel::Api"

# Webhook::ALLOWED_WEBHOOK_EVENTS, and the column default used when a client sends none.
ALLOWED_WEBHOOK_EVENTS = (
    "conversation_status_changed",
    "conversation_updated",
    "conversation_created",
    "contact_created",
    "contact_updated",
    "message_created",
    "message_updated",
    "webwidget_triggered",
    "inbox_created",
    "inbox_updated",
    "conversation_typing_on",
    "conversation_typing_off",
)
DEFAULT_WEBHOOK_SUBSCRIPTIONS = (
    "conversation_status_changed",
    "conversation_updated",
    "conversation_created",
    "contact_created",
    "contact_updated",
    "message_created",
    "message_updated",
    "webwidget_triggered",
)


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_token(length: int = 24) -> str:
    """A token shaped like Rails' `has_secure_token` (base58-ish, 24 characters)."""
    alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
    return "".join(secrets.choice(alphabet) for _ in range(length))


def new_uuid() -> str:
    return str(uuid.uuid4())


@dataclass
class Account:
    id: int
    name: str
    created_at: datetime = field(default_factory=utcnow)


@dataclass
class User:
    id: int
    name: str
    email: str
    access_token: str = field(default_factory=new_token)
    pubsub_token: str = field(default_factory=new_token)
    display_name: str | None = None
    custom_attributes: JsonDict = field(default_factory=dict)
    message_signature: str | None = None
    ui_settings: JsonDict = field(default_factory=dict)
    confirmed: bool = True
    created_at: datetime = field(default_factory=utcnow)

    @property
    def available_name(self) -> str:
        return self.display_name or self.name


@dataclass
class AccountUser:
    id: int
    account_id: int
    user_id: int
    role: str = "agent"
    availability: str = "offline"
    auto_offline: bool = True
    inviter_id: int | None = None
    active_at: datetime | None = None
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)


@dataclass
class AgentBot:
    id: int
    name: str
    account_id: int
    access_token: str
    description: str | None = None
    outgoing_url: str | None = None


@dataclass
class PlatformApp:
    id: int
    name: str
    access_token: str
    # Platform apps see only what they created (PlatformAppPermissible rows).
    permissible_users: set[int] = field(default_factory=set)
    permissible_accounts: set[int] = field(default_factory=set)


@dataclass
class Team:
    id: int
    account_id: int
    name: str
    description: str | None = None
    allow_auto_assign: bool = True
    member_ids: list[int] = field(default_factory=list)
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)


@dataclass
class Label:
    id: int
    account_id: int
    title: str
    description: str | None = None
    color: str = "#1f93ff"
    show_on_sidebar: bool | None = None
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)


@dataclass
class Inbox:
    """An inbox with its `Channel::Api` folded in (identifier, hmac_token, webhook_url)."""

    id: int
    account_id: int
    name: str
    channel_id: int
    identifier: str
    hmac_token: str
    channel_type: str = API_CHANNEL
    hmac_mandatory: bool = False
    webhook_url: str | None = None
    lock_to_single_conversation: bool = False
    member_ids: list[int] = field(default_factory=list)
    timezone: str = "UTC"
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)


@dataclass
class Contact:
    id: int
    account_id: int
    name: str | None
    email: str | None = None
    phone_number: str | None = None
    identifier: str | None = None
    additional_attributes: JsonDict = field(default_factory=dict)
    custom_attributes: JsonDict = field(default_factory=dict)
    blocked: bool = False
    last_activity_at: datetime | None = None
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)


@dataclass
class ContactInbox:
    id: int
    contact_id: int
    inbox_id: int
    source_id: str
    hmac_verified: bool = False
    pubsub_token: str = field(default_factory=new_token)
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)


@dataclass
class Conversation:
    id: int
    display_id: int
    account_id: int
    inbox_id: int
    contact_id: int
    contact_inbox_id: int
    uuid: str = field(default_factory=new_uuid)
    status: str = "open"
    priority: str | None = None
    assignee_id: int | None = None
    assignee_agent_bot_id: int | None = None
    team_id: int | None = None
    # None is possible: POST custom_attributes without the key stores nil, as Chatwoot does.
    custom_attributes: JsonDict | None = field(default_factory=dict)
    additional_attributes: JsonDict = field(default_factory=dict)
    label_list: list[str] = field(default_factory=list)
    snoozed_until: datetime | None = None
    muted: bool = False
    agent_last_seen_at: datetime | None = None
    assignee_last_seen_at: datetime | None = None
    contact_last_seen_at: datetime | None = None
    first_reply_created_at: datetime | None = None
    waiting_since: datetime | None = None
    last_activity_at: datetime = field(default_factory=utcnow)
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)


@dataclass
class Attachment:
    id: int
    message_id: int
    account_id: int
    file_type: str
    filename: str
    content_type: str
    data: bytes
    key: str = field(default_factory=new_token)
    # Absolute, like Rails' url_for: known only from the request that uploaded the file.
    data_url: str = ""


@dataclass
class Message:
    id: int
    account_id: int
    inbox_id: int
    conversation_id: int
    message_type: int
    content: str | None = None
    content_type: str = "text"
    content_attributes: JsonDict = field(default_factory=dict)
    additional_attributes: JsonDict = field(default_factory=dict)
    private: bool = False
    status: str = "sent"
    source_id: str | None = None
    echo_id: str | None = None
    sender_type: str | None = None  # "User", "Contact", "AgentBot" or None (activity)
    sender_id: int | None = None
    external_error: str | None = None
    attachments: list[Attachment] = field(default_factory=list)
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)


@dataclass
class Webhook:
    id: int
    account_id: int
    url: str
    subscriptions: list[str]
    name: str | None = None
    inbox_id: int | None = None
    secret: str = field(default_factory=new_token)
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)


@dataclass
class CustomAttributeDefinition:
    id: int
    account_id: int
    attribute_key: str | None
    attribute_display_name: str | None
    attribute_model: str | None = "conversation_attribute"
    attribute_display_type: str | None = "text"
    attribute_description: str | None = None
    attribute_values: list[Any] = field(default_factory=list)
    default_value: int | None = None  # a column no request can set
    regex_pattern: str | None = None
    regex_cue: str | None = None
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)
