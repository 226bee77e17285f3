"""The emulator's state and every change to it, under one lock.

Bot API methods (in the server's event loop) and the Python API (in a test's thread) both come
here; each operation takes the lock for a moment and never awaits under it. Updates a bot has not
confirmed stay in its `pending` queue, whichever way it takes them: getUpdates confirms them by
`offset`, webhook delivery by a 2xx answer. So `pending_update_count` is the same number in both
modes, and updates left when a webhook is deleted are there for getUpdates, as on Telegram.
"""

from __future__ import annotations

import ipaddress
import itertools
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from switchboard.sandbox.telegram.errors import NOT_MODIFIED, BotApiError
from switchboard.sandbox.telegram.formatting import FormattedText, user_text
from switchboard.sandbox.telegram.keyboards import Markup
from switchboard.sandbox.telegram.ratelimit import FloodControl, RateLimits
from switchboard.sandbox.telegram.records import (
    CHAT_TYPES,
    DEFAULT_UPDATE_TYPES,
    Bot,
    CallbackQuery,
    Chat,
    MessageView,
    PollWaiter,
    StoredMessage,
    Webhook,
)

_SECRET_TOKEN = re.compile(r"^[A-Za-z0-9_-]*$")
_WEBHOOK_PORTS = (80, 88, 443, 8443)
#: The first update_id of a bot; Telegram's are large and only ever grow.
FIRST_UPDATE_ID = 100_000_001
_FIRST_CALLBACK_QUERY_ID = 4_000_000_000_000_000_000
#: Who writes in a group or channel when a test names nobody.
_DEFAULT_GROUP_MEMBER = {"id": 1_000_001, "is_bot": False, "first_name": "Sandbox User"}
_KICKED_FROM = {
    "group": "bot was kicked from the group chat",
    "supergroup": "bot was kicked from the supergroup chat",
    "channel": "bot was kicked from the channel chat",
}


@dataclass(frozen=True)
class OutgoingText:
    """A sendMessage, checked and parsed by the method layer."""

    formatted: FormattedText
    markup: Markup
    reply_to: int | None = None
    allow_without_reply: bool = False
    thread_id: int | None = None
    link_preview_options: dict[str, Any] | None = None
    disable_notification: bool = False
    protect_content: bool = False


@dataclass(frozen=True)
class WebhookJob:
    bot_id: int
    update_id: int
    url: str
    secret_token: str
    generation: int
    update: dict[str, Any]


@dataclass(frozen=True)
class WebhookSettings:
    """`https_only`: refuse what Telegram refuses (plain HTTP, ports other than 80, 88, 443 and
    8443); off by default, since sandbox receivers listen on plain HTTP and random ports."""

    https_only: bool = False


