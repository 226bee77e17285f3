"""The demo's booking page in real Chromium, against the whole stack: the API on the demo data of
the 1C and Chatwoot emulators, the outbox drained as a worker would, the page on its own origin.

It books, shows the number and the queue position, shows a manager's reply live, redates, rates
and cancels, and switches between Russian and Uzbek.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from switchboard.consultations.sync.tasks import drain
from switchboard.demo_site.app import SiteConfig, create_site
from switchboard.main import create_app
from switchboard.runtime import Runtime
from switchboard.sandbox.runner import CHATWOOT_INBOX, CHATWOOT_TOKEN, Sandbox, start_sandbox
from switchboard.sandbox.server import LoopServer
from tests.browser import launch_chromium, needs_chromium, requests_elsewhere

pytestmark = [
    pytest.mark.slow,
    needs_chromium,
]

# The demo's sandbox customer (an owner in the CLOBUS folder of the demo 1C base).
CUSTOMER_INDEX = 0


@dataclass
class Stack:
    runtime: Runtime
    sandbox: Sandbox
    api_url: str
    site_url: str


def _customer(sandbox: Sandbox) -> dict[str, Any]:
    from switchboard.demo import _demo_customer

    return _demo_customer(sandbox, "Clobus")


async def _everyone_works_around_the_clock(runtime: Runtime) -> None:
    """The demo's consultants keep office hours; the test may run at night."""
    from sqlalchemy import text

    async with runtime.database.transaction() as session:
        await session.execute(text("UPDATE cons.users SET start_hour = NULL, end_hour = NULL"))


async def _keep_draining(runtime: Runtime, stop: asyncio.Event) -> None:
    """What the demo's worker does with the outbox: carry changes out as they come."""
    while not stop.is_set():
        await drain(runtime)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=0.3)


@pytest.fixture
async def stack(runtime_factory: Any) -> AsyncIterator[Stack]:
    sandbox = await start_sandbox()
    try:
        runtime: Runtime = await runtime_factory(
            **sandbox.settings_overrides(), ALLOWED_ORIGINS="*", LOAD_DICTS_ON_START="false"
        )
        for job in ("load_dicts", "pull_users", "sync_users_to_chatwoot"):
            await runtime.etl_jobs[job].run(runtime)
        await _everyone_works_around_the_clock(runtime)
        api = LoopServer(create_app(runtime.settings, runtime=runtime))
        await api.start()
        site = LoopServer(
            create_site(
                SiteConfig(
                    api_url=api.url,
                    chatwoot_url=sandbox.chatwoot_url,
                    inbox_identifier=CHATWOOT_INBOX,
                    client=_customer(sandbox),
                )
            )
        )
        await site.start()
        stop = asyncio.Event()
        async with asyncio.TaskGroup() as group:
            group.create_task(_keep_draining(runtime, stop))
            try:
                yield Stack(runtime, sandbox, api.url, site.url)
            finally:
                stop.set()
        await site.stop()
        await api.stop()
    finally:
        await sandbox.stop()


async def _manager_replies(stack: Stack, conversation_id: int, text: str) -> None:
    """An agent answers in Chatwoot (its Application API), as a consultant would."""
    async with httpx.AsyncClient(base_url=stack.sandbox.chatwoot_url) as chatwoot:
        answer = await chatwoot.post(
            f"/api/v1/accounts/{stack.sandbox.chatwoot.account_id}/conversations/"
            f"{conversation_id}/messages",
            headers={"api_access_token": CHATWOOT_TOKEN},
            json={"content": text, "message_type": "outgoing", "private": False},
        )
        answer.raise_for_status()


async def test_the_booking_page_books_chats_redates_rates_and_cancels(stack: Stack) -> None:
    from playwright.async_api import async_playwright, expect

    async with async_playwright() as playwright:
        browser = await launch_chromium(playwright)
        page = await browser.new_page(locale="ru-RU")
        problems: list[str] = []
        page.on("pageerror", lambda error: problems.append(str(error)))
        # The site, our API, and Chatwoot's public API (the chat of a booked consultation).
        outside = requests_elsewhere(
            page, stack.site_url, stack.api_url, stack.sandbox.chatwoot_url
        )
        await page.goto(stack.site_url)

        # The cascading selects fill from the dictionaries.
        software = page.locator("select[name=po_type_key] option")
        await expect(software.nth(1)).to_be_attached()
        await page.select_option("select[name=po_type_key]", index=1)
        await expect(page.locator("select[name=po_section_key] option").nth(1)).to_be_attached()
        await page.select_option("select[name=category_key]", index=1)
        await expect(page.locator("select[name=question_key] option").nth(1)).to_be_attached()
        await page.select_option("select[name=question_key]", index=1)

        # Uzbek and back: the texts and the dictionaries follow the language.
        await page.click("button[data-lang=uz]")
        await expect(page.locator("h1")).to_have_text("Konsultatsiyaga yozilish")
        await page.click("button[data-lang=ru]")
        await expect(page.locator("h1")).to_have_text("Запись на консультацию")
        await page.select_option("select[name=category_key]", index=1)
        await page.select_option("select[name=question_key]", index=1)

        # The consultants who could take it, and the expected wait.
        await expect(page.locator("#manager-list li").first).to_be_visible()
        await expect(page.locator("#wait")).to_contain_text("Ожидание")

        await page.click("#submit")
        await expect(page.locator("#booked")).to_be_visible(timeout=15_000)
        await expect(page.locator("#booked-queue")).to_have_text(re.compile(r"^\d+$"))
        await expect(page.locator("#booked-manager")).not_to_have_text("—")
        cons_id = await page.evaluate(
            "JSON.parse(localStorage.getItem('switchboard-demo-booking')).cons_id"
        )
        async with httpx.AsyncClient(base_url=stack.api_url) as api:
            booked = (await api.get(f"/api/consultations/{cons_id}")).json()
        assert booked["chatwoot_conversation_id"]
        await expect(page.locator("#booked-number")).to_have_text(booked["number"] or "")

        # The chat: the info message of the booking, then a manager's reply, live.
        await expect(page.locator("#messages li").first).to_be_visible(timeout=15_000)
        await _manager_replies(
            stack, booked["chatwoot_conversation_id"], "Здравствуйте! Я на связи."
        )
        await expect(page.locator("#messages")).to_contain_text("Я на связи", timeout=10_000)

        # Redate, rate, cancel.
        await page.click("#redate summary")
        await page.click("#redate-form button[type=submit]")
        await expect(page.locator("#notice")).to_have_text("Консультация перенесена.")
        await page.click("#rating summary")
        await page.click("#rating-form button[type=submit]")
        await expect(page.locator("#notice")).to_have_text("Спасибо за оценку!")
        page.once("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
        await page.click("#cancel")
        await expect(page.locator("#notice")).to_have_text("Заявка отменена.")
        await expect(page.locator("#history li").first).to_be_visible()

        await browser.close()
    assert problems == []
    assert outside == []  # every asset from the site or the platform (works offline)
    async with httpx.AsyncClient(base_url=stack.api_url) as api:
        final = (await api.get(f"/api/consultations/{cons_id}")).json()
    assert final["status"] == "cancelled"
