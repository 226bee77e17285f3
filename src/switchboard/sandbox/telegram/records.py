"""What the emulator remembers, and each record's Bot API JSON (field order as the server's)."""

from __future__ import annotations

import asyncio
import contextlib
import copy
from collections import deque
from dataclasses import dataclass, field
from typing import Any

#: Update types a bot gets when it never chose (`allowed_updates` unset or empty).
DEFAULT_UPDATE_TYPES = (
    "message", "edited_message", "channel_post", "edited_channel_post", "business_connection",
    "business_message", "edited_business_message", "deleted_business_messages", "inline_query",
    "chosen_inline_result", "callback_query", "shipping_query", "pre_checkout_query",
    "purchased_paid_media", "poll", "poll_answer", "my_chat_member", "chat_join_request",
    "chat_boost", "removed_chat_boost",
)  # fmt: skip
#: Types a bot gets only when it asks for them.
OPT_IN_UPDATE_TYPES = ("chat_member", "message_reaction", "message_reaction_count")
CHAT_TYPES = ("private", "group", "supergroup", "channel")


@dataclass
class Chat:
    id: int
    type: str
    title: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    username: str | None = None
    is_forum: bool = False
    next_message_id: int = 1

    def as_json(self) -> dict[str, Any]:
        """The Chat object inside messages and updates."""
        data: dict[str, Any] = {"id": self.id}
        if self.type == "private":
            data["first_name"] = self.first_name or ""
            if self.last_name:
                data["last_name"] = self.last_name
            if self.username:
                data["username"] = self.username
        else:
            data["title"] = self.title or ""
            if self.username and self.type != "group":
                data["username"] = self.username
            if self.is_forum and self.type == "supergroup":
                data["is_forum"] = True
        data["type"] = self.type
        if self.type == "group":
            data["all_members_are_administrators"] = False
        return data

    def full_json(self) -> dict[str, Any]:
        """ChatFullInfo, what getChat answers."""
        data = self.as_json()
        data.pop("all_members_are_administrators", None)
        if self.type == "private":
            data["can_send_gift"] = True
            if self.username:
                data["active_usernames"] = [self.username]
        elif self.username:
            data["active_usernames"] = [self.username]
        gifts = self.type == "private"
        data["accepted_gift_types"] = {
            "unlimited_gifts": gifts,
            "limited_gifts": gifts,
            "unique_gifts": gifts,
            "premium_subscription": gifts,
            "gifts_from_channels": gifts,
        }
        data["max_reaction_count"] = 11
        data["accent_color_id"] = abs(self.id) % 7
        return data


@dataclass(frozen=True)
class Revision:
    """One version of a message: as sent, then after each edit."""

    text: str
    entities: tuple[dict[str, Any], ...]
    reply_markup: dict[str, Any] | None
    at: int


@dataclass
class StoredMessage:
    chat: Chat | None  # None: an inline message (only its id is known to the bot)
    message_id: int
    date: int
    sender: dict[str, Any] | None  # the `from` User; None for a channel post
    bot_id: int | None  # the bot that sent it; None when a person did
    text: str
    entities: tuple[dict[str, Any], ...] = ()
    reply_markup: dict[str, Any] | None = None  # an inline keyboard, echoed in the Message
    other_markup: dict[str, Any] | None = None  # reply keyboard, removal or force reply: kept only
    reply_to: StoredMessage | None = None
    thread_id: int | None = None
    link_preview_options: dict[str, Any] | None = None
    disable_notification: bool = False
    protect_content: bool = False
    edit_date: int | None = None
    deleted: bool = False
    versions: list[Revision] = field(default_factory=list)

    def as_json(self, *, with_reply: bool = True) -> dict[str, Any]:
        data: dict[str, Any] = {"message_id": self.message_id}
        if self.sender is not None:
            data["from"] = self.sender
        elif self.chat is not None and self.chat.type == "channel":
            data["sender_chat"] = self.chat.as_json()
        if self.chat is not None:
            data["chat"] = self.chat.as_json()
        data["date"] = self.date
        if self.edit_date is not None:
            data["edit_date"] = self.edit_date
        if self.thread_id is not None:
            data["message_thread_id"] = self.thread_id
            data["is_topic_message"] = True
        if with_reply and self.reply_to is not None and not self.reply_to.deleted:
            data["reply_to_message"] = self.reply_to.as_json(with_reply=False)
        data["text"] = self.text
        if self.entities:
            data["entities"] = list(self.entities)
        if self.link_preview_options:
            data["link_preview_options"] = self.link_preview_options
        if self.protect_content:
            data["has_protected_content"] = True
        if self.reply_markup is not None:
            data["reply_markup"] = self.reply_markup
        return data

    def revise(
        self,
        text: str,
        entities: tuple[dict[str, Any], ...],
        markup: dict[str, Any] | None,
        at: int,
    ) -> None:
        """The message's content now; every version is kept, the first being as sent."""
        self.text, self.entities, self.reply_markup = text, entities, markup
        self.versions.append(Revision(text, entities, markup, at))


