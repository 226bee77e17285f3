"""The chat widget in real Chromium, embedded in the demo shop page (its own origin) as a
customer's site embeds it, against the whole API on a real server and database.

The visitor opens the launcher and writes; the operator (the operator API, signed in) sees the
message, types and answers; the visitor sees the answer live, the typing line and the ticks on
their own message; HTML in messages stays text; with `EventSource` gone the widget polls and still
gets the answer; the shop's aggressive CSS does not reach the widget; a resolved conversation asks
for a rating; out of hours the "leave a request" form shows.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from switchboard.config import Settings
from switchboard.demo_site.app import SiteConfig, create_site
from switchboard.main import create_app
from switchboard.messenger.accounts.service import Passwords
from switchboard.runtime import Runtime
from switchboard.sandbox.server import LoopServer
from tests.browser import launch_chromium, needs_chromium
from tests.messenger.support import World, public_key

PASSWORD = "correct horse battery staple"
LIVE = 10_000  # ms: how long the page may take to show what the server sent

pytestmark = [
    pytest.mark.slow,
    needs_chromium,
]


@dataclass
class Stack:
    runtime: Runtime
    world: World
    api_url: str
    site_url: str
    key: str
    inbox: int

    def shop(self, **extra: str) -> str:
        query = urlencode({"api": self.api_url, "inbox": self.key, **extra})
        return f"{self.site_url}/static/shop.html?{query}"


async def _stack(runtime: Runtime, settings: dict[str, Any] | None = None) -> tuple[World, int]:
    world = World(runtime.database)
    branch = await world.branch("ekb")
    staff = await world.operator(branch, "anna", capacity=10)
    async with runtime.database.transaction() as session:
        from sqlalchemy import text

        await session.execute(
            text("UPDATE messenger.staff SET password_hash = :h WHERE id = :id"),
            {"h": Passwords().hash_now(PASSWORD), "id": staff},
        )
    inbox = await world.inbox(branch=branch, settings=settings)
    return world, inbox


@pytest.fixture
async def servers(runtime_factory: Any) -> AsyncIterator[Any]:
    """Starts the API and the demo site for a runtime; stops them after the test."""
    started: list[LoopServer] = []
    buses: list[Any] = []

    async def start(settings: dict[str, Any] | None = None, **overrides: Any) -> Stack:
        runtime: Runtime = await runtime_factory(**overrides)
        world, inbox = await _stack(runtime, settings)
        assert isinstance(runtime.settings, Settings)
        api = LoopServer(create_app(runtime.settings, runtime=runtime))
        await api.start()
        started.append(api)
        buses.append(runtime.bus)
        site = LoopServer(
            create_site(
                SiteConfig(api_url=api.url, chatwoot_url=api.url, inbox_identifier="unused")
            )
        )
        await site.start()
        started.append(site)
        return Stack(runtime, world, api.url, site.url, await public_key(world, inbox), inbox)

    yield start
    for bus in buses:
        bus.drain()  # open streams end, as in a server that stops (no 2 s graceful wait)
    for server in reversed(started):
        await server.stop()


class Operator:
    """The operator's side through the operator API (a signed-in session and its CSRF token)."""

    def __init__(self, client: httpx.AsyncClient, csrf: str) -> None:
        self.client = client
        self.csrf = csrf

    @classmethod
    async def sign_in(cls, client: httpx.AsyncClient) -> Operator:
        answer = await client.post(
            "/api/messenger/auth/login", json={"login": "anna@example.com", "password": PASSWORD}
        )
        assert answer.status_code == 200, answer.text
        return cls(client, answer.json()["csrf_token"])

    async def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        answer = await self.client.post(
            f"/api/messenger{path}", json=body or {}, headers={"X-CSRF-Token": self.csrf}
        )
        assert answer.status_code in (200, 204), (path, answer.text)
        return answer.json() if answer.content else None

    async def conversation(self, conversation_id: int) -> Any:
        answer = await self.client.get(f"/api/messenger/conversations/{conversation_id}")
        assert answer.status_code == 200, answer.text
        return answer.json()

    async def reply(self, conversation_id: int, text: str) -> Any:
        return await self.post(
            f"/conversations/{conversation_id}/messages",
            {"text": text, "client_id": str(uuid.uuid4())},
        )


LAUNCHER_TIMING = """() => {
    const resources = performance.getEntriesByType("resource");
    const script = resources.find((e) => e.name.includes("/widget/widget.js"));
    const api = resources.find((e) => e.name.includes("/api/widget/"));
    const mark = performance.getEntriesByName("switchboard-chat:launcher")[0];
    return [script.responseEnd, mark.startTime, api ? api.startTime : null];
}"""


