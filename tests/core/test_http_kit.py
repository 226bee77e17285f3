"""The adapter kit against a real HTTP peer that misbehaves on demand."""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import Iterator

import orjson
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from switchboard.core.http import (
    CircuitOpen,
    HttpKit,
    PeerNotFound,
    PeerRejected,
    PeerTimeout,
    PeerUnavailable,
    RateLimited,
    RetryPolicy,
)
from switchboard.core.http.client import status_classifier
from switchboard.core.http.errors import BODY_LIMIT
from switchboard.core.metrics import Metrics
from switchboard.integrations.onec.client import OneCClient
from switchboard.integrations.onec.constants import ENTITY_PO_TYPES
from switchboard.sandbox.faults import Fault, FaultInjector, RequestJournal, SandboxMiddleware
from switchboard.sandbox.pytest_plugin import RunningOneC
from switchboard.sandbox.server import BackgroundServer

SECRET = "s3cr3t-api-key-value"


class Peer:
    def __init__(self) -> None:
        self.created = 0
        self.faults = FaultInjector()
        self.journal = RequestJournal()

        async def items(request: Request) -> JSONResponse:
            if request.method == "POST":
                self.created += 1
                return JSONResponse({"id": self.created}, status_code=201)
            return JSONResponse({"items": []})

        async def missing(request: Request) -> JSONResponse:
            return JSONResponse({"error": "no such thing"}, status_code=404)

        app = Starlette(
            routes=[Route("/items", items, methods=["GET", "POST"]), Route("/missing", missing)]
        )
        self.app = SandboxMiddleware(app, faults=self.faults, journal=self.journal)

    def calls(self, method: str) -> int:
        return len(self.journal.matching(method, "/items"))


@pytest.fixture(scope="module")
def peer_server() -> Iterator[tuple[Peer, str]]:
    peer = Peer()
    with BackgroundServer(peer.app) as server:
        yield peer, server.url


@pytest.fixture
def peer(peer_server: tuple[Peer, str]) -> tuple[Peer, str]:
    peer, url = peer_server
    peer.faults.clear()
    peer.journal.clear()
    peer.created = 0
    return peer, url


def make_kit(**retry: float) -> HttpKit:
    policy = RetryPolicy(
        max_attempts=int(retry.get("max_attempts", 4)),
        initial_backoff=0.01,
        max_backoff=0.05,
        max_retry_after=retry.get("max_retry_after", 5),
    )
    return HttpKit(
        Metrics(), retry=policy, timeout=1.0, breaker_threshold=3, breaker_reset_seconds=0.5
    )


async def test_get_is_retried_through_5xx_and_429(peer: tuple[Peer, str]) -> None:
    server, url = peer
    server.faults.add(Fault(path="/items", status=503, times=1))
    server.faults.add(Fault(path="/items", status=429, times=1))
    client = make_kit().client("peer", url)
    response = await client.request("GET", "/items")
    assert response.json() == {"items": []}
    assert server.calls("GET") == 3
    await client.aclose()


async def test_retry_after_is_honoured(peer: tuple[Peer, str]) -> None:
    server, url = peer
    server.faults.add(Fault(path="/items", status=429, retry_after=1, times=1))
    client = make_kit().client("peer", url)
    started = time.monotonic()
    await client.request("GET", "/items")
    assert time.monotonic() - started >= 1.0
    await client.aclose()


async def test_a_long_retry_after_is_handed_to_the_caller(peer: tuple[Peer, str]) -> None:
    server, url = peer
    server.faults.add(Fault(path="/items", status=429, retry_after=120))
    client = make_kit(max_retry_after=5).client("peer", url)
    with pytest.raises(RateLimited) as caught:
        await client.request("GET", "/items")
    assert caught.value.retry_after == 120
    assert server.calls("GET") == 1
    await client.aclose()


async def test_post_is_not_repeated_after_a_server_error(peer: tuple[Peer, str]) -> None:
    server, url = peer
    server.faults.add(Fault(path="/items", method="POST", status=500))
    client = make_kit().client("peer", url)
    with pytest.raises(PeerUnavailable):
        await client.request("POST", "/items", json={"name": "x"})
    assert server.calls("POST") == 1
    await client.aclose()


