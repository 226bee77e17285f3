"""The wire side of RetailCRM API v5 (telephony, integration modules, users).

POST bodies are form fields whose nested values are JSON strings (`event=<json>`); the API key
goes in the `X-API-KEY` header, never in a URL (URLs end up in logs). Every answer is the
envelope `{"success": …}`: `success: false` is a refusal whatever the HTTP status, with RetailCRM's
`errorMsg` and `errors` in the message. RetailCRM answers its rate limit with 503.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import httpx
import orjson

from switchboard.core.http import HttpKit, ServiceClient
from switchboard.core.http.client import status_classifier
from switchboard.core.http.errors import IntegrationError, PeerRejected, PeerUnavailable

JsonObject = dict[str, Any]

_classify_status = status_classifier(rate_limit_statuses=(429, 503))


def classify_retailcrm(target: str, response: httpx.Response) -> IntegrationError | None:
    error = _classify_status(target, response)
    reason = _reason(response)
    if error is not None:
        if reason:
            error.message = f"{error.message}: {reason}"
        return error
    return None


def _reason(response: httpx.Response) -> str:
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return ""
    if not isinstance(body, dict):
        return ""
    reason = str(body.get("errorMsg") or "")
    errors = body.get("errors")
    if errors:
        reason = f"{reason} {orjson.dumps(errors).decode()}".strip()
    return reason[:500]


def _form(**fields: Any) -> dict[str, str]:
    return {
        name: value if isinstance(value, str) else orjson.dumps(value).decode()
        for name, value in fields.items()
        if value is not None
    }


class RetailCrmClient:
    def __init__(self, service: ServiceClient) -> None:
        self.service = service

    @classmethod
    def connect(
        cls,
        kit: HttpKit,
        *,
        target: str,
        base_url: str,
        api_key: str,
        timeout: float,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> RetailCrmClient:
        service = kit.client(
            target,
            base_url.rstrip("/") + "/api/v5/",
            headers={"X-API-KEY": api_key},
            secrets=[api_key],
            classify=classify_retailcrm,
            timeout=timeout,
            transport=transport,
        )
        return cls(service)

    async def _call(self, method: str, path: str, **kwargs: Any) -> JsonObject:
        response = await self.service.request(method, path, **kwargs)
        try:
            body = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            raise PeerUnavailable(
                self.service.target, "answered with something that is not JSON"
            ) from None
        if not isinstance(body, dict):
            raise PeerUnavailable(self.service.target, "answered with something that is no object")
        if body.get("success") is False:
            raise PeerRejected(
                self.service.target,
                f"refused: {_reason(response) or 'no reason given'}",
                status_code=response.status_code,
            )
        return body

    async def call_event(
        self, client_id: str, event: Mapping[str, Any], *, max_attempts: int
    ) -> JsonObject:
        # A pop-up shown twice is harmless; one lost is not: the call is retried as any POST
        # answered with an error that says it was not taken in.
        return await self._call(
            "POST",
            "telephony/call/event",
            data=_form(clientId=client_id, event=dict(event)),
            max_attempts=max_attempts,
        )

    async def calls_upload(
        self, client_id: str, calls: Sequence[Mapping[str, Any]], *, max_attempts: int
    ) -> JsonObject:
        # RetailCRM reports a repeated externalId as a duplicate: safe to send again.
        return await self._call(
            "POST",
            "telephony/calls/upload",
            data=_form(clientId=client_id, calls=[dict(call) for call in calls]),
            idempotent=True,
            max_attempts=max_attempts,
        )

    async def module(self, code: str) -> JsonObject | None:
        try:
            body = await self._call("GET", f"integration-modules/{code}")
        except PeerRejected as refusal:
            if refusal.status_code == 404:
                return None
            raise
        module = body.get("integrationModule")
        if isinstance(module, str):
            module = orjson.loads(module)
        return module if isinstance(module, dict) else None

    async def edit_module(self, code: str, module: Mapping[str, Any]) -> JsonObject:
        return await self._call(
            "POST",
            f"integration-modules/{code}/edit",
            data=_form(integrationModule=dict(module)),
            idempotent=True,
        )

    async def users(self, *, page: int = 1, limit: int = 100) -> JsonObject:
        return await self._call("GET", "users", params={"limit": limit, "page": page})

    async def responsible_manager(self, phone: str) -> JsonObject:
        return await self._call(
            "GET", "telephony/manager", params={"phone": phone, "details": "true"}
        )

    async def aclose(self) -> None:
        await self.service.aclose()
