"""The Bot API client against the Telegram emulator: Telegram's answers read as our errors, and
the bot token (part of every URL) nowhere in an error."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest

from switchboard.core.http import (
    HttpKit,
    PeerRejected,
    PeerUnauthorized,
    PeerUnavailable,
    RateLimited,
    RetryPolicy,
)
from switchboard.core.metrics import Metrics
from switchboard.integrations.telegram.client import TelegramBotClient
from switchboard.sandbox.faults import Fault
from switchboard.sandbox.pytest_plugin import RunningTelegram

from .conftest import BOT_TOKEN, CALLS_CHAT


def _kit() -> HttpKit:
    policy = RetryPolicy(max_attempts=3, initial_backoff=0.01, max_backoff=0.02)
    return HttpKit(Metrics(), retry=policy, timeout=2.0, breaker_reset_seconds=0.05)


@pytest.fixture
async def bot(telegram: RunningTelegram) -> AsyncIterator[TelegramBotClient]:
    client = TelegramBotClient.connect(
        _kit(), target="telegram:test", token=BOT_TOKEN, api_url=telegram.url + "/"
    )
    yield client
    await client.aclose()


async def test_get_me_send_and_edit(bot: TelegramBotClient, telegram: RunningTelegram) -> None:
    me = await bot.get_me()
    assert me["username"] == "switchboard_notify_bot"
    assert me["is_bot"] is True

    sent = await bot.send_message(CALLS_CHAT, "<b>Звонок</b> &lt;1&gt;")
    edited = await bot.edit_message_text(CALLS_CHAT, sent["message_id"], "<i>Завершён</i>")
    assert edited is not None
    assert edited["message_id"] == sent["message_id"]
    view = telegram.emulator.message(CALLS_CHAT, sent["message_id"])
    assert [version.text for version in view.versions] == ["Звонок <1>", "Завершён"]
    assert view.entities == ({"offset": 0, "length": 8, "type": "italic"},)
    # Links in call texts (recordings) never unfold into previews.
    assert view.json["link_preview_options"] == {"is_disabled": True}


async def test_the_same_text_again_is_not_modified_and_that_is_no_error(
    bot: TelegramBotClient, telegram: RunningTelegram
) -> None:
    sent = await bot.send_message(CALLS_CHAT, "Идёт разговор")
    assert await bot.edit_message_text(CALLS_CHAT, sent["message_id"], "Идёт разговор") is None
    [entry] = telegram.emulator.journal.matching("POST", "*/editMessageText")
    assert entry.status == 400  # Telegram said "message is not modified"
    assert len(telegram.emulator.message(CALLS_CHAT, sent["message_id"]).versions) == 1


async def test_a_429_is_handed_back_with_telegrams_retry_after_not_waited_out(
    bot: TelegramBotClient, telegram: RunningTelegram
) -> None:
    telegram.emulator.throttle("sendMessage", retry_after=7)
    started = time.monotonic()
    with pytest.raises(RateLimited) as caught:
        await bot.send_message(CALLS_CHAT, "Звонок")
    assert time.monotonic() - started < 1.0  # the queue waits, not the call
    assert caught.value.retry_after == 7
    assert caught.value.retriable
    assert len(telegram.emulator.journal.matching("POST", "*/sendMessage")) == 1
    assert BOT_TOKEN not in str(caught.value)


async def test_telegram_failing_is_unavailable_and_refusals_carry_its_description(
    bot: TelegramBotClient, telegram: RunningTelegram
) -> None:
    telegram.emulator.faults.add(Fault(path="/bot*/sendMessage", status=502, times=1))
    with pytest.raises(PeerUnavailable) as down:
        await bot.send_message(CALLS_CHAT, "Звонок")
    assert down.value.retriable
    assert down.value.status_code == 502

    with pytest.raises(PeerRejected) as unknown:
        await bot.send_message(-100999, "Звонок")
    assert not unknown.value.retriable
    assert "chat not found" in str(unknown.value)

    telegram.emulator.block_bot(BOT_TOKEN, CALLS_CHAT)
    with pytest.raises(PeerRejected) as kicked:
        await bot.send_message(CALLS_CHAT, "Звонок")
    assert not isinstance(kicked.value, PeerUnauthorized)  # this chat refuses, not Telegram
    assert "bot was kicked from the supergroup chat" in str(kicked.value)
    assert kicked.value.status_code == 403


async def test_a_wrong_or_malformed_token_is_refused_without_showing_it(
    telegram: RunningTelegram,
) -> None:
    wrong = "7000000042:AAwrong-token-of-someone"
    client = TelegramBotClient.connect(
        _kit(), target="telegram:t", token=wrong, api_url=telegram.url
    )
    try:
        with pytest.raises(PeerUnauthorized) as refused:
            await client.get_me()
    finally:
        await client.aclose()
    assert "401" in str(refused.value)
    assert wrong not in str(refused.value)
    assert wrong not in (refused.value.body or "")

    malformed = "7000000042:AA/../../other"
    with pytest.raises(PeerUnauthorized) as bad:
        TelegramBotClient.connect(
            _kit(), target="telegram:t", token=malformed, api_url=telegram.url
        )
    assert malformed not in str(bad.value)
