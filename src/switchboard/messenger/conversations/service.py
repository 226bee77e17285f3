"""The visitor's side of a conversation: who the visitor is (a random token, only its digest
kept), the widget's inbox and where it may run, messages sent (idempotent on the widget's own
`client_id`) and the history. Functions take the caller's session and never commit.

- A visitor is whoever holds the token: an unknown token is refused, never replaced by another
  contact's, and never leads to one.
- The first message (or the first after the last conversation was resolved or closed) opens a
  conversation and routes it in the same transaction; out of hours it waits and gets the inbox's
  offline text once, as an automatic outbound message.
- Text is stored as typed; views add its safe HTML (`messenger.formatting`).
- Every change is fanned out (`events.py`): queued in the session, published by `flush` as the
  transaction's last step (each public function here that changes something flushes at its
  end, so a caller needs nothing more).
- The widget's event stream opens with a signed `stream_key` (EventSource sends no headers):
  bound to the contact and the inbox, expiring, under a key derived for this purpose alone.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, Protocol
from urllib.parse import urlsplit

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.core.errors import Conflict, Forbidden, NotFound, Unauthorized, Unprocessable
from switchboard.core.realtime import EventBus
from switchboard.messenger.accounts.repository import StaffRecord
from switchboard.messenger.conversations import events, repository, views
from switchboard.messenger.conversations.repository import (
    ContactRow,
    ConversationRow,
    InboxRow,
    MessageRow,
)
from switchboard.messenger.conversations.schemas import (
    HISTORY_LIMIT,
    ConversationSummary,
    MessageView,
)
from switchboard.messenger.conversations.views import (
    AttachmentLinks,
    conversation_summary,
    message_view,
)
from switchboard.messenger.routing import policy
from switchboard.messenger.routing import service as routing_service
from switchboard.messenger.routing.service import Routing
from switchboard.messenger.schemas import InboxSettings

#: Conversations the visitor can no longer write to: the next message starts a new one.
FINISHED = ("resolved", "closed")
ACTIVE = ("open", "pending")
#: The signing key's purpose (`SecretBox.signing_key`): a visitor's stream key and nothing else.
STREAM_KEY_PURPOSE = "messenger.visitor-stream"
_NUMBER = re.compile(r"[0-9]{1,19}", re.ASCII)

__all__ = [
    "change_status",
    "conversation_summary",
    "mark_seen",
    "message_view",
    "open_conversation",
    "post_staff_message",
    "typing",
]


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


async def widget_visitor(
    session: AsyncSession,
    public_key: str,
    origin: str | None,
    token: str | None,
    *,
    lock: bool = False,
) -> tuple[Widget, ContactRow]:
    """The widget a page calls (`widget`) and the visitor calling it (`visitor`)."""
    return await widget(session, public_key, origin), await visitor(session, token, lock=lock)


# --- the visitor's stream key -------------------------------------------------------------------


def _stream_signature(key: bytes, contact_id: int, inbox_id: int, expires: int) -> str:
    message = f"{contact_id}:{inbox_id}:{expires}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def stream_key(
    key: bytes, contact_id: int, inbox_id: int, *, now: datetime, lifetime: timedelta
) -> str:
    """`<contact>.<inbox>.<expires>.<signature>`: opens this visitor's event stream of this
    inbox until `expires` (a Unix time), and nothing else."""
    expires = int((now + lifetime).timestamp())
    signature = _stream_signature(key, contact_id, inbox_id, expires)
    return f"{contact_id}.{inbox_id}.{expires}.{signature}"


def stream_contact(key: bytes, given: str, inbox_id: int, *, now: datetime) -> int:
    """The contact a stream key was given to, for this inbox (401 for anything else)."""
    parts = given.split(".")
    if len(parts) != 4 or not all(_NUMBER.fullmatch(part) for part in parts[:3]):
        raise Unauthorized("stream_key_invalid", "This stream key is not valid.")
    contact_id, key_inbox, expires = (int(part) for part in parts[:3])
    expected = _stream_signature(key, contact_id, key_inbox, expires).encode()
    if key_inbox != inbox_id or not hmac.compare_digest(expected, parts[3].lower().encode()):
        raise Unauthorized("stream_key_invalid", "This stream key is not valid.")
    if expires < now.timestamp():
        raise Unauthorized(
            "stream_key_expired", "This stream key has expired; start the chat again."
        )
    return contact_id


# --- messages -------------------------------------------------------------------------------


async def _claim(
    session: AsyncSession,
    conversation_id: int,
    message_id: int,
    ids: Sequence[int],
    *,
    contact_id: int | None = None,
    staff_id: int | None = None,
) -> None:
    """The message takes files its author uploaded and no message took yet (422 otherwise)."""
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return
    rows = await repository.lock_attachments(session, wanted)
    mine = [
        row
        for row in rows
        if row.message_id is None
        and (row.contact_id == contact_id if contact_id is not None else row.staff_id == staff_id)
    ]
    if len(mine) != len(wanted):
        raise Unprocessable(
            "attachment_unavailable",
            "An attached file was not uploaded by you or was already sent.",
        )
    order = {attachment_id: n for n, attachment_id in enumerate(wanted)}
    mine.sort(key=lambda row: order[row.id])
    snapshot = [
        {"id": row.id, "name": row.file_name, "content_type": row.content_type, "bytes": row.bytes}
        for row in mine
    ]
    await repository.attach(session, message_id, conversation_id, mine, snapshot)


def _client_id_taken() -> Conflict:
    return Conflict(
        "client_id_taken",
        "Another message of this conversation has this client id; send with a new one.",
    )


def _repeated(before: MessageRow, author_kind: str) -> MessageRow:
    """A send repeated with the same client id: the stored message, if it is the sender's."""
    if before.author_kind != author_kind:
        raise _client_id_taken()
    return before


