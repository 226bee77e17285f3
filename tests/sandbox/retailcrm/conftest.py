"""One RetailCRM emulator server and one integrator receiver for the session; every test starts
from an empty account, no faults, an empty journal, no rate limit and an empty receiver."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from switchboard.sandbox.retailcrm import RetailCrmEmulator
from switchboard.sandbox.server import BackgroundServer

from .support import API_KEY, Crm, Receiver, edit_module, telephony_module


@pytest.fixture(scope="session")
def crm_session() -> Iterator[Crm]:
    emulator = RetailCrmEmulator(api_key=API_KEY, callback_timeout=2)
    with BackgroundServer(emulator.app) as server:
        yield Crm(emulator, server)


@pytest.fixture(scope="session")
def receiver_session() -> Iterator[Receiver]:
    receiver = Receiver()
    with BackgroundServer(receiver.app) as server:
        receiver.url = server.url
        yield receiver


@pytest.fixture
def crm(crm_session: Crm) -> Crm:
    emulator = crm_session.emulator
    emulator.reset()
    emulator.faults.clear()
    emulator.journal.clear()
    # Off unless a test turns it on: the official client's bursts must not trip it.
    emulator.limiter.per_second = 0
    emulator.limiter.telephony_per_second = 0
    return crm_session


@pytest.fixture
def receiver(receiver_session: Receiver) -> Receiver:
    receiver_session.reset()
    return receiver_session


@pytest.fixture
def http(crm: Crm) -> Iterator[httpx.Client]:
    with crm.http() as client:
        yield client


@pytest.fixture
def telephony(crm: Crm, http: httpx.Client, receiver: Receiver) -> Crm:
    """The account with two managers and the telephony module registered (codes 101 and 102)."""
    anna = crm.emulator.add_user("Анна", "Иванова", "anna@shop.test")
    boris = crm.emulator.add_user("Борис", "Петров", "boris@shop.test")
    module = telephony_module(receiver.url)
    module["integrations"]["telephony"]["additionalCodes"] = [
        {"userId": anna["id"], "code": "101"},
        {"userId": boris["id"], "code": "102"},
    ]
    response = edit_module(http, module)
    assert response.status_code == 201, response.text
    return crm
