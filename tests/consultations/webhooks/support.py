"""The platform wired to the Chatwoot emulator: a real server of our app, the emulator's account
webhook pointing at it with its own secret, and shortcuts to look at our database.

Deliveries are the emulator's own (signed as Chatwoot >= 4.11.2 signs them). Requests the
emulator cannot make (forged, stale, replayed) are written here from PROTOCOLS.md 1.4.
"""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
from sqlalchemy import select

from switchboard.consultations.booking.models import StatusChange
from switchboard.consultations.models import Consultation, QuestionAnswer
from switchboard.consultations.sync.models import OutboxTask
from switchboard.integrations.models import NotificationLog, WebhookLog
from switchboard.runtime import Runtime
from switchboard.sandbox.chatwoot import WebhookDelivery
from switchboard.sandbox.pytest_plugin import RunningChatwoot
from switchboard.sandbox.runner import CHATWOOT_INBOX, CHATWOOT_TOKEN

PUBLIC = f"/public/api/v1/inboxes/{CHATWOOT_INBOX}"
WEBHOOK_PATH = "/webhook/chatwoot"
EVERY_EVENT = [
    "conversation_created",
    "conversation_status_changed",
    "conversation_updated",
    "message_created",
    "message_updated",
    "contact_created",
    "contact_updated",
    "conversation_typing_on",
    "conversation_typing_off",
]


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """sha256=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")> (PROTOCOLS.md 1.4)."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def signed_headers(
    secret: str, body: bytes, *, delivery_id: str | None = None, timestamp: int | None = None
) -> dict[str, str]:
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    return {
        "Content-Type": "application/json",
        "X-Chatwoot-Signature": sign(secret, stamp, body),
        "X-Chatwoot-Timestamp": stamp,
        "X-Chatwoot-Delivery": delivery_id or str(uuid.uuid4()),
    }


@dataclass
class Wired:
    chatwoot: RunningChatwoot
    #: A runtime of the test's own event loop, on the same database as the served app.
    runtime: Runtime
    app_url: str
    secret: str
    #: The emulator's Application API as the administrator.
    api: httpx.AsyncClient
    #: Our app, over HTTP.
    app: httpx.AsyncClient

    @property
    def account(self) -> str:
        return f"/api/v1/accounts/{self.chatwoot.emulator.account_id}"

    async def delivered(self) -> list[WebhookDelivery]:
        """Every delivery to our app once the emulator has none left to send."""
        await self.chatwoot.emulator.drain_webhooks(timeout=20)
        return [d for d in self.chatwoot.emulator.deliveries if d.url.endswith(WEBHOOK_PATH)]

    async def open_conversation(
        self, *, name: str = "Алишер", identifier: str | None = None, **attributes: Any
    ) -> int:
        """A contact opens a conversation in our inbox through the Public API (the site's
        widget does so); its display id."""
        contact = {"name": name, "email": f"{uuid.uuid4().hex[:8]}@example.uz"}
        if identifier:
            contact["identifier"] = identifier
        person = await self.api.post(f"{PUBLIC}/contacts", json=contact)
        assert person.status_code == 200, person.text
        source_id = person.json()["source_id"]
        created = await self.api.post(
            f"{PUBLIC}/contacts/{source_id}/conversations",
            json={"custom_attributes": attributes},
        )
        assert created.status_code == 200, created.text
        return int(created.json()["id"])

    async def set_attributes(self, conversation_id: int, attributes: dict[str, Any]) -> None:
        response = await self.api.post(
            f"{self.account}/conversations/{conversation_id}/custom_attributes",
            json={"custom_attributes": attributes},
        )
        assert response.status_code == 200, response.text

    async def redeliver(self, delivery: WebhookDelivery, *, fresh: bool = True) -> httpx.Response:
        """Post a delivery again with its delivery id, signed now (as a Sidekiq retry is)."""
        headers = signed_headers(self.secret, delivery.body, delivery_id=delivery.delivery_id)
        if not fresh:
            headers = {
                key: value for key, value in delivery.headers.items() if key.startswith("X-")
            }
            headers["Content-Type"] = "application/json"
        return await self.app.post(WEBHOOK_PATH, content=delivery.body, headers=headers)

    async def post_signed(self, payload: dict[str, Any], **options: Any) -> httpx.Response:
        body = orjson.dumps(payload)
        headers = signed_headers(self.secret, body, **options)
        return await self.app.post(WEBHOOK_PATH, content=body, headers=headers)


# -- our database ----------------------------------------------------------------------------


async def add(runtime: Runtime, *rows: Any) -> None:
    async with runtime.database.transaction() as session:
        session.add_all(rows)


async def consultation(runtime: Runtime, *, conversation_id: int) -> Consultation | None:
    async with runtime.database.transaction() as session:
        row: Consultation | None = await session.scalar(
            select(Consultation).where(Consultation.chatwoot_conversation_id == conversation_id)
        )
        return row


async def consultations(runtime: Runtime) -> list[Consultation]:
    async with runtime.database.transaction() as session:
        return list(await session.scalars(select(Consultation).order_by(Consultation.cons_id)))


async def webhook_log(runtime: Runtime) -> list[WebhookLog]:
    async with runtime.database.transaction() as session:
        return list(await session.scalars(select(WebhookLog).order_by(WebhookLog.id)))


async def outbox(runtime: Runtime, operation: str | None = None) -> list[OutboxTask]:
    query = select(OutboxTask).order_by(OutboxTask.id)
    if operation is not None:
        query = query.where(OutboxTask.operation == operation)
    async with runtime.database.transaction() as session:
        return list(await session.scalars(query))


async def status_history(runtime: Runtime, cons_id: str) -> list[tuple[str | None, str, str]]:
    async with runtime.database.transaction() as session:
        rows = await session.scalars(
            select(StatusChange).where(StatusChange.cons_id == cons_id).order_by(StatusChange.id)
        )
        return [(row.old_status, row.new_status, row.source) for row in rows]


async def notifications(runtime: Runtime) -> list[NotificationLog]:
    async with runtime.database.transaction() as session:
        return list(await session.scalars(select(NotificationLog).order_by(NotificationLog.id)))


async def chat(runtime: Runtime, cons_id: str) -> list[QuestionAnswer]:
    async with runtime.database.transaction() as session:
        rows = await session.scalars(
            select(QuestionAnswer)
            .where(QuestionAnswer.cons_id == cons_id)
            .order_by(QuestionAnswer.chatwoot_message_id)
        )
        return list(rows)


def admin_api(chatwoot: RunningChatwoot) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=chatwoot.url, headers={"api_access_token": CHATWOOT_TOKEN}, timeout=10
    )
