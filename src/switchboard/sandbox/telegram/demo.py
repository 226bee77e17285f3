"""The demo's Telegram world: one bot for call notifications, the operators' group it posts to,
and one customer who has started the bot (for the messenger's Telegram channel later).

    telegram = TelegramEmulator()
    seed_demo(telegram)
    settings(url)      # environment variables that point the platform at the emulator
    describe(url)      # lines for the demo banner
"""

from __future__ import annotations

from switchboard.sandbox.telegram import TelegramEmulator

# The sandbox's own demo credentials, not secrets.
DEMO_BOT_TOKEN = "7000000001:AAsandbox-switchboard-calls"  # noqa: S105
DEMO_BOT_USERNAME = "switchboard_calls_bot"
DEMO_BOT_NAME = "Switchboard"
#: The supergroup where the bot posts one message per call and edits it as the call moves on.
DEMO_CALLS_CHAT_ID = -1001000000001
DEMO_CALLS_CHAT_TITLE = "Звонки"
#: A customer's private chat with the bot (its id is the customer's user id).
DEMO_CUSTOMER_CHAT_ID = 500000001


def seed_demo(telegram: TelegramEmulator) -> None:
    telegram.add_bot(DEMO_BOT_TOKEN, DEMO_BOT_USERNAME, DEMO_BOT_NAME)
    telegram.add_chat(
        DEMO_CALLS_CHAT_ID, "supergroup", title=DEMO_CALLS_CHAT_TITLE, username="sb_calls"
    )
    telegram.add_chat(
        DEMO_CUSTOMER_CHAT_ID, first_name="Дилноза", last_name="Каримова", username="dilnoza_k"
    )


def settings(url: str) -> dict[str, str]:
    """Suggested names; the platform's Telegram settings section decides the real ones."""
    return {
        "TELEGRAM_API_URL": url,
        "TELEGRAM_BOT_TOKEN": DEMO_BOT_TOKEN,
        "TELEGRAM_CALLS_CHAT_ID": str(DEMO_CALLS_CHAT_ID),
    }


def describe(url: str) -> list[tuple[str, str]]:
    return [
        (f"Telegram Bot API (bot {DEMO_BOT_USERNAME})", f"{url}/bot{DEMO_BOT_TOKEN}/getMe"),
        (
            "Telegram: what the bot posted and edited",
            f"{url}/__sandbox__/messages?chat_id={DEMO_CALLS_CHAT_ID}",
        ),
        ("Fault injection (Telegram)", f"{url}/__sandbox__/faults"),
    ]
