"""One interface for real-time events, whatever carries them between processes.

A publisher names a channel (`dicts`, `consultation:42` …) and an event type in the form
`<noun>.<past-tense verb>`. Every process keeps one connection to the backend and fans events out
to its local subscribers through bounded queues. Each backend also keeps a short history, so that a
client that reconnects with `Last-Event-ID` receives what it missed, in order, exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import re
from abc import ABC, abstractmethod
from collections import defaultdict, deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.core.db.session import after_commit

log = structlog.get_logger(__name__)

CHANNEL_PATTERN = re.compile(r"^[a-z][a-z0-9_.-]*(:[A-Za-z0-9_.-]+)?$")
EVENT_TYPE_PATTERN = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")
SUBSCRIBER_QUEUE_SIZE = 1000


class InvalidEventId(ValueError):
    """A `Last-Event-ID` that this bus never issued."""


@dataclass(frozen=True, slots=True)
class Event:
    id: str
    channel: str
    type: str
    data: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "channel": self.channel, "type": self.type, "data": self.data}


def check_names(channel: str, event_type: str) -> None:
    if not CHANNEL_PATTERN.match(channel):
        raise ValueError(f"bad channel name {channel!r}")
    if not EVENT_TYPE_PATTERN.match(event_type):
        raise ValueError(f"event type {event_type!r} is not '<noun>.<past_tense_verb>'")


@dataclass(eq=False)
class Subscription:
    """What one subscriber receives: first the missed events, then live ones, never twice."""

    bus: EventBus
    channel: str
    queue: asyncio.Queue[Event | None] = field(
        default_factory=lambda: asyncio.Queue(SUBSCRIBER_QUEUE_SIZE)
    )
    last_key: Any = None
    overflowed: bool = False

    def offer(self, event: Event) -> None:
        if self.overflowed:
            return
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            # A subscriber that cannot keep up is cut off; it reconnects with its last id and
            # replays from the history, so it loses nothing and the others are not slowed.
            log.warning("subscriber overflowed, closing it", channel=self.channel)
            self.close()

    def close(self) -> None:
        """End the stream: the consumer stops at once, whatever is still queued."""
        self.overflowed = True
        while not self.queue.empty():
            self.queue.get_nowait()
        self.queue.put_nowait(None)

    def _fresh(self, event: Event) -> bool:
        key = self.bus.sort_key(event.id)
        if self.last_key is not None and key <= self.last_key:
            return False
        self.last_key = key
        return True

    async def _backlog(self, after: str | None) -> list[Event]:
        if after is None:
            return []
        self.last_key = self.bus.sort_key(after)
        return await self.bus.history(self.channel, after)

    async def events(self, after: str | None = None) -> AsyncIterator[Event]:
        for event in await self._backlog(after):
            if self._fresh(event):
                yield event
        while True:
            item = await self.queue.get()
            if item is None:
                return
            if self._fresh(item):
                yield item


class EventBus(ABC):
    """Publish and subscribe; subclasses say how events travel and where history is kept."""

    name: str = "abstract"

    def __init__(self) -> None:
        self._subscribers: dict[str, set[Subscription]] = defaultdict(set)

    async def start(self) -> None:  # noqa: B027 - most backends have nothing to open
        """Open the backend connection; called once per process."""

    async def stop(self) -> None:
        for subscribers in list(self._subscribers.values()):
            for subscription in list(subscribers):
                subscription.close()

    @abstractmethod
    async def publish(self, channel: str, event_type: str, data: dict[str, Any]) -> Event:
        """Send now. Prefer `publish_on_commit` when the event reports a database change."""

    async def publish_on_commit(
        self, session: AsyncSession, channel: str, event_type: str, data: dict[str, Any]
    ) -> None:
        """Send once `session`'s transaction commits, and never if it rolls back."""
        check_names(channel, event_type)

        async def send() -> None:
            await self.publish(channel, event_type, data)

        after_commit(session, send)

    @abstractmethod
    async def history(self, channel: str, after: str, limit: int = 1000) -> list[Event]:
        """Events of `channel` published after the event `after`, oldest first."""

    @abstractmethod
    def sort_key(self, event_id: str) -> Any:
        """A comparable form of an id; raises InvalidEventId for ids this bus never issued."""

    def subscribe(self, channel: str) -> _SubscriptionContext:
        return _SubscriptionContext(self, channel)

    def subscriber_count(self, channel: str | None = None) -> int:
        if channel is not None:
            return len(self._subscribers.get(channel, ()))
        return sum(len(subs) for subs in self._subscribers.values())

    def _dispatch(self, event: Event) -> None:
        for subscription in list(self._subscribers.get(event.channel, ())):
            subscription.offer(event)

    def _attach(self, subscription: Subscription) -> None:
        self._subscribers[subscription.channel].add(subscription)

    def _detach(self, subscription: Subscription) -> None:
        subscribers = self._subscribers.get(subscription.channel)
        if subscribers is not None:
            subscribers.discard(subscription)
            if not subscribers:
                del self._subscribers[subscription.channel]

    def _channels_with_subscribers(self) -> list[str]:
        return [channel for channel, subs in self._subscribers.items() if subs]


