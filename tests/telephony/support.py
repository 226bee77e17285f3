"""Helpers of the telephony tests: enterprises written straight into the database."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from switchboard.runtime import Runtime
from switchboard.telephony.gateway.cache import token_digest
from switchboard.telephony.models import CallEvent, Enterprise

TOKEN = "pbx-token-0367"


async def add_enterprise(
    runtime: Runtime,
    number: str = "0367",
    *,
    token: str = TOKEN,
    name: str = "June",
    active: bool = True,
    integrations: dict[str, Any] | None = None,
) -> None:
    async with runtime.database.transaction() as session:
        session.add(
            Enterprise(
                number=number,
                name=name,
                token_digest=token_digest(token),
                active=active,
                integrations_config=integrations or {},
            )
        )


async def stored_events(runtime: Runtime) -> list[CallEvent]:
    async with runtime.database.transaction() as session:
        return list(await session.scalars(select(CallEvent).order_by(CallEvent.id)))


def dial(unique_id: str = "1732960000.1", **fields: Any) -> dict[str, Any]:
    return {
        "Token": TOKEN,
        "UniqueId": unique_id,
        "CallType": 0,
        "Phone": "375291234567",
        "CallerIDNum": "375291234567",
        "Extensions": ["150", "151"],
        "Trunk": "0001363",
        **fields,
    }


CLIENT_USERS = {"19": "150", "18": "151", "16": "152"}


def retailcrm_config(url: str, api_key: str, **extra: Any) -> dict[str, Any]:
    """An enabled RetailCRM integration against the emulator (the key encrypted at rest)."""
    from switchboard.core.crypto import SecretBox

    return {
        "retailcrm": {
            "enabled": True,
            "domain": url,
            "api_key_encrypted": SecretBox().encrypt(api_key),
            "user_extensions": dict(CLIENT_USERS),
            **extra,
        }
    }


def register_module(emulator: Any, client_id: str = "0367") -> None:
    """The telephony module as the platform registers it (RetailCRM refuses events without)."""
    emulator.set_module(
        "switchboard-telephony",
        {
            "name": "Switchboard",
            "clientId": client_id,
            "baseUrl": "https://switchboard.test",
            "integrations": {
                "telephony": {
                    "makeCallUrl": "https://switchboard.test/retailcrm/make-call",
                    "additionalCodes": [
                        {"userId": int(user), "code": code} for user, code in CLIENT_USERS.items()
                    ],
                }
            },
        },
    )


async def settle(runtime: Runtime, timeout: float = 15.0) -> None:
    """Until every stored event is planned and no delivery is due or on the wire: runs passes of
    the delivery service beside the app's own (which may hold the planning lock meanwhile)."""
    import asyncio

    from sqlalchemy import func, or_

    from switchboard.telephony.delivery.tasks import run_once
    from switchboard.telephony.models import Delivery

    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        await run_once(runtime)
        async with runtime.database.transaction() as session:
            waiting = await session.scalar(
                select(func.count()).select_from(CallEvent).where(CallEvent.dispatched_at.is_(None))
            )
            busy = await session.scalar(
                select(func.count())
                .select_from(Delivery)
                .where(
                    Delivery.status == "pending",
                    or_(
                        Delivery.next_attempt_at <= func.now(),
                        Delivery.lease_until > func.now(),
                    ),
                )
            )
        if not waiting and not busy:
            return
        assert asyncio.get_running_loop().time() < deadline, "deliveries did not settle"
        await asyncio.sleep(0.05)
