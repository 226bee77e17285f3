"""The adapter kit: one HTTP client per external system, with the habits every call needs.

* a timeout on every call (per client, overridable per call);
* retries with exponential backoff and jitter on 429, 5xx and connection failures, honouring
  `Retry-After`, but never repeating a call that may already have changed data on the peer
  (a POST that timed out or got a 500) unless the caller marks it idempotent;
* a circuit breaker per target, so a dead peer is not hammered and callers fail fast;
* one structured log line per attempt, with secrets masked, and Prometheus counters.

Adapters build their protocol on top of `ServiceClient.request` and never see httpx errors: every
failure leaves as one of `switchboard.core.http.errors`.
"""

from __future__ import annotations

import asyncio
import email.utils
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import structlog
from purgatory import AsyncCircuitBreakerFactory
from purgatory.domain.model import OpenedState
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from switchboard.core.http.errors import (
    CircuitOpen,
    IntegrationError,
    PeerNotFound,
    PeerRejected,
    PeerTimeout,
    PeerUnauthorized,
    PeerUnavailable,
    RateLimited,
)
from switchboard.core.http.masking import Masker
from switchboard.core.metrics import Metrics

log = structlog.get_logger("switchboard.adapter")

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
BODY_LOG_LIMIT = 2000

ResponseClassifier = Callable[[str, httpx.Response], IntegrationError | None]
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 4
    initial_backoff: float = 0.5
    max_backoff: float = 30.0
    jitter: float = 0.5
    #: A peer that asks us to come back later than this is not waited for inside the call:
    #: the caller gets `RateLimited` with `retry_after` and reschedules its job instead.
    max_retry_after: float = 60.0


class PossiblyProcessed:
    """Marks errors after which the peer may have acted on the request."""


class _MaybeDoneTimeout(PeerTimeout, PossiblyProcessed):
    pass


class _MaybeDoneUnavailable(PeerUnavailable, PossiblyProcessed):
    pass


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a `Retry-After` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def status_classifier(
    rate_limit_statuses: Iterable[int] = (429,),
) -> ResponseClassifier:
    """The reading of HTTP statuses for a peer whose rate limit answers with
    `rate_limit_statuses` (RetailCRM also uses 503 for it; 1C and Chatwoot do not)."""
    limits = frozenset(rate_limit_statuses)

    def classify(target: str, response: httpx.Response) -> IntegrationError | None:
        status = response.status_code
        if status < 400:
            return None
        body = response.text
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        if status in limits:
            return RateLimited(
                target,
                f"rate limited ({status})",
                retry_after=retry_after,
                status_code=status,
                body=body,
            )
        if status == 503:
            # The request was not taken in: safe to send again, whatever the method.
            return PeerUnavailable(
                target,
                "service unavailable (503)",
                retry_after=retry_after,
                status_code=status,
                body=body,
            )
        if status >= 500:
            return _MaybeDoneUnavailable(
                target, f"server error ({status})", status_code=status, body=body
            )
        if status in (401, 403):
            return PeerUnauthorized(
                target, f"not authorized ({status})", status_code=status, body=body
            )
        if status == 404:
            return PeerNotFound(target, "not found (404)", status_code=status, body=body)
        return PeerRejected(target, f"rejected ({status})", status_code=status, body=body)

    return classify


#: The default reading: only 429 is a rate limit.
classify_status = status_classifier()


def _outcome(error: BaseException | None) -> str:
    if error is None:
        return "success"
    if isinstance(error, CircuitOpen):
        return "circuit_open"
    if isinstance(error, RateLimited):
        return "rate_limited"
    if isinstance(error, PeerTimeout):
        return "timeout"
    if isinstance(error, PeerUnavailable):
        return "server_error" if error.status_code else "connection_error"
    if isinstance(error, PeerRejected):
        return "client_error"
    return "error"


