"""The integration cache and the gateway's operator API."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from switchboard.runtime import Runtime
from switchboard.telephony.gateway.service import announce_change
from switchboard.telephony.models import Enterprise
from tests.servers import free_port, platform_env, switchboard_process, wait_until_up
from tests.telephony.support import add_enterprise, dial

OPS = "ops-token-for-the-gateway"


async def test_a_change_saved_in_one_process_is_seen_by_another_at_once(
    runtime_factory: Any, clean_database: str, tmp_path: Path
) -> None:
    saver: Runtime = await runtime_factory(EVENT_BUS="postgres")
    await add_enterprise(saver)
    port = free_port()
    env = platform_env(clean_database, EVENT_BUS="postgres", OPS_TOKEN=OPS)
    with switchboard_process(
        "serve", "--port", str(port), env=env, log=tmp_path / "api.log"
    ) as api:
        base = f"http://127.0.0.1:{port}"
        await asyncio.to_thread(wait_until_up, base + "/api/health", api)
        async with httpx.AsyncClient(base_url=base, timeout=10) as client:
            auth = {"Authorization": f"Bearer {OPS}"}
            for _ in range(50):  # until its watcher listens (then it serves from memory)
                if (await client.get("/gateway/health", headers=auth)).json()["listening"]:
                    break
                await asyncio.sleep(0.1)
            assert (await client.post("/dial", json=dial())).status_code == 200
            before = (await client.get("/gateway/stats", headers=auth)).json()["cache_stats"]
            assert (await client.post("/dial", json=dial("2"))).status_code == 200
            after = (await client.get("/gateway/stats", headers=auth)).json()["cache_stats"]
            # Served from its cache: no miss (the delivery service reads it too: more hits).
            assert after["misses"] == before["misses"]
            assert after["hits"] > before["hits"]

            async with saver.database.transaction() as session:
                await session.execute(
                    update(Enterprise).where(Enterprise.number == "0367").values(active=False)
                )
                await announce_change(saver.bus, session, "0367")
            refused = None
            for _ in range(40):  # "at once": well under the 90 s TTL
                refused = await client.post("/dial", json=dial("3"))
                if refused.status_code == 403:
                    break
                await asyncio.sleep(0.05)
            assert refused is not None
            assert refused.status_code == 403


async def test_the_operator_api_needs_the_ops_token_and_reports_the_cache(
    runtime_factory: Any, client_factory: Any
) -> None:
    runtime = await runtime_factory(OPS_TOKEN=OPS)
    await add_enterprise(runtime, integrations={"retailcrm": {"enabled": True}})
    client = await client_factory(runtime)
    assert (await client.get("/gateway/stats")).status_code == 401
    auth = {"Authorization": f"Bearer {OPS}"}
    found = await client.get("/gateway/integrations/0367", headers=auth)
    assert found.json() == {
        "enterprise_number": "0367",
        "integrations": {"retailcrm": True},
        "active": True,
    }
    assert (await client.get("/gateway/integrations/9999", headers=auth)).status_code == 404
    invalidated = await client.post("/gateway/cache/invalidate/0367", headers=auth)
    assert invalidated.json() == {"invalidated": "0367"}
    stats = (await client.get("/gateway/stats", headers=auth)).json()
    assert stats["cache_stats"]["invalidations"] >= 1
    assert stats["undispatched_events"] == 0


@pytest.mark.parametrize("event_type", ["dial", "hangup"])
async def test_dispatch_stores_the_event_for_the_crms(
    runtime_factory: Any, client_factory: Any, event_type: str
) -> None:
    runtime = await runtime_factory(OPS_TOKEN=OPS)
    await add_enterprise(runtime, integrations={"retailcrm": {"enabled": False}})
    client = await client_factory(runtime)
    auth = {"Authorization": f"Bearer {OPS}"}
    body = {
        "token": dial()["Token"],
        "uniqueId": "77.1",
        "event_type": event_type,
        "raw": dial("77.1"),
    }
    answer = await client.post("/gateway/dispatch/call-event", json=body, headers=auth)
    assert answer.status_code == 200, answer.text
    assert answer.json()["stored"] is True
    again = await client.post("/gateway/dispatch/call-event", json=body, headers=auth)
    assert again.json()["stored"] is False
    wrong = await client.post(
        "/gateway/dispatch/call-event", json={**body, "token": "nope"}, headers=auth
    )
    assert wrong.status_code == 401
