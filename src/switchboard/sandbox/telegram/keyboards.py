"""`reply_markup`: inline keyboards (kept and echoed in the Message) and the other markups.

Only an inline keyboard is part of a Message as the Bot API returns it; a reply keyboard, its
removal or a force-reply are accepted (and validated) but never echoed. An inline button needs
`text` and exactly one action; a button with none is a "text button", which inline keyboards do
not allow. Error wording follows the official server.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from switchboard.sandbox.telegram.errors import BotApiError
from switchboard.sandbox.telegram.params import Params

#: Inline button actions, in the order the server looks for them.
_INLINE_ACTIONS = (
    "url",
    "callback_data",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "callback_game",
    "pay",
    "web_app",
    "copy_text",
)
_MAX_CALLBACK_DATA_BYTES = 64


@dataclass(frozen=True)
class Markup:
    inline: dict[str, Any] | None = None
    other: dict[str, Any] | None = None


NO_MARKUP = Markup()


def read_markup(params: Params) -> Markup:
    value = params.json("reply_markup", "Can't parse reply keyboard markup JSON object")
    if value is None:
        return NO_MARKUP
    if not isinstance(value, dict):
        raise BotApiError.bad_request("Object expected as reply markup")
    if value.get("keyboard") is not None:
        return Markup(other=_reply_keyboard(value))
    if value.get("inline_keyboard") is not None:
        rows = _inline_rows(value["inline_keyboard"])
        return Markup(inline={"inline_keyboard": rows} if any(rows) else None)
    if value.get("remove_keyboard") or value.get("hide_keyboard"):
        return Markup(other={"remove_keyboard": True})
    if value.get("force_reply") or value.get("force_reply_keyboard"):
        return Markup(other={"force_reply": True})
    return NO_MARKUP


def _reply_keyboard(value: dict[str, Any]) -> dict[str, Any]:
    rows = value["keyboard"]
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise BotApiError.bad_request('Field "keyboard" must be an Array of Arrays')
    for row in rows:
        for button in row:
            if isinstance(button, dict) and isinstance(button.get("text"), str):
                continue
            if not isinstance(button, str | dict):
                raise BotApiError.bad_request(
                    "Can't parse keyboard button: KeyboardButton must be a String or an Object"
                )
            if isinstance(button, dict):
                raise BotApiError.bad_request(
                    "Can't parse keyboard button: Can't find field \"text\""
                )
    return value


def _inline_rows(rows: Any) -> list[list[dict[str, Any]]]:
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise BotApiError.bad_request(
            'Field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays'
        )
    return [[_inline_button(button) for button in row] for row in rows]


def _inline_button(button: Any) -> dict[str, Any]:
    if not isinstance(button, dict):
        raise _button_error("InlineKeyboardButton must be an Object")
    text = button.get("text")
    if not isinstance(text, str):
        raise _button_error('Can\'t find field "text"')
    for action in _INLINE_ACTIONS:
        value = button.get(action)
        if value is None or value == "" or value is False:
            continue
        if action == "callback_data" and len(str(value).encode()) > _MAX_CALLBACK_DATA_BYTES:
            raise BotApiError.bad_request("BUTTON_DATA_INVALID")
        kept = {"text": text, action: value}
        for styling in ("icon_custom_emoji_id", "style"):
            if styling in button:
                kept[styling] = button[styling]
        return kept
    raise _button_error("Text buttons are unallowed in the inline keyboard")


def _button_error(message: str) -> BotApiError:
    return BotApiError.bad_request(f"Can't parse inline keyboard button: {message}")
