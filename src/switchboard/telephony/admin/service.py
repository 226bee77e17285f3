"""An enterprise's settings, in the caller's transaction: tokens kept as digests, secrets
encrypted, every change announced to every process's integration cache on commit."""

from __future__ import annotations

import secrets as random_secrets
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.core.crypto import SecretBox
from switchboard.core.realtime import EventBus
from switchboard.telephony.actions.service import callback_key_digest
from switchboard.telephony.admin import repository
from switchboard.telephony.gateway.cache import token_digest
from switchboard.telephony.gateway.service import announce_change
from switchboard.telephony.models import Enterprise

RETAILCRM = "retailcrm"


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
    current.update({key: value for key, value in changes.items() if value is not None})
    if api_key:
        current["api_key_encrypted"] = box.encrypt(api_key)
    callback_key = None
    if not current.get("callback_key_digest"):
        callback_key = random_secrets.token_urlsafe(24)
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
    secret: str,
    context: str = "from-internal",
) -> None:
    row = await repository.enterprise(session, number, lock=True)
    if row is None:
        raise LookupError(number)
    row.ami = {
        "host": host,
        "port": port,
        "username": username,
        "secret_encrypted": box.encrypt(secret),
        "context": context,
    }
    await announce_change(bus, session, number)


async def set_internal_phones(
    session: AsyncSession, *, number: str, phones: Sequence[tuple[str, str | None]]
) -> None:
    await repository.replace_internal_phones(session, number, phones)
