"""The operator panel in real Chromium against the whole app on a real server: an operator signs
in, a visitor's new chat appears live (SSE) with its unread badge, the operator opens it, sees
the visitor typing, answers with Enter (stored in the database, seen by the visitor), and a
next visitor message arrives live in the open conversation. A second run blocks the event
stream: the panel falls back to polling and still gets the new chat, and in a background tab
it rings and shows a notification. A supervisor reads why a chat went where it went and
transfers it by hand in the dialog."""

from __future__ import annotations

import re
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from switchboard.main import create_app
from switchboard.messenger.accounts import service as accounts
from switchboard.runtime import Runtime
from switchboard.sandbox.server import LoopServer
from tests.browser import launch_chromium, needs_chromium
from tests.messenger.attachments_support import png
from tests.messenger.support import World, public_key

pytestmark = [
    pytest.mark.slow,
    needs_chromium,
]

PASSWORD = "operator password 1"
#: A background tab whose notifications are allowed: they and the sounds are only recorded.
HIDDEN_TAB = """
Object.defineProperty(document, "hidden", { get: () => true });
window.notes = [];
window.rings = 0;
window.Notification = class {
  static permission = "granted";
  static requestPermission() { return Promise.resolve("granted"); }
  constructor(title, options) { window.notes.push({ title, body: options.body }); }
  close() {}
};
HTMLMediaElement.prototype.play = function () { window.rings += 1; return Promise.resolve(); };
"""


@dataclass
class Stack:
    runtime: Runtime
    url: str
    key: str
    operator_id: int


@pytest.fixture
async def stack(runtime_factory: Any) -> AsyncIterator[Stack]:
    runtime: Runtime = await runtime_factory()
    world = World(runtime.database)
    branch = await world.branch("ekb")
    async with runtime.database.transaction() as session:
        staff, _ = await accounts.save_staff(
            session,
            login="anna@example.com",
            name="Анна",
            role="operator",
            branch_code="ekb",
            password_hash=accounts.Passwords().hash_now(PASSWORD),
        )
        await accounts.set_own_status(session, staff.id, "online")
    key = await public_key(world, await world.inbox(branch=branch))
    server = LoopServer(create_app(runtime.settings, runtime=runtime))
    await server.start()
    try:
        yield Stack(runtime, server.url, key, staff.id)
    finally:
        runtime.bus.drain()  # open streams end, as in a server that stops
        await server.stop()


class Visitor:
    def __init__(self, stack: Stack, client: httpx.AsyncClient) -> None:
        self.stack = stack
        self.client = client
        self.token = ""

    async def start(self) -> None:
        answer = await self.client.post("/api/widget/bootstrap", json={"inbox": self.stack.key})
        answer.raise_for_status()
        self.token = answer.json()["visitor_token"]

    async def write(self, text: str) -> int:
        answer = await self.client.post(
            "/api/widget/messages",
            json={"inbox": self.stack.key, "text": text, "client_id": secrets.token_hex(8)},
            headers={"X-Visitor-Token": self.token},
        )
        answer.raise_for_status()
        conversation: int = answer.json()["conversation"]["id"]
        return conversation

    async def typing(self) -> None:
        answer = await self.client.post(
            "/api/widget/typing",
            json={"inbox": self.stack.key, "typing": True},
            headers={"X-Visitor-Token": self.token},
        )
        answer.raise_for_status()

    async def seen(self, conversation: int, message_id: int) -> None:
        answer = await self.client.post(
            "/api/widget/seen",
            json={
                "inbox": self.stack.key,
                "conversation_id": conversation,
                "delivered_up_to": message_id,
                "read_up_to": message_id,
            },
            headers={"X-Visitor-Token": self.token},
        )
        answer.raise_for_status()

    async def history(self) -> list[dict[str, Any]]:
        answer = await self.client.get(
            "/api/widget/messages",
            params={"inbox": self.stack.key},
            headers={"X-Visitor-Token": self.token},
        )
        answer.raise_for_status()
        messages: list[dict[str, Any]] = answer.json()["messages"]
        return messages


async def _sign_in(page: Any, stack: Stack) -> None:
    from playwright.async_api import expect

    await page.goto(f"{stack.url}/messenger/")
    await expect(page).to_have_url(f"{stack.url}/messenger/login")
    await page.fill("#login", "anna@example.com")
    await page.fill("#password", "wrong password")
    await page.press("#password", "Enter")
    await expect(page.locator("#login-error")).to_be_visible()
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit]")
    await expect(page).to_have_url(f"{stack.url}/messenger/")
    await expect(page.locator("#list-empty")).to_be_visible()


