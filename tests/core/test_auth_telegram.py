"""The Telegram Mini App signs in with its `initData`, verified as Telegram specifies.

The `initData` of each test is built here from the spec (the hash over the sorted
data-check-string under HMAC-SHA256("WebAppData", bot token)), not by the code under test.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from fastapi import APIRouter, Request

from switchboard.core.auth import TelegramUser, telegram_user_of
from switchboard.core.routing import FrontRoute
from switchboard.main import create_app
from switchboard.runtime import Runtime

BOT_TOKEN = "7012345678:AAE-test-token-of-the-mini-app-bot"
SECRET = "front-secret-of-the-website"
USER = {
    "id": 279058397,
    "first_name": "Дилноза",
    "last_name": "Каримова",
    "username": "dilnoza_k",
    "language_code": "uz",
    "is_premium": True,
    "allows_write_to_pm": True,
}

#: An endpoint that says who signed the request in.
whoami = APIRouter(route_class=FrontRoute)


@whoami.get("/test/whoami")
async def who_am_i(request: Request) -> dict[str, Any]:
    user: TelegramUser | None = telegram_user_of(request)
    return {"telegram_user": None if user is None else dataclasses.asdict(user)}


def init_data(
    bot_token: str = BOT_TOKEN,
    *,
    auth_date: int | None = None,
    user: dict[str, Any] | None = None,
    drop_hash: bool = False,
    tamper: Callable[[dict[str, str]], None] | None = None,
) -> str:
    """A Mini App's `initData` as Telegram signs it (fields URL-encoded, `hash` last)."""
    fields = {
        "query_id": "AAHdF6IQAAAAAN0XohDhrOrc",
        "user": json.dumps(user or USER, ensure_ascii=False, separators=(",", ":")),
        "auth_date": str(int(time.time()) if auth_date is None else auth_date),
        "signature": "6fbdaab833d39f54518bd5c3eb3f511d035e68cb",
    }
    check_string = "\n".join(f"{key}={fields[key]}" for key in sorted(fields))
    secret_key = hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()
    signed = hmac.new(secret_key, check_string.encode(), hashlib.sha256).hexdigest()
    if tamper is not None:
        tamper(fields)
    if not drop_hash:
        fields["hash"] = signed
    return urlencode(fields)


@pytest.fixture
async def app_client(runtime_factory: Any) -> AsyncIterator[Callable[..., Any]]:
    async with AsyncExitStack() as stack:

        async def make(**settings: Any) -> httpx.AsyncClient:
            runtime: Runtime = await runtime_factory(**settings)
            app = create_app(runtime.settings, runtime=runtime)
            app.include_router(whoami)
            await stack.enter_async_context(app.router.lifespan_context(app))
            return await stack.enter_async_context(
                httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=app), base_url="http://testserver"
                )
            )

        yield make


@pytest.fixture
async def client(app_client: Callable[..., Any]) -> httpx.AsyncClient:
    result: httpx.AsyncClient = await app_client(
        TELEGRAM_BOT_TOKEN=BOT_TOKEN, FRONT_SECRET=SECRET, DEFAULT_LOCALE="en"
    )
    return result


async def test_valid_init_data_signs_the_user_in(client: httpx.AsyncClient) -> None:
    response = await client.get("/test/whoami", headers={"X-Telegram-Init-Data": init_data()})
    assert response.status_code == 200, response.text
    assert response.json()["telegram_user"] == {
        "id": 279058397,
        "first_name": "Дилноза",
        "last_name": "Каримова",
        "username": "dilnoza_k",
        "language_code": "uz",
    }


async def test_authorization_tma_scheme_works_too(client: httpx.AsyncClient) -> None:
    response = await client.get("/test/whoami", headers={"Authorization": f"tma {init_data()}"})
    assert response.status_code == 200, response.text
    assert response.json()["telegram_user"]["id"] == 279058397


async def test_real_endpoints_accept_init_data(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/api/dicts/po-types", headers={"X-Telegram-Init-Data": init_data()}
    )
    assert response.status_code == 200, response.text
    assert (await client.get("/api/dicts/po-types")).status_code == 401


