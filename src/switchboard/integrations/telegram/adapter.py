"""Telegram as a `CallCrm`: one message per call in each of the enterprise's chats, sent on the
call's first event and edited as the call moves on (ringing → talking → ended).

Settings, in `enterprises.integrations_config["telegram"]` (see `make_config`):

    {"enabled": true, "bot_token_encrypted": "<SecretBox token>",
     "chat_ids": [-1001000000001, ...], "api_url": "https://api.telegram.org"}   # api_url optional

Planning (pure): per chat, the call's first planned kind is `tg:<chat>:send`; every later event
plans `tg:<chat>:edit:<event type>:<n>`, `n` counting that chat's edits for events of the same
type (a transfer's second dial is a new edit, not a repeat of the first). Each payload holds the
chat and the whole text of that state, so any edit alone shows the call as it stands.

Delivering: the send's result is `{"chat_id", "message_id"}`; an edit finds the message id in
the results of the call's earlier deliveries (`earlier`) and answers the same. The delivery
service carries a call's deliveries out in order, so an edit never overtakes its send or an
earlier edit; "message is not modified" (the state shows the same text) is a success.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from switchboard.core.crypto import SecretBox
from switchboard.core.http import HttpKit
from switchboard.core.http.errors import PeerRejected
from switchboard.integrations.crm import Accounts, CallFacts, Planned
from switchboard.integrations.telegram import texts
from switchboard.integrations.telegram.client import (
    DEFAULT_API_URL,
    ChatId,
    JsonObject,
    TelegramBotClient,
)

NAME = "telegram"
PREFIX = "tg:"
_NUMERIC_CHAT = re.compile(r"^-?\d+$")
#: In the kind of an edit for a bridge: the call was answered (a later dial is a transfer).
_BRIDGE_EDIT = ":edit:bridge:"


def send_kind(chat: ChatId) -> str:
    return f"{PREFIX}{chat}:send"


def edit_prefix(chat: ChatId, event_type: str) -> str:
    return f"{PREFIX}{chat}:edit:{event_type}:"


def chat_ids(config: Mapping[str, Any]) -> list[ChatId]:
    """The chats to notify, in order, once each: numeric ids as ints (`"-100…"` too), anything
    else (`@channel`) as given; Telegram refuses what is no chat of the bot's."""
    listed = config.get("chat_ids") or []
    found: list[ChatId] = []
    for item in listed if isinstance(listed, list | tuple) else [listed]:
        if isinstance(item, bool):
            continue
        text = str(item).strip()
        if not text:
            continue
        chat: ChatId = int(text) if _NUMERIC_CHAT.match(text) else text
        if chat not in found:
            found.append(chat)
    return found


def make_config(
    secrets: SecretBox,
    *,
    bot_token: str,
    chat_ids: Sequence[ChatId],
    api_url: str | None = None,
    enabled: bool = True,
) -> dict[str, Any]:
    """An enterprise's `integrations_config["telegram"]`, the token encrypted at rest."""
    config: dict[str, Any] = {
        "enabled": enabled,
        "bot_token_encrypted": secrets.encrypt(bot_token),
        "chat_ids": list(chat_ids),
    }
    if api_url:
        config["api_url"] = api_url
    return config


def _message_id(earlier: Mapping[str, Mapping[str, Any]], chat: ChatId) -> int | None:
    """The id of the call's message in `chat`: the send's, else the latest one an earlier
    delivery of this chat reports (one that had to send the message itself)."""
    sent = earlier.get(send_kind(chat)) or {}
    if isinstance(sent.get("message_id"), int):
        return int(sent["message_id"])
    prefix = f"{PREFIX}{chat}:"
    known = [
        int(result["message_id"])
        for kind, result in earlier.items()
        if kind.startswith(prefix) and isinstance(result.get("message_id"), int)
    ]
    return max(known) if known else None


class TelegramNotifier:
    """The `telegram` CallCrm. Each enterprise has its own bot, so its own HTTP client and
    circuit breaker (`telegram:<enterprise>`) and a limit on concurrent calls."""

    name = NAME
    always_enabled = False

    def __init__(
        self,
        kit: HttpKit,
        secrets: SecretBox,
        *,
        timeout: float = 5.0,
        attempts: int = 2,
        concurrency: int = 4,
    ) -> None:
        self.kit = kit
        self.secrets = secrets
        self.timeout = timeout
        self.attempts = attempts
        self.accounts: Accounts[TelegramBotClient] = Accounts(secrets, concurrency=concurrency)

    # --- planning (pure) -------------------------------------------------------------------

    def plan(self, facts: CallFacts, config: Mapping[str, Any]) -> list[Planned]:
        text = texts.call_text(
            facts.event_type,
            facts.raw,
            record_url=facts.record_url,
            answered_before=any(_BRIDGE_EDIT in kind for kind in facts.planned),
        )
        if text is None:
            return []
        return [self._plan_chat(facts, chat, text) for chat in chat_ids(config)]

    @staticmethod
    def _plan_chat(facts: CallFacts, chat: ChatId, text: str) -> Planned:
        payload = {"chat_id": chat, "text": text}
        if send_kind(chat) not in facts.planned:
            return Planned(send_kind(chat), payload, lane=str(chat))
        prefix = edit_prefix(chat, facts.event_type)
        done = sum(1 for kind in facts.planned if kind.startswith(prefix))
        return Planned(f"{prefix}{done + 1}", payload, lane=str(chat))

    # --- delivering ------------------------------------------------------------------------

    async def deliver(
        self,
        enterprise_number: str,
        config: Mapping[str, Any],
        planned: Planned,
        earlier: Mapping[str, Mapping[str, Any]],
    ) -> Mapping[str, Any]:
        chat: ChatId = planned.payload["chat_id"]
        text = str(planned.payload["text"])
        client = self._client(enterprise_number, config)
        async with self.accounts.gate(enterprise_number):
            message_id = None if planned.kind == send_kind(chat) else _message_id(earlier, chat)
            if message_id is None:
                # The send itself, or an edit whose send never happened (the integration was
                # off when the call began): the message is posted now and later edits find it.
                message = await client.send_message(chat, text, max_attempts=self.attempts)
                return {"chat_id": chat, "message_id": message["message_id"]}
            edited = await client.edit_message_text(
                chat, message_id, text, max_attempts=self.attempts
            )
            result: dict[str, Any] = {"chat_id": chat, "message_id": message_id}
            if edited is None:
                result["not_modified"] = True
            return result

    async def bot(self, enterprise_number: str, config: Mapping[str, Any]) -> JsonObject:
        """The enterprise's bot as Telegram knows it (`getMe`): a test of the settings."""
        return await self._client(enterprise_number, config).get_me()

    def _client(self, enterprise_number: str, config: Mapping[str, Any]) -> TelegramBotClient:
        target = f"{NAME}:{enterprise_number}"
        encrypted = str(config.get("bot_token_encrypted") or "")
        api_url = str(config.get("api_url") or DEFAULT_API_URL).rstrip("/")
        if not encrypted:
            raise PeerRejected(target, "the integration has no bot token")
        if not api_url.startswith(("https://", "http://")):
            raise PeerRejected(target, "api_url is not an http(s) URL")
        return self.accounts.client(
            target,
            enterprise_number,
            api_url,
            encrypted,
            lambda token: TelegramBotClient.connect(
                self.kit, target=target, token=token, api_url=api_url, timeout=self.timeout
            ),
        )

    async def aclose(self) -> None:
        await self.accounts.aclose()