async def test_post_is_not_repeated_after_a_dropped_connection(peer: tuple[Peer, str]) -> None:
    server, url = peer
    server.faults.add(Fault(path="/items", method="POST", drop=True))
    client = make_kit().client("peer", url)
    with pytest.raises(PeerUnavailable):
        await client.request("POST", "/items", json={})
    assert server.calls("POST") == 1
    await client.aclose()


async def test_post_is_repeated_when_the_peer_refused_to_take_it(peer: tuple[Peer, str]) -> None:
    server, url = peer
    server.faults.add(Fault(path="/items", method="POST", status=503, times=2))
    client = make_kit().client("peer", url)
    response = await client.request("POST", "/items", json={})
    assert response.status_code == 201
    assert server.calls("POST") == 3
    assert server.created == 1  # created exactly once
    await client.aclose()


async def test_get_is_retried_after_a_dropped_connection(peer: tuple[Peer, str]) -> None:
    server, url = peer
    server.faults.add(Fault(path="/items", drop=True, times=1))
    client = make_kit().client("peer", url)
    assert (await client.request("GET", "/items")).status_code == 200
    assert server.calls("GET") == 2
    await client.aclose()


async def test_timeouts_end_with_peer_timeout_and_post_is_sent_once(peer: tuple[Peer, str]) -> None:
    server, url = peer
    server.faults.add(Fault(path="/items", timeout=True, hang_seconds=3))
    client = make_kit(max_attempts=2).client("peer", url)
    with pytest.raises(PeerTimeout):
        await client.request("GET", "/items", timeout=0.2)
    assert server.calls("GET") == 2
    with pytest.raises(PeerTimeout):
        await client.request("POST", "/items", json={}, timeout=0.2)
    assert server.calls("POST") == 1
    await client.aclose()


async def test_idempotency_key_makes_a_post_repeatable(peer: tuple[Peer, str]) -> None:
    server, url = peer
    server.faults.add(Fault(path="/items", method="POST", status=502, times=1))
    client = make_kit().client("peer", url)
    response = await client.request("POST", "/items", json={}, idempotency_key="key-1")
    assert response.status_code == 201
    sent = server.journal.matching("POST", "/items")
    assert {entry.headers.get("idempotency-key") for entry in sent} == {"key-1"}
    await client.aclose()


async def test_client_errors_are_not_retried(peer: tuple[Peer, str]) -> None:
    server, url = peer
    client = make_kit().client("peer", url)
    with pytest.raises(PeerNotFound):
        await client.request("GET", "/missing")
    assert len(server.journal.matching("GET", "/missing")) == 1
    await client.aclose()


async def test_connection_refused_is_peer_unavailable() -> None:
    client = make_kit(max_attempts=2).client("nowhere", "http://127.0.0.1:9")
    with pytest.raises(PeerUnavailable) as caught:
        await client.request("POST", "/items", json={})
    assert "connect" in caught.value.message
    await client.aclose()


async def test_breaker_opens_after_failures_then_recovers(peer: tuple[Peer, str]) -> None:
    server, url = peer
    kit = make_kit(max_attempts=1)
    client = kit.client("flaky", url)
    server.faults.add(Fault(path="/items", status=500))
    for _ in range(3):
        with pytest.raises(PeerUnavailable):
            await client.request("GET", "/items")
    assert server.calls("GET") == 3
    with pytest.raises(CircuitOpen):
        await client.request("GET", "/items")
    assert server.calls("GET") == 3  # nothing was sent while open
    assert kit.breakers.state("flaky") == "opened"
    server.faults.clear()
    await asyncio.sleep(0.6)
    assert (await client.request("GET", "/items")).status_code == 200
    assert kit.breakers.state("flaky") == "closed"
    metrics = kit.metrics.render().decode()
    assert (
        'switchboard_adapter_calls_total{method="GET",outcome="circuit_open",target="flaky"} 1.0'
        in metrics
    )
    assert 'outcome="server_error",target="flaky"} 3.0' in metrics
    await client.aclose()


