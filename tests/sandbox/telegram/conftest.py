"""One Telegram emulator server and one webhook receiver for the whole session.

Every test starts from an emulator with one bot (`TOKEN`), a private chat, a group, a supergroup
and a channel, no faults, an empty journal and no flood limits (the tests of the limits set the
ones they test), and from an empty receiver.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from switchboard.sandbox.server import BackgroundServer
from switchboard.sandbox.telegram import RateLimits, TelegramEmulator

from .support import CHANNEL, GROUP, PERSON, SUPERGROUP, TOKEN, Receiver, Telegram


@pytest.fixture(scope="session")
def telegram_session() -> Iterator[Telegram]:
    emulator = TelegramEmulator(webhook_timeout=2, webhook_retries=2, webhook_backoff=0.05)
    with BackgroundServer(emulator.app) as server:
        yield Telegram(emulator, server)


@pytest.fixture(scope="session")
def receiver_session() -> Iterator[Receiver]:
    receiver = Receiver()
    with BackgroundServer(receiver.app) as server:
        receiver.url = server.url
        yield receiver


@pytest.fixture
def tg(telegram_session: Telegram) -> Telegram:
    emulator = telegram_session.emulator
    emulator.reset()
    emulator.faults.clear()
    emulator.journal.clear()
    emulator.limits.private_chat_per_second = 0
    emulator.limits.group_chat_per_minute = 0
    emulator.limits.bot_per_second = 0
    emulator.add_bot(TOKEN, "switchboard_sandbox_bot", "Switchboard")
    emulator.add_chat(PERSON, first_name="Ann", last_name="Lee", username="ann_lee")
    emulator.add_chat(GROUP, "group", title="Operators")
    emulator.add_chat(SUPERGROUP, "supergroup", title="Calls", username="sb_calls")
    emulator.add_chat(CHANNEL, "channel", title="News", username="sb_news")
    assert emulator.limits == RateLimits(0, 0, 0)
    return telegram_session


@pytest.fixture
def receiver(receiver_session: Receiver) -> Receiver:
    receiver_session.reset()
    return receiver_session


@pytest.fixture
def api(tg: Telegram) -> Iterator[httpx.Client]:
    """The bot's Bot API: `api.post("/sendMessage", ...)`."""
    with tg.client() as http:
        yield http
