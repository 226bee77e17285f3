"""Health of the process, the database and the external systems; and /metrics."""

from __future__ import annotations

from typing import Any

import httpx

from switchboard.runtime import Runtime
from switchboard.sandbox.faults import Fault
from switchboard.sandbox.pytest_plugin import RunningChatwoot, RunningOneC


async def test_process_and_database_health(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/health")).json()["status"] == "ok"
    database = await client.get("/api/health/db")
    assert database.status_code == 200
    assert database.json()["status"] == "ok"


async def test_database_down_is_503_without_details(
    runtime_factory: Any, client_factory: Any
) -> None:
    runtime: Runtime = await runtime_factory()
    client = await client_factory(runtime)
    await runtime.database.engine.dispose()
    runtime.database.engine.url  # noqa: B018 - the engine stays, its server goes away below
    from sqlalchemy.ext.asyncio import create_async_engine

    runtime.database.engine = create_async_engine(
        "postgresql+psycopg://nobody@127.0.0.1:1/none", pool_pre_ping=True
    )
    response = await client.get("/api/health/db")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable"}


async def test_dependencies_report_each_system(
    onec: RunningOneC, chatwoot: RunningChatwoot, runtime_factory: Any, client_factory: Any
) -> None:
    runtime: Runtime = await runtime_factory(**onec.settings(), **chatwoot.settings())
    client = await client_factory(runtime)
    body = (await client.get("/api/health/dependencies")).json()
    assert body["status"] == "ok"
    systems = {s["name"]: s for s in body["systems"]}
    assert systems["onec"]["status"] == "ok"
    assert systems["chatwoot"]["status"] == "ok"
    assert systems["onec"]["breaker"] == "closed"

    onec.emulator.faults.add(Fault(path="*", status=503))
    body = (await client.get("/api/health/dependencies")).json()
    assert body["status"] == "degraded"
    onec_status = next(s for s in body["systems"] if s["name"] == "onec")
    assert onec_status["status"] == "unavailable"
    assert onec_status["reason"] == "RateLimited"


async def test_unconfigured_systems_are_listed_as_such(client: httpx.AsyncClient) -> None:
    body = (await client.get("/api/health/dependencies")).json()
    assert {s["name"]: s["status"] for s in body["systems"]} == {
        "onec": "not_configured",
        "chatwoot": "not_configured",
    }
    assert body["status"] == "ok"
    assert body["database"]["status"] == "ok"
    assert body["workers"]["status"] == "no_worker"


async def test_wrong_1c_password_is_reported_not_hidden(
    onec: RunningOneC, runtime_factory: Any, client_factory: Any
) -> None:
    runtime = await runtime_factory(**{**onec.settings(), "ODATA_PASSWORD": "wrong"})
    client = await client_factory(runtime)
    body = (await client.get("/api/health/dependencies")).json()
    onec_status = next(s for s in body["systems"] if s["name"] == "onec")
    assert onec_status["reason"] == "PeerUnauthorized"
    assert "wrong" not in str(body)


async def test_metrics_expose_requests_jobs_and_adapter_calls(
    onec: RunningOneC, runtime_factory: Any, client_factory: Any
) -> None:
    runtime = await runtime_factory(**onec.settings())
    client = await client_factory(runtime)
    await client.get("/api/dicts/po-types")
    await client.get("/api/health/dependencies")
    text = (await client.get("/metrics")).text
    assert (
        'switchboard_http_requests_total{method="GET",route="/api/dicts/po-types",status="200"}'
        in text
    )
    assert "switchboard_http_request_duration_seconds_bucket" in text
    assert 'switchboard_adapter_calls_total{method="GET",outcome="success",target="onec"}' in text
    assert "switchboard_jobs" in text


async def test_metrics_token_when_configured(runtime_factory: Any, client_factory: Any) -> None:
    runtime = await runtime_factory(METRICS_TOKEN="scrape-me")
    client = await client_factory(runtime)
    assert (await client.get("/metrics")).status_code == 401
    ok = await client.get("/metrics", headers={"Authorization": "Bearer scrape-me"})
    assert ok.status_code == 200