@dataclass(frozen=True)
class MessageView:
    """A message as tests and the demo read it: current state plus every version."""

    chat_id: int | None
    message_id: int
    date: int
    text: str
    entities: tuple[dict[str, Any], ...]
    reply_markup: dict[str, Any] | None
    bot_id: int | None
    sender: dict[str, Any] | None
    edit_date: int | None
    deleted: bool
    disable_notification: bool
    reply_to_message_id: int | None
    message_thread_id: int | None
    versions: tuple[Revision, ...]
    json: dict[str, Any]

    @property
    def edits(self) -> tuple[Revision, ...]:
        """The versions after the first, oldest first."""
        return self.versions[1:]

    @classmethod
    def of(cls, message: StoredMessage) -> MessageView:
        """A snapshot: later edits, and changes to what it holds, leave the other alone."""
        message = copy.deepcopy(message)
        return cls(
            chat_id=message.chat.id if message.chat is not None else None,
            message_id=message.message_id,
            date=message.date,
            text=message.text,
            entities=message.entities,
            reply_markup=message.reply_markup,
            bot_id=message.bot_id,
            sender=message.sender,
            edit_date=message.edit_date,
            deleted=message.deleted,
            disable_notification=message.disable_notification,
            reply_to_message_id=message.reply_to.message_id if message.reply_to else None,
            message_thread_id=message.thread_id,
            versions=tuple(message.versions),
            json=message.as_json(),
        )


@dataclass
class Webhook:
    url: str
    secret_token: str
    max_connections: int
    ip_address: str
    generation: int


@dataclass
class CallbackQuery:
    id: str
    bot_id: int
    update: dict[str, Any]
    answer: dict[str, Any] | None = None


class PollWaiter:
    """One getUpdates long poll, woken from any thread by a new update or by what ends it."""

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.event = asyncio.Event()
        #: None while it waits for updates; else why it must answer 409.
        self.ended_by: str | None = None

    def wake(self, ended_by: str | None = None) -> None:
        if ended_by is not None and self.ended_by is None:
            self.ended_by = ended_by
        with contextlib.suppress(RuntimeError):  # the server's loop is gone: nobody waits
            self.loop.call_soon_threadsafe(self.event.set)


@dataclass
class Bot:
    id: int
    token: str
    username: str
    first_name: str
    can_join_groups: bool = True
    can_read_all_group_messages: bool = False
    supports_inline_queries: bool = False
    next_update_id: int = 1
    pending: deque[dict[str, Any]] = field(default_factory=deque)
    allowed_updates: tuple[str, ...] | None = None
    webhook: Webhook | None = None
    last_error_date: int | None = None
    last_error_message: str | None = None
    poll: PollWaiter | None = None
    blocked_in: set[int] = field(default_factory=set)

    def user_json(self, *, full: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "is_bot": True,
            "first_name": self.first_name,
            "username": self.username,
        }
        if full:
            data |= {
                "can_join_groups": self.can_join_groups,
                "can_read_all_group_messages": self.can_read_all_group_messages,
                "supports_inline_queries": self.supports_inline_queries,
                "can_connect_to_business": False,
                "has_main_web_app": False,
            }
        return data

    def wants(self, update_type: str) -> bool:
        chosen = self.allowed_updates
        return update_type in (chosen if chosen else DEFAULT_UPDATE_TYPES)
