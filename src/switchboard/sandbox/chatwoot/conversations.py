"""Conversations: creation, status, priority, assignment, labels and attributes.

Each function is one controller action's effect on the model; `save_conversation` then raises
the webhook events and writes the activity messages, exactly once per save.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from switchboard.sandbox.chatwoot import views
from switchboard.sandbox.chatwoot.operations import (
    CONVERSATION_COLUMNS,
    Operation,
    emit_conversation_created,
    save_conversation,
    snapshot,
)
from switchboard.sandbox.chatwoot.records import (
    PRIORITIES,
    STATUSES,
    AgentBot,
    ContactInbox,
    Conversation,
    JsonDict,
    Team,
    User,
    utcnow,
)
from switchboard.sandbox.chatwoot.rules import enum_value, parse_unix_time, present, tag_list
from switchboard.sandbox.chatwoot.store import Store


def create(
    op: Operation,
    contact_inbox: ContactInbox,
    *,
    status: Any = None,
    assignee_id: int | None = None,
    team_id: int | None = None,
    custom_attributes: JsonDict | None = None,
    additional_attributes: JsonDict | None = None,
    snoozed_until: Any = None,
) -> Conversation:
    """ConversationBuilder; with `lock_to_single_conversation` the last one comes back instead."""
    store = op.store
    inbox = store.inboxes.rows[contact_inbox.inbox_id]
    if inbox.lock_to_single_conversation:
        existing = [
            conv
            for conv in store.conversations_of_contact(contact_inbox.contact_id)
            if conv.contact_inbox_id == contact_inbox.id
        ]
        if existing:
            return existing[-1]
    chosen_status = enum_value("status", status, tuple(STATUSES)) if present(status) else "open"
    contact = store.contacts.rows[contact_inbox.contact_id]
    if contact.blocked:
        chosen_status = "resolved"  # Conversation#determine_conversation_status
    wake_up = parse_unix_time(snoozed_until) if present(snoozed_until) else None
    now = utcnow()
    conv = store.conversations.add(
        Conversation(
            id=store.conversations.next_id(),
            display_id=store.next_display_id(inbox.account_id),
            account_id=inbox.account_id,
            inbox_id=inbox.id,
            contact_id=contact_inbox.contact_id,
            contact_inbox_id=contact_inbox.id,
            status=chosen_status,
            assignee_id=assignee_id
            if store.account_user(inbox.account_id, assignee_id or 0)
            else None,
            team_id=team_id if store.team(inbox.account_id, team_id) else None,
            custom_attributes=dict(custom_attributes or {}),
            additional_attributes=dict(additional_attributes or {}),
            snoozed_until=wake_up if chosen_status == "snoozed" else None,
            waiting_since=now,
            last_activity_at=now,
            created_at=now,
            updated_at=now,
        )
    )
    emit_conversation_created(op, conv)
    return conv


# -- status and priority ---------------------------------------------------------------------


def toggle_status(
    op: Operation, conv: Conversation, status: Any, snoozed_until: Any
) -> bool | None:
    """POST toggle_status; returns the `success` the response reports."""
    before = snapshot(conv, CONVERSATION_COLUMNS)
    success: bool | None = True
    if op.actor.kind == "bot" and conv.status == "pending" and status == "open":
        conv.status = "open"  # bot_handoff!: the response then reports success: null
        success = None
    elif present(status):
        conv.status = enum_value("status", status, tuple(STATUSES))
        if snoozed_until is not None:
            conv.snoozed_until = parse_unix_time(snoozed_until)
    else:
        conv.status = "resolved" if conv.status == "open" else "open"
    save_conversation(op, conv, before)
    if conv.status == "open" and op.actor.kind == "user":
        _assign_opening_agent(op, conv)
    return success


def _assign_opening_agent(op: Operation, conv: Conversation) -> None:
    """`handle_human_open`: an agent (not an administrator) who opens it becomes the assignee."""
    membership = op.store.account_user(conv.account_id, op.actor.id or 0)
    if membership is None or membership.role != "agent":
        return
    before = snapshot(conv, CONVERSATION_COLUMNS)
    conv.assignee_id = op.actor.id
    save_conversation(op, conv, before)


def resolve_by_contact(op: Operation, conv: Conversation) -> None:
    """The public toggle_status: resolves, and does nothing to an already resolved one."""
    if conv.status == "resolved":
        return
    before = snapshot(conv, CONVERSATION_COLUMNS)
    conv.status = "resolved"
    save_conversation(op, conv, before)


def reopen_for_incoming(op: Operation, conv: Conversation) -> None:
    """Message#reopen_conversation: a contact's message wakes a snoozed or resolved one."""
    if conv.muted or conv.status not in ("snoozed", "resolved"):
        return
    before = snapshot(conv, CONVERSATION_COLUMNS)
    conv.status = "open"
    save_conversation(op, conv, before)