async def test_an_operator_answers_a_new_chat_live(stack: Stack) -> None:
    from playwright.async_api import async_playwright, expect

    async with (
        async_playwright() as playwright,
        httpx.AsyncClient(base_url=stack.url) as client,
    ):
        browser = await launch_chromium(playwright)
        page = await browser.new_page(locale="ru-RU")
        problems: list[str] = []
        page.on("pageerror", lambda error: problems.append(str(error)))
        await _sign_in(page, stack)
        await expect(page.locator("#connection")).to_have_attribute("data-state", "stream")

        visitor = Visitor(stack, client)
        await visitor.start()
        conversation = await visitor.write("Здравствуйте, нужна помощь с заказом")

        # The chat appears live, with its unread count in the list and in the menu.
        item = page.locator(f'#conversations button[data-id="{conversation}"]')
        await expect(item).to_contain_text("нужна помощь с заказом", timeout=10_000)
        await expect(item.locator(".badge")).to_have_text("1")
        await expect(page.locator("#unread-badge")).to_have_text("1")

        await item.click()
        await expect(page.locator("#messages")).to_contain_text("нужна помощь с заказом")
        await expect(page.locator("#unread-badge")).to_be_hidden()
        await visitor.typing()
        await expect(page.locator("#typing")).to_contain_text("печатает", timeout=10_000)

        await page.fill("#text", "**Добрый день!**\nСейчас посмотрю.")
        await page.press("#text", "Enter")
        answer = page.locator("#messages li.out.staff").last
        await expect(answer.locator("strong")).to_have_text("Добрый день!")
        await expect(answer).not_to_have_class(re.compile(r"\bpending\b"))
        await expect(answer.locator(".ticks")).to_be_visible()
        await expect(page.locator("#text")).to_have_value("")

        # The visitor's widget shows the answer: two ticks, live.
        shown = [m for m in await visitor.history() if m["direction"] == "out"][-1]
        await visitor.seen(conversation, shown["id"])
        await expect(answer.locator(".ticks")).to_have_text("✓✓", timeout=10_000)

        # A screenshot pasted with Ctrl+V is uploaded, then sent with the next message.
        await page.focus("#text")
        await page.evaluate(
            """(bytes) => {
                const file = new File([new Uint8Array(bytes)], "снимок.png", {type: "image/png"});
                const data = new DataTransfer();
                data.items.add(file);
                const paste = new ClipboardEvent("paste", {clipboardData: data, bubbles: true});
                document.getElementById("text").dispatchEvent(paste);
            }""",
            list(png(8, 8)),
        )
        await expect(page.locator("#pending-files li")).to_contain_text("снимок.png")
        await page.fill("#text", "Вот снимок")
        await page.press("#text", "Enter")
        image = page.locator("#messages li.out.staff").last.locator(".attachments img")
        await expect(image).to_be_visible(timeout=10_000)
        assert await image.evaluate("(img) => img.complete && img.naturalWidth") == 8

        await visitor.write("Заказ №42, спасибо")
        await expect(page.locator("#messages")).to_contain_text("Заказ №42", timeout=10_000)

        # A second chat: Alt+↑ and Alt+↓ move between the two (newest first).
        other = Visitor(stack, client)
        await other.start()
        second = await other.write("Другой вопрос")
        selected = page.locator("#conversations button.selected")
        await expect(page.locator(f'#conversations button[data-id="{second}"]')).to_be_visible(
            timeout=10_000
        )
        await page.keyboard.press("Alt+ArrowUp")
        await expect(selected).to_have_attribute("data-id", str(second))
        await expect(page.locator("#messages")).to_contain_text("Другой вопрос")
        await page.keyboard.press("Alt+ArrowDown")
        await expect(selected).to_have_attribute("data-id", str(conversation))
        await expect(page.locator("#messages")).to_contain_text("Заказ №42")

        await page.click("#emoji-button")
        await expect(page.locator("#emoji-panel")).to_be_visible()
        await page.keyboard.press("Escape")
        await expect(page.locator("#emoji-panel")).to_be_hidden()
        # The own status: away (routing passes over them), as the database says.
        await page.select_option("#own-status", "away")
        await expect(page.locator("#toast")).to_have_text("Статус изменён.")
        await browser.close()
    assert problems == []
    assert (
        await World(stack.runtime.database).one(
            "SELECT status FROM messenger.staff WHERE id = :s", s=stack.operator_id
        )
        == "away"
    )

    stored = await World(stack.runtime.database).one(
        "SELECT body FROM messenger.messages WHERE conversation_id = :c AND staff_id = :s",
        c=conversation,
        s=stack.operator_id,
    )
    assert stored == "**Добрый день!**\nСейчас посмотрю."
    assert (await World(stack.runtime.database).conversation_row(conversation))[
        "assignee_opened_at"
    ] is not None
    async with httpx.AsyncClient(base_url=stack.url) as client:
        visitor.client = client
        texts = [message["text"] for message in await visitor.history()]
    assert "**Добрый день!**\nСейчас посмотрю." in texts


