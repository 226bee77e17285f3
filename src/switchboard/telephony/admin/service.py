"""An enterprise's settings, in the caller's transaction: tokens kept as digests, secrets
encrypted, every change announced to every process's integration cache on commit."""

from __future__ import annotations

import secrets as random_secrets
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.core.crypto import SecretBox, SecretUnreadable, mask
from switchboard.core.realtime import EventBus
from switchboard.integrations.telegram import adapter as telegram
from switchboard.integrations.telegram.client import DEFAULT_API_URL, ChatId
from switchboard.telephony.actions.service import callback_key_digest
from switchboard.telephony.admin import access, repository
from switchboard.telephony.gateway.cache import token_digest
from switchboard.telephony.gateway.service import announce_change
from switchboard.telephony.models import Enterprise

RETAILCRM = "retailcrm"
TELEGRAM = telegram.NAME
#: Shown in place of a stored secret that SECRET_KEYS no longer decrypts.
UNREADABLE = "(не читается: ключ шифрования сменился)"
DEFAULT_AMI_PORT = 5038
DEFAULT_AMI_CONTEXT = "from-internal"


class SettingMissing(ValueError):
    """A change would leave a setting without something it needs (`field` names it)."""

    def __init__(self, field: str) -> None:
        super().__init__(field)
        self.field = field


async def enterprise(session: AsyncSession, number: str) -> Enterprise | None:
    return await repository.enterprise(session, number)


def new_pbx_token() -> str:
    """A PBX token (what its dialplan sends as `Token`; only its digest is kept)."""
    return random_secrets.token_urlsafe(24)


async def set_admin_password(session: AsyncSession, *, number: str, password: str) -> None:
    """The enterprise administrator's password for the admin pages (kept as a scrypt hash)."""
    row = await repository.enterprise(session, number, lock=True)
    if row is None:
        raise LookupError(number)
    row.admin_password_hash = access.hash_password(password)


async def save_enterprise(
    session: AsyncSession,
    bus: EventBus,
    *,
    number: str,
    name: str,
    token: str | None = None,
    active: bool = True,
    time_zone: str | None = None,
) -> Enterprise:
    """Create or change an enterprise; a new `token` replaces the old one (only its digest is
    kept)."""
    row = await repository.enterprise(session, number, lock=True)
    if row is None:
        if token is None:
            raise ValueError("a new enterprise needs its PBX token")
        row = Enterprise(number=number, name=name, token_digest=token_digest(token))
        repository.add(session, row)
    row.name, row.active = name, active
    if token is not None:
        row.token_digest = token_digest(token)
    if time_zone:
        row.time_zone = time_zone
    await session.flush()
    await announce_change(bus, session, number)
    return row


async def set_retailcrm(
    session: AsyncSession,
    bus: EventBus,
    box: SecretBox,
    *,
    number: str,
    changes: Mapping[str, Any],
    api_key: str | None = None,
    replace: Sequence[str] = (),
) -> tuple[dict[str, Any], str | None]:
    """Merge `changes` into the enterprise's RetailCRM settings (never replacing the whole
    object: the extension map survives a change of domain or key). A given `api_key` is stored
    encrypted. Returns the settings and, when one was made, a new click-to-call key (shown
    once: only its digest is kept)."""
    row = await repository.enterprise(session, number, lock=True)
    if row is None:
        raise LookupError(number)
    config = dict(row.integrations_config or {})
    current = dict(config.get(RETAILCRM) or {})
    current.update(
        {key: value for key, value in changes.items() if value is not None or key in replace}
    )
    if api_key:
        current["api_key_encrypted"] = box.encrypt(api_key)
    callback_key = None
    if not current.get("callback_key_digest"):
        callback_key = new_callback_key()
        current["callback_key_digest"] = callback_key_digest(callback_key)
    config[RETAILCRM] = current
    row.integrations_config = config
    await announce_change(bus, session, number)
    return current, callback_key


