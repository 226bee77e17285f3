"""What every request meets: front auth, rate limits, CORS, error shapes in three languages."""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from switchboard.config import Settings
from switchboard.core.db.embedded import EmbeddedPostgres
from switchboard.runtime import Runtime
from switchboard.sandbox.faults import Fault
from switchboard.sandbox.pytest_plugin import RunningOneC


async def test_unknown_path_is_json_404_in_russian_by_default(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/nothing-here")
    assert response.status_code == 404
    body = response.json()
    assert body["error"] == "not_found"
    assert body["message"] == "По этому адресу ничего нет."


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("en", "Nothing is found at this address."),
        ("uz-UZ,ru;q=0.5", "Bu manzilda hech narsa yo‘q."),
    ],
)
async def test_messages_follow_accept_language(
    client: httpx.AsyncClient, language: str, text: str
) -> None:
    response = await client.get("/api/nothing-here", headers={"Accept-Language": language})
    assert response.json()["message"] == text


async def test_wrong_method_is_json_405(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/dicts/po-types")
    assert response.status_code == 405
    assert response.json()["error"] == "method_not_allowed"


async def test_invalid_query_values_get_422_with_the_field(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/dicts/po-sections", params={"owner_key": "not-a-guid"})
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "validation_error"
    assert body["details"][0]["field"] == "owner_key"
    assert "not-a-guid" not in response.text  # input values are never echoed


async def test_unknown_filters_are_refused_not_ignored(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/dicts/online-questions", params={"categry_key": "x"})
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "unknown_filter"
    assert "categry_key" in body["message"]
    assert "category_key" in body["message"]


async def test_every_response_carries_a_request_id(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/health", headers={"X-Request-Id": "abc123"})
    assert response.headers["x-request-id"] == "abc123"
    assert (await client.get("/api/health")).headers["x-request-id"]


@pytest.fixture
async def secured(runtime_factory: Any, client_factory: Any) -> httpx.AsyncClient:
    runtime: Runtime = await runtime_factory(
        FRONT_SECRET="front-secret-123", FRONT_BEARER_TOKEN="bearer-456"
    )
    result: httpx.AsyncClient = await client_factory(runtime)
    return result


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"X-Front-Secret": "wrong"}, 401),
        ({"X-Front-Secret": "front-secret-123"}, 200),
        ({"Authorization": "Bearer bearer-456"}, 200),
        ({"Authorization": "Bearer front-secret-123"}, 401),  # the bearer token is its own
        ({"Authorization": "Basic bearer-456"}, 401),
    ],
)
async def test_front_auth_as_seed_001_says(
    secured: httpx.AsyncClient, headers: dict[str, str], status: int
) -> None:
    response = await secured.get("/api/dicts/po-types", headers=headers)
    assert response.status_code == status
    if status == 401:
        assert response.json()["error"] == "unauthorized"
        assert response.headers["www-authenticate"].startswith("Bearer")


async def test_bearer_falls_back_to_the_front_secret(
    runtime_factory: Any, client_factory: Any
) -> None:
    runtime = await runtime_factory(FRONT_SECRET="only-secret")
    client = await client_factory(runtime)
    response = await client.get(
        "/api/dicts/po-types", headers={"Authorization": "Bearer only-secret"}
    )
    assert response.status_code == 200


async def test_health_needs_no_auth(secured: httpx.AsyncClient) -> None:
    assert (await secured.get("/api/health")).status_code == 200


