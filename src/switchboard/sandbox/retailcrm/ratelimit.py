"""RetailCRM's request rate limit: a number of requests per second per API key, then HTTP 503.

The official clients pace themselves at 10 requests per second, and at 40 for `/telephony/*`
methods (the Go client's limiter keeps two separate budgets), so the emulator keeps the same two
budgets per key. The window slides: a request is refused while the key already made `limit`
accepted requests in the last second. Refused requests do not use up the budget.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque

WINDOW = 1.0


class RateLimiter:
    def __init__(self, per_second: int = 10, telephony_per_second: int = 40) -> None:
        #: 0 turns a budget off.
        self.per_second = per_second
        self.telephony_per_second = telephony_per_second
        self._seen: defaultdict[tuple[str, bool], deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def allow(self, api_key: str, *, telephony: bool) -> bool:
        """Counts the request when it is within the key's budget; False when it is over."""
        limit = self.telephony_per_second if telephony else self.per_second
        if limit <= 0:
            return True
        moment = time.monotonic()
        with self._lock:
            seen = self._seen[(api_key, telephony)]
            while seen and moment - seen[0] >= WINDOW:
                seen.popleft()
            if len(seen) >= limit:
                return False
            seen.append(moment)
            return True

    def reset(self) -> None:
        with self._lock:
            self._seen.clear()
