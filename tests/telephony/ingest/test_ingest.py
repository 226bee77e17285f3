"""The PBX's events: authenticated by token, committed before the answer, stored once."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from switchboard.runtime import Runtime
from tests.telephony.support import TOKEN, add_enterprise, dial, stored_events


async def test_an_event_is_stored_before_the_answer_without_its_token(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    await add_enterprise(runtime)
    response = await client.post("/dial", json=dial(Extra="kept"))
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "ok", "stored": True}
    [event] = await stored_events(runtime)
    assert (event.enterprise_number, event.unique_id, event.event_type) == (
        "0367",
        "1732960000.1",
        "dial",
    )
    assert event.data_source == "live"
    assert event.raw_data["Extensions"] == ["150", "151"]
    assert event.raw_data["Extra"] == "kept"  # what the PBX sent beyond the schema is kept
    assert "Token" not in event.raw_data
    assert TOKEN not in str(event.raw_data)


async def test_the_same_event_twice_is_stored_once_but_a_second_dial_of_a_call_is_kept(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    await add_enterprise(runtime)
    first = await client.post("/dial", json=dial())
    again = await client.post("/dial", json=dial())
    transfer = await client.post("/dial", json=dial(Extensions=["152"]))
    hangup = await client.post("/hangup", json=dial(CallStatus="2"))
    assert [r.json()["stored"] for r in (first, again, transfer, hangup)] == [
        True,
        False,
        True,
        True,
    ]
    events = await stored_events(runtime)
    assert [e.event_type for e in events] == ["dial", "dial", "hangup"]


async def test_numbers_may_come_as_strings_or_numbers(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    await add_enterprise(runtime)
    response = await client.post(
        "/start", json=dial(CallType="1", UniqueId=1732960000.5, Extensions="150, 151")
    )
    assert response.status_code == 200, response.text
    [event] = await stored_events(runtime)
    assert event.unique_id == "1732960000.5"
    assert event.raw_data["CallType"] == 1
    assert event.raw_data["Extensions"] == ["150", "151"]


async def test_unknown_token_401_inactive_enterprise_403_and_nothing_stored(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    await add_enterprise(runtime)
    await add_enterprise(runtime, "0400", token="switched-off", active=False)
    unknown = await client.post("/dial", json=dial(Token="guess"))
    assert unknown.status_code == 401
    assert unknown.json()["error"] == "unknown_token"
    inactive = await client.post("/dial", json=dial(Token="switched-off"))
    assert inactive.status_code == 403
    assert await stored_events(runtime) == []


async def test_a_malformed_body_is_422_naming_the_field(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    await add_enterprise(runtime)
    body: dict[str, Any] = dial()
    del body["UniqueId"]
    missing = await client.post("/dial", json=body)
    assert missing.status_code == 422
    assert "UniqueId" in missing.text
    wrong = await client.post("/hangup", json=dial(CallType=7))
    assert wrong.status_code == 422
    assert "CallType" in wrong.text
    not_json = await client.post(
        "/bridge", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert not_json.status_code == 422
    assert await stored_events(runtime) == []


async def test_many_events_at_once_are_all_committed_and_answered(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    await add_enterprise(runtime)
    responses = await asyncio.gather(
        *(client.post("/dial", json=dial(f"1732960000.{n}")) for n in range(300))
    )
    assert {r.status_code for r in responses} == {200}
    assert all(r.json()["stored"] for r in responses)
    events = await stored_events(runtime)
    assert sorted(e.unique_id for e in events) == sorted(f"1732960000.{n}" for n in range(300))


async def test_the_fast_path_is_counted_as_the_route_and_leaves_refusals_to_it(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    await add_enterprise(runtime)
    for n in range(3):
        assert (await client.post("/dial", json=dial(f"9.{n}"))).status_code == 200
    refused = await client.post("/dial", json=dial(Token="guess"))
    assert refused.status_code == 401  # the regular route's answer, with its error body
    assert refused.json()["error"] == "unknown_token"
    assert refused.headers["x-request-id"]
    metrics = (await client.get("/metrics")).text
    answered = 'switchboard_http_requests_total{method="POST",route="/dial",status="200"} 3.0'
    assert answered in metrics
    assert 'route="/dial",status="401"} 1.0' in metrics


async def test_the_writer_survives_its_connections_being_killed(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    """The event writer keeps connections of its own; when the database drops them (a restart,
    an administrator), the next event is written on a new one instead of failing."""
    import psycopg

    await add_enterprise(runtime)
    first = await asyncio.gather(
        *(client.post("/dial", json=dial(f"1732960001.{n}")) for n in range(20))
    )
    assert {r.status_code for r in first} == {200}
    url = runtime.database.url
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as admin:
        cursor = await admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND query LIKE '%INSERT INTO telephony.call_events%'"
        )
        row = await cursor.fetchone()
    assert row is not None
    assert row[0] >= 1  # the writer's idle connections, last seen running the INSERT
    again = await client.post("/dial", json=dial("1732960002.1"))
    assert again.status_code == 200, again.text
    assert again.json() == {"status": "ok", "stored": True}
    assert len(await stored_events(runtime)) == 21


async def test_a_stopped_database_is_503_and_the_event_is_taken_once_it_is_back(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    """With every connection refused, the PBX is told to retry (503, nothing half-stored); the
    retry after the database returns is stored once."""
    from switchboard.telephony.ingest.service import EventWriter

    await add_enterprise(runtime)
    assert (await client.post("/dial", json=dial("1732960003.0"))).status_code == 200
    writer = runtime.extension(EventWriter)
    writer.url, real = "postgresql://postgres@127.0.0.1:1/nowhere", writer.url
    for connection in writer._idle:  # the database "goes away" with the connections it had
        await connection.close()
    refused = await client.post("/dial", json=dial("1732960003.1"))
    assert refused.status_code == 503, refused.text
    assert refused.json()["error"] == "database_unavailable"
    writer.url = real
    retried = await client.post("/dial", json=dial("1732960003.1"))
    assert retried.json() == {"status": "ok", "stored": True}
    assert [e.unique_id for e in await stored_events(runtime)] == ["1732960003.0", "1732960003.1"]
