"""Telegram's flood limits for bots, as its FAQ states them.

"Avoid sending more than one message per second" to one chat, "no more than 20 messages per
minute" to one group, and "about 30 messages per second" in bulk. Beyond them the server answers
429 "Too Many Requests: retry after N" with `parameters.retry_after`. Here each limit is a sliding
window per key; a refused message takes no place in a window, and N is the whole seconds until
the oldest message in the full window leaves it.

Sending methods count against the chat's window and the bot's; edits only against the bot's (the
server has separate, unpublished limits for edits; inject a 429 fault to test those).
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass


@dataclass
class RateLimits:
    """Messages allowed; 0 switches a limit off."""

    #: per second, to one private chat
    private_chat_per_second: float = 1
    #: per minute, to one group, supergroup or channel
    group_chat_per_minute: float = 20
    #: per second, from one bot to all chats together
    bot_per_second: float = 30

    def window(self, chat_type: str) -> tuple[float, float]:
        """(messages, seconds) for one chat of this type."""
        if chat_type == "private":
            return self.private_chat_per_second, 1.0
        return self.group_chat_per_minute, 60.0


class FloodControl:
    """Sliding windows of accepted messages. Thread-safe."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._sent: dict[Hashable, deque[float]] = {}

    def admit(self, windows: list[tuple[Hashable, float, float]]) -> int:
        """Record one message against every `(key, allowed, seconds)` window, or return how many
        seconds to wait (nothing recorded) when one of them is full; 0 means admitted."""
        now = self._clock()
        with self._lock:
            wait = 0.0
            for key, allowed, seconds in windows:
                if allowed <= 0:
                    continue
                sent = self._recent(key, now, seconds)
                if len(sent) >= allowed:
                    wait = max(wait, sent[-math.ceil(allowed)] + seconds - now)
            if wait > 0:
                return max(1, math.ceil(wait))
            for key, allowed, _ in windows:
                if allowed > 0:
                    self._sent.setdefault(key, deque()).append(now)
            return 0

    def _recent(self, key: Hashable, now: float, seconds: float) -> deque[float]:
        sent = self._sent.setdefault(key, deque())
        while sent and sent[0] <= now - seconds:
            sent.popleft()
        return sent

    def clear(self) -> None:
        with self._lock:
            self._sent.clear()
