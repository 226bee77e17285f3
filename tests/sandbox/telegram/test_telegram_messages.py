"""sendMessage, editMessageText, editMessageReplyMarkup, deleteMessage, getChat, chat actions."""

from __future__ import annotations

import time
from typing import Any

import httpx
import orjson
import pytest

from .support import BOT_ID, CHANNEL, GROUP, PERSON, SUPERGROUP, TOKEN, Telegram, failed, ok

KEYBOARD = {"inline_keyboard": [[{"text": "Take", "callback_data": "take:1"}]]}
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)


def send(api: httpx.Client, **params: object) -> Any:
    return ok(api.post("/sendMessage", json={"chat_id": PERSON, **params}))


# -- sendMessage ---------------------------------------------------------------------------


def test_send_message_returns_the_message_from_the_bot(api: httpx.Client) -> None:
    before = int(time.time())
    message = send(api, text="Incoming call from +7 900 000-00-00")
    assert message["message_id"] == 1
    assert message["from"] == {
        "id": BOT_ID,
        "is_bot": True,
        "first_name": "Switchboard",
        "username": "switchboard_sandbox_bot",
    }
    assert message["chat"] == {
        "id": PERSON,
        "first_name": "Ann",
        "last_name": "Lee",
        "username": "ann_lee",
        "type": "private",
    }
    assert before <= int(message["date"]) <= int(time.time())
    assert message["text"] == "Incoming call from +7 900 000-00-00"
    assert "reply_markup" not in message
    assert "edit_date" not in message


def test_message_ids_grow_per_chat(api: httpx.Client) -> None:
    ids = [send(api, text=f"n{n}")["message_id"] for n in range(3)]
    in_group = ok(api.post("/sendMessage", json={"chat_id": GROUP, "text": "g"}))["message_id"]
    assert ids == [1, 2, 3]
    assert in_group == 1


def test_group_and_channel_messages_have_the_right_sender(api: httpx.Client) -> None:
    group = ok(api.post("/sendMessage", json={"chat_id": GROUP, "text": "to the group"}))
    assert group["from"]["id"] == BOT_ID
    assert group["chat"] == {
        "id": GROUP,
        "title": "Operators",
        "type": "group",
        "all_members_are_administrators": False,
    }
    post = ok(api.post("/sendMessage", json={"chat_id": CHANNEL, "text": "to the channel"}))
    assert "from" not in post
    assert (
        post["sender_chat"]
        == post["chat"]
        == {
            "id": CHANNEL,
            "title": "News",
            "username": "sb_news",
            "type": "channel",
        }
    )


def test_a_channel_can_be_named_by_its_username(api: httpx.Client) -> None:
    message = ok(api.post("/sendMessage", data={"chat_id": "@SB_news", "text": "by name"}))
    assert message["chat"]["id"] == CHANNEL


@pytest.mark.parametrize("chat_id", ["-5", "@nobody_here", "abc"])
def test_an_unknown_chat_is_not_found(api: httpx.Client, chat_id: str) -> None:
    response = api.post("/sendMessage", data={"chat_id": chat_id, "text": "x"})
    assert failed(response, 400) == "Bad Request: chat not found"


def test_a_missing_chat_id_is_empty(api: httpx.Client) -> None:
    assert failed(api.post("/sendMessage", data={"text": "x"}), 400) == (
        "Bad Request: chat_id is empty"
    )


def test_text_is_checked_before_the_chat(api: httpx.Client) -> None:
    response = api.post("/sendMessage", data={"chat_id": "-5", "text": ""})
    assert failed(response, 400) == "Bad Request: message text is empty"


def test_text_limits(api: httpx.Client) -> None:
    assert failed(api.post("/sendMessage", data={"chat_id": PERSON}), 400) == (
        "Bad Request: message text is empty"
    )
    assert failed(api.post("/sendMessage", data={"chat_id": PERSON, "text": " \n "}), 400) == (
        "Bad Request: text must be non-empty"
    )
    too_long = {"chat_id": PERSON, "text": "я" * 4097}
    assert failed(api.post("/sendMessage", data=too_long), 400) == (
        "Bad Request: message is too long"
    )
    assert len(send(api, text="я" * 4096)["text"]) == 4096