def set_priority(op: Operation, conv: Conversation, priority: Any) -> None:
    """toggle_priority and PATCH: blank clears it, an unknown value is Rails' ArgumentError."""
    before = snapshot(conv, CONVERSATION_COLUMNS)
    conv.priority = (
        enum_value("priority", priority, tuple(PRIORITIES)) if present(priority) else None
    )
    save_conversation(op, conv, before)


# -- assignment ------------------------------------------------------------------------------


def assign_agent(op: Operation, conv: Conversation, assignee_id: Any) -> User | None:
    """Conversations::AssignmentService: an id outside the account unassigns and returns nil."""
    user = None
    try:
        user_id = int(assignee_id)
    except (TypeError, ValueError):
        user_id = 0
    if op.store.account_user(conv.account_id, user_id) is not None:
        user = op.store.users.get(user_id)
    before = snapshot(conv, CONVERSATION_COLUMNS)
    conv.assignee_id = user.id if user else None
    conv.assignee_agent_bot_id = None
    save_conversation(op, conv, before)
    return user


def assign_bot(op: Operation, conv: Conversation, bot_id: Any) -> AgentBot | None:
    bot = op.store.bots.first(
        lambda row: str(row.id) == str(bot_id) and row.account_id == conv.account_id
    )
    if bot is None:
        return None
    before = snapshot(conv, CONVERSATION_COLUMNS)
    conv.assignee_id = None
    conv.assignee_agent_bot_id = bot.id
    save_conversation(op, conv, before)
    return bot


def assign_team(op: Operation, conv: Conversation, team_id: Any) -> Team | None:
    """`teams.find_by(id:)`: an unknown team removes the current one."""
    try:
        team = op.store.team(conv.account_id, int(team_id))
    except (TypeError, ValueError):
        team = None
    before = snapshot(conv, CONVERSATION_COLUMNS)
    conv.team_id = team.id if team else None
    save_conversation(op, conv, before)
    return team


# -- labels, attributes, last seen, typing ---------------------------------------------------


def replace_labels(op: Operation, conv: Conversation, labels: Any) -> list[str]:
    """`update_labels`: the list replaces the old one; no list at all clears it."""
    before = snapshot(conv, CONVERSATION_COLUMNS)
    conv.label_list = tag_list(labels)
    save_conversation(op, conv, before)
    return list(conv.label_list)


def replace_custom_attributes(op: Operation, conv: Conversation, attributes: Any) -> None:
    """`@conversation.custom_attributes = params[:custom_attributes]`: a whole replacement."""
    before = snapshot(conv, CONVERSATION_COLUMNS)
    conv.custom_attributes = dict(attributes) if isinstance(attributes, dict) else None
    save_conversation(op, conv, before)


def mark_contact_seen(op: Operation, conv: Conversation, moment: datetime | None = None) -> None:
    before = snapshot(conv, CONVERSATION_COLUMNS)
    conv.contact_last_seen_at = moment or utcnow()
    save_conversation(op, conv, before)


def typing(op: Operation, conv: Conversation, typing_status: Any) -> None:
    """The public toggle_typing: `on`/`off` reach webhooks, anything else is ignored."""
    names = {"on": "conversation_typing_on", "off": "conversation_typing_off"}
    name = names.get(str(typing_status))
    if name is None:
        return
    contact = op.store.contacts.rows[conv.contact_id]
    payload = {
        "conversation": views.conversation_push_data(op.store, conv),
        "user": views.contact_webhook_data(op.store, contact),
        "is_private": False,
    }
    op.emit(name, payload, conv.account_id, conv.inbox_id)


def delete(store: Store, conv: Conversation) -> None:
    """Conversation#destroy with its messages and their attachments; no webhook announces it."""
    for message in store.messages_of(conv.id):
        for attachment in message.attachments:
            store.attachments.remove(attachment.id)
        store.messages.remove(message.id)
    store.conversations.remove(conv.id)