def _message_created(
    session: AsyncSession,
    bus: EventBus,
    conversation: ConversationRow,
    row: MessageRow,
    links: AttachmentLinks | None,
) -> MessageView:
    view = message_view(row, links)
    events.queue(
        session,
        bus,
        events.MessageCreated(
            conversation_id=row.conversation_id, message=view.model_dump(mode="json")
        ),
        events.channels_of(conversation.contact_id, (conversation.assignee_id,)),
    )
    return view


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
    attachment_ids: Sequence[int] = (),
    links: AttachmentLinks | None = None,
) -> Sent:
    """Store the visitor's message (once per `client_id`), with the files they uploaded for it,
    opening and routing a conversation when there is none to write to; `message.created` goes
    to the visitor, the assignee and supervision (with signed links to its files when `links`,
    the process's `Attachments`, is given). The caller holds the contact's row lock."""
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
    first = await repository.insert_message(
        session,
        conversation_id=conversation_id,
        direction="in",
        author_kind="contact",
        body=text,
        client_id=client_id,
    )
    if not first:
        # The other side's message of this conversation holds this client id.
        raise _client_id_taken()
    await _claim(session, conversation_id, first, attachment_ids, contact_id=contact.id)
    stored = [first]
    if opened:
        outcome = await routing_service.assign_new(
            session, routing, conversation_id, now=now, ip=ip
        )
        if outcome.result == "offline" and found.settings.offline.enabled:
            stored.append(
                await repository.insert_message(
                    session,
                    conversation_id=conversation_id,
                    direction="out",
                    author_kind="system",
                    body=found.settings.offline.message,
                    client_id=None,
                )
            )
    conversation = await repository.conversation(session, conversation_id)
    rows = [await repository.message(session, message_id) for message_id in stored]
    for row in rows:
        _message_created(session, bus, conversation, row, links)
    await events.flush(session)
    return Sent(conversation, rows, False)


class StaffMember(Protocol):
    @property
    def id(self) -> int: ...


