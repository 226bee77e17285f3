"""The messenger's admin inbox page in real Chromium: an administrator signs in on the page,
opens an inbox, changes its working hours and sees them saved (in the database and after a
reload); hours written wrong are refused with a message, nothing saved."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import pytest

from switchboard.main import create_app
from switchboard.messenger.accounts import service as accounts
from switchboard.runtime import Runtime
from switchboard.sandbox.server import LoopServer
from tests.browser import launch_chromium, needs_chromium, requests_elsewhere
from tests.messenger.support import World

pytestmark = [
    pytest.mark.slow,
    needs_chromium,
]

LOGIN = "admin@example.com"
PASSWORD = "admin-password"


@pytest.fixture
async def served(runtime: Runtime) -> AsyncIterator[str]:
    async with runtime.database.transaction() as session:
        await accounts.save_staff(
            session,
            login=LOGIN,
            name="Админ",
            role="admin",
            password_hash=accounts.Passwords().hash_now(PASSWORD),
        )
    server = LoopServer(create_app(runtime.settings, runtime=runtime))
    await server.start()
    try:
        yield server.url
    finally:
        await server.stop()


async def stored_schedule(world: World, inbox: int) -> Any:
    return await world.one(
        "SELECT settings -> 'schedule' FROM messenger.inboxes WHERE id = :i", i=inbox
    )


async def test_an_admin_edits_an_inbox_schedule_on_the_page_and_it_is_saved(
    runtime: Runtime, served: str
) -> None:
    from playwright.async_api import async_playwright, expect

    world = World(runtime.database)
    inbox = await world.inbox(settings={"schedule": {"time_zone": "Europe/Moscow"}})

    async with async_playwright() as playwright:
        browser = await launch_chromium(playwright)
        page = await browser.new_page(locale="ru-RU")
        problems: list[str] = []
        page.on("pageerror", lambda error: problems.append(str(error)))
        outside = requests_elsewhere(page, served)
        await page.goto(f"{served}/messenger/admin/")

        # Signing in on the page itself.
        await page.fill("#login", LOGIN)
        await page.fill("#password", PASSWORD)
        await page.click("#login-form button[type=submit]")
        row = page.locator(f"#inboxes tr[data-id='{inbox}']")
        await expect(row).to_contain_text("по региону посетителя")
        await expect(page.locator("#relogin")).to_be_hidden()

        await row.get_by_role("button", name="Изменить").click()
        editor = page.locator("#editor")
        await expect(editor).to_be_visible()
        await expect(page.locator("#embed-code")).to_have_value(re.compile("widget-loader.js"))
        await editor.get_by_label("По дням недели").check()
        await editor.get_by_label("Часовой пояс").fill("Asia/Yekaterinburg")
        await editor.get_by_label("Понедельник: часы работы").fill("25:00-26:00")
        await page.click("#save-inbox")
        await expect(page.locator("#inbox-status")).to_contain_text("пишите часы как 09:00-18:00")
        assert (await stored_schedule(world, inbox))["time_zone"] == "Europe/Moscow"

        await editor.get_by_label("Понедельник: часы работы").fill("9:00-13:00, 14:00 – 18:00")
        await editor.get_by_label("Суббота: часы работы").fill("10:00-14:00")
        await editor.get_by_label("Праздничные дни", exact=False).fill("2027-01-01")
        await page.click("#save-inbox")
        await expect(page.locator("#inbox-status")).to_have_text("Сохранено")
        assert await stored_schedule(world, inbox) == {
            "time_zone": "Asia/Yekaterinburg",
            "weekly": {
                "mon": [["09:00", "13:00"], ["14:00", "18:00"]],
                "sat": [["10:00", "14:00"]],
            },
            "holidays": ["2027-01-01"],
        }

        # After a reload the page shows what was saved.
        await page.reload()
        await row.get_by_role("button", name="Изменить").click()
        monday = editor.get_by_label("Понедельник: часы работы")
        await expect(monday).to_have_value("09:00-13:00, 14:00-18:00")
        await expect(editor.get_by_label("Вторник: часы работы")).to_have_value("")
        await expect(editor.get_by_label("Часовой пояс")).to_have_value("Asia/Yekaterinburg")

        # The other sections work too: a branch added on its page, the staff listed.
        await page.click("nav >> text=Филиалы")
        await expect(page.locator("#default-source")).to_contain_text("Не выбран")
        await page.fill("#branch-form input[name=code]", "ekb")
        await page.fill("#branch-form input[name=name]", "Екатеринбург")
        await page.click("#branch-form button[type=submit]")
        await expect(page.locator("#status")).to_have_text("Филиал добавлен")
        await expect(page.locator("#branches tbody tr")).to_have_count(1)
        await page.click("nav >> text=Сотрудники")
        await expect(page.locator("#staff tbody")).to_contain_text(LOGIN)
        await page.click("nav >> text=Регионы и правила")
        await expect(page.locator("#rule-form select[name=branch_id]")).to_contain_text(
            "Екатеринбург"
        )
        await browser.close()
    assert problems == []
    assert outside == []  # every asset from the platform itself (works offline)
