"""Webhook delivery, the way Chatwoot's WebhookJob does it from Sidekiq.

Events are turned into jobs at once (the payload is frozen when the event happens) and posted later
by a worker in the server's event loop, so delivery is asynchronous as it is in Chatwoot: the API
answers first. A job is posted with a 5 s timeout and retried with backoff after a transport error
or a 5xx, keeping its `X-Chatwoot-Delivery` id. Every attempt lands in `deliveries`.

Signing follows Chatwoot 4.11.2+: `X-Chatwoot-Signature: sha256=<hex>` over `"<ts>.<body>"` keyed
with the webhook's secret, plus `X-Chatwoot-Timestamp` and `X-Chatwoot-Delivery`. Unsigned mode
(4.11.1 and older) sends only the two JSON content negotiation headers.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

from switchboard.sandbox.chatwoot.operations import Event
from switchboard.sandbox.chatwoot.records import new_uuid
from switchboard.sandbox.chatwoot.store import Store

INBOX_EVENTS_PREFIXES = ("conversation_", "message_", "webwidget_")


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The `X-Chatwoot-Signature` value for one attempt."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={digest.hexdigest()}"


@dataclass(frozen=True)
class WebhookDelivery:
    """One attempt to deliver one event to one URL."""

    delivery_id: str
    url: str
    event: str
    headers: dict[str, str]
    body: bytes
    attempt: int
    status: int | None
    error: str | None
    at: float

    @property
    def ok(self) -> bool:
        return self.status is not None and self.status < 400

    def json(self) -> Any:
        return orjson.loads(self.body)


@dataclass
class _Job:
    delivery_id: str
    url: str
    event: str
    body: bytes
    secret: str | None
    generation: int = 0
    attempt: int = 0


@dataclass
class DeliverySettings:
    """Chatwoot's WEBHOOK_TIMEOUT, and the emulated Sidekiq retry schedule."""

    timeout: float = 5.0
    retries: int = 3
    backoff: float = 0.5


