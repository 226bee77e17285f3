"""The date rules of a booking: local time of the 1C base, working hours, the limits."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from switchboard.consultations.booking.service import (
    BookingRules,
    day_bounds,
    into_working_hours,
    schedule,
    software_label,
)
from switchboard.core.errors import BadRequest
from tests.conftest import make_settings

TASHKENT = ZoneInfo("Asia/Tashkent")
#: 10:00 in Tashkent.
NOW = datetime(2026, 12, 2, 5, 0, tzinfo=UTC)
RULES = BookingRules.from_settings(make_settings(MAX_FUTURE_CONSULTATION_DAYS="5"))


def tashkent(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=TASHKENT)


def test_a_date_without_a_zone_is_local_time_of_the_base() -> None:
    naive = tashkent(3, 11, 30).replace(tzinfo=None)

    assert schedule(naive, now=NOW, rules=RULES) == tashkent(3, 11, 30)


def test_no_date_means_now_and_a_little_clock_skew_is_forgiven() -> None:
    assert schedule(None, now=NOW, rules=RULES) == NOW
    assert schedule(tashkent(2, 9, 57), now=NOW, rules=RULES) == NOW


def test_the_past_and_too_far_ahead_are_refused_with_their_reason() -> None:
    with pytest.raises(BadRequest) as past:
        schedule(tashkent(2, 9, 50), now=NOW, rules=RULES)
    with pytest.raises(BadRequest) as far:
        schedule(tashkent(8, 10), now=NOW, rules=RULES)

    assert past.value.code == "date_in_past"
    assert far.value.code == "date_too_far"
    assert far.value.params == {"days": 5}


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (tashkent(2, 12), tashkent(2, 12)),  # inside: kept
        (tashkent(2, 7), tashkent(2, 9)),  # before opening: today's start
        (tashkent(2, 19), tashkent(3, 9)),  # after closing: tomorrow's start
        (tashkent(2, 18), tashkent(3, 9)),  # the end itself is closed
    ],
)
def test_outside_the_working_hours_moves_to_the_next_start(
    moment: datetime, expected: datetime
) -> None:
    assert into_working_hours(moment, (time(9), time(18)), TASHKENT) == expected


def test_overnight_hours_and_no_hours() -> None:
    night = (time(22), time(6))

    assert into_working_hours(tashkent(2, 23), night, TASHKENT) == tashkent(2, 23)
    assert into_working_hours(tashkent(2, 3), night, TASHKENT) == tashkent(2, 3)
    assert into_working_hours(tashkent(2, 12), night, TASHKENT) == tashkent(2, 22)
    assert into_working_hours(tashkent(2, 12), (None, None), TASHKENT) == tashkent(2, 12)


def test_a_day_is_a_day_of_the_base_not_of_utc() -> None:
    # 02:00 in Tashkent is still the previous day in UTC.
    start, end = day_bounds(tashkent(3, 2), TASHKENT)

    assert start == tashkent(3, 0)
    assert end == tashkent(4, 0)


def test_software_labels_follow_the_kind_of_software() -> None:
    assert software_label("1С:Бухгалтерия 3.0") == "бух"
    assert software_label("1С:Розница 3.0") == "рт"
    assert software_label("1С:Управление компанией 3.0") == "ук"
    assert software_label("1С:УК 3.0") == "ук"
    assert software_label("1С:Зарплата и управление персоналом") is None
    assert software_label(None) is None
