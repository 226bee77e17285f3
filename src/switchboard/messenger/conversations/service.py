"""The visitor's side of a conversation: who the visitor is (a random token, only its digest
kept), the widget's inbox and where it may run, messages sent (idempotent on the widget's own
`client_id`) and the history. Functions take the caller's session and never commit.

- A visitor is whoever holds the token: an unknown token is refused, never replaced by another
  contact's, and never leads to one.
- The first message (or the first after the last conversation was resolved or closed) opens a
  conversation and routes it in the same transaction; out of hours it waits and gets the inbox's
  offline text once, as an automatic outbound message.
- Text is stored as typed; rendering it safely is the client's job.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.core.errors import Forbidden, NotFound, Unauthorized
from switchboard.core.realtime import EventBus
from switchboard.messenger.conversations import repository
from switchboard.messenger.conversations.events import MessageCreated, channel
from switchboard.messenger.conversations.repository import (
    ContactRow,
    ConversationRow,
    InboxRow,
    MessageRow,
)
from switchboard.messenger.conversations.schemas import HISTORY_LIMIT
from switchboard.messenger.routing import policy
from switchboard.messenger.routing import service as routing_service
from switchboard.messenger.routing.service import Routing
from switchboard.messenger.schemas import InboxSettings

#: Conversations the visitor can no longer write to: the next message starts a new one.
FINISHED = ("resolved", "closed")


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Widget:
    """An active inbox and its settings (stored settings that no longer validate count as the
    defaults: the widget keeps working, with no domain restriction)."""

    inbox: InboxRow
    settings: InboxSettings


@dataclass(frozen=True)
class Bootstrapped:
    token: str | None
    contact: ContactRow
    conversation: ConversationRow | None
    offline: bool


@dataclass(frozen=True)
class Sent:
    conversation: ConversationRow
    messages: list[MessageRow]
    repeated: bool


def host_allowed(allowed: list[str], origin: str | None) -> bool:
    """Whether a page of `origin` may use a widget limited to `allowed` host names (`*.x.com`:
    any subdomain of x.com). An empty list allows any page."""
    if not allowed:
        return True
    if not origin:
        return False
    try:
        host = (urlsplit(origin).hostname or "").lower()
    except ValueError:
        return False
    for entry in (name.strip().lower() for name in allowed):
        if entry.startswith("*.") and host.endswith(entry[1:]):
            return True
        if host and host == entry:
            return True
    return False


async def widget(session: AsyncSession, public_key: str, origin: str | None) -> Widget:
    """The active inbox of `public_key` (404), if the calling page may use it (403)."""
    inbox = await repository.active_inbox(session, public_key)
    if inbox is None:
        raise NotFound("inbox_not_found", "There is no such chat widget.")
    try:
        settings = InboxSettings.model_validate(inbox.settings)
    except ValidationError:
        settings = InboxSettings()
    if not host_allowed(settings.allowed_domains, origin):
        raise Forbidden("origin_not_allowed", "This chat widget may not be used on this site.")
    return Widget(inbox, settings)


def is_offline(found: Widget, now: datetime) -> bool:
    opened, _ = policy.schedule_state(found.inbox.settings.get("schedule"), now)
    return not opened


async def bootstrap(
    session: AsyncSession,
    found: Widget,
    *,
    token: str | None,
    name: str | None,
    email: str | None,
    region: str | None,
    now: datetime,
) -> Bootstrapped:
    """The visitor of `token` (401 for one we never issued), or a new visitor with a new token."""
    region_id = await repository.region_id(session, region.upper()) if region else None
    name, email = name or None, email or None
    new_token = None
    if token is None:
        new_token = secrets.token_urlsafe(32)
        contact = await repository.insert_contact(
            session, token_digest=digest(new_token), name=name, email=email, region_id=region_id
        )
    else:
        known = await visitor(session, token)
        contact = await repository.touch_contact(
            session, known.id, name=name, email=email, region_id=region_id
        )
    conversation = await repository.latest_conversation(session, contact.id, found.inbox.id)
    return Bootstrapped(new_token, contact, conversation, is_offline(found, now))


async def visitor(session: AsyncSession, token: str | None, *, lock: bool = False) -> ContactRow:
    """The contact who holds `token`; `lock` serialises one visitor's sends."""
    if not token:
        raise Unauthorized("visitor_token_required", "The X-Visitor-Token header is required.")
    contact = await repository.contact_by_digest(session, digest(token), lock=lock)
    if contact is None:
        raise Unauthorized("visitor_unknown", "Unknown visitor; start again without a token.")
    return contact


async def send(
    session: AsyncSession,
    routing: Routing,
    bus: EventBus,
    found: Widget,
    contact: ContactRow,
    *,
    text: str,
    client_id: str,
    now: datetime,
    ip: str | None,
) -> Sent:
    """Store the visitor's message (once per `client_id`), opening and routing a conversation
    when there is none to write to. The caller holds the contact's row lock."""
    inbox_id = found.inbox.id
    before = await repository.message_by_client_id(session, contact.id, inbox_id, client_id)
    if before is not None:
        return Sent(await repository.conversation(session, before.conversation_id), [before], True)
    current = await repository.latest_conversation(session, contact.id, inbox_id)
    opened = current is None or current.status in FINISHED
    conversation_id = (
        await repository.insert_conversation(session, contact.id, inbox_id)
        if current is None or opened
        else current.id
    )
    stored = [
        await _store(
            session,
            bus,
            conversation_id,
            direction="in",
            author_kind="contact",
            body=text,
            client_id=client_id,
        )
    ]
    if opened:
        outcome = await routing_service.assign_new(
            session, routing, conversation_id, now=now, ip=ip
        )
        if outcome.result == "offline" and found.settings.offline.enabled:
            stored.append(
                await _store(
                    session,
                    bus,
                    conversation_id,
                    direction="out",
                    author_kind="system",
                    body=found.settings.offline.message,
                )
            )
    return Sent(await repository.conversation(session, conversation_id), stored, False)


async def _store(
    session: AsyncSession,
    bus: EventBus,
    conversation_id: int,
    *,
    direction: str,
    author_kind: str,
    body: str,
    client_id: str | None = None,
) -> MessageRow:
    message = await repository.insert_message(
        session,
        conversation_id=conversation_id,
        direction=direction,
        author_kind=author_kind,
        body=body,
        client_id=client_id,
    )
    await bus.publish_on_commit(
        session,
        channel(conversation_id),
        MessageCreated(
            conversation_id=conversation_id,
            message_id=message.id,
            direction=message.direction,
            author_kind=message.author_kind,
        ),
    )
    return message


async def history(
    session: AsyncSession, found: Widget, contact: ContactRow, after: int
) -> tuple[ConversationRow | None, list[MessageRow]]:
    """The messages of the visitor's latest conversation here after message `after`."""
    current = await repository.latest_conversation(session, contact.id, found.inbox.id)
    if current is None:
        return None, []
    return current, await repository.messages_after(session, current.id, after, HISTORY_LIMIT)
