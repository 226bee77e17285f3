"""`sync_users_to_chatwoot`: every active consultant gets a Chatwoot agent, found or created in
the Chatwoot emulator, linked in `sys.user_mapping` and `cons.users.chatwoot_user_id`."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from switchboard.consultations.managers.tasks import run_sync_users_to_chatwoot
from switchboard.consultations.models import Manager, ManagerMapping
from switchboard.core.http.errors import PeerUnavailable
from switchboard.runtime import Runtime
from switchboard.sandbox.faults import Fault
from switchboard.sandbox.pytest_plugin import RunningChatwoot
from tests.consultations.managers.factories import key, manager, store


async def _links(runtime: Runtime) -> dict[str, tuple[int | None, int | None]]:
    """Manager name → (agent in sys.user_mapping, agent in cons.users)."""
    async with runtime.database.transaction() as session:
        managers = (await session.scalars(select(Manager))).all()
        mapping = {
            row.cl_manager_key: row.chatwoot_user_id
            for row in (await session.scalars(select(ManagerMapping))).all()
        }
    return {m.description or "": (mapping.get(m.cl_ref_key), m.chatwoot_user_id) for m in managers}


def _agents(chatwoot: RunningChatwoot) -> dict[str, Any]:
    store = chatwoot.emulator.store
    with store.locked():
        return {user.email: user for user, _ in store.agents(chatwoot.emulator.account_id)}


def _inbox_members(chatwoot: RunningChatwoot) -> list[int]:
    store = chatwoot.emulator.store
    with store.locked():
        inbox = store.inbox(chatwoot.emulator.account_id, chatwoot.emulator.inbox_id)
        assert inbox is not None
        return list(inbox.member_ids)


async def test_agents_are_matched_by_key_then_email_else_created(
    chatwoot: RunningChatwoot, runtime_factory: Any
) -> None:
    by_key = chatwoot.emulator.add_agent(
        "Анна К.", "anna.old@example.uz", custom_attributes={"cl_ref_key": str(key("Анна"))}
    )
    by_email = chatwoot.emulator.add_agent("Борис", "boris@example.uz")
    runtime: Runtime = await runtime_factory(**chatwoot.settings())
    await store(
        runtime,
        manager("Анна", email="anna@example.uz"),
        manager("Борис", email="Boris@Example.uz"),
        manager("Вера", email="vera@example.uz"),
        manager("Глеб"),  # no e-mail in 1C
        manager("Уволенный", email="gone@example.uz", deletion_mark=True),
        manager("Без лимита", email="nolimit@example.uz", limit=None),
    )
    listed_before = len(chatwoot.emulator.journal.matching("GET", "*/agents"))

    report = await run_sync_users_to_chatwoot(runtime)

    assert report == {
        "rows": 4,
        "unmapped": 4,
        "linked": 0,
        "matched": 2,
        "created": 2,
        "refused": 0,
    }
    agents = _agents(chatwoot)
    vera, gleb = agents["vera@example.uz"], agents[f"{key('Глеб')}@cons.local"]
    links = await _links(runtime)
    assert links["Анна"] == (by_key["id"], by_key["id"])
    assert links["Борис"] == (by_email["id"], by_email["id"])
    assert links["Вера"] == (vera.id, vera.id)
    assert links["Глеб"] == (gleb.id, gleb.id)
    assert links["Уволенный"] == (None, None)
    assert links["Без лимита"] == (None, None)
    assert {vera.id, gleb.id} <= set(_inbox_members(chatwoot))
    assert "gone@example.uz" not in agents
    # Agents were listed once for the matching (the adapter may look again before creating).
    listed = chatwoot.emulator.journal.matching("GET", "*/agents")
    assert len(listed) - listed_before <= 1 + report["created"]

    # A second run has nothing to do and calls Chatwoot not at all.
    requests = len(chatwoot.emulator.journal.matching())
    again = await run_sync_users_to_chatwoot(runtime)
    assert again == {
        "rows": 0,
        "unmapped": 0,
        "linked": 0,
        "matched": 0,
        "created": 0,
        "refused": 0,
    }
    assert len(chatwoot.emulator.journal.matching()) == requests
    assert await _links(runtime) == links


async def test_an_agent_linked_in_cons_users_gets_its_mapping_without_a_call(
    chatwoot: RunningChatwoot, runtime_factory: Any
) -> None:
    runtime: Runtime = await runtime_factory(**chatwoot.settings())
    await store(runtime, manager("Анна", chatwoot_user_id=42))
    requests = len(chatwoot.emulator.journal.matching())

    report = await run_sync_users_to_chatwoot(runtime)

    assert report["linked"] == 1
    assert (await _links(runtime))["Анна"] == (42, 42)
    assert len(chatwoot.emulator.journal.matching()) == requests


async def test_an_agent_already_linked_to_someone_else_is_not_taken(
    chatwoot: RunningChatwoot, runtime_factory: Any
) -> None:
    shared = chatwoot.emulator.add_agent("Общий", "shared@example.uz")
    runtime: Runtime = await runtime_factory(**chatwoot.settings())
    await store(
        runtime,
        manager("Анна", email="anna@example.uz"),
        ManagerMapping(chatwoot_user_id=shared["id"], cl_manager_key=key("Анна")),
        manager("Борис", email="shared@example.uz"),
    )

    report = await run_sync_users_to_chatwoot(runtime)

    # Борис's e-mail belongs to Анна's agent, and Chatwoot keeps one agent per e-mail: Борис
    # is left for a person to sort out, the run goes on.
    assert (report["matched"], report["created"], report["refused"]) == (0, 0, 1)
    links = await _links(runtime)
    assert links["Анна"] == (shared["id"], None)
    assert links["Борис"] == (None, None)


async def test_chatwoot_down_stops_the_run_and_the_next_run_finishes(
    chatwoot: RunningChatwoot, runtime_factory: Any
) -> None:
    runtime: Runtime = await runtime_factory(**chatwoot.settings())
    await store(runtime, manager("Анна", email="anna@example.uz"))
    chatwoot.emulator.faults.add(Fault(path="*/agents*", status=503))
    with pytest.raises(PeerUnavailable):
        await run_sync_users_to_chatwoot(runtime)
    assert (await _links(runtime))["Анна"] == (None, None)

    chatwoot.emulator.faults.clear()
    report = await run_sync_users_to_chatwoot(runtime)
    assert report["created"] == 1
    assert (await _links(runtime))["Анна"][0] is not None
