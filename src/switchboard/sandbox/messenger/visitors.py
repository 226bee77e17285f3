"""A visitor simulator: people on a website writing to its chat widget, over the widget's API.

Each simulated visitor does what a person does: opens the widget (`POST /api/widget/bootstrap`),
writes one to three questions with pauses to think and type (typing shown first), watches the
conversation for answers (the poll of `GET /api/widget/events`, as the widget does when it
cannot hold a stream), reports them read, and rates the chat once an operator resolves it.
Visitors arrive at random (Poisson) at `rate_per_minute`, so the demo has a steady trickle and a
load test as many chats as it likes:

    async with VisitorSimulator("http://127.0.0.1:8000", "demo-inbox", seed=3) as simulator:
        await simulator.visit()                       # one visitor, start to end
        await simulator.run(rate_per_minute=30, count=100)
        print(simulator.stats.summary())

Nothing here knows the platform's code: it speaks HTTP only, like a browser.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

QUESTIONS = (
    "Здравствуйте! Подскажите, сколько стоит доставка в Екатеринбург?",
    "Добрый день. Можно ли вернуть товар, если не подошёл размер?",
    "Заказ №48213 ещё не пришёл, можете проверить?",
    "Есть ли у вас самовывоз в выходные?",
    "Хочу оформить рассрочку — какие нужны документы?",
    "Не могу оплатить картой на сайте, выдаёт ошибку.",
    "Подскажите, пожалуйста, режим работы магазина на Ленина.",
    "Можно поменять адрес доставки в уже оформленном заказе?",
)
FOLLOW_UPS = (
    "Спасибо!",
    "А по времени это сколько займёт?",
    "Понял, а если заказ больше 5000 ₽?",
    "Хорошо, жду.",
)


@dataclass
class VisitorStats:
    visitors: int = 0
    messages: int = 0
    answers: int = 0
    ratings: int = 0
    refused: dict[int, int] = field(default_factory=dict)
    transport_errors: int = 0

    def summary(self) -> str:
        refused = ", ".join(f"{status}: {n}" for status, n in sorted(self.refused.items()))
        return (
            f"visitors {self.visitors}, messages {self.messages}, answers seen {self.answers}, "
            f"ratings {self.ratings}, refused {{{refused}}}, transport errors "
            f"{self.transport_errors}"
        )


class Refused(Exception):
    """The platform answered a visitor's request with an error status."""


