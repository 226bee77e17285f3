"""What every HTTP call goes through, as plain ASGI middleware (cheap on the hot path).

From the outside in:

* `RequestPipeline` — the request id (on every response, 500s included, and on every log line
  of the request through structlog's context), Prometheus metrics with bounded labels, one
  access-log line;
* `CorsByPath` — CORS (for `ALLOWED_ORIGINS` when set; for every origin, without credentials,
  on the domains' public paths such as the chat widget's API), so that what the guard answers
  below it (429, 431, 500) carries the CORS headers a browser needs to read it;
* `RequestGuard` — the header size limit (431), the general rate limit (429), and the one clean
  500 of an unexpected error.

`install_middleware` puts them in that order.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Sequence
from typing import Any

import orjson
import structlog
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from switchboard.core.errors import INTERNAL_ERROR
from switchboard.core.i18n import negotiate, translate
from switchboard.core.metrics import Metrics
from switchboard.core.ratelimit import RateLimiter
from switchboard.core.realtime.sse import StreamHandoff
from switchboard.core.settings import AccessLog, CoreSettings

log = structlog.get_logger("switchboard.http")

LIMITED_PREFIXES = ("/api/", "/webhook/")
UNLIMITED_PREFIXES = ("/api/health",)
#: Webhooks have a limit of their own (`RATE_LIMIT_WEBHOOK_PER_MINUTE`).
WEBHOOK_PREFIX = "/webhook/"
QUIET_PATHS = ("/metrics", "/api/health")
SLOW_REQUEST_SECONDS = 1.0
#: What a client's `X-Request-Id` must look like to be kept (else the request gets a fresh one).
REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
#: Methods counted under their own name in metrics; any other is "other".
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
#: Headers a browser may send to the API, and those it may read from answers.
CORS_REQUEST_HEADERS = (
    "Authorization",
    "Content-Type",
    "X-Front-Secret",
    "X-Request-Id",
    "Last-Event-ID",
    "X-Visitor-Token",
    "Idempotency-Key",
    "Accept-Language",
    "If-None-Match",
)
CORS_EXPOSED_HEADERS = ("X-Request-Id", "Retry-After", "ETag")


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


def request_id_of(scope: Scope) -> str:
    """The client's `X-Request-Id` when it looks like an id, else a fresh one (ids correlate
    log lines: unique, not unguessable)."""
    given = _header(scope, b"x-request-id")
    if given is not None and REQUEST_ID.fullmatch(given):
        return given
    return f"{random.getrandbits(64):016x}"


async def send_json(
    send: Send, status: int, body: dict[str, Any], headers: Sequence[tuple[bytes, bytes]] = ()
) -> None:
    content = orjson.dumps(body)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(content)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": content})


class RequestPipeline:
    """Request id, metrics and the access log of every request (the outermost layer)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        metrics: Metrics,
        access_log: AccessLog = AccessLog.ERRORS,
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.access_log = access_log
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = request_id_of(scope)
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

        tokens = structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            # An unexpected error of the application is answered by `RequestGuard` below (a 500
            # that carries CORS headers and, through `send_with_id`, the request id).
            await self.app(scope, receive, send_with_id)
        finally:
            self._observe(scope, status, time.perf_counter() - started)
            structlog.contextvars.reset_contextvars(**tokens)

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

    def _observe(self, scope: Scope, status: int, seconds: float) -> None:
        # Labels come from our own route table and a fixed set of methods, never from the
        # client's path or method, so the number of series cannot grow with what clients send.
        route = getattr(scope.get("route"), "path", None) or "unmatched"
        method = scope["method"] if scope["method"] in KNOWN_METHODS else "other"
        requests, latency = self._series(route, method, status)
        requests.inc()
        latency.observe(seconds)
        if status >= 500:
            self.metrics.http_errors.labels(route, method).inc()
        path: str = scope["path"]
        if self._worth_logging(path, status, seconds):
            (log.info if status < 500 else log.warning)(
                "request",
                method=scope["method"][:16],
                path=path[:200],
                status=status,
                duration_ms=round(seconds * 1000, 1),
            )


