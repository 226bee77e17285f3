"""RetailCRM calling the integrator: click-to-call (`makeCallUrl`) and user status changes
(`changeUserStatusUrl`), both HTTP GET with query parameters (PROTOCOLS.md 3.5).

    makeCallUrl?clientId=<module clientId>&code=<extension>&phone=<to dial>&userId=<id>
               [&externalPhone=<the line to call from>]
    changeUserStatusUrl?clientId=...&userId=...&code=...&status=free|busy|dinner|break

In the CRM a person clicks a phone number or switches their status; in the sandbox a test or a
person poking the demo asks for it:

    POST /__sandbox__/make-call     {"userId": 1, "phone": "+79161234567", "code"?: "101",
                                     "externalPhone"?: "...", "site"?: "...", "module"?: "..."}
    POST /__sandbox__/user-status   {"userId": 1, "status": "break", "module"?: "..."}
    GET  /__sandbox__/callbacks     every request sent so far

Each answers what the integrator answered (`status`, `body`), or 502 with `error` when it could
not be reached. `code` defaults to the user's code in the module's `additionalCodes`, and
`externalPhone` to the module's external phone for `site` (none when no site is named).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from switchboard.sandbox.faults import CONTROL_PREFIX
from switchboard.sandbox.retailcrm.store import (
    JsonDict,
    SentCallback,
    Store,
    additional_codes,
    external_phone_for,
    now,
    telephony_enabled,
    telephony_of,
)
from switchboard.sandbox.retailcrm.validation import USER_STATUSES

MAKE_CALL_PATH = f"{CONTROL_PREFIX}/make-call"
USER_STATUS_PATH = f"{CONTROL_PREFIX}/user-status"
CALLBACKS_PATH = f"{CONTROL_PREFIX}/callbacks"
MAKE_CALL = "makeCall"
CHANGE_USER_STATUS = "changeUserStatus"


class CallbackRefused(Exception):
    """The sandbox cannot act as asked (no module, unknown user, ...): nothing was sent."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Outgoing:
    """A callback ready to send."""

    kind: str
    url: str
    query: dict[str, str]


def _module(store: Store, module_code: str | None) -> JsonDict:
    if module_code is None:
        module = store.telephony_module()
    else:
        module = store.module(module_code)
        module = module if module is not None and telephony_enabled(module) else None
    if module is None:
        raise CallbackRefused(409, "no active integration module with telephony")
    return module


def _callback_url(module: JsonDict, name: str) -> str | None:
    url = (telephony_of(module) or {}).get(name)
    return url if isinstance(url, str) and url else None


def prepare_make_call(
    store: Store,
    user_id: int,
    phone: str,
    *,
    code: str | None = None,
    external_phone: str | None = None,
    site: str | None = None,
    module_code: str | None = None,
) -> Outgoing:
    module = _module(store, module_code)
    url = _callback_url(module, "makeCallUrl")
    if url is None:
        raise CallbackRefused(409, f"module {module['code']!r} has no makeCallUrl")
    if store.user_record(user_id) is None:
        raise CallbackRefused(404, f"no user {user_id}")
    code = code or additional_codes(module).get(user_id)
    external_phone = external_phone or (external_phone_for(module, site) if site else None)
    query = {"clientId": str(module.get("clientId", "")), "phone": phone, "userId": str(user_id)}
    if code:
        query["code"] = code
    if external_phone:
        query["externalPhone"] = external_phone
    return Outgoing(MAKE_CALL, url, query)


def prepare_user_status(
    store: Store, user_id: int, status: str, *, module_code: str | None = None
) -> Outgoing | None:
    """Sets the user's status; the callback to send, or None when no module asks to be told."""
    if status not in USER_STATUSES:
        raise CallbackRefused(400, f"status must be one of {', '.join(USER_STATUSES)}")
    if not store.set_user_status(user_id, status):
        raise CallbackRefused(404, f"no user {user_id}")
    try:
        module = _module(store, module_code)
    except CallbackRefused:
        return None
    url = _callback_url(module, "changeUserStatusUrl")
    if url is None:
        return None
    query = {"clientId": str(module.get("clientId", "")), "userId": str(user_id)}
    code = additional_codes(module).get(user_id)
    if code:
        query["code"] = code
    query["status"] = status
    return Outgoing(CHANGE_USER_STATUS, url, query)


