"""The emulator's HTTP face: `/bot<TOKEN>/<method>`, answered in Telegram's envelope.

Parameters come from the query string and, for POST, from a urlencoded or multipart form or a
JSON object (body values win over the query string's). An unknown token is 401 before anything
else; an unknown method or path is 404. Faults, the request journal and reset are served under
`/__sandbox__/` by the shared middleware, with Telegram-shaped error bodies.

Two controls of this emulator's own sit beside them, for a person trying the demo:
    GET  /__sandbox__/messages[?chat_id=N]   every chat with its messages and their versions
    POST /__sandbox__/user_sends             {"bot_token", "chat_id", "text", "from_user"?}:
                                             a person writes to the bot → the Update
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from switchboard.sandbox.faults import CONTROL_PREFIX, SandboxMiddleware
from switchboard.sandbox.telegram.errors import NOT_FOUND, UNAUTHORIZED, BotApiError, fault_body
from switchboard.sandbox.telegram.methods import Call, Reply, call_method
from switchboard.sandbox.telegram.params import Params

if TYPE_CHECKING:
    from switchboard.sandbox.telegram import TelegramEmulator

_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _json(payload: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(payload), status, media_type="application/json")


def _error(error: BotApiError) -> Response:
    return _json(error.body(), error.code)


def _ok(reply: Reply) -> Response:
    body: dict[str, Any] = {"ok": True, "result": reply.result}
    if reply.description:
        body["description"] = reply.description
    return _json(body)


def _fault_error_body(status: int) -> tuple[bytes, str]:
    return orjson.dumps(fault_body(status)), "application/json"


async def read_params(request: Request) -> Params:
    values: dict[str, Any] = dict(request.query_params)
    if request.method != "POST":
        return Params(values)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json":
        body = await request.body()
        if body.strip():
            try:
                parsed = orjson.loads(body)
            except orjson.JSONDecodeError:
                raise BotApiError.bad_request("can't parse JSON object") from None
            if not isinstance(parsed, dict):
                raise BotApiError.bad_request("JSON object expected")
            values.update(parsed)
    elif content_type in _FORM_TYPES:
        async with request.form() as form:
            # Files are not kept: no method here takes one yet.
            values.update(
                (key, value) for key, value in form.multi_items() if isinstance(value, str)
            )
    return Params(values)


def build_app(emulator: TelegramEmulator) -> ASGIApp:
    async def bot_api(request: Request) -> Response:
        bot = emulator.store.bot(request.path_params["token"])
        if bot is None:
            return _error(UNAUTHORIZED)
        try:
            params = await read_params(request)
            call = Call(emulator.store, bot, params, emulator.long_poll_max_timeout)
            reply = await call_method(call, request.path_params["method"])
        except BotApiError as error:
            return _error(error)
        return _ok(reply)

    async def not_found(request: Request, exc: Exception) -> Response:
        return _error(NOT_FOUND)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # Webhook deliveries run in the loop serving the app, also in a BackgroundServer thread.
        await emulator.webhooks.start()
        try:
            yield
        finally:
            await emulator.webhooks.stop()

    app = Starlette(
        routes=[Route("/bot{token}/{method}", bot_api, methods=["GET", "POST"])],
        lifespan=lifespan,
        exception_handlers={HTTPException: not_found},
    )
    wrapped = SandboxMiddleware(
        app,
        faults=emulator.faults,
        journal=emulator.journal,
        error_body=_fault_error_body,
        reset=emulator.reset,
    )

    async def with_controls(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] in (MESSAGES_PATH, USER_SENDS_PATH):
            response = await _control(emulator, Request(scope, receive))
            await response(scope, receive, send)
            return
        await wrapped(scope, receive, send)

    return with_controls


MESSAGES_PATH = f"{CONTROL_PREFIX}/messages"
USER_SENDS_PATH = f"{CONTROL_PREFIX}/user_sends"


async def _control(emulator: TelegramEmulator, request: Request) -> Response:
    if request.url.path == MESSAGES_PATH and request.method == "GET":
        wanted = request.query_params.get("chat_id")
        chats = [c for c in emulator.chats() if wanted is None or str(c["id"]) == wanted]
        if wanted is not None and not chats:
            return _json({"error": f"no chat {wanted}"}, 404)
        return _json(
            [{"chat": chat, "messages": _messages(emulator, chat["id"])} for chat in chats]
        )
    if request.url.path == USER_SENDS_PATH and request.method == "POST":
        try:
            options = orjson.loads(await request.body() or b"{}")
            update = emulator.user_sends(
                str(options["bot_token"]),
                int(options["chat_id"]),
                str(options["text"]),
                options.get("from_user"),
            )
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as error:
            return _json({"error": f"bad user_sends request: {error!r}"}, 400)
        return _json(update)
    return _json({"error": "unknown sandbox control"}, 404)


def _messages(emulator: TelegramEmulator, chat_id: int) -> list[dict[str, Any]]:
    return [
        {
            "message_id": view.message_id,
            "text": view.text,
            "deleted": view.deleted,
            "versions": [{"text": v.text, "at": v.at} for v in view.versions],
            "message": view.json,
        }
        for view in emulator.messages(chat_id, include_deleted=True)
    ]
