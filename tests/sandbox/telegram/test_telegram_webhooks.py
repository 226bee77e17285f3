"""setWebhook / deleteWebhook / getWebhookInfo and delivery to a real HTTP receiver."""

from __future__ import annotations

import time

import httpx
import pytest

from switchboard.sandbox.server import BackgroundServer
from switchboard.sandbox.telegram import TelegramEmulator

from .support import PERSON, TOKEN, Receiver, Telegram, failed

SECRET = "s3cret_token-OK"


def set_webhook(api: httpx.Client, url: str, **params: object) -> dict[str, object]:
    body: dict[str, object] = api.post("/setWebhook", json={"url": url, **params}).json()
    return body


def test_set_and_delete_answer_with_telegrams_descriptions(api: httpx.Client) -> None:
    url = "https://bot.example/hook"
    assert set_webhook(api, url) == {"ok": True, "result": True, "description": "Webhook was set"}
    assert set_webhook(api, url)["description"] == "Webhook is already set"
    assert set_webhook(api, url, secret_token="other")["description"] == "Webhook was set"
    deleted = api.post("/deleteWebhook").json()
    assert deleted == {"ok": True, "result": True, "description": "Webhook was deleted"}
    assert api.post("/deleteWebhook").json()["description"] == "Webhook is already deleted"
    assert set_webhook(api, "")["description"] == "Webhook is already deleted"


def test_webhook_info_without_and_with_a_webhook(api: httpx.Client) -> None:
    info = api.get("/getWebhookInfo").json()["result"]
    assert info == {"url": "", "has_custom_certificate": False, "pending_update_count": 0}
    set_webhook(
        api,
        "https://127.0.0.1:8443/hook",
        max_connections=5,
        allowed_updates=["message", "callback_query"],
    )
    info = api.get("/getWebhookInfo").json()["result"]
    assert info == {
        "url": "https://127.0.0.1:8443/hook",
        "has_custom_certificate": False,
        "pending_update_count": 0,
        "max_connections": 5,
        "ip_address": "127.0.0.1",
        "allowed_updates": ["message", "callback_query"],
    }


@pytest.mark.parametrize(
    ("params", "description"),
    [
        ({"url": "ftp://bot.example/hook"}, "Bad Request: invalid webhook URL specified"),
        ({"url": "https://"}, "Bad Request: invalid webhook URL specified"),
        (
            {"url": "https://a.example", "secret_token": "no spaces"},
            "Bad Request: secret token contains unallowed characters",
        ),
        (
            {"url": "https://a.example", "secret_token": "x" * 257},
            "Bad Request: secret token is too long",
        ),
    ],
)
def test_bad_webhooks_are_refused(
    api: httpx.Client, params: dict[str, object], description: str
) -> None:
    assert failed(api.post("/setWebhook", json=params), 400) == description


def test_https_only_mode_refuses_what_telegram_refuses() -> None:
    strict = TelegramEmulator(https_webhooks_only=True)
    strict.add_bot(TOKEN, "strict_bot")
    with BackgroundServer(strict.app) as server, httpx.Client(base_url=server.url) as client:
        path = f"/bot{TOKEN}/setWebhook"
        plain = client.post(path, data={"url": "http://bot.example/hook"})
        port = client.post(path, data={"url": "https://bot.example:9000/"})
        good = client.post(path, data={"url": "https://bot.example:8443/"})
    assert failed(plain, 400) == (
        "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"
    )
    assert failed(port, 400) == (
        "Bad Request: bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443"
    )
    assert good.json()["ok"] is True


def test_updates_are_posted_with_the_secret_header(
    tg: Telegram, api: httpx.Client, receiver: Receiver
) -> None:
    set_webhook(api, f"{receiver.url}/tg/hook", secret_token=SECRET)
    first = tg.emulator.user_sends(TOKEN, PERSON, "hello")
    second = tg.emulator.user_sends(TOKEN, PERSON, "second")
    tg.emulator.wait_for_webhooks()
    assert [r.json() for r in receiver.requests] == [first, second]
    request = receiver.requests[0]
    assert request.path == "/tg/hook"
    assert request.headers["x-telegram-bot-api-secret-token"] == SECRET
    assert request.headers["content-type"] == "application/json"
    info = api.get("/getWebhookInfo").json()["result"]
    assert info["pending_update_count"] == 0
    assert "last_error_date" not in info


