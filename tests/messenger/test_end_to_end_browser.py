"""A whole chat in real Chromium, both people in their own pages: a visitor in the shop page's
widget, an operator in the panel, against the API on a real server and database.

The visitor writes; the message appears live in the operator's panel; typing shows on both
sides; the operator answers (Markdown) and the visitor sees it live while their own message
gets its two ticks; a screenshot pasted in the widget shows as a picture in the panel; the
operator resolves the chat and the visitor rates it. Then, with the widget's event stream
blocked, the next answer still reaches the visitor by polling.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser import launch_chromium, needs_chromium, requests_elsewhere
from tests.messenger.test_widget_browser import (
    LIVE,
    PASSWORD,
    PASTE_SCREENSHOT,
    Stack,
    _widget,
    servers,
)

__all__ = ["servers"]  # the fixture, for pytest

pytestmark = [pytest.mark.slow, needs_chromium]


async def _panel(browser: Any, stack: Stack, outside: list[str] | None = None) -> Any:
    """The operator signed in on the panel page, with its live stream up."""
    from playwright.async_api import expect

    page = await browser.new_page(locale="ru-RU")
    if outside is not None:
        requests_elsewhere(page, stack.api_url, into=outside)
    await page.goto(f"{stack.api_url}/messenger/login")
    await page.fill("#login", "anna@example.com")
    await page.fill("#password", PASSWORD)
    await page.press("#password", "Enter")
    await expect(page).to_have_url(f"{stack.api_url}/messenger/")
    await expect(page.locator("#connection")).to_have_attribute(
        "data-state", "stream", timeout=LIVE
    )
    return page


async def test_a_visitor_and_an_operator_chat_in_their_own_pages(
    servers: Any, tmp_path: Any
) -> None:
    from playwright.async_api import async_playwright, expect

    stack: Stack = await servers(
        {"rating": {"enabled": True, "scale": 5}}, MESSENGER_ATTACHMENTS_DIR=str(tmp_path)
    )
    async with async_playwright() as playwright:
        browser = await launch_chromium(playwright)
        problems: list[str] = []
        panel_outside: list[str] = []
        panel = await _panel(browser, stack, panel_outside)
        shop = await browser.new_page(locale="ru-RU")
        for page in (panel, shop):
            page.on("pageerror", lambda error: problems.append(str(error)))
        # The shop is the customer's site; the widget reaches only our API from it.
        shop_outside = requests_elsewhere(shop, stack.site_url, stack.api_url)
        await shop.goto(stack.shop())
        widget = _widget(shop)
        await widget.get_by_role("button", name="Открыть чат").click()
        box = widget.get_by_role("textbox", name="Напишите сообщение…")
        await box.fill("Здравствуйте! Где мой заказ №42?")
        await box.press("Enter")

        # Live in the panel: the new chat with its unread count, then opened.
        item = panel.locator("#conversations button").first
        await expect(item).to_contain_text("Где мой заказ №42?", timeout=LIVE)
        await expect(item.locator(".badge")).to_have_text("1")
        await item.click()
        await expect(panel.locator("#messages")).to_contain_text("Где мой заказ №42?")

        # Opened and shown: the visitor's message gets its two ticks.
        mine = widget.locator(".m.in").first
        await expect(mine.locator(".tick")).to_have_text("✓✓", timeout=LIVE)

        # Typing, both ways.
        await box.type("Ещё вопрос")
        await expect(panel.locator("#typing")).to_contain_text("печатает", timeout=LIVE)
        await box.fill("")
        await panel.locator("#text").type("Добрый")
        await expect(widget.locator(".typing")).to_contain_text("печатает", timeout=LIVE)

        # The answer, live in the widget, formatted.
        await panel.fill("#text", "Добрый день! Заказ **уже в пути**.")
        await panel.press("#text", "Enter")
        answer = widget.locator(".m.out").last
        await expect(answer.locator(".b strong")).to_have_text("уже в пути", timeout=LIVE)
        await expect(widget.locator(".typing")).to_be_hidden(timeout=LIVE)
        # The widget showed it: the operator's message gets its two ticks in the panel.
        sent = panel.locator("#messages li.out.staff").last
        await expect(sent.locator(".ticks")).to_have_text("✓✓", timeout=LIVE)

        # A screenshot pasted in the widget is a picture in the panel.
        await shop.evaluate(PASTE_SCREENSHOT)
        await expect(widget.locator(".chip")).not_to_contain_text("загружается", timeout=LIVE)
        await box.fill("Вот скриншот")
        await box.press("Enter")
        picture = panel.locator("#messages li.in").last.locator(".attachments img")
        await expect(picture).to_be_visible(timeout=LIVE)

        # Resolved by the operator: the visitor is asked to rate, and the rating is kept.
        await panel.get_by_role("button", name="Решён").click()
        rating = widget.locator(".rating")
        await expect(rating).to_be_visible(timeout=LIVE)
        await rating.get_by_role("button", name="5 из 5", exact=True).click()
        await rating.get_by_role("button", name="Оценить").click()
        await expect(rating).to_contain_text("Спасибо за оценку!")
        conversation = int(await stack.world.one("SELECT max(id) FROM messenger.conversations"))
        stored = await stack.world.conversation_row(conversation)
        assert (stored["status"], stored["rating"]) == ("resolved", 5)
        assert problems == []
        await browser.close()
    assert panel_outside == []
    assert shop_outside == []


async def test_with_the_stream_blocked_the_visitor_still_gets_answers(servers: Any) -> None:
    from playwright.async_api import async_playwright, expect

    stack: Stack = await servers()
    async with async_playwright() as playwright:
        browser = await launch_chromium(playwright)
        panel = await _panel(browser, stack)
        shop = await browser.new_page(locale="ru-RU")
        # A proxy that cuts event streams: the widget falls back to polling.
        await shop.route("**/api/widget/stream/**", lambda route: route.abort())
        await shop.goto(stack.shop())
        widget = _widget(shop)
        await widget.get_by_role("button", name="Открыть чат").click()
        box = widget.get_by_role("textbox", name="Напишите сообщение…")
        await box.fill("Есть кто живой?")
        await box.press("Enter")
        item = panel.locator("#conversations button").first
        await expect(item).to_contain_text("Есть кто живой?", timeout=LIVE)
        await item.click()
        await panel.fill("#text", "Да, слушаю вас.")
        await panel.press("#text", "Enter")
        await expect(widget.locator(".m.out").last).to_contain_text("Да, слушаю вас.", timeout=LIVE)
        await browser.close()
