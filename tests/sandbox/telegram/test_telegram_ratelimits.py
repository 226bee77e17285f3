"""Flood limits: per private chat, per group, per bot; 429 with retry_after; 0 switches off."""

from __future__ import annotations

import time

import httpx

from switchboard.sandbox.telegram import RateLimits, TelegramEmulator

from .support import CHANNEL, GROUP, PERSON, SUPERGROUP, Telegram, failed, ok


def send(api: httpx.Client, chat_id: int, text: str = "x") -> httpx.Response:
    return api.post("/sendMessage", json={"chat_id": chat_id, "text": text})


def test_the_defaults_are_telegrams_guidance() -> None:
    assert TelegramEmulator().limits == RateLimits(
        private_chat_per_second=1, group_chat_per_minute=20, bot_per_second=30
    )


def test_more_than_one_message_a_second_to_a_person_is_too_many(
    tg: Telegram, api: httpx.Client
) -> None:
    tg.emulator.limits.private_chat_per_second = 1
    ok(send(api, PERSON, "first"))
    refused = send(api, PERSON, "second")
    assert failed(refused, 429) == "Too Many Requests: retry after 1"
    assert refused.json()["parameters"] == {"retry_after": 1}
    time.sleep(1.05)
    assert ok(send(api, PERSON, "after waiting"))["message_id"] == 2  # the refused one took none
    assert [m.text for m in tg.emulator.messages(PERSON)] == ["first", "after waiting"]


def test_twenty_messages_a_minute_to_one_group(tg: Telegram, api: httpx.Client) -> None:
    tg.emulator.limits.group_chat_per_minute = 20
    for n in range(20):
        ok(send(api, SUPERGROUP, f"call {n}"))
    refused = send(api, SUPERGROUP, "call 20")
    assert failed(refused, 429).startswith("Too Many Requests: retry after ")
    assert 55 <= refused.json()["parameters"]["retry_after"] <= 60
    ok(send(api, GROUP, "another group is another window"))
    ok(send(api, PERSON, "so is a private chat"))


def test_the_bot_as_a_whole_is_limited_too(tg: Telegram, api: httpx.Client) -> None:
    tg.emulator.limits.bot_per_second = 3
    for chat_id in (PERSON, GROUP, SUPERGROUP):
        ok(send(api, chat_id))
    refused = send(api, CHANNEL)
    assert refused.json()["parameters"] == {"retry_after": 1}
    edit = api.post("/editMessageText", json={"chat_id": PERSON, "message_id": 1, "text": "y"})
    assert failed(edit, 429) == "Too Many Requests: retry after 1"


def test_edits_count_only_against_the_bot(tg: Telegram, api: httpx.Client) -> None:
    tg.emulator.limits.private_chat_per_second = 1
    ok(send(api, PERSON, "v0"))
    for n in range(1, 4):
        edit = {"chat_id": PERSON, "message_id": 1, "text": f"v{n}"}
        assert ok(api.post("/editMessageText", json=edit))["text"] == f"v{n}"


def test_reset_restores_the_constructed_limits() -> None:
    emulator = TelegramEmulator(private_chat_rate=0, group_chat_rate=5, bot_rate=0)
    emulator.limits.group_chat_per_minute = 100
    emulator.reset()
    assert emulator.limits == RateLimits(0, 5, 0)
