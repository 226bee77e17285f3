"""Inbound rate limits with the `limits` library: in memory per process, or shared in Redis."""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Iterable

import structlog
from fastapi import Request
from limits import RateLimitItem, RateLimitItemPerMinute
from limits.aio.storage import MemoryStorage, Storage
from limits.aio.strategies import FixedWindowRateLimiter
from limits.storage import storage_from_string

from switchboard.core.errors import TooManyRequests

log = structlog.get_logger(__name__)


class RateLimiter:
    def __init__(
        self,
        *,
        per_minute: int,
        create_per_minute: int,
        redis_url: str | None = None,
        trusted_proxies: Iterable[str] = (),
    ) -> None:
        self.storage: Storage = (
            storage_from_string("async+" + redis_url, implementation="redispy")  # type: ignore[assignment]
            if redis_url
            else MemoryStorage()
        )
        self.limiter = FixedWindowRateLimiter(self.storage)
        self.general: RateLimitItem | None = (
            RateLimitItemPerMinute(per_minute) if per_minute else None
        )
        self.create: RateLimitItem | None = (
            RateLimitItemPerMinute(create_per_minute) if create_per_minute else None
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
            if await self.limiter.hit(item, *keys):
                return None
            reset_at, _ = await self.limiter.get_window_stats(item, *keys)
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