def test_text_is_trimmed_as_telegram_trims_it(api: httpx.Client) -> None:
    assert send(api, text="\n  hello  \n")["text"] == "hello"


def test_html_becomes_text_and_entities(api: httpx.Client) -> None:
    message = send(
        api,
        text='<b>Call</b> from <a href="https://crm.example/c/1">Ann</a> 😀 <code>+79000</code>',
        parse_mode="HTML",
    )
    assert message["text"] == "Call from Ann 😀 +79000"
    assert message["entities"] == [
        {"offset": 0, "length": 4, "type": "bold"},
        {"offset": 10, "length": 3, "type": "text_link", "url": "https://crm.example/c/1"},
        {"offset": 17, "length": 6, "type": "code"},  # the emoji counts 2 UTF-16 units
    ]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("<b>open", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("<blink>x</blink>", 'Unsupported start tag "blink" at byte offset 0'),
        ("1 < 2", 'Unsupported start tag "" at byte offset 2'),
        ("тест </b>", "Unexpected end tag at byte offset 9"),
        ("<span>x</span>", 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
    ],
)
def test_bad_html_cannot_be_parsed(api: httpx.Client, text: str, problem: str) -> None:
    response = api.post(
        "/sendMessage", json={"chat_id": PERSON, "text": text, "parse_mode": "HTML"}
    )
    assert failed(response, 400) == f"Bad Request: can't parse entities: {problem}"


def test_html_entities_are_decoded(api: httpx.Client) -> None:
    message = send(api, text="1 &lt; 2 &amp;&amp; 3 &gt; 2 &#8470;", parse_mode="html")
    assert message["text"] == "1 < 2 && 3 > 2 №"
    assert "entities" not in message


def test_markdown_v2_needs_reserved_characters_escaped(api: httpx.Client) -> None:
    response = api.post(
        "/sendMessage", json={"chat_id": PERSON, "text": "Call ended.", "parse_mode": "MarkdownV2"}
    )
    assert failed(response, 400) == (
        "Bad Request: can't parse entities: Character '.' is reserved and must be escaped with "
        "the preceding '\\'"
    )
    message = send(api, text="*Call* ended\\. ||spoiler|| __u__", parse_mode="MarkdownV2")
    assert message["text"] == "Call ended. spoiler u"
    assert message["entities"] == [
        {"offset": 0, "length": 4, "type": "bold"},
        {"offset": 12, "length": 7, "type": "spoiler"},
        {"offset": 20, "length": 1, "type": "underline"},
    ]
    unclosed = {"chat_id": PERSON, "text": "a *b", "parse_mode": "MarkdownV2"}
    assert failed(api.post("/sendMessage", json=unclosed), 400) == (
        "Bad Request: can't parse entities: Can't find end of Bold entity at byte offset 2"
    )


def test_legacy_markdown(api: httpx.Client) -> None:
    message = send(api, text="*bold* and [link](http://example.org)", parse_mode="Markdown")
    assert message["text"] == "bold and link"
    assert message["entities"] == [
        {"offset": 0, "length": 4, "type": "bold"},
        {"offset": 9, "length": 4, "type": "text_link", "url": "http://example.org/"},
    ]
    unclosed = {"chat_id": PERSON, "text": "x _y", "parse_mode": "Markdown"}
    assert failed(api.post("/sendMessage", json=unclosed), 400) == (
        "Bad Request: can't parse entities: Can't find end of the entity starting at byte offset 2"
    )


def test_an_unknown_parse_mode_is_refused(api: httpx.Client) -> None:
    response = api.post("/sendMessage", json={"chat_id": PERSON, "text": "x", "parse_mode": "BB"})
    assert failed(response, 400) == "Bad Request: unsupported parse_mode"


