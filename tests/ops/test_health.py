"""Health of the process, the database and the external systems; and /metrics."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from switchboard.ops.health import DependencyProbe
from switchboard.runtime import Runtime
from switchboard.sandbox.faults import Fault
from switchboard.sandbox.pytest_plugin import RunningChatwoot, RunningOneC

OPS_TOKEN = "ops-token-" + "o" * 32
FRONT_SECRET = "front-secret-" + "f" * 32


async def test_process_and_database_health(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/health")).json()["status"] == "ok"
    database = await client.get("/api/health/db")
    assert database.status_code == 200
    assert database.json()["status"] == "ok"


async def test_database_down_is_503_without_details(
    runtime_factory: Any, client_factory: Any
) -> None:
    from sqlalchemy.ext.asyncio import create_async_engine

    runtime: Runtime = await runtime_factory()
    client = await client_factory(runtime)
    await runtime.database.engine.dispose()
    runtime.database.engine = create_async_engine(
        "postgresql+psycopg://nobody@127.0.0.1:1/none", pool_pre_ping=True
    )
    response = await client.get("/api/health/db")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable"}


async def test_operators_see_each_system_in_detail(
    onec: RunningOneC, chatwoot: RunningChatwoot, runtime_factory: Any, client_factory: Any
) -> None:
    runtime: Runtime = await runtime_factory(
        **onec.settings(), **chatwoot.settings(), OPS_TOKEN=OPS_TOKEN
    )
    client = await client_factory(runtime, Authorization=f"Bearer {OPS_TOKEN}")
    body = (await client.get("/api/health/dependencies")).json()
    assert body["status"] == "ok"
    systems = {s["name"]: s for s in body["systems"]}
    assert systems["onec"]["status"] == "ok"
    assert systems["chatwoot"]["status"] == "ok"
    assert systems["onec"]["breaker"] == "closed"


async def test_a_1c_503_is_reported_as_unavailable(
    onec: RunningOneC, runtime_factory: Any, client_factory: Any
) -> None:
    runtime: Runtime = await runtime_factory(**onec.settings(), OPS_TOKEN=OPS_TOKEN)
    client = await client_factory(runtime, Authorization=f"Bearer {OPS_TOKEN}")
    onec.emulator.faults.add(Fault(path="*", status=503))
    body = (await client.get("/api/health/dependencies")).json()
    assert body["status"] == "degraded"
    onec_status = next(s for s in body["systems"] if s["name"] == "onec")
    assert onec_status["status"] == "unavailable"
    assert onec_status["reason"] == "PeerUnavailable"  # not RateLimited: 1C does not limit so
    assert "service unavailable (503)" in onec_status["detail"]


async def test_an_anonymous_caller_sees_no_peer_words_breakers_or_timings(
    onec: RunningOneC, runtime_factory: Any, client_factory: Any
) -> None:
    runtime = await runtime_factory(**{**onec.settings(), "ODATA_PASSWORD": "wrong"})
    client = await client_factory(runtime)
    response = await client.get("/api/health/dependencies")
    assert response.status_code == 200
    body = response.json()
    assert body == {
        "status": "degraded",
        "database": {"status": "ok"},
        "workers": {"status": "no_worker"},
        "systems": [
            {"name": "onec", "configured": True, "status": "unavailable"},
            {"name": "chatwoot", "configured": False, "status": "not_configured"},
        ],
    }


async def test_with_credentials_configured_the_report_needs_them(
    onec: RunningOneC, runtime_factory: Any, client_factory: Any
) -> None:
    runtime = await runtime_factory(
        **{**onec.settings(), "ODATA_PASSWORD": "wrong-password"},
        FRONT_SECRET=FRONT_SECRET,
        OPS_TOKEN=OPS_TOKEN,
    )
    client = await client_factory(runtime)
    anonymous = await client.get("/api/health/dependencies")
    assert anonymous.status_code == 401
    assert anonymous.json()["error"] == "unauthorized"
    wrong = await client.get(
        "/api/health/dependencies", headers={"Authorization": "Bearer not-the-token"}
    )
    assert wrong.status_code == 401
    for headers in ({"Authorization": f"Bearer {OPS_TOKEN}"}, {"X-Front-Secret": FRONT_SECRET}):
        answer = await client.get("/api/health/dependencies", headers=headers)
        assert answer.status_code == 200
        onec_status = next(s for s in answer.json()["systems"] if s["name"] == "onec")
        assert onec_status["reason"] == "PeerUnauthorized"
        assert "wrong-password" not in answer.text
    # The open probes stay open.
    assert (await client.get("/api/health")).status_code == 200
    assert (await client.get("/api/health/db")).status_code == 200


async def test_a_flood_of_callers_is_one_probe_per_ten_seconds(
    onec: RunningOneC, runtime_factory: Any, client_factory: Any
) -> None:
    runtime = await runtime_factory(**onec.settings())
    client = await client_factory(runtime)
    onec.emulator.faults.add(Fault(path="*", latency=0.3))  # callers arrive during the probe
    answers = await asyncio.gather(*(client.get("/api/health/dependencies") for _ in range(50)))
    assert {answer.status_code for answer in answers} == {200}
    assert len(onec.emulator.journal.matching("GET", "*")) == 1
    later = await client.get("/api/health/dependencies")
    assert later.status_code == 200
    assert len(onec.emulator.journal.matching("GET", "*")) == 1  # still the stored report
    assert runtime.extension(DependencyProbe).probes == 1


async def test_the_stored_report_expires(onec: RunningOneC, runtime_factory: Any) -> None:
    runtime = await runtime_factory(**onec.settings())
    now = [1000.0]
    probe = DependencyProbe(runtime, interval=10, clock=lambda: now[0])
    await probe.report()
    now[0] += 9.9
    await probe.report()
    assert probe.probes == 1
    now[0] += 0.2
    await probe.report()
    assert probe.probes == 2
    assert len(onec.emulator.journal.matching("GET", "*")) == 2


async def test_a_caller_that_leaves_does_not_cancel_the_shared_probe(
    onec: RunningOneC, runtime_factory: Any
) -> None:
    runtime = await runtime_factory(**onec.settings())
    probe = DependencyProbe(runtime)
    onec.emulator.faults.add(Fault(path="*", latency=0.3))
    leaving = asyncio.create_task(probe.report())
    await asyncio.sleep(0.05)
    staying = asyncio.create_task(probe.report())
    leaving.cancel()
    report = await staying
    assert report["status"] == "ok"
    assert probe.probes == 1


async def test_unconfigured_systems_are_listed_as_such(client: httpx.AsyncClient) -> None:
    body = (await client.get("/api/health/dependencies")).json()
    assert {s["name"]: s["status"] for s in body["systems"]} == {
        "onec": "not_configured",
        "chatwoot": "not_configured",
    }
    assert body["status"] == "ok"
    assert body["database"]["status"] == "ok"
    assert body["workers"]["status"] == "no_worker"


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


def test_core_does_not_serve_health_or_import_the_runtime() -> None:
    """Health moved to the app-level ops package; importing all of core loads no runtime."""
    import subprocess
    import sys

    script = (
        "import importlib, pkgutil, sys, switchboard.core as core\n"
        "for m in pkgutil.walk_packages(core.__path__, 'switchboard.core.'):\n"
        "    importlib.import_module(m.name)\n"
        "print(sorted(n for n in sys.modules if n in "
        "{'switchboard.runtime', 'switchboard.ops', 'switchboard.main', 'switchboard.config'}))\n"
        "print('switchboard.core.health' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert result.stdout.split("\n")[:2] == ["[]", "False"]


@pytest.mark.parametrize("path", ["/api/health", "/api/health/db"])
async def test_open_probes_need_no_credentials(
    runtime_factory: Any, client_factory: Any, path: str
) -> None:
    runtime = await runtime_factory(FRONT_SECRET=FRONT_SECRET, OPS_TOKEN=OPS_TOKEN)
    client = await client_factory(runtime)
    assert (await client.get(path)).status_code == 200
