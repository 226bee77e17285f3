"""The Chatwoot emulator as an independent client meets it: a real HTTP server, plain httpx.

One emulator server and one webhook receiver run for the whole session; every test starts from
the emulator's initial state, no faults, an empty journal and an empty receiver.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from switchboard.sandbox.chatwoot import ChatwootEmulator
from switchboard.sandbox.server import BackgroundServer

from .support import BOT_TOKEN, HMAC_TOKEN, INBOX, PLATFORM_TOKEN, TOKEN, Chatwoot, Receiver


@pytest.fixture(scope="session")
def chatwoot_session() -> Iterator[Chatwoot]:
    emulator = ChatwootEmulator(
        account_id=1,
        account_name="Clobus",
        inbox_id=1,
        inbox_name="Сайт",
        inbox_identifier=INBOX,
        api_access_token=TOKEN,
        platform_token=PLATFORM_TOKEN,
        bot_token=BOT_TOKEN,
        hmac_token=HMAC_TOKEN,
        sign_webhooks=True,
        webhook_timeout=2,
        webhook_backoff=0.05,
    )
    with BackgroundServer(emulator.app) as server:
        yield Chatwoot(emulator, server)


@pytest.fixture(scope="session")
def receiver_session() -> Iterator[Receiver]:
    receiver = Receiver()
    with BackgroundServer(receiver.app) as server:
        receiver.url = server.url
        yield receiver


@pytest.fixture
def cw(chatwoot_session: Chatwoot) -> Chatwoot:
    emulator = chatwoot_session.emulator
    emulator.reset()
    emulator.faults.clear()
    emulator.journal.clear()
    emulator.sign_webhooks = True
    return chatwoot_session


@pytest.fixture
def receiver(receiver_session: Receiver) -> Receiver:
    receiver_session.reset()
    return receiver_session


@pytest.fixture
def api(cw: Chatwoot) -> Iterator[httpx.Client]:
    """The administrator's `api_access_token`; also fine for the token-less Public API."""
    with cw.client() as http:
        yield http


@pytest.fixture
def anonymous(cw: Chatwoot) -> Iterator[httpx.Client]:
    with cw.client(None) as http:
        yield http