class Breakers:
    """Circuit breakers of one process, one per target."""

    def __init__(self, metrics: Metrics, *, threshold: int = 5, reset_seconds: float = 30) -> None:
        self.metrics = metrics
        self.factory = AsyncCircuitBreakerFactory(
            default_threshold=threshold, default_ttl=reset_seconds
        )
        self.reset_seconds = reset_seconds
        self.factory.add_listener(self._on_event)
        self.states: dict[str, str] = {}

    def _on_event(self, name: str, kind: str, event: Any) -> None:
        if kind == "state_changed":
            state = getattr(event, "state", "closed")
            self.states[name] = state
            self.metrics.breaker_open.labels(target=name).set(1 if state == "opened" else 0)
            log.warning("circuit breaker state changed", target=name, state=state)

    def state(self, target: str) -> str:
        return self.states.get(target, "closed")

    async def breaker(self, target: str) -> Any:
        # Only failures that say "the peer is unwell" count; a refusal or a rate limit means
        # the peer is alive and answering.
        return await self.factory.get_breaker(target, exclude=[_NotAFailure])


class _NotAFailure(Exception):
    """Wraps outcomes that end an attempt but must not trip the breaker."""

    def __init__(self, error: IntegrationError) -> None:
        super().__init__(str(error))
        self.error = error


class ServiceClient:
    """HTTP access to one external system (`target` names it in logs, metrics and breakers)."""

    def __init__(
        self,
        target: str,
        base_url: str,
        *,
        metrics: Metrics,
        breakers: Breakers,
        retry: RetryPolicy | None = None,
        timeout: float = 15.0,
        auth: httpx.Auth | tuple[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        secrets: Iterable[str] = (),
        classify: ResponseClassifier = classify_status,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Sleep | None = None,
    ) -> None:
        self.target = target
        self.metrics = metrics
        self.breakers = breakers
        self.retry = retry or RetryPolicy()
        self.timeout = timeout
        self.classify = classify
        self.masker = Masker(secrets)
        self._sleep = sleep
        self.http = httpx.AsyncClient(
            base_url=base_url,
            auth=auth,
            headers=dict(headers or {}),
            timeout=httpx.Timeout(timeout),
            transport=transport,
            follow_redirects=False,
        )

    async def aclose(self) -> None:
        await self.http.aclose()

    async def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        idempotent: bool | None = None,
        idempotency_key: str | None = None,
        max_attempts: int | None = None,
    ) -> httpx.Response:
        """Send a request and return a successful (< 400) response, or raise an
        `IntegrationError`. `idempotent` defaults to the method's HTTP semantics."""
        method = method.upper()
        send_headers = dict(headers or {})
        if idempotency_key:
            send_headers["Idempotency-Key"] = idempotency_key
        repeatable = (
            idempotent
            if idempotent is not None
            else (method in IDEMPOTENT_METHODS or idempotency_key is not None)
        )
        request = self.http.build_request(
            method,
            url,
            params=params,
            json=json,
            data=data,
            headers=send_headers,
            timeout=httpx.Timeout(timeout or self.timeout),
        )
        retrying = AsyncRetrying(
            stop=stop_after_attempt(max_attempts or self.retry.max_attempts),
            wait=self._wait,
            retry=retry_if_exception(lambda exc: self._should_retry(exc, repeatable)),
            reraise=True,
            sleep=self._sleep or asyncio.sleep,
        )
        response: httpx.Response | None = None
        async for attempt in retrying:
            with attempt:
                response = await self._attempt(request, attempt.retry_state.attempt_number)
        assert response is not None
        return response

    def _should_retry(self, error: BaseException, repeatable: bool) -> bool:
        if isinstance(error, CircuitOpen) or not isinstance(error, PeerUnavailable):
            return False
        if error.retry_after is not None and error.retry_after > self.retry.max_retry_after:
            return False
        if isinstance(error, PossiblyProcessed):
            return repeatable
        return True

    def _wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, IntegrationError) and error.retry_after is not None:
            return error.retry_after
        backoff = wait_exponential_jitter(
            multiplier=self.retry.initial_backoff,
            max=self.retry.max_backoff,
            jitter=self.retry.jitter,
        )
        return float(backoff(state))

    async def _attempt(self, request: httpx.Request, number: int) -> httpx.Response:
        started = time.perf_counter()
        response: httpx.Response | None = None
        error: IntegrationError | None = None
        try:
            breaker = await self.breakers.breaker(self.target)
            try:
                async with breaker:
                    response, error = await self._exchange(request)
                    if isinstance(error, (PeerRejected, RateLimited)):
                        raise _NotAFailure(error)
                    if error is not None:
                        raise error
            except OpenedState:
                error = CircuitOpen(
                    self.target,
                    "circuit open: calls paused after failures",
                    retry_after=self.breakers.reset_seconds,
                )
            except _NotAFailure:
                pass
            except IntegrationError:
                pass
        finally:
            self._record(request, response, error, number, time.perf_counter() - started)
        if error is not None:
            raise error
        assert response is not None
        return response

    async def _exchange(
        self, request: httpx.Request
    ) -> tuple[httpx.Response | None, IntegrationError | None]:
        try:
            response = await self.http.send(request)
            await response.aread()
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            return None, PeerUnavailable(self.target, f"cannot connect: {type(exc).__name__}")
        except httpx.TimeoutException as exc:
            return None, _MaybeDoneTimeout(self.target, f"no answer in time: {type(exc).__name__}")
        except httpx.TransportError as exc:
            return None, _MaybeDoneUnavailable(
                self.target, f"connection dropped: {type(exc).__name__}"
            )
        error = self.classify(self.target, response)
        if error is not None:
            # Masked whole, then cut: a secret at the cut must not leave half of itself.
            if error.body is not None:
                error.body = self.masker.text(response.text)
            error.mask(self.masker.text)
        return response, error

    def _record(
        self,
        request: httpx.Request,
        response: httpx.Response | None,
        error: IntegrationError | None,
        attempt: int,
        seconds: float,
    ) -> None:
        outcome = _outcome(error)
        self.metrics.adapter_calls.labels(self.target, request.method, outcome).inc()
        if not isinstance(error, CircuitOpen):
            self.metrics.adapter_latency.labels(self.target).observe(seconds)
        fields: dict[str, Any] = {
            "target": self.target,
            "method": request.method,
            "url": self.masker.url(str(request.url)),
            "status": response.status_code if response is not None else None,
            "outcome": outcome,
            "attempt": attempt,
            "duration_ms": round(seconds * 1000, 1),
        }
        if error is not None:
            fields["error"] = self.masker.text(error.message)
        # Successful calls are counted and timed in /metrics; the log keeps the failures.
        level = "debug" if error is None else "warning"
        getattr(log, level)("adapter call", **fields)
        log.debug(
            "adapter exchange",
            target=self.target,
            request_headers=self.masker.headers(dict(request.headers)),
            request_body=self.masker.text(
                request.content[:BODY_LOG_LIMIT].decode("utf-8", "replace")
            ),
            response_body=self.masker.text(response.text[:BODY_LOG_LIMIT]) if response else None,
        )


