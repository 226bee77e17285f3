"""Routing of new conversations through the real database: the branch by region rules and the
default branch, the operator by status, hours, capacity and load, fair shares, the audit."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy import text

from switchboard.core.db import Database
from switchboard.messenger.routing import service
from switchboard.messenger.routing.tasks import routing_of
from tests.messenger.support import T0, World, minutes, routing, write_mmdb


async def test_each_operator_share_stays_within_ten_percent_over_1000_chats(
    database: Database,
) -> None:
    world = World(database)
    branch = await world.branch("ekb")
    operators = [await world.operator(branch, f"op{n}", capacity=1000) for n in range(4)]
    inbox = await world.inbox(branch=branch)
    rules = routing()
    chance = random.Random(4)
    shares: Counter[int] = Counter()
    open_ones: list[int] = []
    for n in range(1000):
        conversation = await world.conversation(inbox)
        async with database.transaction() as session:
            outcome = await service.assign_new(
                session, rules, conversation, now=T0 + minutes(n / 10)
            )
            assert outcome.result == "assigned"
            assert outcome.staff_id is not None
            shares[outcome.staff_id] += 1
            open_ones.append(conversation)
            # Chats end at random: loads differ, and ties are many.
            for done in [c for c in open_ones if chance.random() < 0.5]:
                open_ones.remove(done)
                await session.execute(
                    text("UPDATE messenger.conversations SET status = 'resolved' WHERE id = :id"),
                    {"id": done},
                )
    assert set(shares) == set(operators)
    for operator in operators:
        assert 225 <= shares[operator] <= 275, shares


async def test_ties_rotate_durably_through_the_database(database: Database) -> None:
    """With every chat ended at once (all loads 0), the rotation alone decides: A, B, C, A …
    — kept in the database, so a new `Routing` (another process, a restart) continues it."""
    world = World(database)
    branch = await world.branch("ekb")
    a, b, c = [await world.operator(branch, name) for name in "abc"]
    inbox = await world.inbox(branch=branch)
    chosen = []
    for _n in range(7):
        conversation = await world.conversation(inbox)
        async with database.transaction() as session:
            outcome = await service.assign_new(session, routing(), conversation, now=T0)
            await session.execute(
                text("UPDATE messenger.conversations SET status = 'closed' WHERE id = :id"),
                {"id": conversation},
            )
        chosen.append(outcome.staff_id)
    assert chosen == [a, b, c, a, b, c, a]


async def test_only_online_operators_in_their_hours_and_below_capacity(
    database: Database,
) -> None:
    world = World(database)
    branch = await world.branch("ekb")
    await world.operator(branch, "away", status="away")
    await world.operator(branch, "busy", status="busy")
    await world.operator(branch, "offline", status="offline")
    await world.operator(branch, "sunday", schedule={"weekly": {"sun": [["00:00", "24:00"]]}})
    full = await world.operator(branch, "full", capacity=1)
    ready = await world.operator(branch, "ready", capacity=1)
    await world.operator(branch, "admin", role="admin")
    inbox = await world.inbox(branch=branch)
    first = await world.conversation(inbox)
    async with database.transaction() as session:
        await session.execute(
            text(
                "UPDATE messenger.conversations SET assignee_id = :s, status = 'open' "
                "WHERE id = :id"
            ),
            {"s": full, "id": first},
        )

    second = await world.conversation(inbox)
    async with database.transaction() as session:
        outcome = await service.assign_new(session, routing(), second, now=T0)
    assert (outcome.result, outcome.staff_id) == ("assigned", ready)
    [audit] = await world.audit(second)
    assert (audit["reason"], audit["policy"], audit["to_staff_id"]) == (
        "new",
        "least_loaded_round_robin",
        ready,
    )
    why = {c["name"]: c["why_not"] for c in audit["candidates"]}
    assert why == {
        "away": "status away",
        "busy": "status busy",
        "offline": "status offline",
        "sunday": "outside personal hours",
        "full": "at capacity (1/1)",
        "ready": None,
    }
    assert {c["name"]: c["load"] for c in audit["candidates"]}["full"] == 1

    # Now everyone is busy or away: the third chat waits, and the audit says why.
    third = await world.conversation(inbox)
    async with database.transaction() as session:
        waiting = await service.assign_new(session, routing(), third, now=T0)
    assert (waiting.result, waiting.staff_id) == ("no_operator", None)
    row = await world.conversation_row(third)
    assert (row["status"], row["assignee_id"], row["branch_id"]) == ("pending", None, branch)
    assert [a["reason"] for a in await world.audit(third)] == ["no_operator"]


async def test_out_of_the_inbox_hours_nobody_is_assigned(database: Database) -> None:
    world = World(database)
    branch = await world.branch("ekb")
    operator = await world.operator(branch, "op")
    # 10:00 UTC on Monday is 15:00 in Yekaterinburg.
    hours = {"time_zone": "Asia/Yekaterinburg", "weekly": {"mon": [["09:00", "18:00"]]}}
    inbox = await world.inbox(branch=branch, settings={"schedule": hours})
    holiday = await world.inbox(
        branch=branch, settings={"schedule": {**hours, "holidays": ["2026-11-30"]}}
    )

    late = await world.conversation(inbox)
    async with database.transaction() as session:
        outcome = await service.assign_new(session, routing(), late, now=T0 + minutes(240))
    assert (outcome.result, outcome.staff_id) == ("offline", None)
    assert (await world.conversation_row(late))["status"] == "pending"
    assert [a["reason"] for a in await world.audit(late)] == ["offline"]

    on_holiday = await world.conversation(holiday)
    async with database.transaction() as session:
        outcome = await service.assign_new(session, routing(), on_holiday, now=T0)
    assert outcome.result == "offline"

    in_hours = await world.conversation(inbox)
    async with database.transaction() as session:
        outcome = await service.assign_new(session, routing(), in_hours, now=T0)
    assert (outcome.result, outcome.staff_id) == ("assigned", operator)


async def test_branch_by_visitor_region_from_ip_and_the_default_branch(
    runtime_factory: Any, tmp_path: Path
) -> None:
    mmdb = write_mmdb(
        tmp_path / "regions.mmdb",
        {
            "5.0.0.0/16": ("RU", "SVE"),
            "6.0.0.0/16": ("KZ", None),
            "7.0.0.0/16": ("RU", "MOW"),
        },
    )
    runtime = await runtime_factory(GEOIP_DATABASE_PATH=str(mmdb), MESSENGER_DEFAULT_BRANCH="tmn")
    world = World(runtime.database)
    ekb, krd, tmn, bound = [await world.branch(c) for c in ("ekb", "krd", "tmn", "bound")]
    operators = {b: await world.operator(b, f"op-{b}") for b in (ekb, krd, tmn, bound)}
    sverdlovsk, kazakhstan = await world.region("RU-SVE"), await world.region("KZ")
    moscow = await world.region("RU-MOW")
    await world.rule(sverdlovsk, ekb, priority=100)
    await world.rule(sverdlovsk, krd, priority=50)  # the lower priority wins
    await world.rule(kazakhstan, ekb)
    inbox = await world.inbox()
    bound_inbox = await world.inbox(branch=bound)

    async def route(ip: str | None, box: int = inbox) -> tuple[int | None, str]:
        conversation = await world.conversation(box)
        async with runtime.database.transaction() as session:
            outcome = await service.assign_new(
                session, routing_of(runtime), conversation, now=T0, ip=ip
            )
        [audit] = await world.audit(conversation)
        return outcome.branch_id, audit["branch_source"]

    assert await route("5.0.3.4") == (krd, "region_rule")
    assert await route("6.0.0.9") == (ekb, "region_rule")
    assert await route("7.0.0.1") == (tmn, "default")  # a known region without a rule
    assert await route("8.8.8.8") == (tmn, "default")  # not in the database
    assert await route("not an ip") == (tmn, "default")
    assert await route(None) == (tmn, "default")
    assert await route("5.0.3.4", bound_inbox) == (bound, "inbox")
    assert operators[krd] != operators[ekb]

    # The region found by IP is kept on the contact and the conversation.
    rows = await world.one(
        "SELECT count(*) FROM messenger.contacts WHERE ip_region_id = :r", r=moscow
    )
    assert rows == 1
    # A region the visitor stated wins over the IP.
    stated = await world.conversation(inbox, region=kazakhstan)
    async with runtime.database.transaction() as session:
        outcome = await service.assign_new(
            session, routing_of(runtime), stated, now=T0, ip="5.0.3.4"
        )
    assert outcome.branch_id == ekb
    assert (await world.conversation_row(stated))["region_id"] == kazakhstan


async def test_a_missing_geoip_file_or_default_branch_is_no_region_not_an_error(
    runtime_factory: Any, tmp_path: Path
) -> None:
    runtime = await runtime_factory(
        GEOIP_DATABASE_PATH=str(tmp_path / "absent.mmdb"), MESSENGER_DEFAULT_BRANCH="nowhere"
    )
    world = World(runtime.database)
    inbox = await world.inbox()
    conversation = await world.conversation(inbox)
    async with runtime.database.transaction() as session:
        outcome = await service.assign_new(
            session, routing_of(runtime), conversation, now=T0, ip="5.0.3.4"
        )
    assert (outcome.result, outcome.branch_id) == ("no_branch", None)
    assert [a["reason"] for a in await world.audit(conversation)] == ["no_branch"]


async def test_a_conversation_is_routed_once(database: Database) -> None:
    world = World(database)
    branch = await world.branch("ekb")
    await world.operator(branch, "a")
    await world.operator(branch, "b")
    inbox = await world.inbox(branch=branch)
    conversation = await world.conversation(inbox)
    async with database.transaction() as session:
        first = await service.assign_new(session, routing(), conversation, now=T0)
    async with database.transaction() as session:
        again = await service.assign_new(session, routing(), conversation, now=T0)
    assert (first.result, again.result, again.staff_id) == ("assigned", "stale", first.staff_id)
    assert len(await world.audit(conversation)) == 1


async def test_a_dry_run_explains_the_choice_and_writes_nothing(
    runtime_factory: Any, tmp_path: Path
) -> None:
    mmdb = write_mmdb(tmp_path / "regions.mmdb", {"5.0.0.0/16": ("RU", "SVE")})
    runtime = await runtime_factory(GEOIP_DATABASE_PATH=str(mmdb))
    world = World(runtime.database)
    ekb = await world.branch("ekb")
    await world.operator(ekb, "away", status="away")
    ready = await world.operator(ekb, "ready")
    await world.rule(await world.region("RU-SVE"), ekb)
    conversation = await world.conversation(await world.inbox())
    rules = routing_of(runtime)
    async with runtime.database.transaction() as session:
        seen = await service.preview(session, rules, conversation, now=T0, ip="5.0.0.1")
    assert (seen.branch.branch_id, seen.branch.source, seen.open) == (ekb, "region_rule", True)
    assert seen.choice.staff_id == ready
    assert {c["name"]: c["why_not"] for c in seen.choice.considered} == {
        "away": "status away",
        "ready": None,
    }
    assert await world.audit(conversation) == []
    assert (
        await world.one("SELECT count(*) FROM messenger.contacts WHERE ip_region_id IS NULL") == 1
    )
    assert (await world.conversation_row(conversation))["assignee_id"] is None

    async with runtime.database.transaction() as session:
        done = await service.assign_new(session, rules, conversation, now=T0, ip="5.0.0.1")
    assert (done.staff_id, done.branch_id) == (seen.choice.staff_id, seen.branch.branch_id)
