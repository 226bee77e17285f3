"""The controller plumbing: Rails-style params, the three auth schemes, and error rendering.

Each route is declared with its API family. The wrapper merges query, body and path params the
way Rails does (path wins), authenticates as that family does, runs the handler, and renders
whatever the handler raised in that family's error shape (see errors.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qsl

import orjson
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from switchboard.sandbox.chatwoot.engine import Engine
from switchboard.sandbox.chatwoot.errors import (
    DEVISE_SIGN_IN,
    NOT_FOUND,
    ApiError,
    ParameterMissing,
    RecordInvalid,
    RecordNotFound,
    ServerError,
    found,
    not_authorized,
    rails_body,
    unauthorized,
)
from switchboard.sandbox.chatwoot.messages import Upload
from switchboard.sandbox.chatwoot.operations import Actor
from switchboard.sandbox.chatwoot.records import (
    AccountUser,
    AgentBot,
    Conversation,
    JsonDict,
    PlatformApp,
    User,
)
from switchboard.sandbox.chatwoot.store import Store

Family = Literal["application", "platform", "public"]
Handler = Callable[["Call"], Response]

JSON_TYPE = "application/json; charset=utf-8"
BOTS_FORBIDDEN = "Access to this endpoint is not authorized for bots"
ACCOUNT_FORBIDDEN = "You are not authorized to access this account"


def json_response(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type=JSON_TYPE)


def head_ok() -> Response:
    """Rails' `head :ok`: a 200 with no body."""
    return Response(b"", status_code=200, media_type=JSON_TYPE)


@dataclass
class Call:
    """One request as a controller sees it: params, the authenticated party, the account."""

    request: Request
    engine: Engine
    params: JsonDict
    uploads: list[Upload] = field(default_factory=list)
    user: User | None = None
    bot: AgentBot | None = None
    membership: AccountUser | None = None
    platform_app: PlatformApp | None = None
    account_id: int = 0

    @property
    def store(self) -> Store:
        return self.engine.store

    @property
    def actor(self) -> Actor:
        if self.user is not None:
            return Actor("user", self.user.id)
        if self.bot is not None:
            return Actor("bot", self.bot.id)
        return Actor.system()

    @property
    def viewer_id(self) -> int | None:
        return self.user.id if self.user else None

    @property
    def is_admin(self) -> bool:
        return self.membership is not None and self.membership.role == "administrator"

    @property
    def base_url(self) -> str:
        return str(self.request.base_url).rstrip("/")

    def int_param(self, name: str) -> int:
        """A path id; one that is not a number finds nothing, as `find` would."""
        value = self.params.get(name)
        try:
            return int(str(value))
        except ValueError:
            raise RecordNotFound(name) from None

    def conversation(self, name: str = "conversation_id") -> Conversation:
        """`conversations.find_by!(display_id: ...)`, then Pundit's `show?`."""
        conv = found(
            self.store.conversation_by_display_id(self.account_id, self.int_param(name)),
            "conversation",
        )
        if self.user is not None and not self.is_admin and not self._agent_sees(conv):
            raise not_authorized()
        return conv

    def _agent_sees(self, conv: Conversation) -> bool:
        assert self.user is not None
        inbox = self.store.inboxes.get(conv.inbox_id)
        in_inbox = inbox is not None and self.user.id in inbox.member_ids
        team = self.store.teams.get(conv.team_id)
        in_team = team is not None and self.user.id in team.member_ids
        return bool(in_inbox or in_team or conv.assignee_id == self.user.id)

    def require(self, name: str) -> JsonDict:
        """`params.require(name)` with Rails' JSON param wrapping: top-level keys count too."""
        value = self.params.get(name)
        if isinstance(value, dict) and value:
            return value
        return self.params

    def require_admin(self) -> None:
        if not self.is_admin:
            raise not_authorized()


# -- params ----------------------------------------------------------------------------------

_KEY_PARTS = re.compile(r"\[([^\]]*)\]")