async def set_ami(
    session: AsyncSession,
    bus: EventBus,
    box: SecretBox,
    *,
    number: str,
    host: str,
    port: int,
    username: str,
    secret: str | None,
    context: str = DEFAULT_AMI_CONTEXT,
) -> dict[str, Any]:
    """The PBX's AMI access for click-to-call; `secret` None keeps the stored one (encrypted
    at rest). Raises `SettingMissing("secret")` when there is none to keep."""
    row = await repository.enterprise(session, number, lock=True)
    if row is None:
        raise LookupError(number)
    encrypted = box.encrypt(secret) if secret else (row.ami or {}).get("secret_encrypted")
    if not encrypted:
        raise SettingMissing("secret")
    row.ami = {
        "host": host,
        "port": port,
        "username": username,
        "secret_encrypted": encrypted,
        "context": context,
    }
    await announce_change(bus, session, number)
    return dict(row.ami)


def _shown(box: SecretBox, encrypted: str) -> str:
    """A stored secret as people may see it: masked, or why it cannot be read."""
    if not encrypted:
        return ""
    try:
        return mask(box.decrypt(encrypted))
    except SecretUnreadable:
        return UNREADABLE


def masked_ami(ami: Mapping[str, Any], box: SecretBox) -> dict[str, Any]:
    """The AMI access as the admin page shows it: the secret masked."""
    encrypted = str(ami.get("secret_encrypted") or "")
    return {
        "host": str(ami.get("host") or ""),
        "port": int(ami.get("port") or DEFAULT_AMI_PORT),
        "username": str(ami.get("username") or ""),
        "secret": _shown(box, encrypted),
        "has_secret": bool(encrypted),
        "context": str(ami.get("context") or DEFAULT_AMI_CONTEXT),
    }


# --- call notifications in Telegram ------------------------------------------------------------


def masked_telegram(config: Mapping[str, Any], box: SecretBox) -> dict[str, Any]:
    """The Telegram settings as the admin page shows them: the bot token masked."""
    encrypted = str(config.get("bot_token_encrypted") or "")
    return {
        "enabled": bool(config.get("enabled")),
        "bot_token": _shown(box, encrypted),
        "has_bot_token": bool(encrypted),
        "chat_ids": telegram.chat_ids(config),
        "api_url": str(config.get("api_url") or DEFAULT_API_URL),
    }


async def set_telegram(
    session: AsyncSession,
    bus: EventBus,
    box: SecretBox,
    *,
    number: str,
    enabled: bool | None = None,
    chat_ids: Sequence[ChatId] | None = None,
    api_url: str | None = None,
    bot_token: str | None = None,
) -> dict[str, Any]:
    """Change the enterprise's call notifications in Telegram: a None argument keeps what is
    stored (a None `bot_token` the stored token), an empty `api_url` means Telegram's own.
    Notifications on need a token and a chat (`SettingMissing` names what lacks)."""
    row = await repository.enterprise(session, number, lock=True)
    if row is None:
        raise LookupError(number)
    current = dict((row.integrations_config or {}).get(TELEGRAM) or {})
    chats = telegram.chat_ids(current) if chat_ids is None else list(chat_ids)
    url = current.get("api_url") if api_url is None else api_url.rstrip("/")
    on = bool(current.get("enabled")) if enabled is None else enabled
    made = {**current, "enabled": on, "chat_ids": chats}
    if bot_token:
        made.update(telegram.make_config(box, bot_token=bot_token, chat_ids=chats, enabled=on))
    made.pop("api_url", None)
    if url:
        made["api_url"] = url
    if on and not made.get("bot_token_encrypted"):
        raise SettingMissing("bot_token")
    if on and not chats:
        raise SettingMissing("chat_ids")
    row.integrations_config = {**(row.integrations_config or {}), TELEGRAM: made}
    await announce_change(bus, session, number)
    return made


async def set_internal_phones(
    session: AsyncSession, *, number: str, phones: Sequence[tuple[str, str | None]]
) -> None:
    await repository.replace_internal_phones(session, number, phones)


# --- the RetailCRM account: the module, its managers and their extensions ----------------------

MODULE_CODE = "switchboard-telephony"


def masked_config(config: Mapping[str, Any], box: SecretBox) -> dict[str, Any]:
    """The settings as the admin page shows them: the API key masked, digests left out."""
    encrypted = str(config.get("api_key_encrypted") or "")
    return {
        "enabled": bool(config.get("enabled")),
        "domain": config.get("domain") or "",
        "api_key": _shown(box, encrypted),
        "has_api_key": bool(encrypted),
        "user_extensions": dict(config.get("user_extensions") or {}),
        "last_sync": config.get("last_sync"),
        "registered": bool(config.get("admin_link_jti")),
    }


