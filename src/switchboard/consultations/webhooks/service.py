"""Chatwoot webhooks: who may post them, and what each event changes in our database.

The database is the master (seed 001, section 3): a webhook only brings `cons.cons` and
`cons.q_and_a` up to date with what people did in Chatwoot. What that owes 1C goes through the
outbox (`onec.update_consultation`) and what the client should hear through `notify`, both in the
caller's transaction, so they happen if and only if the change commits.

Chatwoot >= 4.11.2 signs each delivery: `X-Chatwoot-Signature: sha256=<hex HMAC-SHA256 of
"<X-Chatwoot-Timestamp>.<raw body>">`, keyed with the webhook's own secret, and names it with
`X-Chatwoot-Delivery` (kept across its retries). Event names are underscore names with the record
at the payload's root; the dot names of seed 001 are accepted too.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

import orjson
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.consultations.booking.service import record_status_change
from switchboard.consultations.models import TERMINAL_STATUSES, Consultation
from switchboard.consultations.notifications.service import notify
from switchboard.consultations.sync.service import enqueue
from switchboard.consultations.webhooks import repository
from switchboard.consultations.webhooks.schemas import Conversation, Message, Person
from switchboard.core.errors import excerpt
from switchboard.core.i18n import translate

SOURCE = "chatwoot"
UPDATE_IN_ONEC = "onec.update_consultation"
#: The conversation custom attribute that carries our `cons_id` (set when we open the
#: conversation), so a conversation is recognised before its id reaches our row.
REFERENCE_ATTRIBUTE = "cons_id"

CONVERSATION_EVENTS = frozenset(
    {
        "conversation_created",
        "conversation_updated",
        "conversation_status_changed",
        # Not a Chatwoot event (seed 001 names it): a status change to resolved.
        "conversation_resolved",
    }
)
MESSAGE_EVENTS = frozenset({"message_created", "message_updated"})
TYPING_EVENTS = frozenset({"conversation_typing_on", "conversation_typing_off"})

#: Chatwoot's conversation statuses in ours. Chatwoot's resolved is our resolved (our closed
#: comes from 1C's "Конец"); a snoozed conversation is still waiting in the queue.
CHATWOOT_STATUSES = {
    "open": "open",
    "pending": "pending",
    "snoozed": "pending",
    "resolved": "resolved",
}
#: Message types by Chatwoot's enum value (REST) and name (webhooks).
MESSAGE_TYPES = {0: "incoming", 1: "outgoing", 2: "activity", 3: "template"}

MAX_JSON_DEPTH = 32
#: How much of a refused body the log keeps.
REFUSED_BODY_EXCERPT = 4096
_TIMESTAMP = re.compile(r"\d{1,12}")


# -- who may post ----------------------------------------------------------------------------


class Refused(Exception):
    """A delivery not taken: `code` for the answer, `reason` in words for the log."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass(frozen=True)
class SignaturePolicy:
    #: The webhook's secret; empty: deliveries are not checked (if `unsigned_allowed`).
    secret: str
    tolerance_seconds: float
    #: Without a secret: take unsigned deliveries (dev, test, or a Chatwoot too old to sign).
    unsigned_allowed: bool


