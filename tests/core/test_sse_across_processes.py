"""An event published in one process reaches an SSE client connected to another process."""

from __future__ import annotations

import asyncio
import os
import signal
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from switchboard.consultations.dictionaries.events import DictionariesChanged
from switchboard.core.db import Database
from switchboard.core.realtime import EventBus
from tests.servers import free_port, platform_env, switchboard_process, wait_until_up

pytestmark = pytest.mark.slow


async def _read_events(lines: AsyncIterator[str], count: int) -> list[dict[str, str]]:
    events: list[dict[str, str]] = []
    current: dict[str, str] = {}
    async for line in lines:
        if not line:
            if "event" in current:
                events.append(current)
                if len(events) == count:
                    return events
            current = {}
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        current[name] = value.strip()
    return events


async def _wait_connected(lines: AsyncIterator[str]) -> str:
    """Wait for the opening frame; the position it gives as its id."""
    connected = False
    async for line in lines:
        if line.startswith(": connected"):
            connected = True
        elif connected and line.startswith("id:"):
            return line.partition(":")[2].strip()
    raise AssertionError("the stream ended before its opening frame")


@pytest.fixture(params=["postgres", "redis"])
async def publisher(
    request: pytest.FixtureRequest, clean_database: str
) -> AsyncIterator[tuple[EventBus, dict[str, str]]]:
    database = Database(clean_database)
    if request.param == "redis":
        url = os.environ.get("REDIS_URL")
        if not url:
            pytest.skip("Redis backend not tested: REDIS_URL is not set (no Redis server here)")
        from switchboard.core.realtime.redis import RedisBus

        prefix = f"switchboard-test-{uuid.uuid4().hex[:8]}:"
        bus: EventBus = RedisBus(database, url, prefix=prefix + "events:")
        env = {"EVENT_BUS": "redis", "REDIS_URL": url, "REDIS_PREFIX": prefix}
    else:
        from switchboard.core.realtime.postgres import PostgresBus

        bus = PostgresBus(database)
        env = {"EVENT_BUS": "postgres"}
    await bus.start()
    yield bus, env
    await bus.stop()
    await database.dispose()


async def test_event_reaches_sse_client_of_another_process_and_resumes(
    publisher: tuple[EventBus, dict[str, str]], clean_database: str, tmp_path: Path
) -> None:
    bus, bus_env = publisher
    port = free_port()
    env = platform_env(
        clean_database, **bus_env, SSE_HEARTBEAT_SECONDS="1", SSE_MAX_LIFETIME_SECONDS="6"
    )
    with switchboard_process(
        "serve", "--port", str(port), env=env, log=tmp_path / "serve.log"
    ) as api:
        base = f"http://127.0.0.1:{port}"
        await asyncio.to_thread(wait_until_up, base + "/api/health", api)
        async with httpx.AsyncClient(base_url=base, timeout=20) as client:
            async with client.stream("GET", "/api/dicts/events") as stream:
                assert stream.headers["content-type"].startswith("text/event-stream")
                assert stream.headers["cache-control"] == "no-store"
                # The headers went through every layer of the app (the request id's included)
                # before the stream left them: those layers count the request as answered.
                assert stream.headers["x-request-id"]
                metrics = (await client.get("/metrics")).text
                assert (
                    'switchboard_http_requests_total{method="GET",route="/api/dicts/events",'
                    'status="200"} 1.0' in metrics
                )
                lines = stream.aiter_lines()
                assert await _wait_connected(lines) == "0"
                first = await bus.publish("dicts", DictionariesChanged(catalogs=["po_types"]))
                (received,) = await asyncio.wait_for(_read_events(lines, 1), 15)
            assert received == {
                "event": "dictionaries.changed",
                "id": first.id,
                "data": '{"catalogs":["po_types"]}',
            }
            # While the client is away two more events happen; it resumes and gets exactly them.
            await bus.publish("dicts", DictionariesChanged(catalogs=["questions"]))
            await bus.publish("dicts", DictionariesChanged(catalogs=["interference"]))
            async with client.stream(
                "GET", "/api/dicts/events", headers={"Last-Event-ID": first.id}
            ) as stream:
                lines = stream.aiter_lines()
                assert await _wait_connected(lines) == first.id
                missed = await asyncio.wait_for(_read_events(lines, 2), 15)
            assert [e["data"] for e in missed] == [
                '{"catalogs":["questions"]}',
                '{"catalogs":["interference"]}',
            ]
            poll = await client.get("/api/dicts/events/poll", params={"after": first.id})
            assert [e["data"]["catalogs"] for e in poll.json()["events"]] == [
                ["questions"],
                ["interference"],
            ]
            # Heartbeats keep idle streams alive; the stream ends after its lifetime, so that
            # clients reconnect (and rebalance) with their Last-Event-ID.
            started = asyncio.get_running_loop().time()
            async with client.stream("GET", "/api/dicts/events") as stream:
                whole = [line async for line in stream.aiter_lines()]
            lasted = asyncio.get_running_loop().time() - started
            assert any(line.startswith(": ping") for line in whole)
            assert any(line.startswith("retry:") for line in whole)
            assert 5 <= lasted < 15
            bad = await client.get("/api/dicts/events", headers={"Last-Event-ID": "bogus"})
            assert bad.status_code == 400
            assert bad.json()["error"] == "invalid_event_id"