async def post_staff_message(
    session: AsyncSession,
    bus: EventBus,
    conversation_id: int,
    staff: StaffMember | StaffRecord,
    *,
    text: str,
    client_id: str,
    attachment_ids: Sequence[int] = (),
    now: datetime,
    links: AttachmentLinks | None = None,
) -> MessageView:
    """Store a staff member's answer (once per `client_id` in the conversation: a repeat
    answers the stored message), with the files they uploaded for it; `message.created` goes
    to the visitor, the assignee, the author and supervision (with signed links to its files
    when `links`, `runtime.extension(Attachments)`, is given). The assignee answering counts as
    opening it (no escalation by timeout from then on). Permissions are the caller's: this
    only refuses conversations that are not there (404) or no longer active (409)."""
    conversation = await repository.find_conversation(session, conversation_id, lock=True)
    if conversation is None:
        raise NotFound("conversation_not_found", "There is no such conversation.")
    before = await repository.message_with_client_id(session, conversation_id, client_id)
    if before is not None:
        return message_view(_repeated(before, "staff"), links)
    if conversation.status not in ACTIVE:
        raise Conflict(
            "conversation_finished", "The conversation is resolved or closed; reopen it first."
        )
    message_id = await repository.insert_message(
        session,
        conversation_id=conversation_id,
        direction="out",
        author_kind="staff",
        body=text,
        client_id=client_id,
        staff_id=staff.id,
    )
    if not message_id:
        # A repeat that raced the original (the conversation's lock makes this rare).
        raced = await repository.message_with_client_id(session, conversation_id, client_id)
        assert raced is not None
        return message_view(_repeated(raced, "staff"), links)
    await _claim(session, conversation_id, message_id, attachment_ids, staff_id=staff.id)
    if await routing_service.mark_opened(session, conversation_id, staff.id, now=now):
        await views.changed(session, bus, conversation_id, "opened")
    row = await repository.message(session, message_id)
    view = message_view(row, links)
    events.queue(
        session,
        bus,
        events.MessageCreated(
            conversation_id=conversation_id, message=view.model_dump(mode="json")
        ),
        events.channels_of(conversation.contact_id, (conversation.assignee_id, staff.id)),
    )
    await events.flush(session)
    return view


async def history(
    session: AsyncSession, found: Widget, contact: ContactRow, after: int
) -> tuple[ConversationRow | None, list[MessageRow]]:
    """The messages of the visitor's latest conversation here after message `after`."""
    current = await repository.latest_conversation(session, contact.id, found.inbox.id)
    if current is None:
        return None, []
    return current, await repository.messages_after(session, current.id, after, HISTORY_LIMIT)


async def visitor_conversation(
    session: AsyncSession, found: Widget, contact: ContactRow, conversation_id: int
) -> ConversationRow:
    """A conversation of this visitor in this inbox (404 for any other)."""
    conversation = await repository.find_conversation(session, conversation_id, lock=True)
    if (
        conversation is None
        or conversation.contact_id != contact.id
        or conversation.inbox_id != found.inbox.id
    ):
        raise NotFound("conversation_not_found", "There is no such conversation.")
    return conversation


# --- delivery and read marks, typing ----------------------------------------------------------


async def mark_seen(
    session: AsyncSession,
    bus: EventBus,
    conversation_id: int,
    *,
    reader: Literal["contact", "staff"],
    delivered_up_to: int | None,
    read_up_to: int | None,
    now: datetime,
    staff_id: int | None = None,
) -> bool:
    """The reader's app received (`delivered_up_to`) or showed (`read_up_to`) the other side's
    messages up to these ids: sets their `delivered_at` / `read_at` (read implies delivered) and
    publishes `messages.seen` to the visitor, the assignee and supervision. A staff member's
    read also moves the assignee's last read (the unread count; with `staff_id`, only when they
    are the assignee) and, when it moved, sends the staff channels a `conversation.changed`
    (`read`). False when no message changed (no `messages.seen` then)."""
    conversation = await repository.find_conversation(session, conversation_id)
    if conversation is None:
        raise NotFound("conversation_not_found", "There is no such conversation.")
    direction = "out" if reader == "contact" else "in"
    delivered, read = await repository.mark_messages(
        session,
        conversation_id,
        direction,
        delivered_up_to=delivered_up_to,
        read_up_to=read_up_to,
        now=now,
    )
    if (
        reader == "staff"
        and read_up_to
        and await repository.set_assignee_read(session, conversation_id, read_up_to, staff_id)
    ):
        await views.changed(session, bus, conversation_id, "read")
    if not (delivered or read):
        await events.flush(session)
        return False
    events.queue(
        session,
        bus,
        events.MessagesSeen(
            conversation_id=conversation_id,
            direction=direction,
            delivered_up_to=max(delivered_up_to or 0, read_up_to or 0) if delivered else None,
            read_up_to=read_up_to if read else None,
        ),
        events.channels_of(
            await _receipts_audience(session, conversation, reader),
            (conversation.assignee_id,),
        ),
    )
    await events.flush(session)
    return True


