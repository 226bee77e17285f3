"""The RetailCRM admin of an enterprise (seed 003): pages in Russian and the JSON API behind
them, under `/retailcrm-admin/`. Only the enterprise's administrator (password) or a RetailCRM
user arriving by the module's one-click link gets in (see `access.py`)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, ValidationError

from switchboard.core.crypto import SecretBox, SecretUnreadable
from switchboard.core.errors import (
    ApiError,
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    Unauthorized,
    Unprocessable,
    error_responses,
    excerpt,
)
from switchboard.core.http.errors import IntegrationError, PeerTimeout
from switchboard.integrations.asterisk import ami
from switchboard.integrations.asterisk.ami import TARGET as AMI
from switchboard.integrations.retailcrm.adapter import RetailCrm
from switchboard.integrations.telegram.adapter import TelegramNotifier
from switchboard.runtime import Runtime, runtime_of
from switchboard.telephony.actions.service import ami_access, callback_key_digest
from switchboard.telephony.admin import access, repository, service
from switchboard.telephony.admin.schemas import (
    AmiChange,
    AmiView,
    ConfigChange,
    ConfigView,
    Extensions,
    InternalPhone,
    LogEntry,
    Manager,
    ManagersView,
    Outcome,
    TelegramChange,
    TelegramView,
)
from switchboard.telephony.delivery.tasks import Crms
from switchboard.telephony.models import Enterprise

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
PREFIX = "/retailcrm-admin"

pages = APIRouter(prefix=PREFIX, include_in_schema=False)
api = APIRouter(
    prefix=f"{PREFIX}/api",
    tags=["telephony: RetailCRM admin"],
    responses=error_responses(400, 401, 403, 404, 422),
)

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")
#: How long «Проверить бота» waits for Telegram (the client's own retries included).
TELEGRAM_TEST_SECONDS = 8.0


def _box(runtime: Runtime) -> SecretBox:
    return SecretBox(runtime.settings.secret_keys.get_secret_value())


def _session(request: Request) -> access.AdminSession | None:
    return access.read_session(
        _box(runtime_of(request)), request.cookies.get(access.SESSION_COOKIE)
    )


def _require(request: Request, enterprise_number: str, *, change: bool) -> access.AdminSession:
    session = _session(request)
    if session is None:
        raise Unauthorized("login_required", "Sign in to the admin page first.")
    if session.enterprise_number != enterprise_number:
        raise Forbidden("other_enterprise", "This session is for another enterprise.")
    if change:
        given = request.headers.get("x-csrf-token") or request.query_params.get("csrf_token")
        if given != session.csrf:
            raise Forbidden("csrf", "The page is out of date; reload it and try again.")
    return session


async def _reader(request: Request, enterprise_number: str) -> access.AdminSession:
    return _require(request, enterprise_number, change=False)


async def _changer(request: Request, enterprise_number: str) -> access.AdminSession:
    return _require(request, enterprise_number, change=True)


Reader = Annotated[access.AdminSession, Depends(_reader)]
Changer = Annotated[access.AdminSession, Depends(_changer)]


async def _body(request: Request, model: type[M]) -> M:
    """The body as JSON or as form fields (the page sends either)."""
    content_type = request.headers.get("content-type", "")
    try:
        if "application/json" in content_type:
            data: Any = await request.json()
        else:
            data = {key: value for key, value in (await request.form()).items()}
    except ValueError:
        raise BadRequest("bad_body", "The body is neither JSON nor form fields.") from None
    if not isinstance(data, dict):
        raise Unprocessable("bad_body", "The body must be an object.")
    try:
        return model.model_validate(data)
    except ValidationError as error:
        field = ".".join(str(part) for part in error.errors()[0]["loc"]) or "body"
        raise Unprocessable("invalid_field", "Field {field} is invalid.", field=field) from None


async def _enterprise_config(runtime: Runtime, number: str) -> tuple[Any, dict[str, Any]]:
    async with runtime.database.transaction() as session:
        row = await repository.enterprise(session, number)
    if row is None:
        raise NotFound("enterprise_not_found", "Enterprise not found.")
    return row, dict((row.integrations_config or {}).get(service.RETAILCRM) or {})


def _crm(runtime: Runtime) -> RetailCrm:
    crm = runtime.extension(Crms).adapters.get(service.RETAILCRM)
    assert isinstance(crm, RetailCrm)
    return crm


def _public_url(request: Request) -> str:
    # PUBLIC_URL: how RetailCRM and its users reach us (baseUrl, accountUrl, makeCallUrl).
    configured = runtime_of(request).settings.public_url
    return str(configured).rstrip("/") if configured else str(request.base_url).rstrip("/")


async def _logged(runtime: Runtime, number: str, event: str, outcome: Outcome) -> Outcome:
    async with runtime.database.transaction() as session:
        repository.log(
            session,
            enterprise_number=number,
            integration_type=service.RETAILCRM,
            event_type=event,
            request_data=None,
            response_data=outcome.details or None,
            status="success" if outcome.success else "error",
            error_message=None if outcome.success else outcome.message,
        )
    return outcome


# --- the JSON API ------------------------------------------------------------------------------


@api.get("/config/{enterprise_number}", response_model=ConfigView, summary="The settings")
async def get_config(request: Request, enterprise_number: str, who: Reader) -> ConfigView:
    _, config = await _enterprise_config(runtime_of(request), enterprise_number)
    return ConfigView(**service.masked_config(config, _box(runtime_of(request))))


@api.put(
    "/config/{enterprise_number}",
    response_model=ConfigView,
    summary="Change the connection (JSON or form fields; the extension map is kept)",
)
async def put_config(request: Request, enterprise_number: str, who: Changer) -> ConfigView:
    runtime = runtime_of(request)
    change = await _body(request, ConfigChange)
    await _enterprise_config(runtime, enterprise_number)
    box = _box(runtime)
    async with runtime.database.transaction() as session:
        config, _ = await service.set_retailcrm(
            session,
            runtime.bus,
            box,
            number=enterprise_number,
            changes={
                "domain": str(change.domain).rstrip("/") if change.domain else None,
                "enabled": change.enabled,
            },
            api_key=change.api_key,
        )
    return ConfigView(**service.masked_config(config, box))


@api.post("/test/{enterprise_number}", response_model=Outcome, summary="Test the connection")
async def test_connection(request: Request, enterprise_number: str, who: Changer) -> Outcome:
    runtime = runtime_of(request)
    _, config = await _enterprise_config(runtime, enterprise_number)
    try:
        answer = await _crm(runtime).account(enterprise_number, config).users(limit=20)
    except IntegrationError as error:
        outcome = Outcome(success=False, message=f"RetailCRM не ответил: {error}")
    else:
        total = (answer.get("pagination") or {}).get("totalCount")
        outcome = Outcome(success=True, message=f"Подключение работает; пользователей: {total}")
    return await _logged(runtime, enterprise_number, "test_connection", outcome)


@api.post(
    "/register/{enterprise_number}",
    response_model=Outcome,
    summary="Register the telephony module in RetailCRM (a new one-click link and key)",
)
async def register(request: Request, enterprise_number: str, who: Changer) -> Outcome:
    runtime = runtime_of(request)
    row, config = await _enterprise_config(runtime, enterprise_number)
    box = _box(runtime)
    link, jti = access.issue_link_token(box, enterprise_number)
    callback_key = service.new_callback_key()
    body = service.module_body(
        enterprise_number=enterprise_number,
        name=row.name,
        public_url=_public_url(request),
        callback_key=callback_key,
        link_token=link,
        additional_codes=service.additional_codes(config.get("user_extensions") or {}),
    )
    try:
        await (
            _crm(runtime).account(enterprise_number, config).edit_module(service.MODULE_CODE, body)
        )
    except IntegrationError as error:
        return await _logged(
            runtime,
            enterprise_number,
            "register_module",
            Outcome(success=False, message=f"RetailCRM отказал: {error}"),
        )
    async with runtime.database.transaction() as session:
        await service.set_retailcrm(
            session,
            runtime.bus,
            box,
            number=enterprise_number,
            changes={
                "enabled": True,
                "admin_link_jti": jti,
                "callback_key_digest": callback_key_digest(callback_key),
            },
        )
    return await _logged(
        runtime,
        enterprise_number,
        "register_module",
        Outcome(success=True, message="Модуль зарегистрирован в RetailCRM"),
    )


@api.delete(
    "/config/{enterprise_number}",
    response_model=Outcome,
    summary="Delete the integration (the module deactivated, links and keys revoked)",
)
async def delete_integration(request: Request, enterprise_number: str, who: Changer) -> Outcome:
    runtime = runtime_of(request)
    _, config = await _enterprise_config(runtime, enterprise_number)
    message = "Интеграция удалена"
    if config.get("domain") and config.get("api_key_encrypted"):
        try:
            client = _crm(runtime).account(enterprise_number, config)
            module = await client.module(service.MODULE_CODE)
            if module is not None:
                await client.edit_module(service.MODULE_CODE, {**module, "active": False})
        except IntegrationError as error:
            message = f"Интеграция удалена; RetailCRM не ответил ({error}), модуль там активен"
    async with runtime.database.transaction() as session:
        await service.revoke_retailcrm(session, runtime.bus, number=enterprise_number)
    return await _logged(
        runtime, enterprise_number, "delete_module", Outcome(success=True, message=message)
    )


@api.get(
    "/internal-phones/{enterprise_number}",
    response_model=list[InternalPhone],
    summary="The enterprise's internal numbers, with whom each is given to",
)
async def internal_phones(
    request: Request, enterprise_number: str, who: Reader
) -> list[InternalPhone]:
    runtime = runtime_of(request)
    _, config = await _enterprise_config(runtime, enterprise_number)
    owners = {code: user for user, code in (config.get("user_extensions") or {}).items() if code}
    async with runtime.database.transaction() as session:
        phones = await repository.internal_phones(session, enterprise_number)
    return [
        InternalPhone(
            number=phone.phone_number,
            user_name=phone.user_name,
            assigned_to=owners.get(phone.phone_number),
            label=f"{phone.phone_number} ({phone.user_name or 'свободен'})",
        )
        for phone in phones
    ]


@api.get(
    "/user-extensions/{enterprise_number}",
    response_model=Extensions,
    summary="RetailCRM user → internal number, as stored here",
)
async def user_extensions(request: Request, enterprise_number: str, who: Reader) -> Extensions:
    _, config = await _enterprise_config(runtime_of(request), enterprise_number)
    return Extensions(user_extensions=dict(config.get("user_extensions") or {}))


@api.get(
    "/managers/{enterprise_number}",
    response_model=ManagersView,
    summary="The managers of RetailCRM with their numbers (ours win; RetailCRM is corrected)",
)
async def managers(request: Request, enterprise_number: str, who: Reader) -> ManagersView:
    runtime = runtime_of(request)
    _, config = await _enterprise_config(runtime, enterprise_number)
    client = _crm(runtime).account(enterprise_number, config)
    try:
        users = await _all_users(client)
        module = await client.module(service.MODULE_CODE)
    except IntegrationError as error:
        raise _unavailable(error) from None
    theirs = service.codes_of_module(module)
    ours = {k: v for k, v in (config.get("user_extensions") or {}).items() if v}
    imported = False
    if not ours and theirs:  # the first load takes over what RetailCRM had
        ours, imported = dict(theirs), True
        await _save_extensions(runtime, enterprise_number, ours)
    corrected = {
        user: ours.get(user)
        for user in set(ours) | set(theirs)
        if ours.get(user) != theirs.get(user)
    }
    if corrected and module is not None and not imported:
        await _push_codes(runtime, enterprise_number, config, ours)
    return ManagersView(
        managers=[
            Manager(
                id=int(user["id"]),
                name=" ".join(filter(None, (user.get("firstName"), user.get("lastName"))))
                or str(user["id"]),
                email=user.get("email"),
                active=bool(user.get("active", True)),
                status=user.get("status"),
                extension=ours.get(str(user["id"])),
            )
            for user in users
        ],
        corrected=corrected if module is not None and not imported else {},
        imported=imported,
    )


@api.post(
    "/save-extensions/{enterprise_number}",
    response_model=Extensions,
    responses=error_responses(409, 503),
    summary="Give managers their numbers (here and in RetailCRM's additionalCodes)",
)
async def save_extensions(request: Request, enterprise_number: str, who: Changer) -> Extensions:
    runtime = runtime_of(request)
    wanted = await _body(request, Extensions)
    _, config = await _enterprise_config(runtime, enterprise_number)
    async with runtime.database.transaction() as session:
        numbers = {
            p.phone_number for p in await repository.internal_phones(session, enterprise_number)
        }
    try:
        checked = service.checked_extensions(wanted.user_extensions, numbers)
    except service.ExtensionConflict as conflict:
        raise Conflict("extension_conflict", "{reason}.", reason=str(conflict)) from None
    await _save_extensions(runtime, enterprise_number, checked)
    await _push_codes(runtime, enterprise_number, config, checked)
    return Extensions(user_extensions=dict(checked))


@api.post(
    "/sync-extensions/{enterprise_number}",
    response_model=Outcome,
    summary="Make RetailCRM's additionalCodes match ours",
)
async def sync_extensions(request: Request, enterprise_number: str, who: Changer) -> Outcome:
    runtime = runtime_of(request)
    _, config = await _enterprise_config(runtime, enterprise_number)
    ours = {k: v for k, v in (config.get("user_extensions") or {}).items() if v}
    await _push_codes(runtime, enterprise_number, config, ours)
    return Outcome(success=True, message="Номера в RetailCRM совпадают с нашими", details=ours)


@api.get(
    "/logs/{enterprise_number}",
    response_model=list[LogEntry],
    summary="Recent calls to RetailCRM and admin actions, newest first",
)
async def logs(
    request: Request,
    enterprise_number: str,
    who: Reader,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[LogEntry]:
    async with runtime_of(request).database.transaction() as session:
        rows = await repository.recent_logs(session, enterprise_number, limit=limit)
    return [LogEntry.model_validate(row, from_attributes=True) for row in rows]


async def _all_users(client: Any) -> list[dict[str, Any]]:
    users: list[dict[str, Any]] = []
    page = 1
    while True:
        answer = await client.users(page=page, limit=100)
        users += [u for u in answer.get("users") or [] if isinstance(u, dict)]
        total = int((answer.get("pagination") or {}).get("totalPageCount") or 1)
        if page >= total or page >= 50:
            return users
        page += 1


async def _save_extensions(runtime: Runtime, number: str, extensions: dict[str, str]) -> None:
    async with runtime.database.transaction() as session:
        await service.set_retailcrm(
            session,
            runtime.bus,
            _box(runtime),
            number=number,
            changes={"user_extensions": extensions, "last_sync": datetime.now(UTC).isoformat()},
            replace=("user_extensions",),
        )


async def _push_codes(
    runtime: Runtime, number: str, config: dict[str, Any], extensions: dict[str, str]
) -> None:
    client = _crm(runtime).account(number, config)
    try:
        module = await client.module(service.MODULE_CODE)
        if module is None:
            return  # not registered yet: registering sends them
        telephony = dict((module.get("integrations") or {}).get("telephony") or {})
        telephony["additionalCodes"] = service.additional_codes(extensions)
        body = {
            **module,
            "integrations": {**(module.get("integrations") or {}), "telephony": telephony},
        }
        await client.edit_module(service.MODULE_CODE, body)
    except IntegrationError as error:
        raise _unavailable(error) from None


class _Unavailable(ApiError):
    status_code = 503


def _unavailable(error: IntegrationError) -> ApiError:
    return _Unavailable(
        "retailcrm_unavailable", "RetailCRM did not answer: {reason}", reason=str(error)
    )


# --- call notifications in Telegram and the PBX's AMI ------------------------------------------

_TESTS = error_responses(409, 502, 503)


class _Refused(ApiError):
    status_code = 502


class _Unreachable(ApiError):
    status_code = 503


def _body_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The OpenAPI request body of an endpoint that reads it with `_body` (JSON or form)."""
    schema = model.model_json_schema()
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": schema},
                "application/x-www-form-urlencoded": {"schema": schema},
            },
        }
    }


