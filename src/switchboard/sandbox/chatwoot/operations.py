"""One state change at a time: who does it, what it changed, which webhook events it raises.

An `Operation` runs under the store lock and collects `Event`s; the emulator hands them to the
webhook dispatcher once the lock is released, the way Chatwoot dispatches from `after_commit`.
`save_conversation` and `save_contact` play the part of ActiveRecord's dirty tracking and
callbacks: they diff a snapshot, apply the model's before-save rules, raise the events the
listeners would, and write the activity messages the UI shows.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Literal

from switchboard.sandbox.chatwoot import views
from switchboard.sandbox.chatwoot.records import (
    ACTIVITY,
    Contact,
    Conversation,
    JsonDict,
    Message,
    utcnow,
)
from switchboard.sandbox.chatwoot.store import Store

ActorKind = Literal["user", "bot", "contact", "system"]

# Conversation columns whose change fires `conversation_updated` (Conversation#allowed_keys?).
UPDATED_EVENT_KEYS = (
    "team_id",
    "assignee_id",
    "assignee_agent_bot_id",
    "status",
    "snoozed_until",
    "custom_attributes",
    "label_list",
    "waiting_since",
    "first_reply_created_at",
    "priority",
)
# Every conversation column the emulator lets change, in the order Rails reports changes.
CONVERSATION_COLUMNS = (
    *UPDATED_EVENT_KEYS,
    "additional_attributes",
    "muted",
    "agent_last_seen_at",
    "assignee_last_seen_at",
    "contact_last_seen_at",
)
CONTACT_COLUMNS = (
    "name",
    "email",
    "phone_number",
    "identifier",
    "additional_attributes",
    "custom_attributes",
    "blocked",
    "last_activity_at",
)


@dataclass(frozen=True)
class Actor:
    """`Current.user` (a User or an AgentBot), the contact, or nobody (the system)."""

    kind: ActorKind
    id: int | None = None

    @classmethod
    def system(cls) -> Actor:
        return cls("system")


@dataclass(frozen=True)
class Event:
    name: str
    payload: JsonDict
    account_id: int
    # Conversation and message events also go to the API inbox's own webhook_url.
    inbox_id: int | None = None


@dataclass
class Operation:
    store: Store
    actor: Actor
    events: list[Event] = field(default_factory=list)

    def emit(
        self, name: str, payload: JsonDict, account_id: int, inbox_id: int | None = None
    ) -> None:
        self.events.append(Event(name, {**payload, "event": name}, account_id, inbox_id))

    def actor_name(self) -> str | None:
        """The name activity messages credit: the user's or the bot's, never the system's."""
        if self.actor.kind == "user":
            user = self.store.users.get(self.actor.id)
            return user.name if user else None
        if self.actor.kind == "bot":
            bot = self.store.bots.get(self.actor.id)
            return bot.name if bot else None
        return None


# -- conversations ---------------------------------------------------------------------------


def snapshot(record: Conversation | Contact, columns: tuple[str, ...]) -> dict[str, Any]:
    return {name: copy.deepcopy(getattr(record, name)) for name in columns}


def save_conversation(op: Operation, conv: Conversation, before: dict[str, Any]) -> dict[str, Any]:
    """Save `conv` changed since `before`; returns the changes as {column: (old, new)}."""
    _apply_before_save_rules(op.store, conv, before)
    changes = _diff(conv, before, CONVERSATION_COLUMNS)
    if not changes:
        return {}
    previous_update = conv.updated_at
    conv.updated_at = utcnow()
    changes["updated_at"] = (previous_update, conv.updated_at)
    _emit_conversation_events(op, conv, changes)
    _write_activities(op, conv, changes)
    return changes


def _apply_before_save_rules(store: Store, conv: Conversation, before: dict[str, Any]) -> None:
    # Conversation#ensure_snooze_until_reset: only a snoozed conversation keeps its wake-up time.
    if conv.status != "snoozed":
        conv.snoozed_until = None
    # AssignmentHandler#ensure_assignee_is_from_team: a new team drops an agent outside it.
    # (It would then auto-assign an online member; emulated agents are never online.)
    if conv.team_id != before["team_id"] and conv.team_id is not None:
        team = store.teams.get(conv.team_id)
        if team is not None and conv.assignee_id not in team.member_ids:
            conv.assignee_id = None


def _diff(record: Any, before: dict[str, Any], columns: tuple[str, ...]) -> dict[str, Any]:
    return {
        name: (before[name], getattr(record, name))
        for name in columns
        if before[name] != getattr(record, name)
    }


def changed_attributes(changes: dict[str, Any]) -> list[JsonDict]:
    """The webhook's `changed_attributes`: one `{column: {previous_value, current_value}}` each."""
    return [
        {name: {"previous_value": views.as_json(old), "current_value": views.as_json(new)}}
        for name, (old, new) in changes.items()
    ]


def _emit_conversation_events(op: Operation, conv: Conversation, changes: dict[str, Any]) -> None:
    payload = views.conversation_push_data(op.store, conv)
    if "status" in changes:
        # Rails reads `status_change` inside after_commit, where it is already gone: null.
        op.emit(
            "conversation_status_changed",
            {**payload, "changed_attributes": None},
            conv.account_id,
            conv.inbox_id,
        )
    if any(name in changes for name in UPDATED_EVENT_KEYS) or _language_changed(changes):
        op.emit(
            "conversation_updated",
            {**payload, "changed_attributes": changed_attributes(changes)},
            conv.account_id,
            conv.inbox_id,
        )