async def _receipts_audience(
    session: AsyncSession, conversation: ConversationRow, reader: str
) -> int | None:
    """The visitor learns that staff read their messages only where the inbox shows ticks
    (`features.read_receipts`); their own reads always go to the staff."""
    if reader == "contact":
        return conversation.contact_id
    found = InboxSettings.model_validate(
        await repository.inbox_settings(session, conversation.inbox_id)
    )
    return conversation.contact_id if found.features.read_receipts else None


class Addressed(Protocol):
    """What fanning out needs of a conversation (a `ConversationRow` has it)."""

    @property
    def id(self) -> int: ...

    @property
    def contact_id(self) -> int: ...

    @property
    def assignee_id(self) -> int | None: ...


async def typing(
    bus: EventBus,
    conversation: Addressed,
    *,
    author_kind: Literal["contact", "staff"],
    name: str | None,
    typing: bool,
) -> None:
    """Someone is typing (or stopped), published at once: a visitor's typing to the assignee
    and supervision, a staff member's to the visitor and supervision (never back to its
    author's side)."""
    if author_kind == "contact":
        channels = events.channels_of(None, (conversation.assignee_id,))
    else:
        channels = events.channels_of(conversation.contact_id)
    await events.publish_now(
        bus,
        events.Typing(
            conversation_id=conversation.id, author_kind=author_kind, name=name, typing=typing
        ),
        channels,
    )


async def conversation(session: AsyncSession, conversation_id: int) -> ConversationRow:
    """The conversation (404 when there is none)."""
    found = await repository.find_conversation(session, conversation_id)
    if found is None:
        raise NotFound("conversation_not_found", "There is no such conversation.")
    return found


async def open_conversation(
    session: AsyncSession, bus: EventBus, conversation_id: int, staff_id: int, *, now: datetime
) -> ConversationSummary:
    """A staff member opened the conversation: its assignee's first open stops the escalation
    timer (`conversation.changed` `opened`), and whoever opens it has read the visitor's
    messages so far (`mark_seen`; the unread count only moves for the assignee)."""
    await conversation(session, conversation_id)
    if await routing_service.mark_opened(session, conversation_id, staff_id, now=now):
        await views.changed(session, bus, conversation_id, "opened")
    latest = await repository.latest_inbound(session, conversation_id)
    if latest is not None:
        await mark_seen(
            session,
            bus,
            conversation_id,
            reader="staff",
            delivered_up_to=None,
            read_up_to=latest,
            now=now,
            staff_id=staff_id,
        )
    await events.flush(session)
    return await _summary(session, conversation_id)


# --- status and rating -------------------------------------------------------------------------

Target = Literal["resolved", "closed", "open"]
_CHANGE_NAMES = {"resolved": "resolved", "closed": "closed", "open": "reopened"}