def _missing(missing: service.SettingMissing) -> Unprocessable:
    return Unprocessable("invalid_field", "Field {field} is invalid.", field=missing.field)


async def _enterprise(runtime: Runtime, number: str) -> Enterprise:
    async with runtime.database.transaction() as session:
        row = await service.enterprise(session, number)
    if row is None:
        raise NotFound("enterprise_not_found", "Enterprise not found.")
    return row


def _telegram_settings(row: Enterprise) -> dict[str, Any]:
    return dict((row.integrations_config or {}).get(service.TELEGRAM) or {})


#: Per checked system: its (code, message) when it cannot be reached, and when it refuses.
_CHECK_FAILURES = {
    service.TELEGRAM: (
        ("telegram_unavailable", "Telegram cannot be reached: {reason}"),
        ("telegram_refused", "Telegram refused the bot: {reason}"),
    ),
    AMI: (
        ("ami_unavailable", "The PBX cannot be reached: {reason}"),
        ("ami_refused", "The PBX refused the login: {reason}"),
    ),
}


async def _checked(
    runtime: Runtime, number: str, integration: str, check: Awaitable[T], *, seconds: float
) -> T:
    """The answer of a «Проверить» button's `check`, its outcome in the enterprise's log
    (never a secret); a failure answers 503 (not reachable, no answer in `seconds`) or 502
    (refused), with the peer's reason."""
    failure: IntegrationError
    try:
        async with asyncio.timeout(seconds):
            result = await check
    except TimeoutError:
        failure = PeerTimeout(integration, f"no answer within {seconds:g} s")
    except IntegrationError as error:
        failure = error
    else:
        await _log_check(runtime, number, integration, None)
        return result
    await _log_check(runtime, number, integration, failure)
    (down_code, down), (refused_code, refused) = _CHECK_FAILURES[integration]
    if failure.retriable:
        raise _Unreachable(down_code, down, reason=_reason(failure))
    raise _Refused(refused_code, refused, reason=_reason(failure))


