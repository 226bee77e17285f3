"""Call notifications in Telegram and the PBX's AMI access, set by the enterprise's administrator
on the admin page and its JSON API: saved (secrets encrypted, shown masked, kept when not
retyped), checked against the Telegram and AMI emulators (the bot's name, or a clear error),
used by the next call, and refused without a session, without the page's CSRF token, or with
input that makes no sense."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from switchboard.core.crypto import SecretBox
from switchboard.main import create_app
from switchboard.runtime import Runtime
from switchboard.sandbox.asterisk.calls import CallGenerator
from switchboard.sandbox.pytest_plugin import RunningAmi, RunningTelegram
from switchboard.sandbox.server import LoopServer
from switchboard.telephony.admin import access
from switchboard.telephony.admin.service import set_admin_password, set_internal_phones
from switchboard.telephony.models import Enterprise, IntegrationLog
from tests.browser import launch_chromium, needs_chromium, requests_elsewhere
from tests.telephony.support import TOKEN, add_enterprise, settle

API = "/retailcrm-admin/api"
PASSWORD = "correct horse battery staple"
BOT_TOKEN = "7000000043:AAtest-switchboard-admin_secret"
OTHER_BOT_TOKEN = "7000000044:AAother-bot-never-registered"
BOT_NAME = "june_calls_bot"
CALLS_CHAT = -1001000000011
SECOND_CHAT = -1001000000012
AMI_USER, AMI_SECRET = "switchboard", "ami-sandbox"
WHEN = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)


@pytest.fixture
def telegram(telegram_api: RunningTelegram) -> RunningTelegram:
    """The Bot API emulator with the enterprise's bot and its two call chats."""
    emulator = telegram_api.emulator
    emulator.add_bot(BOT_TOKEN, BOT_NAME, "Звонки June")
    emulator.add_chat(CALLS_CHAT, "supergroup", title="Звонки")
    emulator.add_chat(SECOND_CHAT, "supergroup", title="Руководители")
    return telegram_api


async def _enterprise(runtime: Runtime, number: str = "0367") -> None:
    """An enterprise with an administrator's password (set as the CLI sets it)."""
    await add_enterprise(runtime, number, token=TOKEN if number == "0367" else f"pbx-{number}")
    async with runtime.database.transaction() as session:
        await set_admin_password(session, number=number, password=PASSWORD)
        await set_internal_phones(session, number=number, phones=[("150", None), ("151", None)])


async def _signed_in(client: httpx.AsyncClient, number: str = "0367") -> dict[str, str]:
    """Sign in with the password; the headers a change needs (the page's CSRF token)."""
    login = await client.post(
        "/retailcrm-admin/login", data={"enterprise_number": number, "password": PASSWORD}
    )
    assert login.status_code == 303, login.text
    page = await client.get("/retailcrm-admin/", params={"enterprise_number": number})
    marker = 'data-csrf="'
    start = page.text.index(marker) + len(marker)
    return {"X-CSRF-Token": page.text[start : page.text.index('"', start)]}


async def _stored(runtime: Runtime, number: str = "0367") -> Enterprise:
    async with runtime.database.transaction() as session:
        row = await session.get(Enterprise, number)
    assert row is not None
    return row


async def _logs(runtime: Runtime) -> list[tuple[str, str, str]]:
    async with runtime.database.transaction() as session:
        rows = await session.scalars(select(IntegrationLog).order_by(IntegrationLog.id))
        return [(r.integration_type, r.event_type, r.status) for r in rows]


