"""`pull_users`: 1C's users become managers in `cons.users`, a page per transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from switchboard.consultations.managers.tasks import run_pull_users
from switchboard.consultations.models import Manager
from switchboard.core.http.errors import PeerUnavailable
from switchboard.runtime import Runtime
from switchboard.sandbox.faults import Fault
from switchboard.sandbox.pytest_plugin import RunningOneC
from tests.consultations.dictionaries.catalogs import element, key

USERS = "Catalog_Пользователи"


def user(name: str, description: str, **flags: Any) -> dict[str, Any]:
    email = {"Тип": "АдресЭлектроннойПочты", "АдресЭП": f" {name}@example.uz "}
    return element(
        name,
        description,
        Недействителен=flags.pop("Недействителен", False),
        Служебный=flags.pop("Служебный", False),
        КонтактнаяИнформация=[email],
        **flags,
    )


async def _managers(runtime: Runtime) -> dict[str, Manager]:
    async with runtime.database.transaction() as session:
        rows = (await session.scalars(select(Manager))).all()
    return {row.description or "": row for row in rows}


async def test_active_users_become_managers_and_flags_follow(
    onec: RunningOneC, runtime_factory: Any
) -> None:
    onec.emulator.store.load(
        {
            USERS: [
                user("alisher", "Алишер Каримов"),
                user("robot", "Обмен с сайтом", Служебный=True),
                user("gone", "Уволенный", DeletionMark=True),
            ]
        }
    )
    runtime: Runtime = await runtime_factory(**onec.settings(), ODATA_PAGE_SIZE=1)

    report = await run_pull_users(runtime)

    assert report == {"received": 3, "inserted": 1, "updated": 0, "skipped": 2}
    managers = await _managers(runtime)
    assert set(managers) == {"Алишер Каримов"}
    assert managers["Алишер Каримов"].email == "alisher@example.uz"
    assert str(managers["Алишер Каримов"].cl_ref_key) == key("alisher")

    # Later 1C marks the manager invalid: the row stays (history), with the flag.
    onec.emulator.store.reset()
    onec.emulator.store.load({USERS: [user("alisher", "Алишер Каримов", Недействителен=True)]})
    report = await run_pull_users(runtime)
    assert report["updated"] == 1
    assert (await _managers(runtime))["Алишер Каримов"].invalid is True


async def test_a_failure_half_way_keeps_the_pages_already_committed(
    onec: RunningOneC, runtime_factory: Any
) -> None:
    onec.emulator.store.load({USERS: [user(f"u{n}", f"Менеджер {n}") for n in range(3)]})
    runtime: Runtime = await runtime_factory(**onec.settings(), ODATA_PAGE_SIZE=1)
    # The first page is served, every later request fails: 1C went down mid-load.
    onec.emulator.faults.add(Fault(status=503, path=f"*/{USERS}", after=1))

    try:
        await run_pull_users(runtime)
    except PeerUnavailable:
        pass
    else:
        raise AssertionError("the load should have failed when 1C went down")

    assert len(await _managers(runtime)) == 1