def _widget(page: Any) -> Any:
    """The widget's root (Playwright's CSS engine goes through the open shadow root)."""
    return page.locator("[data-switchboard-chat] .w")


async def _latest_conversation(stack: Stack) -> int:
    return int(await stack.world.one("SELECT max(id) FROM messenger.conversations"))


async def _open_and_write(page: Any, text: str) -> None:
    widget = _widget(page)
    await widget.get_by_role("button", name="Открыть чат").click()
    box = widget.get_by_role("textbox", name="Напишите сообщение…")
    await box.fill(text)
    await box.press("Enter")


async def test_visitor_and_operator_talk_live_with_ticks_typing_and_text_kept_as_text(
    servers: Any,
) -> None:
    from playwright.async_api import async_playwright, expect

    stack: Stack = await servers()
    async with async_playwright() as playwright:
        browser = await launch_chromium(playwright)
        page = await browser.new_page(locale="ru-RU")
        problems: list[str] = []
        page.on("pageerror", lambda error: problems.append(str(error)))
        await page.goto(stack.shop())
        widget = _widget(page)
        launcher = widget.locator(".launch")
        await expect(launcher).to_be_visible()
        assert await launcher.get_attribute("aria-label") == "Открыть чат"
        # The launcher is on the page right after the script arrives (before any API call).
        script_done, launcher_at, first_call = await page.evaluate(LAUNCHER_TIMING)
        assert launcher_at - script_done < 100
        assert first_call is None or first_call > launcher_at

        # The visitor writes: the message is stored (one conversation), shown as sent.
        await _open_and_write(page, "Здравствуйте! Где мой заказ?")
        mine = widget.locator(".m.in").first
        await expect(mine.locator(".b")).to_have_text("Здравствуйте! Где мой заказ?")
        await expect(mine.locator(".tick")).to_have_attribute("data-state", "sent", timeout=LIVE)
        conversation = await _latest_conversation(stack)

        async with httpx.AsyncClient(base_url=stack.api_url) as client:
            operator = await Operator.sign_in(client)
            seen = await operator.conversation(conversation)
            assert [m["text"] for m in seen["messages"]] == ["Здравствуйте! Где мой заказ?"]
            visitor_message = seen["messages"][0]["id"]

            # The operator's app got it (one tick), then showed it (two ticks).
            await operator.post(
                f"/conversations/{conversation}/seen", {"delivered_up_to": visitor_message}
            )
            await expect(mine.locator(".tick")).to_have_text("✓", timeout=LIVE)
            await operator.post(
                f"/conversations/{conversation}/seen", {"read_up_to": visitor_message}
            )
            await expect(mine.locator(".tick")).to_have_text("✓✓", timeout=LIVE)
            await expect(mine.locator(".tick")).to_have_attribute("data-state", "read")

            # The visitor types (not sent yet): the operator's stream says so.
            start = (await client.get("/api/messenger/events")).json()["last_event_id"]
            await widget.get_by_role("textbox", name="Напишите сообщение…").type("А ещё")

            async def visitor_typing() -> bool:
                answer = await client.get("/api/messenger/events", params={"after": start})
                return any(
                    e["type"] == "typing.changed"
                    and e["data"]["author_kind"] == "contact"
                    and e["data"]["typing"]
                    for e in answer.json()["events"]
                )

            await _eventually(visitor_typing)
            await widget.get_by_role("textbox", name="Напишите сообщение…").fill("")

            # The operator types: the visitor sees it; then the answer arrives live.
            await operator.post(f"/conversations/{conversation}/typing", {"typing": True})
            await expect(widget.locator(".typing")).to_contain_text("печатает", timeout=LIVE)
            await operator.reply(conversation, "Добрый день! Заказ **уже в пути**.")
            answer = widget.locator(".m.out").last
            await expect(answer.locator(".b")).to_contain_text("Заказ уже в пути", timeout=LIVE)
            await expect(answer.locator(".b strong")).to_have_text("уже в пути")
            await expect(widget.locator(".typing")).to_be_hidden()

            # The widget told the server the visitor got and saw the answer.
            async def operator_message_read() -> bool:
                got = await operator.conversation(conversation)
                return any(m["direction"] == "out" and m["read_at"] for m in got["messages"])

            await _eventually(operator_message_read)

            # HTML from either side is shown as text and never runs.
            await page.evaluate("window.__pwned = 0")
            hostile = "<script>window.__pwned = 1</script><img src=x onerror='window.__pwned=2'>"
            box = widget.get_by_role("textbox", name="Напишите сообщение…")
            await box.fill(hostile)
            await box.press("Enter")
            await expect(widget.locator(".m.in").last.locator(".b")).to_have_text(hostile)
            await expect(widget.locator(".m.in").last.locator(".tick")).to_have_attribute(
                "data-state", "sent", timeout=LIVE
            )
            await operator.reply(conversation, "<b>жирный?</b><script>window.__pwned=3</script>")
            await expect(widget.locator(".m.out").last.locator(".b")).to_contain_text(
                "<b>жирный?</b>", timeout=LIVE
            )
            assert await widget.locator(".b script, .b img, .b b").count() == 0
            assert await page.evaluate("window.__pwned") == 0

            # Closed panel: a new answer counts as unread on the launcher.
            await page.keyboard.press("Escape")
            await expect(widget.locator(".panel")).to_be_hidden()
            await operator.reply(conversation, "Ещё что-нибудь?")
            await expect(widget.locator(".badge")).to_have_text("1", timeout=LIVE)
            await launcher.click()
            await expect(widget.locator(".badge")).to_be_hidden()

        await browser.close()
    assert problems == []


