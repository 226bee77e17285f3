"""Calls played by the generator reach the RetailCRM emulator mapped as seed 003 says, once each,
in order, and survive RetailCRM being down."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import func, select

from switchboard.runtime import Runtime
from switchboard.sandbox.asterisk.calls import CallGenerator, CallScenario
from switchboard.sandbox.faults import Fault
from switchboard.sandbox.pytest_plugin import RETAILCRM_API_KEY, RunningRetailCrm
from switchboard.telephony.delivery.tasks import run_once
from switchboard.telephony.models import CallEvent, Delivery, IntegrationLog
from tests.telephony.support import (
    TOKEN,
    add_enterprise,
    register_module,
    retailcrm_config,
    settle,
)

WHEN = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
PAST = datetime(2020, 1, 1, tzinfo=UTC)


async def _setup(runtime: Runtime, retailcrm: RunningRetailCrm) -> None:
    await add_enterprise(runtime, integrations=retailcrm_config(retailcrm.url, RETAILCRM_API_KEY))
    register_module(retailcrm.emulator)


def _generator(seed: int = 7) -> CallGenerator:
    return CallGenerator(token=TOKEN, extensions=("150", "151", "152"), seed=seed)


async def _play(client: httpx.AsyncClient, scenario: CallScenario) -> None:
    for event in scenario.events:
        response = await client.post(event.path, json=event.payload)
        assert response.status_code == 200, response.text


async def _undispatched(runtime: Runtime) -> int:
    async with runtime.database.transaction() as session:
        count = await session.scalar(
            select(func.count()).select_from(CallEvent).where(CallEvent.dispatched_at.is_(None))
        )
    return int(count or 0)


async def _deliveries(runtime: Runtime) -> list[Delivery]:
    async with runtime.database.transaction() as session:
        return list(await session.scalars(select(Delivery).order_by(Delivery.id)))


async def test_an_answered_incoming_call_pops_up_then_lands_in_the_history(
    runtime_factory: Any, client_factory: Any, retailcrm: RunningRetailCrm
) -> None:
    runtime = await runtime_factory()
    client = await client_factory(runtime)
    await _setup(runtime, retailcrm)
    scenario = _generator().scenario("incoming_answered", at=WHEN)

    await _play(client, scenario)
    await settle(runtime)
    await settle(runtime)  # nothing twice
    assert [d.status for d in await _deliveries(runtime)] == ["done"] * 3

    events = [received.event for received in retailcrm.emulator.store.call_events()]
    assert [event["type"] for event in events] == ["in", "hangup"]
    dial = scenario.events[[e.name for e in scenario.events].index("dial")].payload
    assert events[0]["phone"] == "+" + str(dial["Phone"]).lstrip("+")
    assert events[0]["callExternalId"] == scenario.unique_id
    assert events[0]["codes"] == list(dial["Extensions"])  # the whole ring group
    assert events[1]["hangupStatus"] == "answered"
    [uploaded] = retailcrm.emulator.store.uploaded_calls()
    call = uploaded.call
    assert uploaded.client_id == "0367"
    assert call["externalId"] == scenario.unique_id
    assert call["type"] == "in"
    assert not str(call["phone"]).startswith("+")
    assert call["result"] == "answered"
    assert call["duration"] == scenario.talk_seconds
    assert call["code"] == scenario.talked[-1]
    async with runtime.database.transaction() as session:
        logs = list(await session.scalars(select(IntegrationLog).order_by(IntegrationLog.id)))
    assert [log.status for log in logs] == ["success"] * 3
    assert RETAILCRM_API_KEY not in str([log.request_data for log in logs])


async def test_a_missed_call_is_dated_when_it_rang_and_internal_calls_stay_out(
    runtime_factory: Any, client_factory: Any, retailcrm: RunningRetailCrm
) -> None:
    runtime = await runtime_factory()
    client = await client_factory(runtime)
    await _setup(runtime, retailcrm)
    generator = _generator()
    missed = generator.scenario("incoming_missed", at=WHEN)
    internal = generator.scenario("internal", at=WHEN)
    await _play(client, missed)
    await _play(client, internal)
    await settle(runtime)

    [uploaded] = retailcrm.emulator.store.uploaded_calls()
    assert uploaded.call["externalId"] == missed.unique_id
    assert uploaded.call["result"] == "no answer"
    assert uploaded.call["duration"] == 0
    hangup = missed.events[-1].payload
    assert uploaded.call["date"] == str(hangup["DateReceived"]).replace("T", " ")[:19]
    assert all(
        r.event["callExternalId"] != internal.unique_id
        for r in retailcrm.emulator.store.call_events()
    )


async def test_a_hangup_without_a_dial_pops_up_a_synthetic_dial_first(
    runtime_factory: Any, client_factory: Any, retailcrm: RunningRetailCrm
) -> None:
    runtime = await runtime_factory()
    client = await client_factory(runtime)
    await _setup(runtime, retailcrm)
    scenario = _generator().scenario("hangup_only", at=WHEN)
    await _play(client, scenario)
    await settle(runtime)
    events = [received.event for received in retailcrm.emulator.store.call_events()]
    assert [event["type"] for event in events] == ["in", "hangup"]
    first = (await _deliveries(runtime))[0]
    assert first.payload.get("synthetic") is True
    assert len(retailcrm.emulator.store.uploaded_calls()) == 1


async def test_retailcrm_down_for_a_while_every_call_lands_once_when_it_returns(
    runtime_factory: Any, client_factory: Any, retailcrm: RunningRetailCrm
) -> None:
    runtime = await runtime_factory(HTTP_MAX_ATTEMPTS=1, BREAKER_RESET_SECONDS=0.05)
    client = await client_factory(runtime)
    await _setup(runtime, retailcrm)
    generator = _generator(seed=11)
    calls = [generator.scenario("incoming_answered", at=WHEN) for _ in range(5)]
    retailcrm.emulator.faults.add(Fault(path="/api/v5/*", status=503))
    for scenario in calls:
        await _play(client, scenario)
    deadline = asyncio.get_running_loop().time() + 10
    while True:  # until every call's first delivery has been tried (and waits for its backoff)
        await run_once(runtime)
        deliveries = await _deliveries(runtime)
        tried = {d.unique_id for d in deliveries if d.attempts}
        everything_planned = await _undispatched(runtime) == 0
        if everything_planned and tried == {scenario.unique_id for scenario in calls}:
            deliveries = await _deliveries(runtime)
            break
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.05)
    # The rest of each call waits behind its first delivery: nothing was sent out of order.
    assert all(d.status == "pending" for d in deliveries)
    for scenario in calls:
        first, *later = [d for d in deliveries if d.unique_id == scenario.unique_id]
        assert first.attempts >= 1
        assert later
        assert all(d.attempts == 0 for d in later)
    assert retailcrm.emulator.store.call_events() == []

    retailcrm.emulator.faults.clear()
    deadline = asyncio.get_running_loop().time() + 15
    while {d.status for d in await _deliveries(runtime)} != {"done"}:
        assert asyncio.get_running_loop().time() < deadline, [
            (d.kind, d.status, d.attempts, d.lease_until, d.last_error)
            for d in await _deliveries(runtime)
        ]
        async with runtime.database.transaction() as session:
            for delivery in await session.scalars(select(Delivery)):
                if delivery.status == "pending":
                    delivery.next_attempt_at = PAST  # time passes: the backoff is over
        await run_once(runtime)
        await asyncio.sleep(0.1)

    uploaded = sorted(u.call["externalId"] for u in retailcrm.emulator.store.uploaded_calls())
    assert uploaded == sorted(scenario.unique_id for scenario in calls)
    pops = [r.event for r in retailcrm.emulator.store.call_events()]
    assert len(pops) == 10  # a dial and a hangup per call, each once
    for scenario in calls:
        mine = [e["type"] for e in pops if e["callExternalId"] == scenario.unique_id]
        assert mine == ["in", "hangup"]  # in the order the call happened
    assert {d.status for d in await _deliveries(runtime)} == {"done"}