def signature_of(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={digest.hexdigest()}"


def check_signature(
    policy: SignaturePolicy,
    *,
    signature: str | None,
    timestamp: str | None,
    body: bytes,
    now: float,
) -> bool | None:
    """True when the delivery is Chatwoot's and fresh, None when there is nothing to check;
    raises `Refused` otherwise. Only the raw bytes are looked at, nothing is parsed."""
    if not policy.secret:
        if policy.unsigned_allowed:
            return None
        raise Refused(
            "webhook_unsigned",
            "refused: CHATWOOT_WEBHOOK_SECRET is not set, and ENV=prod takes no unsigned webhooks",
        )
    if not signature or not timestamp:
        raise Refused("webhook_signature_invalid", "refused: no X-Chatwoot-Signature/Timestamp")
    if not _TIMESTAMP.fullmatch(timestamp):
        raise Refused("webhook_signature_invalid", "refused: X-Chatwoot-Timestamp is not a number")
    expected = signature_of(policy.secret, timestamp, body).encode()
    # Header values arrive decoded as latin-1, so this gives back the bytes that were sent.
    if not hmac.compare_digest(expected, signature.strip().encode("latin-1")):
        raise Refused("webhook_signature_invalid", "refused: the signature does not match")
    if abs(now - int(timestamp)) > policy.tolerance_seconds:
        raise Refused(
            "webhook_stale",
            f"refused: signed {int(now) - int(timestamp)} s ago, a replay or a stuck queue",
        )
    return True


def refused_body(body: bytes) -> dict[str, Any]:
    """What the log keeps of a body that was not taken: a bounded, unparsed excerpt."""
    text = body[:REFUSED_BODY_EXCERPT].decode("utf-8", "replace").replace("\x00", "\ufffd")
    return {"refused_body": text, "size": len(body)}


# -- reading the body ------------------------------------------------------------------------


class Malformed(Exception):
    """The body is not a JSON object with an event name."""


def decode(body: bytes) -> dict[str, Any]:
    """The body as a JSON object, with NUL characters (which PostgreSQL text cannot hold)
    replaced; raises `Malformed`."""
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise Malformed(f"not valid JSON ({excerpt(str(error), 80)})") from error
    if not isinstance(value, dict):
        raise Malformed("not a JSON object")
    cleaned: dict[str, Any] = _scrub(value, 0)
    return cleaned


def _scrub(value: Any, depth: int) -> Any:
    if depth > MAX_JSON_DEPTH:
        raise Malformed(f"nested deeper than {MAX_JSON_DEPTH} levels")
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {_scrub(key, depth): _scrub(item, depth + 1) for key, item in value.items()}
    if isinstance(value, list):
        return [_scrub(item, depth + 1) for item in value]
    return value


def event_name(payload: Mapping[str, Any]) -> str:
    """`conversation_updated` for `conversation_updated` or `conversation.updated`."""
    raw = payload.get("event")
    if not isinstance(raw, str) or not raw.strip():
        raise Malformed('no "event" name')
    return raw.strip().lower().replace(".", "_")[:64]


class InvalidPayload(Exception):
    """A known event whose record does not have the shape Chatwoot gives it."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__("invalid payload")
        self.errors = errors

    def describe(self) -> str:
        fields = ", ".join(".".join(str(part) for part in e["loc"]) or "body" for e in self.errors)
        return f"rejected: invalid payload ({excerpt(fields, 200)})"


Record = Conversation | Message | None


def parse(event: str, payload: Mapping[str, Any]) -> Record:
    """The record an event is about (None for events that need none); `InvalidPayload`."""
    try:
        if event in CONVERSATION_EVENTS:
            return Conversation.model_validate(_record(payload, "conversation"))
        if event in MESSAGE_EVENTS:
            return Message.model_validate(_record(payload, "message"))
    except ValidationError as error:
        raise InvalidPayload(
            [dict(e) for e in error.errors(include_url=False, include_input=False)]
        ) from error
    return None


def _record(payload: Mapping[str, Any], kind: str) -> Mapping[str, Any]:
    """Chatwoot puts the record at the root; the dotted form of seed 001 wraps it in `data`."""
    data = payload.get("data")
    if not isinstance(data, dict):
        return payload
    inner = data.get(kind)
    if not isinstance(inner, dict):
        return data
    if kind == "message" and "conversation" not in inner and "conversation" in data:
        return {**inner, "conversation": data["conversation"]}
    return inner


# -- the delivery log ----------------------------------------------------------------------------


async def record_delivery(
    session: AsyncSession,
    *,
    event: str | None,
    delivery_id: str | None,
    payload: Any,
    signature_valid: bool | None,
    signature: str | None = None,
    outcome: str | None = None,
) -> repository.StoredDelivery:
    """Store a delivery (a redelivery finds the row stored the first time)."""
    return await repository.store_delivery(
        session,
        source=SOURCE,
        event=event,
        delivery_id=delivery_id,
        payload=payload,
        signature_valid=signature_valid,
        signature=signature,
        outcome=outcome,
    )


async def claim(session: AsyncSession, log_id: int) -> bool:
    """Hold the delivery for processing in this transaction; False if it was processed."""
    return await repository.claim_delivery(session, log_id)


async def finish(session: AsyncSession, log_id: int, outcome: str, *, processed: bool) -> None:
    await repository.finish_delivery(session, log_id, outcome=outcome, processed=processed)


# -- what an event changes ---------------------------------------------------------------------


@dataclass(frozen=True)
class Context:
    #: CHATWOOT_INBOX_ID: the inbox whose new conversations become consultations.
    inbox_id: int | None
    delivery_id: str | None
    now: datetime


@dataclass(frozen=True)
class Outcome:
    #: False: the event needed nothing done ("ignored").
    processed: bool
    text: str


async def process(session: AsyncSession, event: str, record: Record, context: Context) -> Outcome:
    """Bring our database up to date with one event (in the caller's transaction)."""
    if isinstance(record, Conversation):
        return await _conversation_event(session, event, record, context)
    if isinstance(record, Message):
        if event == "message_created":
            return await _message_created(session, record, context)
        return _message_updated(record)
    if event in TYPING_EVENTS:
        return Outcome(False, "typing indicator: nothing to store")
    return Outcome(False, f"event {event} is not handled")


async def _consultation_of(
    session: AsyncSession, conversation: Conversation
) -> Consultation | None:
    """The consultation of a conversation (locked), found by the conversation id or, before
    that id reached our row, by the `cons_id` we gave the conversation (and then linked)."""
    row = await repository.consultation_by_conversation(session, conversation.id)
    if row is not None:
        return row
    reference = (conversation.custom_attributes or {}).get(REFERENCE_ATTRIBUTE)
    if not isinstance(reference, str) or not reference:
        return None
    row = await repository.consultation_by_id(session, reference)
    if row is None or row.chatwoot_conversation_id not in (None, conversation.id):
        return None
    await repository.link_conversation(session, row.cons_id, conversation.id)
    return row


async def _conversation_event(
    session: AsyncSession, event: str, conversation: Conversation, context: Context
) -> Outcome:
    row = await _consultation_of(session, conversation)
    if row is None:
        if event == "conversation_created":
            return await _adopt(session, conversation, context)
        return Outcome(False, f"conversation {conversation.id} belongs to no consultation")
    if event == "conversation_created":
        return Outcome(True, f"conversation {conversation.id} is consultation {row.cons_id}")
    change = _Change(row, old_status=row.status, old_manager=row.manager)
    changes = conversation.changes()
    _take_status(change, event, conversation, changes, context.now)
    if event == "conversation_updated":
        await _take_assignee(session, change, conversation, changes)
        _take_attributes(change, conversation, changes)
    return await _save(session, change, conversation, context)


@dataclass
class _Change:
    """What one event changes in one consultation."""

    row: Consultation
    old_status: str
    old_manager: uuid.UUID | None
    values: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    #: The agent's name as Chatwoot gives it, for the client's message when 1C has none.
    agent_name: str | None = None
    #: A field 1C keeps has changed: the document is to be brought up to date.
    owed_to_onec: bool = False


def _take_status(
    change: _Change,
    event: str,
    conversation: Conversation,
    changes: dict[str, tuple[Any, Any]] | None,
    now: datetime,
) -> None:
    if event == "conversation_updated" and changes is not None and "status" not in changes:
        return
    if event == "conversation_resolved":
        new = "resolved"
    else:
        mapped = CHATWOOT_STATUSES.get(conversation.status or "")
        if mapped is None:
            change.notes.append(f"unknown Chatwoot status {excerpt(str(conversation.status))}")
            return
        new = mapped
    old = change.old_status
    if new == old:
        return
    if old in TERMINAL_STATUSES:
        # A client writing into a finished chat makes Chatwoot reopen it; the consultation
        # itself stays finished (and a cancelled one is never turned into a resolved one).
        change.notes.append(f"status {old} kept (Chatwoot: {conversation.status})")
        return
    change.values["status"] = new
    if new == "resolved":
        change.values["end_date"] = now
    change.owed_to_onec = True
    change.notes.append(f"status {old} -> {new}")


async def _take_assignee(
    session: AsyncSession,
    change: _Change,
    conversation: Conversation,
    changes: dict[str, tuple[Any, Any]] | None,
) -> None:
    if changes is not None and "assignee_id" not in changes:
        return
    agent = _assigned_agent(conversation)
    if agent is None or agent.id is None:
        if changes is not None:
            change.notes.append("unassigned in Chatwoot; manager kept")
        return
    if change.old_status in TERMINAL_STATUSES:
        change.notes.append(f"consultation is {change.old_status}; manager kept")
        return
    key = await repository.manager_key_of_agent(session, agent.id)
    if key is None:
        change.notes.append(f"agent {agent.id} is no known 1C manager; manager kept")
        return
    if key == change.old_manager:
        return
    change.values["manager"] = key
    change.agent_name = agent.available_name or agent.name
    change.owed_to_onec = True
    change.notes.append(f"manager {change.old_manager} -> {key}")


def _assigned_agent(conversation: Conversation) -> Person | None:
    """The agent (a person, not a bot) the conversation is assigned to."""
    meta = conversation.meta
    if meta.assignee is None or meta.assignee_type not in (None, "User"):
        return None
    if meta.assignee.type not in (None, "user"):
        return None
    return meta.assignee


def _take_attributes(
    change: _Change, conversation: Conversation, changes: dict[str, tuple[Any, Any]] | None
) -> None:
    """Conversation custom attributes a person changed in Chatwoot, as the inventory maps
    them: date_con → start_date, con_end → end_date, redate_con → redate, retime_con →
    redate_time, closed_without_con → denied."""
    if changes is not None and "custom_attributes" not in changes:
        return
    current = conversation.custom_attributes
    if current is None:
        return
    previous = changes["custom_attributes"][0] if changes is not None else None
    for key, (column, read) in ATTRIBUTE_COLUMNS.items():
        if key not in current:
            continue
        if isinstance(previous, dict) and previous.get(key) == current[key]:
            continue
        value = read(current[key])
        if value is _INVALID:
            change.notes.append(f"{key} not understood: {excerpt(str(current[key]))}")
            continue
        if value is None or _same(value, getattr(change.row, column)):
            continue
        change.values[column] = value
        change.owed_to_onec = True
        change.notes.append(f"{column} from {key}")
    if current != change.row.custom_attributes:
        change.values["custom_attributes"] = current


def _same(value: Any, stored: Any) -> bool:
    """Equal as Chatwoot shows it: moments go there in whole seconds, so the echo of our own
    attributes is no change."""
    if isinstance(value, datetime) and isinstance(stored, datetime):
        return value == stored.replace(microsecond=0)
    return bool(value == stored)


async def _save(
    session: AsyncSession, change: _Change, conversation: Conversation, context: Context
) -> Outcome:
    row = change.row
    if change.values:
        await repository.update_consultation(session, row.cons_id, change.values)
    if "status" in change.values:
        await record_status_change(
            session, row.cons_id, change.old_status, change.values["status"], SOURCE
        )
    if "manager" in change.values:
        await _tell_client_about_manager(session, change, conversation, context)
    if change.owed_to_onec and row.cl_ref_key is not None:
        await enqueue(session, UPDATE_IN_ONEC, {"cons_id": row.cons_id}, cons_id=row.cons_id)
    return Outcome(True, "; ".join(change.notes) or "nothing changed")


async def _tell_client_about_manager(
    session: AsyncSession, change: _Change, conversation: Conversation, context: Context
) -> None:
    manager: uuid.UUID = change.values["manager"]
    name = await repository.manager_name(session, manager) or change.agent_name or ""
    locale = change.row.lang if change.row.lang in ("ru", "uz") else "ru"
    # One message per change: a redelivery is never processed twice, and the same change seen
    # through a second webhook finds the manager already set.
    moment = context.delivery_id or str(conversation.updated_at or context.now.isoformat())
    await notify(
        session,
        cons_id=change.row.cons_id,
        kind="manager_reassignment",
        text=translate("Your manager has been changed: {name}", locale, name=name),
        unique={"cons_id": change.row.cons_id, "manager": str(manager), "change": moment},
    )


async def _adopt(session: AsyncSession, conversation: Conversation, context: Context) -> Outcome:
    """A conversation opened in our inbox outside the booking flow becomes a consultation."""
    if context.inbox_id is None:
        return Outcome(False, "CHATWOOT_INBOX_ID is not set: new conversations are not adopted")
    if conversation.inbox_id != context.inbox_id:
        return Outcome(
            False, f"conversation {conversation.id} is in inbox {conversation.inbox_id}, not ours"
        )
    status = CHATWOOT_STATUSES.get(conversation.status or "", "new")
    agent = _assigned_agent(conversation)
    manager = (
        await repository.manager_key_of_agent(session, agent.id) if agent and agent.id else None
    )
    attributes = conversation.custom_attributes or {}
    start = _read_datetime(attributes.get("date_con"))
    cons_id = str(uuid.uuid4())
    inserted = await repository.insert_consultation(
        session,
        {
            "cons_id": cons_id,
            "chatwoot_conversation_id": conversation.id,
            "chatwoot_source_id": conversation.contact_inbox.source_id
            if conversation.contact_inbox
            else None,
            "client_id": await _known_client(session, conversation.meta.sender),
            "status": status,
            "source": "SITE",
            "manager": manager,
            "create_date": _moment(conversation.created_at) or context.now,
            "start_date": start if isinstance(start, datetime) else None,
            "custom_attributes": attributes or None,
        },
    )
    if not inserted:
        return Outcome(False, f"conversation {conversation.id} is known already")
    await record_status_change(session, cons_id, None, status, SOURCE)
    return Outcome(True, f"consultation {cons_id} created for conversation {conversation.id}")


async def _known_client(session: AsyncSession, contact: Person | None) -> uuid.UUID | None:
    """Our client when the contact's identifier is one of our client ids (we set it so)."""
    if contact is None or not contact.identifier:
        return None
    try:
        client_id = uuid.UUID(contact.identifier)
    except ValueError:
        return None
    return client_id if await repository.client_exists(session, client_id) else None


async def _message_created(session: AsyncSession, message: Message, context: Context) -> Outcome:
    if message.private:
        return Outcome(False, "private note: not stored")
    kind = _message_type(message.message_type)
    if kind is None or kind == "activity":
        return Outcome(False, f"{kind or 'unknown'} message: not stored")
    row = await _consultation_of(session, message.conversation)
    if row is None:
        return Outcome(False, f"conversation {message.conversation.id} belongs to no consultation")
    stored = await repository.insert_chat_message(
        session,
        cons_id=row.cons_id,
        chatwoot_message_id=message.id,
        sender_type=_sender_type(message, kind),
        message_type=kind,
        content=message.content,
        created_at=_moment(message.created_at) or context.now,
    )
    if not stored:
        return Outcome(False, f"message {message.id} is stored already")
    return Outcome(True, f"message {message.id} stored for consultation {row.cons_id}")


def _message_type(value: str | int | None) -> str | None:
    if isinstance(value, int):
        return MESSAGE_TYPES.get(value)
    if isinstance(value, str) and value in MESSAGE_TYPES.values():
        return value
    return None


def _sender_type(message: Message, kind: str) -> str | None:
    """contact, user or agent_bot (a contact's webhook data carries no type)."""
    if message.sender is not None and message.sender.type:
        return message.sender.type.lower()[:32]
    return "contact" if kind == "incoming" else None


def _message_updated(message: Message) -> Outcome:
    """CSAT answers arrive as a message update; 1C takes ratings from the site's own form
    (with the manager and question number it needs), so this one stays in the log."""
    submitted = (message.content_attributes or {}).get("submitted_values")
    survey = submitted.get("csat_survey_response") if isinstance(submitted, dict) else None
    if isinstance(survey, dict):
        rating = excerpt(str(survey.get("rating")))
        return Outcome(False, f"CSAT rating {rating} from the client: kept in this log only")
    return Outcome(False, "message update: nothing to store")


# -- reading values ----------------------------------------------------------------------------

_INVALID: Any = object()


def _read_datetime(value: Any) -> datetime | None:
    """An ISO date-time (UTC when it names no offset, as we send them), or `_INVALID`."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        return _INVALID  # type: ignore[no-any-return]
    try:
        moment = datetime.fromisoformat(value.strip())
        if moment.year == 1:
            return None  # 1C's empty date, 0001-01-01
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except (ValueError, OverflowError):
        return _INVALID  # type: ignore[no-any-return]


def _read_date(value: Any) -> date | None:
    moment = _read_datetime(value)
    return moment.date() if isinstance(moment, datetime) else moment


def _read_time(value: Any) -> time | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        return _INVALID  # type: ignore[no-any-return]
    try:
        # The column is a wall-clock time; an offset, if any, is not kept.
        return time.fromisoformat(value.strip()).replace(tzinfo=None)
    except ValueError:
        return _INVALID  # type: ignore[no-any-return]


def _read_flag(value: Any) -> bool | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value != 0
    if isinstance(value, str) and value.strip().lower() in ("true", "1", "yes", "да"):
        return True
    if isinstance(value, str) and value.strip().lower() in ("false", "0", "no", "нет"):
        return False
    return _INVALID  # type: ignore[no-any-return]


ATTRIBUTE_COLUMNS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "date_con": ("start_date", _read_datetime),
    "con_end": ("end_date", _read_datetime),
    "redate_con": ("redate", _read_date),
    "retime_con": ("redate_time", _read_time),
    "closed_without_con": ("denied", _read_flag),
}


def _moment(value: Any) -> datetime | None:
    """A Chatwoot time: unix seconds (push data) or ISO 8601 (message webhook data)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        try:
            return datetime.fromtimestamp(value, UTC)
        except (ValueError, OverflowError, OSError):
            return None
    moment = _read_datetime(value)
    return moment if isinstance(moment, datetime) else None
