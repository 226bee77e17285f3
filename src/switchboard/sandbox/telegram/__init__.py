"""A Telegram Bot API emulator: bots, chats, messages with edits, updates, webhooks, limits.

    telegram = TelegramEmulator()
    telegram.add_bot("123456:sandbox-token", "switchboard_bot", "Switchboard")
    telegram.add_chat(-100200, type="supergroup", title="Calls")
    with BackgroundServer(telegram.app) as server:
        # clients call f"{server.url}/bot123456:sandbox-token/sendMessage", ...
        telegram.user_sends("123456:sandbox-token", -100200, "/start", from_user={...})
        telegram.messages(-100200)            # every message now, with its versions

Over HTTP, as api.telegram.org answers (`{"ok": true, "result": ...}` or `{"ok": false,
"error_code": N, "description": "...", "parameters": {"retry_after": N}}`):
    getMe, sendMessage, editMessageText, editMessageReplyMarkup, deleteMessage, getChat,
    sendChatAction, answerCallbackQuery, getUpdates (long polling), setWebhook, deleteWebhook,
    getWebhookInfo
with HTML / MarkdownV2 / Markdown parsed into entities, inline keyboards, the flood limits
(`RateLimits`), webhook delivery with the secret header, plus faults, the request journal and
reset under /__sandbox__/ as every emulator has.

What people do comes from the Python API: `user_sends` (a text message), `user_presses` (an
inline button), `web_app_init_data` (a Mini App's signed initData). Chats must be added first,
as a bot only reaches chats it knows. Sandbox-only controls: GET /__sandbox__/messages and
POST /__sandbox__/user_sends (see `app`).

Not emulated: files and media, inline mode (only `add_inline_message` for editing by
inline_message_id), group privacy mode (every group message reaches the bot), topics beyond
echoing `message_thread_id` in forums, the one-setWebhook-per-second limit, concurrent webhook
connections (updates are posted one at a time, in order).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from starlette.types import ASGIApp

from switchboard.sandbox.faults import Fault, FaultInjector, RequestJournal
from switchboard.sandbox.telegram.app import build_app
from switchboard.sandbox.telegram.errors import BotApiError, error_body
from switchboard.sandbox.telegram.formatting import FormattedText, format_text
from switchboard.sandbox.telegram.methods import LONG_POLL_MAX_TIMEOUT, Call, call_method
from switchboard.sandbox.telegram.params import Params
from switchboard.sandbox.telegram.ratelimit import RateLimits
from switchboard.sandbox.telegram.records import Bot, Chat, MessageView, Revision
from switchboard.sandbox.telegram.store import Store, WebhookSettings
from switchboard.sandbox.telegram.webapp import sign_init_data
from switchboard.sandbox.telegram.webhooks import (
    DeliverySettings,
    WebhookAttempt,
    WebhookDispatcher,
)

__all__ = [
    "BotApiError",
    "FormattedText",
    "MessageView",
    "RateLimits",
    "Revision",
    "TelegramEmulator",
    "WebhookAttempt",
    "format_text",
]

_BOT_ID_IN_TOKEN = re.compile(r"^(\d+):")


class TelegramEmulator:
    """The emulator's state and its ASGI app. Thread-safe: tests drive and read it from their
    own thread while the server runs in another.

    Rate limits (messages; 0 switches one off): `private_chat_rate` per second to one private
    chat, `group_chat_rate` per minute to one group or channel, `bot_rate` per second per bot.
    Webhooks: `https_webhooks_only` refuses what Telegram refuses (off: sandbox receivers are
    plain HTTP); each update is tried `webhook_retries` more times after the first failure,
    `webhook_backoff` seconds apart and doubling, each POST given `webhook_timeout` seconds.
    """

    def __init__(
        self,
        *,
        private_chat_rate: float = 1,
        group_chat_rate: float = 20,
        bot_rate: float = 30,
        https_webhooks_only: bool = False,
        webhook_timeout: float = 10.0,
        webhook_retries: int = 3,
        webhook_backoff: float = 0.5,
        long_poll_max_timeout: int = LONG_POLL_MAX_TIMEOUT,
    ) -> None:
        self._initial_limits = RateLimits(private_chat_rate, group_chat_rate, bot_rate)
        self.long_poll_max_timeout = long_poll_max_timeout
        self.store = Store(
            RateLimits(private_chat_rate, group_chat_rate, bot_rate),
            webhook_settings=WebhookSettings(https_only=https_webhooks_only),
        )
        delivery = DeliverySettings(
            timeout=webhook_timeout, retries=webhook_retries, backoff=webhook_backoff
        )
        self.webhooks = WebhookDispatcher(self.store, delivery, self._run_for_webhook)
        self.store.on_webhook_update = self.webhooks.kick
        self.faults = FaultInjector()
        self.journal = RequestJournal()
        self.app: ASGIApp = build_app(self)

    # -- the world -------------------------------------------------------------------------

    @property
    def limits(self) -> RateLimits:
        """The flood limits in force; change its fields to loosen or tighten them."""
        return self.store.limits

    def add_bot(
        self,
        token: str,
        username: str,
        first_name: str = "Sandbox Bot",
        *,
        can_join_groups: bool = True,
        can_read_all_group_messages: bool = False,
        supports_inline_queries: bool = False,
    ) -> int:
        """Register a bot; its id is the number before ":" in the token, as Telegram's is."""
        match = _BOT_ID_IN_TOKEN.match(token)
        if match is None or int(match.group(1)) <= 0:
            raise ValueError("a bot token looks like '<bot id>:<secret>', e.g. '123456:ABC-def'")
        bot = Bot(
            id=int(match.group(1)),
            token=token,
            username=username,
            first_name=first_name,
            can_join_groups=can_join_groups,
            can_read_all_group_messages=can_read_all_group_messages,
            supports_inline_queries=supports_inline_queries,
        )
        return self.store.add_bot(bot).id

    def add_chat(
        self,
        chat_id: int,
        type: str = "private",
        *,
        title: str | None = None,
        first_name: str | None = None,
        last_name: str | None = None,
        username: str | None = None,
        is_forum: bool = False,
    ) -> dict[str, Any]:
        """Make a chat known to every bot; returns its Chat object. A private chat's id is the
        person's user id (positive); groups are negative, supergroups and channels -100…."""
        if type == "private" and not first_name:
            first_name = "Sandbox User"
        chat = Chat(chat_id, type, title, first_name, last_name, username, is_forum)
        return self.store.add_chat(chat).as_json()

    def block_bot(self, bot_token: str, chat_id: int, *, blocked: bool = True) -> None:
        """The person blocks the bot (private chat) or removes it from the group or channel:
        sends answer 403 until `blocked=False`."""
        self.store.block(self.store.known_bot(bot_token), self._chat(chat_id), blocked)

    def add_inline_message(self, bot_token: str, text: str) -> str:
        """An inline-mode message of the bot (inline mode itself is not emulated), for
        editMessageText with `inline_message_id`; returns that id."""
        return self.store.add_inline_message(self.store.known_bot(bot_token), text)

    def reset(self) -> None:
        """Back to the state after construction: no bots, chats, messages or webhooks."""
        self.store.reset()
        self.store.limits = RateLimits(**vars(self._initial_limits))
        self.webhooks.clear()

    # -- what people do --------------------------------------------------------------------

    def user_sends(
        self,
        bot_token: str,
        chat_id: int,
        text: str,
        from_user: Mapping[str, Any] | None = None,
        *,
        reply_to_message_id: int | None = None,
    ) -> dict[str, Any]:
        """A person writes `text` in the chat; returns the Update made for the bot, queued for
        getUpdates or posted to its webhook. `from_user` is a User object (`id`, `first_name`,
        ...); by default the private chat's own person."""
        bot = self.store.known_bot(bot_token)
        user = dict(from_user) if from_user is not None else None
        return self.store.user_message(bot, self._chat(chat_id), text, user, reply_to_message_id)

    def user_presses(
        self,
        bot_token: str,
        chat_id: int,
        message_id: int,
        callback_data: str,
        from_user: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """A person presses the inline button with `callback_data` under the bot's message;
        returns the `callback_query` Update. Answer it with answerCallbackQuery."""
        bot = self.store.known_bot(bot_token)
        try:
            message = self.store.message_of(self._chat(chat_id), message_id, "message")
        except BotApiError as error:
            raise KeyError(f"no message {message_id} in chat {chat_id}") from error
        user = dict(from_user) if from_user is not None else None
        return self.store.press_button(bot, message, callback_data, user)

    def web_app_init_data(
        self,
        bot_token: str,
        user: Mapping[str, Any],
        *,
        auth_date: int | None = None,
        query_id: str | None = None,
    ) -> str:
        """Signed `Telegram.WebApp.initData` for `user` opening a Mini App of the bot."""
        self.store.known_bot(bot_token)
        return sign_init_data(bot_token, user, auth_date=auth_date, query_id=query_id)

    # -- reading ---------------------------------------------------------------------------

    def messages(self, chat_id: int, *, include_deleted: bool = False) -> list[MessageView]:
        """The chat's messages, oldest first, each with its current text and every version."""
        return self.store.views(chat_id, include_deleted=include_deleted)

    def message(self, chat_id: int, message_id: int) -> MessageView:
        for view in self.messages(chat_id, include_deleted=True):
            if view.message_id == message_id:
                return view
        raise KeyError(f"no message {message_id} in chat {chat_id}")

    def chats(self) -> list[dict[str, Any]]:
        """Every known chat's Chat object."""
        return self.store.chat_list()

    def inline_message(self, inline_message_id: str) -> MessageView:
        return MessageView.of(self.store.inline_message(inline_message_id))

    def pending_updates(self, bot_token: str) -> list[dict[str, Any]]:
        """Updates the bot has not confirmed (getUpdates) or that wait for its webhook."""
        return self.store.pending(self.store.known_bot(bot_token))

    def callback_answers(self, bot_token: str) -> list[dict[str, Any]]:
        """Every answerCallbackQuery of the bot: callback_query_id, text, show_alert, ...."""
        return self.store.callback_answers(self.store.known_bot(bot_token))

    def webhook_info(self, bot_token: str) -> dict[str, Any]:
        return self.store.webhook_info(self.store.known_bot(bot_token))

    @property
    def webhook_attempts(self) -> list[WebhookAttempt]:
        return self.webhooks.attempts

    def wait_for_webhooks(self, timeout: float = 5.0) -> None:
        """Block until every update due to a webhook was delivered or given up (not from the
        server's own event loop)."""
        self.webhooks.wait(timeout)

    # -- faults ----------------------------------------------------------------------------

    def throttle(self, method: str = "*", *, retry_after: int = 1, times: int | None = 1) -> Fault:
        """Answer the next `times` calls of `method` (a glob; any bot) with Telegram's 429,
        `parameters.retry_after` included, whatever the real limits say."""
        return self.faults.add(
            Fault(
                path=f"/bot*/{method}",
                status=429,
                retry_after=retry_after,
                times=times,
                body=error_body(429, f"Too Many Requests: retry after {retry_after}", retry_after),
            )
        )

    # -- internals -------------------------------------------------------------------------

    def _chat(self, chat_id: int) -> Chat:
        try:
            return self.store.chat(chat_id)
        except BotApiError as error:
            raise KeyError(f"no chat {chat_id}; add_chat() it first") from error

    async def _run_for_webhook(self, bot_id: int, name: str, values: dict[str, Any]) -> None:
        bot = self.store.bot_by_id(bot_id)
        if bot is None:
            return
        call = Call(self.store, bot, Params(values), self.long_poll_max_timeout)
        try:
            await call_method(call, name)
        except BotApiError:
            return  # the webhook's answer is not a request anybody waits on
