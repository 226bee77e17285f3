"""The sandbox's visitor simulator against the real API on a real server: a simulated visitor
opens the widget, shows typing, writes, reads the operator's answer from the event poll, marks
it read and rates the chat once it is resolved; the platform records all of it."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from switchboard.sandbox.messenger.visitors import VisitorSimulator
from tests.messenger.test_widget_browser import Operator, Stack, servers

__all__ = ["servers"]  # the fixture, for pytest

QUIET = 5.0


async def _answer_and_resolve(stack: Stack) -> None:
    """The operator's side: answer each visitor message; resolve once the visitor has been
    quiet for `QUIET` seconds after an answer (the simulator notices an answer at its next
    poll, within 2 s, and its own pauses are a few ms here)."""
    async with httpx.AsyncClient(base_url=stack.api_url) as client:
        operator = await Operator.sign_in(client)
        answered: set[int] = set()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        quiet_since = None
        while loop.time() < deadline:
            await asyncio.sleep(0.2)
            listing = await client.get("/api/messenger/conversations", params={"scope": "mine"})
            chats = [chat for chat in listing.json() if chat["status"] == "open"]
            if not chats:
                continue
            chat = chats[0]
            detail = await operator.conversation(chat["id"])
            new = [
                m["id"]
                for m in detail["messages"]
                if m["direction"] == "in" and m["id"] not in answered
            ]
            for message_id in new:
                answered.add(message_id)
                await operator.reply(chat["id"], "Здравствуйте! Сейчас проверю.")
            if new or not answered:
                quiet_since = loop.time()
            elif quiet_since is not None and loop.time() - quiet_since > QUIET:
                await operator.post(f"/conversations/{chat['id']}/resolve")
                return


async def test_a_simulated_visitor_writes_reads_the_answer_and_rates(servers: Any) -> None:
    stack: Stack = await servers({"rating": {"enabled": True, "scale": 5}})
    async with VisitorSimulator(
        stack.api_url, stack.key, speed=0.01, seed=4, wait_for_answer=400
    ) as simulator:
        await asyncio.gather(simulator.visit(), _answer_and_resolve(stack))
    stats = simulator.stats
    assert stats.visitors == 1
    assert stats.refused == {}
    assert stats.transport_errors == 0
    assert stats.messages >= 1
    assert stats.answers >= 1
    conversation = int(await stack.world.one("SELECT max(id) FROM messenger.conversations"))
    row = await stack.world.conversation_row(conversation)
    stored = int(
        await stack.world.one(
            "SELECT count(*) FROM messenger.messages "
            "WHERE direction = 'in' AND conversation_id = :c",
            c=conversation,
        )
    )
    assert stored == stats.messages
    read = await stack.world.one(
        "SELECT bool_and(read_at IS NOT NULL) FROM messenger.messages "
        "WHERE direction = 'out' AND conversation_id = :c",
        c=conversation,
    )
    assert read is True
    assert stats.ratings == 1
    assert (row["status"], row["rating"]) == ("resolved", row["rating"])
    assert row["rating"] in (4, 5)


async def test_write_opens_a_conversation_at_once(servers: Any) -> None:
    stack: Stack = await servers()
    async with VisitorSimulator(stack.api_url, stack.key, speed=0) as simulator:
        token, conversation = await simulator.write(["Первый вопрос", "И второй"])
    assert token
    texts = await stack.world.one(
        "SELECT json_agg(body ORDER BY id) FROM messenger.messages WHERE conversation_id = :c",
        c=conversation,
    )
    assert texts == ["Первый вопрос", "И второй"]