async def test_the_panel_polls_while_the_event_stream_is_blocked_and_returns_to_it(
    stack: Stack,
) -> None:
    from playwright.async_api import async_playwright, expect

    async with (
        async_playwright() as playwright,
        httpx.AsyncClient(base_url=stack.url) as client,
    ):
        browser = await launch_chromium(playwright)
        page = await browser.new_page(locale="ru-RU")
        # The tab is in the background: what the panel rings and shows is recorded.
        await page.add_init_script(HIDDEN_TAB)
        await page.clock.install()  # runs as usual until the test moves it on
        await page.route("**/api/messenger/stream/**", lambda route: route.abort())
        await _sign_in(page, stack)
        await expect(page.locator("#connection")).to_have_attribute(
            "data-state", "poll", timeout=15_000
        )
        visitor = Visitor(stack, client)
        await visitor.start()
        conversation = await visitor.write("Пишу через опрос")
        item = page.locator(f'#conversations button[data-id="{conversation}"]')
        await expect(item).to_contain_text("Пишу через опрос", timeout=10_000)
        notes = await page.evaluate("window.notes")
        assert {"title": "Новый диалог", "body": "Посетитель №1"} in notes
        assert {"title": "Новое сообщение: Посетитель №1", "body": "Пишу через опрос"} in notes
        assert await page.evaluate("window.rings") >= 1

        # The stream works again: the panel goes back to it on its next try, and stays live.
        await page.unroute("**/api/messenger/stream/**")
        await page.clock.fast_forward(31_000)
        await expect(page.locator("#connection")).to_have_attribute(
            "data-state", "stream", timeout=15_000
        )
        await visitor.write("А теперь через поток")
        await expect(item).to_contain_text("А теперь через поток", timeout=10_000)
        await browser.close()


async def _staff(stack: Stack, login: str, name: str, role: str, status: str) -> int:
    async with stack.runtime.database.transaction() as session:
        staff, _ = await accounts.save_staff(
            session,
            login=login,
            name=name,
            role=role,
            branch_code="ekb",
            password_hash=accounts.Passwords().hash_now(PASSWORD),
        )
        await accounts.set_own_status(session, staff.id, status)
    return staff.id


async def test_a_supervisor_sees_why_and_transfers_by_hand(stack: Stack) -> None:
    from playwright.async_api import async_playwright, expect

    boris = await _staff(stack, "boris@example.com", "Борис", "operator", "away")
    await _staff(stack, "sveta@example.com", "Света", "supervisor", "offline")
    async with (
        async_playwright() as playwright,
        httpx.AsyncClient(base_url=stack.url) as client,
    ):
        visitor = Visitor(stack, client)
        await visitor.start()
        conversation = await visitor.write("Позовите старшего")
        browser = await launch_chromium(playwright)
        page = await browser.new_page(locale="ru-RU")
        problems: list[str] = []
        page.on("pageerror", lambda error: problems.append(str(error)))
        await page.goto(f"{stack.url}/messenger/login")
        await page.fill("#login", "sveta@example.com")
        await page.fill("#password", PASSWORD)
        await page.press("#password", "Enter")
        item = page.locator(f'#conversations button[data-id="{conversation}"]')
        await expect(item).to_contain_text("Анна")  # everyone's chats, with their assignee
        await item.click()

        # The routing audit: the reason, the chosen operator, the candidates.
        await page.click("#audit summary")
        audit = page.locator("#audit-list")
        await expect(audit).to_contain_text("новый диалог: Анна")
        await expect(audit).to_contain_text("Борис — отошёл, 0/5: статус «отошёл»")
        # Routing's explanation, in Russian.
        await expect(audit).to_contain_text("меньше всех активных диалогов (0) из 1 доступных")

        # The transfer dialog: Esc closes it; the branch has nobody else free; Boris by hand.
        await page.click("#transfer")
        dialog = page.locator("#transfer-dialog")
        await expect(dialog).to_be_visible()
        await page.keyboard.press("Escape")
        await expect(dialog).to_be_hidden()
        await page.click("#transfer")
        await page.click("#transfer-to-branch")
        await expect(page.locator("#transfer-error")).not_to_be_empty()
        await page.select_option("#transfer-staff", str(boris))
        await page.click("#transfer-to-staff")
        await expect(dialog).to_be_hidden()
        await expect(page.locator("#toast")).to_have_text("Диалог передан: Борис")
        await expect(page.locator("#conversation-meta")).to_contain_text("оператор: Борис")
        await expect(audit).to_contain_text("передан вручную: Борис")
        await browser.close()
    assert problems == []
    assert (await World(stack.runtime.database).conversation_row(conversation))[
        "assignee_id"
    ] == boris
