"""Real-time events: the bus interface, its three backends and the SSE helpers."""

from __future__ import annotations

from switchboard.core.db.session import Database
from switchboard.core.realtime.bus import EventBus, MemoryBus, Subscription
from switchboard.core.realtime.events import (
    EVENTS,
    Event,
    EventModel,
    InvalidEvent,
    InvalidEventId,
)
from switchboard.core.settings import BusBackend, CoreSettings

__all__ = [
    "EVENTS",
    "Event",
    "EventBus",
    "EventModel",
    "InvalidEvent",
    "InvalidEventId",
    "MemoryBus",
    "Subscription",
    "create_bus",
]


def create_bus(settings: CoreSettings, database: Database) -> EventBus:
    backend = settings.bus_backend()
    if backend is BusBackend.MEMORY:
        return MemoryBus()
    if backend is BusBackend.REDIS:
        from switchboard.core.realtime.redis import RedisBus

        url = settings.redis_dsn()
        if url is None:
            raise ValueError("EVENT_BUS=redis needs REDIS_URL")
        return RedisBus(database, url, prefix=settings.redis_prefix + "events:")
    from switchboard.core.realtime.postgres import PostgresBus

    return PostgresBus(database)
