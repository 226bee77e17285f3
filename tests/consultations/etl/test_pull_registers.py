"""`pull_cons_redate_cl`, `pull_cons_rates_cl` and `pull_calls_cl` against the 1C emulator and
PostgreSQL: what is stored, what the consultation becomes, and that each client message is
queued once — across reruns, concurrent runs, and the API having seen the same event first."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from switchboard.consultations.booking.service import redate_unique
from switchboard.consultations.etl import service
from switchboard.consultations.etl.tasks import PULL_CALLS, PULL_CONS, PULL_RATES, PULL_REDATES
from switchboard.consultations.models import Call, RatingAnswer, Redate
from switchboard.consultations.notifications.service import notify
from switchboard.integrations.ports import RedateRecord
from switchboard.runtime import Runtime
from switchboard.sandbox.pytest_plugin import RunningOneC
from tests.consultations.etl.support import (
    CALLS,
    CONTRACTORS,
    RATINGS,
    REDATES,
    TASHKENT,
    add_booked,
    add_manager,
    call,
    consultations,
    cursor,
    document,
    filters,
    local,
    messages,
    notification_count,
    now,
    outbox,
    put_documents,
    rating,
    redate,
    row_versions,
    subscriber,
    ukey,
)


async def _runtime(runtime_factory: Any, onec: RunningOneC, **settings: Any) -> Runtime:
    onec.emulator.store.load({CONTRACTORS: [subscriber("romashka")]})
    runtime: Runtime = await runtime_factory(**onec.settings(), **settings)
    await add_manager(runtime, "manager-a", "Алишер Каримов")
    return runtime


def _shown(moment: datetime) -> str:
    return moment.astimezone(TASHKENT).strftime("%d.%m.%Y %H:%M")


def _filter_moment(literal_filter: str) -> datetime:
    found = re.search(r"datetime'([^']+)'", literal_filter)
    assert found is not None, literal_filter
    return datetime.fromisoformat(found.group(1)).replace(tzinfo=TASHKENT)


# --- redates -------------------------------------------------------------------------------


async def test_a_new_redate_moves_the_consultation_and_tells_the_client_once(
    onec: RunningOneC, runtime_factory: Any
) -> None:
    runtime = await _runtime(runtime_factory, onec)
    moment = now()
    old, new = moment + timedelta(hours=3), moment + timedelta(days=1, hours=2)
    booked = await add_booked(runtime, "booked", start_date=old)
    onec.emulator.store.load(
        {
            REDATES: [
                redate(
                    "booked",
                    "romashka",
                    period=moment - timedelta(hours=1),
                    old=old,
                    new=new,
                    manager="manager-a",
                )
            ]
        }
    )

    report = await PULL_REDATES.run(runtime)

    assert (report["inserted"], report["notified"]) == (1, 1)
    row = (await consultations(runtime))[ukey("booked")]
    local_new = new.astimezone(TASHKENT)
    assert row.start_date == new
    assert (row.redate, row.redate_time) == (local_new.date(), local_new.time())
    assert await messages(runtime) == [
        (
            booked,
            f"Консультация перенесена. Старая дата: {_shown(old)}. Новая дата: {_shown(new)}.",
        )
    ]
    assert ("chatwoot.set_attributes", {"cons_id": booked}) in await outbox(runtime)
    # 1C made the redate: nothing is written back to it (the original's echo loop).
    assert [e for e in onec.emulator.journal.entries() if e.method != "GET"] == []
    assert await cursor(runtime, "cons_redate") == moment - timedelta(hours=1)

    before = await row_versions(runtime)
    onec.emulator.journal.clear()
    again = await PULL_REDATES.run(runtime)

    assert (again["inserted"], again["updated"], again["notified"]) == (0, 0, 0)
    assert await row_versions(runtime) == before
    saved = await cursor(runtime, "cons_redate")
    assert saved is not None
    assert f"Period ge datetime'{local(saved - timedelta(hours=6))}'" in filters(onec, REDATES)


async def test_a_redate_made_through_the_api_and_read_back_from_1c_is_announced_once(
    onec: RunningOneC, runtime_factory: Any
) -> None:
    runtime = await _runtime(runtime_factory, onec)
    moment = now()
    old, new = moment + timedelta(hours=3), moment + timedelta(days=2)
    period = moment - timedelta(minutes=30)
    booked = await add_booked(runtime, "booked", start_date=old)
    # The API told the client when it made the redate (the booking part's own words) …
    async with runtime.database.transaction() as session:
        await notify(
            session,
            cons_id=booked,
            kind="redate",
            text="📅 The consultation is moved",
            unique=redate_unique(ukey("booked"), period, new),
        )
    # … and 1C holds the record the outbox wrote, which the ETL now reads back.
    onec.emulator.store.load(
        {
            REDATES: [
                redate("booked", "romashka", period=period, old=old, new=new, manager="manager-a")
            ]
        }
    )

    report = await PULL_REDATES.run(runtime)

    assert (report["inserted"], report["notified"]) == (1, 0)
    assert await notification_count(runtime) == 1
    assert len(await messages(runtime)) == 1


async def test_concurrent_runs_of_the_redate_service_queue_one_message(
    onec: RunningOneC, runtime_factory: Any
) -> None:
    runtime = await _runtime(runtime_factory, onec)
    moment = now()
    booked = await add_booked(runtime, "booked", start_date=moment + timedelta(hours=5))
    record = RedateRecord(
        period=moment - timedelta(minutes=5),
        document_key=ukey("booked"),
        subscriber_key=ukey("romashka"),
        manager_key=ukey("manager-a"),
        old_date=moment + timedelta(hours=5),
        new_date=moment + timedelta(days=3),
    )

    async def store() -> int:
        async with runtime.database.transaction() as session:
            report = await service.store_redates(session, [record], zone=TASHKENT)
            # Hold the transaction a moment so the two overlap.
            await asyncio.sleep(0.2)
            return report.notified

    notified = await asyncio.gather(store(), store(), store())

    assert sorted(notified) == [0, 0, 1]
    assert [cons_id for cons_id, _ in await messages(runtime)] == [booked]
    async with runtime.database.transaction() as session:
        assert len((await session.scalars(select(Redate))).all()) == 1


async def test_two_workers_running_the_redate_job_at_once_tell_the_client_once(
    onec: RunningOneC, runtime_factory: Any
) -> None:
    first = await _runtime(runtime_factory, onec)
    second: Runtime = await runtime_factory(**onec.settings())
    moment = now()
    await add_booked(first, "booked", start_date=moment + timedelta(hours=5))
    onec.emulator.store.load(
        {
            REDATES: [
                redate(
                    "booked",
                    "romashka",
                    period=moment - timedelta(minutes=5 * n),
                    old=moment + timedelta(hours=n),
                    new=moment + timedelta(hours=n + 1),
                    manager="manager-a",
                )
                for n in range(1, 4)
            ]
        }
    )

    reports = await asyncio.gather(PULL_REDATES.run(first), PULL_REDATES.run(second))

    assert sorted(report["notified"] for report in reports) == [0, 3]
    assert await notification_count(first) == 3
    # The latest redate (the one made last) decides the date.
    row = (await consultations(first))[ukey("booked")]
    assert row.start_date == moment + timedelta(hours=2)


# --- ratings -------------------------------------------------------------------------------


async def test_ratings_are_stored_summed_up_and_announced_once_each(
    onec: RunningOneC, runtime_factory: Any
) -> None:
    runtime = await _runtime(runtime_factory, onec)
    moment = now()
    booked = await add_booked(runtime, "booked", status="closed")
    period = moment - timedelta(hours=2)
    onec.emulator.store.load(
        {
            RATINGS: [
                rating(
                    "booked",
                    "romashka",
                    period=period,
                    number=1,
                    score=5,
                    manager="manager-a",
                    rated=period,
                ),
                # An old record: 1C's empty ДатаОценки.
                rating(
                    "booked",
                    "romashka",
                    period=period,
                    number=2,
                    score=4,
                    manager="manager-a",
                    rated=None,
                ),
                # Not a rating 1..5: left out rather than failing the page.
                rating(
                    "booked",
                    "romashka",
                    period=period,
                    number=3,
                    score=0,
                    manager="manager-a",
                    rated=period,
                ),
            ]
        }
    )

    report = await PULL_RATES.run(runtime)

    assert (report["received"], report["inserted"], report["skipped"]) == (3, 2, 1)
    async with runtime.database.transaction() as session:
        answers = (
            await session.scalars(select(RatingAnswer).order_by(RatingAnswer.question_number))
        ).all()
    assert [(a.question_number, a.rating, a.rating_date) for a in answers] == [
        (1, 5, period),
        (2, 4, None),
    ]
    row = (await consultations(runtime))[ukey("booked")]
    assert row.con_rates == {"average": 4.5, "count": 2}
    assert await messages(runtime) == [
        (
            booked,
            "Оценка консультации получена: 5/5. Вопрос: Вопрос 1. Менеджер: Алишер Каримов.",
        ),
        (
            booked,
            "Оценка консультации получена: 4/5. Вопрос: Вопрос 2. Менеджер: Алишер Каримов.",
        ),
    ]
    assert "Period ge datetime'" in filters(onec, RATINGS)[0]

    before = await row_versions(runtime)
    again = await PULL_RATES.run(runtime)
    assert (again["inserted"], again["updated"], again["notified"]) == (0, 0, 0)
    assert await row_versions(runtime) == before


# --- call attempts -------------------------------------------------------------------------


async def test_call_attempts_are_stored_listed_on_the_consultation_and_announced_once(
    onec: RunningOneC, runtime_factory: Any
) -> None:
    runtime = await _runtime(runtime_factory, onec)
    moment = now()
    booked = await add_booked(runtime, "booked")
    first, second = moment - timedelta(hours=3), moment - timedelta(hours=1)
    onec.emulator.store.load(
        {
            CALLS: [
                call("booked", "romashka", period=first, manager="manager-a"),
                call("booked", "romashka", period=second, manager="manager-a"),
            ]
        }
    )

    report = await PULL_CALLS.run(runtime)

    assert (report["inserted"], report["notified"]) == (2, 2)
    row = (await consultations(runtime))[ukey("booked")]
    assert row.con_calls == [
        {"period": f"{first:%Y-%m-%dT%H:%M:%SZ}", "manager": str(ukey("manager-a"))},
        {"period": f"{second:%Y-%m-%dT%H:%M:%SZ}", "manager": str(ukey("manager-a"))},
    ]
    assert await messages(runtime) == [
        (booked, f"Попытка дозвона: {_shown(first)}, менеджер Алишер Каримов."),
        (booked, f"Попытка дозвона: {_shown(second)}, менеджер Алишер Каримов."),
    ]
    assert await cursor(runtime, "calls") == second

    before = await row_versions(runtime)
    onec.emulator.journal.clear()
    again = await PULL_CALLS.run(runtime)

    assert (again["inserted"], again["updated"], again["notified"]) == (0, 0, 0)
    assert await row_versions(runtime) == before
    # The cursor is 1 hour old, yet the read goes 7 days back (calls about future
    # consultations keep coming in for them).
    since = _filter_moment(filters(onec, CALLS)[0])
    assert abs(since - (now() - timedelta(days=7))) < timedelta(minutes=1)


async def test_calls_read_before_their_consultation_are_listed_on_it_when_it_arrives(
    onec: RunningOneC, runtime_factory: Any
) -> None:
    runtime = await _runtime(runtime_factory, onec)
    moment = now()
    attempt = moment - timedelta(hours=2)
    onec.emulator.store.load(
        {CALLS: [call("phoned", "romashka", period=attempt, manager="manager-a")]}
    )
    await PULL_CALLS.run(runtime)
    async with runtime.database.transaction() as session:
        assert len((await session.scalars(select(Call))).all()) == 1

    put_documents(onec, document("phoned", "romashka", changed=moment - timedelta(hours=1)))
    await PULL_CONS.run(runtime)

    row = (await consultations(runtime))[ukey("phoned")]
    assert row.con_calls == [
        {"period": f"{attempt:%Y-%m-%dT%H:%M:%SZ}", "manager": str(ukey("manager-a"))}
    ]
    # A consultation made in 1C has no chat: nobody to tell.
    assert await messages(runtime) == []
