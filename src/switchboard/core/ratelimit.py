"""Inbound rate limits with the `limits` library: in memory per process, or shared in Redis."""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Iterable

import structlog
from fastapi import Request
from limits import RateLimitItem, RateLimitItemPerMinute
from limits.aio.storage import Storage as AsyncStorage
from limits.aio.strategies import FixedWindowRateLimiter as AsyncFixedWindow
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import FixedWindowRateLimiter

from switchboard.core.errors import TooManyRequests

log = structlog.get_logger(__name__)


class RateLimiter:
    def __init__(
        self,
        *,
        per_minute: int,
        create_per_minute: int,
        webhook_per_minute: int = 0,
        redis_url: str | None = None,
        redis_prefix: str = "switchboard:",
        trusted_proxies: Iterable[str] = (),
    ) -> None:
        # In memory the synchronous strategy is used: it costs a few microseconds with no await,
        # on every request. Shared limits in Redis need the asynchronous one (a round trip).
        self.shared: AsyncFixedWindow | None = None
        self.local: FixedWindowRateLimiter | None = None
        if redis_url:
            storage: AsyncStorage = storage_from_string(  # type: ignore[assignment]
                "async+" + redis_url, implementation="redispy", key_prefix=redis_prefix + "limits"
            )
            self.shared = AsyncFixedWindow(storage)
        else:
            self.local = FixedWindowRateLimiter(MemoryStorage())
        self.general: RateLimitItem | None = (
            RateLimitItemPerMinute(per_minute) if per_minute else None
        )
        self.create: RateLimitItem | None = (
            RateLimitItemPerMinute(create_per_minute) if create_per_minute else None
        )
        self.webhook: RateLimitItem | None = (
            RateLimitItemPerMinute(webhook_per_minute) if webhook_per_minute else None
        )
        self.trusted = [ipaddress.ip_network(p, strict=False) for p in trusted_proxies]

    def client_key(self, peer: str | None, forwarded_for: str | None) -> str:
        """The caller's address; `X-Forwarded-For` counts only when it came from our proxy."""
        if peer and forwarded_for and self._trusted(peer):
            hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
            for hop in reversed(hops):
                if not self._trusted(hop):
                    return hop
        return peer or "unknown"

    def _trusted(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self.trusted)

    async def check(self, item: RateLimitItem | None, *keys: str) -> float | None:
        """None when allowed; otherwise the seconds until the window resets."""
        if item is None:
            return None
        try:
            if self.local is not None:
                if self.local.hit(item, *keys):
                    return None
                reset_at, _ = self.local.get_window_stats(item, *keys)
            else:
                assert self.shared is not None
                if await self.shared.hit(item, *keys):
                    return None
                reset_at, _ = await self.shared.get_window_stats(item, *keys)
        except Exception as exc:
            log.warning(
                "rate limit storage unavailable; letting the request through", error=str(exc)
            )
            return None
        return max(1.0, reset_at - time.time())


def too_many(retry_after: float) -> TooManyRequests:
    seconds = int(retry_after + 0.999)
    return TooManyRequests(
        "rate_limited",
        "Too many requests; try again in {seconds} s.",
        headers={"Retry-After": str(seconds)},
        seconds=seconds,
    )


async def limit_creates(request: Request) -> None:
    """Dependency for endpoints that create things (the stricter per-minute limit)."""
    limiter: RateLimiter = request.app.state.rate_limiter
    key = limiter.client_key(
        request.client.host if request.client else None, request.headers.get("x-forwarded-for")
    )
    retry_after = await limiter.check(limiter.create, "create", key)
    if retry_after is not None:
        raise too_many(retry_after)
