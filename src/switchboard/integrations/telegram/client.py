"""The wire side of the Telegram Bot API: `POST <api_url>/bot<TOKEN>/<method>` with a JSON body,
answered `{"ok": true, "result": …}` or `{"ok": false, "error_code": N, "description": "…",
"parameters": {"retry_after": N, "migrate_to_chat_id": N}}`.

The bot token is part of every URL, so it is handed to the adapter kit as a secret: log lines,
errors and metrics show `***` in its place.

How answers read:
- 429 → `RateLimited` with Telegram's `parameters.retry_after`. The kit never waits it out inside
  a call (its retry policy here has `max_retry_after=0`): the caller's queue reschedules the
  work, so a slot is not held and a lease cannot run out while a group's minute passes;
- 5xx, timeouts, connection failures → `PeerUnavailable` (retriable);
- 401 → `PeerUnauthorized` (the token is wrong or revoked); other 4xx → `PeerRejected` with
  Telegram's description ("Forbidden: bot was kicked from the supergroup chat"); a group that
  became a supergroup says its new id;
- 400 "message is not modified" is what an edit to the text a message already shows gets:
  `edit_message_text` answers None for it, a success.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import httpx
import orjson

from switchboard.core.http import HttpKit, ServiceClient
from switchboard.core.http.client import parse_retry_after, status_classifier
from switchboard.core.http.errors import (
    IntegrationError,
    PeerRejected,
    PeerUnauthorized,
    PeerUnavailable,
    RateLimited,
)

JsonObject = dict[str, Any]
ChatId = int | str

DEFAULT_API_URL = "https://api.telegram.org"
#: `123456789:AAE…`: the bot's id, a colon, the secret. Anything else could change the URL's path.
_TOKEN = re.compile(r"^\d+:[A-Za-z0-9_-]+$")
_NOT_MODIFIED = "message is not modified"
#: Characters of Telegram's description kept in an error.
_DESCRIPTION_LIMIT = 500

_classify_status = status_classifier()


def _envelope(response: httpx.Response) -> JsonObject | None:
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return None
    return body if isinstance(body, dict) else None


def _description(envelope: JsonObject | None) -> str:
    if envelope is None:
        return ""
    return str(envelope.get("description") or "")[:_DESCRIPTION_LIMIT]


def _parameters(envelope: JsonObject | None) -> JsonObject:
    parameters = (envelope or {}).get("parameters")
    return parameters if isinstance(parameters, dict) else {}


def _retry_after(envelope: JsonObject | None, response: httpx.Response) -> float | None:
    value = _parameters(envelope).get("retry_after")
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return float(value)
    return parse_retry_after(response.headers.get("retry-after"))


def is_not_modified(description: str) -> bool:
    return _NOT_MODIFIED in description.lower()


def classify_telegram(target: str, response: httpx.Response) -> IntegrationError | None:
    """Telegram's answer as one of our errors (None: a success, or "message is not modified",
    which the caller reads from the envelope)."""
    status = response.status_code
    if status < 400:
        return None
    envelope = _envelope(response)
    description = _description(envelope)
    if status == 400 and is_not_modified(description):
        return None
    if status == 429:
        return RateLimited(
            target,
            f"rate limited (429): {description or 'too many requests'}",
            retry_after=_retry_after(envelope, response),
            status_code=status,
            body=response.text,
        )
    if status == 401:
        return PeerUnauthorized(
            target, f"the bot token was refused (401): {description}", status_code=status
        )
    error = _classify_status(target, response)
    if error is None:  # pragma: no cover - every status >= 400 is classified
        return None
    if status == 403:
        # "bot was kicked from the group", "bot can't initiate conversation with a user": a
        # refusal of this chat, not of our credentials.
        error = PeerRejected(target, "forbidden (403)", status_code=status, body=error.body)
    if description:
        error.message = f"{error.message}: {description}"
    moved_to = _parameters(envelope).get("migrate_to_chat_id")
    if moved_to is not None:
        error.message = f"{error.message} (the group is now the supergroup {moved_to})"
    return error


class TelegramBotClient:
    """One bot's Bot API, for one enterprise (`target` names it in logs and breakers)."""

    def __init__(self, service: ServiceClient) -> None:
        self.service = service

    @classmethod
    def connect(
        cls,
        kit: HttpKit,
        *,
        target: str,
        token: str,
        api_url: str = DEFAULT_API_URL,
        timeout: float = 5.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> TelegramBotClient:
        if not _TOKEN.match(token):
            # Not echoed: a mistyped token is still mostly the secret.
            raise PeerUnauthorized(target, "the bot token does not look like '<bot id>:<secret>'")
        # Built here rather than by `kit.client` for one difference: a 429 is never waited out
        # inside the call (see the module's docstring); everything else is the kit's.
        service = ServiceClient(
            target,
            f"{api_url.rstrip('/')}/bot{token}/",
            metrics=kit.metrics,
            breakers=kit.breakers,
            retry=replace(kit.retry, max_retry_after=0.0),
            timeout=timeout,
            secrets=[token],
            classify=classify_telegram,
            transport=transport,
            sleep=kit.sleep,
        )
        return cls(service)

    @property
    def target(self) -> str:
        return self.service.target

    async def _post(
        self,
        method: str,
        params: JsonObject,
        *,
        idempotent: bool = False,
        max_attempts: int | None = None,
    ) -> JsonObject:
        """The envelope of a call that Telegram answered (ok or "not modified")."""
        response = await self.service.request(
            "POST", method, json=params, idempotent=idempotent, max_attempts=max_attempts
        )
        envelope = _envelope(response)
        if envelope is None or "ok" not in envelope:
            raise PeerUnavailable(self.target, f"{method} answered with no Bot API envelope")
        return envelope

    def _result(self, method: str, envelope: JsonObject) -> Any:
        if envelope.get("ok") is True:
            return envelope.get("result")
        code = envelope.get("error_code")
        raise PeerRejected(
            self.target,
            f"{method} refused: {_description(envelope) or 'no reason given'}",
            status_code=code if isinstance(code, int) else None,
        )

    async def get_me(self) -> JsonObject:
        """The bot itself (`id`, `username`, …): what a connection test asks."""
        result = self._result("getMe", await self._post("getMe", {}, idempotent=True))
        if not isinstance(result, dict):
            raise PeerUnavailable(self.target, "getMe answered with no User")
        return result

    async def send_message(
        self,
        chat_id: ChatId,
        text: str,
        *,
        parse_mode: str = "HTML",
        disable_link_preview: bool = True,
        disable_notification: bool = False,
        max_attempts: int | None = None,
    ) -> JsonObject:
        """Post `text`; the Message (with its `message_id`). Not repeated inside the call after
        an answer that may mean it was posted (a 500, a timeout): a duplicate is for the
        caller's queue to risk, not for a loop here."""
        params = self._text_params(chat_id, text, parse_mode, disable_link_preview)
        if disable_notification:
            params["disable_notification"] = True
        envelope = await self._post("sendMessage", params, max_attempts=max_attempts)
        return self._message("sendMessage", envelope)

    async def edit_message_text(
        self,
        chat_id: ChatId,
        message_id: int,
        text: str,
        *,
        parse_mode: str = "HTML",
        disable_link_preview: bool = True,
        max_attempts: int | None = None,
    ) -> JsonObject | None:
        """Show `text` in the message; the edited Message, or None when it already showed
        exactly that (Telegram's "message is not modified"). Safe to repeat."""
        params = self._text_params(chat_id, text, parse_mode, disable_link_preview)
        params["message_id"] = message_id
        envelope = await self._post(
            "editMessageText", params, idempotent=True, max_attempts=max_attempts
        )
        if envelope.get("ok") is not True and is_not_modified(_description(envelope)):
            return None
        return self._message("editMessageText", envelope)

    @staticmethod
    def _text_params(
        chat_id: ChatId, text: str, parse_mode: str, disable_link_preview: bool
    ) -> JsonObject:
        params: JsonObject = {"chat_id": chat_id, "text": text, "parse_mode": parse_mode}
        if disable_link_preview:
            params["link_preview_options"] = {"is_disabled": True}
        return params

    def _message(self, method: str, envelope: JsonObject) -> JsonObject:
        result = self._result(method, envelope)
        if not isinstance(result, dict) or not isinstance(result.get("message_id"), int):
            raise PeerUnavailable(self.target, f"{method} answered with no Message")
        return result

    async def aclose(self) -> None:
        await self.service.aclose()
