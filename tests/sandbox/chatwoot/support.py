"""Helpers for the Chatwoot emulator tests: constants, a webhook receiver, request shortcuts.

Every request is plain httpx written from PROTOCOLS.md, as an independent client would send it.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from switchboard.sandbox.chatwoot import ChatwootEmulator
from switchboard.sandbox.server import BackgroundServer

TOKEN = "cw-test-admin-token"
PLATFORM_TOKEN = "cw-test-platform-token"
BOT_TOKEN = "cw-test-bot-token"
HMAC_TOKEN = "cw-test-inbox-hmac"
INBOX = "sandbox-inbox"
ACCOUNT_ID = 1
INBOX_ID = 1
APP = f"/api/v1/accounts/{ACCOUNT_ID}"
PUBLIC = f"/public/api/v1/inboxes/{INBOX}"
PLATFORM = "/platform/api/v1"


@dataclass
class Chatwoot:
    emulator: ChatwootEmulator
    server: BackgroundServer

    @property
    def url(self) -> str:
        return self.server.url

    def client(self, token: str | None = TOKEN) -> httpx.Client:
        headers = {"api_access_token": token} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=5)


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return orjson.loads(self.body)

    @property
    def event(self) -> str:
        event: str = self.json()["event"]
        return event


class Receiver:
    """A tiny webhook endpoint: records every POST, answers 200 or the statuses queued."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: list[Received] = []
        self._statuses: list[int] = []
        self.app = Starlette(routes=[Route("/{path:path}", self._handle, methods=["POST"])])
        self.url = ""

    async def _handle(self, request: Request) -> Response:
        body = await request.body()
        received = Received(request.url.path, dict(request.headers.items()), body)
        with self._lock:
            self._requests.append(received)
            status = self._statuses.pop(0) if self._statuses else 200
        return Response(b"ok", status_code=status)

    def fail_next(self, *statuses: int) -> None:
        with self._lock:
            self._statuses.extend(statuses)

    def reset(self) -> None:
        with self._lock:
            self._requests.clear()
            self._statuses.clear()

    @property
    def requests(self) -> list[Received]:
        with self._lock:
            return list(self._requests)

    def at(self, path: str) -> list[Received]:
        return [item for item in self.requests if item.path == path]

    def events(self, path: str) -> list[str]:
        return [item.event for item in self.at(path)]


def expected_signature(secret: str, timestamp: str, body: bytes) -> str:
    """Written from PROTOCOLS 1.4: sha256=<hex HMAC-SHA256(secret, "<ts>.<raw body>")>."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def identifier_hash(identifier: str) -> str:
    return hmac.new(HMAC_TOKEN.encode(), identifier.encode(), hashlib.sha256).hexdigest()


def public_contact(http: httpx.Client, **fields: Any) -> dict[str, Any]:
    response = http.post(f"{PUBLIC}/contacts", json=fields)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def public_conversation(http: httpx.Client, source_id: str, **fields: Any) -> dict[str, Any]:
    response = http.post(f"{PUBLIC}/contacts/{source_id}/conversations", json=fields)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def start_conversation(http: httpx.Client, **contact: Any) -> tuple[dict[str, Any], int]:
    """A contact from the site widget opens a conversation: (contact, display id)."""
    person = public_contact(http, **(contact or {"name": "Alice", "email": "alice@example.com"}))
    conversation = public_conversation(http, person["source_id"])
    return person, int(conversation["id"])


def subscribe(
    http: httpx.Client, url: str, subscriptions: list[str] | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"url": url, "name": "test hook"}
    if subscriptions is not None:
        body["subscriptions"] = subscriptions
    response = http.post(f"{APP}/webhooks", json=body)
    assert response.status_code == 200, response.text
    webhook: dict[str, Any] = response.json()["payload"]["webhook"]
    return webhook
