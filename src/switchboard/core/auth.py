"""Front-end auth: seed 001's static secrets, OpenID bearer tokens, the Telegram Mini App.

A request passes with `X-Front-Secret: <FRONT_SECRET>`, or with `Authorization: Bearer <token>`
where the token is `FRONT_BEARER_TOKEN` (or `FRONT_SECRET` when no bearer token is set). Both are
compared in constant time. When no front credential of any kind is configured the check is off
(development only: the demo prints a warning, and production refuses to start without them).

With `OPENID_ISSUER` set, any other bearer token is checked as an OpenID token of that issuer
(1C:Фреш; `core/openid.py`), and its claims are kept on the request: `openid_claims_of(request)`.

The Telegram Mini App (the second front of seed 001) signs in with its `initData`, sent as
`X-Telegram-Init-Data: <raw query string>` or `Authorization: tma <raw query string>`, verified
as Telegram specifies for Web Apps (see `verify_init_data`). A valid one authenticates the
request like the secret does, and the Telegram user it names is kept on the request:
`telegram_user_of(request)`."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, Self
from urllib.parse import parse_qsl

from starlette.requests import HTTPConnection

from switchboard.core.errors import Forbidden, Unauthorized
from switchboard.core.http import HttpKit
from switchboard.core.openid import OpenIdVerifier, TokenRejected
from switchboard.core.settings import CoreSettings

# --- static secrets (seed 001) -------------------------------------------------------------------


def secret_matches(given: str | None, expected: str) -> bool:
    if not given or not expected:
        return False
    return secrets.compare_digest(given.encode(), expected.encode())


def bearer_token(headers: Mapping[str, str]) -> str | None:
    """The token of `Authorization: Bearer <token>`, or None."""
    scheme, _, token = (headers.get("authorization") or "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


async def require_ops_token(request: HTTPConnection) -> None:
    """FastAPI dependency of the operators' APIs: `Authorization: Bearer <OPS_TOKEN>`. Without
    OPS_TOKEN they are open only where the front end is open too (a local demo)."""
    settings: CoreSettings = request.app.state.settings
    token = settings.ops_token.get_secret_value()
    if token:
        if not secret_matches(bearer_token(request.headers), token):
            raise Unauthorized(
                "unauthorized",
                "The admin API needs Authorization: Bearer <OPS_TOKEN>.",
                headers={"WWW-Authenticate": 'Bearer realm="switchboard-admin"'},
            )
        return
    if settings.front_auth_enabled():
        raise Forbidden("admin_disabled", "The admin API is off: set OPS_TOKEN to use it.")


def front_request_allowed(settings: CoreSettings, headers: Mapping[str, str]) -> bool:
    """Whether the static front credentials let this request in (or none are configured)."""
    secret = settings.front_secret.get_secret_value()
    bearer = settings.front_bearer_token.get_secret_value() or secret
    if not secret and not bearer:
        return True
    if secret_matches(headers.get("x-front-secret"), secret):
        return True
    return secret_matches(bearer_token(headers), bearer)


# --- Telegram Mini App ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TelegramUser:
    """The Telegram user a verified Mini App `initData` names (Telegram's `WebAppUser`)."""

    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None


class InitDataInvalid(Exception):
    """`initData` that does not prove who sent it; `message` says why, for people (an English
    msgid of `core.i18n`)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code)
        self.code = code
        self.message = message


#: The key Telegram derives a Mini App's secret with: HMAC-SHA256(key="WebAppData", bot token).
_WEB_APP_DATA = b"WebAppData"
#: How far ahead of our clock an `auth_date` may be (Telegram's clock and ours differ a little).
INIT_DATA_CLOCK_SKEW_SECONDS = 60
#: `initData` is a few hundred bytes; anything far longer is not Telegram's.
INIT_DATA_MAX_LENGTH = 8192


def init_data_hash(fields: Mapping[str, str], bot_token: str) -> str:
    """Telegram's hash of a Mini App's fields: the data-check-string is every field but `hash`,
    sorted by key, as `key=value` lines joined by "\\n"; the key is HMAC-SHA256 of the bot
    token under "WebAppData"; the hash is the hex HMAC-SHA256 of the string under that key."""
    check_string = "\n".join(
        f"{key}={value}" for key, value in sorted(fields.items()) if key != "hash"
    )
    secret_key = hmac.new(_WEB_APP_DATA, bot_token.encode(), hashlib.sha256).digest()
    return hmac.new(secret_key, check_string.encode(), hashlib.sha256).hexdigest()


def verify_init_data(
    raw: str, bot_token: str, *, max_age_seconds: float, now: float
) -> TelegramUser:
    """The user of a Mini App's `initData` when Telegram signed it for this bot and it is fresh
    (`auth_date` within `max_age_seconds` of `now`, not in the future); else `InitDataInvalid`."""
    fields = _init_data_fields(raw)
    given = fields.get("hash", "")
    if not given:
        raise InitDataInvalid("telegram_init_data_unsigned", "Telegram initData carries no hash.")
    expected = init_data_hash(fields, bot_token)
    if not hmac.compare_digest(given.lower().encode(), expected.encode()):
        raise InitDataInvalid(
            "telegram_init_data_forged",
            "Telegram initData is not signed for this bot (wrong hash).",
        )
    _check_auth_date(fields.get("auth_date", ""), max_age_seconds=max_age_seconds, now=now)
    return _telegram_user(fields.get("user"))


def _init_data_fields(raw: str) -> dict[str, str]:
    if not raw or len(raw) > INIT_DATA_MAX_LENGTH:
        raise InitDataInvalid("telegram_init_data_malformed", "Telegram initData is malformed.")
    try:
        pairs = parse_qsl(raw, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        raise InitDataInvalid(
            "telegram_init_data_malformed", "Telegram initData is malformed."
        ) from None
    fields = dict(pairs)
    if len(fields) != len(pairs):
        # Telegram never repeats a field; with a repeat, which value was signed is ambiguous.
        raise InitDataInvalid("telegram_init_data_malformed", "Telegram initData is malformed.")
    return fields


def _check_auth_date(value: str, *, max_age_seconds: float, now: float) -> None:
    if not value.isdigit():
        raise InitDataInvalid(
            "telegram_init_data_malformed", "Telegram initData has no valid auth_date."
        )
    age = now - int(value)
    if age < -INIT_DATA_CLOCK_SKEW_SECONDS:
        raise InitDataInvalid(
            "telegram_init_data_future", "Telegram initData is dated in the future."
        )
    if age > max_age_seconds:
        raise InitDataInvalid(
            "telegram_init_data_expired",
            "Telegram initData has expired; reopen the Mini App.",
        )


def _telegram_user(value: str | None) -> TelegramUser:
    try:
        user = json.loads(value) if value else None
    except ValueError:
        user = None
    if not isinstance(user, dict):
        raise InitDataInvalid("telegram_init_data_no_user", "Telegram initData names no user.")
    user_id, first_name = user.get("id"), user.get("first_name")
    if isinstance(user_id, bool) or not isinstance(user_id, int) or not isinstance(first_name, str):
        raise InitDataInvalid("telegram_init_data_no_user", "Telegram initData names no user.")
    return TelegramUser(
        id=user_id,
        first_name=first_name,
        last_name=_optional_text(user.get("last_name")),
        username=_optional_text(user.get("username")),
        language_code=_optional_text(user.get("language_code")),
    )


def _optional_text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def remember_telegram_user(connection: HTTPConnection, user: TelegramUser) -> None:
    connection.state.telegram_user = user


def telegram_user_of(connection: HTTPConnection) -> TelegramUser | None:
    """The Telegram user who signed this request in through the Mini App, or None (a request of
    the website, or one let in by the static secret alone)."""
    user = getattr(connection.state, "telegram_user", None)
    return user if isinstance(user, TelegramUser) else None


def openid_claims_of(connection: HTTPConnection) -> Mapping[str, Any] | None:
    """The claims of the OpenID token that signed this request in (`sub`, `aud`, …), or None
    (a request let in otherwise)."""
    claims = getattr(connection.state, "openid_claims", None)
    return claims if isinstance(claims, Mapping) else None


# --- the check of every front-end request ------------------------------------------------------


class ProcessState(Protocol):
    """What `FrontAuth` needs of the process (the runtime)."""

    @property
    def settings(self) -> CoreSettings: ...

    @property
    def http(self) -> HttpKit: ...


_REALM = 'Bearer realm="switchboard"'


class FrontAuth:
    """The front-end check of one process (a runtime extension): the static secrets, the
    Telegram Mini App's `initData`, and OpenID bearer tokens when configured.

    A request that carries `initData` is judged by it (a forged or stale one is refused even
    beside a valid secret: it would name a user it cannot prove). Otherwise the static secret or
    static bearer token lets it in, and any other bearer token goes to the OpenID verifier.
    """

    def __init__(
        self,
        settings: CoreSettings,
        *,
        openid: OpenIdVerifier | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        # Compared with the raw header bytes: no header object is built on the hot path.
        secret = settings.front_secret.get_secret_value()
        self._secret = secret.encode()
        self._bearer = (settings.front_bearer_token.get_secret_value() or secret).encode()
        self._bot_token = settings.telegram_bot_token.get_secret_value()
        self._init_data_max_age = settings.telegram_init_data_max_age_seconds
        self._open = not settings.front_credentials_configured()
        self._openid = openid
        self._clock = clock

    @classmethod
    def create(cls, runtime: ProcessState) -> Self:
        settings = runtime.settings
        openid = None
        if settings.openid_issuer is not None:
            openid = OpenIdVerifier.from_settings(settings, runtime.http)
        return cls(settings, openid=openid)

    async def authenticate(self, connection: HTTPConnection) -> None:
        """Returns when the request may pass; raises `Unauthorized` (401) when not."""
        if self._open:
            return
        secret, authorization, init_data = _front_headers(connection.scope)
        if init_data is None and authorization is not None and authorization[:4].lower() == b"tma ":
            init_data = authorization[4:]
        if init_data is not None:
            user = self._telegram_user(init_data.decode("latin-1").strip())
            remember_telegram_user(connection, user)
            return
        if secret is not None and self._secret and secrets.compare_digest(secret, self._secret):
            return
        token = _bearer_of(authorization)
        if token is not None and self._bearer and secrets.compare_digest(token, self._bearer):
            return
        if token is None or self._openid is None:
            raise _unauthorized(
                "unauthorized",
                "Authentication required: send X-Front-Secret or Authorization: Bearer.",
            )
        try:
            claims = await self._openid.verify(token.decode("latin-1"))
            connection.state.openid_claims = claims
        except TokenRejected as rejected:
            raise _unauthorized(
                rejected.code, rejected.message, invalid=True, **rejected.params
            ) from None

    def _telegram_user(self, init_data: str) -> TelegramUser:
        if not self._bot_token:
            raise _unauthorized(
                "telegram_not_configured",
                "Telegram Mini App sign-in is not configured on this server.",
            )
        try:
            return verify_init_data(
                init_data,
                self._bot_token,
                max_age_seconds=self._init_data_max_age,
                now=self._clock(),
            )
        except InitDataInvalid as invalid:
            raise _unauthorized(invalid.code, invalid.message) from None


def _front_headers(scope: Mapping[str, Any]) -> tuple[bytes | None, bytes | None, bytes | None]:
    """`X-Front-Secret`, `Authorization` and `X-Telegram-Init-Data` of a request, in one pass
    over its raw headers (ASGI gives their names in lower case)."""
    secret = authorization = init_data = None
    for name, value in scope["headers"]:
        if name == b"x-front-secret":
            secret = value
        elif name == b"authorization":
            authorization = value
        elif name == b"x-telegram-init-data":
            init_data = value
    return secret, authorization, init_data


def _bearer_of(authorization: bytes | None) -> bytes | None:
    if authorization is None:
        return None
    scheme, _, token = authorization.partition(b" ")
    return (token.strip() or None) if scheme.lower() == b"bearer" else None


def _unauthorized(
    code: str, message: str, *, invalid: bool = False, **params: object
) -> Unauthorized:
    # RFC 6750: a token that was presented but is not good says error="invalid_token".
    challenge = f'{_REALM}, error="invalid_token"' if invalid else _REALM
    error = Unauthorized(code, message, headers={"WWW-Authenticate": challenge})
    error.params = params
    return error
