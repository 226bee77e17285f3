"""What every request meets: front auth, rate limits, CORS, error shapes in three languages."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from switchboard.runtime import Runtime


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


async def test_no_cors_headers_by_default(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/health", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in response.headers


async def test_an_unexpected_error_is_a_clean_500(runtime: Runtime, client_factory: Any) -> None:
    from switchboard.main import create_app

    app = create_app(runtime.settings, runtime=runtime)

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
    app = create_app(runtime.settings, runtime=runtime)

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
    assert queued == ["etl.load_dicts", "etl.pull_users"]