class Store:
    def __init__(
        self,
        limits: RateLimits | None = None,
        *,
        webhook_settings: WebhookSettings | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.lock = threading.RLock()
        self.limits = limits or RateLimits()
        self.webhook_settings = webhook_settings or WebhookSettings()
        self.clock = clock
        self.flood = FloodControl()
        #: Called under the lock when a bot with a webhook has a new pending update.
        self.on_webhook_update: Callable[[int], None] = lambda bot_id: None
        self._clear()

    def _clear(self) -> None:
        self.bots: dict[str, Bot] = {}
        self.chats: dict[int, Chat] = {}
        self.messages: dict[int, dict[int, StoredMessage]] = {}
        self.inline_messages: dict[str, StoredMessage] = {}
        self.callback_queries: dict[str, CallbackQuery] = {}
        self._callback_ids = itertools.count(_FIRST_CALLBACK_QUERY_ID)
        self._inline_ids = itertools.count(1)
        self._webhook_generations = itertools.count(1)

    def reset(self) -> None:
        """Forget everything: no bots, chats, messages, updates or webhooks."""
        with self.lock:
            for bot in self.bots.values():
                if bot.poll is not None:
                    bot.poll.wake()
            self._clear()
        self.flood.clear()

    def now(self) -> int:
        return int(self.clock())

    # -- registration ----------------------------------------------------------------------

    def add_bot(self, bot: Bot) -> Bot:
        with self.lock:
            if any(other.id == bot.id for other in self.bots.values() if other.token != bot.token):
                raise ValueError(f"another bot already has id {bot.id}")
            bot.next_update_id = FIRST_UPDATE_ID
            self.bots[bot.token] = bot
            return bot

    def add_chat(self, chat: Chat) -> Chat:
        if chat.type not in CHAT_TYPES:
            raise ValueError(f"chat type must be one of {CHAT_TYPES}, not {chat.type!r}")
        with self.lock:
            known = self.chats.get(chat.id)
            if known is not None:
                # Changed in place: the chat's messages show its new title or name, as there.
                chat.next_message_id = known.next_message_id
                vars(known).update(vars(chat))
                return known
            self.chats[chat.id] = chat
            self.messages[chat.id] = {}
            return chat

    def bot(self, token: str) -> Bot | None:
        with self.lock:
            return self.bots.get(token)

    def bot_by_id(self, bot_id: int) -> Bot | None:
        with self.lock:
            return next((bot for bot in self.bots.values() if bot.id == bot_id), None)

    def known_bot(self, token: str) -> Bot:
        bot = self.bot(token)
        if bot is None:
            raise KeyError(f"no bot with token {token!r}; add_bot() it first")
        return bot

    # -- chats -----------------------------------------------------------------------------

    def chat(self, chat_id: str | int) -> Chat:
        """The chat a `chat_id` parameter names (a number or `@username`), or 400."""
        text = str(chat_id).strip()
        if not text:
            raise BotApiError.bad_request("chat_id is empty")
        with self.lock:
            if text.startswith("@"):
                wanted = text[1:].lower()
                found = next(
                    (c for c in self.chats.values() if (c.username or "").lower() == wanted), None
                )
            else:
                found = self.chats.get(_leading_int(text))
            if found is None:
                raise BotApiError.bad_request("chat not found")
            return found

    def chat_list(self) -> list[dict[str, Any]]:
        with self.lock:
            return [chat.as_json() for chat in self.chats.values()]

    def writable_chat(self, bot: Bot, chat_id: str | int) -> Chat:
        chat = self.chat(chat_id)
        with self.lock:
            if chat.id in bot.blocked_in:
                if chat.type == "private":
                    raise BotApiError.forbidden("bot was blocked by the user")
                raise BotApiError.forbidden(_KICKED_FROM[chat.type])
        return chat

    # -- messages --------------------------------------------------------------------------

    def send_text(self, bot: Bot, chat: Chat, outgoing: OutgoingText) -> StoredMessage:
        with self.lock:
            reply_to = self._reply_target(chat, outgoing)
            self._admit(bot, chat)
            message = StoredMessage(
                chat=chat,
                message_id=self._next_message_id(chat),
                date=self.now(),
                sender=None if chat.type == "channel" else bot.user_json(),
                bot_id=bot.id,
                text=outgoing.formatted.text,
                entities=outgoing.formatted.entities,
                other_markup=outgoing.markup.other,
                reply_to=reply_to,
                thread_id=outgoing.thread_id if chat.is_forum else None,
                link_preview_options=outgoing.link_preview_options,
                disable_notification=outgoing.disable_notification,
                protect_content=outgoing.protect_content,
            )
            message.revise(message.text, message.entities, outgoing.markup.inline, message.date)
            self.messages[chat.id][message.message_id] = message
            return message

    def _reply_target(self, chat: Chat, outgoing: OutgoingText) -> StoredMessage | None:
        if outgoing.reply_to is None:
            return None
        target = self.messages[chat.id].get(outgoing.reply_to)
        if target is None or target.deleted:
            if outgoing.allow_without_reply:
                return None
            raise BotApiError.bad_request("message to be replied not found")
        return target

    def _admit(self, bot: Bot, chat: Chat | None) -> None:
        windows: list[tuple[Any, float, float]] = [(("bot", bot.id), self.limits.bot_per_second, 1)]
        if chat is not None:
            allowed, seconds = self.limits.window(chat.type)
            windows.append((("chat", bot.id, chat.id), allowed, seconds))
        wait = self.flood.admit(windows)
        if wait:
            raise BotApiError.too_many_requests(wait)

    def _next_message_id(self, chat: Chat) -> int:
        message_id = chat.next_message_id
        chat.next_message_id += 1
        return message_id

    def message_of(self, chat: Chat, message_id: int, what: str) -> StoredMessage:
        """A live message of the chat, or 400 "<what> not found"."""
        with self.lock:
            message = self.messages[chat.id].get(message_id) if message_id > 0 else None
            if message is None or message.deleted:
                raise BotApiError.bad_request(f"{what} not found")
            return message

    def inline_message(self, inline_message_id: str) -> StoredMessage:
        if not inline_message_id:
            raise BotApiError.bad_request("Message identifier is not specified")
        with self.lock:
            message = self.inline_messages.get(inline_message_id)
            if message is None:
                raise BotApiError.bad_request("MESSAGE_ID_INVALID")
            return message

    def edit(
        self,
        bot: Bot,
        message: StoredMessage,
        formatted: FormattedText | None,
        markup: Markup,
    ) -> StoredMessage:
        """New text (None: keep it) and inline keyboard. Leaving the keyboard out removes it,
        as on Telegram; the same content again is "message is not modified"."""
        with self.lock:
            if message.bot_id != bot.id:
                raise BotApiError.bad_request("Message can't be edited")
            text = formatted.text if formatted else message.text
            entities = formatted.entities if formatted else message.entities
            if (text, entities, markup.inline) == (
                message.text,
                message.entities,
                message.reply_markup,
            ):
                raise BotApiError.bad_request(NOT_MODIFIED)
            self._admit(bot, None)
            message.edit_date = self.now()
            message.revise(text, entities, markup.inline, message.edit_date)
            return message

    def delete(self, bot: Bot, message: StoredMessage) -> None:
        with self.lock:
            in_group = message.chat is not None and message.chat.type != "private"
            if in_group and message.bot_id not in (bot.id, None):
                # Another bot's message in a group: only an administrator may delete it.
                raise BotApiError.bad_request("message can't be deleted")
            message.deleted = True

    def add_inline_message(self, bot: Bot, text: str) -> str:
        with self.lock:
            inline_id = f"AAAA{bot.id}-{next(self._inline_ids)}"
            formatted = user_text(text)
            message = StoredMessage(
                chat=None,
                message_id=0,
                date=self.now(),
                sender=bot.user_json(),
                bot_id=bot.id,
                text=formatted.text,
                entities=formatted.entities,
            )
            message.revise(message.text, message.entities, None, message.date)
            self.inline_messages[inline_id] = message
            return inline_id

    def views(self, chat_id: int, *, include_deleted: bool = False) -> list[MessageView]:
        with self.lock:
            messages = self.messages.get(chat_id)
            if messages is None:
                raise KeyError(f"no chat {chat_id}; add_chat() it first")
            return [
                MessageView.of(message)
                for _, message in sorted(messages.items())
                if include_deleted or not message.deleted
            ]

    # -- what people do --------------------------------------------------------------------

    def user_message(
        self,
        bot: Bot,
        chat: Chat,
        text: str,
        from_user: dict[str, Any] | None,
        reply_to: int | None,
    ) -> dict[str, Any]:
        """A person's text message in `chat`, and the update it makes for `bot`."""
        with self.lock:
            sender = _sender(chat, from_user)
            formatted = user_text(text)
            message = StoredMessage(
                chat=chat,
                message_id=self._next_message_id(chat),
                date=self.now(),
                sender=sender,
                bot_id=None,
                text=formatted.text,
                entities=formatted.entities,
                reply_to=self.messages[chat.id].get(reply_to) if reply_to else None,
            )
            message.revise(message.text, message.entities, None, message.date)
            self.messages[chat.id][message.message_id] = message
            kind = "channel_post" if chat.type == "channel" else "message"
            return self.enqueue(bot, kind, message.as_json())

    def press_button(
        self, bot: Bot, message: StoredMessage, data: str, from_user: dict[str, Any] | None
    ) -> dict[str, Any]:
        """A person presses an inline button with `data` under the bot's message."""
        with self.lock:
            if message.chat is None or message.bot_id != bot.id:
                raise ValueError("only the bot's own chat messages have its buttons")
            if not _has_callback_button(message.reply_markup, data):
                raise ValueError(f"the message has no button with callback_data {data!r}")
            query_id = str(next(self._callback_ids))
            payload = {
                "id": query_id,
                "from": _sender(message.chat, from_user),
                "message": message.as_json(),
                "chat_instance": str(abs(message.chat.id) * 7919 + bot.id),
                "data": data,
            }
            update = self.enqueue(bot, "callback_query", payload)
            self.callback_queries[query_id] = CallbackQuery(query_id, bot.id, update)
            return update

    def answer_callback(self, bot: Bot, query_id: str, answer: dict[str, Any]) -> None:
        with self.lock:
            query = self.callback_queries.get(query_id)
            if query is None or query.bot_id != bot.id or query.answer is not None:
                raise BotApiError.bad_request(
                    "query is too old and response timeout expired or query ID is invalid"
                )
            query.answer = answer

    def callback_answers(self, bot: Bot) -> list[dict[str, Any]]:
        with self.lock:
            return [
                {"callback_query_id": query.id, **query.answer}
                for query in self.callback_queries.values()
                if query.bot_id == bot.id and query.answer is not None
            ]

    # -- updates ---------------------------------------------------------------------------

    def enqueue(self, bot: Bot, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        """The update for `bot`, queued unless its `allowed_updates` leave this kind out."""
        with self.lock:
            update = {"update_id": bot.next_update_id, kind: payload}
            bot.next_update_id += 1
            if not bot.wants(kind):
                return update
            bot.pending.append(update)
            if bot.webhook is not None:
                self.on_webhook_update(bot.id)
            elif bot.poll is not None:
                bot.poll.wake()
            return update

    def choose_updates(self, bot: Bot, allowed: Any) -> None:
        """`allowed_updates` as sent (None: keep the previous choice; [] back to default)."""
        if allowed is None:
            return
        if not isinstance(allowed, list):
            raise BotApiError.bad_request("Can't parse allowed_updates JSON object")
        with self.lock:
            bot.allowed_updates = tuple(str(kind) for kind in allowed) or None

    def poll(self, bot: Bot, offset: int, limit: int) -> list[dict[str, Any]]:
        """getUpdates without waiting: confirm what `offset` confirms, then the next `limit`."""
        with self.lock:
            self._require_no_webhook(bot)
            if offset > 0:
                while bot.pending and bot.pending[0]["update_id"] < offset:
                    bot.pending.popleft()
            elif offset < 0:
                while len(bot.pending) > -offset:
                    bot.pending.popleft()
            return list(itertools.islice(bot.pending, limit))

    def _require_no_webhook(self, bot: Bot) -> None:
        if bot.webhook is not None:
            raise BotApiError.conflict(
                "can't use getUpdates method while webhook is active; use deleteWebhook to delete "
                "the webhook first"
            )

    def start_long_poll(
        self, bot: Bot, offset: int, limit: int, *, wait: bool
    ) -> tuple[list[dict[str, Any]], PollWaiter | None]:
        """Updates now, or (when `wait` and there are none) a waiter registered under the same
        lock, so no update slips in between. A newer getUpdates ends the one still waiting, as
        a second instance of the bot would."""
        with self.lock:
            updates = self.poll(bot, offset, limit)
            if bot.poll is not None:
                bot.poll.wake("other getUpdates")
                bot.poll = None
            if updates or not wait:
                return updates, None
            bot.poll = PollWaiter()
            return updates, bot.poll

    def abandon_long_poll(self, bot: Bot, waiter: PollWaiter) -> None:
        with self.lock:
            if bot.poll is waiter:
                bot.poll = None

    def end_long_poll(self, bot: Bot, waiter: PollWaiter, limit: int) -> list[dict[str, Any]]:
        with self.lock:
            if bot.poll is waiter:
                bot.poll = None
            if waiter.ended_by == "other getUpdates":
                raise BotApiError.conflict(
                    "terminated by other getUpdates request; make sure that only one bot instance "
                    "is running"
                )
            if waiter.ended_by == "setWebhook":
                raise BotApiError.conflict("terminated by setWebhook request")
            if bot.webhook is not None or self.bots.get(bot.token) is not bot:
                return []
            return list(itertools.islice(bot.pending, limit))

    def pending(self, bot: Bot) -> list[dict[str, Any]]:
        with self.lock:
            return list(bot.pending)

    # -- webhooks --------------------------------------------------------------------------

    def set_webhook(
        self,
        bot: Bot,
        url: str,
        *,
        secret_token: str = "",
        max_connections: int = 40,
        allowed_updates: Any = None,
        drop_pending_updates: bool = False,
    ) -> str:
        """The description setWebhook answers with; an empty `url` deletes the webhook."""
        if not url:
            return self.delete_webhook(bot, drop_pending_updates=drop_pending_updates)
        target = self._check_webhook_url(url)
        if len(secret_token) > 256:
            raise BotApiError.bad_request("secret token is too long")
        if not _SECRET_TOKEN.match(secret_token):
            raise BotApiError.bad_request("secret token contains unallowed characters")
        with self.lock:
            current = bot.webhook
            self.choose_updates(bot, allowed_updates)
            if (
                current is not None
                and (current.url, current.secret_token, current.max_connections)
                == (url, secret_token, max_connections)
                and not drop_pending_updates
            ):
                return "Webhook is already set"
            if bot.poll is not None:
                bot.poll.wake("setWebhook")
            if drop_pending_updates:
                bot.pending.clear()
            bot.webhook = Webhook(
                url, secret_token, max_connections, target, next(self._webhook_generations)
            )
            bot.last_error_date = bot.last_error_message = None
            if bot.pending:
                self.on_webhook_update(bot.id)
            return "Webhook was set"

    def _check_webhook_url(self, url: str) -> str:
        """The IP address getWebhookInfo shows for `url` (a name is not resolved here)."""
        parts = urlsplit(url if "://" in url else "https://" + url)
        try:
            port = parts.port
        except ValueError:
            port = -1
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname or port == -1:
            raise BotApiError.bad_request("invalid webhook URL specified")
        if self.webhook_settings.https_only:
            if parts.scheme.lower() != "https":
                raise BotApiError.bad_request(
                    "bad webhook: An HTTPS URL must be provided for webhook"
                )
            if (port or 443) not in _WEBHOOK_PORTS:
                raise BotApiError.bad_request(
                    "bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443"
                )
        host = parts.hostname
        if host == "localhost":
            return "127.0.0.1"
        try:
            return str(ipaddress.ip_address(host))
        except ValueError:
            return "<unknown>"

    def delete_webhook(self, bot: Bot, *, drop_pending_updates: bool = False) -> str:
        with self.lock:
            if drop_pending_updates:
                bot.pending.clear()
            if bot.webhook is None:
                return "Webhook is already deleted"
            bot.webhook = None
            bot.last_error_date = bot.last_error_message = None
            return "Webhook was deleted"

    def webhook_info(self, bot: Bot) -> dict[str, Any]:
        with self.lock:
            hook = bot.webhook
            info: dict[str, Any] = {
                "url": hook.url if hook else "",
                "has_custom_certificate": False,
                "pending_update_count": len(bot.pending),
            }
            if bot.last_error_date is not None:
                info["last_error_date"] = bot.last_error_date
                info["last_error_message"] = bot.last_error_message
            if hook is not None:
                info["max_connections"] = hook.max_connections
                info["ip_address"] = hook.ip_address
            if bot.allowed_updates and bot.allowed_updates != DEFAULT_UPDATE_TYPES:
                info["allowed_updates"] = list(bot.allowed_updates)
            return info

    def next_webhook_job(self, bot_id: int) -> WebhookJob | None:
        with self.lock:
            bot = self.bot_by_id(bot_id)
            if bot is None or bot.webhook is None or not bot.pending:
                return None
            update = bot.pending[0]
            hook = bot.webhook
            return WebhookJob(
                bot.id, update["update_id"], hook.url, hook.secret_token, hook.generation, update
            )

    def is_current(self, job: WebhookJob) -> bool:
        """The job's webhook is still set and its update still waits for it."""
        with self.lock:
            bot = self.bot_by_id(job.bot_id)
            return (
                bot is not None
                and bot.webhook is not None
                and bot.webhook.generation == job.generation
                and any(update["update_id"] == job.update_id for update in bot.pending)
            )

    def webhook_done(self, job: WebhookJob) -> None:
        """Delivered, or given up on: either way it leaves the queue."""
        with self.lock:
            bot = self.bot_by_id(job.bot_id)
            if bot is not None:
                kept = [u for u in bot.pending if u["update_id"] != job.update_id]
                bot.pending.clear()
                bot.pending.extend(kept)

    def webhook_failed(self, job: WebhookJob, message: str) -> None:
        with self.lock:
            bot = self.bot_by_id(job.bot_id)
            if bot is not None and bot.webhook is not None:
                bot.last_error_date = self.now()
                bot.last_error_message = message

    def bots_with_webhook_updates(self) -> list[int]:
        with self.lock:
            return [bot.id for bot in self.bots.values() if bot.webhook and bot.pending]

    def block(self, bot: Bot, chat: Chat, blocked: bool) -> None:
        with self.lock:
            (bot.blocked_in.add if blocked else bot.blocked_in.discard)(chat.id)


def _leading_int(text: str) -> int:
    match = re.match(r"\s*([+-]?\d+)", text)
    return int(match.group(1)) if match else 0


def _sender(chat: Chat, from_user: dict[str, Any] | None) -> dict[str, Any]:
    """The `from` of a person's message: given, or the private chat's own person."""
    if from_user is not None:
        return {"is_bot": False, **from_user}
    if chat.type == "private":
        user: dict[str, Any] = {"id": chat.id, "is_bot": False, "first_name": chat.first_name or ""}
        if chat.last_name:
            user["last_name"] = chat.last_name
        if chat.username:
            user["username"] = chat.username
        return user
    return dict(_DEFAULT_GROUP_MEMBER)


def _has_callback_button(markup: dict[str, Any] | None, data: str) -> bool:
    rows: Iterable[list[dict[str, Any]]] = (markup or {}).get("inline_keyboard", [])
    return any(button.get("callback_data") == data for row in rows for button in row)