class HttpKit:
    """Makes `ServiceClient`s that share this process's metrics, breakers and retry policy."""

    def __init__(
        self,
        metrics: Metrics,
        *,
        retry: RetryPolicy | None = None,
        timeout: float = 15.0,
        breaker_threshold: int = 5,
        breaker_reset_seconds: float = 30.0,
        sleep: Sleep | None = None,
    ) -> None:
        self.metrics = metrics
        self.retry = retry or RetryPolicy()
        self.timeout = timeout
        self.breakers = Breakers(
            metrics, threshold=breaker_threshold, reset_seconds=breaker_reset_seconds
        )
        self.sleep = sleep

    @classmethod
    def from_settings(cls, settings: Any, metrics: Metrics) -> HttpKit:
        return cls(
            metrics,
            retry=RetryPolicy(
                max_attempts=settings.http_max_attempts,
                initial_backoff=settings.http_backoff_initial_seconds,
                max_backoff=settings.http_backoff_max_seconds,
            ),
            timeout=settings.http_timeout_seconds,
            breaker_threshold=settings.breaker_failure_threshold,
            breaker_reset_seconds=settings.breaker_reset_seconds,
        )

    def client(
        self,
        target: str,
        base_url: str,
        *,
        auth: httpx.Auth | tuple[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        secrets: Iterable[str] = (),
        classify: ResponseClassifier = classify_status,
        timeout: float | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> ServiceClient:
        return ServiceClient(
            target,
            base_url,
            metrics=self.metrics,
            breakers=self.breakers,
            retry=self.retry,
            timeout=timeout or self.timeout,
            auth=auth,
            headers=headers,
            secrets=secrets,
            classify=classify,
            transport=transport,
            sleep=self.sleep,
        )
