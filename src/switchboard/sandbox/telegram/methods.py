"""The Bot API methods: a request's parameters in, a result (sometimes with a description) out.

Checks run in the official server's order (the text before the chat, the chat before the
message), so a request with two mistakes gets the error Telegram would give. Method names are
case-insensitive, as Telegram's are.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from switchboard.sandbox.telegram.errors import NOT_FOUND, BotApiError
from switchboard.sandbox.telegram.formatting import FormattedText, format_text
from switchboard.sandbox.telegram.keyboards import read_markup
from switchboard.sandbox.telegram.params import Params
from switchboard.sandbox.telegram.records import Bot, StoredMessage
from switchboard.sandbox.telegram.store import OutgoingText, Store

#: The longest getUpdates `timeout` the server honours.
LONG_POLL_MAX_TIMEOUT = 50
CHAT_ACTIONS = frozenset(
    {
        "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
        "upload_document", "choose_sticker", "find_location", "record_video_note",
        "upload_video_note",
    }
)  # fmt: skip
_LINK_PREVIEW_FIELDS = (
    "is_disabled",
    "url",
    "prefer_small_media",
    "prefer_large_media",
    "show_above_text",
)


@dataclass(frozen=True)
class Call:
    store: Store
    bot: Bot
    params: Params
    long_poll_max_timeout: int = LONG_POLL_MAX_TIMEOUT


@dataclass(frozen=True)
class Reply:
    result: Any
    description: str | None = None


Handler = Callable[[Call], Awaitable[Reply]]
METHODS: dict[str, Handler] = {}


def method(*names: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        for name in names:
            METHODS[name.lower()] = handler
        return handler

    return register


async def call_method(call: Call, name: str) -> Reply:
    handler = METHODS.get(name.lower())
    if handler is None:
        raise NOT_FOUND
    return await handler(call)


# -- the bot ---------------------------------------------------------------------------------


@method("getMe")
async def get_me(call: Call) -> Reply:
    return Reply(call.bot.user_json(full=True))


# -- messages --------------------------------------------------------------------------------


def _text(params: Params) -> FormattedText:
    entities = params.json("entities", "Can't parse entities JSON object")
    return format_text(params.text("text"), params.text("parse_mode"), entities)


@method("sendMessage")
async def send_message(call: Call) -> Reply:
    params = call.params
    formatted = _text(params)
    markup = read_markup(params)
    link_preview = _link_preview_options(params)
    reply_to, allow_without_reply = _reply_parameters(params)
    chat = call.store.writable_chat(call.bot, params.text("chat_id"))
    outgoing = OutgoingText(
        formatted=formatted,
        markup=markup,
        reply_to=reply_to,
        allow_without_reply=allow_without_reply,
        thread_id=params.integer("message_thread_id") or None,
        link_preview_options=link_preview,
        disable_notification=params.flag("disable_notification"),
        protect_content=params.flag("protect_content"),
    )
    return Reply(call.store.send_text(call.bot, chat, outgoing).as_json())


def _link_preview_options(params: Params) -> dict[str, Any] | None:
    value = params.json("link_preview_options", "Can't parse link preview options JSON object")
    if value is None:
        return {"is_disabled": True} if params.flag("disable_web_page_preview") else None
    if not isinstance(value, dict):
        raise BotApiError.bad_request("Object expected as link preview options")
    kept = {name: value[name] for name in _LINK_PREVIEW_FIELDS if value.get(name)}
    return kept or None


def _reply_parameters(params: Params) -> tuple[int | None, bool]:
    """(message to reply to, allow sending without it) from `reply_parameters` (Bot API 7.0)
    or the older `reply_to_message_id` + `allow_sending_without_reply`."""
    value = params.json("reply_parameters", "Can't parse reply parameters JSON object")
    if value is None:
        message_id = params.integer("reply_to_message_id")
        return (message_id if message_id > 0 else None), params.flag("allow_sending_without_reply")
    if not isinstance(value, dict):
        raise BotApiError.bad_request("Object expected as reply parameters")
    nested = Params(value)
    message_id = nested.integer("message_id")
    return (message_id if message_id > 0 else None), nested.flag("allow_sending_without_reply")


def _message_to_edit(call: Call) -> tuple[StoredMessage, bool]:
    """The message an edit names, and whether it is an inline one (answered with True)."""
    params = call.params
    chat_id = params.text("chat_id")
    message_id = params.integer("message_id")
    if not chat_id and message_id <= 0:
        return call.store.inline_message(params.text("inline_message_id")), True
    chat = call.store.chat(chat_id)
    return call.store.message_of(chat, message_id, "message to edit"), False


@method("editMessageText")
async def edit_message_text(call: Call) -> Reply:
    formatted = _text(call.params)
    markup = read_markup(call.params)
    message, inline = _message_to_edit(call)
    edited = call.store.edit(call.bot, message, formatted, markup)
    return Reply(True if inline else edited.as_json())


@method("editMessageReplyMarkup")
async def edit_message_reply_markup(call: Call) -> Reply:
    markup = read_markup(call.params)
    message, inline = _message_to_edit(call)
    edited = call.store.edit(call.bot, message, None, markup)
    return Reply(True if inline else edited.as_json())


@method("deleteMessage")
async def delete_message(call: Call) -> Reply:
    params = call.params
    if not params.text("chat_id"):
        raise BotApiError.bad_request("Chat identifier is not specified")
    message_id = params.integer("message_id")
    if message_id <= 0:
        raise BotApiError.bad_request("Message identifier is not specified")
    chat = call.store.chat(params.text("chat_id"))
    call.store.delete(call.bot, call.store.message_of(chat, message_id, "message to delete"))
    return Reply(True)


# -- chats -----------------------------------------------------------------------------------


@method("getChat")
async def get_chat(call: Call) -> Reply:
    return Reply(call.store.chat(call.params.text("chat_id")).full_json())


@method("sendChatAction")
async def send_chat_action(call: Call) -> Reply:
    chat = call.store.writable_chat(call.bot, call.params.text("chat_id"))
    if call.params.text("action") not in CHAT_ACTIONS:
        raise BotApiError.bad_request("Wrong parameter action in request")
    del chat  # the action only shows in the person's app for a few seconds
    return Reply(True)


@method("answerCallbackQuery")
async def answer_callback_query(call: Call) -> Reply:
    params = call.params
    answer: dict[str, Any] = {"text": params.text("text"), "show_alert": params.flag("show_alert")}
    if params.text("url"):
        answer["url"] = params.text("url")
    answer["cache_time"] = params.integer("cache_time")
    call.store.answer_callback(call.bot, params.text("callback_query_id"), answer)
    return Reply(True)


# -- updates ---------------------------------------------------------------------------------


@method("getUpdates")
async def get_updates(call: Call) -> Reply:
    params, store, bot = call.params, call.store, call.bot
    offset = params.integer("offset")
    limit = params.bounded("limit", 100, 1, 100)
    timeout = params.bounded("timeout", 0, 0, call.long_poll_max_timeout)
    store.choose_updates(
        bot, params.json("allowed_updates", "Can't parse allowed_updates JSON object")
    )
    updates, waiter = store.start_long_poll(bot, offset, limit, wait=timeout > 0)
    if updates or waiter is None:
        return Reply(updates)
    try:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(waiter.event.wait(), timeout)
    except asyncio.CancelledError:
        store.abandon_long_poll(bot, waiter)
        raise
    return Reply(store.end_long_poll(bot, waiter, limit))


@method("setWebhook")
async def set_webhook(call: Call) -> Reply:
    params = call.params
    description = call.store.set_webhook(
        call.bot,
        params.text("url"),
        secret_token=params.text("secret_token"),
        max_connections=params.bounded("max_connections", 40, 1, 100),
        allowed_updates=params.json("allowed_updates", "Can't parse allowed_updates JSON object"),
        drop_pending_updates=params.flag("drop_pending_updates"),
    )
    return Reply(True, description)


@method("deleteWebhook")
async def delete_webhook(call: Call) -> Reply:
    drop = call.params.flag("drop_pending_updates")
    return Reply(True, call.store.delete_webhook(call.bot, drop_pending_updates=drop))


@method("getWebhookInfo")
async def get_webhook_info(call: Call) -> Reply:
    return Reply(call.store.webhook_info(call.bot))
