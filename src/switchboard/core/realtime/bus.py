"""One interface for real-time events, whatever carries them between processes.

A publisher names a channel (`dicts`, `consultation:42` …) and hands a typed event
(`core/realtime/events.py`). Each channel has one order: event `n` of a channel is its `n`-th
committed event, and its id is `n` in decimal. Subscribers receive every event of their channel
after their starting point, once, in that order; a client that reconnects with `Last-Event-ID`
continues exactly where it stopped.

How a subscription keeps that promise whatever the transport does: it remembers the last
sequence number it delivered (`position`). A live event that follows `position` directly is
delivered; one that jumps ahead means something was missed (a lost wake-up, a full queue), and
the subscription reads the record (`history`) from `position` on. The record is the truth; the
live path only makes delivery fast.
"""

from __future__ import annotations

import asyncio
import enum
import time
from abc import ABC, abstractmethod
from collections import OrderedDict, deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

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
#: Events read from the record per query when a subscriber catches up.
REPLAY_PAGE = 500


class Signal(enum.Enum):
    #: The record may hold events this subscriber has not been offered: read it.
    WAKE = "wake"
    #: The stream is over (the bus stops).
    END = "end"


QueueItem = Event | Signal


class Subscription:
    """What one subscriber receives: every event of `channel` after `position`, once, in order."""

    __slots__ = ("_wake_pending", "bus", "channel", "closed", "offered", "position", "queue")

    def __init__(self, bus: EventBus, channel: str) -> None:
        self.bus = bus
        self.channel = channel
        #: The sequence number of the last event delivered (or the starting point).
        self.position = 0
        #: The highest sequence number put in the queue.
        self.offered = 0
        self.queue: asyncio.Queue[QueueItem] = asyncio.Queue(SUBSCRIBER_QUEUE_SIZE)
        self.closed = False
        self._wake_pending = False

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

    def behind(self, head: int) -> bool:
        return head > max(self.offered, self.position)

    def close(self) -> None:
        """End the stream: the consumer stops at once, whatever is still queued."""
        self.closed = True
        self._drain()
        self.queue.put_nowait(Signal.END)

    def _put(self, item: QueueItem) -> None:
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            # A consumer this far behind reads the record instead of the queue: it loses
            # nothing, holds no more memory, and does not slow the others down.
            self._drain()
            self._wake_pending = True
            self.queue.put_nowait(Signal.WAKE)

    def _drain(self) -> None:
        while not self.queue.empty():
            self.queue.get_nowait()

    async def _replay(self) -> AsyncIterator[Event]:
        """Everything the record holds after `position`, page by page."""
        while True:
            events, scanned = await self.bus.history_page(self.channel, self.position, REPLAY_PAGE)
            for event in events:
                if event.seq > self.position:
                    self.position = event.seq
                    yield event
            if scanned is None:
                return
            # Rows that could not be read back (refused, logged) are stepped over, not retried.
            self.position = max(self.position, scanned)

    async def events(self) -> AsyncIterator[Event]:
        async for event in self._replay():
            yield event
        while True:
            item = await self.queue.get()
            if item is Signal.END:
                return
            if item is Signal.WAKE:
                self._wake_pending = False
                async for event in self._replay():
                    yield event
                continue
            if item.seq <= self.position:
                continue
            if item.seq > self.position + 1:
                async for event in self._replay():
                    yield event
                if item.seq <= self.position:
                    continue
            self.position = item.seq
            yield item


class EventBus(ABC):
    """Publish and subscribe; subclasses say where events are recorded and how they travel."""

    name: str = "abstract"

    def __init__(self) -> None:
        # Only channels that have subscribers are here: an idle channel costs nothing.
        self._subscribers: dict[str, set[Subscription]] = {}

    async def start(self) -> None:  # noqa: B027 - most backends have nothing to open
        """Open the backend connection; called once per process."""

    async def stop(self) -> None:
        for subscribers in list(self._subscribers.values()):
            for subscription in list(subscribers):
                subscription.close()

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
        """Events of `channel` after sequence number `after`, or from now on when it is None."""
        check_channel(channel)
        return _SubscriptionContext(self, channel, after)

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
        self._subscription = Subscription(bus, channel)
        self._after = after

    async def __aenter__(self) -> Subscription:
        subscription = self._subscription
        # Attach before reading the head, so that nothing committed in between is missed;
        # what arrives twice is dropped by sequence number.
        subscription.bus._attach(subscription)
        try:
            if self._after is None:
                subscription.position = await subscription.bus.head(subscription.channel)
            else:
                subscription.position = self._after
        except BaseException:
            subscription.bus._detach(subscription)
            raise
        return subscription

    async def __aexit__(self, *exc: object) -> None:
        self._subscription.bus._detach(self._subscription)


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
