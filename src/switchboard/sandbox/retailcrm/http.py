"""The controller plumbing every API method shares: parameters, the key, the rate limit, errors.

Order of checks, as a Symfony application makes them: the route first (an unknown method is a 404
whatever the key), then the API key, then the key's rate budget, then the method itself.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from switchboard.sandbox.retailcrm.errors import (
    API_KEY_MISSING,
    API_KEY_WRONG,
    RATE_LIMITED,
    TELEPHONY_DISABLED,
    ApiError,
)
from switchboard.sandbox.retailcrm.params import Params, body_params, query_params, text
from switchboard.sandbox.retailcrm.store import JsonDict, Store

if TYPE_CHECKING:
    from switchboard.sandbox.retailcrm import RetailCrmEmulator

API_PREFIX = "/api/v5"
JSON_TYPE = "application/json"

Handler = Callable[["Call"], Response]


def json_response(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type=JSON_TYPE)


def success(status: int = 200, **fields: Any) -> Response:
    return json_response({"success": True, **fields}, status)


def error_response(error: ApiError) -> Response:
    return json_response(error.body(), error.status)


@dataclass
class Call:
    """One API request as a method sees it: PHP-style parameters (the query string wins over the
    body, as Symfony's `Request::get` reads them) and the emulator it reached."""

    request: Request
    emulator: RetailCrmEmulator
    params: Params

    @property
    def store(self) -> Store:
        return self.emulator.store

    def path_param(self, name: str) -> Any:
        return self.request.path_params[name]

    def text(self, name: str) -> str | None:
        return text(self.params, name)

    def base_url(self) -> str:
        return str(self.request.base_url).rstrip("/")

    def telephony_module(self) -> JsonDict:
        """The active telephony module the request speaks for (by its `clientId` when sent);
        refused like RetailCRM refuses an account whose telephony is off."""
        module = self.store.telephony_module(self.text("clientId") or None)
        if module is None:
            raise ApiError(400, TELEPHONY_DISABLED)
        return module


def _api_key(request: Request, params: Params) -> str | None:
    header = request.headers.get("x-api-key")
    if header:
        return header
    value = params.get("apiKey")
    return value if isinstance(value, str) and value else None


def _authenticate(call: Call) -> str:
    key = _api_key(call.request, call.params)
    if key is None:
        raise ApiError(401, API_KEY_MISSING)
    if not hmac.compare_digest(key.encode(), call.emulator.api_key.encode()):
        raise ApiError(403, API_KEY_WRONG)
    return key


def api_route(path: str, handler: Handler, method: str) -> Route:
    """A method of API v5 at `/api/v5{path}`."""
    telephony = path.startswith("/telephony/")

    async def endpoint(request: Request) -> Response:
        emulator: RetailCrmEmulator = request.app.state.emulator
        body = await body_params(request) if request.method == "POST" else {}
        call = Call(request, emulator, {**body, **query_params(request)})
        try:
            key = _authenticate(call)
            if not emulator.limiter.allow(key, telephony=telephony):
                raise ApiError(503, RATE_LIMITED)
            return handler(call)
        except ApiError as error:
            return error_response(error)

    return Route(f"{API_PREFIX}{path}", endpoint, methods=[method], name=handler.__name__)
