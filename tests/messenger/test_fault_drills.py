"""Fault drills on the messenger with real processes: PostgreSQL or Redis stopped under the
widget's stream, and a worker killed with `kill -9` while an escalation is due.

The database is a private PostgreSQL (pgserver) that really stops and starts; the API and the
worker are `python -m switchboard serve|worker` processes.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.messenger.support import staffed_inbox
from tests.messenger.test_widget_stream_processes import next_events, opened
from tests.servers import free_port, platform_env, switchboard_process, wait_until_up
from tests.stoppable_postgres import PrivatePostgres

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore:XDG_RUNTIME_DIR")]

WIDGET = "/api/widget"


def _rows(url: str, sql: str, *params: object) -> list[tuple[object, ...]]:
    with psycopg.connect(url) as connection:
        return connection.execute(sql, params).fetchall()


async def test_a_database_outage_under_the_widgets_stream_loses_and_doubles_nothing(
    private_postgres: PrivatePostgres,
    tmp_path: Path,
) -> None:
    url = private_postgres.url
    key, _ = await staffed_inbox(url)
    port = free_port()
    env = platform_env(
        url,
        EVENT_BUS="postgres",
        MESSENGER_SSE_HEARTBEAT_SECONDS="1",
        HTTP_MAX_ATTEMPTS="1",
        LOG_LEVEL="INFO",
    )
    api_log = tmp_path / "api.log"
    with switchboard_process("serve", "--port", str(port), env=env, log=api_log) as api:
        base = f"http://127.0.0.1:{port}"
        await asyncio.to_thread(wait_until_up, base + "/api/health", api, 180)
        async with httpx.AsyncClient(base_url=base, timeout=20) as client:
            boot = (await client.post(f"{WIDGET}/bootstrap", json={"inbox": key})).json()
            token = {"X-Visitor-Token": boot["visitor_token"]}
            params = {"inbox": key, "key": boot["stream_key"]}

            def send(text: str, client_id: str) -> Awaitable[httpx.Response]:
                body = {"inbox": key, "text": text, "client_id": client_id}
                return client.post(f"{WIDGET}/messages", json=body, headers=token)

            async with client.stream("GET", f"{WIDGET}/stream/", params=params) as stream:
                lines = stream.aiter_lines()
                await opened(lines)
                first = await send("до аварии", "c-1")
                assert first.status_code == 200, first.text
                [before] = await asyncio.wait_for(next_events(lines, 1), 15)

                private_postgres.control.stop()
                try:
                    refused = await send("во время аварии", "c-2")
                    # A clear "try again", never a 500 or a traceback.
                    assert refused.status_code == 503, refused.text
                    assert refused.json()["error"] == "database_unavailable"
                    # The open stream ends (or stays quiet) rather than sending anything wrong.
                    during = await _events_within(lines, 5)
                    assert [e for e in during if e.get("event") == "message.created"] == []
                finally:
                    private_postgres.control.start()

            # The widget retries the same message (same client_id) and resumes its stream.
            retried = await _until_ok(lambda: send("во время аварии", "c-2"), 60)
            again = await send("во время аварии", "c-2")  # a second retry is answered, not stored
            assert again.json()["messages"] == retried["messages"]
            resumed = {"Last-Event-ID": before["id"]}
            async with client.stream(
                "GET", f"{WIDGET}/stream/", params=params, headers=resumed
            ) as stream:
                assert stream.status_code == 200
                lines = stream.aiter_lines()
                [missed] = await asyncio.wait_for(next_events(lines, 1), 30)
                # And live again, once the bus has its connection back.
                after = await send("после аварии", "c-3")
                assert after.status_code == 200, after.text
                [live] = await asyncio.wait_for(next_events(lines, 1), 30)
            assert json.loads(missed["data"])["message"]["text"] == "во время аварии"
            assert json.loads(live["data"])["message"]["text"] == "после аварии"
            assert (await client.get("/api/health/db")).status_code == 200
            await asyncio.to_thread(
                _wait_for,
                "the telephony delivery to resume",
                lambda: "telephony delivery resumed" in api_log.read_text(errors="replace"),
                30,
            )
        assert api.poll() is None, "the API process must outlive the outage"
    texts = _rows(
        url, "SELECT body, client_id FROM messenger.messages WHERE direction = 'in' ORDER BY id"
    )
    assert texts == [("до аварии", "c-1"), ("во время аварии", "c-2"), ("после аварии", "c-3")]
    log = (tmp_path / "api.log").read_text(errors="replace")
    assert "Traceback" not in log
    # The outage is told once by each part that waits it out, not once a second.
    assert log.count("event bus connection lost") == 1
    assert log.count("event bus reconnected") == 1
    assert log.count("telephony delivery paused") == 1
    assert log.count("telephony delivery resumed") == 1


async def _events_within(lines: AsyncIterator[str], seconds: float) -> list[dict[str, str]]:
    try:
        return await asyncio.wait_for(next_events(lines, 1), seconds)
    except (TimeoutError, httpx.HTTPError):
        return []


async def _until_ok(
    call: Callable[[], Awaitable[httpx.Response]], timeout: float
) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while True:
        try:
            answer = await call()
            if answer.status_code == 200:
                return dict(answer.json())
            assert answer.status_code == 503, answer.text
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError("the API did not recover after the database came back")
        await asyncio.sleep(0.5)


async def test_a_worker_killed_before_an_escalation_is_due_escalates_once_after_restart(
    private_postgres: PrivatePostgres,
    tmp_path: Path,
) -> None:
    """The escalation timer is a scheduled job in PostgreSQL, not a timer in a process: the
    worker that would have run it dies with `kill -9`; the next worker escalates it, once."""
    url = private_postgres.url
    key, staff = await staffed_inbox(url, operators=2)
    port = free_port()
    env = platform_env(url, EVENT_BUS="postgres", MESSENGER_ESCALATION_SECONDS="10")
    with (
        switchboard_process("serve", "--port", str(port), env=env, log=tmp_path / "api.log") as api,
        switchboard_process("worker", env=env, log=tmp_path / "a.log") as first_worker,
    ):
        base = f"http://127.0.0.1:{port}"
        await asyncio.to_thread(wait_until_up, base + "/api/health", api, 180)
        async with httpx.AsyncClient(base_url=base, timeout=20) as client:
            boot = (await client.post(f"{WIDGET}/bootstrap", json={"inbox": key})).json()
            sent = await client.post(
                f"{WIDGET}/messages",
                json={"inbox": key, "text": "здравствуйте", "client_id": "c-1"},
                headers={"X-Visitor-Token": boot["visitor_token"]},
            )
            assert sent.status_code == 200, sent.text
        conversation = sent.json()["conversation"]["id"]
        [(assignee,)] = _rows(
            url, "SELECT assignee_id FROM messenger.conversations WHERE id = %s", conversation
        )
        assert assignee in staff
        first_worker.send_signal(signal.SIGKILL)
        first_worker.wait(timeout=10)
        # Nobody runs jobs past the due moment.
        await asyncio.sleep(12)
        [(still,)] = _rows(
            url, "SELECT assignee_id FROM messenger.conversations WHERE id = %s", conversation
        )
        assert still == assignee
        with switchboard_process("worker", env=env, log=tmp_path / "b.log"):
            await asyncio.to_thread(
                _wait_for,
                "the escalation after the restart",
                lambda: (
                    _rows(
                        url,
                        "SELECT assignee_id FROM messenger.conversations WHERE id = %s",
                        conversation,
                    )[0][0]
                    not in (assignee, None)
                ),
                60,
            )
            await asyncio.sleep(3)  # time for a second escalation, were there one
    [(now_with,)] = _rows(
        url, "SELECT assignee_id FROM messenger.conversations WHERE id = %s", conversation
    )
    assert now_with == ({*staff} - {assignee}).pop()
    reasons = _rows(
        url,
        "SELECT to_staff_id, reason FROM messenger.assignments WHERE conversation_id = %s "
        "ORDER BY id",
        conversation,
    )
    assert [r[0] for r in reasons] == [assignee, now_with], reasons
    escalations = _rows(
        url,
        "SELECT status::text FROM procrastinate_jobs WHERE task_name = 'messenger.escalate' "
        "ORDER BY id",
    )
    assert escalations[0] == ("succeeded",), escalations


def _wait_for(what: str, predicate: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


class PrivateRedis:
    """A redis-server of this test's own, stopped and started again on the same port."""

    def __init__(self, port: int, folder: Path) -> None:
        self.port, self.folder = port, folder
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--save", "", "--appendonly", "no", "--dir", str(self.folder)]
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        _wait_for("the private Redis", lambda: _answers(self.port), 20)

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None


