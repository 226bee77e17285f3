"""Queue position and expected wait (seed 001): the 30-day average and the 15-minute range rule."""

from __future__ import annotations

from datetime import timedelta

import pytest

from switchboard.consultations.managers import service
from switchboard.consultations.managers.service import estimate_wait, wait_text
from switchboard.consultations.models import Consultation
from switchboard.core.db.base import utcnow
from switchboard.runtime import Runtime
from tests.consultations.managers.factories import RULES, key, manager, queued, store


def test_a_short_average_gives_a_range_up_to_fifteen_minutes_each() -> None:
    # Seed 001's example: four ahead, five minutes on average → «от 20 до 60 минут».
    wait = estimate_wait(queue_position=5, average_minutes=5)
    assert wait.ahead == 4
    assert (wait.estimated_wait_minutes_min, wait.estimated_wait_minutes_max) == (20, 60)
    assert wait.show_range is True
    assert wait.estimated_wait_minutes == 60
    assert wait.estimated_wait_hours == 1
    assert wait_text(wait, "ru") == "от 20 до 60 минут"
    assert wait_text(wait, "uz") == "20 daqiqadan 60 daqiqagacha"


def test_an_average_of_fifteen_or_more_gives_one_value() -> None:
    wait = estimate_wait(queue_position=4, average_minutes=25)
    assert (wait.estimated_wait_minutes_min, wait.estimated_wait_minutes_max) == (75, 75)
    assert wait.show_range is False
    assert wait.estimated_wait_minutes == 75
    assert wait.estimated_wait_hours == 1
    assert wait_text(wait, "ru") == "75 минут"
    assert estimate_wait(2, 15).show_range is False


@pytest.mark.parametrize("average", [None, 0, -3])
def test_without_statistics_fifteen_minutes_are_assumed(average: int | None) -> None:
    wait = estimate_wait(queue_position=3, average_minutes=average)
    assert wait.average_minutes == 15
    assert wait.estimated_wait_minutes == 30
    assert wait.show_range is False


def test_first_in_the_queue_waits_for_nobody() -> None:
    wait = estimate_wait(queue_position=1, average_minutes=5)
    assert wait.ahead == 0
    assert wait.estimated_wait_minutes == 0
    assert wait.estimated_wait_hours == 0
    assert wait.show_range is False


@pytest.mark.parametrize(
    ("position", "average", "hours"), [(2, 20, 1), (2, 89, 1), (2, 90, 2), (3, 45, 2), (7, 15, 2)]
)
def test_hours_round_half_up_and_are_never_zero_for_a_wait(
    position: int, average: int, hours: int
) -> None:
    assert estimate_wait(position, average).estimated_wait_hours == hours


@pytest.mark.parametrize(
    ("position", "average", "text"),
    [(2, 21, "21 минута"), (2, 22, "22 минуты"), (2, 25, "25 минут"), (2, 111, "111 минут")],
)
def test_russian_minutes_agree_with_the_number(position: int, average: int, text: str) -> None:
    assert wait_text(estimate_wait(position, average), "ru") == text


def _finished(name: str, minutes: int, *, days_ago: float = 1, **fields: object) -> Consultation:
    end = utcnow() - timedelta(days=days_ago)
    row = queued(name, 1, status="closed")[0]
    row.start_date = end - timedelta(minutes=minutes)
    row.end_date = end
    for field, value in fields.items():
        setattr(row, field, value)
    return row


async def test_the_average_covers_finished_consultations_of_the_last_thirty_days(
    runtime: Runtime,
) -> None:
    await store(
        runtime,
        manager("fast", limit=10),
        _finished("fast", 4),
        _finished("fast", 6, status="resolved"),
        _finished("fast", 500, denied=True),  # denied: not counted
        _finished("fast", 500, days_ago=31),  # too old
        _finished("slow", 40),  # another manager
        queued("fast", 4),
    )
    async with runtime.database.sessionmaker() as session:
        averages = await service.average_minutes(session, [key("fast"), key("slow")], utcnow())
        wait = await service.wait_time(session, manager_key=key("fast"), now=utcnow(), rules=RULES)
        unknown = await service.wait_time(
            session, manager_key=key("nobody"), now=utcnow(), rules=RULES
        )
    assert averages == {key("fast"): 5, key("slow"): 40}
    # A booking now would be fifth: four ahead, five minutes each, at most fifteen each.
    assert wait is not None
    assert (wait.queue_position, wait.estimated_wait_minutes_min) == (5, 20)
    assert (wait.estimated_wait_minutes_max, wait.show_range) == (60, True)
    assert unknown is None


async def test_the_position_of_a_consultation_counts_those_created_before_it(
    runtime: Runtime,
) -> None:
    rows = queued("anna", 4)
    rows[1].cons_id = "cl_" + rows[1].cons_id  # a 1C row counts like ours
    rows[2].status = "pending"
    await store(runtime, manager("anna"), rows, queued("boris", 3))
    async with runtime.database.sessionmaker() as session:
        positions = [await service.queue_position(session, row.cons_id) for row in rows]
        info = await service.queue_info(session, rows[2].cons_id, utcnow())
        missing = await service.queue_info(session, "no-such-consultation", utcnow())
    assert positions == [1, 2, 3, 4]
    assert info is not None
    assert info.wait is not None
    assert info.queue_position == 3
    assert info.consultation.queue_length == 4
    assert info.wait.ahead == 2
    assert (info.wait.estimated_wait_minutes, info.wait.show_range) == (30, False)
    assert missing is None


async def test_a_consultation_out_of_the_queue_has_no_position(runtime: Runtime) -> None:
    done = queued("anna", 1, status="resolved")[0]
    unassigned = queued("anna", 1)[0]
    unassigned.manager = None
    await store(runtime, manager("anna"), done, unassigned, queued("anna", 2))
    async with runtime.database.sessionmaker() as session:
        finished = await service.queue_info(session, done.cons_id, utcnow())
        nobody = await service.queue_info(session, unassigned.cons_id, utcnow())
    assert finished is not None
    assert nobody is not None
    assert (finished.queue_position, finished.wait) == (None, None)
    assert finished.consultation.queue_length == 2
    assert (nobody.queue_position, nobody.consultation.manager) == (None, None)
