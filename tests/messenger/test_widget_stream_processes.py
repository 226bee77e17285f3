"""Two API processes behind one address (issue 8, item 7): a visitor's widget streams from one
process while its messages, and the operator's answers, go through the other; the PostgreSQL
bus carries each event across, and a reconnect to either process resumes after the last id."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from switchboard.core.db import Database
from switchboard.core.db.base import utcnow
from switchboard.core.realtime.postgres import PostgresBus
from switchboard.messenger.conversations import service
from tests.messenger.support import World, public_key, staffed_inbox
from tests.servers import free_port, platform_env, switchboard_process, wait_until_up

pytestmark = pytest.mark.slow

WIDGET = "/api/widget"


class Who:
    def __init__(self, staff_id: int) -> None:
        self.id = staff_id


async def next_events(lines: AsyncIterator[str], count: int) -> list[dict[str, str]]:
    found: list[dict[str, str]] = []
    current: dict[str, str] = {}
    async for line in lines:
        if not line:
            if "event" in current:
                found.append(current)
                if len(found) == count:
                    return found
            current = {}
        elif not line.startswith(":"):
            name, _, value = line.partition(":")
            current[name] = value.strip()
    return found


async def opened(lines: AsyncIterator[str]) -> None:
    async for line in lines:
        if line.startswith(": connected"):
            return
    raise AssertionError("the stream ended before its opening frame")


async def test_events_cross_between_two_api_processes(clean_database: str, tmp_path: Path) -> None:
    database = Database(clean_database)
    bus = PostgresBus(database)
    await bus.start()
    try:
        world = World(database)
        branch = await world.branch("ekb")
        operator = await world.operator(branch, "anna")
        key = await public_key(world, await world.inbox(branch=branch))
        env = platform_env(
            clean_database,
            EVENT_BUS="postgres",
            MESSENGER_SSE_HEARTBEAT_SECONDS="1",
            MESSENGER_SSE_LIFETIME_SECONDS="30",
        )
        ports = [free_port(), free_port()]
        with (
            switchboard_process(
                "serve", "--port", str(ports[0]), env=env, log=tmp_path / "a.log"
            ) as first,
            switchboard_process(
                "serve", "--port", str(ports[1]), env=env, log=tmp_path / "b.log"
            ) as second,
        ):
            bases = [f"http://127.0.0.1:{port}" for port in ports]
            await asyncio.to_thread(wait_until_up, bases[0] + "/api/health", first, 180)
            await asyncio.to_thread(wait_until_up, bases[1] + "/api/health", second, 180)
            async with (
                httpx.AsyncClient(base_url=bases[0], timeout=20) as one,
                httpx.AsyncClient(base_url=bases[1], timeout=20) as other,
            ):
                boot = (await one.post(f"{WIDGET}/bootstrap", json={"inbox": key})).json()
                token = {"X-Visitor-Token": boot["visitor_token"]}
                params = {"inbox": key, "key": boot["stream_key"]}
                async with other.stream("GET", f"{WIDGET}/stream/", params=params) as stream:
                    assert stream.status_code == 200
                    lines = stream.aiter_lines()
                    await opened(lines)
                    sent = await one.post(
                        f"{WIDGET}/messages",
                        json={"inbox": key, "text": "через первый", "client_id": "c-1"},
                        headers=token,
                    )
                    assert sent.status_code == 200, sent.text
                    conversation = sent.json()["conversation"]["id"]
                    # The operator answers in a third process (this test's own bus).
                    async with database.transaction() as session:
                        reply = await service.post_staff_message(
                            session,
                            bus,
                            conversation,
                            Who(operator),
                            text="ответ",
                            client_id="op-1",
                            now=utcnow(),
                        )
                    received = await asyncio.wait_for(next_events(lines, 2), 15)
                assert [e["event"] for e in received] == ["message.created", "message.created"]
                texts = [json.loads(e["data"])["message"]["text"] for e in received]
                assert texts == ["через первый", "ответ"]
                assert json.loads(received[1]["data"])["message"]["id"] == reply.id

                # Away for a moment; the next message goes through the first process, and the
                # widget resumes on the first one after the last id it saw.
                await other.post(
                    f"{WIDGET}/messages",
                    json={"inbox": key, "text": "через второй", "client_id": "c-2"},
                    headers=token,
                )
                async with one.stream(
                    "GET",
                    f"{WIDGET}/stream/",
                    params=params,
                    headers={"Last-Event-ID": received[-1]["id"]},
                ) as stream:
                    lines = stream.aiter_lines()
                    [missed] = await asyncio.wait_for(next_events(lines, 1), 15)
                assert json.loads(missed["data"])["message"]["text"] == "через второй"
                assert int(missed["id"]) == int(received[-1]["id"]) + 1
    finally:
        await bus.stop()
        await database.dispose()


async def test_a_stopping_api_process_ends_its_streams_at_once(
    clean_database: str, tmp_path: Path
) -> None:
    """Streams never end on their own: on SIGTERM the server ends them, so it exits at once and
    the widgets resume on another process with their last id."""
    key, _ = await staffed_inbox(clean_database)
    port = free_port()
    env = platform_env(clean_database, EVENT_BUS="postgres", LOG_LEVEL="INFO")
    log = tmp_path / "api.log"
    with switchboard_process("serve", "--port", str(port), env=env, log=log) as api:
        base = f"http://127.0.0.1:{port}"
        await asyncio.to_thread(wait_until_up, base + "/api/health", api, 180)
        async with httpx.AsyncClient(base_url=base, timeout=20) as client:
            boot = (await client.post(f"{WIDGET}/bootstrap", json={"inbox": key})).json()
            params = {"inbox": key, "key": boot["stream_key"]}
            async with client.stream("GET", f"{WIDGET}/stream/", params=params) as stream:
                lines = stream.aiter_lines()
                await opened(lines)
                stopping = time.monotonic()
                api.send_signal(signal.SIGTERM)
                async for _ in lines:
                    pass
                ended = time.monotonic() - stopping
        await asyncio.to_thread(api.wait, 30)
        exited = time.monotonic() - stopping
    assert ended < 5, ended
    assert exited < 10, exited
    text = log.read_text(errors="replace")
    assert "Application shutdown complete" in text
    assert "Traceback" not in text