async def test_the_static_secret_still_works_and_names_no_telegram_user(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/test/whoami", headers={"X-Front-Secret": SECRET})
    assert response.status_code == 200
    assert response.json() == {"telegram_user": None}


async def test_a_minimal_user_has_only_id_and_first_name(client: httpx.AsyncClient) -> None:
    data = init_data(user={"id": 42, "first_name": "Ali"})
    response = await client.get("/test/whoami", headers={"X-Telegram-Init-Data": data})
    assert response.json()["telegram_user"] == {
        "id": 42,
        "first_name": "Ali",
        "last_name": None,
        "username": None,
        "language_code": None,
    }


def _retitle(fields: dict[str, str]) -> None:
    fields["user"] = fields["user"].replace("279058397", "1")  # someone else's id


@pytest.mark.parametrize(
    ("data", "code", "message"),
    [
        pytest.param(
            init_data(bot_token="1:another-bot"),
            "telegram_init_data_forged",
            "Telegram initData is not signed for this bot (wrong hash).",
            id="other-bot",
        ),
        pytest.param(
            init_data(tamper=_retitle),
            "telegram_init_data_forged",
            "Telegram initData is not signed for this bot (wrong hash).",
            id="tampered-user",
        ),
        pytest.param(
            init_data(drop_hash=True),
            "telegram_init_data_unsigned",
            "Telegram initData carries no hash.",
            id="no-hash",
        ),
        pytest.param(
            init_data(auth_date=int(time.time()) - 86400 - 600),
            "telegram_init_data_expired",
            "Telegram initData has expired; reopen the Mini App.",
            id="stale",
        ),
        pytest.param(
            init_data(auth_date=int(time.time()) + 3600),
            "telegram_init_data_future",
            "Telegram initData is dated in the future.",
            id="future",
        ),
        pytest.param(
            "user=%7B%7D&&&==",
            "telegram_init_data_malformed",
            "Telegram initData is malformed.",
            id="malformed",
        ),
    ],
)
async def test_bad_init_data_is_refused_with_a_clear_401(
    client: httpx.AsyncClient, data: str, code: str, message: str
) -> None:
    response = await client.get("/test/whoami", headers={"X-Telegram-Init-Data": data})
    assert response.status_code == 401
    assert response.json() == {"error": code, "message": message}
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


async def test_forged_init_data_is_refused_even_beside_the_secret(
    client: httpx.AsyncClient,
) -> None:
    # Otherwise a website caller could make the request stand for any Telegram user.
    response = await client.get(
        "/test/whoami",
        headers={"X-Front-Secret": SECRET, "X-Telegram-Init-Data": init_data(tamper=_retitle)},
    )
    assert response.status_code == 401
    assert response.json()["error"] == "telegram_init_data_forged"


async def test_messages_are_russian_for_people_by_default(
    app_client: Callable[..., Any],
) -> None:
    client = await app_client(TELEGRAM_BOT_TOKEN=BOT_TOKEN)
    response = await client.get(
        "/test/whoami", headers={"X-Telegram-Init-Data": init_data(bot_token="1:other")}
    )
    assert response.status_code == 401
    assert response.json()["message"] == (
        "Данные Telegram (initData) подписаны не для этого бота (неверный hash)."
    )


async def test_the_max_age_is_a_setting(app_client: Callable[..., Any]) -> None:
    client = await app_client(TELEGRAM_BOT_TOKEN=BOT_TOKEN, TELEGRAM_INIT_DATA_MAX_AGE_SECONDS=600)
    hour_old = init_data(auth_date=int(time.time()) - 3600)
    response = await client.get("/test/whoami", headers={"X-Telegram-Init-Data": hour_old})
    assert response.json()["error"] == "telegram_init_data_expired"
    fresh = init_data(auth_date=int(time.time()) - 60)
    response = await client.get("/test/whoami", headers={"X-Telegram-Init-Data": fresh})
    assert response.status_code == 200


async def test_init_data_without_a_configured_bot_is_refused(
    app_client: Callable[..., Any],
) -> None:
    client = await app_client(FRONT_SECRET=SECRET, DEFAULT_LOCALE="en")
    response = await client.get("/test/whoami", headers={"X-Telegram-Init-Data": init_data()})
    assert response.status_code == 401
    assert response.json()["error"] == "telegram_not_configured"


async def test_the_bot_token_alone_turns_the_check_on(app_client: Callable[..., Any]) -> None:
    client = await app_client(TELEGRAM_BOT_TOKEN=BOT_TOKEN)
    assert (await client.get("/api/dicts/po-types")).status_code == 401
    response = await client.get(
        "/api/dicts/po-types", headers={"X-Telegram-Init-Data": init_data()}
    )
    assert response.status_code == 200
