"""One interface for real-time events, whatever carries them between processes.

A publisher names a channel (`dicts`, `consultation:42` …) and hands a typed event
(`core/realtime/events.py`). Each channel has one order: event `n` of a channel is its `n`-th
committed event, and its id is `n` in decimal. Subscribers receive every event of their channel
after their starting point, once, in that order; a client that reconnects with `Last-Event-ID`
continues exactly where it stopped.

How a subscription keeps that promise whatever the transport does: it remembers the last
sequence number it delivered (`position`). A live event that follows `position` directly is
delivered; one that jumps ahead means something was missed (a lost wake-up, a full inbox), and
the subscription reads the record (`history`) from `position` on. The record is the truth; the
live path only makes delivery fast.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import time
from abc import ABC, abstractmethod
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.core.db.session import after_commit
from switchboard.core.realtime.events import (
    FUTURE_EVENT_ID,
    Event,
    EventModel,
    InvalidEventId,
    check_channel,
    check_event,
    parse_event_id,
)

log = structlog.get_logger(__name__)

SUBSCRIBER_QUEUE_SIZE = 1000
COMPACT_AFTER = 64
#: Events read from the record per query when a subscriber catches up.
REPLAY_PAGE = 500


class Signal(enum.Enum):
    #: The record may hold events this subscriber has not been offered: read it.
    WAKE = "wake"
    #: The stream is over (the bus stops).
    END = "end"


QueueItem = Event | Signal


class Subscription:
    """What one subscriber receives: every event of `channel` after `position`, once, in order.

    Read it with `await next()` (cancel-safe: a timeout around it loses nothing) or iterate
    `events()`. An idle subscription holds no buffers: thousands of them cost little.
    """

    __slots__ = (
        "_inbox",
        "_pending",
        "_read",
        "_replay_needed",
        "_waiter",
        "_wake_pending",
        "bus",
        "channel",
        "closed",
        "offered",
        "position",
    )

    def __init__(self, bus: EventBus, channel: str) -> None:
        self.bus = bus
        self.channel = channel
        #: The sequence number of the last event delivered (or the starting point).
        self.position = 0
        #: The highest sequence number put in the inbox.
        self.offered = 0
        self.closed = False
        self._wake_pending = False
        self._replay_needed = False
        # Received and not yet read: `_inbox[_read:]`. A list (not a deque, whose first block
        # is 700 bytes), created when needed and dropped once read: None when nothing waits.
        self._inbox: list[QueueItem] | None = None
        self._read = 0
        self._pending: list[Event] = []  # read from the record, newest first
        self._waiter: asyncio.Future[None] | None = None

    def offer(self, event: Event) -> None:
        """Called by the bus for each live event of the channel."""
        if self.closed or event.seq <= max(self.offered, self.position):
            return
        self._put(event)
        self.offered = event.seq

    def wake(self) -> None:
        """Called by the bus when the record is ahead of what this subscriber was offered."""
        if self.closed or self._wake_pending:
            return
        self._wake_pending = True
        self._put(Signal.WAKE)

    def detach(self) -> None:
        """Stop receiving: the bus forgets this subscription (and its channel, if it was the
        last one there)."""
        self.bus._detach(self)

    def behind(self, head: int) -> bool:
        return head > max(self.offered, self.position)

    def close(self) -> None:
        """End the stream: the consumer stops at once, whatever is still waiting."""
        self.closed = True
        self._inbox, self._read = [Signal.END], 0
        self._notify()

    @property
    def backlog(self) -> int:
        """Items received and not yet read."""
        return len(self._inbox) - self._read if self._inbox else 0

    def take_ready(self) -> list[Event]:
        """The events received and not yet read, without waiting (and without reading the
        record): for code and tests that look at a moment in time."""
        items = self._inbox[self._read :] if self._inbox else []
        self._inbox, self._read = None, 0
        ready: list[Event] = []
        for item in items:
            if isinstance(item, Event) and item.seq == self.position + 1:
                self.position = item.seq
                ready.append(item)
            elif item is Signal.END:
                self._inbox = [item]
            elif item is Signal.WAKE or (isinstance(item, Event) and item.seq > self.position):
                # The record holds more than the inbox: `next()` reads it.
                self._wake_pending = False
                self._replay_needed = True
        return ready

    def _put(self, item: QueueItem) -> None:
        if self._inbox is None:
            self._inbox = [item]
        elif len(self._inbox) - self._read >= SUBSCRIBER_QUEUE_SIZE:
            # A consumer this far behind reads the record instead of the inbox: it loses
            # nothing, holds no more memory, and does not slow the others down.
            self._inbox, self._read = [Signal.WAKE], 0
            self._wake_pending = True
        else:
            self._inbox.append(item)
        self._notify()

    def _take(self) -> QueueItem:
        """The oldest unread item; there is one."""
        inbox = self._inbox or [Signal.WAKE]
        item = inbox[self._read]
        self._read += 1
        if self._read >= len(inbox):
            self._inbox, self._read = None, 0
        elif self._read >= COMPACT_AFTER and self._read * 2 >= len(inbox):
            # A consumer that never quite catches up must not keep what it has read.
            del inbox[: self._read]
            self._read = 0
        return item

    def _notify(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def next(self) -> Event | None:
        """The next event, waiting for it; None once the subscription is closed."""
        while True:
            if self._pending:
                event = self._pending.pop()
                if event.seq > self.position:
                    self.position = event.seq
                    return event
                continue
            if self._replay_needed:
                await self._read_record()
                continue
            if self.closed and not self._inbox:
                return None
            if not self._inbox:
                # Awaited here, not in a helper coroutine: an idle subscriber is one frame.
                self._waiter = asyncio.get_running_loop().create_future()
                try:
                    await self._waiter
                finally:
                    self._waiter = None
                continue
            item = self._take()
            if item is Signal.END:
                return None
            if item is Signal.WAKE:
                self._wake_pending = False
                self._replay_needed = True
            elif item.seq == self.position + 1:
                self.position = item.seq
                return item
            elif item.seq > self.position:
                # Something before it never arrived (a lost wake-up, a full inbox); the
                # record has it, and this one too.
                self._replay_needed = True

    async def _read_record(self) -> None:
        """The next page of the record after `position`."""
        events, scanned = await self.bus.history_page(self.channel, self.position, REPLAY_PAGE)
        self._pending = events[::-1]  # popped from the end, oldest first
        self._replay_needed = scanned is not None
        if scanned is not None and not events:
            # A whole page that could not be read back (refused, logged): step over it.
            self.position = max(self.position, scanned)

    async def events(self) -> AsyncIterator[Event]:
        while (event := await self.next()) is not None:
            yield event


class EventBus(ABC):
    """Publish and subscribe; subclasses say where events are recorded and how they travel."""

    name: str = "abstract"

    def __init__(self) -> None:
        # Only channels that have subscribers are here: an idle channel costs nothing.
        self._subscribers: dict[str, set[Subscription]] = {}
        self._helpers: dict[str, asyncio.Task[None]] = {}
        self.draining = False

    async def start(self) -> None:
        """Open the backend connection; called once per process."""
        self.draining = False

    async def stop(self) -> None:
        self.drain()
        for task in self._helpers.values():
            task.cancel()
        for task in self._helpers.values():
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._helpers.clear()

    def drain(self) -> None:
        """End every subscription, now and from now on: the process is stopping."""
        self.draining = True
        for subscribers in list(self._subscribers.values()):
            for subscription in list(subscribers):
                subscription.close()

    def run_helper(self, name: str, work: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Run `work` once per bus in the background (started on first call, cancelled at
        `stop`), for per-process duties of the layers above, such as ending streams at exit."""
        if name not in self._helpers or self._helpers[name].done():
            self._helpers[name] = asyncio.create_task(work(), name=f"bus-{name}")

    @abstractmethod
    async def publish(self, channel: str, event: EventModel) -> Event:
        """Record and send now. Prefer `publish_on_commit` when the event reports a change
        made in a database transaction."""

    @abstractmethod
    async def publish_on_commit(
        self, session: AsyncSession, channel: str, event: EventModel
    ) -> None:
        """Make `event` part of `session`'s transaction: delivered if and only if it commits."""

    @abstractmethod
    async def history_page(
        self, channel: str, after: int, limit: int
    ) -> tuple[list[Event], int | None]:
        """Up to `limit` recorded events of `channel` after `after`, oldest first, and the
        sequence number of the last record scanned (None when there are no more)."""

    @abstractmethod
    async def head(self, channel: str) -> int:
        """The sequence number of the newest event of `channel` (0 when it has none)."""

    async def history(self, channel: str, after: int, limit: int = 1000) -> list[Event]:
        events, _ = await self.history_page(channel, after, limit)
        return events

    async def resume_point(self, channel: str, raw_id: str) -> int:
        """The sequence number in a client's `Last-Event-ID`, refused unless this channel has
        reached it: a client must never wait for ids that were never issued."""
        seq = parse_event_id(raw_id)
        head = await self.head(channel)
        if seq > head:
            raise InvalidEventId(FUTURE_EVENT_ID, head)
        return seq

    def subscribe(self, channel: str, after: int | None = None) -> _SubscriptionContext:
        """Events of `channel` after sequence number `after`, or from now on when it is None:
        `async with bus.subscribe(channel) as subscription: ...`."""
        check_channel(channel)
        return _SubscriptionContext(self, channel, after)

    async def open_subscription(self, channel: str, after: int | None = None) -> Subscription:
        """`subscribe` without the context manager; the caller must `detach()` it."""
        check_channel(channel)
        subscription = Subscription(self, channel)
        if self.draining:
            subscription.close()
            return subscription
        # Attach before reading the head, so that nothing committed in between is missed;
        # what arrives twice is dropped by sequence number.
        self._attach(subscription)
        try:
            if after is None:
                subscription.position = await self.head(channel)
            else:
                subscription.position = after
                subscription._replay_needed = True
        except BaseException:
            subscription.detach()
            raise
        return subscription

    def subscriber_count(self, channel: str | None = None) -> int:
        if channel is not None:
            return len(self._subscribers.get(channel, ()))
        return sum(len(subs) for subs in self._subscribers.values())

    def channel_count(self) -> int:
        """Channels with at least one subscriber in this process."""
        return len(self._subscribers)

    def _dispatch(self, event: Event) -> None:
        for subscription in list(self._subscribers.get(event.channel, ())):
            subscription.offer(event)

    def _wake(self, channel: str, head: int) -> None:
        for subscription in list(self._subscribers.get(channel, ())):
            if subscription.behind(head):
                subscription.wake()

    def _attach(self, subscription: Subscription) -> None:
        self._subscribers.setdefault(subscription.channel, set()).add(subscription)

    def _detach(self, subscription: Subscription) -> None:
        subscribers = self._subscribers.get(subscription.channel)
        if subscribers is not None:
            subscribers.discard(subscription)
            if not subscribers:
                del self._subscribers[subscription.channel]


