"""One Telegram Bot API emulator for the session; each test starts from one bot, two supergroups
(the enterprise's call chats), no faults, an empty journal and flood limits raised far above
what the tests send (a test that wants a 429 injects it)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from switchboard.sandbox.server import BackgroundServer
from switchboard.sandbox.telegram import TelegramEmulator

BOT_TOKEN = "7000000042:AAtest-switchboard-notify_secret"  # the emulator bot's, no secret
CALLS_CHAT = -1001000000001
SECOND_CHAT = -1001000000002


@dataclass
class RunningTelegram:
    emulator: TelegramEmulator
    url: str


@pytest.fixture(scope="session")
def telegram_server() -> Iterator[RunningTelegram]:
    emulator = TelegramEmulator()
    with BackgroundServer(emulator.app) as server:
        yield RunningTelegram(emulator, server.url)


@pytest.fixture
def telegram(telegram_server: RunningTelegram) -> RunningTelegram:
    emulator = telegram_server.emulator
    emulator.reset()
    emulator.faults.clear()
    emulator.journal.clear()
    # Telegram allows 20 messages a minute to a group; a test plays more calls than that.
    emulator.limits.group_chat_per_minute = 10_000
    emulator.limits.bot_per_second = 10_000
    emulator.add_bot(BOT_TOKEN, "switchboard_notify_bot", "Switchboard")
    emulator.add_chat(CALLS_CHAT, "supergroup", title="Звонки")
    emulator.add_chat(SECOND_CHAT, "supergroup", title="Руководители")
    return telegram_server
