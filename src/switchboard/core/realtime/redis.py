"""Events through Redis: PUBLISH for live delivery, a capped stream per channel for history."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import orjson
import structlog
from redis import asyncio as aioredis
from redis.exceptions import RedisError

from switchboard.core.realtime.bus import Event, InvalidEventId, ListeningBus, check_names

log = structlog.get_logger(__name__)

PREFIX = "switchboard:events:"

# XADD and PUBLISH in one atomic step, so an event is never in the history without having been
# announced, nor announced without being in the history.
PUBLISH_SCRIPT = """
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*',
                      'type', ARGV[2], 'data', ARGV[3])
redis.call('PUBLISH', KEYS[1], id .. '\\n' .. ARGV[2] .. '\\n' .. ARGV[3])
return id
"""


def stream_id_key(event_id: str) -> tuple[int, int]:
    millis, _, sequence = event_id.partition("-")
    if not (millis.isdigit() and sequence.isdigit()):
        raise InvalidEventId(event_id)
    return int(millis), int(sequence)


class RedisBus(ListeningBus):
    name = "redis"

    def __init__(
        self,
        url: str,
        *,
        history_size: int = 10_000,
        reconnect_delay: float = 1.0,
        prefix: str = PREFIX,
    ) -> None:
        super().__init__(reconnect_delay=reconnect_delay)
        self.url = url
        self.history_size = history_size
        self.prefix = prefix
        self.redis: aioredis.Redis = aioredis.from_url(url)
        self._publish_script = self.redis.register_script(PUBLISH_SCRIPT)
        self._last_seen: dict[str, str] = {}

    async def stop(self) -> None:
        await super().stop()
        await self.redis.aclose()

    async def publish(self, channel: str, event_type: str, data: dict[str, Any]) -> Event:
        check_names(channel, event_type)
        raw_id = await self._publish_script(
            keys=[self.prefix + channel], args=[self.history_size, event_type, orjson.dumps(data)]
        )
        return Event(raw_id.decode(), channel, event_type, data)

    async def history(self, channel: str, after: str, limit: int = 1000) -> list[Event]:
        stream_id_key(after)
        entries = await self.redis.xrange(self.prefix + channel, min="(" + after, count=limit)
        return [self._from_entry(channel, entry_id, fields) for entry_id, fields in entries or []]

    def sort_key(self, event_id: str) -> tuple[int, int]:
        return stream_id_key(event_id)

    @staticmethod
    def _from_entry(channel: str, entry_id: Any, fields: Any) -> Event:
        # redis-py returns bytes for both (the client is created without decode_responses).
        return Event(
            entry_id.decode(), channel, fields[b"type"].decode(), orjson.loads(fields[b"data"])
        )

    async def _listen_forever(self) -> None:
        while True:
            pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.psubscribe(self.prefix + "*")
                await self._catch_up()
                self._connected.set()
                async for message in pubsub.listen():
                    if message["type"] == "pmessage":
                        self._receive(message["channel"], message["data"])
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as exc:
                self._connected.clear()
                log.warning("event bus connection lost, reconnecting", error=str(exc))
                await asyncio.sleep(self.reconnect_delay)
            finally:
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]

    def _receive(self, key: bytes, payload: bytes) -> None:
        channel = key.decode().removeprefix(self.prefix)
        raw_id, event_type, data = payload.split(b"\n", 2)
        event = Event(raw_id.decode(), channel, event_type.decode(), orjson.loads(data))
        self._last_seen[event.channel] = event.id
        self._dispatch(event)

    async def _catch_up(self) -> None:
        for channel in self._channels_with_subscribers():
            last = self._last_seen.get(channel)
            if last is None:
                continue
            for event in await self.history(channel, last):
                self._last_seen[channel] = event.id
                self._dispatch(event)
