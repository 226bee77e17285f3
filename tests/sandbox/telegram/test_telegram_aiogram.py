"""An independent, real client: aiogram 3 pointed at the emulator as at a local Bot API server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramRetryAfter,
    TelegramUnauthorizedError,
)
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, Message

from .support import BOT_ID, PERSON, SUPERGROUP, TOKEN, Receiver, Telegram

KEYBOARD = InlineKeyboardMarkup(
    inline_keyboard=[[InlineKeyboardButton(text="Take", callback_data="take:1")]]
)


def aiogram_bot(tg: Telegram, token: str = TOKEN) -> Bot:
    return Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(tg.url)))


@pytest.fixture
async def bot(tg: Telegram) -> AsyncIterator[Bot]:
    client = aiogram_bot(tg)
    try:
        yield client
    finally:
        await client.session.close()


async def test_get_me(bot: Bot) -> None:
    me = await bot.get_me()
    assert (me.id, me.is_bot, me.username) == (BOT_ID, True, "switchboard_sandbox_bot")
    assert me.can_join_groups is True


async def test_a_call_notification_is_sent_then_edited(tg: Telegram, bot: Bot) -> None:
    sent = await bot.send_message(
        SUPERGROUP, "📞 <b>Ringing</b>: +7 900 000-00-00", parse_mode="HTML", reply_markup=KEYBOARD
    )
    assert sent.text == "📞 Ringing: +7 900 000-00-00"
    assert sent.entities is not None
    assert (sent.entities[0].type, sent.entities[0].offset, sent.entities[0].length) == (
        "bold",
        3,
        7,
    )
    assert sent.reply_markup is not None
    assert sent.reply_markup.model_dump(exclude_none=True) == KEYBOARD.model_dump(exclude_none=True)
    assert sent.from_user is not None
    assert sent.from_user.id == BOT_ID

    edited = await bot.edit_message_text(
        "📞 Answered by Alice", chat_id=SUPERGROUP, message_id=sent.message_id
    )
    assert isinstance(edited, Message)
    assert edited.text == "📞 Answered by Alice"
    assert edited.edit_date is not None
    assert edited.reply_markup is None

    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text(
            "📞 Answered by Alice", chat_id=SUPERGROUP, message_id=sent.message_id
        )
    [view] = tg.emulator.messages(SUPERGROUP)
    assert [v.text for v in view.versions] == [
        "📞 Ringing: +7 900 000-00-00",
        "📞 Answered by Alice",
    ]


async def test_errors_become_aiogrames_exceptions(tg: Telegram, bot: Bot) -> None:
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(-42, "nowhere")
    with pytest.raises(TelegramBadRequest, match="can't parse entities"):
        await bot.send_message(PERSON, "<b>open", parse_mode="HTML")
    tg.emulator.throttle("sendMessage", retry_after=3)
    with pytest.raises(TelegramRetryAfter) as throttled:
        await bot.send_message(PERSON, "too fast")
    assert throttled.value.retry_after == 3
    stranger = aiogram_bot(tg, "999:not-registered")
    try:
        with pytest.raises(TelegramUnauthorizedError):
            await stranger.get_me()
    finally:
        await stranger.session.close()


async def test_get_updates_with_long_polling(tg: Telegram, bot: Bot) -> None:
    tg.emulator.user_sends(TOKEN, PERSON, "/start")
    [update] = await bot.get_updates(timeout=1)
    assert update.message is not None
    assert update.message.text == "/start"
    loop = asyncio.get_running_loop()
    loop.call_later(0.3, tg.emulator.user_sends, TOKEN, PERSON, "second")
    [later] = await bot.get_updates(offset=update.update_id + 1, timeout=10)
    assert later.update_id == update.update_id + 1
    assert later.message is not None
    assert later.message.text == "second"


async def test_webhooks(tg: Telegram, bot: Bot, receiver: Receiver) -> None:
    url = f"{receiver.url}/aiogram/hook"
    assert await bot.set_webhook(url, secret_token="aiogram-secret", allowed_updates=["message"])
    info = await bot.get_webhook_info()
    assert (info.url, info.pending_update_count, info.allowed_updates) == (url, 0, ["message"])
    with pytest.raises(TelegramConflictError):
        await bot.get_updates()
    update = tg.emulator.user_sends(TOKEN, PERSON, "via webhook")
    await asyncio.to_thread(tg.emulator.wait_for_webhooks)
    [request] = receiver.requests
    assert request.json() == update
    assert request.headers["x-telegram-bot-api-secret-token"] == "aiogram-secret"
    assert await bot.delete_webhook()
    assert await bot.get_updates() == []
