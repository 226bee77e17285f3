"""The request pipeline every HTTP call goes through, as one plain ASGI middleware (cheap on the
hot path): request id, rate limit, Prometheus metrics, one access-log line."""

from __future__ import annotations

import random
import time
from typing import Any

import orjson
import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from switchboard.core.i18n import negotiate, translate
from switchboard.core.metrics import Metrics
from switchboard.core.ratelimit import RateLimiter
from switchboard.core.settings import AccessLog

log = structlog.get_logger("switchboard.http")

LIMITED_PREFIXES = ("/api/", "/webhook/")
UNLIMITED_PREFIXES = ("/api/health",)
QUIET_PATHS = ("/metrics", "/api/health")
SLOW_REQUEST_SECONDS = 1.0


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


class RequestPipeline:
    def __init__(
        self,
        app: ASGIApp,
        *,
        metrics: Metrics,
        limiter: RateLimiter,
        default_locale: str = "ru",
        access_log: AccessLog = AccessLog.ERRORS,
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.limiter = limiter
        self.default_locale = default_locale
        self.access_log = access_log
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        path: str = scope["path"]
        # Request ids correlate log lines; they need to be unique, not unguessable.
        request_id = _header(scope, b"x-request-id") or f"{random.getrandbits(64):016x}"
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", request_id.encode()),
                ]
            await send(message)

        try:
            if await self._over_limit(scope, send_with_id, path):
                return
            await self.app(scope, receive, send_with_id)
        finally:
            self._observe(scope, path, status, time.perf_counter() - started, request_id)

    def _worth_logging(self, path: str, status: int, seconds: float) -> bool:
        if self.access_log is AccessLog.OFF or path.startswith(QUIET_PATHS):
            return False
        if self.access_log is AccessLog.ALL:
            return True
        return status >= 400 or seconds > SLOW_REQUEST_SECONDS

    def _series(self, route: str, method: str, status: int) -> tuple[Any, Any]:
        """The metric children of one route, looked up once (`labels()` takes a lock)."""
        key = (route, method, status)
        series = self._children.get(key)
        if series is None:
            series = (
                self.metrics.http_requests.labels(route, method, str(status)),
                self.metrics.http_latency.labels(route, method),
            )
            self._children[key] = series
        return series

    async def _over_limit(self, scope: Scope, send: Send, path: str) -> bool:
        if not path.startswith(LIMITED_PREFIXES) or path.startswith(UNLIMITED_PREFIXES):
            return False
        client = scope.get("client")
        key = self.limiter.client_key(
            client[0] if client else None, _header(scope, b"x-forwarded-for")
        )
        retry_after = await self.limiter.check(self.limiter.general, "api", key)
        if retry_after is None:
            return False
        seconds = int(retry_after + 0.999)
        locale = negotiate(_header(scope, b"accept-language"), self.default_locale)
        body = orjson.dumps(
            {
                "error": "rate_limited",
                "message": translate(
                    "Too many requests; try again in {seconds} s.", locale, seconds=seconds
                ),
            }
        )
        await send(
            {
                "type": "http.response.start",
                "status": 429,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"retry-after", str(seconds).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
        return True

    def _observe(
        self, scope: Scope, path: str, status: int, seconds: float, request_id: str
    ) -> None:
        route = getattr(scope.get("route"), "path", None) or "unmatched"
        method = scope["method"]
        requests, latency = self._series(route, method, status)
        requests.inc()
        latency.observe(seconds)
        if status >= 500:
            self.metrics.http_errors.labels(route, method).inc()
        if self._worth_logging(path, status, seconds):
            (log.info if status < 500 else log.warning)(
                "request",
                method=method,
                path=path,
                status=status,
                duration_ms=round(seconds * 1000, 1),
                request_id=request_id,
            )
