"""Events of conversations and the channels that carry them.

Each reader has one channel and the server fans an event out to every channel that should see
it, so an SSE stream is one subscription and needs no filtering:

- `messenger.visitor:<contact_id>`: the visitor's widget (every conversation of theirs);
- `messenger.staff:<staff_id>`: an operator (the conversations assigned to them, and the one
  just taken away from them);
- `messenger.supervision`: supervisors and administrators (every conversation).

Events that report a database change are queued in the session and published with its
transaction (`queue`, then `flush` as the transaction's last step); typing is published at once
(it changes nothing).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from pydantic import ConfigDict
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.core.db.session import after_commit
from switchboard.core.realtime import EventBus, EventModel

SUPERVISION = "messenger.supervision"


def visitor_channel(contact_id: int) -> str:
    return f"messenger.visitor:{contact_id}"


def staff_channel(staff_id: int) -> str:
    return f"messenger.staff:{staff_id}"


class _Event(EventModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    conversation_id: int


class MessageCreated(_Event):
    """A message was stored. `message` is the message as the API shows it (`MessageView`'s
    JSON: id, direction, author, text, its safe HTML, attachments, times)."""

    event_name: ClassVar[str] = "message.created"

    message: dict[str, Any]


class MessagesSeen(_Event):
    """The other side's app received (`delivered_up_to`) or showed (`read_up_to`) the messages
    of `direction` up to these ids: one tick and two ticks."""

    event_name: ClassVar[str] = "messages.seen"

    direction: Literal["in", "out"]
    delivered_up_to: int | None = None
    read_up_to: int | None = None


class Typing(_Event):
    """Someone is typing in the conversation (`typing` false: stopped). Named `typing.changed`:
    the bus takes only `<noun>.<past_tense_verb>` names."""

    event_name: ClassVar[str] = "typing.changed"

    author_kind: Literal["contact", "staff"]
    name: str | None = None
    typing: bool = True


class ConversationChanged(_Event):
    """The conversation's state changed: `change` says how (`opened`, `assigned`, `read`,
    `transferred`, `resolved`, `closed`, `reopened`, `rated`); `conversation` is its summary
    as the API shows it."""

    event_name: ClassVar[str] = "conversation.changed"

    change: str
    conversation: dict[str, Any]


def channels_of(contact_id: int | None, staff_ids: Iterable[int | None] = ()) -> list[str]:
    """The visitor's channel (when `contact_id` is given), each staff member's, supervision."""
    found = [visitor_channel(contact_id)] if contact_id is not None else []
    found += [staff_channel(staff_id) for staff_id in dict.fromkeys(staff_ids) if staff_id]
    return [*found, SUPERVISION]


# --- the outbox ---------------------------------------------------------------------------------
#
# The PostgreSQL bus records an event in the publisher's transaction and keeps the channel's row
# locked until it ends. A fan-out touches several channels (always `messenger.supervision`), so
# publishing in the middle of a transaction would hold that lock through the rest of it, and two
# transactions taking channels in different orders could deadlock. So services queue their
# events in the session (`queue`) and the transaction's owner publishes them as its last step
# (`flush`), every channel once, in one global order. Whatever is still queued at commit (a
# caller that forgot to flush) is published right after it, so nothing is lost.

_OUTBOX_KEY = "switchboard.messenger.outbox"


@dataclass
class _Outbox:
    bus: EventBus
    items: list[tuple[str, EventModel]] = field(default_factory=list)


def queue(session: AsyncSession, bus: EventBus, event: EventModel, channels: Iterable[str]) -> None:
    """Publish `event` on `channels` with the session's transaction (see `flush`)."""
    outbox = session.info.get(_OUTBOX_KEY)
    if outbox is None:
        outbox = session.info[_OUTBOX_KEY] = _Outbox(bus)
        after_commit(session, lambda: _publish_rest(session))
    outbox.items.extend((channel, event) for channel in channels)


async def flush(session: AsyncSession) -> None:
    """Record the queued events in the session's transaction, channel by channel in name order
    (each channel's events in the order they were queued): call it as the transaction's last
    step. They reach subscribers if and only if it commits."""
    outbox = session.info.get(_OUTBOX_KEY)
    if outbox is None or not outbox.items:
        return
    items, outbox.items = outbox.items, []
    order = {channel: n for n, channel in enumerate(sorted({channel for channel, _ in items}))}
    for channel, event in sorted(items, key=lambda item: order[item[0]]):
        await outbox.bus.publish_on_commit(session, channel, event)


async def _publish_rest(session: AsyncSession) -> None:
    outbox = session.info.pop(_OUTBOX_KEY, None)
    if outbox is None:
        return
    for channel, event in outbox.items:
        await outbox.bus.publish(channel, event)


async def publish_now(bus: EventBus, event: EventModel, channels: Iterable[str]) -> None:
    """Publish at once (typing: it changes nothing in the database)."""
    for channel in channels:
        await bus.publish(channel, event)
