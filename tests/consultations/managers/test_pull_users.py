"""`pull_users`: 1C's users become managers in `cons.users`, a page per transaction."""

from __future__ import annotations

from datetime import time
from typing import Any

from sqlalchemy import select

from switchboard.consultations.managers.tasks import run_pull_users
from switchboard.consultations.models import Manager, ManagerSkill
from switchboard.core.http.errors import PeerUnavailable
from switchboard.runtime import Runtime
from switchboard.sandbox.faults import Fault
from switchboard.sandbox.pytest_plugin import RunningOneC
from tests.consultations.dictionaries.catalogs import RU, UZ, element, key

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

    assert {k: report[k] for k in ("received", "inserted", "updated", "skipped")} == {
        "received": 3,
        "inserted": 1,
        "updated": 0,
        "skipped": 2,
    }
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


CONSULTANTS = "InformationRegister_СписокКонсультантовДляЗаявок"
SKILLS = "InformationRegister_КатегорииВопросовМенеджеров"
LANGUAGES = "InformationRegister_ЯзыкиПользователей"
MEMBERS = "InformationRegister_ОтделыПользователей"
DEPARTMENTS = "Catalog_Отделы"


def settings_row(name: str, period: str, limit: int, start: str, end: str) -> dict[str, Any]:
    return {
        "Period": period,
        "Менеджер_Key": key(name),
        "ЛимитКонсультаций": limit,
        "ВремяРаботыНачало": f"0001-01-01T{start}:00",
        "ВремяРаботыКонец": f"0001-01-01T{end}:00",
    }


def consultants_of_1c() -> dict[str, list[dict[str, Any]]]:
    return {
        USERS: [user("alisher", "Алишер Каримов"), user("nodira", "Нодира Абдуллаева")],
        DEPARTMENTS: [element("its", "ИТС консультанты")],
        CONSULTANTS: [
            settings_row("alisher", "2026-01-10T00:00:00", 8, "09:00", "18:00"),
            # A later row supersedes the earlier one (the register is periodic).
            settings_row("alisher", "2026-06-01T00:00:00", 10, "20:00", "02:00"),
            settings_row("nodira", "2026-06-01T00:00:00", 6, "08:00", "17:00"),
        ],
        LANGUAGES: [
            {"Менеджер_Key": key("alisher"), "Язык_Key": RU},
            {"Менеджер_Key": key("alisher"), "Язык_Key": UZ},
            {"Менеджер_Key": key("nodira"), "Язык_Key": RU},
        ],
        MEMBERS: [{"Менеджер_Key": key("alisher"), "Отдел_Key": key("its")}],
        SKILLS: [
            {"Менеджер_Key": key("alisher"), "КатегорияВопроса_Key": key("cat-tax")},
            {"Менеджер_Key": key("alisher"), "КатегорияВопроса_Key": key("cat-pay")},
            {"Менеджер_Key": key("nodira"), "КатегорияВопроса_Key": key("cat-tax")},
        ],
    }


async def _skills(runtime: Runtime) -> set[tuple[str, str]]:
    async with runtime.database.transaction() as session:
        rows = (
            await session.execute(select(ManagerSkill.user_key, ManagerSkill.category_key))
        ).all()
    return {(str(user_key), str(category)) for user_key, category in rows}


async def test_consultant_settings_languages_departments_and_skills_come_from_1c(
    onec: RunningOneC, runtime_factory: Any
) -> None:
    onec.emulator.store.load(consultants_of_1c())
    runtime: Runtime = await runtime_factory(**onec.settings())

    report = await run_pull_users(runtime)

    assert report["profiles"]["profiles"] == 2
    managers = await _managers(runtime)
    alisher, nodira = managers["Алишер Каримов"], managers["Нодира Абдуллаева"]
    assert (alisher.con_limit, alisher.start_hour, alisher.end_hour) == (10, time(20), time(2))
    assert (alisher.ru, alisher.uz, alisher.department) == (True, True, "ИТС консультанты")
    assert (nodira.con_limit, nodira.ru, nodira.uz, nodira.department) == (6, True, False, None)
    assert await _skills(runtime) == {
        (key("alisher"), key("cat-tax")),
        (key("alisher"), key("cat-pay")),
        (key("nodira"), key("cat-tax")),
    }

    # A second run changes nothing: no row is written again.
    stamps = {name: row.updated_at for name, row in managers.items()}
    again = await run_pull_users(runtime)
    assert again["profiles"] == {
        "profiles": 2,
        "changed": 0,
        "cleared": 0,
        "skills_added": 0,
        "skills_removed": 0,
    }
    assert {name: row.updated_at for name, row in (await _managers(runtime)).items()} == stamps

    # 1C drops a skill, changes a limit and removes Нодира from the consultants.
    data = consultants_of_1c()
    data[SKILLS] = [data[SKILLS][1]]
    data[CONSULTANTS] = [settings_row("alisher", "2026-07-01T00:00:00", 12, "09:00", "18:00")]
    data[LANGUAGES] = data[LANGUAGES][:2]
    onec.emulator.store.reset()
    onec.emulator.store.load(data)
    changed = await run_pull_users(runtime)
    assert changed["profiles"]["skills_removed"] == 2
    managers = await _managers(runtime)
    assert (managers["Алишер Каримов"].con_limit, managers["Алишер Каримов"].end_hour) == (
        12,
        time(18),
    )
    nodira = managers["Нодира Абдуллаева"]
    assert (nodira.con_limit, nodira.start_hour, nodira.ru) == (None, None, False)
    assert await _skills(runtime) == {(key("alisher"), key("cat-pay"))}


async def test_no_consultant_settings_at_all_keep_the_current_ones(
    onec: RunningOneC, runtime_factory: Any
) -> None:
    onec.emulator.store.load(consultants_of_1c())
    runtime: Runtime = await runtime_factory(**onec.settings())
    await run_pull_users(runtime)

    data = consultants_of_1c()
    for register in (CONSULTANTS, SKILLS, LANGUAGES, MEMBERS):
        data[register] = []
    onec.emulator.store.reset()
    onec.emulator.store.load(data)
    report = await run_pull_users(runtime)

    assert report["profiles"]["profiles"] == 0
    assert (await _managers(runtime))["Алишер Каримов"].con_limit == 10
    assert len(await _skills(runtime)) == 3
