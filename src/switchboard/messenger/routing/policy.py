"""Routing decisions and their explanations: pure functions, no I/O.

* **Branch**: a branch-bound inbox's branch; else the first rule of the visitor's most specific
  known region (`RU-SVE` before `RU`), lowest priority first, an inbox's own rule before the
  rules of every inbox; else the default branch.
* **Operator**: among the branch's operators who are online, inside their personal hours and
  below their capacity, the fewest active conversations first; ties go to the one whose latest
  assignment is the oldest (never assigned: first), then the lowest id. The latest assignment is
  the id of the operator's newest audit row, kept in the database: the rotation survives
  restarts and is shared by every process.
* **Hours**: out of the inbox's working hours nobody is assigned; the conversation waits.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from switchboard.messenger.schemas import WEEKDAYS, Schedule, minutes_of

#: The name recorded in the audit for automatic choices.
LEAST_LOADED_ROUND_ROBIN = "least_loaded_round_robin"
MANUAL = "manual"


# --- working hours -------------------------------------------------------------------------------


def is_open(schedule: Schedule, now: datetime) -> bool:
    """Whether `now` (aware) falls within the working hours."""
    local = now.astimezone(ZoneInfo(schedule.time_zone))
    if local.date() in schedule.holidays:
        return False
    if not schedule.weekly:
        return True
    minute = local.hour * 60 + local.minute
    intervals = schedule.weekly.get(WEEKDAYS[local.weekday()], [])
    return any(minutes_of(start) <= minute < minutes_of(end) for start, end in intervals)


def schedule_state(raw: dict[str, Any] | None, now: datetime) -> tuple[bool, str | None]:
    """(open, problem) for a stored schedule; a schedule that does not validate counts as
    always open for an inbox (chats are answered rather than lost) and is reported."""
    if not raw:
        return True, None
    try:
        return is_open(Schedule.model_validate(raw), now), None
    except ValidationError as invalid:
        return True, f"invalid schedule ignored: {invalid.errors()[0]['msg']}"


# --- the branch ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    id: int
    region_id: int
    region_code: str
    branch_id: int
    priority: int
    inbox_id: int | None


@dataclass(frozen=True)
class BranchChoice:
    branch_id: int | None
    #: `inbox`, `region_rule`, `default` or `none`.
    source: str
    region_id: int | None
    explanation: str


def choose_branch(
    *,
    inbox_branch_id: int | None,
    region_codes: Sequence[str],
    known_regions: dict[str, int],
    rules: Sequence[Rule],
    default_branch_id: int | None,
) -> BranchChoice:
    """Where a new conversation goes. `region_codes` most specific first; `known_regions` the
    codes our region table has; `rules` the active rules of those regions (this inbox's and
    every inbox's)."""
    region_code = next((code for code in region_codes if code in known_regions), None)
    region_id = known_regions.get(region_code) if region_code else None
    if inbox_branch_id is not None:
        return BranchChoice(inbox_branch_id, "inbox", region_id, "the inbox belongs to a branch")
    for code in region_codes:
        matching = sorted(
            (rule for rule in rules if rule.region_code == code),
            key=lambda rule: (rule.priority, rule.inbox_id is None, rule.id),
        )
        if matching:
            rule = matching[0]
            return BranchChoice(
                rule.branch_id,
                "region_rule",
                rule.region_id,
                f"region {code}: rule {rule.id} (priority {rule.priority})",
            )
    seen = ", ".join(region_codes) if region_codes else "no region detected"
    if default_branch_id is None:
        return BranchChoice(None, "none", region_id, f"{seen}: no rule and no default branch")
    return BranchChoice(default_branch_id, "default", region_id, f"{seen}: the default branch")


# --- the operator --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    staff_id: int
    name: str
    status: str
    capacity: int
    #: Active (open or pending) conversations assigned now.
    load: int
    #: The id of the operator's newest assignment (the round robin's order); None: never.
    last_assignment: int | None
    in_schedule: bool

    def refusal(self, excluded: Collection[int]) -> str | None:
        """Why this operator cannot take a conversation now; None: they can."""
        if self.staff_id in excluded:
            return "excluded (the current assignee)"
        if self.status != "online":
            return f"status {self.status}"
        if not self.in_schedule:
            return "outside personal hours"
        if self.load >= self.capacity:
            return f"at capacity ({self.load}/{self.capacity})"
        return None

    def as_record(self, refusal: str | None) -> dict[str, Any]:
        return {
            "staff_id": self.staff_id,
            "name": self.name,
            "status": self.status,
            "load": self.load,
            "capacity": self.capacity,
            "last_assignment": self.last_assignment,
            "eligible": refusal is None,
            "why_not": refusal,
        }


@dataclass(frozen=True)
class OperatorChoice:
    staff_id: int | None
    policy: str
    #: Every candidate with load, capacity, and why passed over (the audit's `candidates`).
    considered: list[dict[str, Any]] = field(default_factory=list)
    explanation: str = ""


def _order(candidate: Candidate) -> tuple[int, int, int]:
    # Fewest active first; then the longest since their latest assignment (never: first).
    latest = -1 if candidate.last_assignment is None else candidate.last_assignment
    return (candidate.load, latest, candidate.staff_id)


def choose_operator(
    candidates: Sequence[Candidate], *, excluded: Collection[int] = ()
) -> OperatorChoice:
    refusals = {c.staff_id: c.refusal(excluded) for c in candidates}
    eligible = sorted((c for c in candidates if refusals[c.staff_id] is None), key=_order)
    considered = [c.as_record(refusals[c.staff_id]) for c in sorted(candidates, key=_order)]
    if not eligible:
        why = "no operators in the branch" if not candidates else "nobody available"
        return OperatorChoice(None, LEAST_LOADED_ROUND_ROBIN, considered, why)
    chosen = eligible[0]
    ties = [c for c in eligible if c.load == chosen.load]
    explanation = f"fewest active conversations ({chosen.load}) among {len(eligible)} available"
    if len(ties) > 1:
        explanation += f"; of {len(ties)} tied, the longest since an assignment"
    return OperatorChoice(chosen.staff_id, LEAST_LOADED_ROUND_ROBIN, considered, explanation)