class RequestGuard:
    """Refusals before the app runs (oversized headers, the rate limit) and the clean 500 of an
    unexpected error; inside CORS, so a browser can read all three."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        limiter: RateLimiter,
        default_locale: str = "ru",
        max_header_bytes: int = 32 * 1024,
    ) -> None:
        self.app = app
        self.limiter = limiter
        self.default_locale = default_locale
        self.max_header_bytes = max_header_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self._headers_too_large(scope):
            await self._refuse(
                scope, send, 431, "headers_too_large", "The request headers are too large."
            )
            return
        if await self._over_limit(scope, send):
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception:
            # The application's one boundary: every expected failure is a typed error answered
            # long before this; what reaches here is a bug, logged with its traceback and the
            # request id (bound by the pipeline). Before the answer began it becomes a clean
            # 500 with CORS headers; after, the server must see it (it closes the connection)
            # rather than a half answer passing as done.
            log.exception("unhandled error", method=scope["method"], path=scope["path"][:200])
            if started:
                raise
            await self._refuse(scope, send, 500, *INTERNAL_ERROR)

    def _headers_too_large(self, scope: Scope) -> bool:
        # The server's own limit stops a huge header while it is read; this one answers 431
        # for what got through (and for servers without a limit).
        size = 0
        for name, value in scope["headers"]:
            size += len(name) + len(value) + 4
        return size > self.max_header_bytes

    async def _refuse(
        self,
        scope: Scope,
        send: Send,
        status: int,
        code: str,
        message: str,
        *,
        headers: Sequence[tuple[bytes, bytes]] = (),
        **params: object,
    ) -> None:
        locale = negotiate(_header(scope, b"accept-language"), self.default_locale)
        body = {"error": code, "message": translate(message, locale, **params)}
        await send_json(send, status, body, headers)

    async def _over_limit(self, scope: Scope, send: Send) -> bool:
        path: str = scope["path"]
        if not path.startswith(LIMITED_PREFIXES) or path.startswith(UNLIMITED_PREFIXES):
            return False
        client = scope.get("client")
        key = self.limiter.client_key(
            client[0] if client else None, _header(scope, b"x-forwarded-for")
        )
        if path.startswith(WEBHOOK_PREFIX):
            retry_after = await self.limiter.check(self.limiter.webhook, "webhook", key)
        else:
            retry_after = await self.limiter.check(self.limiter.general, "api", key)
        if retry_after is None:
            return False
        seconds = int(retry_after + 0.999)
        await self._refuse(
            scope,
            send,
            429,
            "rate_limited",
            "Too many requests; try again in {seconds} s.",
            headers=[(b"retry-after", str(seconds).encode())],
            seconds=seconds,
        )
        return True


def _cors(app: ASGIApp, origins: list[str]) -> CORSMiddleware:
    return CORSMiddleware(
        app,
        allow_origins=origins,
        allow_credentials="*" not in origins,
        allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
        allow_headers=list(CORS_REQUEST_HEADERS),
        expose_headers=list(CORS_EXPOSED_HEADERS),
    )


class CorsByPath:
    """CORS for the site's own pages (`allowed_origins`; none when empty), and for every origin
    without credentials on `public_paths` (what any website embeds: its visitors prove who
    they are with a header, never with our cookies)."""

    def __init__(
        self, app: ASGIApp, *, allowed_origins: list[str], public_paths: Sequence[str]
    ) -> None:
        self.site: ASGIApp = _cors(app, allowed_origins) if allowed_origins else app
        self.public: ASGIApp = _cors(app, ["*"])
        self.public_paths = tuple(public_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(self.public_paths):
            await self.public(scope, receive, send)
        else:
            await self.site(scope, receive, send)


def install_middleware(
    app: FastAPI,
    settings: CoreSettings,
    *,
    metrics: Metrics,
    limiter: RateLimiter,
    public_paths: Sequence[str] = (),
) -> None:
    """The request pipeline, CORS and the guard, in the order the module docstring gives."""
    # Starlette wraps the app in reverse order of `add_middleware`: the last added is outermost.
    app.add_middleware(
        RequestGuard,
        limiter=limiter,
        default_locale=settings.default_locale,
        max_header_bytes=settings.max_header_bytes,
    )
    if settings.allowed_origins or public_paths:
        app.add_middleware(
            CorsByPath,
            allowed_origins=list(settings.allowed_origins),
            public_paths=tuple(public_paths),
        )
    app.add_middleware(
        RequestPipeline,
        metrics=metrics,
        access_log=settings.access_log,
    )
    # Outside them all: an event stream leaves these layers once its headers are out, so an
    # idle stream holds none of their per-request state.
    app.add_middleware(StreamHandoff)