def test_plain_text_gets_the_entities_telegram_finds(api: httpx.Client) -> None:
    message = send(api, text="See https://example.org or /help")
    assert message["entities"] == [
        {"offset": 4, "length": 19, "type": "url"},
        {"offset": 27, "length": 5, "type": "bot_command"},
    ]


def test_explicit_entities_are_kept(api: httpx.Client) -> None:
    entities = [{"type": "bold", "offset": 0, "length": 4}]
    message = send(api, text="Call me", entities=entities)
    assert message["entities"] == [{"offset": 0, "length": 4, "type": "bold"}]


def test_inline_keyboard_as_json_text_or_object_is_kept(api: httpx.Client) -> None:
    as_object = send(api, text="a", reply_markup=KEYBOARD)
    form = {"chat_id": PERSON, "text": "b", "reply_markup": orjson.dumps(KEYBOARD).decode()}
    as_text = ok(api.post("/sendMessage", data=form))
    assert as_object["reply_markup"] == as_text["reply_markup"] == KEYBOARD


def test_other_keyboards_are_accepted_but_not_part_of_the_message(api: httpx.Client) -> None:
    keyboard = {"keyboard": [["Yes", {"text": "No"}]], "resize_keyboard": True}
    assert "reply_markup" not in send(api, text="Pick", reply_markup=keyboard)
    assert "reply_markup" not in send(api, text="Gone", reply_markup={"remove_keyboard": True})


@pytest.mark.parametrize(
    ("markup", "problem"),
    [
        ("{not json", "can't parse reply keyboard markup JSON object"),
        ("[1]", "object expected as reply markup"),
        (
            '{"inline_keyboard": [{"text": "x"}]}',
            'field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays',
        ),
        (
            '{"inline_keyboard": [[{"text": "x"}]]}',
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard",
        ),
        (
            '{"inline_keyboard": [[{"callback_data": "x"}]]}',
            "can't parse inline keyboard button: Can't find field \"text\"",
        ),
        (
            '{"inline_keyboard": [[{"text": "x", "callback_data": "' + "d" * 65 + '"}]]}',
            "BUTTON_DATA_INVALID",
        ),
    ],
)
def test_bad_markup_is_refused(api: httpx.Client, markup: str, problem: str) -> None:
    response = api.post(
        "/sendMessage", data={"chat_id": PERSON, "text": "x", "reply_markup": markup}
    )
    assert failed(response, 400) == f"Bad Request: {problem}"


def test_replies_carry_the_message_they_answer(api: httpx.Client) -> None:
    first = send(api, text="Missed call")
    reply = send(api, text="Called back", reply_parameters={"message_id": first["message_id"]})
    assert reply["reply_to_message"]["message_id"] == first["message_id"]
    assert reply["reply_to_message"]["text"] == "Missed call"
    legacy = send(api, text="Again", reply_to_message_id=first["message_id"])
    assert legacy["reply_to_message"]["message_id"] == first["message_id"]


def test_replying_to_a_missing_message(api: httpx.Client) -> None:
    response = api.post(
        "/sendMessage",
        json={"chat_id": PERSON, "text": "x", "reply_parameters": {"message_id": 99}},
    )
    assert failed(response, 400) == "Bad Request: message to be replied not found"
    allowed = {"message_id": 99, "allow_sending_without_reply": True}
    assert "reply_to_message" not in send(api, text="x", reply_parameters=allowed)


def test_options_are_kept_with_the_message(tg: Telegram, api: httpx.Client) -> None:
    message = send(
        api,
        text="quiet https://example.org",
        disable_notification=True,
        protect_content=True,
        link_preview_options={"is_disabled": True},
    )
    assert message["link_preview_options"] == {"is_disabled": True}
    assert message["has_protected_content"] is True
    assert tg.emulator.message(PERSON, 1).disable_notification is True


