"""Helpers for the Telegram emulator tests: constants, a webhook receiver, request shortcuts.

Requests are plain httpx written from PROTOCOLS.md section 5 and the Bot API documentation, as
an independent client would send them.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from switchboard.sandbox.server import BackgroundServer
from switchboard.sandbox.telegram import TelegramEmulator

TOKEN = "123456:AAE-sandbox_token"
OTHER_TOKEN = "777000:AAF-other_bot"
BOT_ID = 123456
PERSON = 4242  # a private chat's id is its person's user id
GROUP = -4001
SUPERGROUP = -1001234567890
CHANNEL = -1009876543210
ALICE = {"id": 5151, "is_bot": False, "first_name": "Alice", "username": "alice_sb"}


@dataclass
class Telegram:
    emulator: TelegramEmulator
    server: BackgroundServer

    @property
    def url(self) -> str:
        return self.server.url

    def client(self, token: str = TOKEN) -> httpx.Client:
        return httpx.Client(base_url=f"{self.url}/bot{token}", timeout=10)


def ok(response: httpx.Response) -> Any:
    """The `result` of a successful call, after checking the envelope."""
    body = response.json()
    assert response.status_code == 200, body
    assert body["ok"] is True, body
    return body["result"]


def failed(response: httpx.Response, code: int) -> str:
    """The `description` of a failed call, after checking the envelope."""
    body = response.json()
    assert response.status_code == code, body
    assert body["ok"] is False
    assert body["error_code"] == code
    description: str = body["description"]
    return description


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return orjson.loads(self.body)


class Receiver:
    """A bot's webhook endpoint: records every POST and answers 200, or the statuses queued
    with `fail_next`, or a JSON body queued with `answer_next`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: list[Received] = []
        self._statuses: list[int] = []
        self._answers: list[dict[str, Any]] = []
        self.app = Starlette(routes=[Route("/{path:path}", self._handle, methods=["POST"])])
        self.url = ""

    async def _handle(self, request: Request) -> Response:
        received = Received(request.url.path, dict(request.headers.items()), await request.body())
        with self._lock:
            self._requests.append(received)
            status = self._statuses.pop(0) if self._statuses else 200
            answer = self._answers.pop(0) if self._answers and status == 200 else None
        if answer is not None:
            return Response(orjson.dumps(answer), status, media_type="application/json")
        return Response(b"", status_code=status)

    def fail_next(self, *statuses: int) -> None:
        with self._lock:
            self._statuses.extend(statuses)

    def answer_next(self, body: dict[str, Any]) -> None:
        with self._lock:
            self._answers.append(body)

    def reset(self) -> None:
        with self._lock:
            self._requests.clear()
            self._statuses.clear()
            self._answers.clear()

    @property
    def requests(self) -> list[Received]:
        with self._lock:
            return list(self._requests)
