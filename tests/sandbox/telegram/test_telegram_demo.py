"""The demo's Telegram world is what the banner and the settings promise."""

from __future__ import annotations

import httpx

from switchboard.sandbox.server import BackgroundServer
from switchboard.sandbox.telegram import TelegramEmulator
from switchboard.sandbox.telegram.demo import (
    DEMO_BOT_TOKEN,
    DEMO_CALLS_CHAT_ID,
    describe,
    seed_demo,
    settings,
)


def test_the_demo_bot_can_post_to_the_calls_chat_and_the_banner_links_work() -> None:
    telegram = TelegramEmulator()
    seed_demo(telegram)
    with BackgroundServer(telegram.app) as server:
        config = settings(server.url)
        base = f"{config['TELEGRAM_API_URL']}/bot{config['TELEGRAM_BOT_TOKEN']}"
        sent = httpx.post(
            f"{base}/sendMessage",
            json={"chat_id": int(config["TELEGRAM_CALLS_CHAT_ID"]), "text": "📞 Входящий звонок"},
        ).json()
        assert sent["ok"] is True
        assert sent["result"]["chat"]["title"] == "Звонки"
        for _, url in describe(server.url):
            assert httpx.get(url).status_code == 200, url
    assert config["TELEGRAM_BOT_TOKEN"] == DEMO_BOT_TOKEN
    assert [m.text for m in telegram.messages(DEMO_CALLS_CHAT_ID)] == ["📞 Входящий звонок"]
