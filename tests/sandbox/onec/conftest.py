"""The 1C emulator as an independent client meets it: a real HTTP server, plain httpx requests.

One server runs for the whole session; every test starts from an empty base, no faults, an empty
request journal and the emulator's clock at a known moment.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from switchboard.sandbox.onec import OneCEmulator
from switchboard.sandbox.server import BackgroundServer

from .support import BASE_PATH, PASSWORD, START, USER, OneC, SettableClock


@pytest.fixture(scope="session")
def onec_server() -> Iterator[OneC]:
    clock = SettableClock()
    emulator = OneCEmulator(base_path=BASE_PATH, user=USER, password=PASSWORD, clock=clock)
    with BackgroundServer(emulator.app) as server:
        yield OneC(emulator, server, clock)


@pytest.fixture
def onec(onec_server: OneC) -> OneC:
    onec_server.emulator.store.reset()
    onec_server.emulator.faults.clear()
    onec_server.emulator.journal.clear()
    onec_server.clock.now = START
    return onec_server


@pytest.fixture
def client(onec: OneC) -> Iterator[httpx.Client]:
    """Speaks JSON the way the platform's client does: `Accept: application/json`."""
    with httpx.Client(
        base_url=onec.root + "/",
        auth=(USER, PASSWORD),
        headers={"Accept": "application/json"},
        timeout=5,
    ) as http:
        yield http


@pytest.fixture
def raw_client(onec: OneC) -> Iterator[httpx.Client]:
    """No Accept header: what 1C answers by default."""
    with httpx.Client(base_url=onec.root + "/", auth=(USER, PASSWORD), timeout=5) as http:
        yield http