class _SubscriptionContext:
    def __init__(self, bus: EventBus, channel: str, after: int | None) -> None:
        self._bus = bus
        self._channel = channel
        self._after = after
        self._subscription: Subscription | None = None

    async def __aenter__(self) -> Subscription:
        self._subscription = await self._bus.open_subscription(self._channel, self._after)
        return self._subscription

    async def __aexit__(self, *exc: object) -> None:
        if self._subscription is not None:
            self._subscription.detach()


@dataclass(slots=True)
class _MemoryChannel:
    head: int
    history: deque[Event]
    touched: float = field(default_factory=time.monotonic)


class MemoryBus(EventBus):
    """Single-process bus: for tests and for a platform that runs as one process.

    Histories are bounded per channel, and a channel without subscribers is forgotten when it
    has been idle for `idle_seconds` or when more than `max_channels` channels are known.
    Sequence numbers of a channel created (again) start above every id this bus has issued, so
    an id from before it was forgotten never points into its new history.
    """

    name = "memory"

    def __init__(
        self,
        history_size: int = 1000,
        *,
        max_channels: int = 10_000,
        idle_seconds: float = 3600,
    ) -> None:
        super().__init__()
        self.history_size = history_size
        self.max_channels = max_channels
        self.idle_seconds = idle_seconds
        self._channels: OrderedDict[str, _MemoryChannel] = OrderedDict()
        self._issued = 0

    async def publish(self, channel: str, event: EventModel) -> Event:
        check_channel(channel)
        check_event(event)
        state = self._channel(channel)
        state.head += 1
        self._issued = max(self._issued, state.head)
        delivered = Event(channel, state.head, event)
        state.history.append(delivered)
        self._dispatch(delivered)
        self._forget_idle()
        return delivered

    async def publish_on_commit(
        self, session: AsyncSession, channel: str, event: EventModel
    ) -> None:
        check_channel(channel)
        check_event(event)

        async def send() -> None:
            await self.publish(channel, event)

        after_commit(session, send)

    async def history_page(
        self, channel: str, after: int, limit: int
    ) -> tuple[list[Event], int | None]:
        state = self._channels.get(channel)
        if state is None:
            return [], None
        events = [event for event in state.history if event.seq > after][:limit]
        return events, (events[-1].seq if len(events) == limit else None)

    async def head(self, channel: str) -> int:
        state = self._channels.get(channel)
        return state.head if state is not None else self._issued

    def known_channels(self) -> int:
        return len(self._channels)

    def _channel(self, channel: str) -> _MemoryChannel:
        state = self._channels.get(channel)
        if state is None:
            state = _MemoryChannel(self._issued, deque(maxlen=self.history_size))
            self._channels[channel] = state
        state.touched = time.monotonic()
        self._channels.move_to_end(channel)
        return state

    def _forget_idle(self, budget: int = 8) -> None:
        """Drop least recently used channels that are idle or over the bound; a few per call,
        so publishing stays O(1)."""
        cutoff = time.monotonic() - self.idle_seconds
        for _ in range(budget):
            if not self._channels:
                return
            channel, state = next(iter(self._channels.items()))
            over = len(self._channels) > self.max_channels
            if not over and state.touched >= cutoff:
                return
            if channel in self._subscribers:
                # Still watched: keep it, look at it again later.
                state.touched = time.monotonic()
                self._channels.move_to_end(channel)
                continue
            del self._channels[channel]