async def test_a_client_that_saw_no_event_resumes_from_the_opening_position(
    publisher: tuple[EventBus, dict[str, str]], clean_database: str, tmp_path: Path
) -> None:
    """The opening frame's id is what the browser sends back as Last-Event-ID: an event
    published while it reconnects is not lost even if the stream before carried none."""
    bus, bus_env = publisher
    await bus.publish("dicts", DictionariesChanged(catalogs=["po_types"]))
    port = free_port()
    env = platform_env(clean_database, **bus_env, SSE_HEARTBEAT_SECONDS="1")
    with switchboard_process(
        "serve", "--port", str(port), env=env, log=tmp_path / "serve.log"
    ) as api:
        base = f"http://127.0.0.1:{port}"
        await asyncio.to_thread(wait_until_up, base + "/api/health", api)
        async with httpx.AsyncClient(base_url=base, timeout=20) as client:
            async with client.stream("GET", "/api/dicts/events") as stream:
                position = await _wait_connected(stream.aiter_lines())
            assert position == "1"
            # Between two connections of the same client:
            during = await bus.publish("dicts", DictionariesChanged(catalogs=["questions"]))
            async with client.stream(
                "GET", "/api/dicts/events", headers={"Last-Event-ID": position}
            ) as stream:
                lines = stream.aiter_lines()
                await _wait_connected(lines)
                (received,) = await asyncio.wait_for(_read_events(lines, 1), 15)
            assert received["id"] == during.id == "2"
            assert received["data"] == '{"catalogs":["questions"]}'


async def test_a_stopping_server_ends_its_streams_instead_of_waiting_for_them(
    clean_database: str, tmp_path: Path
) -> None:
    port = free_port()
    env = platform_env(clean_database, EVENT_BUS="postgres", SSE_HEARTBEAT_SECONDS="15")
    with switchboard_process(
        "serve", "--port", str(port), env=env, log=tmp_path / "serve.log"
    ) as api:
        base = f"http://127.0.0.1:{port}"
        await asyncio.to_thread(wait_until_up, base + "/api/health", api)
        async with (
            httpx.AsyncClient(base_url=base, timeout=20) as client,
            client.stream("GET", "/api/dicts/events") as stream,
        ):
            lines = stream.aiter_lines()
            await _wait_connected(lines)
            api.send_signal(signal.SIGTERM)
            started = asyncio.get_running_loop().time()
            rest = [line async for line in lines]
            ended = asyncio.get_running_loop().time() - started
        code = await asyncio.to_thread(api.wait, 15)
        exited = asyncio.get_running_loop().time() - started
    assert not any(line.startswith("event:") for line in rest)
    assert ended < 3
    assert exited < 5
    # uvicorn shuts down gracefully, then lets the signal end the process as it would have.
    assert code in (0, -signal.SIGTERM)