class VisitorSimulator:
    """Simulated visitors of the widget of `inbox` (its public key) on the platform at
    `api_url`. `speed` multiplies every pause (0: none). With `http` the caller owns the
    client."""

    def __init__(
        self,
        api_url: str,
        inbox: str,
        *,
        http: httpx.AsyncClient | None = None,
        speed: float = 1.0,
        seed: int | None = None,
        wait_for_answer: float = 60.0,
        origin: str | None = None,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self.inbox = inbox
        self.speed = speed
        self.wait_for_answer = wait_for_answer
        self.stats = VisitorStats()
        self._random = random.Random(seed)
        self._own_http = http is None
        headers = {"Origin": origin} if origin else {}
        self.http = http or httpx.AsyncClient(timeout=10.0, headers=headers)

    async def __aenter__(self) -> VisitorSimulator:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._own_http:
            await self.http.aclose()

    async def _pause(self, low: float, high: float) -> None:
        if self.speed > 0:
            await asyncio.sleep(self._random.uniform(low, high) * self.speed)

    async def _call(
        self, method: str, path: str, token: str | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        headers = {"X-Visitor-Token": token} if token else {}
        try:
            answer = await self.http.request(
                method, f"{self.api_url}/api/widget{path}", headers=headers, **kwargs
            )
        except httpx.HTTPError as exc:
            self.stats.transport_errors += 1
            raise Refused(str(exc)) from exc
        if answer.status_code >= 400:
            self.stats.refused[answer.status_code] = (
                self.stats.refused.get(answer.status_code, 0) + 1
            )
            raise Refused(f"{method} {path}: {answer.status_code} {answer.text[:200]}")
        body: dict[str, Any] = answer.json() if answer.content else {}
        return body

    async def write(self, lines: Sequence[str]) -> tuple[str, int]:
        """A new visitor opens the widget and sends `lines` at once, waiting for nothing; their
        token and conversation id (for a scripted conversation)."""
        session = await self._call("POST", "/bootstrap", json={"inbox": self.inbox})
        token = session["visitor_token"]
        conversation_id = 0
        for line in lines:
            sent = await self._call(
                "POST",
                "/messages",
                token,
                json={"inbox": self.inbox, "text": line, "client_id": str(uuid.uuid4())},
            )
            conversation_id = int(sent["conversation"]["id"])
            self.stats.messages += 1
        return token, conversation_id

    async def visit(self) -> None:
        """One visitor from opening the widget to rating (or giving up waiting)."""
        self.stats.visitors += 1
        try:
            await self._visit()
        except Refused:
            return

    async def _visit(self) -> None:
        session = await self._call("POST", "/bootstrap", json={"inbox": self.inbox})
        token = session["visitor_token"]
        watcher = _Watcher(self, token, session["stream_key"])
        await watcher.start()
        lines = [self._random.choice(QUESTIONS)]
        lines += self._random.sample(FOLLOW_UPS, self._random.randint(0, 2))
        for line in lines:
            await self._pause(2.0, 6.0)
            await self._call("POST", "/typing", token, json={"inbox": self.inbox, "typing": True})
            await self._pause(1.0, 4.0)
            await self._call(
                "POST",
                "/messages",
                token,
                json={"inbox": self.inbox, "text": line, "client_id": str(uuid.uuid4())},
            )
            self.stats.messages += 1
            await watcher.answer(self.wait_for_answer * max(self.speed, 0.05))
        resolved = await watcher.resolved(self.wait_for_answer * max(self.speed, 0.05))
        if resolved is not None:
            scale = int(session.get("rating", {}).get("scale", 5))
            score = self._random.randint(4, 5) if scale == 5 else self._random.randint(7, 10)
            await self._call(
                "POST",
                "/rating",
                token,
                json={"inbox": self.inbox, "conversation_id": resolved, "score": score},
            )
            self.stats.ratings += 1

    async def run(self, rate_per_minute: float, count: int | None = None) -> None:
        """Visitors arriving at random at `rate_per_minute`, `count` of them (None: until
        cancelled), each on their own."""
        if rate_per_minute <= 0:
            raise ValueError("rate_per_minute must be positive")
        async with asyncio.TaskGroup() as group:
            started = 0
            while count is None or started < count:
                group.create_task(self.visit())
                started += 1
                await asyncio.sleep(self._random.expovariate(rate_per_minute / 60.0))


class _Watcher:
    """What a visitor sees of their conversation, from the event poll."""

    def __init__(self, simulator: VisitorSimulator, token: str, key: str) -> None:
        self.simulator = simulator
        self.token = token
        self.key = key
        self.after: str | None = None
        self.answers = 0
        self.resolved_id: int | None = None

    async def start(self) -> None:
        page = await self._poll()
        self.after = page["last_event_id"]

    async def _poll(self) -> dict[str, Any]:
        params = {"inbox": self.simulator.inbox, "key": self.key}
        if self.after is not None:
            params["after"] = self.after
        return await self.simulator._call("GET", "/events", self.token, params=params)

    async def _look(self) -> None:
        page = await self._poll()
        self.after = page["last_event_id"]
        for event in page["events"]:
            data = event["data"]
            if event["type"] == "message.created" and data["message"]["direction"] == "out":
                self.answers += 1
                self.simulator.stats.answers += 1
                await self.simulator._call(
                    "POST",
                    "/seen",
                    self.token,
                    json={
                        "inbox": self.simulator.inbox,
                        "conversation_id": data["conversation_id"],
                        "delivered_up_to": data["message"]["id"],
                        "read_up_to": data["message"]["id"],
                    },
                )
            if event["type"] == "conversation.changed" and data["conversation"]["status"] in (
                "resolved",
                "closed",
            ):
                self.resolved_id = data["conversation_id"]

    async def answer(self, timeout: float) -> bool:
        """Waits (polling every 2 s, as the widget) for an answer after what was seen so far."""
        seen = self.answers
        return await self._until(lambda: self.answers > seen, timeout)

    async def resolved(self, timeout: float) -> int | None:
        await self._until(lambda: self.resolved_id is not None, timeout)
        return self.resolved_id

    async def _until(self, done: Any, timeout: float) -> bool:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            await self._look()
            if done():
                return True
            await asyncio.sleep(min(2.0, max(0.0, deadline - loop.time())))
        return False


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m switchboard.sandbox.messenger.visitors",
        description="Simulated visitors writing to a Switchboard chat widget.",
    )
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="the platform's API")
    parser.add_argument("--inbox", required=True, help="the widget's public key")
    parser.add_argument("--rate", type=float, default=6.0, help="new visitors a minute")
    parser.add_argument("--count", type=int, default=None, help="visitors in all (default: ∞)")
    parser.add_argument("--speed", type=float, default=1.0, help="pause factor (0: none)")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--origin", default=None, help="the Origin header (the site's address)")
    return parser


async def _run(options: argparse.Namespace) -> VisitorStats:
    async with VisitorSimulator(
        options.url, options.inbox, speed=options.speed, seed=options.seed, origin=options.origin
    ) as simulator:
        try:
            await simulator.run(options.rate, options.count)
        finally:
            print(simulator.stats.summary())
        return simulator.stats


def main(argv: Sequence[str] | None = None) -> int:
    options = build_parser().parse_args(argv)
    try:
        stats = asyncio.run(_run(options))
    except KeyboardInterrupt:
        return 0
    return 0 if not stats.refused and not stats.transport_errors else 1


if __name__ == "__main__":
    raise SystemExit(main())
