"""Helpers for the RetailCRM emulator tests: the running emulator, a callback receiver, a module.

Requests are the official `retailcrm` client's (unchanged) or plain httpx written from
PROTOCOLS.md section 3, as an independent integrator would send them.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import retailcrm  # type: ignore[import-untyped]  # the official client ships no types
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from switchboard.sandbox.retailcrm import RetailCrmEmulator
from switchboard.sandbox.server import BackgroundServer

API_KEY = "crm-test-key"
CLIENT_ID = "telephony-client-1"
MODULE_CODE = "sb-telephony"
API = "/api/v5"


@dataclass
class Crm:
    emulator: RetailCrmEmulator
    server: BackgroundServer

    @property
    def url(self) -> str:
        return self.server.url

    def http(self, api_key: str | None = API_KEY) -> httpx.Client:
        """A plain client; the key in `X-API-KEY` (None: no key at all)."""
        headers = {"X-API-KEY": api_key} if api_key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=5)

    def official(self, api_key: str = API_KEY) -> Any:
        """The official RetailCRM Python client (v5), unchanged."""
        return retailcrm.v5(self.url, api_key)


def telephony_module(
    receiver_url: str = "http://integrator.test", **changes: Any
) -> dict[str, Any]:
    """A telephony integration module as an integrator registers it (PROTOCOLS.md 3.4)."""
    module: dict[str, Any] = {
        "code": MODULE_CODE,
        "integrationCode": MODULE_CODE,
        "active": True,
        "name": "Switchboard telephony",
        "logo": "https://integrator.test/static/logo.svg",
        "clientId": CLIENT_ID,
        "baseUrl": receiver_url,
        "accountUrl": f"{receiver_url}/settings",
        "integrations": {
            "telephony": {
                "makeCallUrl": f"{receiver_url}/retailcrm/make-call",
                "changeUserStatusUrl": f"{receiver_url}/retailcrm/status",
                "allowEdit": False,
                "inputEventSupported": True,
                "outputEventSupported": True,
                "hangupEventSupported": True,
                "additionalCodes": [],
                "externalPhones": [{"siteCode": "shop", "externalPhone": "+74950000000"}],
            }
        },
    }
    module.update(changes)
    return module


def edit_module(http: httpx.Client, module: dict[str, Any]) -> httpx.Response:
    return http.post(
        f"{API}/integration-modules/{module['code']}/edit",
        data={"integrationModule": orjson.dumps(module).decode()},
    )


@dataclass(frozen=True)
class Received:
    path: str
    query: dict[str, str]


class Receiver:
    """A tiny integrator: records every GET RetailCRM sends it, answers "OK" or a queued status."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: list[Received] = []
        self._statuses: list[int] = []
        self.app = Starlette(routes=[Route("/{path:path}", self._handle, methods=["GET"])])
        self.url = ""

    async def _handle(self, request: Request) -> Response:
        with self._lock:
            self._requests.append(Received(request.url.path, dict(request.query_params)))
            status = self._statuses.pop(0) if self._statuses else 200
        return PlainTextResponse("OK" if status == 200 else "refused", status_code=status)

    def answer_next(self, *statuses: int) -> None:
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
