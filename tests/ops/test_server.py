"""The API's HTTP server: a header size limit while reading, and `X-Forwarded-For` believed only
from trusted proxies — for `switchboard serve` and for the demo's `LoopServer`."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from switchboard.config import Settings
from switchboard.main import create_app
from switchboard.ops.server import uvicorn_options
from switchboard.runtime import Runtime
from switchboard.sandbox.server import BackgroundServer, LoopServer
from tests.servers import free_port, platform_env, switchboard_process, wait_until_up

HUGE = 50 * 1024 * 1024


def send_huge_header(port: int, total: int = HUGE) -> tuple[bytes, int]:
    """Send a GET whose one header grows to `total` bytes; return what the server answered and
    how many bytes it let us send before it closed the connection."""
    sent = 0
    answer = b""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"GET /api/health HTTP/1.1\r\nHost: x\r\nX-Big: ")
        chunk = b"x" * 65536
        try:
            while sent < total:
                sock.sendall(chunk)
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
        try:
            while True:
                data = sock.recv(65536)
                if not data:
                    break
                answer += data
        except (ConnectionResetError, TimeoutError):
            pass
    return answer, sent


@pytest.fixture
def served_app(clean_database: str, settings_factory: Any) -> Iterator[str]:
    """The platform app on a real uvicorn server with the options `switchboard serve` uses."""
    settings = settings_factory(DATABASE_URL=clean_database, LOAD_DICTS_ON_START="false")
    app = create_app(settings, database_url=clean_database, migrate=False)
    with BackgroundServer(app, options=uvicorn_options(settings)) as server:
        yield server.url


def test_a_50_mb_header_is_refused_while_it_is_read(served_app: str) -> None:
    port = int(served_app.rsplit(":", 1)[1])
    answer, sent = send_huge_header(port)
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
    assert b'"error":"headers_too_large"' in answer
    assert sent < HUGE  # the server stopped reading and closed the connection
    # The server is still fine for everyone else.
    assert httpx.get(served_app + "/api/health").status_code == 200


def test_headers_under_the_limit_pass(served_app: str) -> None:
    response = httpx.get(served_app + "/api/health", headers={"X-Fine": "x" * 20_000})
    assert response.status_code == 200


def test_switchboard_serve_limits_headers_and_ignores_spoofed_forwarding(
    clean_database: str,
) -> None:
    port = free_port()
    env = platform_env(clean_database, RATE_LIMIT_PER_MINUTE="2", TRUSTED_PROXIES="")
    with switchboard_process("serve", "--port", str(port), env=env) as process:
        url = f"http://127.0.0.1:{port}"
        wait_until_up(url + "/api/health", process)
        answer, sent = send_huge_header(port)
        statuses = [
            httpx.get(url + "/api/nothing", headers={"X-Forwarded-For": f"10.0.0.{n}"}).status_code
            for n in range(3)
        ]
    assert answer.startswith(b"HTTP/1.1 431 ")
    assert sent < HUGE
    assert statuses == [404, 404, 429]  # one budget: the spoofed addresses did not count


async def _statuses_behind(server: LoopServer, addresses: list[str]) -> list[int]:
    await server.start()
    try:
        async with httpx.AsyncClient(base_url=server.url) as client:
            return [
                (await client.get("/api/nothing", headers={"X-Forwarded-For": a})).status_code
                for a in addresses
            ]
    finally:
        await server.stop()


SPOOFED = ["10.0.0.1", "10.0.0.2", "10.0.0.3"]


@pytest.mark.parametrize("with_options", [True, False])
async def test_the_demo_server_ignores_spoofed_forwarding(
    runtime_factory: Any, with_options: bool
) -> None:
    runtime: Runtime = await runtime_factory(RATE_LIMIT_PER_MINUTE=2)
    settings = Settings.of(runtime.settings)
    options = uvicorn_options(settings) if with_options else None
    server = LoopServer(create_app(settings, runtime=runtime), options=options)
    assert await _statuses_behind(server, SPOOFED) == [404, 404, 429]


async def test_the_demo_server_believes_a_trusted_proxy(runtime_factory: Any) -> None:
    runtime: Runtime = await runtime_factory(RATE_LIMIT_PER_MINUTE=2, TRUSTED_PROXIES="127.0.0.1")
    settings = Settings.of(runtime.settings)
    server = LoopServer(create_app(settings, runtime=runtime), options=uvicorn_options(settings))
    # Behind the trusted proxy each forwarded address has its own budget.
    assert await _statuses_behind(server, [*SPOOFED, "10.0.0.1", "10.0.0.1"]) == [
        404,
        404,
        404,
        404,
        429,
    ]


def test_the_limit_follows_the_setting(clean_database: str, settings_factory: Any) -> None:
    settings = settings_factory(DATABASE_URL=clean_database, MAX_HEADER_BYTES="4096")
    app = create_app(settings, database_url=clean_database, migrate=False)
    with BackgroundServer(app, options=uvicorn_options(settings)) as server:
        started = time.monotonic()
        answer, _ = send_huge_header(server.port, total=64 * 1024)
        assert answer.startswith(b"HTTP/1.1 431 ")
        assert time.monotonic() - started < 10
        assert httpx.get(server.url + "/api/health", headers={"X-A": "x" * 2000}).status_code == 200