def test_thread_ids_are_echoed_in_forums_only(tg: Telegram, api: httpx.Client) -> None:
    tg.emulator.add_chat(-1005555, "supergroup", title="Desk", is_forum=True)
    topic = ok(
        api.post("/sendMessage", json={"chat_id": -1005555, "text": "t", "message_thread_id": 3})
    )
    assert topic["message_thread_id"] == 3
    assert topic["is_topic_message"] is True
    plain = ok(
        api.post("/sendMessage", json={"chat_id": SUPERGROUP, "text": "t", "message_thread_id": 3})
    )
    assert "message_thread_id" not in plain


def test_a_blocked_bot_is_forbidden(tg: Telegram, api: httpx.Client) -> None:
    tg.emulator.block_bot(TOKEN, PERSON)
    tg.emulator.block_bot(TOKEN, GROUP)
    response = api.post("/sendMessage", json={"chat_id": PERSON, "text": "x"})
    assert failed(response, 403) == "Forbidden: bot was blocked by the user"
    response = api.post("/sendMessage", json={"chat_id": GROUP, "text": "x"})
    assert failed(response, 403) == "Forbidden: bot was kicked from the group chat"
    tg.emulator.block_bot(TOKEN, PERSON, blocked=False)
    assert send(api, text="unblocked")["message_id"] == 1


# -- editMessageText -----------------------------------------------------------------------


def test_edits_change_the_text_and_keep_the_history(tg: Telegram, api: httpx.Client) -> None:
    sent = send(api, text="📞 Ringing", reply_markup=KEYBOARD)
    edited = ok(
        api.post(
            "/editMessageText",
            json={
                "chat_id": PERSON,
                "message_id": sent["message_id"],
                "text": "<b>Answered</b>",
                "parse_mode": "HTML",
                "reply_markup": KEYBOARD,
            },
        )
    )
    assert edited["text"] == "Answered"
    assert edited["entities"] == [{"offset": 0, "length": 8, "type": "bold"}]
    assert edited["reply_markup"] == KEYBOARD
    assert edited["date"] == sent["date"]
    assert edited["edit_date"] >= sent["date"]
    ended = ok(
        api.post("/editMessageText", json={"chat_id": PERSON, "message_id": 1, "text": "Ended"})
    )
    assert "reply_markup" not in ended  # an edit without reply_markup removes the keyboard

    [view] = tg.emulator.messages(PERSON)
    assert view.text == "Ended"
    assert view.reply_markup is None
    assert [version.text for version in view.versions] == ["📞 Ringing", "Answered", "Ended"]
    assert [version.reply_markup for version in view.edits] == [KEYBOARD, None]
    assert view.json == ended


def test_the_same_content_again_is_not_modified(api: httpx.Client) -> None:
    send(api, text="<b>Ringing</b>", parse_mode="HTML", reply_markup=KEYBOARD)
    same = {
        "chat_id": PERSON,
        "message_id": 1,
        "text": "*Ringing*",
        "parse_mode": "MarkdownV2",
        "reply_markup": KEYBOARD,
    }
    assert failed(api.post("/editMessageText", json=same), 400) == NOT_MODIFIED
    other_markup = {
        **same,
        "reply_markup": {"inline_keyboard": [[{"text": "Drop", "callback_data": "d"}]]},
    }
    assert ok(api.post("/editMessageText", json=other_markup))["text"] == "Ringing"


@pytest.mark.parametrize(
    ("params", "code", "description"),
    [
        (
            {"chat_id": PERSON, "message_id": 77, "text": "x"},
            400,
            "Bad Request: message to edit not found",
        ),
        ({"chat_id": PERSON, "text": "x"}, 400, "Bad Request: message to edit not found"),
        ({"chat_id": -9, "message_id": 1, "text": "x"}, 400, "Bad Request: chat not found"),
        ({"text": "x"}, 400, "Bad Request: message identifier is not specified"),
        ({"inline_message_id": "nope", "text": "x"}, 400, "Bad Request: MESSAGE_ID_INVALID"),
        ({"chat_id": PERSON, "message_id": 1}, 400, "Bad Request: message text is empty"),
    ],
)
def test_edit_errors(
    api: httpx.Client, params: dict[str, object], code: int, description: str
) -> None:
    send(api, text="there")
    assert failed(api.post("/editMessageText", json=params), code) == description