def _language_changed(changes: dict[str, Any]) -> bool:
    if "additional_attributes" not in changes:
        return False
    old, new = changes["additional_attributes"]
    return bool(old.get("conversation_language") != new.get("conversation_language"))


def emit_conversation_created(op: Operation, conv: Conversation) -> None:
    op.emit(
        "conversation_created",
        views.conversation_push_data(op.store, conv),
        conv.account_id,
        conv.inbox_id,
    )


# -- activity messages -----------------------------------------------------------------------


def _write_activities(op: Operation, conv: Conversation, changes: dict[str, Any]) -> None:
    lines: list[str | None] = []
    if "status" in changes:
        lines.append(_status_activity(op, conv))
    user_name = op.actor_name()
    if user_name is not None:
        if "priority" in changes:
            lines.append(_priority_activity(user_name, *changes["priority"]))
        if "label_list" in changes:
            lines.extend(_label_activities(user_name, *changes["label_list"]))
        if "team_id" in changes:
            lines.append(_team_activity(op, conv, user_name, changes))
        elif "assignee_id" in changes:
            lines.append(_assignee_activity(op, conv, user_name))
    for line in lines:
        if line:
            add_activity(op.store, conv, line)


def _status_activity(op: Operation, conv: Conversation) -> str | None:
    user_name = op.actor_name()
    if user_name is not None:
        templates = {
            "resolved": "Conversation was marked resolved by {}",
            "open": "Conversation was reopened by {}",
            "pending": "Conversation was marked as pending by {}",
            "snoozed": "Conversation was snoozed by {}",
        }
        return templates[conv.status].format(user_name)
    if op.actor.kind == "contact" and conv.status == "resolved":
        person = op.store.contacts.get(op.actor.id)
        name = (person.name or "") if person else ""
        return f"Conversation was resolved by {name.capitalize()}"
    return None


def _priority_activity(user_name: str, old: str | None, new: str | None) -> str:
    if old is None:
        return f"{user_name} set the priority to {new}"
    if new is None:
        return f"{user_name} removed the priority"
    return f"{user_name} changed the priority from {old} to {new}"


def _label_activities(user_name: str, old: list[str], new: list[str]) -> list[str]:
    added = [tag for tag in new if tag not in old]
    removed = [tag for tag in old if tag not in new]
    lines = []
    if added:
        lines.append(f"{user_name} added {', '.join(added)}")
    if removed:
        lines.append(f"{user_name} removed {', '.join(removed)}")
    return lines


def _team_activity(
    op: Operation, conv: Conversation, user_name: str, changes: dict[str, Any]
) -> str | None:
    old_team = op.store.teams.get(changes["team_id"][0])
    new_team = op.store.teams.get(conv.team_id)
    if new_team is None:
        return f"Unassigned from {old_team.name} by {user_name}" if old_team else None
    assignee = op.store.users.get(conv.assignee_id)
    if "assignee_id" in changes and assignee is not None:
        return f"Assigned to {assignee.name} via {new_team.name} by {user_name}"
    return f"Assigned to {new_team.name} by {user_name}"


def _assignee_activity(op: Operation, conv: Conversation, user_name: str) -> str:
    assignee = op.store.users.get(conv.assignee_id)
    if assignee is None:
        return f"Conversation unassigned by {user_name}"
    if op.actor.kind == "user" and op.actor.id == assignee.id:
        return f"{user_name} self-assigned this conversation"
    return f"Assigned to {assignee.name} by {user_name}"


def new_message(store: Store, conv: Conversation, **fields: Any) -> Message:
    """Store a message of `conv`, with its ids and both timestamps filled in."""
    now = utcnow()
    return store.messages.add(
        Message(
            id=store.messages.next_id(),
            account_id=conv.account_id,
            inbox_id=conv.inbox_id,
            conversation_id=conv.id,
            created_at=now,
            updated_at=now,
            **fields,
        )
    )


def add_activity(store: Store, conv: Conversation, content: str) -> Message:
    """An activity message: shown in the conversation, never sent to webhooks."""
    message = new_message(store, conv, message_type=ACTIVITY, content=content)
    conv.last_activity_at = message.created_at
    return message


# -- contacts --------------------------------------------------------------------------------


def save_contact(op: Operation, contact: Contact, before: dict[str, Any]) -> dict[str, Any]:
    """Save `contact`; `contact_updated` fires only when something really changed."""
    changes = _diff(contact, before, CONTACT_COLUMNS)
    if not changes:
        return {}
    previous_update = contact.updated_at
    contact.updated_at = utcnow()
    changes["updated_at"] = (previous_update, contact.updated_at)
    op.emit(
        "contact_updated",
        {
            **views.contact_webhook_data(op.store, contact),
            "changed_attributes": changed_attributes(changes),
        },
        contact.account_id,
    )
    return changes


def emit_contact_created(op: Operation, contact: Contact) -> None:
    op.emit("contact_created", views.contact_webhook_data(op.store, contact), contact.account_id)
