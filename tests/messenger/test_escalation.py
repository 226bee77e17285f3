"""Escalation by timer, transfers and the routing jobs, through the real database and queue."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from types import SimpleNamespace
from typing import Any, cast

import pytest
from procrastinate import JobContext

from switchboard.core.db.base import utcnow
from switchboard.core.jobs import RUNTIME_KEY
from switchboard.messenger.routing import service, tasks
from switchboard.messenger.routing.service import RoutingError
from switchboard.messenger.routing.tasks import routing_of
from switchboard.runtime import Runtime
from tests.messenger.support import T0, MemoryTimer, World, minutes, routing


def _context(runtime: Runtime) -> JobContext:
    return cast(JobContext, SimpleNamespace(additional_context={RUNTIME_KEY: runtime}))


async def _escalation_jobs(runtime: Runtime) -> list[dict[str, Any]]:
    rows = await runtime.jobs.connector.execute_query_all_async(
        "SELECT args, scheduled_at, status::text AS status FROM procrastinate_jobs "
        "WHERE task_name = 'messenger.escalate' ORDER BY id"
    )
    return [dict(row) for row in rows]


async def _setup(world: World, names: str = "ab") -> tuple[int, list[int], int]:
    branch = await world.branch("ekb")
    operators = [await world.operator(branch, name) for name in names]
    inbox = await world.inbox(branch=branch)
    return branch, operators, inbox


async def test_not_opened_in_time_goes_to_another_operator(runtime: Runtime) -> None:
    world = World(runtime.database)
    _, (a, b), inbox = await _setup(world)
    conversation = await world.conversation(inbox)
    rules = routing_of(runtime)
    async with runtime.database.transaction() as session:
        first = await service.assign_new(session, rules, conversation, now=T0)
    assert first.staff_id == a

    # The timer is a job of the queue, due 240 s after the assignment.
    [job] = await _escalation_jobs(runtime)
    assert job["scheduled_at"] == T0 + timedelta(seconds=240)
    assert job["args"] == {
        "conversation_id": conversation,
        "staff_id": a,
        "assigned_at": T0.isoformat(),
    }

    async with runtime.database.transaction() as session:
        early = await service.escalate(
            session,
            rules,
            conversation,
            expected_staff_id=a,
            expected_assigned_at=T0,
            now=T0 + timedelta(seconds=239),
        )
    assert early.result == "not_due"
    async with runtime.database.transaction() as session:
        due = await service.escalate(
            session,
            rules,
            conversation,
            expected_staff_id=a,
            expected_assigned_at=T0,
            now=T0 + timedelta(seconds=241),
        )
    assert (due.result, due.staff_id) == ("assigned", b)
    row = await world.conversation_row(conversation)
    assert (row["assignee_id"], row["assignee_assigned_at"]) == (b, T0 + timedelta(seconds=241))
    escalation = (await world.audit(conversation))[-1]
    assert (escalation["reason"], escalation["from_staff_id"], escalation["to_staff_id"]) == (
        "escalation",
        a,
        b,
    )
    assert "not opened" in escalation["explanation"]
    # B's own timer is armed in turn.
    assert [j["args"]["staff_id"] for j in await _escalation_jobs(runtime)][-1] == b


async def test_once_opened_never_escalated_by_timeout(runtime: Runtime) -> None:
    world = World(runtime.database)
    _, (a, _b), inbox = await _setup(world)
    conversation = await world.conversation(inbox)
    rules = routing_of(runtime)
    async with runtime.database.transaction() as session:
        await service.assign_new(session, rules, conversation, now=T0)
    async with runtime.database.transaction() as session:
        assert not await service.mark_opened(session, conversation, a + 100, now=T0 + minutes(1))
        assert await service.mark_opened(session, conversation, a, now=T0 + minutes(1))
        assert not await service.mark_opened(session, conversation, a, now=T0 + minutes(2))
    for later in (5, 60, 600):
        async with runtime.database.transaction() as session:
            outcome = await service.escalate(
                session,
                rules,
                conversation,
                expected_staff_id=a,
                expected_assigned_at=T0,
                now=T0 + minutes(later),
            )
        assert outcome.result == "opened"
    row = await world.conversation_row(conversation)
    assert (row["assignee_id"], row["assignee_opened_at"]) == (a, T0 + minutes(1))
    assert len(await world.audit(conversation)) == 1


async def test_two_escalations_at_once_escalate_once(runtime: Runtime) -> None:
    world = World(runtime.database)
    _, (a, b, c), inbox = await _setup(world, "abc")
    conversation = await world.conversation(inbox)
    rules = routing(timer=MemoryTimer())
    async with runtime.database.transaction() as session:
        await service.assign_new(session, rules, conversation, now=T0)

    async def run() -> str:
        async with runtime.database.transaction() as session:
            outcome = await service.escalate(
                session,
                rules,
                conversation,
                expected_staff_id=a,
                expected_assigned_at=T0,
                now=T0 + minutes(5),
            )
        return outcome.result

    results = await asyncio.gather(run(), run(), run())
    assert sorted(results) == ["assigned", "stale", "stale"]
    reasons = [row["reason"] for row in await world.audit(conversation)]
    assert reasons == ["new", "escalation"]
    assert (await world.conversation_row(conversation))["assignee_id"] in (b, c)


async def test_the_queued_job_escalates_and_a_repeat_does_nothing(runtime: Runtime) -> None:
    world = World(runtime.database)
    _, (a, b), inbox = await _setup(world)
    conversation = await world.conversation(inbox)
    assigned_at = utcnow() - minutes(5)
    async with runtime.database.transaction() as session:
        await service.assign_new(session, routing_of(runtime), conversation, now=assigned_at)
    [job] = await _escalation_jobs(runtime)

    first = await tasks.escalate.func(_context(runtime), **job["args"])
    again = await tasks.escalate.func(_context(runtime), **job["args"])  # a restart, a retry
    assert (first["result"], first["staff_id"]) == ("assigned", b)
    assert again["result"] == "stale"
    assert [row["reason"] for row in await world.audit(conversation)] == ["new", "escalation"]
    assert a != b


async def test_with_nobody_else_it_stays_and_the_clock_starts_over(runtime: Runtime) -> None:
    world = World(runtime.database)
    _, (a,), inbox = await _setup(world, "a")
    conversation = await world.conversation(inbox)
    timer = MemoryTimer()
    rules = routing(timer=timer)
    async with runtime.database.transaction() as session:
        await service.assign_new(session, rules, conversation, now=T0)
    async with runtime.database.transaction() as session:
        outcome = await service.escalate(
            session,
            rules,
            conversation,
            expected_staff_id=a,
            expected_assigned_at=T0,
            now=T0 + minutes(4),
        )
    assert (outcome.result, outcome.staff_id) == ("no_operator", a)
    row = await world.conversation_row(conversation)
    assert (row["assignee_id"], row["assignee_assigned_at"]) == (a, T0 + minutes(4))
    assert [(t.staff_id, t.due) for t in timer.armed] == [
        (a, T0 + minutes(4)),
        (a, T0 + minutes(8)),
    ]


async def test_transfer_to_the_first_free_operator_of_another_branch(runtime: Runtime) -> None:
    world = World(runtime.database)
    _, (a, _b), inbox = await _setup(world)
    other = await world.branch("krd")
    busy = await world.operator(other, "busy-k", capacity=0)
    free = await world.operator(other, "free-k")
    supervisor = await world.operator(None, "sup", role="supervisor")
    conversation = await world.conversation(inbox)
    rules = routing()
    async with runtime.database.transaction() as session:
        await service.assign_new(session, rules, conversation, now=T0)
        listed = await service.branch_operators(session, other, T0)
    assert {c.staff_id for c in listed} == {busy, free}

    async with runtime.database.transaction() as session:
        moved = await service.transfer_to_branch(
            session, rules, conversation, other, actor_id=supervisor, now=T0 + minutes(1)
        )
    assert (moved.result, moved.staff_id, moved.branch_id) == ("assigned", free, other)
    row = await world.conversation_row(conversation)
    assert (row["branch_id"], row["assignee_id"], row["assignee_opened_at"]) == (other, free, None)
    audit = (await world.audit(conversation))[-1]
    assert (audit["reason"], audit["from_staff_id"], audit["actor_staff_id"]) == (
        "transfer_branch",
        a,
        supervisor,
    )

    # Back to krd with nobody else free there: nothing changes, and the caller is told.
    async with runtime.database.transaction() as session:
        refused = await service.transfer_to_branch(
            session, rules, conversation, other, actor_id=supervisor, now=T0 + minutes(2)
        )
    assert refused.result == "no_operator"
    assert (await world.conversation_row(conversation))["assignee_id"] == free


async def test_manual_transfer_to_a_named_operator(runtime: Runtime) -> None:
    world = World(runtime.database)
    branch, (a, _b), inbox = await _setup(world)
    away = await world.operator(branch, "away", status="away")
    admin = await world.operator(branch, "admin", role="admin")
    conversation = await world.conversation(inbox)
    timer = MemoryTimer()
    rules = routing(timer=timer)
    async with runtime.database.transaction() as session:
        await service.assign_new(session, rules, conversation, now=T0)
        await service.mark_opened(session, conversation, a, now=T0)
    async with runtime.database.transaction() as session:
        outcome = await service.transfer_to_operator(
            session, rules, conversation, away, actor_id=a, now=T0 + minutes(1)
        )
    assert (outcome.result, outcome.staff_id) == ("assigned", away)
    row = await world.conversation_row(conversation)
    # The new assignee has not opened it: their own timer runs.
    assert (row["assignee_id"], row["assignee_opened_at"]) == (away, None)
    assert timer.armed[-1].due == T0 + minutes(5)
    audit = (await world.audit(conversation))[-1]
    assert (audit["reason"], audit["policy"], audit["actor_staff_id"]) == (
        "transfer_manual",
        "manual",
        a,
    )
    assert audit["candidates"][0]["why_not"] == "status away"

    with pytest.raises(RoutingError) as refused:
        async with runtime.database.transaction() as session:
            await service.transfer_to_operator(
                session, rules, conversation, admin, actor_id=a, now=T0
            )
    assert refused.value.code == "staff_not_assignable"
    await world.one(
        "UPDATE messenger.conversations SET status = 'closed' WHERE id = :id RETURNING id",
        id=conversation,
    )
    with pytest.raises(RoutingError) as closed:
        async with runtime.database.transaction() as session:
            await service.transfer_to_operator(session, rules, conversation, a, actor_id=a, now=T0)
    assert closed.value.code == "conversation_closed"


async def test_waiting_conversations_are_routed_when_someone_comes_online(
    runtime: Runtime,
) -> None:
    world = World(runtime.database)
    branch = await world.branch("ekb")
    operator = await world.operator(branch, "later", status="offline")
    inbox = await world.inbox(branch=branch)
    conversation = await world.conversation(inbox)
    async with runtime.database.transaction() as session:
        waiting = await service.assign_new(session, routing_of(runtime), conversation, now=T0)
    assert waiting.result == "no_operator"

    assert await tasks.route_waiting.func(_context(runtime)) == {"no_operator": 1}
    assert len(await world.audit(conversation)) == 1  # a retry that changes nothing is silent
    await world.one(
        "UPDATE messenger.staff SET status = 'online' WHERE id = :id RETURNING id", id=operator
    )
    assert await tasks.route_waiting.func(_context(runtime)) == {"assigned": 1}
    assert (await world.conversation_row(conversation))["assignee_id"] == operator


async def test_escalation_does_not_bounce_back_while_someone_else_is_left(
    runtime: Runtime,
) -> None:
    world = World(runtime.database)
    _, (a, b, c), inbox = await _setup(world, "abc")
    # B is busier: without the rule, C's timeout would send the chat straight back to A.
    other = await world.conversation(inbox)
    await world.one(
        "UPDATE messenger.conversations SET assignee_id = :b WHERE id = :id RETURNING id",
        b=b,
        id=other,
    )
    conversation = await world.conversation(inbox)
    rules = routing()
    async with runtime.database.transaction() as session:
        first = await service.assign_new(session, rules, conversation, now=T0)
    chain = [first.staff_id]
    assigned_at = T0
    for step in range(1, 4):
        now = T0 + minutes(5 * step)
        async with runtime.database.transaction() as session:
            outcome = await service.escalate(
                session,
                rules,
                conversation,
                expected_staff_id=chain[-1],
                expected_assigned_at=assigned_at,
                now=now,
            )
        chain.append(outcome.staff_id)
        assigned_at = now
    # Everyone has let it time out once: then round again, the least loaded first.
    assert chain == [a, c, b, a]


async def test_waiting_conversations_are_paged_so_none_is_starved(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tasks, "WAITING_BATCH", 2)
    world = World(runtime.database)
    branch = await world.branch("ekb")
    operator = await world.operator(branch, "op")
    nowhere = await world.inbox()  # no branch and no default branch: waits for ever
    stuck = [await world.conversation(nowhere) for _ in range(3)]
    routable = await world.conversation(await world.inbox(branch=branch))
    assert await tasks.route_waiting.func(_context(runtime)) == {"no_branch": 3, "assigned": 1}
    assert (await world.conversation_row(routable))["assignee_id"] == operator
    assert [(await world.conversation_row(s))["status"] for s in stuck] == ["pending"] * 3


async def test_the_safety_net_escalates_what_its_job_missed_once(runtime: Runtime) -> None:
    world = World(runtime.database)
    _, (a, b), inbox = await _setup(world)
    missed, recent, opened = [await world.conversation(inbox) for _ in range(3)]
    rules = routing(timer=MemoryTimer())  # no jobs queued: as if they were cancelled
    long_ago = utcnow() - minutes(10)
    async with runtime.database.transaction() as session:
        await service.assign_new(session, rules, missed, now=long_ago)
        await service.assign_new(session, rules, opened, now=long_ago)
        await service.mark_opened(session, opened, b, now=long_ago)
        await service.assign_new(session, rules, recent, now=utcnow() - minutes(4.5))

    assert await tasks.escalate_overdue.func(_context(runtime)) == {"assigned": 1}
    assert await tasks.escalate_overdue.func(_context(runtime)) == {}
    assert (await world.conversation_row(missed))["assignee_id"] == b
    assert [r["reason"] for r in await world.audit(missed)] == ["new", "escalation"]
    assert (await world.conversation_row(opened))["assignee_id"] == b
    assert (await world.conversation_row(recent))["assignee_id"] == a