async def _log_check(
    runtime: Runtime, number: str, integration: str, failure: IntegrationError | None
) -> None:
    async with runtime.database.transaction() as session:
        repository.log(
            session,
            enterprise_number=number,
            integration_type=integration,
            event_type="test_connection",
            request_data=None,
            response_data=None,
            status="success" if failure is None else "error",
            error_message=None if failure is None else failure.message,
        )


def _reason(error: IntegrationError) -> str:
    """The peer's reason for people: without our target's name, short, printable."""
    return excerpt(error.message, 300)


@api.get(
    "/telegram/{enterprise_number}",
    response_model=TelegramView,
    summary="Call notifications in Telegram (the bot token masked)",
)
async def get_telegram(request: Request, enterprise_number: str, who: Reader) -> TelegramView:
    runtime = runtime_of(request)
    row = await _enterprise(runtime, enterprise_number)
    return TelegramView(**service.masked_telegram(_telegram_settings(row), _box(runtime)))


@api.put(
    "/telegram/{enterprise_number}",
    response_model=TelegramView,
    summary="Change call notifications in Telegram (JSON or form fields)",
    description=(
        "Missing fields stay as they are. `bot_token` replaces the stored token (kept "
        "encrypted; omitted or empty: the stored one stays). `chat_ids`: numeric chat ids or "
        "public `@names`, as a list or as text with one a line. An empty `api_url` means "
        "Telegram's own. Turning notifications on needs a token and a chat (422 naming the "
        "field). The next call of the enterprise is notified with the new settings."
    ),
    openapi_extra=_body_schema(TelegramChange),
)
async def put_telegram(request: Request, enterprise_number: str, who: Changer) -> TelegramView:
    runtime = runtime_of(request)
    change = await _body(request, TelegramChange)
    await _enterprise(runtime, enterprise_number)
    box = _box(runtime)
    try:
        async with runtime.database.transaction() as session:
            config = await service.set_telegram(
                session,
                runtime.bus,
                box,
                number=enterprise_number,
                enabled=change.enabled,
                chat_ids=change.chat_ids,
                api_url=change.api_url,
                bot_token=change.bot_token,
            )
    except service.SettingMissing as missing:
        raise _missing(missing) from None
    return TelegramView(**service.masked_telegram(config, box))