def module_body(
    *,
    enterprise_number: str,
    name: str,
    public_url: str,
    callback_key: str,
    link_token: str,
    additional_codes: list[dict[str, Any]],
    active: bool = True,
) -> dict[str, Any]:
    """The integration module as RetailCRM wants it (seed 003): SVG logo, `baseUrl`, the
    `accountUrl` with the one-click token, telephony with its callbacks and codes."""
    base = public_url.rstrip("/")
    return {
        "code": MODULE_CODE,
        "integrationCode": MODULE_CODE,
        "active": active,
        "name": f"Switchboard ({name})",
        "logo": f"{base}/retailcrm-admin/static/logo.svg",
        "clientId": enterprise_number,
        "baseUrl": base,
        "accountUrl": (
            f"{base}/retailcrm-admin/?enterprise_number={enterprise_number}&token={link_token}"
        ),
        "allowEdit": False,
        "integrations": {
            "telephony": {
                "makeCallUrl": f"{base}/retailcrm/make-call/{callback_key}",
                "changeUserStatusUrl": f"{base}/retailcrm/status/{callback_key}",
                "allowEdit": False,
                "inputEventSupported": True,
                "outputEventSupported": True,
                "hangupEventSupported": True,
                "additionalCodes": additional_codes,
                "externalPhones": [],
            }
        },
    }


def additional_codes(user_extensions: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [
        {"userId": int(user), "code": str(code)}
        for user, code in sorted(user_extensions.items(), key=lambda item: int(item[0]))
        if code
    ]


def codes_of_module(module: Mapping[str, Any] | None) -> dict[str, str]:
    """`additionalCodes` of a module as RetailCRM keeps them (root or telephony): user → code."""
    if not module:
        return {}
    telephony = (module.get("integrations") or {}).get("telephony") or {}
    listed = telephony.get("additionalCodes") or module.get("additionalCodes") or []
    return {
        str(item["userId"]): str(item["code"])
        for item in listed
        if isinstance(item, Mapping) and item.get("userId") is not None and item.get("code")
    }


class ExtensionConflict(ValueError):
    """Two managers given one number, or a number the enterprise does not have."""


def checked_extensions(
    wanted: Mapping[str, str | None], internal_numbers: set[str]
) -> dict[str, str]:
    """One number per manager, every number the enterprise's own; None/"" unassigns."""
    result: dict[str, str] = {}
    owners: dict[str, str] = {}
    for user, given in wanted.items():
        if not str(user).isdigit():
            raise ExtensionConflict(f"unknown manager {user!r}")
        if not given:
            continue
        code = str(given)
        if code not in internal_numbers:
            raise ExtensionConflict(f"the enterprise has no internal number {code}")
        if code in owners:
            raise ExtensionConflict(f"number {code} is given to managers {owners[code]} and {user}")
        owners[code] = str(user)
        result[str(user)] = code
    return result


def new_callback_key() -> str:
    """The secret part of a makeCallUrl (only its digest is kept)."""
    return random_secrets.token_urlsafe(24)


async def revoke_retailcrm(session: AsyncSession, bus: EventBus, *, number: str) -> None:
    """The integration off: its one-click link and click-to-call key no longer valid; the
    connection settings and the extension map are kept for a later registration."""
    row = await repository.enterprise(session, number, lock=True)
    if row is None:
        raise LookupError(number)
    config = dict(row.integrations_config or {})
    current = dict(config.get(RETAILCRM) or {})
    current["enabled"] = False
    current.pop("admin_link_jti", None)
    current.pop("callback_key_digest", None)
    config[RETAILCRM] = current
    row.integrations_config = config
    await announce_change(bus, session, number)


async def set_integration(
    session: AsyncSession, bus: EventBus, *, number: str, name: str, config: Mapping[str, Any]
) -> None:
    """Replace one integration's settings (e.g. `telegram` from its `make_config`)."""
    row = await repository.enterprise(session, number, lock=True)
    if row is None:
        raise LookupError(number)
    row.integrations_config = {**(row.integrations_config or {}), name: dict(config)}
    await announce_change(bus, session, number)