def _answers(port: int) -> bool:
    import redis

    try:
        return bool(redis.Redis(port=port, socket_timeout=1).ping())
    except redis.RedisError:
        return False


async def test_redis_stopped_under_the_widgets_stream_delays_events_but_loses_none(
    clean_database: str, tmp_path: Path
) -> None:
    """Redis only wakes listeners (events live in PostgreSQL): while it is down the stream still
    gets every event through the periodic resync, and live wake-ups return with it."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server) to stop one")
    key, _ = await staffed_inbox(clean_database)
    redis_port, port = free_port(), free_port()
    env = platform_env(
        clean_database,
        EVENT_BUS="redis",
        REDIS_URL=f"redis://127.0.0.1:{redis_port}/0",
        MESSENGER_SSE_HEARTBEAT_SECONDS="1",
        LOG_LEVEL="INFO",
    )
    api_log = tmp_path / "api.log"
    redis_server = PrivateRedis(redis_port, tmp_path)
    redis_server.start()
    try:
        with switchboard_process("serve", "--port", str(port), env=env, log=api_log) as api:
            base = f"http://127.0.0.1:{port}"
            await asyncio.to_thread(wait_until_up, base + "/api/health", api, 180)
            async with httpx.AsyncClient(base_url=base, timeout=20) as client:
                boot = (await client.post(f"{WIDGET}/bootstrap", json={"inbox": key})).json()
                token = {"X-Visitor-Token": boot["visitor_token"]}
                params = {"inbox": key, "key": boot["stream_key"]}

                async def send(text: str, client_id: str) -> str:
                    body = {"inbox": key, "text": text, "client_id": client_id}
                    answer = await client.post(f"{WIDGET}/messages", json=body, headers=token)
                    assert answer.status_code == 200, answer.text
                    return text

                async with client.stream("GET", f"{WIDGET}/stream/", params=params) as stream:
                    lines = stream.aiter_lines()
                    await opened(lines)
                    received = []
                    sent = [await send("с Redis", "c-1")]
                    received += await asyncio.wait_for(next_events(lines, 1), 15)
                    redis_server.stop()
                    sent.append(await send("без Redis", "c-2"))
                    received += await asyncio.wait_for(next_events(lines, 1), 30)
                    redis_server.start()
                    await asyncio.to_thread(
                        _wait_for,
                        "the bus to reconnect",
                        lambda: "event bus reconnected" in api_log.read_text(errors="replace"),
                        30,
                    )
                    sent.append(await send("Redis вернулся", "c-3"))
                    received += await asyncio.wait_for(next_events(lines, 1), 15)
            assert api.poll() is None
        texts = [json.loads(e["data"])["message"]["text"] for e in received]
        assert texts == sent
        assert len({e["id"] for e in received}) == 3
    finally:
        redis_server.stop()
    log = api_log.read_text(errors="replace")
    assert "Traceback" not in log
    assert log.count("event bus connection lost") == 1
