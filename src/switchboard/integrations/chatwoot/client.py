"""The wire side of Chatwoot. This first slice knows how to reach it; the consultations flows
add contacts, conversations and messages on top of `request`."""

from __future__ import annotations

from typing import Any

import httpx
import orjson

from switchboard.core.http import HttpKit, ServiceClient
from switchboard.core.http.client import classify_status
from switchboard.core.http.errors import IntegrationError, PeerUnavailable
from switchboard.integrations.chatwoot.settings import ChatwootSettings

TARGET = "chatwoot"


def classify_chatwoot(target: str, response: httpx.Response) -> IntegrationError | None:
    error = classify_status(target, response)
    if error is not None:
        try:
            body = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            return error
        detail = body.get("error") or body.get("message") if isinstance(body, dict) else None
        if detail:
            error.message = f"{error.message}: {detail}"
    return error


class ChatwootClient:
    name = "chatwoot"

    def __init__(self, service: ServiceClient, *, account_id: int, inbox_identifier: str) -> None:
        self.service = service
        self.account_id = account_id
        self.inbox_identifier = inbox_identifier

    @classmethod
    def from_settings(
        cls,
        settings: ChatwootSettings,
        kit: HttpKit,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> ChatwootClient:
        token = settings.chatwoot_api_token.get_secret_value()
        service = kit.client(
            TARGET,
            str(settings.chatwoot_api_url),
            headers={"api_access_token": token},
            secrets=[token],
            classify=classify_chatwoot,
            transport=transport,
        )
        assert settings.chatwoot_account_id is not None
        return cls(
            service,
            account_id=settings.chatwoot_account_id,
            inbox_identifier=settings.chatwoot_inbox_identifier,
        )

    def account_path(self, path: str) -> str:
        return f"/api/v1/accounts/{self.account_id}/{path.lstrip('/')}"

    async def request(self, method: str, path: str, **kwargs: Any) -> Any:
        response = await self.service.request(method, path, **kwargs)
        if not response.content:
            return None
        try:
            return orjson.loads(response.content)
        except orjson.JSONDecodeError:
            raise PeerUnavailable(TARGET, "answered with something that is not JSON") from None

    async def ping(self) -> None:
        """An authenticated read of the account's inboxes, for health checks."""
        await self.request("GET", self.account_path("inboxes"), timeout=5.0, max_attempts=1)

    async def aclose(self) -> None:
        await self.service.aclose()