def _closed_port() -> int:
    """A port nothing listens on (bound, then let go)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def _error(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == code, body
    return str(body["message"])


# --- Telegram ----------------------------------------------------------------------------------


async def test_telegram_saved_masked_kept_and_its_bot_checked(
    runtime: Runtime, client: httpx.AsyncClient, telegram: RunningTelegram
) -> None:
    await _enterprise(runtime)
    csrf = await _signed_in(client)
    answers: list[str] = []

    fresh = await client.get(f"{API}/telegram/0367")
    answers.append(fresh.text)
    assert fresh.json() == {
        "enabled": False,
        "bot_token": "",
        "has_bot_token": False,
        "chat_ids": [],
        "api_url": "https://api.telegram.org",
    }
    saved = await client.put(
        f"{API}/telegram/0367",
        json={
            "enabled": True,
            "bot_token": BOT_TOKEN,
            "chat_ids": [CALLS_CHAT, "@june_managers"],
            "api_url": telegram.url,
        },
        headers=csrf,
    )
    answers.append(saved.text)
    assert saved.status_code == 200, saved.text
    view = saved.json()
    assert view["bot_token"] == "••••cret"
    assert (view["enabled"], view["has_bot_token"]) == (True, True)
    assert view["chat_ids"] == [CALLS_CHAT, "@june_managers"]
    assert view["api_url"] == telegram.url

    stored = (await _stored(runtime)).integrations_config["telegram"]
    assert BOT_TOKEN not in str(stored)  # encrypted at rest
    assert SecretBox().decrypt(stored["bot_token_encrypted"]) == BOT_TOKEN

    # The page's form: chats as text, one a line; no token typed keeps the stored one.
    changed = await client.put(
        f"{API}/telegram/0367",
        data={"chat_ids": f"{CALLS_CHAT}\n{SECOND_CHAT}\n", "bot_token": "", "enabled": "true"},
        headers=csrf,
    )
    answers.append(changed.text)
    assert changed.status_code == 200, changed.text
    assert changed.json()["chat_ids"] == [CALLS_CHAT, SECOND_CHAT]
    after = (await _stored(runtime)).integrations_config["telegram"]
    assert after["bot_token_encrypted"] == stored["bot_token_encrypted"]
    assert after["api_url"] == telegram.url  # not sent: kept

    checked = await client.post(f"{API}/telegram-test/0367", headers=csrf)
    answers.append(checked.text)
    assert checked.status_code == 200, checked.text
    assert checked.json()["success"] is True
    assert checked.json()["message"] == f"Бот @{BOT_NAME} отвечает"
    assert checked.json()["details"]["username"] == BOT_NAME
    [get_me] = telegram.emulator.journal.matching("POST", "*/getMe")
    assert get_me.status == 200

    page = await client.get("/retailcrm-admin/", params={"enterprise_number": "0367"})
    answers.append(page.text)
    assert "Уведомления в Telegram" in page.text
    assert "••••cret" in page.text
    answers.append((await client.get(f"{API}/telegram/0367")).text)
    answers.append((await client.get(f"{API}/logs/0367")).text)
    assert all(BOT_TOKEN not in answer and "AAtest" not in answer for answer in answers)
    assert ("telegram", "test_connection", "success") in await _logs(runtime)


async def test_the_bot_check_says_clearly_what_is_wrong(
    runtime: Runtime, client: httpx.AsyncClient, telegram: RunningTelegram
) -> None:
    await _enterprise(runtime)
    csrf = {**await _signed_in(client), "Accept-Language": "en"}
    nothing = await client.post(f"{API}/telegram-test/0367", headers=csrf)
    assert _error(nothing, 409, "telegram_not_set_up") == "No bot token is saved yet."

    await client.put(
        f"{API}/telegram/0367",
        json={"bot_token": OTHER_BOT_TOKEN, "chat_ids": [CALLS_CHAT], "api_url": telegram.url},
        headers=csrf,
    )
    refused = await client.post(f"{API}/telegram-test/0367", headers=csrf)
    message = _error(refused, 502, "telegram_refused")
    assert message == "Telegram refused the bot: the bot token was refused (401): Unauthorized"
    assert OTHER_BOT_TOKEN not in refused.text
    in_russian = await client.post(
        f"{API}/telegram-test/0367", headers={**csrf, "Accept-Language": "ru"}
    )
    assert _error(in_russian, 502, "telegram_refused").startswith("Telegram отказал боту: ")

    # The right token, but the Bot API's address leads nowhere.
    await client.put(
        f"{API}/telegram/0367",
        json={"bot_token": BOT_TOKEN, "api_url": f"http://127.0.0.1:{_closed_port()}"},
        headers=csrf,
    )
    down = await client.post(f"{API}/telegram-test/0367", headers=csrf)
    assert _error(down, 503, "telegram_unavailable").startswith("Telegram cannot be reached: ")
    assert BOT_TOKEN not in down.text
    assert await _logs(runtime) == [("telegram", "test_connection", "error")] * 3


async def test_saved_settings_notify_the_next_call_and_switched_off_they_do_not(
    runtime: Runtime, client: httpx.AsyncClient, telegram: RunningTelegram
) -> None:
    await _enterprise(runtime)
    csrf = await _signed_in(client)
    generator = CallGenerator(token=TOKEN, extensions=("150", "151"), seed=3)

    async def play_a_call() -> None:
        for event in generator.scenario("incoming_missed", at=WHEN).events:
            answer = await client.post(f"/{event.name}", json=dict(event.payload))
            assert answer.status_code == 200, answer.text
        await settle(runtime)

    await play_a_call()  # before the settings: no notification
    assert telegram.emulator.messages(CALLS_CHAT) == []

    saved = await client.put(
        f"{API}/telegram/0367",
        json={
            "enabled": True,
            "bot_token": BOT_TOKEN,
            "chat_ids": [CALLS_CHAT],
            "api_url": telegram.url,
        },
        headers=csrf,
    )
    assert saved.status_code == 200, saved.text
    await play_a_call()
    [message] = telegram.emulator.messages(CALLS_CHAT)
    assert "❌ Пропущен" in message.text
    assert telegram.emulator.messages(SECOND_CHAT) == []

    off = await client.put(f"{API}/telegram/0367", json={"enabled": False}, headers=csrf)
    assert off.json()["enabled"] is False
    await play_a_call()
    assert len(telegram.emulator.messages(CALLS_CHAT)) == 1


async def test_telegram_input_that_makes_no_sense_is_refused_naming_the_field(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    await _enterprise(runtime)
    csrf = {**await _signed_in(client), "Accept-Language": "en"}
    cases: list[tuple[dict[str, Any], str]] = [
        ({"chat_ids": ["calls"]}, "chat_ids"),
        ({"chat_ids": [0]}, "chat_ids"),
        ({"chat_ids": [True]}, "chat_ids"),
        ({"chat_ids": "12345\nnot a chat"}, "chat_ids"),
        ({"bot_token": "no-colon-in-this-token"}, "bot_token"),
        ({"api_url": "ftp://files.example"}, "api_url"),
        ({"enabled": "perhaps"}, "enabled"),
        # On without a token, or without a chat: notifications would go nowhere.
        ({"enabled": True, "chat_ids": [CALLS_CHAT]}, "bot_token"),
        ({"enabled": True, "bot_token": BOT_TOKEN}, "chat_ids"),
    ]
    for body, field in cases:
        answer = await client.put(f"{API}/telegram/0367", json=body, headers=csrf)
        assert _error(answer, 422, "invalid_field") == f"Field {field} is invalid.", body
        assert "no-colon-in-this-token" not in answer.text
    assert (await _stored(runtime)).integrations_config == {}  # nothing half-saved
    not_an_object = await client.put(f"{API}/telegram/0367", json=[1, 2], headers=csrf)
    _error(not_an_object, 422, "bad_body")
    broken = await client.put(
        f"{API}/telegram/0367",
        content=b"{",
        headers={**csrf, "Content-Type": "application/json"},
    )
    _error(broken, 400, "bad_body")


# --- Asterisk AMI ------------------------------------------------------------------------------


async def test_ami_saved_masked_kept_and_the_login_checked(
    runtime: Runtime, client: httpx.AsyncClient, asterisk_ami: RunningAmi
) -> None:
    await _enterprise(runtime)
    csrf = {**await _signed_in(client), "Accept-Language": "en"}
    answers: list[str] = []
    fresh = await client.get(f"{API}/ami/0367")
    assert fresh.json() == {
        "host": "",
        "port": 5038,
        "username": "",
        "secret": "",
        "has_secret": False,
        "context": "from-internal",
    }
    nothing = await client.post(f"{API}/ami-test/0367", headers=csrf)
    _error(nothing, 409, "ami_not_set_up")

    saved = await client.put(
        f"{API}/ami/0367",
        json={
            "host": asterisk_ami.host,
            "port": asterisk_ami.port,
            "username": AMI_USER,
            "secret": AMI_SECRET,
            "context": "inoffice",
        },
        headers=csrf,
    )
    answers.append(saved.text)
    assert saved.status_code == 200, saved.text
    assert saved.json() == {
        "host": asterisk_ami.host,
        "port": asterisk_ami.port,
        "username": AMI_USER,
        "secret": "••••dbox",
        "has_secret": True,
        "context": "inoffice",
    }
    stored = (await _stored(runtime)).ami
    assert AMI_SECRET not in str(stored)
    assert SecretBox().decrypt(stored["secret_encrypted"]) == AMI_SECRET

    # The page's form, the secret left empty: the stored one stays.
    kept = await client.put(
        f"{API}/ami/0367",
        data={"host": f" {asterisk_ami.host} ", "port": str(asterisk_ami.port), "secret": ""},
        headers=csrf,
    )
    answers.append(kept.text)
    assert kept.status_code == 200, kept.text
    assert (await _stored(runtime)).ami["secret_encrypted"] == stored["secret_encrypted"]
    assert kept.json()["context"] == "inoffice"

    checked = await client.post(f"{API}/ami-test/0367", headers=csrf)
    answers.append(checked.text)
    assert checked.status_code == 200, checked.text
    assert checked.json()["success"] is True
    assert checked.json()["message"].startswith("Вход в AMI выполнен")
    [login] = asterisk_ami.emulator.actions_named("Login")
    assert login.get("Username") == AMI_USER
    assert asterisk_ami.emulator.actions_named("Originate") == []  # a check dials nothing

    page = await client.get("/retailcrm-admin/", params={"enterprise_number": "0367"})
    answers.append(page.text)
    assert "Asterisk AMI (звонок из CRM)" in page.text
    answers.append((await client.get(f"{API}/ami/0367")).text)
    assert all(AMI_SECRET not in answer for answer in answers)


async def test_the_ami_check_says_clearly_what_is_wrong(
    runtime: Runtime, client: httpx.AsyncClient, asterisk_ami: RunningAmi
) -> None:
    await _enterprise(runtime)
    csrf = {**await _signed_in(client), "Accept-Language": "en"}
    access_ = {"host": asterisk_ami.host, "port": asterisk_ami.port, "username": AMI_USER}
    wrong = await client.put(
        f"{API}/ami/0367", json={**access_, "secret": "not-the-secret"}, headers=csrf
    )
    assert wrong.status_code == 200
    refused = await client.post(f"{API}/ami-test/0367", headers=csrf)
    message = _error(refused, 502, "ami_refused")
    assert message == "The PBX refused the login: Authentication failed"
    assert "not-the-secret" not in refused.text

    await client.put(
        f"{API}/ami/0367", json={"port": _closed_port(), "secret": AMI_SECRET}, headers=csrf
    )
    down = await client.post(f"{API}/ami-test/0367", headers={**csrf, "Accept-Language": "ru"})
    assert _error(down, 503, "ami_unavailable").startswith("АТС недоступна: not reachable")
    assert await _logs(runtime) == [("asterisk", "test_connection", "error")] * 2


async def test_ami_input_that_makes_no_sense_is_refused_naming_the_field(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    await _enterprise(runtime)
    csrf = {**await _signed_in(client), "Accept-Language": "en"}
    whole = {"host": "pbx.june.local", "port": 5038, "username": AMI_USER, "secret": AMI_SECRET}
    cases: list[tuple[dict[str, Any], str]] = [
        ({**whole, "host": ""}, "host"),
        ({**whole, "host": "pbx june"}, "host"),
        ({**whole, "port": 0}, "port"),
        ({**whole, "port": 65536}, "port"),
        ({**whole, "port": "many"}, "port"),
        ({**whole, "username": "admin\r\nAction: Originate"}, "username"),
        ({**whole, "secret": "s\r\nAction: Originate"}, "secret"),
        ({**whole, "context": "from internal"}, "context"),
        # Nothing stored yet: each of these is needed.
        ({"port": 5038, "username": AMI_USER, "secret": AMI_SECRET}, "host"),
        ({"host": "pbx.june.local", "secret": AMI_SECRET}, "username"),
        ({"host": "pbx.june.local", "username": AMI_USER}, "secret"),
    ]
    for body, field in cases:
        answer = await client.put(f"{API}/ami/0367", json=body, headers=csrf)
        assert _error(answer, 422, "invalid_field") == f"Field {field} is invalid.", body
    assert (await _stored(runtime)).ami == {}
    # Form fields as the page's plain form would send them.
    form = await client.put(f"{API}/ami/0367", data={**whole, "port": "70000"}, headers=csrf)
    assert _error(form, 422, "invalid_field") == "Field port is invalid."


# --- who may ------------------------------------------------------------------------------------


async def test_only_the_enterprises_administrator_with_the_pages_token(
    runtime: Runtime, client: httpx.AsyncClient, client_factory: Any
) -> None:
    await _enterprise(runtime)
    await _enterprise(runtime, "0400")
    paths = ("telegram", "ami")
    for path in paths:
        assert (await client.get(f"{API}/{path}/0367")).status_code == 401
        assert (await client.put(f"{API}/{path}/0367", json={})).status_code == 401
        assert (await client.post(f"{API}/{path}-test/0367")).status_code == 401
    csrf = await _signed_in(client)
    for path in paths:
        # No CSRF token: the change could come from another site's page.
        assert (await client.put(f"{API}/{path}/0367", json={})).status_code == 403
        assert (await client.post(f"{API}/{path}-test/0367")).status_code == 403
        # Another enterprise's settings are not this session's.
        assert (await client.get(f"{API}/{path}/0400", headers=csrf)).status_code == 403
        other = await client.put(f"{API}/{path}/0400", json={}, headers=csrf)
        assert other.status_code == 403
    # A valid session of an enterprise that is no more.
    session = access.open_session(SecretBox(), "0999", "password")
    gone = await client_factory(runtime, Cookie=f"{access.SESSION_COOKIE}={session}")
    for path in paths:
        assert (await gone.get(f"{API}/{path}/0999")).status_code == 404


# --- the page in real Chromium ------------------------------------------------------------------


@pytest.fixture
async def api_url(runtime_factory: Any) -> AsyncIterator[str]:
    runtime: Runtime = await runtime_factory()
    await _enterprise(runtime)
    server = LoopServer(create_app(runtime.settings, runtime=runtime))
    await server.start()
    try:
        yield server.url
    finally:
        await server.stop()


@pytest.mark.slow
@needs_chromium
async def test_the_page_sets_up_telegram_and_ami_and_checks_both(
    api_url: str, telegram: RunningTelegram, asterisk_ami: RunningAmi
) -> None:
    from playwright.async_api import async_playwright, expect

    async with async_playwright() as playwright:
        browser = await launch_chromium(playwright)
        page = await browser.new_page(locale="ru-RU")
        problems: list[str] = []
        page.on("pageerror", lambda error: problems.append(str(error)))
        outside = requests_elsewhere(page, api_url)
        await page.goto(f"{api_url}/retailcrm-admin/?enterprise_number=0367")
        await page.fill("#password", PASSWORD)
        await page.click("button[type=submit]")
        await expect(page.get_by_role("heading", name="Уведомления в Telegram")).to_be_visible()
        await expect(page.locator("#masked-token")).to_have_text("не задан")

        await page.check("#telegram-enabled")
        await page.fill("#bot-token", BOT_TOKEN)
        await page.fill("#chat-ids", f"{CALLS_CHAT}\n\n{SECOND_CHAT}")
        await page.fill("#api-url", telegram.url)
        await page.click("#save-telegram")
        await expect(page.locator("#telegram-status")).to_have_text("Настройки сохранены")
        await expect(page.locator("#masked-token")).to_have_text("••••cret")
        await expect(page.locator("#bot-token")).to_have_value("")
        await expect(page.locator("#bot-token")).to_have_attribute(
            "placeholder", "введите, чтобы заменить"
        )
        await expect(page.locator("#chat-ids")).to_have_value(f"{CALLS_CHAT}\n{SECOND_CHAT}")
        await page.click("#test-telegram")
        await expect(page.locator("#telegram-status")).to_have_text(f"Бот @{BOT_NAME} отвечает")

        await page.fill("#chat-ids", "общий чат")
        await page.click("#save-telegram")
        await expect(page.locator("#telegram-status")).to_have_text(
            "Поле chat_ids заполнено неверно."
        )

        await expect(
            page.get_by_role("heading", name="Asterisk AMI (звонок из CRM)")
        ).to_be_visible()
        await page.fill("#ami-host", asterisk_ami.host)
        await page.fill("#ami-port", str(asterisk_ami.port))
        await page.fill("#ami-username", AMI_USER)
        await page.fill("#ami-secret", "not-the-secret")
        await page.click("#save-ami")
        await expect(page.locator("#ami-status")).to_have_text("Настройки сохранены")
        await page.click("#test-ami")
        await expect(page.locator("#ami-status")).to_have_class("status error")
        await expect(page.locator("#ami-status")).to_have_text(
            "АТС отказала во входе: Authentication failed"
        )
        await page.fill("#ami-secret", AMI_SECRET)
        await page.click("#save-ami")
        await expect(page.locator("#masked-secret")).to_have_text("••••dbox")
        await page.click("#test-ami")
        await expect(page.locator("#ami-status")).to_contain_text("Вход в AMI выполнен")

        await page.reload()
        await expect(page.locator("#masked-token")).to_have_text("••••cret")
        await expect(page.locator("#ami-host")).to_have_value(asterisk_ami.host)
        content = await page.content()
        assert BOT_TOKEN not in content
        assert AMI_SECRET not in content
        await browser.close()
    assert problems == []
    assert outside == []  # every asset from the platform itself (works offline)