@dataclass
class WebhookDispatcher:
    """Queues jobs from any thread and posts them from the event loop it was started in."""

    store: Store
    sign_webhooks: bool = True
    settings: DeliverySettings = field(default_factory=DeliverySettings)

    def __post_init__(self) -> None:
        self._lock = threading.Condition()
        self._deliveries: list[WebhookDelivery] = []
        self._outstanding = 0
        self._generation = 0
        self._backlog: list[_Job] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: asyncio.Queue[_Job] | None = None
        self._worker: asyncio.Task[None] | None = None
        self._client: httpx.AsyncClient | None = None
        self._timers: set[asyncio.TimerHandle] = set()

    # -- producing jobs (any thread) -------------------------------------------------------

    def publish(self, events: Iterable[Event]) -> None:
        jobs = [job for event in events for job in self._jobs_for(event)]
        if not jobs:
            return
        with self._lock:
            # Stamped under the lock, so a concurrent reset() cannot leave them counted.
            for job in jobs:
                job.generation = self._generation
            self._outstanding += len(jobs)
            loop = self._loop
            if loop is None:
                self._backlog.extend(jobs)
                return
        for job in jobs:
            loop.call_soon_threadsafe(self._enqueue, job)

    def _jobs_for(self, event: Event) -> list[_Job]:
        """Account webhooks subscribed to the event, then the API inbox's own webhook_url."""
        body = orjson.dumps(event.payload)
        with self.store.lock:
            targets: list[tuple[str, str | None]] = [
                (hook.url, hook.secret if self.sign_webhooks else None)
                for hook in self.store.webhooks_of(event.account_id)
                if event.name in hook.subscriptions
            ]
            inbox = self.store.inboxes.get(event.inbox_id)
            if (
                inbox is not None
                and inbox.webhook_url
                and event.name.startswith(INBOX_EVENTS_PREFIXES)
            ):
                # Inbox webhooks are signed only from 4.13 on, with their own secret: not here.
                targets.append((inbox.webhook_url, None))
        return [_Job(new_uuid(), url, event.name, body, secret) for url, secret in targets]

    # -- lifecycle (the server's loop) -----------------------------------------------------

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._queue = asyncio.Queue()
        self._client = httpx.AsyncClient(timeout=self.settings.timeout, follow_redirects=False)
        self._worker = loop.create_task(self._work(), name="chatwoot-webhooks")
        with self._lock:
            self._loop = loop
            backlog, self._backlog = self._backlog, []
        for job in backlog:
            self._queue.put_nowait(job)

    async def stop(self) -> None:
        with self._lock:
            self._loop = None
            self._outstanding = 0  # what is left is lost, as with a stopped Sidekiq; wake waiters
            self._lock.notify_all()
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
            self._worker = None
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def reset(self) -> None:
        """Forget queued jobs and recorded attempts; a job in flight is dropped when it returns."""
        with self._lock:
            self._generation += 1
            self._backlog.clear()
            self._deliveries.clear()
            self._outstanding = 0
            self._lock.notify_all()

    # -- the worker ------------------------------------------------------------------------

    def _enqueue(self, job: _Job) -> None:
        if self._queue is not None:
            self._queue.put_nowait(job)

    async def _work(self) -> None:
        # One worker posts jobs in the order the events happened; retries wait on a timer.
        assert self._queue is not None
        while True:
            job = await self._queue.get()
            if job.generation != self._generation:
                continue
            try:
                await self._attempt(job)
            except Exception as exc:  # a broken job must not stop the worker: record and move on
                self._record(job, {}, None, f"{type(exc).__name__}: {exc}")
                self._finish(job)

    async def _attempt(self, job: _Job) -> None:
        job.attempt += 1
        headers = self._headers(job)
        status, error = await self._post(job, headers)
        if not self._record(job, headers, status, error):
            return
        retriable = error is not None or (status is not None and status >= 500)
        if retriable and job.attempt <= self.settings.retries:
            self._retry_later(job)
        else:
            self._finish(job)

    def _record(
        self, job: _Job, headers: dict[str, str], status: int | None, error: str | None
    ) -> bool:
        """Keep the attempt; False when a reset made the job stale meanwhile."""
        attempt = WebhookDelivery(
            delivery_id=job.delivery_id,
            url=job.url,
            event=job.event,
            headers=headers,
            body=job.body,
            attempt=job.attempt,
            status=status,
            error=error,
            at=time.time(),
        )
        with self._lock:
            if job.generation != self._generation:
                return False
            self._deliveries.append(attempt)
            return True

    def _headers(self, job: _Job) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if job.secret is not None:
            timestamp = str(int(time.time()))
            headers["X-Chatwoot-Signature"] = sign(job.secret, timestamp, job.body)
            headers["X-Chatwoot-Timestamp"] = timestamp
            headers["X-Chatwoot-Delivery"] = job.delivery_id
        return headers

    async def _post(self, job: _Job, headers: dict[str, str]) -> tuple[int | None, str | None]:
        assert self._client is not None
        try:
            response = await self._client.post(job.url, content=job.body, headers=headers)
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            return None, f"{type(exc).__name__}: {exc}"
        return response.status_code, None

    def _retry_later(self, job: _Job) -> None:
        loop = asyncio.get_running_loop()
        delay = self.settings.backoff * 2 ** (job.attempt - 1)

        def requeue() -> None:
            self._timers.discard(timer)
            self._enqueue(job)

        timer = loop.call_later(delay, requeue)
        self._timers.add(timer)

    def _finish(self, job: _Job) -> None:
        with self._lock:
            if job.generation == self._generation and self._outstanding > 0:
                self._outstanding -= 1
            self._lock.notify_all()

    # -- observing -------------------------------------------------------------------------

    @property
    def deliveries(self) -> list[WebhookDelivery]:
        with self._lock:
            return list(self._deliveries)

    @property
    def outstanding(self) -> int:
        with self._lock:
            return self._outstanding

    def wait(self, timeout: float) -> None:
        """Block until every queued delivery is done (never from the server's own loop)."""
        with self._lock:
            if not self._lock.wait_for(lambda: self._outstanding == 0, timeout):
                raise TimeoutError(f"{self._outstanding} webhook deliveries still pending")

    async def drain(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self.outstanding:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.outstanding} webhook deliveries still pending")
            await asyncio.sleep(0.01)