async def test_without_event_source_the_widget_polls_and_still_gets_answers(
    servers: Any,
) -> None:
    from playwright.async_api import async_playwright, expect

    stack: Stack = await servers()
    async with async_playwright() as playwright:
        browser = await launch_chromium(playwright)
        context = await browser.new_context(locale="ru-RU")
        await context.add_init_script("delete window.EventSource")
        streams: list[str] = []
        context.on("request", lambda r: streams.append(r.url) if "/stream/" in r.url else None)
        page = await context.new_page()
        await page.goto(stack.shop())
        await _open_and_write(page, "Есть кто живой?")
        widget = _widget(page)
        await expect(widget.locator(".m.in .tick")).to_have_attribute(
            "data-state", "sent", timeout=LIVE
        )
        conversation = await _latest_conversation(stack)
        async with httpx.AsyncClient(base_url=stack.api_url) as client:
            operator = await Operator.sign_in(client)
            await operator.reply(conversation, "Да, я здесь.")
        await expect(widget.locator(".m.out .b")).to_have_text("Да, я здесь.", timeout=LIVE)
        assert streams == []

        # A stream the network refuses: the widget falls back to polling too.
        other = await browser.new_context(locale="ru-RU")
        await other.route("**/api/widget/stream/**", lambda route: route.abort())
        page = await other.new_page()
        await page.clock.install()  # runs as usual until the test moves it on
        await page.goto(stack.shop())
        await _open_and_write(page, "А теперь?")
        widget = _widget(page)
        await expect(widget.locator(".m.in .tick")).to_have_attribute(
            "data-state", "sent", timeout=LIVE
        )
        conversation = await _latest_conversation(stack)
        async with httpx.AsyncClient(base_url=stack.api_url) as client:
            operator = await Operator.sign_in(client)
            await operator.reply(conversation, "И теперь тоже.")
        await expect(widget.locator(".m.out .b")).to_have_text("И теперь тоже.", timeout=20_000)

        # The network lets the stream through again: on its next try the widget is back on it
        # and stops polling.
        await other.unroute("**/api/widget/stream/**")
        opened: list[int] = []
        other.on("response", lambda r: opened.append(r.status) if "/stream/" in r.url else None)
        polled: list[str] = []
        await page.clock.fast_forward(31_000)
        for _ in range(LIVE // 100):
            if opened:
                break
            await page.wait_for_timeout(100)
        assert opened == [200]
        await page.wait_for_timeout(1000)  # a poll already on its way may still land
        other.on("request", lambda r: polled.append(r.url) if "/events" in r.url else None)
        async with httpx.AsyncClient(base_url=stack.api_url) as client:
            operator = await Operator.sign_in(client)
            await operator.reply(conversation, "Снова через поток.")
        await expect(widget.locator(".m.out .b").last).to_have_text(
            "Снова через поток.", timeout=LIVE
        )
        await page.wait_for_timeout(3000)  # longer than a poll's wait in a visible page
        assert polled == []

        # The inbox switches the stream off (`features.sse`): the widget polls from the start.
        await stack.world.one(
            "UPDATE messenger.inboxes SET settings = jsonb_set(settings, '{features}', "
            "'{\"sse\": false}') WHERE id = :i RETURNING id",
            i=stack.inbox,
        )
        third = await browser.new_context(locale="ru-RU")
        requested: list[str] = []
        third.on("request", lambda r: requested.append(r.url))
        page = await third.new_page()
        await page.goto(stack.shop())
        await _open_and_write(page, "Без потока")
        widget = _widget(page)
        await expect(widget.locator(".m.in .tick")).to_have_attribute(
            "data-state", "sent", timeout=LIVE
        )
        conversation = await _latest_conversation(stack)
        async with httpx.AsyncClient(base_url=stack.api_url) as client:
            operator = await Operator.sign_in(client)
            await operator.reply(conversation, "Опросом.")
        await expect(widget.locator(".m.out .b")).to_have_text("Опросом.", timeout=LIVE)
        assert not [url for url in requested if "/api/widget/stream/" in url]
        assert [url for url in requested if "/api/widget/events" in url]
        await browser.close()


async def test_streams_that_end_are_resumed_with_last_event_id_and_nothing_is_missed(
    servers: Any,
) -> None:
    from playwright.async_api import async_playwright, expect

    stack: Stack = await servers(MESSENGER_SSE_LIFETIME_SECONDS="1")
    async with async_playwright() as playwright:
        browser = await launch_chromium(playwright)
        page = await browser.new_page(locale="ru-RU")
        requests: list[Any] = []
        polls: list[str] = []

        def seen(request: Any) -> None:
            if "/api/widget/stream/" in request.url:
                requests.append(request)
            if "/api/widget/events" in request.url:
                polls.append(request.url)

        page.on("request", seen)
        await page.goto(stack.shop())
        await _open_and_write(page, "Жду ответа")
        widget = _widget(page)
        await expect(widget.locator(".m.in .tick")).to_have_attribute(
            "data-state", "sent", timeout=LIVE
        )
        conversation = await _latest_conversation(stack)
        async with httpx.AsyncClient(base_url=stack.api_url) as client:
            operator = await Operator.sign_in(client)
            for n in range(1, 6):
                await operator.reply(conversation, f"Ответ {n}")
                await page.wait_for_timeout(700)  # some land while the stream is reconnecting
        await expect(widget.locator(".m.out")).to_have_count(5, timeout=LIVE)
        texts = await widget.locator(".m.out .b").all_text_contents()
        assert texts == [f"Ответ {n}" for n in range(1, 6)]
        # Each stream lives a second and the browser waits two before it reconnects: give it
        # the time for a third one however slow the machine is.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + LIVE / 1000
        while len(requests) < 3 and loop.time() < deadline:
            await page.wait_for_timeout(200)
        streams = [await r.header_value("last-event-id") for r in requests]
        assert len(streams) >= 3
        assert streams[0] is None
        assert all(streams[1:]), streams  # every reconnection resumes after an event id
        assert polls == []
        await browser.close()


async def test_the_sites_css_cannot_break_the_widget_and_the_loader_waits(servers: Any) -> None:
    from playwright.async_api import async_playwright, expect

    stack: Stack = await servers()
    async with async_playwright() as playwright:
        browser = await launch_chromium(playwright)
        page = await browser.new_page(locale="en-US")
        await page.goto(stack.shop(**{"load-on-scroll": "1"}))
        await page.wait_for_timeout(500)
        # Not loaded before the first scroll.
        assert await page.locator("[data-switchboard-chat]").count() == 0
        await page.add_style_tag(
            content="div, button, ul, li, textarea { display: none !important; "
            "color: red !important; font-size: 40px !important; position: static !important }"
            " * { visibility: hidden !important } div { opacity: 0 !important }"
            " body > * { display: none !important }"
        )
        # An English site (its <html lang> wins over the browser's language).
        await page.evaluate("document.documentElement.lang = 'en'")
        await page.mouse.wheel(0, 400)
        widget = _widget(page)
        launcher = widget.locator(".launch")
        await expect(launcher).to_be_visible(timeout=LIVE)
        await expect(launcher).to_have_attribute("aria-label", "Open chat")
        await launcher.click()
        send = widget.get_by_role("button", name="Send")
        await expect(send).to_be_visible()
        style = await send.evaluate(
            "b => { const s = getComputedStyle(b); return [s.color, s.fontSize, s.position] }"
        )
        assert style == ["rgb(255, 255, 255)", "18px", "static"]
        assert await launcher.evaluate("b => getComputedStyle(b).position") == "fixed"
        box = widget.get_by_role("textbox", name="Type a message…")
        await expect(box).to_be_visible()
        await expect(widget.locator(".hello")).to_have_text("Hello! How can we help?")
        await box.fill("Hi")
        await box.press("Enter")
        await expect(widget.locator(".m.in .tick")).to_have_attribute(
            "data-state", "sent", timeout=LIVE
        )
        assert await stack.world.one("SELECT body FROM messenger.messages") == "Hi"

        # The answer to a send is lost on the way back: the widget sends again with the same
        # client_id, and the server keeps the message once.
        lost: list[str] = []

        async def lose_the_answer(route: Any) -> None:
            if route.request.method == "POST" and not lost:
                lost.append((await route.fetch()).status_text)
                await route.abort()
            else:
                await route.continue_()

        await page.route("**/api/widget/messages", lose_the_answer)
        await box.fill("Once only")
        await box.press("Enter")
        await expect(widget.locator(".m.in .tick").last).to_have_attribute(
            "data-state", "sent", timeout=LIVE
        )
        assert len(lost) == 1
        bodies = "SELECT count(*) FROM messenger.messages WHERE body = 'Once only'"
        assert await stack.world.one(bodies) == 1
        await expect(widget.locator(".m.in")).to_have_count(2)
        await browser.close()


@pytest.mark.parametrize(("scale", "choices", "pick"), [(5, 5, 4), (10, 11, 0)])
async def test_a_resolved_conversation_asks_for_a_rating(
    servers: Any, scale: int, choices: int, pick: int
) -> None:
    from playwright.async_api import async_playwright, expect

    stack: Stack = await servers({"rating": {"enabled": True, "scale": scale}})
    async with async_playwright() as playwright:
        browser = await launch_chromium(playwright)
        page = await browser.new_page(locale="ru-RU")
        await page.goto(stack.shop())
        await _open_and_write(page, "Спасибо, всё понятно.")
        widget = _widget(page)
        await expect(widget.locator(".m.in .tick")).to_have_attribute(
            "data-state", "sent", timeout=LIVE
        )
        assert await widget.locator(".rating").count() == 0
        conversation = await _latest_conversation(stack)
        async with httpx.AsyncClient(base_url=stack.api_url) as client:
            operator = await Operator.sign_in(client)
            await operator.post(f"/conversations/{conversation}/resolve")
        # Stars 1–5 or a net promoter score 0–10, as the inbox says.
        rating = widget.locator(".rating")
        await expect(rating).to_be_visible(timeout=LIVE)
        await expect(rating.locator("[data-score]")).to_have_count(choices)
        await rating.get_by_role("button", name=f"{pick} из {scale}", exact=True).click()
        await rating.get_by_role("textbox").fill("Быстро ответили")
        await rating.get_by_role("button", name="Оценить").click()
        await expect(rating).to_contain_text("Спасибо за оценку!")
        stored = await stack.world.conversation_row(conversation)
        assert (stored["rating"], stored["rating_scale"]) == (pick, scale)
        assert stored["rating_comment"] == "Быстро ответили"
        # Rated once: a reload does not ask again.
        await page.reload()
        await _widget(page).get_by_role("button", name="Открыть чат").click()
        await expect(_widget(page).locator(".m.in")).to_have_count(1, timeout=LIVE)
        assert await _widget(page).locator(".rating").count() == 0
        await browser.close()


async def test_out_of_hours_the_widget_offers_to_leave_a_request(servers: Any) -> None:
    from playwright.async_api import async_playwright, expect

    closed = {"schedule": {"time_zone": "UTC", "weekly": {"mon": [["00:00", "00:01"]]}}}
    stack: Stack = await servers({**closed, "offline": {"message": "Мы откроемся в 9:00."}})
    async with async_playwright() as playwright:
        browser = await launch_chromium(playwright)
        page = await browser.new_page(locale="ru-RU")
        await page.goto(stack.shop(**{"load-after": "1.5"}))
        # data-load-after: the widget comes later, by itself.
        assert await page.locator("[data-switchboard-chat]").count() == 0
        widget = _widget(page)
        await widget.get_by_role("button", name="Открыть чат").click(timeout=LIVE)
        note = widget.locator(".note")
        await expect(note).to_contain_text("Мы откроемся в 9:00.", timeout=LIVE)
        await note.get_by_role("button", name="Оставить заявку").click()
        form = widget.locator(".request")
        await form.get_by_role("textbox", name="Ваше имя").fill("Ирина")
        await form.get_by_role("button", name="Отправить заявку").click()
        await expect(form.locator(".fail")).to_have_text("Укажите телефон или эл. почту.")
        await form.get_by_role("textbox", name="Телефон").fill("+7 900 000-00-00")
        await form.get_by_role("textbox", name="Ваш вопрос").fill("Перезвоните, пожалуйста.")
        await form.get_by_role("button", name="Отправить заявку").click()
        await expect(form).to_contain_text("Спасибо! Мы свяжемся с вами")
        await browser.close()


PASTE_SCREENSHOT = """async () => {
    const canvas = document.createElement("canvas");
    canvas.width = 40; canvas.height = 30;
    const g = canvas.getContext("2d"); g.fillStyle = "#c00"; g.fillRect(0, 0, 40, 30);
    const blob = await new Promise((done) => canvas.toBlob(done, "image/png"));
    const data = new DataTransfer();
    data.items.add(new File([blob], "screenshot.png", { type: "image/png" }));
    const root = document.querySelector("[data-switchboard-chat]").shadowRoot;
    const box = root.querySelector("textarea");
    box.focus();
    box.dispatchEvent(new ClipboardEvent("paste", { clipboardData: data, bubbles: true }));
}"""


async def test_a_pasted_screenshot_is_sent_and_refused_files_say_why(
    servers: Any, tmp_path: Any
) -> None:
    from playwright.async_api import async_playwright, expect

    stack: Stack = await servers(MESSENGER_ATTACHMENTS_DIR=str(tmp_path))
    async with async_playwright() as playwright:
        browser = await launch_chromium(playwright)
        page = await browser.new_page(locale="ru-RU")
        problems: list[str] = []
        page.on("pageerror", lambda error: problems.append(str(error)))
        await page.goto(stack.shop())
        widget = _widget(page)
        await widget.get_by_role("button", name="Открыть чат").click()
        box = widget.get_by_role("textbox", name="Напишите сообщение…")

        # Ctrl+V of a screenshot: uploaded at once, sent with the text, shown as a picture.
        await page.evaluate(PASTE_SCREENSHOT)
        chip = widget.locator(".chip")
        await expect(chip).to_contain_text("screenshot.png", timeout=LIVE)
        await expect(chip).not_to_contain_text("загружается", timeout=LIVE)
        await box.fill("Вот скриншот ошибки")
        await box.press("Enter")
        mine = widget.locator(".m.in").last
        await expect(mine.locator(".tick")).to_have_attribute("data-state", "sent", timeout=LIVE)
        picture = mine.locator(".att img")
        await expect(picture).to_have_attribute("alt", "screenshot.png")
        loaded = "img => img.complete && img.naturalWidth === 40"
        await page.wait_for_function(
            "() => { const img = document.querySelector('[data-switchboard-chat]').shadowRoot"
            ".querySelector('.att img'); return img && img.complete && img.naturalWidth === 40 }",
            timeout=LIVE,
        )
        assert await picture.evaluate(loaded)
        assert await stack.world.one("SELECT count(*) FROM messenger.attachments") == 1

        # A page disguised as a picture: refused by its content, and the widget says so.
        picker = widget.locator("input[type=file]")
        await picker.set_input_files(
            files=[
                {
                    "name": "photo.png",
                    "mimeType": "image/png",
                    "buffer": b"<html><script>alert(1)</script></html>",
                }
            ]
        )
        error = widget.locator(".err")
        await expect(error).to_be_visible(timeout=LIVE)
        await expect(error).to_contain_text("photo.png: ")
        await expect(widget.locator(".chip")).to_have_count(0)
        refused_type = await error.text_content()

        # Too large (over the default 10 MiB): refused, nothing kept.
        big = b"a" * (10 * 1024 * 1024 + 1024)
        await picker.set_input_files(
            files=[{"name": "big.txt", "mimeType": "text/plain", "buffer": big}]
        )
        await expect(error).to_contain_text("big.txt: ", timeout=LIVE)
        await expect(widget.locator(".chip")).to_have_count(0)
        assert await stack.world.one("SELECT count(*) FROM messenger.attachments") == 1
        assert refused_type
        assert refused_type != await error.text_content()
        await browser.close()
    assert problems == []


async def _eventually(check: Any, seconds: float = 10.0) -> None:
    import asyncio

    deadline = asyncio.get_running_loop().time() + seconds
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "not within the time"
        await asyncio.sleep(0.2)