def test_only_the_bots_own_messages_can_be_edited(tg: Telegram, api: httpx.Client) -> None:
    tg.emulator.user_sends(TOKEN, PERSON, "hello bot")
    response = api.post("/editMessageText", json={"chat_id": PERSON, "message_id": 1, "text": "x"})
    assert failed(response, 400) == "Bad Request: message can't be edited"


def test_inline_messages_are_edited_by_their_id(tg: Telegram, api: httpx.Client) -> None:
    inline_id = tg.emulator.add_inline_message(TOKEN, "Shared status")
    response = api.post(
        "/editMessageText", json={"inline_message_id": inline_id, "text": "Updated"}
    )
    assert ok(response) is True
    assert [v.text for v in tg.emulator.inline_message(inline_id).versions] == [
        "Shared status",
        "Updated",
    ]


def test_edit_message_reply_markup_swaps_only_the_keyboard(tg: Telegram, api: httpx.Client) -> None:
    send(api, text="Ringing", reply_markup=KEYBOARD)
    cleared = ok(api.post("/editMessageReplyMarkup", json={"chat_id": PERSON, "message_id": 1}))
    assert cleared["text"] == "Ringing"
    assert "reply_markup" not in cleared
    again = api.post("/editMessageReplyMarkup", json={"chat_id": PERSON, "message_id": 1})
    assert failed(again, 400) == NOT_MODIFIED


# -- deleteMessage, getChat, sendChatAction --------------------------------------------------


def test_delete_message(tg: Telegram, api: httpx.Client) -> None:
    send(api, text="temporary")
    assert ok(api.post("/deleteMessage", data={"chat_id": PERSON, "message_id": 1})) is True
    again = api.post("/deleteMessage", data={"chat_id": PERSON, "message_id": 1})
    assert failed(again, 400) == "Bad Request: message to delete not found"
    edit = api.post("/editMessageText", json={"chat_id": PERSON, "message_id": 1, "text": "x"})
    assert failed(edit, 400) == "Bad Request: message to edit not found"
    assert tg.emulator.messages(PERSON) == []
    assert tg.emulator.messages(PERSON, include_deleted=True)[0].deleted is True
    missing_id = api.post("/deleteMessage", data={"chat_id": PERSON})
    assert failed(missing_id, 400) == "Bad Request: message identifier is not specified"


def test_get_chat_is_the_full_chat(api: httpx.Client) -> None:
    chat = ok(api.get("/getChat", params={"chat_id": "@sb_calls"}))
    assert chat["id"] == SUPERGROUP
    assert chat["type"] == "supergroup"
    assert chat["title"] == "Calls"
    assert chat["active_usernames"] == ["sb_calls"]
    assert set(chat) >= {"accent_color_id", "max_reaction_count", "accepted_gift_types"}
    assert failed(api.get("/getChat", params={"chat_id": 1}), 400) == "Bad Request: chat not found"


def test_send_chat_action(api: httpx.Client) -> None:
    assert ok(api.post("/sendChatAction", data={"chat_id": PERSON, "action": "typing"})) is True
    wrong = api.post("/sendChatAction", data={"chat_id": PERSON, "action": "dancing"})
    assert failed(wrong, 400) == "Bad Request: wrong parameter action in request"


def test_adding_a_known_chat_again_changes_it_in_place(tg: Telegram, api: httpx.Client) -> None:
    ok(api.post("/sendMessage", json={"chat_id": GROUP, "text": "before"}))
    tg.emulator.add_chat(GROUP, "group", title="Operators (night)")
    after = ok(api.post("/sendMessage", json={"chat_id": GROUP, "text": "after"}))
    assert after["message_id"] == 2
    assert [m.json["chat"]["title"] for m in tg.emulator.messages(GROUP)] == [
        "Operators (night)"
    ] * 2
