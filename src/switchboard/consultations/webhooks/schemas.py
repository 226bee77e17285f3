"""What Chatwoot posts to `/webhook/chatwoot`, and what we answer.

Chatwoot (`WebhookListener`) sends the event name in `event` and the record at the payload's
root: a conversation's push data for `conversation_*` events, a message's webhook data (with its
conversation under `conversation`) for `message_*` events. The models read only what the
middleware uses and ignore the rest, so a newer Chatwoot that adds fields is still understood.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

#: Chatwoot's ids are PostgreSQL integers; conversation display ids live in our `integer`
#: column, message ids in a `bigint` one.
DisplayId = Annotated[int, Field(ge=1, le=2**31 - 1)]
RecordId = Annotated[int, Field(ge=1, le=2**63 - 1)]


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Person(_Lenient):
    """An agent (`type: "user"`), a contact or an agent bot, as a webhook describes them."""

    id: RecordId | None = None
    name: str | None = None
    available_name: str | None = None
    identifier: str | None = None
    type: str | None = None


class ContactInbox(_Lenient):
    source_id: str | None = None


class ConversationMeta(_Lenient):
    sender: Person | None = None
    assignee: Person | None = None
    assignee_type: str | None = None


class Conversation(_Lenient):
    """`Conversation#push_event_data` (plus `changed_attributes` on updates)."""

    id: DisplayId
    inbox_id: RecordId | None = None
    status: str | None = None
    meta: ConversationMeta = Field(default_factory=ConversationMeta)
    custom_attributes: dict[str, Any] | None = None
    contact_inbox: ContactInbox | None = None
    #: `[{"status": {"previous_value": "open", "current_value": "resolved"}}, …]`; null on
    #: `conversation_status_changed`.
    changed_attributes: list[dict[str, Any]] | None = None
    created_at: float | None = None
    updated_at: float | None = None

    def changes(self) -> dict[str, tuple[Any, Any]] | None:
        """{attribute: (previous, current)}, or None when the event does not say what changed."""
        if self.changed_attributes is None:
            return None
        found: dict[str, tuple[Any, Any]] = {}
        for entry in self.changed_attributes:
            for name, change in entry.items():
                if isinstance(change, dict):
                    found[name] = (change.get("previous_value"), change.get("current_value"))
        return found


class Message(_Lenient):
    """`Message#webhook_data`: `message_type` by name, `created_at` as ISO 8601."""

    id: RecordId
    content: str | None = None
    message_type: str | int | None = None
    private: bool = False
    created_at: str | float | None = None
    sender: Person | None = None
    content_attributes: dict[str, Any] | None = None
    conversation: Conversation


class WebhookAck(BaseModel):
    """What the middleware did with a delivery."""

    status: Literal["processed", "ignored", "duplicate"] = Field(
        description="processed: the database was brought up to date; ignored: nothing to do "
        "for this event; duplicate: this delivery id was handled before"
    )
    event: str | None = Field(None, description="The event name, underscore form")
    outcome: str | None = Field(None, description="What was done or why nothing was, in words")

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "status": "processed",
                    "event": "conversation_status_changed",
                    "outcome": "status pending -> resolved",
                }
            ]
        }
    )


class ChatwootWebhookBody(BaseModel):
    """The delivery as OpenAPI documents it (the endpoint reads the raw body itself, to check
    the signature over the exact bytes before anything is parsed)."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "event": "conversation_updated",
                    "id": 42,
                    "inbox_id": 1,
                    "status": "open",
                    "meta": {"assignee": {"id": 7, "name": "Dilnoza", "type": "user"}},
                    "custom_attributes": {"date_con": "2026-12-01T09:30:00"},
                    "changed_attributes": [
                        {"assignee_id": {"previous_value": 3, "current_value": 7}}
                    ],
                },
                {
                    "event": "message_created",
                    "id": 1001,
                    "content": "Здравствуйте!",
                    "message_type": "incoming",
                    "private": False,
                    "created_at": "2026-12-01T09:31:00.000Z",
                    "conversation": {"id": 42, "inbox_id": 1, "status": "open"},
                },
            ]
        },
    )

    event: str = Field(
        description="conversation_created, conversation_updated, conversation_status_changed, "
        "message_created, message_updated, conversation_typing_on/off, … (dot names accepted)"
    )
    id: int | None = Field(None, description="The conversation's display id, or the message id")
    inbox_id: int | None = None
    status: str | None = Field(None, description="open, pending, resolved or snoozed")
    meta: dict[str, Any] | None = Field(None, description="sender, assignee, team")
    custom_attributes: dict[str, Any] | None = None
    changed_attributes: list[dict[str, Any]] | None = None
    content: str | None = None
    message_type: str | None = Field(None, description="incoming, outgoing, activity, template")
    private: bool | None = None
    conversation: dict[str, Any] | None = Field(None, description="message events: the chat")