async def change_status(
    session: AsyncSession,
    bus: EventBus,
    conversation_id: int,
    *,
    to: Target,
    actor_staff_id: int | None,
    now: datetime,
) -> ConversationSummary:
    """Resolve, close or reopen a conversation; its summary after. Resolving or closing frees
    the assignee's capacity (and voids its escalation); reopening keeps the assignee (waits,
    `pending`, when there is none) and routes nothing new. A closed conversation is not
    resolved again (409), nor is one reopened when the visitor has started a newer one (409).
    The same status again changes nothing and publishes nothing. `conversation.changed` goes
    to the staff channels and (its status) to the visitor."""
    conversation = await repository.find_conversation(session, conversation_id, lock=True)
    if conversation is None:
        raise NotFound("conversation_not_found", "There is no such conversation.")
    status = conversation.status
    if to == "open":
        if status in ACTIVE:
            return await _summary(session, conversation_id)
        if await repository.newer_conversation_exists(session, conversation):
            raise Conflict(
                "conversation_superseded",
                "The visitor has started a newer conversation; answer there.",
            )
        new_status, finished_at = (
            ("open" if conversation.assignee_id is not None else "pending"),
            None,
        )
    else:
        if status == to:
            return await _summary(session, conversation_id)
        if status == "closed":
            raise Conflict("conversation_closed", "The conversation is closed already.")
        new_status, finished_at = to, now
    await repository.set_status(session, conversation_id, new_status, finished_at=finished_at)
    summary = await views.changed(session, bus, conversation_id, _CHANGE_NAMES[to])
    await events.flush(session)
    assert summary is not None
    return summary


async def _summary(session: AsyncSession, conversation_id: int) -> ConversationSummary:
    summary = await conversation_summary(session, conversation_id)
    if summary is None:
        raise NotFound("conversation_not_found", "There is no such conversation.")
    return summary


async def rate(
    session: AsyncSession,
    bus: EventBus,
    found: Widget,
    contact: ContactRow,
    conversation_id: int,
    *,
    score: int,
    comment: str | None,
    now: datetime,
) -> ConversationRow:
    """The visitor rates a resolved or closed conversation of theirs, once, on the inbox's
    scale (stars 1–5, NPS 0–10)."""
    conversation = await visitor_conversation(session, found, contact, conversation_id)
    rating = found.settings.rating
    if not rating.enabled:
        raise Forbidden("rating_disabled", "Rating is switched off for this chat.")
    if conversation.status not in FINISHED:
        raise Conflict(
            "conversation_not_finished", "A conversation can be rated once it is finished."
        )
    low = 1 if rating.scale == 5 else 0
    if not low <= score <= rating.scale:
        raise Unprocessable(
            "rating_out_of_range",
            "The rating is from {low} to {high}.",
            low=low,
            high=rating.scale,
        )
    if not await repository.rate(
        session, conversation_id, score=score, scale=rating.scale, comment=comment or None, now=now
    ):
        raise Conflict("conversation_rated", "This conversation has been rated already.")
    await views.changed(session, bus, conversation_id, "rated")
    await events.flush(session)
    return await repository.conversation(session, conversation_id)


# --- out of hours: the "leave a request" form ---------------------------------------------------


async def offline_request(
    session: AsyncSession,
    routing: Routing,
    bus: EventBus,
    found: Widget,
    contact: ContactRow,
    *,
    name: str,
    phone: str | None,
    email: str | None,
    text: str,
    now: datetime,
    ip: str | None,
    links: AttachmentLinks | None = None,
) -> Sent:
    """The visitor left their name, a way to reach them and a question: the contact keeps them,
    the question is a message of their active conversation or of a new one, routed as any new
    chat (out of hours it waits, `pending`, until `route_waiting` finds it within hours). No
    automatic offline text: the form said it. The caller holds the contact's row lock."""
    await repository.touch_contact(
        session, contact.id, name=name, email=email or None, phone=phone or None, region_id=None
    )
    current = await repository.latest_conversation(session, contact.id, found.inbox.id)
    opened = current is None or current.status in FINISHED
    conversation_id = (
        await repository.insert_conversation(session, contact.id, found.inbox.id)
        if current is None or opened
        else current.id
    )
    message_id = await repository.insert_message(
        session,
        conversation_id=conversation_id,
        direction="in",
        author_kind="contact",
        body=text,
        client_id=None,
    )
    if opened:
        await routing_service.assign_new(session, routing, conversation_id, now=now, ip=ip)
    conversation = await repository.conversation(session, conversation_id)
    row = await repository.message(session, message_id)
    _message_created(session, bus, conversation, row, links)
    await events.flush(session)
    return Sent(conversation, [row], False)