@api.post(
    "/telegram-test/{enterprise_number}",
    response_model=Outcome,
    responses=_TESTS,
    summary="Test the saved bot (Telegram's getMe): its username, or why not",
    description=(
        "Asks Telegram who the saved bot is. 409: no bot token is saved; 502: Telegram refused "
        "(a wrong or revoked token); 503: Telegram (or the `api_url`) cannot be reached."
    ),
)
async def test_telegram(request: Request, enterprise_number: str, who: Changer) -> Outcome:
    runtime = runtime_of(request)
    config = _telegram_settings(await _enterprise(runtime, enterprise_number))
    if not config.get("bot_token_encrypted"):
        raise Conflict("telegram_not_set_up", "No bot token is saved yet.")
    notifier = runtime.extension(Crms).adapters.get(service.TELEGRAM)
    assert isinstance(notifier, TelegramNotifier)
    bot = await _checked(
        runtime,
        enterprise_number,
        service.TELEGRAM,
        notifier.bot(enterprise_number, config),
        seconds=TELEGRAM_TEST_SECONDS,
    )
    username = str(bot.get("username") or "")
    return Outcome(
        success=True,
        message=f"Бот @{username} отвечает" if username else "Бот отвечает",
        details={"username": username, "id": bot.get("id")},
    )


