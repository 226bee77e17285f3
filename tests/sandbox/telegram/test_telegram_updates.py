"""Updates: what people do, getUpdates with offsets and long polling, callback queries."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx

from .support import ALICE, BOT_ID, CHANNEL, GROUP, PERSON, TOKEN, Telegram, failed, ok

WEBHOOK_CONFLICT = (
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete "
    "the webhook first"
)


def test_a_persons_message_is_an_update_shaped_like_telegrams(
    tg: Telegram, api: httpx.Client
) -> None:
    update = tg.emulator.user_sends(TOKEN, PERSON, "/start ref-7")
    [polled] = ok(api.get("/getUpdates"))
    assert polled == update
    assert update["update_id"] > 0
    message = update["message"]
    assert set(message) == {"message_id", "from", "chat", "date", "text", "entities"}
    assert message["from"] == {
        "id": PERSON,
        "is_bot": False,
        "first_name": "Ann",
        "last_name": "Lee",
        "username": "ann_lee",
    }
    assert message["chat"]["type"] == "private"
    assert message["text"] == "/start ref-7"
    assert message["entities"] == [{"offset": 0, "length": 6, "type": "bot_command"}]


def test_group_messages_come_from_the_given_person(tg: Telegram, api: httpx.Client) -> None:
    tg.emulator.user_sends(TOKEN, GROUP, "who is on duty?", from_user=ALICE)
    [update] = ok(api.get("/getUpdates"))
    assert update["message"]["from"] == ALICE
    assert update["message"]["chat"]["id"] == GROUP
    assert tg.emulator.messages(GROUP)[0].sender == ALICE
    tg.emulator.user_sends(TOKEN, CHANNEL, "a post")
    assert "channel_post" in ok(api.get("/getUpdates"))[-1]


def test_a_person_can_reply_to_the_bot(tg: Telegram, api: httpx.Client) -> None:
    ok(api.post("/sendMessage", json={"chat_id": PERSON, "text": "Rate the call 1-5"}))
    update = tg.emulator.user_sends(TOKEN, PERSON, "5", reply_to_message_id=1)
    assert update["message"]["reply_to_message"]["text"] == "Rate the call 1-5"
    assert update["message"]["reply_to_message"]["from"]["id"] == BOT_ID


def test_offset_confirms_earlier_updates_and_limit_caps_the_batch(
    tg: Telegram, api: httpx.Client
) -> None:
    ids = [tg.emulator.user_sends(TOKEN, PERSON, f"m{n}")["update_id"] for n in range(5)]
    assert ids == sorted(ids)
    assert len(set(ids)) == 5
    assert [u["update_id"] for u in ok(api.get("/getUpdates", params={"limit": 2}))] == ids[:2]
    assert len(ok(api.get("/getUpdates"))) == 5  # nothing confirmed yet
    after = ok(api.get("/getUpdates", params={"offset": ids[2] + 1}))
    assert [u["update_id"] for u in after] == ids[3:]
    assert [u["update_id"] for u in ok(api.get("/getUpdates"))] == ids[3:]
    assert [u["update_id"] for u in ok(api.get("/getUpdates", params={"offset": -1}))] == ids[4:]
    assert ok(api.get("/getUpdates", params={"offset": ids[4] + 1})) == []
    assert tg.emulator.pending_updates(TOKEN) == []


def test_limit_is_clamped_like_telegrams(tg: Telegram, api: httpx.Client) -> None:
    for n in range(3):
        tg.emulator.user_sends(TOKEN, PERSON, f"m{n}")
    assert len(ok(api.get("/getUpdates", params={"limit": 0}))) == 1
    assert len(ok(api.get("/getUpdates", params={"limit": 1000}))) == 3


def test_long_polling_waits_for_the_timeout_when_nothing_comes(api: httpx.Client) -> None:
    started = time.monotonic()
    assert ok(api.get("/getUpdates", params={"timeout": 1})) == []
    assert 0.9 <= time.monotonic() - started < 2.5


def test_long_polling_answers_as_soon_as_a_person_writes(tg: Telegram, api: httpx.Client) -> None:
    timer = threading.Timer(0.3, tg.emulator.user_sends, (TOKEN, PERSON, "are you there?"))
    started = time.monotonic()
    timer.start()
    updates = ok(api.get("/getUpdates", params={"timeout": 10}))
    elapsed = time.monotonic() - started
    assert [u["message"]["text"] for u in updates] == ["are you there?"]
    assert 0.25 <= elapsed < 2


def test_a_second_poller_ends_the_first_with_a_conflict(tg: Telegram) -> None:
    with ThreadPoolExecutor(1) as pool, tg.client() as first, tg.client() as second:
        waiting = pool.submit(first.get, "/getUpdates", params={"timeout": 10})
        time.sleep(0.3)
        assert ok(second.get("/getUpdates")) == []
        assert failed(waiting.result(timeout=5), 409) == (
            "Conflict: terminated by other getUpdates request; make sure that only one bot "
            "instance is running"
        )


def test_get_updates_conflicts_with_a_webhook(tg: Telegram, api: httpx.Client) -> None:
    ok(api.post("/setWebhook", data={"url": "https://bot.example/hook"}))
    assert failed(api.get("/getUpdates"), 409) == WEBHOOK_CONFLICT


def test_setting_a_webhook_ends_a_waiting_poll(tg: Telegram) -> None:
    with ThreadPoolExecutor(1) as pool, tg.client() as poller, tg.client() as admin:
        waiting = pool.submit(poller.get, "/getUpdates", params={"timeout": 10})
        time.sleep(0.3)
        ok(admin.post("/setWebhook", data={"url": "https://bot.example/hook"}))
        assert (
            failed(waiting.result(timeout=5), 409) == "Conflict: terminated by setWebhook request"
        )


def test_allowed_updates_filters_what_comes_next(tg: Telegram, api: httpx.Client) -> None:
    ok(
        api.post(
            "/sendMessage",
            json={
                "chat_id": PERSON,
                "text": "Pick",
                "reply_markup": {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]},
            },
        )
    )
    assert ok(api.get("/getUpdates", params={"allowed_updates": '["callback_query"]'})) == []
    tg.emulator.user_sends(TOKEN, PERSON, "ignored: not a callback query")
    tg.emulator.user_presses(TOKEN, PERSON, 1, "a")
    assert [list(u)[1] for u in ok(api.get("/getUpdates"))] == ["callback_query"]
    ok(api.get("/getUpdates", params={"allowed_updates": "[]"}))  # back to the default
    tg.emulator.user_sends(TOKEN, PERSON, "seen again")
    assert "message" in ok(api.get("/getUpdates"))[-1]


def test_a_button_press_is_a_callback_query_to_answer(tg: Telegram, api: httpx.Client) -> None:
    keyboard = {"inline_keyboard": [[{"text": "Take the call", "callback_data": "take:42"}]]}
    ok(
        api.post(
            "/sendMessage", json={"chat_id": GROUP, "text": "Ringing", "reply_markup": keyboard}
        )
    )
    update = tg.emulator.user_presses(TOKEN, GROUP, 1, "take:42", from_user=ALICE)
    [polled] = ok(api.get("/getUpdates"))
    query = polled["callback_query"]
    assert polled == update
    assert query["from"] == ALICE
    assert query["data"] == "take:42"
    assert query["message"]["message_id"] == 1
    assert query["message"]["reply_markup"] == keyboard
    assert query["chat_instance"]

    answer = {"callback_query_id": query["id"], "text": "Taken", "show_alert": True}
    assert ok(api.post("/answerCallbackQuery", json=answer)) is True
    assert tg.emulator.callback_answers(TOKEN) == [
        {"callback_query_id": query["id"], "text": "Taken", "show_alert": True, "cache_time": 0}
    ]
    assert failed(api.post("/answerCallbackQuery", json=answer), 400) == (
        "Bad Request: query is too old and response timeout expired or query ID is invalid"
    )
