"""Webhook delivery: each bot's pending updates POSTed in order to its webhook URL.

Telegram sends an Update as a JSON body, with `X-Telegram-Bot-Api-Secret-Token` when the bot set
a secret, and counts any 2xx answer as delivered. Any other answer or a transport error is
remembered for getWebhookInfo (`last_error_date`, `last_error_message`, worded like the server's:
"Wrong response from the webhook: 500 Internal Server Error", "Connection refused", ...) and the
update is tried again later; a `Retry-After` of the answer is honoured (up to `max_retry_after`).
Telegram keeps trying for a day; here an update is dropped after `retries` more attempts, so a
test sees the outcome in seconds.

A 2xx answer may carry a Bot API call as its JSON body (`{"method": "sendMessage", ...}`); the
server runs it, except getters and webhook or session methods, and nobody sees its result.

Delivery runs in the event loop that serves the app (started by its lifespan), one task per bot
while it has updates to send, so it works the same in a test's BackgroundServer thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

from switchboard.sandbox.telegram.store import Store, WebhookJob

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name
_NOT_FROM_WEBHOOK_ANSWERS = ("deletewebhook", "setwebhook", "close", "logout")

#: Runs a Bot API method for a bot: (bot id, method name, parameters).
MethodRunner = Callable[[int, str, dict[str, Any]], Awaitable[None]]


@dataclass(frozen=True)
class DeliverySettings:
    timeout: float = 10.0
    retries: int = 3
    backoff: float = 0.5
    max_retry_after: float = 5.0


@dataclass(frozen=True)
class WebhookAttempt:
    """One POST of one update (or its failure to get an answer)."""

    bot_id: int
    update_id: int
    url: str
    attempt: int
    headers: dict[str, str]
    body: bytes
    status: int | None
    error: str | None
    at: float = field(default_factory=time.time)

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status <= 299

    def json(self) -> Any:
        return orjson.loads(self.body)


class WebhookDispatcher:
    def __init__(
        self, store: Store, settings: DeliverySettings, run_method: MethodRunner | None = None
    ) -> None:
        self.store = store
        self.settings = settings
        self.run_method = run_method
        self._lock = threading.Lock()
        self._attempts: list[WebhookAttempt] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: httpx.AsyncClient | None = None
        self._workers: dict[int, asyncio.Task[None]] = {}

    # -- lifecycle (the server's loop) -----------------------------------------------------

    async def start(self) -> None:
        self._client = httpx.AsyncClient(timeout=self.settings.timeout, follow_redirects=False)
        with self._lock:
            self._loop = asyncio.get_running_loop()
        for bot_id in self.store.bots_with_webhook_updates():
            self._ensure_worker(bot_id)

    async def stop(self) -> None:
        with self._lock:
            self._loop = None
        workers = list(self._workers.values())
        self._workers.clear()
        for worker in workers:
            worker.cancel()
        for worker in workers:
            with contextlib.suppress(asyncio.CancelledError):
                await worker
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def kick(self, bot_id: int) -> None:
        """A bot has a new update for its webhook (from any thread; never blocks)."""
        with self._lock:
            loop = self._loop
        if loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(self._ensure_worker, bot_id)

    def _ensure_worker(self, bot_id: int) -> None:
        worker = self._workers.get(bot_id)
        if worker is None or worker.done():
            self._workers[bot_id] = asyncio.get_running_loop().create_task(
                self._deliver_all(bot_id), name=f"telegram-webhook-{bot_id}"
            )

    # -- delivering ------------------------------------------------------------------------

    async def _deliver_all(self, bot_id: int) -> None:
        while (job := self.store.next_webhook_job(bot_id)) is not None:
            await self._deliver(job)

    async def _deliver(self, job: WebhookJob) -> None:
        body = orjson.dumps(job.update)
        headers = {"Content-Type": "application/json"}
        if job.secret_token:
            headers[SECRET_HEADER] = job.secret_token
        for attempt in range(1, self.settings.retries + 2):
            if not self.store.is_current(job):
                return  # the webhook changed or the update was dropped meanwhile
            response, error = await self._post(job.url, headers, body)
            status = response.status_code if response is not None else None
            self._record(
                WebhookAttempt(
                    job.bot_id, job.update_id, job.url, attempt, headers, body, status, error
                )
            )
            if response is not None and response.is_success:
                self.store.webhook_done(job)
                await self._run_answer(job.bot_id, response)
                return
            self.store.webhook_failed(job, error or _wrong_response(response))
            if attempt <= self.settings.retries:
                await asyncio.sleep(self._delay(attempt, response))
        self.store.webhook_done(job)

    async def _post(
        self, url: str, headers: dict[str, str], body: bytes
    ) -> tuple[httpx.Response | None, str | None]:
        assert self._client is not None
        try:
            return await self._client.post(url, content=body, headers=headers), None
        except httpx.TimeoutException:
            return None, "Read timeout expired"
        except httpx.ConnectError as exc:
            if _caused_by(exc, ConnectionRefusedError):
                return None, "Connection refused"
            return None, f"Failed to connect: {exc}"
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            return None, f"Webhook connection closed: {type(exc).__name__}"

    def _delay(self, attempt: int, response: httpx.Response | None) -> float:
        delay = self.settings.backoff * 2.0 ** (attempt - 1)
        retry_after: str = response.headers.get("retry-after", "") if response else ""
        if retry_after.isdigit():
            delay = min(float(retry_after), self.settings.max_retry_after)
        return delay

    async def _run_answer(self, bot_id: int, response: httpx.Response) -> None:
        """A method the webhook answered with, run as the bot (errors go nowhere, as there)."""
        if self.run_method is None or not response.content:
            return
        with contextlib.suppress(orjson.JSONDecodeError):
            answer = orjson.loads(response.content)
            if not isinstance(answer, dict) or not isinstance(answer.get("method"), str):
                return
            name = answer.pop("method")
            lowered = name.lower()
            if lowered.startswith("get") or lowered in _NOT_FROM_WEBHOOK_ANSWERS:
                return
            await self.run_method(bot_id, name, answer)

    def _record(self, attempt: WebhookAttempt) -> None:
        with self._lock:
            self._attempts.append(attempt)

    # -- observing -------------------------------------------------------------------------

    @property
    def attempts(self) -> list[WebhookAttempt]:
        with self._lock:
            return list(self._attempts)

    def clear(self) -> None:
        with self._lock:
            self._attempts.clear()

    def idle(self) -> bool:
        """No bot has an update waiting for its webhook, and no delivery is under way."""
        busy = any(not worker.done() for worker in list(self._workers.values()))
        return not busy and not self.store.bots_with_webhook_updates()

    def wait(self, timeout: float) -> None:
        """Block until `idle()` (never call it from the server's own loop)."""
        deadline = time.monotonic() + timeout
        while not self.idle():
            if time.monotonic() > deadline:
                raise TimeoutError("webhook deliveries still pending")
            time.sleep(0.01)


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, kind):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _wrong_response(response: httpx.Response | None) -> str:
    if response is None:
        return "Webhook connection closed"
    return f"Wrong response from the webhook: {response.status_code} {response.reason_phrase}"