@api.get(
    "/ami/{enterprise_number}",
    response_model=AmiView,
    summary="The PBX's AMI access for click-to-call (the secret masked)",
)
async def get_ami(request: Request, enterprise_number: str, who: Reader) -> AmiView:
    runtime = runtime_of(request)
    row = await _enterprise(runtime, enterprise_number)
    return AmiView(**service.masked_ami(row.ami or {}, _box(runtime)))


@api.put(
    "/ami/{enterprise_number}",
    response_model=AmiView,
    summary="Change the PBX's AMI access (JSON or form fields)",
    description=(
        "Missing fields stay as they are (port 5038 and context `from-internal` when never "
        "set). `secret` replaces the stored one (kept encrypted; omitted or empty: the stored "
        "one stays). Host, user and secret are needed (422 naming the field)."
    ),
    openapi_extra=_body_schema(AmiChange),
)
async def put_ami(request: Request, enterprise_number: str, who: Changer) -> AmiView:
    runtime = runtime_of(request)
    change = await _body(request, AmiChange)
    row = await _enterprise(runtime, enterprise_number)
    stored = service.masked_ami(row.ami or {}, _box(runtime))
    host = change.host or stored["host"]
    username = change.username or stored["username"]
    for field, value in (("host", host), ("username", username)):
        if not value:
            raise _missing(service.SettingMissing(field))
    box = _box(runtime)
    try:
        async with runtime.database.transaction() as session:
            ami = await service.set_ami(
                session,
                runtime.bus,
                box,
                number=enterprise_number,
                host=host,
                port=change.port or stored["port"],
                username=username,
                secret=change.secret,
                context=change.context or stored["context"],
            )
    except service.SettingMissing as missing:
        raise _missing(missing) from None
    return AmiView(**service.masked_ami(ami, box))