class ListeningBus(EventBus):
    """A bus with one background listener per process that keeps a connection to the backend,
    reconnects when it drops, and dispatches what arrives to local subscribers."""

    def __init__(self, *, reconnect_delay: float = 1.0) -> None:
        super().__init__()
        self.reconnect_delay = reconnect_delay
        self._listener: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()

    async def start(self) -> None:
        if self._listener is None:
            self._listener = asyncio.create_task(self._listen_forever(), name="bus-listener")
            await self._wait_connected()

    async def stop(self) -> None:
        await super().stop()
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
            self._listener = None

    async def _wait_connected(self, timeout: float = 10) -> None:
        """Wait a little for the listener; if the backend is down, go on and let it retry."""
        try:
            await asyncio.wait_for(self._connected.wait(), timeout=timeout)
        except TimeoutError:
            log.warning("event bus not connected yet; live events resume when it is", bus=self.name)

    @abstractmethod
    async def _listen_forever(self) -> None:
        """Listen, dispatch, and on a lost connection wait `reconnect_delay` and listen again;
        set `_connected` once listening."""


class _SubscriptionContext:
    def __init__(self, bus: EventBus, channel: str) -> None:
        self._subscription = Subscription(bus, channel)

    async def __aenter__(self) -> Subscription:
        # Attach before reading history, so that nothing published in between is missed;
        # `Subscription._fresh` drops what arrives twice.
        self._subscription.bus._attach(self._subscription)
        return self._subscription

    async def __aexit__(self, *exc: object) -> None:
        self._subscription.bus._detach(self._subscription)


def integer_sort_key(event_id: str) -> int:
    if not event_id.isdigit():
        raise InvalidEventId(event_id)
    return int(event_id)


class MemoryBus(EventBus):
    """Single-process bus: for tests and for a platform that runs as one process."""

    name = "memory"

    def __init__(self, history_size: int = 1000) -> None:
        super().__init__()
        self._counter = itertools.count(1)
        self._history: dict[str, deque[Event]] = defaultdict(lambda: deque(maxlen=history_size))

    async def publish(self, channel: str, event_type: str, data: dict[str, Any]) -> Event:
        check_names(channel, event_type)
        event = Event(str(next(self._counter)), channel, event_type, data)
        self._history[channel].append(event)
        self._dispatch(event)
        return event

    async def history(self, channel: str, after: str, limit: int = 1000) -> list[Event]:
        after_key = self.sort_key(after)
        events = [e for e in self._history.get(channel, ()) if int(e.id) > after_key]
        return events[:limit]

    def sort_key(self, event_id: str) -> int:
        return integer_sort_key(event_id)