def _record(
    store: Store, outgoing: Outgoing, response: httpx.Response | None, error: str | None
) -> SentCallback:
    sent = SentCallback(
        kind=outgoing.kind,
        url=outgoing.url,
        query=dict(outgoing.query),
        status=response.status_code if response is not None else None,
        body=response.text if response is not None else "",
        error=error,
        sent_at=now(),
    )
    store.record_callback(sent)
    return sent


async def send(store: Store, outgoing: Outgoing, *, timeout: float) -> SentCallback:
    try:
        async with httpx.AsyncClient(timeout=timeout) as client:
            response = await client.get(outgoing.url, params=outgoing.query)
    except httpx.HTTPError as error:
        return _record(store, outgoing, None, f"{type(error).__name__}: {error}")
    return _record(store, outgoing, response, None)


def send_blocking(store: Store, outgoing: Outgoing, *, timeout: float) -> SentCallback:
    """`send` for code outside an event loop (tests' own thread, scripts)."""
    try:
        with httpx.Client(timeout=timeout) as client:
            response = client.get(outgoing.url, params=outgoing.query)
    except httpx.HTTPError as error:
        return _record(store, outgoing, None, f"{type(error).__name__}: {error}")
    return _record(store, outgoing, response, None)


# -- the sandbox controls ---------------------------------------------------------------------


class CallbackControls:
    """Serves the callback controls in front of the sandbox middleware, which answers 404 to any
    other `/__sandbox__/` path it does not know."""

    def __init__(self, app: ASGIApp, store: Store, *, timeout: float) -> None:
        self.app = app
        self.store = store
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send_message: Send) -> None:
        path = scope.get("path", "").rstrip("/")
        if scope["type"] != "http" or path not in (
            MAKE_CALL_PATH,
            USER_STATUS_PATH,
            CALLBACKS_PATH,
        ):
            await self.app(scope, receive, send_message)
            return
        status, payload = await self._answer(path, scope["method"], receive)
        await send_message(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send_message({"type": "http.response.body", "body": orjson.dumps(payload)})

    async def _answer(self, path: str, method: str, receive: Receive) -> tuple[int, Any]:
        if path == CALLBACKS_PATH:
            if method != "GET":
                return 405, {"error": "use GET"}
            return 200, [callback.as_json() for callback in self.store.callbacks()]
        if method != "POST":
            return 405, {"error": "use POST with a JSON body"}
        try:
            options = orjson.loads(await _read_body(receive) or b"{}")
            outgoing = self._prepare(path, options)
        except orjson.JSONDecodeError:
            return 400, {"error": "the body is not JSON"}
        except (KeyError, TypeError, ValueError) as error:
            return 400, {"error": f"bad request: {error!r}"}
        except CallbackRefused as refused:
            return refused.status, {"error": str(refused)}
        if outgoing is None:
            return 200, {"sent": False, "reason": "no module has a changeUserStatusUrl"}
        sent = await send(self.store, outgoing, timeout=self.timeout)
        return (502 if sent.error else 200), {"sent": True, **sent.as_json()}

    def _prepare(self, path: str, options: Any) -> Outgoing | None:
        if not isinstance(options, dict):
            raise TypeError("the body must be a JSON object")
        module_code = options.get("module")
        if path == MAKE_CALL_PATH:
            return prepare_make_call(
                self.store,
                int(options["userId"]),
                str(options["phone"]),
                code=_optional_text(options.get("code")),
                external_phone=_optional_text(options.get("externalPhone")),
                site=_optional_text(options.get("site")),
                module_code=module_code,
            )
        return prepare_user_status(
            self.store, int(options["userId"]), str(options["status"]), module_code=module_code
        )


def _optional_text(value: object) -> str | None:
    return None if value is None or value == "" else str(value)


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    return b"".join(chunks)
