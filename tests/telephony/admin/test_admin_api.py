"""The RetailCRM admin of an enterprise: who gets in, registering the module with its one-click
link, managers and their numbers (ours win), deleting, and the log."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx

from switchboard.runtime import Runtime
from switchboard.sandbox.pytest_plugin import RETAILCRM_API_KEY, RunningRetailCrm
from switchboard.telephony.admin.service import MODULE_CODE
from tests.telephony.admin.support import admin_enterprise, headers, signed_in
from tests.telephony.support import register_module

API = "/retailcrm-admin/api"


async def test_nobody_gets_in_without_the_password_or_the_link(
    runtime: Runtime, client: httpx.AsyncClient, retailcrm: RunningRetailCrm
) -> None:
    await admin_enterprise(runtime, retailcrm)
    assert (await client.get(f"{API}/config/0367")).status_code == 401
    page = await client.get("/retailcrm-admin/", params={"enterprise_number": "0367"})
    assert "Вход администратора" in page.text
    wrong = await client.post(
        "/retailcrm-admin/login", data={"enterprise_number": "0367", "password": "guess"}
    )
    assert wrong.status_code == 401
    csrf = await signed_in(client)
    config = (await client.get(f"{API}/config/0367")).json()
    assert config["api_key"].startswith("••••")
    assert RETAILCRM_API_KEY not in str(config)
    # A change without the page's CSRF token is refused; another enterprise is not this one's.
    assert (await client.put(f"{API}/config/0367", json={"enabled": True})).status_code == 403
    other = await client.get(f"{API}/config/0400", headers=headers(csrf))
    assert other.status_code == 403


async def test_register_sends_the_module_and_its_link_signs_in_once_rotated_and_revoked(
    runtime: Runtime, client: httpx.AsyncClient, client_factory: Any, retailcrm: RunningRetailCrm
) -> None:
    await admin_enterprise(runtime, retailcrm, extensions={"19": "150"})
    csrf = await signed_in(client)
    saved = await client.put(
        f"{API}/config/0367", json={"domain": retailcrm.url, "enabled": True}, headers=headers(csrf)
    )
    assert saved.status_code == 200
    assert saved.json()["user_extensions"] == {"19": "150"}  # a config change keeps the map
    registered = await client.post(f"{API}/register/0367", headers=headers(csrf))
    assert registered.json()["success"] is True, registered.text
    module = retailcrm.emulator.store.module(MODULE_CODE)
    assert module is not None
    assert module["logo"].endswith(".svg")
    assert module["baseUrl"]
    assert module["clientId"] == "0367"
    telephony = module["integrations"]["telephony"]
    assert telephony["additionalCodes"] == [{"userId": 19, "code": "150"}]
    assert "/retailcrm/make-call/" in telephony["makeCallUrl"]
    link = urlparse(module["accountUrl"])
    token = parse_qs(link.query)["token"][0]

    async with httpx.AsyncClient(
        transport=client._transport, base_url="http://testserver"
    ) as fresh:
        arrived = await fresh.get(link.path, params={"enterprise_number": "0367", "token": token})
        assert arrived.status_code == 303  # a session, and the token leaves the address bar
        assert (await fresh.get(f"{API}/config/0367")).status_code == 200

    again = await client.post(f"{API}/register/0367", headers=headers(csrf))
    assert again.json()["success"] is True
    async with httpx.AsyncClient(transport=client._transport, base_url="http://testserver") as late:
        stale = await late.get(link.path, params={"enterprise_number": "0367", "token": token})
        assert stale.status_code == 403  # re-registration rotated the link

    deleted = await client.delete(f"{API}/config/0367", headers=headers(csrf))
    assert deleted.json()["success"] is True
    assert retailcrm.emulator.store.module(MODULE_CODE)["active"] is False
    config = (await client.get(f"{API}/config/0367")).json()
    assert config["enabled"] is False
    assert config["registered"] is False


async def test_managers_first_load_imports_retailcrm_codes_then_ours_win(
    runtime: Runtime, client: httpx.AsyncClient, retailcrm: RunningRetailCrm
) -> None:
    await admin_enterprise(runtime, retailcrm, extensions={})
    for user_id, first in ((19, "Джулай"), (18, "Анна"), (16, "Борис")):
        retailcrm.emulator.add_user(first, "Тестов", f"{first}@june.test", id=user_id)
    register_module(retailcrm.emulator)  # RetailCRM has 19→150, 18→151, 16→152
    csrf = await signed_in(client)
    first = (await client.get(f"{API}/managers/0367")).json()
    assert first["imported"] is True
    by_id = {m["id"]: m["extension"] for m in first["managers"]}
    assert by_id[19] == "150"
    assert by_id[18] == "151"

    # Two managers on one number: refused, nothing changes.
    clash = await client.post(
        f"{API}/save-extensions/0367",
        json={"user_extensions": {"19": "151", "18": "151"}},
        headers=headers(csrf),
    )
    assert clash.status_code == 409
    unknown = await client.post(
        f"{API}/save-extensions/0367",
        json={"user_extensions": {"19": "999"}},
        headers=headers(csrf),
    )
    assert unknown.status_code == 409

    saved = await client.post(
        f"{API}/save-extensions/0367",
        data={"user_extensions": "ignored"},
        headers=headers(csrf),
    )
    assert saved.status_code == 422  # form fields must still make sense
    saved = await client.post(
        f"{API}/save-extensions/0367",
        json={"user_extensions": {"19": "153", "18": None, "16": "152"}},
        headers=headers(csrf),
    )
    assert saved.status_code == 200, saved.text
    codes = retailcrm.emulator.store.module(MODULE_CODE)["integrations"]["telephony"][
        "additionalCodes"
    ]
    assert sorted((c["userId"], c["code"]) for c in codes) == [(16, "152"), (19, "153")]

    # Someone edits RetailCRM by hand: on the next load ours win and RetailCRM is corrected.
    module: dict[str, Any] = retailcrm.emulator.store.module(MODULE_CODE)
    module["integrations"]["telephony"]["additionalCodes"] = [{"userId": 19, "code": "150"}]
    retailcrm.emulator.set_module(MODULE_CODE, module)
    loaded = (await client.get(f"{API}/managers/0367")).json()
    assert loaded["corrected"]
    codes = retailcrm.emulator.store.module(MODULE_CODE)["integrations"]["telephony"][
        "additionalCodes"
    ]
    assert sorted((c["userId"], c["code"]) for c in codes) == [(16, "152"), (19, "153")]
    phones = (await client.get(f"{API}/internal-phones/0367")).json()
    assert {p["number"]: p["assigned_to"] for p in phones}["153"] == "19"
    assert [p["label"] for p in phones][:2] == ["150 (Джулай Джуновый)", "151 (свободен)"]
    logs = (await client.get(f"{API}/logs/0367")).json()
    assert isinstance(logs, list)


def _codes(retailcrm: RunningRetailCrm) -> list[tuple[int, str]]:
    module = retailcrm.emulator.store.module(MODULE_CODE)
    assert module is not None
    codes = module["integrations"]["telephony"]["additionalCodes"]
    return sorted((code["userId"], code["code"]) for code in codes)
