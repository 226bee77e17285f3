"""The automatic choice of a manager (seed 001), rule by rule, on a real PostgreSQL."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, date, datetime
from typing import Any

from switchboard.consultations.managers.service import SelectionRules
from switchboard.consultations.models import TECH_SUPPORT
from switchboard.integrations.onec.constants import UNDEFINED_MANAGER
from switchboard.runtime import Runtime
from tests.consultations.managers.factories import (
    NOON_ISH,
    TASHKENT,
    category,
    closing,
    key,
    local,
    manager,
    pick,
    picked_name,
    queued,
    skills,
    store,
)


async def test_only_live_consultants_with_a_limit_are_chosen(runtime: Runtime) -> None:
    await store(
        runtime,
        manager("deleted", deletion_mark=True),
        manager("invalid", invalid=True),
        manager("service", service_account=True),
        manager("disabled", consultation_enabled=False),
        manager("no limit", limit=None),
        manager("zero limit", limit=0),
        manager("placeholder", cl_ref_key=UNDEFINED_MANAGER),
    )
    assert await picked_name(runtime) is None

    await store(runtime, manager("active"))
    for seed in range(20):
        assert await picked_name(runtime, rng=random.Random(seed)) == "active"


async def test_working_hours_are_local_times_of_the_1c_base(runtime: Runtime) -> None:
    await store(runtime, manager("day", hours=(9, 18)))
    # 09:30 in Tashkent is 04:30 UTC: a UTC clock would say "not yet".
    assert await picked_name(runtime, now=local(9, 30)) == "day"
    # 18:30 in Tashkent is 13:30 UTC, inside 9–18 in UTC: the base's zone says "gone home".
    assert await picked_name(runtime, now=local(18, 30)) is None
    assert await picked_name(runtime, now=local(8, 59)) is None
    # The end is exclusive: at 18:00 sharp the day is over.
    assert await picked_name(runtime, now=local(18, 0)) is None
    assert await picked_name(runtime, now=local(9, 0)) == "day"


async def test_overnight_shifts_and_managers_without_hours(runtime: Runtime) -> None:
    await store(runtime, manager("night", hours=(20, 2)))
    assert await picked_name(runtime, now=local(21, 0)) == "night"
    assert await picked_name(runtime, now=local(1, 30)) == "night"
    assert await picked_name(runtime, now=local(3, 0)) is None
    assert await picked_name(runtime, now=local(12, 0)) is None

    await store(runtime, manager("always"))  # no hours in 1C: around the clock
    assert await picked_name(runtime, now=local(3, 0)) == "always"


async def test_skills_pick_the_category_and_managers_without_skills_are_universal(
    runtime: Runtime,
) -> None:
    taxes, payroll = key("taxes"), key("payroll")
    await store(
        runtime,
        manager("tax expert"),
        manager("payroll expert"),
        skills("tax expert", [taxes]),
        skills("payroll expert", [payroll]),
    )
    for seed in range(10):
        chosen = await picked_name(runtime, category_key=taxes, rng=random.Random(seed))
        assert chosen == "tax expert"
    assert await picked_name(runtime, category_key=key("unknown")) is None

    await store(runtime, manager("universal"))
    shared = {
        await picked_name(runtime, category_key=taxes, rng=random.Random(seed))
        for seed in range(30)
    }
    assert shared == {"tax expert", "universal"}
    # Without a category everyone qualifies.
    anyone = {await picked_name(runtime, rng=random.Random(seed)) for seed in range(40)}
    assert anyone == {"tax expert", "payroll expert", "universal"}


async def test_the_language_must_be_spoken(runtime: Runtime) -> None:
    await store(runtime, manager("russian", ru=True, uz=False))
    assert await picked_name(runtime, language="ru") == "russian"
    assert await picked_name(runtime, language="uz") is None

    await store(runtime, manager("bilingual", ru=True, uz=True))
    assert await picked_name(runtime, language="uz") == "bilingual"


async def test_without_a_language_the_categorys_language_counts(runtime: Runtime) -> None:
    uzbek = category("Buxgalteriya", "uz")
    await store(runtime, uzbek, manager("russian", ru=True, uz=False))
    assert await picked_name(runtime, category_key=uzbek.ref_key) is None
    await store(runtime, manager("uzbek", ru=False, uz=True))
    assert await picked_name(runtime, category_key=uzbek.ref_key) == "uzbek"


async def test_a_queue_closed_today_in_the_base_zone_excludes_the_manager(
    runtime: Runtime,
) -> None:
    # 20:30 UTC on 1 December is already 01:30 on 2 December in Tashkent.
    late = datetime(2026, 12, 1, 20, 30, tzinfo=UTC)
    await store(runtime, manager("closed"), closing("closed", date(2026, 12, 2)))
    assert await picked_name(runtime, now=late) is None
    # The day before (UTC's "today" at that moment) does not matter any more.
    assert await picked_name(runtime, now=datetime(2026, 12, 1, 18, 0, tzinfo=UTC)) == "closed"


async def test_the_limit_is_a_hard_cap_counting_every_queued_consultation(
    runtime: Runtime,
) -> None:
    await store(
        runtime,
        manager("busy", limit=3),
        queued("busy", 1),
        queued("busy", 1, status="pending", prefix="cl_"),  # from 1C, our client
        queued("busy", 1, prefix="cl_all_"),  # from 1C, another subscriber
        # Not in the queue: finished, cancelled, denied.
        queued("busy", 2, status="resolved"),
        queued("busy", 1, status="cancelled"),
        queued("busy", 1, denied=True),
    )
    assert await picked_name(runtime) is None

    await store(runtime, manager("roomy", limit=3), queued("roomy", 2))
    async with runtime.database.sessionmaker() as session:
        chosen = await pick(session)
    assert chosen is not None
    assert (chosen.name, chosen.queue_before, chosen.con_limit) == ("roomy", 2, 3)
    assert chosen.queue_position == 3


async def test_the_least_loaded_are_chosen_at_random_within_a_tenth(runtime: Runtime) -> None:
    await store(
        runtime,
        manager("idle", limit=10),  # load 0
        manager("light", limit=20),  # load 1/20: within 0.1 of the best
        queued("light", 1),
        manager("tenth", limit=10),  # load 1/10: not *within* 0.1
        queued("tenth", 1),
        manager("heavy", limit=10),  # load 5/10
        queued("heavy", 5),
    )
    rng = random.Random(42)
    counts = Counter([await picked_name(runtime, rng=rng) for _ in range(60)])
    assert set(counts) == {"idle", "light"}
    assert min(counts.values()) >= 15  # both get a fair share

    # The same seed gives the same sequence: the choice is reproducible in tests.
    first = [await picked_name(runtime, rng=random.Random(7)) for _ in range(5)]
    again = [await picked_name(runtime, rng=random.Random(7)) for _ in range(5)]
    assert first == again


async def test_technical_support_gets_no_personal_manager(runtime: Runtime) -> None:
    await store(runtime, manager("anyone"))
    assert await picked_name(runtime, consultation_type=TECH_SUPPORT) is None
    assert await picked_name(runtime, consultation_type=None) == "anyone"


async def test_departments_restrict_the_choice_when_configured(runtime: Runtime) -> None:
    await store(
        runtime,
        manager("accountant", department="ИТС консультанты"),
        manager("support", department="Техническая поддержка"),
    )
    rules = SelectionRules(zone=TASHKENT, departments=("ИТС консультанты",))
    for seed in range(10):
        assert await picked_name(runtime, rules=rules, rng=random.Random(seed)) == "accountant"


async def test_the_chatwoot_agent_comes_from_the_mapping_first(runtime: Runtime) -> None:
    from switchboard.consultations.models import ManagerMapping

    await store(
        runtime,
        manager("mapped", chatwoot_user_id=11),
        ManagerMapping(chatwoot_user_id=22, cl_manager_key=key("mapped")),
    )
    async with runtime.database.sessionmaker() as session:
        chosen = await pick(session)
    assert chosen is not None
    assert chosen.chatwoot_user_id == 22


async def test_settings_give_the_zone_and_departments(settings_factory: Any) -> None:
    settings = settings_factory(
        ODATA_TIMEZONE="Asia/Tashkent", MANAGER_DEPARTMENTS="ИТС консультанты, 1С:УК 3.0"
    )
    rules = SelectionRules.from_settings(settings)
    assert rules.zone == TASHKENT
    assert rules.departments == ("ИТС консультанты", "1С:УК 3.0")
    assert rules.local(NOON_ISH).hour == 10