async def test_refusals_do_not_open_the_breaker(peer: tuple[Peer, str]) -> None:
    _server, url = peer
    kit = make_kit(max_attempts=1)
    client = kit.client("strict", url)
    for _ in range(5):
        with pytest.raises(PeerNotFound):
            await client.request("GET", "/missing")
    assert kit.breakers.state("strict") == "closed"
    await client.aclose()


async def test_secrets_never_reach_the_log(peer: tuple[Peer, str]) -> None:
    from switchboard.core.logging import configure_logging

    captured = io.StringIO()
    configure_logging(level="DEBUG", json=True, stream=captured, cache=False)
    server, url = peer
    server.faults.add(Fault(path="/items", status=503, times=1))
    client = make_kit().client(
        "peer", url, headers={"X-API-KEY": SECRET}, secrets=[SECRET], auth=("user", SECRET)
    )
    await client.request("GET", f"/items?apiKey={SECRET}&q=1", json=None)
    await client.request("POST", "/items", json={"token": SECRET})
    text = captured.getvalue()
    assert "adapter call" in text
    assert SECRET not in text
    assert "***" in text
    configure_logging(level="WARNING", cache=False)
    await client.aclose()


async def test_a_long_peer_body_is_kept_cut_and_masked(peer: tuple[Peer, str]) -> None:
    server, url = peer
    # The peer echoes our secret inside a 10 KB refusal (as some peers echo the request).
    server.faults.add(
        Fault(path="/items", status=400, body={"error": "x" * 10_000 + SECRET + "y" * 1000})
    )
    client = make_kit().client("peer", url, secrets=[SECRET])
    with pytest.raises(PeerRejected) as caught:
        await client.request("GET", "/items")
    assert caught.value.body is not None
    assert len(caught.value.body) <= BODY_LIMIT
    assert SECRET not in caught.value.body
    server.faults.clear()
    server.faults.add(Fault(path="/items", status=400, body={"error": SECRET}))
    with pytest.raises(PeerRejected) as caught:
        await client.request("GET", "/items")
    assert caught.value.body == '{"error":"***"}'
    await client.aclose()


async def test_str_follows_the_message_a_classifier_completed(onec: RunningOneC) -> None:
    """The CLI and job logs print `str(error)`: it must carry 1C's own reason."""
    client = OneCClient.connect(make_kit(), onec.root, *onec.auth)
    with pytest.raises(PeerRejected) as caught:
        await client.query(ENTITY_PO_TYPES, filter="Foo eq 1")
    text = str(caught.value)
    assert text.startswith("onec: rejected (400): [14] ")
    assert "property Foo not found" in text
    await client.aclose()


async def test_a_1c_503_is_unavailable_not_a_rate_limit(onec: RunningOneC) -> None:
    from switchboard.core.logging import configure_logging

    captured = io.StringIO()
    configure_logging(level="INFO", json=True, stream=captured, cache=False)
    onec.emulator.faults.add(Fault(path="*", status=503, retry_after=7))
    client = OneCClient.connect(make_kit(max_attempts=1), onec.root, *onec.auth)
    try:
        with pytest.raises(PeerUnavailable) as caught:
            await client.query(ENTITY_PO_TYPES)
    finally:
        configure_logging(level="WARNING", cache=False)
        await client.aclose()
    assert not isinstance(caught.value, RateLimited)
    assert caught.value.retry_after == 7
    assert "service unavailable (503)" in str(caught.value)
    lines = [orjson.loads(line) for line in captured.getvalue().splitlines() if line]
    calls = [line for line in lines if line.get("event") == "adapter call"]
    assert [call["outcome"] for call in calls] == ["server_error"]


async def test_a_peer_that_limits_with_503_says_so(peer: tuple[Peer, str]) -> None:
    server, url = peer
    server.faults.add(Fault(path="/items", status=503, retry_after=120))
    retailcrm_like = status_classifier(rate_limit_statuses=(429, 503))
    client = make_kit(max_retry_after=5).client("crm", url, classify=retailcrm_like)
    with pytest.raises(RateLimited) as caught:
        await client.request("GET", "/items")
    assert caught.value.retry_after == 120
    await client.aclose()
