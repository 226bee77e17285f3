"""The demo account: reproducible, and usable by the telephony methods as seeded."""

from __future__ import annotations

import httpx

from switchboard.sandbox.retailcrm import RetailCrmEmulator
from switchboard.sandbox.retailcrm.demo import seed_demo
from switchboard.sandbox.retailcrm.store import same_phone

from .support import API, Crm, edit_module, telephony_module


def test_same_seed_same_account() -> None:
    first = seed_demo(RetailCrmEmulator(), seed=5)
    second = seed_demo(RetailCrmEmulator(), seed=5)

    assert first.summary() == {"users": 6, "customers": 30}
    strip = ("createdAt",)
    assert [{k: v for k, v in u.items() if k not in strip} for u in first.users] == [
        {k: v for k, v in u.items() if k not in strip} for u in second.users
    ]
    assert [c["phones"] for c in first.customers] == [c["phones"] for c in second.customers]


def test_demo_customers_have_active_managers(crm: Crm, http: httpx.Client) -> None:
    account = seed_demo(crm.emulator, managers=[("Анна", "Иванова", "anna@clobus.uz")] * 3)
    inactive = {user["id"] for user in account.users if not user["active"]}
    edit_module(http, telephony_module())
    customer = next(c for c in account.customers if "managerId" in c)
    national = customer["phones"][0]["number"].replace(" ", "")[-9:]  # "901234567"

    found = http.get(
        f"{API}/telephony/manager", params={"phone": national, "ignoreStatus": "1"}
    ).json()

    assert inactive == {account.users[-1]["id"]}
    assert all(c.get("managerId") not in inactive for c in account.customers)
    assert sum("managerId" not in c for c in account.customers) == 6
    assert found["manager"]["id"] == customer["managerId"]


def test_phone_matching() -> None:
    assert same_phone("+7 (916) 123-45-67", "89161234567")
    assert same_phone("+998 90 123 45 67", "901234567")
    assert not same_phone("+998 90 123 45 67", "+998 91 123 45 67")
    assert same_phone("101", "101")
    assert not same_phone("1101", "101")
    assert not same_phone("", "")
