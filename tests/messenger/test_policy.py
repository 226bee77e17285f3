"""Routing's pure decisions: working hours, the branch, the operator."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from switchboard.messenger.routing import policy
from switchboard.messenger.routing.policy import Candidate, Rule
from switchboard.messenger.schemas import InboxSettings, Schedule

MONDAY_10_UTC = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)


def test_hours_in_the_inbox_time_zone_with_holidays() -> None:
    # 10:00 UTC is 15:00 in Yekaterinburg (UTC+5).
    week = {"mon": [("09:00", "13:00"), ("14:00", "24:00")]}
    schedule = Schedule(time_zone="Asia/Yekaterinburg", weekly=week)
    assert policy.is_open(schedule, MONDAY_10_UTC)
    assert not policy.is_open(schedule, datetime(2026, 11, 30, 8, 30, tzinfo=UTC))  # 13:30
    assert not policy.is_open(schedule, datetime(2026, 12, 1, 10, 0, tzinfo=UTC))  # Tuesday
    holiday = schedule.model_copy(update={"holidays": [MONDAY_10_UTC.date()]})
    assert not policy.is_open(holiday, MONDAY_10_UTC)
    assert policy.is_open(Schedule(), MONDAY_10_UTC)  # no weekly hours: always


@pytest.mark.parametrize(
    "bad",
    [
        {"time_zone": "Mars/Olympus"},
        {"weekly": {"monday": [["09:00", "18:00"]]}},
        {"weekly": {"mon": [["18:00", "09:00"]]}},
        {"weekly": {"mon": [["9", "18:00"]]}},
        {"weekly": {"mon": [["09:00", "24:01"]]}},
    ],
)
def test_a_bad_schedule_is_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        Schedule.model_validate(bad)
    # Stored anyway, it is reported and ignored for an inbox (chats are not lost).
    opened, problem = policy.schedule_state(bad, MONDAY_10_UTC)
    assert opened
    assert problem


def test_inbox_settings_have_defaults_for_everything() -> None:
    settings = InboxSettings.model_validate({"allowed_domains": ["example.com"]})
    assert settings.offline.enabled
    assert settings.rating.scale == 5
    assert settings.schedule.weekly == {}


def test_branch_by_most_specific_region_then_priority_then_the_inbox_own_rule() -> None:
    rules = [
        Rule(1, region_id=10, region_code="RU-SVE", branch_id=100, priority=100, inbox_id=None),
        Rule(2, region_id=10, region_code="RU-SVE", branch_id=200, priority=50, inbox_id=None),
        Rule(3, region_id=10, region_code="RU-SVE", branch_id=300, priority=50, inbox_id=7),
        Rule(4, region_id=11, region_code="RU", branch_id=400, priority=1, inbox_id=None),
    ]
    known = {"RU-SVE": 10, "RU": 11}
    choice = policy.choose_branch(
        inbox_branch_id=None,
        region_codes=["RU-SVE", "RU"],
        known_regions=known,
        rules=rules,
        default_branch_id=999,
    )
    assert (choice.branch_id, choice.source, choice.region_id) == (300, "region_rule", 10)
    country_only = policy.choose_branch(
        inbox_branch_id=None,
        region_codes=["RU-MOW", "RU"],
        known_regions=known,
        rules=rules,
        default_branch_id=999,
    )
    assert (country_only.branch_id, country_only.region_id) == (400, 11)
    nothing = policy.choose_branch(
        inbox_branch_id=None,
        region_codes=[],
        known_regions={},
        rules=[],
        default_branch_id=999,
    )
    assert (nothing.branch_id, nothing.source) == (999, "default")
    bound = policy.choose_branch(
        inbox_branch_id=5,
        region_codes=["RU-SVE"],
        known_regions=known,
        rules=rules,
        default_branch_id=999,
    )
    assert (bound.branch_id, bound.source) == (5, "inbox")


def _candidate(staff_id: int, **changes: object) -> Candidate:
    values: dict[str, object] = {
        "staff_id": staff_id,
        "name": f"op{staff_id}",
        "status": "online",
        "capacity": 5,
        "load": 0,
        "last_assignment": None,
        "in_schedule": True,
    }
    values.update(changes)
    return Candidate(**values)  # type: ignore[arg-type]


def test_fewest_active_first_then_the_longest_since_an_assignment() -> None:
    candidates = [
        _candidate(1, load=1, last_assignment=5),
        _candidate(2, load=0, last_assignment=9),
        _candidate(3, load=0, last_assignment=4),
        _candidate(4, status="away"),
    ]
    choice = policy.choose_operator(candidates)
    assert choice.staff_id == 3
    assert "tied" in choice.explanation
    reasons = {record["staff_id"]: record["why_not"] for record in choice.considered}
    assert reasons == {1: None, 2: None, 3: None, 4: "status away"}
    assert policy.choose_operator(candidates, excluded={3}).staff_id == 2
    assert policy.choose_operator([]).staff_id is None
