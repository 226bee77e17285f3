"""A booking from the Telegram Mini App: its verified `initData` makes the booking Telegram's
(source TELEGRAM, the «тг» label) and links the Telegram user to the client; a forged or stale
`initData` books nothing."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import select

from switchboard.consultations.models import Client
from switchboard.runtime import Runtime
from switchboard.sandbox.pytest_plugin import RunningChatwoot
from tests.consultations.booking.support import (
    book,
    conversations,
    owner,
    rows,
    settings,
    settle,
    tech,
)
from tests.core.test_auth_telegram import BOT_TOKEN, USER, init_data


async def _clients(runtime: Runtime) -> list[Client]:
    async with runtime.database.transaction() as session:
        return list(await session.scalars(select(Client)))


async def test_a_mini_app_booking_is_telegrams_and_links_the_user(
    chatwoot: RunningChatwoot, runtime_factory: Any, client_factory: Any
) -> None:
    runtime: Runtime = await runtime_factory(
        **settings(None, chatwoot, TELEGRAM_BOT_TOKEN=BOT_TOKEN)
    )
    client = await client_factory(runtime)
    body = {"client": owner(901), "consultation": tech(source="SITE")}

    answer = await book(client, body, **{"X-Telegram-Init-Data": init_data()})

    assert answer.status_code == 201, answer.text
    [row] = await rows(runtime)
    assert row.source == "TELEGRAM"  # whatever the body said
    [booked_for] = await _clients(runtime)
    assert booked_for.telegram_user_id == USER["id"]
    await settle(runtime)
    [conversation] = conversations(chatwoot)
    assert "тг" in conversation.label_list


async def test_a_forged_or_stale_init_data_books_nothing(
    chatwoot: RunningChatwoot, runtime_factory: Any, client_factory: Any
) -> None:
    runtime: Runtime = await runtime_factory(
        **settings(None, chatwoot, TELEGRAM_BOT_TOKEN=BOT_TOKEN)
    )
    client = await client_factory(runtime)
    body = {"client": owner(902), "consultation": tech()}
    forged = await book(client, body, **{"X-Telegram-Init-Data": init_data("another-bot:token")})
    stale = await book(
        client,
        body,
        **{"X-Telegram-Init-Data": init_data(auth_date=int(time.time()) - 3 * 86400)},
    )
    assert (forged.status_code, stale.status_code) == (401, 401)
    assert forged.json()["error"] == "telegram_init_data_forged"
    assert stale.json()["error"] == "telegram_init_data_expired"
    assert await rows(runtime) == []
    assert await _clients(runtime) == []
