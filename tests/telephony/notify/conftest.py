"""One Telegram Bot API emulator for the session; each test starts from one bot, two supergroups
(the enterprise's call chats), no faults, an empty journal and flood limits raised far above
what the tests send (a test that wants a 429 injects it)."""

from __future__ import annotations

import pytest

from switchboard.sandbox.pytest_plugin import RunningTelegram

BOT_TOKEN = "7000000042:AAtest-switchboard-notify_secret"  # the emulator bot's, no secret
CALLS_CHAT = -1001000000001
SECOND_CHAT = -1001000000002


@pytest.fixture
def telegram(telegram_api: RunningTelegram) -> RunningTelegram:
    """The Telegram emulator with one bot and two supergroups (the enterprise's call chats)."""
    emulator = telegram_api.emulator
    emulator.add_bot(BOT_TOKEN, "switchboard_notify_bot", "Switchboard")
    emulator.add_chat(CALLS_CHAT, "supergroup", title="Звонки")
    emulator.add_chat(SECOND_CHAT, "supergroup", title="Руководители")
    return telegram_api