def test_without_a_secret_there_is_no_secret_header(
    tg: Telegram, api: httpx.Client, receiver: Receiver
) -> None:
    set_webhook(api, f"{receiver.url}/hook")
    tg.emulator.user_sends(TOKEN, PERSON, "hello")
    tg.emulator.wait_for_webhooks()
    assert "x-telegram-bot-api-secret-token" not in receiver.requests[0].headers


def test_failed_deliveries_are_retried_and_reported(
    tg: Telegram, api: httpx.Client, receiver: Receiver
) -> None:
    receiver.fail_next(500)
    set_webhook(api, f"{receiver.url}/hook")
    before = int(time.time())
    update = tg.emulator.user_sends(TOKEN, PERSON, "retry me")
    tg.emulator.wait_for_webhooks()
    assert [r.json() for r in receiver.requests] == [update, update]
    assert [(a.attempt, a.status) for a in tg.emulator.webhook_attempts] == [(1, 500), (2, 200)]
    info = api.get("/getWebhookInfo").json()["result"]
    assert info["pending_update_count"] == 0
    assert (
        info["last_error_message"] == "Wrong response from the webhook: 500 Internal Server Error"
    )
    assert info["last_error_date"] >= before


def test_an_update_is_dropped_after_the_last_retry(
    tg: Telegram, api: httpx.Client, receiver: Receiver
) -> None:
    receiver.fail_next(503, 503, 503)  # the session emulator tries 1 + 2 retries
    set_webhook(api, f"{receiver.url}/hook")
    tg.emulator.user_sends(TOKEN, PERSON, "lost")
    tg.emulator.user_sends(TOKEN, PERSON, "delivered")
    tg.emulator.wait_for_webhooks()
    assert [r.json()["message"]["text"] for r in receiver.requests] == ["lost"] * 3 + ["delivered"]
    assert tg.emulator.pending_updates(TOKEN) == []


def test_an_unreachable_webhook_keeps_its_error(tg: Telegram, api: httpx.Client) -> None:
    set_webhook(api, "http://127.0.0.1:9/hook")  # the discard port: nothing listens
    tg.emulator.user_sends(TOKEN, PERSON, "nobody home")
    tg.emulator.wait_for_webhooks()
    info = tg.emulator.webhook_info(TOKEN)
    assert info["last_error_message"] == "Connection refused"
    assert all(a.status is None for a in tg.emulator.webhook_attempts)


def test_pending_updates_wait_for_a_webhook_and_return_to_polling(
    tg: Telegram, api: httpx.Client, receiver: Receiver
) -> None:
    tg.emulator.user_sends(TOKEN, PERSON, "queued before the webhook")
    set_webhook(api, f"{receiver.url}/hook")
    tg.emulator.wait_for_webhooks()
    assert [r.json()["message"]["text"] for r in receiver.requests] == ["queued before the webhook"]

    receiver.fail_next(500, 500, 500)
    set_webhook(api, "http://127.0.0.1:9/hook")
    tg.emulator.user_sends(TOKEN, PERSON, "for polling")
    api.post("/deleteWebhook")
    tg.emulator.wait_for_webhooks()
    updates = api.get("/getUpdates").json()["result"]
    assert [u["message"]["text"] for u in updates] == ["for polling"]


def test_drop_pending_updates(tg: Telegram, api: httpx.Client, receiver: Receiver) -> None:
    tg.emulator.user_sends(TOKEN, PERSON, "old news")
    set_webhook(api, f"{receiver.url}/hook", drop_pending_updates=True)
    tg.emulator.wait_for_webhooks()
    assert receiver.requests == []
    api.post("/deleteWebhook")
    tg.emulator.user_sends(TOKEN, PERSON, "also old")
    assert api.post("/deleteWebhook", data={"drop_pending_updates": "true"}).json()["ok"]
    assert api.get("/getUpdates").json()["result"] == []


def test_a_webhook_may_answer_with_a_method_call(
    tg: Telegram, api: httpx.Client, receiver: Receiver
) -> None:
    receiver.answer_next({"method": "sendMessage", "chat_id": PERSON, "text": "Hi, Ann!"})
    set_webhook(api, f"{receiver.url}/hook")
    tg.emulator.user_sends(TOKEN, PERSON, "hello")
    tg.emulator.wait_for_webhooks()
    assert [m.text for m in tg.emulator.messages(PERSON)] == ["hello", "Hi, Ann!"]