@api.post(
    "/ami-test/{enterprise_number}",
    response_model=Outcome,
    responses=_TESTS,
    summary="Test the saved AMI access: one login (nothing is dialled)",
    description=(
        "Logs in to the PBX's AMI with the saved access and leaves. 409: no access is saved; "
        "502: the PBX refused the login (a wrong user or secret); 503: the PBX cannot be "
        f"reached or did not answer within {ami.CHECK_SECONDS:g} s."
    ),
)
async def test_ami(request: Request, enterprise_number: str, who: Changer) -> Outcome:
    runtime = runtime_of(request)
    row = await _enterprise(runtime, enterprise_number)
    try:
        access_ = ami_access(row, _box(runtime))
    except ApiError:
        raise Conflict("ami_not_set_up", "The PBX's AMI access is not saved yet.") from None
    except SecretUnreadable:
        raise Conflict(
            "ami_secret_unreadable", "The saved AMI secret cannot be read; enter it again."
        ) from None
    version = await _checked(
        runtime,
        enterprise_number,
        AMI,
        ami.check_login(access_),
        seconds=ami.CHECK_SECONDS + 1,
    )
    return Outcome(
        success=True,
        message=f"Вход в AMI выполнен ({access_.host}:{access_.port})",
        details={"version": version},
    )