async def test_rate_limit_answers_429_with_retry_after(
    runtime_factory: Any, client_factory: Any
) -> None:
    runtime = await runtime_factory(RATE_LIMIT_PER_MINUTE=3)
    client = await client_factory(runtime)
    statuses = [(await client.get("/api/dicts/interference")).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    limited = await client.get("/api/dicts/interference", headers={"Accept-Language": "en"})
    assert limited.json()["error"] == "rate_limited"
    assert "try again" in limited.json()["message"]
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    assert (await client.get("/api/health")).status_code == 200  # health is never limited


async def test_webhooks_have_a_limit_of_their_own(
    runtime_factory: Any, client_factory: Any
) -> None:
    runtime = await runtime_factory(RATE_LIMIT_PER_MINUTE=1, RATE_LIMIT_WEBHOOK_PER_MINUTE=3)
    client = await client_factory(runtime)
    assert (await client.get("/api/dicts/interference")).status_code == 200
    assert (await client.get("/api/dicts/interference")).status_code == 429
    # A burst of deliveries from the peer's one address is not cut by the API's limit.
    statuses = [
        (
            await client.post("/webhook/chatwoot", json={"event": "conversation_typing_on"})
        ).status_code
        for _ in range(4)
    ]
    assert 429 not in statuses[:3]
    assert statuses[3] == 429


async def test_forwarded_for_counts_only_behind_a_trusted_proxy(
    runtime_factory: Any, client_factory: Any
) -> None:
    runtime = await runtime_factory(RATE_LIMIT_PER_MINUTE=2, TRUSTED_PROXIES="127.0.0.1")
    client = await client_factory(runtime)
    # ASGITransport reports the client as 127.0.0.1, our trusted proxy: each forwarded
    # address gets its own budget.
    for address in ("10.0.0.1", "10.0.0.2"):
        for _ in range(2):
            response = await client.get(
                "/api/dicts/interference", headers={"X-Forwarded-For": address}
            )
            assert response.status_code == 200
    blocked = await client.get("/api/dicts/interference", headers={"X-Forwarded-For": "10.0.0.1"})
    assert blocked.status_code == 429


async def test_cors_allows_only_listed_origins(runtime_factory: Any, client_factory: Any) -> None:
    runtime = await runtime_factory(ALLOWED_ORIGINS="https://clobus.uz")
    client = await client_factory(runtime)
    allowed = await client.get("/api/health", headers={"Origin": "https://clobus.uz"})
    assert allowed.headers["access-control-allow-origin"] == "https://clobus.uz"
    other = await client.get("/api/health", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers


async def test_public_paths_answer_every_origin_without_credentials(
    runtime_factory: Any, client_factory: Any
) -> None:
    """The chat widget's API runs on customers' sites: any origin may call it (its visitors
    send their token in a header), while the rest keeps to `ALLOWED_ORIGINS`."""
    runtime = await runtime_factory(ALLOWED_ORIGINS="https://clobus.uz")
    client = await client_factory(runtime)
    preflight = await client.options(
        "/api/widget/messages",
        headers={
            "Origin": "https://shop.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,x-visitor-token",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert "x-visitor-token" in preflight.headers["access-control-allow-headers"].lower()
    assert "access-control-allow-credentials" not in preflight.headers
    site_only = await client.get("/api/health", headers={"Origin": "https://shop.example"})
    assert "access-control-allow-origin" not in site_only.headers


async def test_no_cors_headers_by_default(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/health", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in response.headers


async def test_an_unexpected_error_is_a_clean_500(runtime: Runtime, client_factory: Any) -> None:
    from switchboard.main import create_app

    app = create_app(Settings.of(runtime.settings), runtime=runtime)

    @app.get("/api/boom")
    async def boom() -> None:
        raise ZeroDivisionError("secret internals")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://t") as client,
    ):
        response = await client.get("/api/boom")
    assert response.status_code == 500
    assert response.json()["error"] == "internal_error"
    assert "secret internals" not in response.text
    assert "Traceback" not in response.text


async def test_rate_limits_are_shared_through_redis(
    runtime_factory: Any, client_factory: Any
) -> None:
    import os
    import uuid

    url = os.environ.get("REDIS_URL")
    if not url:
        pytest.skip("shared (Redis) rate limits not tested: REDIS_URL is not set")
    prefix = f"switchboard-test-{uuid.uuid4().hex[:8]}:"
    first = await runtime_factory(RATE_LIMIT_PER_MINUTE=3, REDIS_URL=url, REDIS_PREFIX=prefix)
    second = await runtime_factory(RATE_LIMIT_PER_MINUTE=3, REDIS_URL=url, REDIS_PREFIX=prefix)
    one, two = await client_factory(first), await client_factory(second)
    statuses = [
        (await client.get("/api/dicts/interference")).status_code for client in (one, two, one, two)
    ]
    # Two API processes, one budget: the fourth request is over it, whichever process gets it.
    assert statuses == [200, 200, 200, 429]


async def test_create_endpoints_have_their_own_stricter_limit(
    runtime_factory: Any, client_factory: Any
) -> None:
    from fastapi import Depends

    from switchboard.core.ratelimit import limit_creates
    from switchboard.main import create_app

    runtime = await runtime_factory(RATE_LIMIT_PER_MINUTE=100, RATE_LIMIT_CREATE_PER_MINUTE=2)
    app = create_app(Settings.of(runtime.settings), runtime=runtime)

    @app.post("/api/things", dependencies=[Depends(limit_creates)], status_code=201)
    async def create_thing() -> dict[str, bool]:
        return {"created": True}

    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://t") as client,
    ):
        statuses = [(await client.post("/api/things")).status_code for _ in range(3)]
        reads = [(await client.get("/api/dicts/interference")).status_code for _ in range(3)]
    assert statuses == [201, 201, 429]
    assert reads == [200, 200, 200]


async def test_start_up_queues_the_loads_seed_001_asks_for(runtime_factory: Any) -> None:
    from sqlalchemy import text

    from switchboard.main import on_start

    runtime = await runtime_factory(LOAD_DICTS_ON_START=True, SYNC_USERS_ON_START=True)
    await on_start(runtime)
    await on_start(runtime)  # a second API process starting: nothing queued twice
    async with runtime.database.transaction() as session:
        queued = (
            (
                await session.execute(
                    text(
                        "SELECT task_name FROM procrastinate_jobs WHERE status = 'todo' ORDER BY 1"
                    )
                )
            )
            .scalars()
            .all()
        )
    assert queued == ["consultations.start_up_pulls", "etl.load_dicts"]


# --- item 4 of issue 5: request ids, echoes, metric labels, failures of what the API needs -----


def _app_with(runtime: Runtime, **routes: Any) -> Any:
    """The platform's app with extra test endpoints (GET /api/test/<name>)."""
    from switchboard.main import create_app

    app = create_app(Settings.of(runtime.settings), runtime=runtime)
    for name, endpoint in routes.items():
        app.add_api_route(f"/api/test/{name}", endpoint, methods=["GET"])
    return app


@asynccontextmanager
async def _serving(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://t") as client,
    ):
        yield client


@pytest.mark.parametrize(
    "given",
    ["x" * 65, "has space", "new\tline", "ид-запроса", "a/b", "<script>", ""],
)
async def test_a_request_id_that_does_not_look_like_one_is_replaced(
    client: httpx.AsyncClient, given: str
) -> None:
    response = await client.get("/api/health", headers={b"X-Request-Id": given.encode()})
    answered = response.headers["x-request-id"]
    assert answered != given
    assert re.fullmatch(r"[0-9a-f]{16}", answered)


async def test_a_request_id_that_looks_like_one_is_kept(client: httpx.AsyncClient) -> None:
    given = "trace-01.AB_" + "x" * 52  # 64 characters of the allowed alphabet
    assert (await client.get("/api/health", headers={"X-Request-Id": given})).headers[
        "x-request-id"
    ] == given


async def test_a_500_carries_the_request_id_and_so_does_its_log_line(runtime: Runtime) -> None:
    from switchboard.core.logging import configure_logging

    async def boom() -> None:
        raise ZeroDivisionError("secret internals")

    captured = io.StringIO()
    configure_logging(level="WARNING", json=True, stream=captured, cache=False)
    try:
        async with _serving(_app_with(runtime, boom=boom)) as client:
            response = await client.get("/api/test/boom", headers={"X-Request-Id": "req-500"})
    finally:
        configure_logging(level="WARNING", cache=False)
    assert response.status_code == 500
    assert response.headers["x-request-id"] == "req-500"
    assert response.json()["error"] == "internal_error"
    assert "secret internals" not in response.text
    lines = [orjson.loads(line) for line in captured.getvalue().splitlines() if line]
    errors = [line for line in lines if line["event"] == "unhandled error"]
    assert len(errors) == 1
    assert errors[0]["request_id"] == "req-500"
    assert "ZeroDivisionError" in errors[0]["exception"]


async def test_a_huge_unknown_filter_is_not_echoed(client: httpx.AsyncClient) -> None:
    name = "<b>" + "x" * 30_000  # with the second, a 60 KB query (httpx allows 64 KB)
    response = await client.get(f"/api/dicts/po-types?{name}=1&{name}2=2&a=1&b=2&c=3")
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "unknown_filter"
    assert len(response.content) < 1024
    assert "x" * 41 not in body["message"]


async def test_validation_errors_quote_client_chosen_names_only_briefly(runtime: Runtime) -> None:
    from pydantic import BaseModel, ConfigDict

    class Strict(BaseModel):
        model_config = ConfigDict(extra="forbid")
        name: str

    from switchboard.main import create_app

    app = create_app(Settings.of(runtime.settings), runtime=runtime)

    @app.post("/api/test/strict")
    async def strict(body: Strict) -> dict[str, str]:
        return {"name": body.name}

    async with _serving(app) as client:
        response = await client.post(
            "/api/test/strict", json={"name": "ok", "\x1b[31m" + "k" * 5000: "v" * 5000}
        )
    assert response.status_code == 422
    assert len(response.content) < 1024
    assert "v" * 10 not in response.text
    assert "\x1b" not in response.json()["details"][0]["field"]


async def test_metric_labels_do_not_grow_with_client_methods_or_paths(
    client: httpx.AsyncClient,
) -> None:
    for number in range(20):
        await client.request(f"BREW{number}", f"/api/pot-{number}")
        await client.get(f"/random/{number}")
    text = (await client.get("/metrics")).text
    series = [
        line for line in text.splitlines() if line.startswith("switchboard_http_requests_total{")
    ]
    assert not any("BREW" in line or "pot-" in line or "/random/" in line for line in series)
    assert any('method="other"' in line and 'route="unmatched"' in line for line in series)
    assert len(series) <= 5


async def test_the_rate_limit_answer_can_be_read_by_a_browser(
    runtime_factory: Any, client_factory: Any
) -> None:
    runtime = await runtime_factory(RATE_LIMIT_PER_MINUTE=1, ALLOWED_ORIGINS="https://clobus.uz")
    client = await client_factory(runtime)
    origin = {"Origin": "https://clobus.uz"}
    await client.get("/api/nothing", headers=origin)
    limited = await client.get("/api/nothing", headers=origin)
    assert limited.status_code == 429
    assert limited.headers["access-control-allow-origin"] == "https://clobus.uz"
    assert "retry-after" in limited.headers["access-control-expose-headers"].lower()
    assert limited.headers["x-request-id"]


async def test_preflights_are_answered_with_cors_headers_even_over_the_limit(
    runtime_factory: Any, client_factory: Any
) -> None:
    runtime = await runtime_factory(RATE_LIMIT_PER_MINUTE=1, ALLOWED_ORIGINS="https://clobus.uz")
    client = await client_factory(runtime)
    preflight = {
        "Origin": "https://clobus.uz",
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "x-front-secret",
    }
    answers = [await client.options("/api/dicts/po-types", headers=preflight) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert all(a.headers["access-control-allow-origin"] == "https://clobus.uz" for a in answers)
    refused = await client.options(
        "/api/dicts/po-types",
        headers={**preflight, "Access-Control-Request-Headers": "x-not-allowed"},
    )
    assert refused.status_code == 400
    assert refused.headers["access-control-allow-origin"] == "https://clobus.uz"
    assert refused.headers["x-request-id"]


async def test_a_500_can_be_read_by_a_browser(runtime_factory: Any) -> None:
    runtime = await runtime_factory(ALLOWED_ORIGINS="https://clobus.uz")

    async def boom() -> None:
        raise RuntimeError("x")

    async with _serving(_app_with(runtime, boom=boom)) as client:
        response = await client.get("/api/test/boom", headers={"Origin": "https://clobus.uz"})
    assert response.status_code == 500
    assert response.headers["access-control-allow-origin"] == "https://clobus.uz"


async def test_oversized_headers_are_refused_with_431(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/health", headers={"X-Big": "x" * 40_000})
    assert response.status_code == 431
    assert response.json()["error"] == "headers_too_large"
    assert (await client.get("/api/health", headers={"X-Fine": "x" * 8_000})).status_code == 200


async def test_openapi_documents_the_error_answers_of_every_endpoint(
    client: httpx.AsyncClient,
) -> None:
    document = (await client.get("/openapi.json")).json()
    error_schema = document["components"]["schemas"]["ErrorBody"]
    assert set(error_schema["required"]) == {"error", "message"}
    assert "details" in error_schema["properties"]
    operations = [
        (path, operation) for path, item in document["paths"].items() for operation in item.values()
    ]
    assert operations
    for path, operation in operations:
        expected = {"400"} | ({"401", "429", "503"} if path.startswith("/api/dicts") else set())
        assert expected <= set(operation["responses"]), path
        for status in expected:
            schema = operation["responses"][status]["content"]["application/json"]["schema"]
            assert schema["$ref"].endswith("/ErrorBody"), (path, status)
        if operation.get("parameters"):
            assert "422" in operation["responses"], path
    limited = document["paths"]["/api/dicts/po-types"]["get"]["responses"]["429"]
    assert "Retry-After" in limited["headers"]


# --- an external system failing under a request ----------------------------------------------


@pytest.mark.parametrize(
    ("fault", "status", "code"),
    [
        (Fault(path="*", status=503, retry_after=7), 503, "integration_unavailable"),
        (Fault(path="*", timeout=True, hang_seconds=5), 504, "integration_timeout"),
        (Fault(path="*", status=400), 502, "integration_error"),
        (Fault(path="*", status=401), 502, "integration_error"),
    ],
)
async def test_a_failing_external_system_is_a_5xx_with_a_clear_message(
    onec: RunningOneC, runtime_factory: Any, fault: Fault, status: int, code: str
) -> None:
    runtime = await runtime_factory(**onec.settings())
    system: Any = next(s for s in runtime.adapters.systems if s.name == "onec")

    async def ping_onec() -> dict[str, bool]:
        await system.client.ping(timeout=0.3)
        return {"ok": True}

    onec.emulator.faults.add(fault)
    async with _serving(_app_with(runtime, onec=ping_onec)) as client:
        response = await client.get("/api/test/onec", headers={"Accept-Language": "en"})
    assert response.status_code == status
    body = response.json()
    assert body["error"] == code
    assert "onec" in body["message"]
    assert "injected fault" not in response.text  # the peer's own words stay in the log
    if status == 503:
        assert response.headers["retry-after"] == "7"
    assert onec.emulator.journal.matching("GET", "*")  # the emulator was really called


async def test_an_open_breaker_is_a_503_with_retry_after(
    onec: RunningOneC, runtime_factory: Any
) -> None:
    runtime = await runtime_factory(
        **onec.settings(), BREAKER_FAILURE_THRESHOLD=1, BREAKER_RESET_SECONDS=30
    )
    system = next(s for s in runtime.adapters.systems if s.name == "onec")

    async def ping_onec() -> dict[str, bool]:
        await system.ping()
        return {"ok": True}

    onec.emulator.faults.add(Fault(path="*", status=500))
    async with _serving(_app_with(runtime, onec=ping_onec)) as client:
        first = await client.get("/api/test/onec")
        calls = len(onec.emulator.journal.matching("GET", "*"))
        second = await client.get("/api/test/onec")
    assert first.status_code == 503
    assert second.status_code == 503
    assert second.json()["error"] == "integration_unavailable"
    assert second.headers["retry-after"] == "30"
    assert len(onec.emulator.journal.matching("GET", "*")) == calls  # nothing sent while open


# --- the database going away under a running API ----------------------------------------------


@pytest.fixture
def private_postgres(tmp_path: Path) -> Iterator[EmbeddedPostgres]:
    """A PostgreSQL of this test alone, which the test may stop (never the shared server)."""
    server = EmbeddedPostgres(tmp_path / "pg", database="outage")
    try:
        yield server
    finally:
        server.stop()


async def test_a_database_outage_is_a_503_not_a_500(
    private_postgres: EmbeddedPostgres, settings_factory: Any
) -> None:
    from switchboard import domains
    from switchboard.core.db.migrate import upgrade_async
    from switchboard.main import create_app

    url = private_postgres.start()
    await upgrade_async(url)
    settings = settings_factory(DATABASE_URL=url, EVENT_BUS="postgres")
    async with domains.open_runtime(settings, database_url=url) as runtime:
        app = create_app(settings, runtime=runtime)
        async with _serving(app) as client:
            assert (await client.get("/api/dicts/po-types")).status_code == 200
            assert (await client.get("/api/dicts/events/poll")).status_code == 200
            private_postgres.stop()  # PostgreSQL goes away under the running API
            uncached = await client.get(
                "/api/dicts/interference", headers={"Accept-Language": "en"}
            )
            poll = await client.get("/api/dicts/events/poll")
            health = await client.get("/api/health/db")
    assert uncached.status_code == 503, uncached.text
    assert uncached.json() == {
        "error": "database_unavailable",
        "message": "The database is unavailable; try again later.",
    }
    assert uncached.headers["x-request-id"]
    assert poll.status_code == 503, poll.text
    assert poll.json()["error"] == "database_unavailable"
    assert health.status_code == 503
