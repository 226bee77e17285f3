"""Messages and what a new one does to its conversation and contact.

A new message wakes a resolved or snoozed conversation when the contact writes, records the first
human reply, moves `waiting_since`, and bumps the contact's `last_activity_at`; each of these is
a save that Chatwoot's listeners turn into `conversation_updated` or `contact_updated`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from switchboard.sandbox.chatwoot import views
from switchboard.sandbox.chatwoot.conversations import reopen_for_incoming
from switchboard.sandbox.chatwoot.operations import (
    CONTACT_COLUMNS,
    CONVERSATION_COLUMNS,
    Operation,
    new_message,
    save_contact,
    save_conversation,
    snapshot,
)
from switchboard.sandbox.chatwoot.records import (
    INCOMING,
    MESSAGE_STATUSES,
    OUTGOING,
    TEMPLATE,
    Attachment,
    Conversation,
    JsonDict,
    Message,
    utcnow,
)

DELETED_CONTENT = "This message was deleted"
WEBHOOK_TYPES = (INCOMING, OUTGOING, TEMPLATE)  # Message#webhook_sendable?


@dataclass(frozen=True)
class Upload:
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class Sender:
    kind: str  # "User", "Contact" or "AgentBot"
    id: int


def create(
    op: Operation,
    conv: Conversation,
    *,
    message_type: int,
    content: str | None,
    sender: Sender | None,
    private: bool = False,
    content_type: str = "text",
    content_attributes: JsonDict | None = None,
    echo_id: str | None = None,
    source_id: str | None = None,
    uploads: Sequence[Upload] = (),
    base_url: str = "",
) -> Message:
    store = op.store
    message = new_message(
        store,
        conv,
        message_type=message_type,
        content=content,
        content_type=content_type,
        content_attributes=dict(content_attributes or {}),
        private=private,
        source_id=source_id,
        echo_id=echo_id,
        sender_type=sender.kind if sender else None,
        sender_id=sender.id if sender else None,
    )
    now = message.created_at
    message.attachments = [_attach(op, message, upload, base_url) for upload in uploads]
    # The order of Message#execute_after_create_commit_callbacks: reopen, activity time,
    # message_created, first reply / waiting_since, then the contact's last activity.
    if message_type == INCOMING:
        reopen_for_incoming(op, conv)
    conv.last_activity_at = now
    conv.updated_at = now  # `belongs_to :conversation, touch: true`
    if message_type in WEBHOOK_TYPES:
        op.emit(
            "message_created",
            views.message_webhook_data(store, message),
            conv.account_id,
            conv.inbox_id,
        )
    _track_replies(op, conv, message)
    _touch_contact(op, message)
    return message


def forget_echo_id(message: Message) -> None:
    """`attr_accessor :echo_id`: Chatwoot never stores it, so only the answer to the request
    that created the message (and the push made while creating it) carries it back."""
    message.echo_id = None


def _attach(op: Operation, message: Message, upload: Upload, base_url: str) -> Attachment:
    store = op.store
    attachment = Attachment(
        id=store.attachments.next_id(),
        message_id=message.id,
        account_id=message.account_id,
        file_type=_file_type(upload.content_type),
        filename=upload.filename,
        content_type=upload.content_type,
        data=upload.data,
    )
    attachment.data_url = (
        f"{base_url}/rails/active_storage/blobs/redirect/{attachment.key}/{upload.filename}"
    )
    return store.attachments.add(attachment)


def _file_type(content_type: str) -> str:
    major = content_type.split("/", 1)[0]
    return major if major in ("image", "audio", "video") else "file"


def _human_response(message: Message) -> bool:
    return message.message_type == OUTGOING and message.sender_type == "User"


def _track_replies(op: Operation, conv: Conversation, message: Message) -> None:
    """First reply time and `waiting_since`, as Message#dispatch_create_events keeps them."""
    before = snapshot(conv, CONVERSATION_COLUMNS)
    if _valid_first_reply(op, conv, message):
        conv.first_reply_created_at = message.created_at
        conv.waiting_since = None
    elif conv.waiting_since is not None and not message.private and _human_response(message):
        conv.waiting_since = None
    elif message.message_type == INCOMING and conv.waiting_since is None:
        conv.waiting_since = message.created_at
    save_conversation(op, conv, before)


def _valid_first_reply(op: Operation, conv: Conversation, message: Message) -> bool:
    if not _human_response(message) or message.private or conv.first_reply_created_at is not None:
        return False
    public_replies = [
        item
        for item in op.store.messages_of(conv.id)
        if item.message_type == OUTGOING and item.sender_type != "AgentBot" and not item.private
    ]
    return len(public_replies) <= 1


def _touch_contact(op: Operation, message: Message) -> None:
    if message.message_type != INCOMING or message.sender_type != "Contact":
        return
    contact = op.store.contacts.get(message.sender_id)
    if contact is None:
        return
    before = snapshot(contact, CONTACT_COLUMNS)
    contact.last_activity_at = message.created_at
    save_contact(op, contact, before)


def _save(op: Operation, message: Message) -> None:
    message.updated_at = utcnow()
    if message.message_type in WEBHOOK_TYPES:
        conv = op.store.conversations.rows[message.conversation_id]
        op.emit(
            "message_updated",
            views.message_webhook_data(op.store, message),
            conv.account_id,
            conv.inbox_id,
        )


def update_status(op: Operation, message: Message, status: Any, external_error: Any) -> bool:
    """Messages::StatusUpdateService: a known status, and `read` never goes back to `delivered`."""
    if status not in MESSAGE_STATUSES:
        return False
    if message.status == "read" and status == "delivered":
        return False
    before = (message.status, dict(message.content_attributes))
    message.status = str(status)
    if status == "failed" and external_error is not None:
        message.content_attributes = {
            **message.content_attributes,
            "external_error": str(external_error),
        }
    if (message.status, message.content_attributes) != before:
        _save(op, message)  # `dispatch_update_event` skips saves that changed nothing
    return True


def delete(op: Operation, message: Message) -> None:
    """DELETE keeps the row: the content is replaced and the attributes are only `deleted`."""
    for item in message.attachments:
        op.store.attachments.remove(item.id)
    message.attachments = []
    message.content = DELETED_CONTENT
    message.content_type = "text"
    message.content_attributes = {"deleted": True}
    _save(op, message)


def submit_values(op: Operation, message: Message, values: Any) -> None:
    """The public PATCH: a contact's answer to an input message."""
    message.content_attributes = {**message.content_attributes, "submitted_values": values}
    _save(op, message)