def _assign(params: JsonDict, key: str, value: Any) -> None:
    """Rack's nested keys: `a[]` appends, `a[b]` nests, `a[b][]` both."""
    base = key.split("[", 1)[0]
    parts = [base, *_KEY_PARTS.findall(key[len(base) :])] if base else [key]
    target: Any = params
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        following = None if last else parts[index + 1]
        if last:
            if isinstance(target, list):
                target.append(value)
            elif isinstance(target, dict):
                target[part] = value
            return
        if isinstance(target, list):
            return  # Rack's arrays of hashes are out of scope
        default: Any = [] if following == "" else {}
        if not isinstance(target.get(part), type(default)):
            target[part] = default
        target = target[part]


async def read_params(request: Request) -> tuple[JsonDict, list[Upload]]:
    params: JsonDict = {}
    for key, value in parse_qsl(request.url.query, keep_blank_values=True):
        _assign(params, key, value)
    uploads: list[Upload] = []
    content_type = request.headers.get("content-type", "")
    if "json" in content_type:
        raw = await request.body()
        if raw.strip():
            try:
                body = orjson.loads(raw)
            except orjson.JSONDecodeError:
                raise ApiError(400, rails_body(400)) from None
            if isinstance(body, dict):
                params.update(body)
    elif "form" in content_type:
        form = await request.form()
        for key, item in form.multi_items():
            if isinstance(item, UploadFile):
                uploads.append(await _upload(item))
            else:
                _assign(params, key, item)
    params.update(request.path_params)
    return params, uploads


async def _upload(file: UploadFile) -> Upload:
    data = await file.read()
    return Upload(
        filename=file.filename or "file",
        content_type=file.content_type or "application/octet-stream",
        data=data,
    )


# -- auth ------------------------------------------------------------------------------------


def _token(request: Request) -> str | None:
    """`headers[:api_access_token] || headers[:HTTP_API_ACCESS_TOKEN]`: never the query string."""
    return request.headers.get("api_access_token") or request.headers.get("api-access-token")


def _authenticate_application(call: Call, *, bots: bool) -> None:
    token = _token(call.request)
    if not token:
        raise ApiError(401, {"errors": [DEVISE_SIGN_IN]})
    store = call.store
    call.user = store.user_by_token(token)
    if call.user is None:
        call.bot = store.bot_by_token(token)
        call.platform_app = None if call.bot else store.platform_app_by_token(token)
        if call.bot is None and call.platform_app is None:
            raise unauthorized("Invalid Access Token")
        if not bots:
            raise unauthorized(BOTS_FORBIDDEN)
    call.account_id = call.int_param("account_id")
    if store.account(call.account_id) is None:
        raise RecordNotFound("account")
    if call.user is not None:
        call.membership = store.account_user(call.account_id, call.user.id)
        if call.membership is None:
            raise unauthorized(ACCOUNT_FORBIDDEN)
    elif call.bot is None or call.bot.account_id != call.account_id:
        raise unauthorized(ACCOUNT_FORBIDDEN)


def _authenticate_platform(call: Call) -> None:
    token = _token(call.request)
    call.platform_app = call.store.platform_app_by_token(token) if token else None
    if call.platform_app is None:
        raise unauthorized("Invalid access_token")


# -- routes ----------------------------------------------------------------------------------


def _render(family: Family, error: Exception) -> Response:
    if isinstance(error, ApiError):
        return json_response(error.body, error.status)
    if isinstance(error, RecordNotFound):
        body = rails_body(404) if family == "public" else {"error": NOT_FOUND}
        return json_response(body, 404)
    if isinstance(error, RecordInvalid):
        body = rails_body(422) if family == "public" else error.body()
        return json_response(body, 422)
    if isinstance(error, ParameterMissing):
        if family == "public":
            return json_response(rails_body(400), 400)
        return json_response({"error": str(error)}, 422)
    return json_response(rails_body(500), 500)


def route(
    family: Family, path: str, handler: Handler, methods: list[str], *, bots: bool = False
) -> Route:
    """A route of one API family; `bots` marks the few actions agent-bot tokens may call."""

    async def endpoint(request: Request) -> Response:
        engine: Engine = request.app.state.engine
        try:
            params, uploads = await read_params(request)
            call = Call(request, engine, params, uploads)
            if family == "application":
                _authenticate_application(call, bots=bots)
            elif family == "platform":
                _authenticate_platform(call)
            return handler(call)
        except (ApiError, RecordNotFound, RecordInvalid, ParameterMissing, ServerError) as error:
            return _render(family, error)

    return Route(path, endpoint, methods=methods, name=f"{family}:{handler.__name__}:{path}")
