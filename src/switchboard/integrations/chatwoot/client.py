"""The wire side of Chatwoot: one method per endpoint the adapter uses, answers as Chatwoot sends
them (JSON objects and lists), errors as `switchboard.core.http.errors`.

Two API families share one HTTP client: the Application API under
`/api/v1/accounts/{account_id}/` (authenticated by the `api_access_token` header) and the Public
API under `/public/api/v1/inboxes/{inbox_identifier}/` (no authentication; addressed by the API
inbox's identifier and a contact's `source_id`). Only calls that are safe to repeat are marked
`idempotent`, so the adapter kit retries nothing else after an answer that may have been lost.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import httpx
import orjson

from switchboard.core.http import HttpKit, ServiceClient
from switchboard.core.http.client import classify_status
from switchboard.core.http.errors import IntegrationError, PeerUnavailable
from switchboard.integrations.chatwoot.settings import ChatwootSettings

TARGET = "chatwoot"

JsonObject = dict[str, Any]


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


def payload_list(body: Any) -> list[JsonObject]:
    """The objects of a list answer, bare or wrapped (`{payload: [...]}`, `{data: {payload}}`);
    Chatwoot versions and endpoints differ in which they send."""
    if isinstance(body, dict):
        inner = body.get("payload", body.get("value", body.get("data")))
        if isinstance(inner, dict):
            inner = inner.get("payload")
        body = inner
    if not isinstance(body, list):
        raise PeerUnavailable(TARGET, "answered a list request with something that is no list")
    return [item for item in body if isinstance(item, dict)]


def json_object(body: Any, what: str) -> JsonObject:
    if not isinstance(body, dict):
        raise PeerUnavailable(TARGET, f"answered {what} with something that is no JSON object")
    return body


def _segment(value: str | int) -> str:
    """One path segment: a source_id is opaque text and may hold characters a path may not."""
    return quote(str(value), safe="")


class ChatwootClient:
    name = "chatwoot"

    def __init__(
        self,
        service: ServiceClient,
        *,
        account_id: int,
        inbox_identifier: str,
        inbox_id: int | None = None,
    ) -> None:
        self.service = service
        self.account_id = account_id
        self.inbox_identifier = inbox_identifier
        #: The API inbox's numeric id (Application API); its identifier addresses it publicly.
        self.inbox_id = inbox_id

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
            inbox_id=settings.chatwoot_inbox_id,
        )

    def account_path(self, path: str) -> str:
        return f"/api/v1/accounts/{self.account_id}/{path.lstrip('/')}"

    def public_path(self, path: str = "") -> str:
        base = f"/public/api/v1/inboxes/{_segment(self.inbox_identifier)}"
        return f"{base}/{path.lstrip('/')}" if path else base

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

    # -- Public API: contacts and conversations of the website inbox ---------------------------

    async def public_create_contact(self, body: Mapping[str, Any]) -> JsonObject:
        """ContactInboxWithContactBuilder: the contact_inbox of `body["source_id"]` when it
        exists (nothing changes), else a new one for the contact known by identifier, email or
        phone, or for a new contact. Repeatable only with a `source_id` (the caller's choice)."""
        answer = await self.request(
            "POST",
            self.public_path("contacts"),
            json=dict(body),
            idempotent=bool(body.get("source_id")),
        )
        return json_object(answer, "a contact create")

    async def public_contact(self, source_id: str) -> JsonObject:
        """The contact_inbox's contact (`id`, `pubsub_token`); 404 when the inbox has no such
        source_id."""
        answer = await self.request("GET", self.public_path(f"contacts/{_segment(source_id)}"))
        return json_object(answer, "a contact read")

    async def public_create_conversation(
        self, source_id: str, custom_attributes: Mapping[str, Any]
    ) -> JsonObject:
        """A new conversation of the contact_inbox (the Public API keeps only custom_attributes).
        Not repeatable: every call opens one more."""
        answer = await self.request(
            "POST",
            self.public_path(f"contacts/{_segment(source_id)}/conversations"),
            json={"custom_attributes": dict(custom_attributes)},
            idempotent=False,
        )
        return json_object(answer, "a conversation create")

    # -- Application API: contacts -------------------------------------------------------------

    async def filter_contacts(self, conditions: list[JsonObject]) -> list[JsonObject]:
        """Contacts::FilterService; a read, though sent as POST."""
        answer = await self.request(
            "POST",
            self.account_path("contacts/filter"),
            json={"payload": conditions},
            idempotent=True,
        )
        return payload_list(answer)

    async def update_contact(self, contact_id: int, body: Mapping[str, Any]) -> JsonObject:
        """PATCH: the given fields replaced, both attribute hashes merged into the stored ones."""
        answer = await self.request(
            "PATCH", self.account_path(f"contacts/{contact_id}"), json=dict(body), idempotent=True
        )
        return json_object(answer, "a contact update")

    async def contact_conversations(self, contact_id: int) -> list[JsonObject]:
        """The contact's 20 conversations with the latest activity (Chatwoot's fixed limit)."""
        answer = await self.request(
            "GET", self.account_path(f"contacts/{contact_id}/conversations")
        )
        return payload_list(answer)

    # -- Application API: conversations --------------------------------------------------------

    def conversation_path(self, conversation_id: int, tail: str = "") -> str:
        path = f"conversations/{conversation_id}"
        return self.account_path(f"{path}/{tail}" if tail else path)

    async def conversation(self, conversation_id: int) -> JsonObject:
        answer = await self.request("GET", self.conversation_path(conversation_id))
        return json_object(answer, "a conversation read")

    async def delete_conversation(self, conversation_id: int) -> None:
        await self.request("DELETE", self.conversation_path(conversation_id))

    async def toggle_status(self, conversation_id: int, status: str) -> JsonObject:
        """With a `status` the conversation is set to it, so sending it again changes nothing."""
        answer = await self.request(
            "POST",
            self.conversation_path(conversation_id, "toggle_status"),
            json={"status": status},
            idempotent=True,
        )
        return json_object(answer, "a status change")

    async def replace_custom_attributes(
        self, conversation_id: int, attributes: Mapping[str, Any]
    ) -> None:
        """The whole set is replaced (`custom_attributes = params[:custom_attributes]`)."""
        await self.request(
            "POST",
            self.conversation_path(conversation_id, "custom_attributes"),
            json={"custom_attributes": dict(attributes)},
            idempotent=True,
        )

    async def assign(self, conversation_id: int, body: Mapping[str, Any]) -> Any:
        """`{assignee_id}` (null unassigns) or `{team_id}`; answers the agent, the team or null."""
        return await self.request(
            "POST",
            self.conversation_path(conversation_id, "assignments"),
            json=dict(body),
            idempotent=True,
        )

    async def conversation_labels(self, conversation_id: int) -> list[str]:
        answer = await self.request("GET", self.conversation_path(conversation_id, "labels"))
        return [str(title) for title in _payload_values(answer)]

    async def replace_conversation_labels(self, conversation_id: int, labels: list[str]) -> None:
        """The list replaces the conversation's labels (`update_labels`)."""
        await self.request(
            "POST",
            self.conversation_path(conversation_id, "labels"),
            json={"labels": labels},
            idempotent=True,
        )

    async def messages(
        self, conversation_id: int, *, before: int | None = None
    ) -> list[JsonObject]:
        """The 20 messages before `before` (or the latest 20), oldest first."""
        params = {"before": before} if before is not None else None
        answer = await self.request(
            "GET", self.conversation_path(conversation_id, "messages"), params=params
        )
        return payload_list(answer)

    async def create_message(self, conversation_id: int, body: Mapping[str, Any]) -> JsonObject:
        """Not repeatable: every call posts one more message."""
        answer = await self.request(
            "POST",
            self.conversation_path(conversation_id, "messages"),
            json=dict(body),
            idempotent=False,
        )
        return json_object(answer, "a message create")

    # -- Application API: account setup --------------------------------------------------------

    async def labels(self) -> list[JsonObject]:
        return payload_list(await self.request("GET", self.account_path("labels")))

    async def create_label(self, title: str) -> JsonObject:
        """A second label with the same title is refused (422), so a repeat is harmless."""
        answer = await self.request(
            "POST", self.account_path("labels"), json={"label": {"title": title}}, idempotent=True
        )
        return json_object(answer, "a label create")

    async def teams(self) -> list[JsonObject]:
        return payload_list(await self.request("GET", self.account_path("teams")))

    async def agents(self) -> list[JsonObject]:
        return payload_list(await self.request("GET", self.account_path("agents")))

    async def create_agent(self, body: Mapping[str, Any]) -> JsonObject:
        """AgentBuilder. Not repeatable blindly: the adapter looks the email up first."""
        answer = await self.request(
            "POST", self.account_path("agents"), json={"agent": dict(body)}, idempotent=False
        )
        return json_object(answer, "an agent create")

    async def inbox_members(self, inbox_id: int) -> list[JsonObject]:
        return payload_list(
            await self.request("GET", self.account_path(f"inbox_members/{inbox_id}"))
        )

    async def add_inbox_members(self, inbox_id: int, user_ids: list[int]) -> None:
        """`POST /inbox_members`: Chatwoot 4.x adds the users not yet members; older versions
        made the list the inbox's whole membership, so callers send every member they keep."""
        await self.request(
            "POST",
            self.account_path("inbox_members"),
            json={"inbox_id": inbox_id, "user_ids": user_ids},
            idempotent=True,
        )


def _payload_values(body: Any) -> list[Any]:
    if isinstance(body, dict):
        body = body.get("payload")
    if not isinstance(body, list):
        raise PeerUnavailable(TARGET, "answered a list request with something that is no list")
    return body
