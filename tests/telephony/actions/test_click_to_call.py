"""Click-to-call from RetailCRM through the AMI emulator, and the smart redirect."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import httpx
from sqlalchemy import select, update

from switchboard.core.crypto import SecretBox
from switchboard.runtime import Runtime
from switchboard.sandbox.asterisk import DEFAULT_SECRET, DEFAULT_USER
from switchboard.sandbox.pytest_plugin import RETAILCRM_API_KEY, RunningAmi, RunningRetailCrm
from switchboard.telephony.actions.service import callback_key_digest
from switchboard.telephony.models import Enterprise, IntegrationLog
from tests.telephony.support import TOKEN, add_enterprise, register_module, retailcrm_config

KEY = "k3y-for-the-make-call-link-0367"


async def _setup(runtime: Runtime, retailcrm: RunningRetailCrm, ami: RunningAmi | None) -> None:
    config = retailcrm_config(
        retailcrm.url, RETAILCRM_API_KEY, callback_key_digest=callback_key_digest(KEY)
    )
    await add_enterprise(runtime, integrations=config)
    if ami is not None:
        async with runtime.database.transaction() as session:
            await session.execute(
                update(Enterprise)
                .where(Enterprise.number == "0367")
                .values(
                    ami={
                        "host": ami.host,
                        "port": ami.port,
                        "username": DEFAULT_USER,
                        "secret_encrypted": SecretBox().encrypt(DEFAULT_SECRET),
                        "context": "inoffice",
                    }
                )
            )


async def _logs(runtime: Runtime) -> list[IntegrationLog]:
    async with runtime.database.transaction() as session:
        return list(await session.scalars(select(IntegrationLog).order_by(IntegrationLog.id)))


async def test_a_click_rings_the_managers_extension_then_dials_the_customer(
    runtime: Runtime,
    client: httpx.AsyncClient,
    retailcrm: RunningRetailCrm,
    asterisk_ami: RunningAmi,
) -> None:
    await _setup(runtime, retailcrm, asterisk_ami)
    answer = await client.get(
        f"/retailcrm/make-call/{KEY}",
        params={"clientId": "0367", "userId": 18, "phone": "+375 29 625-40-70"},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["extension"] == "151"  # user 18's extension
    [originate] = asterisk_ami.emulator.actions_named("Originate")
    assert originate.get("Channel") == "Local/151@inoffice"
    assert originate.get("Exten") == "375296254070"
    assert originate.get("Context") == "inoffice"
    explicit = await client.get(
        f"/retailcrm/make-call/{KEY}",
        params={"clientId": "0367", "userId": 99, "phone": "375296254070", "code": "152"},
    )
    assert explicit.status_code == 200
    assert (
        asterisk_ami.emulator.actions_named("Originate")[-1].get("Channel") == "Local/152@inoffice"
    )
    assert [log.status for log in await _logs(runtime)] == ["success", "success"]


async def test_refusals_are_clear_and_dial_nothing(
    runtime: Runtime,
    client: httpx.AsyncClient,
    retailcrm: RunningRetailCrm,
    asterisk_ami: RunningAmi,
) -> None:
    await _setup(runtime, retailcrm, asterisk_ami)
    params: dict[str, Any] = {"clientId": "0367", "userId": 999, "phone": "375296254070"}
    unmapped = await client.get(f"/retailcrm/make-call/{KEY}", params=params)
    assert unmapped.status_code == 400
    assert unmapped.json()["message"] == "Для пользователя 999 не назначен внутренний номер."
    guessed = await client.get("/retailcrm/make-call/guessed-key-000000", params=params)
    assert guessed.status_code == 401
    injected = await client.get(
        f"/retailcrm/make-call/{KEY}",
        params={"clientId": "0367", "userId": 19, "phone": "123; reboot"},
    )
    assert injected.status_code == 400
    asterisk_ami.emulator.script_outcome("Local/150@inoffice", reason=5)
    busy = await client.get(f"/retailcrm/make-call/{KEY}", params={**params, "userId": 19})
    assert busy.status_code == 409, busy.text
    assert busy.json()["error"] == "call_not_connected"
    # Only the busy attempt reached the PBX; the refused requests dialled nothing.
    assert len(asterisk_ami.emulator.actions_named("Originate")) == 1
    # The unmapped user, the bad number and the busy extension are logged (not the guess).
    assert [log.status for log in await _logs(runtime)] == ["error"] * 3


async def test_click_to_call_without_ami_access_says_so(
    runtime: Runtime, client: httpx.AsyncClient, retailcrm: RunningRetailCrm
) -> None:
    await _setup(runtime, retailcrm, None)
    answer = await client.get(
        f"/retailcrm/make-call/{KEY}",
        params={"clientId": "0367", "userId": 19, "phone": "375296254070"},
    )
    assert answer.status_code == 409
    assert answer.json()["error"] == "click_to_call_not_set_up"


async def test_smart_redirect_names_the_responsible_managers_extension(
    runtime: Runtime, client: httpx.AsyncClient, retailcrm: RunningRetailCrm
) -> None:
    await _setup(runtime, retailcrm, None)
    register_module(retailcrm.emulator)
    manager = retailcrm.emulator.add_user("Анна", "Иванова", "anna@june.test", id=19)
    retailcrm.emulator.add_customer("Пётр", phones=["+375291112233"], manager_id=manager["id"])
    found = await client.get(
        "/api/smart-redirect", params={"phone": "375291112233"}, headers={"Token": TOKEN}
    )
    assert found.status_code == 200, found.text
    assert found.json()["extension"] == "150"
    unknown = await client.get(
        "/api/smart-redirect", params={"phone": "375290000000"}, headers={"Token": TOKEN}
    )
    assert unknown.json()["extension"] is None
    refused = await client.get(
        "/api/smart-redirect", params={"phone": "375291112233"}, headers={"Token": "nope"}
    )
    assert refused.status_code == 401


async def test_a_pbx_that_drops_the_connection_is_not_dialled_again_and_again() -> None:
    """panoramisk's Manager reconnects forever on its own; click-to-call and the admin's check
    connect once, whatever the PBX does, and answer."""
    from switchboard.core.http.errors import IntegrationError
    from switchboard.integrations.asterisk import ami

    connections = 0

    async def hang_up_at_once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        writer.close()

    server = await asyncio.start_server(hang_up_at_once, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    access = ami.AmiAccess(host="127.0.0.1", port=port, username="u", secret="s")
    try:
        with contextlib.suppress(IntegrationError):
            await ami.originate(access, extension="150", phone="375291234567", wait=0.5)
        with contextlib.suppress(IntegrationError):
            await ami.check_login(access, timeout=0.5)
        await asyncio.sleep(1.0)
    finally:
        server.close()
        await server.wait_closed()
    assert connections == 2  # one each, no reconnects