# --- the pages ---------------------------------------------------------------------------------


def _set_session(response: Response, request: Request, token: str) -> None:
    response.set_cookie(
        access.SESSION_COOKIE,
        token,
        max_age=access.SESSION_HOURS * 3600,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path=PREFIX,
    )


@pages.get("/", response_class=HTMLResponse)
async def admin_page(
    request: Request,
    enterprise_number: Annotated[str, Query(min_length=1, max_length=20)],
    token: Annotated[str | None, Query(max_length=4000)] = None,
) -> Response:
    runtime = runtime_of(request)
    box = _box(runtime)
    if token is not None:
        return await _arrive_by_link(request, runtime, box, enterprise_number, token)
    session = _session(request)
    row, config = await _enterprise_config(runtime, enterprise_number)
    if session is None or session.enterprise_number != enterprise_number:
        return templates.TemplateResponse(
            request, "login.html", {"enterprise": row, "error": None}, status_code=200
        )
    return templates.TemplateResponse(
        request,
        "admin.html",
        {
            "enterprise": row,
            "csrf": session.csrf,
            "config": service.masked_config(config, box),
            "telegram": service.masked_telegram(_telegram_settings(row), box),
            "ami": service.masked_ami(row.ami or {}, box),
        },
    )


async def _arrive_by_link(
    request: Request, runtime: Runtime, box: SecretBox, number: str, token: str
) -> Response:
    read = access.read_link_token(box, token)
    _, config = await _enterprise_config(runtime, number)
    if read is None or read[0] != number or read[1] != config.get("admin_link_jti"):
        raise Forbidden("link_invalid", "This link is no longer valid; register the module again.")
    response = RedirectResponse(f"{PREFIX}/?enterprise_number={number}", status_code=303)
    _set_session(response, request, access.open_session(box, number, "retailcrm-link"))
    return response


@pages.post("/login", response_class=HTMLResponse)
async def login(
    request: Request,
    enterprise_number: Annotated[str, Form(min_length=1, max_length=20)],
    password: Annotated[str, Form(min_length=1, max_length=200)],
) -> Response:
    runtime = runtime_of(request)
    row, _ = await _enterprise_config(runtime, enterprise_number)
    if not access.password_matches(password, row.admin_password_hash):
        return templates.TemplateResponse(
            request,
            "login.html",
            {"enterprise": row, "error": "Неверный пароль"},
            status_code=401,
        )
    response = RedirectResponse(f"{PREFIX}/?enterprise_number={enterprise_number}", status_code=303)
    _set_session(
        response, request, access.open_session(_box(runtime), enterprise_number, "password")
    )
    return response


@pages.post("/logout")
async def logout(enterprise_number: Annotated[str, Form(max_length=20)]) -> Response:
    response = RedirectResponse(f"{PREFIX}/?enterprise_number={enterprise_number}", status_code=303)
    response.delete_cookie(access.SESSION_COOKIE, path=PREFIX)
    return response


@pages.get("/logs", response_class=HTMLResponse)
async def logs_page(
    request: Request, enterprise_number: Annotated[str, Query(min_length=1, max_length=20)]
) -> Response:
    session = _session(request)
    row, _ = await _enterprise_config(runtime_of(request), enterprise_number)
    if session is None or session.enterprise_number != enterprise_number:
        return templates.TemplateResponse(request, "login.html", {"enterprise": row, "error": None})
    async with runtime_of(request).database.transaction() as db:
        rows = await repository.recent_logs(db, enterprise_number, limit=100)
    return templates.TemplateResponse(request, "logs.html", {"enterprise": row, "logs": rows})


_STATIC = {
    "admin.js": "text/javascript; charset=utf-8",
    "admin.css": "text/css; charset=utf-8",
    "logo.svg": "image/svg+xml",
}


@pages.get("/static/{name}")
async def static_file(name: str) -> Response:
    """The pages' own assets (no third-party host: the pages work offline)."""
    media_type = _STATIC.get(name)
    if media_type is None:
        raise NotFound("not_found", "Not found.")
    return Response(
        (HERE / "static" / name).read_bytes(),
        media_type=media_type,
        headers={"Cache-Control": "no-cache"},
    )
