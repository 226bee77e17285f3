"""The RetailCRM admin page in real Chromium: sign in, save and register, load the managers,
give numbers (one per manager), see the log; a manager's name cannot inject HTML."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from switchboard.main import create_app
from switchboard.runtime import Runtime
from switchboard.sandbox.pytest_plugin import RunningRetailCrm
from switchboard.sandbox.server import LoopServer
from switchboard.telephony.admin.service import MODULE_CODE
from tests.browser import launch_chromium, needs_chromium, requests_elsewhere
from tests.telephony.admin.support import PASSWORD, admin_enterprise

pytestmark = [
    pytest.mark.slow,
    needs_chromium,
]


@pytest.fixture
async def api_url(runtime_factory: Any, retailcrm: RunningRetailCrm) -> AsyncIterator[str]:
    runtime: Runtime = await runtime_factory()
    await admin_enterprise(runtime, retailcrm, extensions={})
    for user_id, first in ((19, "Джулай"), (18, "<img src=x onerror=alert(1)>")):
        retailcrm.emulator.add_user(first, "Тестов", f"user{user_id}@june.test", id=user_id)
    server = LoopServer(create_app(runtime.settings, runtime=runtime))
    await server.start()
    try:
        yield server.url
    finally:
        await server.stop()


async def test_an_administrator_connects_registers_and_gives_managers_their_numbers(
    api_url: str, retailcrm: RunningRetailCrm
) -> None:
    from playwright.async_api import async_playwright, expect

    async with async_playwright() as playwright:
        browser = await launch_chromium(playwright)
        page = await browser.new_page(locale="ru-RU")
        problems: list[str] = []
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.on("dialog", lambda dialog: problems.append(f"dialog: {dialog.message}"))
        outside = requests_elsewhere(page, api_url)
        await page.goto(f"{api_url}/retailcrm-admin/?enterprise_number=0367")
        await expect(
            page.get_by_role("heading", name="Вход администратора предприятия")
        ).to_be_visible()
        await page.fill("#password", "wrong")
        await page.click("button[type=submit]")
        await expect(page.get_by_role("alert")).to_have_text("Неверный пароль")
        await page.fill("#password", PASSWORD)
        await page.click("button[type=submit]")
        await expect(page.get_by_role("heading", name="June RetailCRM")).to_be_visible()
        await expect(page.locator("#masked-key")).to_contain_text("••••")

        await page.fill("#domain", retailcrm.url)
        await page.check("#enabled")
        await page.click("#save-register")
        await expect(page.locator("#connection-status")).to_have_text(
            "Модуль зарегистрирован в RetailCRM"
        )
        assert retailcrm.emulator.store.module(MODULE_CODE) is not None

        await page.click("#test")
        await expect(page.locator("#connection-status")).to_contain_text("Подключение работает")

        await page.click("#load-managers")
        selects = page.locator("#managers select")
        await expect(selects).to_have_count(2)
        await expect(page.locator("#managers")).to_contain_text("<img src=x onerror=alert(1)>")
        first = page.locator('#managers select[data-user="19"]')
        second = page.locator('#managers select[data-user="18"]')
        await expect(first.locator("option")).to_contain_text(
            ["Без номера", "150 (Джулай Джуновый)", "151 (свободен)"]
        )
        await first.select_option("151")
        await second.select_option("151")  # taking it here frees it there
        await expect(first).to_have_value("")
        await first.select_option("152")
        await page.click("#save-extensions")
        await expect(page.locator("#managers-status")).to_have_text(
            "Номера сохранены и отправлены в RetailCRM"
        )
        module = retailcrm.emulator.store.module(MODULE_CODE)
        assert module is not None
        codes = module["integrations"]["telephony"]["additionalCodes"]
        assert sorted((c["userId"], c["code"]) for c in codes) == [(18, "151"), (19, "152")]

        await page.click("text=Журнал")
        await expect(page.locator("table")).to_contain_text("register_module")
        await browser.close()
    assert problems == []
    assert outside == []  # every asset from the platform itself (works offline)
