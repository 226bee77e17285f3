"""Managers: who takes a consultation (seed 001 «Автоматический выбор менеджера»), their queues
and the expected wait, and keeping `cons.users` in step with 1C and Chatwoot.

Functions take the caller's `AsyncSession` and never commit. Working hours, «today» and queue
closings are in the accounting system's zone (`ODATA_TIMEZONE`): 1C keeps a manager's hours as
local wall-clock times, so they are compared with the local time of day, never with UTC.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.consultations.managers import repository
from switchboard.consultations.managers.repository import (
    Candidate,
    CandidateFilter,
    ManagerLoad,
    QueuedConsultation,
    QueuedForReassignment,
)
from switchboard.consultations.models import ACCOUNTING, TECH_SUPPORT
from switchboard.consultations.notifications.service import notify
from switchboard.consultations.settings import ConsultationSettings
from switchboard.consultations.sync.service import enqueue
from switchboard.core.i18n import translate
from switchboard.core.jobs import Tally
from switchboard.integrations.onec.settings import OneCSettings
from switchboard.integrations.ports import ConsultantProfile, StaffMember

log = structlog.get_logger(__name__)

#: Managers whose load (queue / limit) is within this of the least loaded one are equally good;
#: one of them is chosen at random, so that equal managers share the work (seed 001: < 0.1).
LOAD_BAND = Fraction(1, 10)
#: The wait per consultation when a manager has no statistics, and the upper end of the range
#: shown when their average is shorter (seed 001).
DEFAULT_MINUTES = 15
STATISTICS_DAYS = 30

ASSIGN_IN_CHAT = "chatwoot.assign"
UPDATE_IN_ONEC = "onec.update_consultation"


# --- selection -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SelectionRules:
    """What the selection needs from the settings: the 1C base's zone (working hours and
    «today» are local there) and, optionally, the departments whose staff consult on
    accounting (empty: any department)."""

    zone: ZoneInfo
    departments: tuple[str, ...] = ()

    @classmethod
    def from_settings(cls, settings: object) -> SelectionRules:
        return cls(
            zone=ZoneInfo(OneCSettings.of(settings).onec_timezone),
            departments=tuple(ConsultationSettings.of(settings).manager_departments),
        )

    def local(self, moment: datetime) -> datetime:
        if moment.tzinfo is None:
            raise ValueError("an aware datetime is required")
        return moment.astimezone(self.zone)


@dataclass(frozen=True, slots=True)
class ManagerPick:
    """The manager chosen for a new consultation, locked until the caller's transaction ends."""

    manager_key: uuid.UUID
    name: str | None
    #: Consultations in the manager's queue before this one (the new one is number this + 1).
    queue_before: int
    con_limit: int
    chatwoot_user_id: int | None

    @property
    def queue_position(self) -> int:
        return self.queue_before + 1


async def pick_manager(
    session: AsyncSession,
    *,
    category_key: uuid.UUID | None,
    language: str | None,
    po_section_key: uuid.UUID | None,
    po_type_key: uuid.UUID | None,
    consultation_type: str | None,
    now: datetime,
    rng: random.Random,
    rules: SelectionRules,
) -> ManagerPick | None:
    """The manager for a new consultation, or None when nobody can take it now.

    Candidates come from one query (see `repository.candidates`); the least loaded are taken,
    one at random among those within LOAD_BAND of the best. The chosen manager's row is then
    locked (`SELECT … FOR UPDATE`) and their queue counted again: a concurrent pick of the same
    manager takes turns with ours, and counts the consultation we insert once we commit.

    A manager whose row another booking holds right now is passed over at first (`SKIP
    LOCKED`: their load is about to grow) and the next least loaded is tried; only when every
    remaining candidate is being assigned does the pick wait for them, least loaded first. A
    manager found full once locked is let go at once (`cons.claim_manager` locks inside a
    subtransaction it rolls back), so a pick never waits while holding another manager's lock:
    no deadlocks.

    The caller inserts the consultation in the same transaction, which must be READ COMMITTED
    (PostgreSQL's default). Technical support has no personal manager: None. Software type and
    section do not narrow the choice — 1C keeps skills per question category only.
    """
    if consultation_type == TECH_SUPPORT:
        return None
    local = rules.local(now)
    remaining = await repository.candidates(
        session,
        CandidateFilter(
            local_time=local.time(),
            local_day=local.date(),
            category_key=category_key,
            language=language,
            departments=rules.departments,
        ),
    )
    busy: list[Candidate] = []
    while remaining:
        chosen = choose(remaining, rng)
        remaining = [c for c in remaining if c.key != chosen.key]
        outcome = await _claim(session, chosen, wait=False)
        if isinstance(outcome, ManagerPick):
            return outcome
        if outcome == BUSY:
            busy.append(chosen)
    for chosen in sorted(busy, key=lambda c: (load(c), c.key)):
        outcome = await _claim(session, chosen, wait=True)
        if isinstance(outcome, ManagerPick):
            return outcome
    log.info(
        "no manager available",
        category_key=str(category_key) if category_key else None,
        language=language,
        po_type_key=str(po_type_key) if po_type_key else None,
        po_section_key=str(po_section_key) if po_section_key else None,
    )
    return None


def load(candidate: Candidate) -> float:
    """queue / limit (for ordering; the band is decided exactly in `choose`)."""
    return candidate.queued / candidate.con_limit


def choose(candidates: Sequence[Candidate], rng: random.Random) -> Candidate:
    """One of the least loaded candidates: random among those whose load is less than
    LOAD_BAND above the best. Loads are compared exactly, as fractions cross-multiplied
    (q/l − qb/lb < n/d  ⇔  d·(q·lb − qb·l) < n·l·lb), so 1/10 against 0 is never a rounding
    call; the band is ordered by key so that a seeded RNG always picks the same."""
    best = min(candidates, key=load)
    queued, limit = best.queued, best.con_limit
    n, d = LOAD_BAND.numerator, LOAD_BAND.denominator
    band = sorted(
        (
            c
            for c in candidates
            if d * (c.queued * limit - queued * c.con_limit) < n * c.con_limit * limit
        ),
        key=lambda c: c.key,
    )
    return rng.choice(band)


BUSY = "busy"
FULL = "full"


async def _claim(session: AsyncSession, candidate: Candidate, *, wait: bool) -> ManagerPick | str:
    """Lock the manager and count their queue again: the pick, or BUSY (another booking holds
    them; only without `wait`) or FULL (no room, or no longer taking consultations: nothing
    stays locked, so a pick never waits while holding a manager it did not take)."""
    queued = await repository.claim(session, candidate.key, wait=wait)
    if queued is None:
        return FULL
    if queued == repository.HELD_ELSEWHERE:
        return BUSY
    return ManagerPick(
        manager_key=candidate.key,
        name=candidate.name,
        queue_before=queued,
        con_limit=candidate.con_limit,
        chatwoot_user_id=candidate.chatwoot_user_id,
    )


def works_at(start: time | None, end: time | None, moment: time) -> bool:
    """The rule of `repository._working_at`, for figures shown to people."""
    if start is None or end is None or start == end:
        return True
    if start < end:
        return start <= moment < end
    return moment >= start or moment < end


# --- wait time -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WaitEstimate:
    """The expected wait of a consultation in a queue (seed 001's rule)."""

    queue_position: int
    #: The manager's average closing time over the last 30 days (15 without statistics).
    average_minutes: int
    estimated_wait_minutes_min: int
    estimated_wait_minutes_max: int
    estimated_wait_minutes: int
    estimated_wait_hours: int
    show_range: bool

    @property
    def ahead(self) -> int:
        return self.queue_position - 1


def estimate_wait(queue_position: int, average_minutes: int | None) -> WaitEstimate:
    """`before` = the consultations ahead (position − 1). With an average under 15 minutes the
    wait is shown as a range, before × average … before × 15 («от 20 до 60 минут»); otherwise
    as one value, before × average. Hours are rounded half up, and never 0 for a wait > 0."""
    average = average_minutes if average_minutes and average_minutes > 0 else DEFAULT_MINUTES
    before = max(queue_position - 1, 0)
    show_range = average < DEFAULT_MINUTES and before > 0
    low = before * average
    high = before * DEFAULT_MINUTES if show_range else low
    hours = (high + 30) // 60
    return WaitEstimate(
        queue_position=queue_position,
        average_minutes=average,
        estimated_wait_minutes_min=low,
        estimated_wait_minutes_max=high,
        estimated_wait_minutes=high,
        estimated_wait_hours=max(hours, 1) if high > 0 else 0,
        show_range=show_range,
    )


def _ru_minutes(count: int, *, genitive: bool = False) -> str:
    if count % 10 == 1 and count % 100 != 11:
        return "минуты" if genitive else "минута"
    if genitive:
        return "минут"
    if count % 10 in (2, 3, 4) and count % 100 not in (12, 13, 14):
        return "минуты"
    return "минут"


def wait_text(wait: WaitEstimate, locale: str) -> str:
    """The wait as people read it: «от 20 до 60 минут», «45 минут»."""
    if wait.show_range:
        return translate(
            "{low}–{high} min",
            locale,
            low=wait.estimated_wait_minutes_min,
            high=wait.estimated_wait_minutes_max,
            unit=_ru_minutes(wait.estimated_wait_minutes_max, genitive=True),
        )
    minutes = wait.estimated_wait_minutes
    return translate("{count} min", locale, count=minutes, unit=_ru_minutes(minutes))


async def average_minutes(
    session: AsyncSession, keys: Sequence[uuid.UUID], now: datetime
) -> dict[uuid.UUID, int]:
    return await repository.average_minutes(session, keys, now - timedelta(days=STATISTICS_DAYS))


@dataclass(frozen=True, slots=True)
class ManagerWait:
    manager_key: uuid.UUID
    queue_length: int
    wait: WaitEstimate


async def wait_for_new(
    session: AsyncSession, manager_key: uuid.UUID, *, now: datetime, rules: SelectionRules
) -> ManagerWait | None:
    """The wait of a consultation booked with this manager now (behind their whole queue);
    None for an unknown manager."""
    row = await repository.manager_load(session, manager_key, rules.local(now).date())
    if row is None:
        return None
    averages = await average_minutes(session, [manager_key], now)
    return ManagerWait(
        manager_key, row.queued, estimate_wait(row.queued + 1, averages.get(manager_key))
    )


@dataclass(frozen=True, slots=True)
class QueueInfo:
    consultation: QueuedConsultation
    wait: WaitEstimate | None

    @property
    def queue_position(self) -> int | None:
        ahead = self.consultation.ahead
        return ahead + 1 if ahead is not None else None


async def queue_position(session: AsyncSession, cons_id: str) -> int | None:
    """1-based place of the consultation in its manager's queue; None when it is not queued."""
    queued = await repository.queued_consultation(session, cons_id)
    if queued is None or queued.ahead is None:
        return None
    return queued.ahead + 1


async def queue_info(session: AsyncSession, cons_id: str, now: datetime) -> QueueInfo | None:
    """Where the consultation stands and how long it should wait; None when it is unknown."""
    queued = await repository.queued_consultation(session, cons_id)
    if queued is None:
        return None
    if queued.ahead is None or queued.manager is None:
        return QueueInfo(queued, None)
    averages = await average_minutes(session, [queued.manager], now)
    return QueueInfo(queued, estimate_wait(queued.ahead + 1, averages.get(queued.manager)))


async def wait_time(
    session: AsyncSession,
    *,
    manager_key: uuid.UUID,
    now: datetime,
    rules: SelectionRules,
) -> WaitEstimate | None:
    """The wait of a consultation booked with `manager_key` now (not yet inserted, so behind
    the whole queue: position = queue length + 1). None for an unknown manager."""
    manager = await wait_for_new(session, manager_key, now=now, rules=rules)
    return manager.wait if manager is not None else None


# --- load ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LoadFigures:
    manager: ManagerLoad
    working_now: bool

    @property
    def ratio(self) -> Fraction | None:
        limit = self.manager.con_limit
        return Fraction(self.manager.queued, limit) if limit and limit > 0 else None

    @property
    def load_percent(self) -> float | None:
        ratio = self.ratio
        return round(min(float(ratio) * 100, 100.0), 1) if ratio is not None else None

    @property
    def available_slots(self) -> int:
        limit = self.manager.con_limit or 0
        return max(limit - self.manager.queued, 0)

    @property
    def accepting(self) -> bool:
        """Could get a new consultation now (before skills and language are considered)."""
        return (
            self.manager.active
            and self.working_now
            and not self.manager.closed_today
            and self.available_slots > 0
        )


def _figures(row: ManagerLoad, local: datetime) -> LoadFigures:
    return LoadFigures(row, works_at(row.start_hour, row.end_hour, local.time()))


def _by_load(figures: LoadFigures) -> tuple[Fraction, str, uuid.UUID]:
    return (figures.ratio or Fraction(0), figures.manager.name or "", figures.manager.key)


async def managers_load(
    session: AsyncSession, *, now: datetime, rules: SelectionRules
) -> list[LoadFigures]:
    """Every active consultant's queue and limit, least loaded first."""
    local = rules.local(now)
    rows = await repository.managers_load(session, local.date())
    return sorted((_figures(row, local) for row in rows), key=_by_load)


async def manager_load(
    session: AsyncSession, manager_key: uuid.UUID, *, now: datetime, rules: SelectionRules
) -> LoadFigures | None:
    local = rules.local(now)
    row = await repository.manager_load(session, manager_key, local.date())
    return _figures(row, local) if row is not None else None


@dataclass(frozen=True, slots=True)
class AvailableManager:
    candidate: Candidate
    wait: WaitEstimate

    @property
    def load_percent(self) -> float:
        return round(float(load(self.candidate)) * 100, 1)


async def available_managers(
    session: AsyncSession,
    *,
    category_key: uuid.UUID | None,
    language: str | None,
    po_section_key: uuid.UUID | None,
    po_type_key: uuid.UUID | None,
    now: datetime,
    rules: SelectionRules,
) -> list[AvailableManager]:
    """The managers `pick_manager` would choose from now, least loaded first, each with the wait
    a consultation booked now would have (two queries in all)."""
    local = rules.local(now)
    candidates = await repository.candidates(
        session,
        CandidateFilter(
            local_time=local.time(),
            local_day=local.date(),
            category_key=category_key,
            language=language,
            departments=rules.departments,
        ),
    )
    averages = await average_minutes(session, [c.key for c in candidates], now)
    listed = [
        AvailableManager(c, estimate_wait(c.queued + 1, averages.get(c.key))) for c in candidates
    ]
    return sorted(
        listed, key=lambda m: (load(m.candidate), m.candidate.name or "", m.candidate.key)
    )


# --- staff from 1C -------------------------------------------------------------------------------


@dataclass
class StaffSyncReport(Tally):
    received: int = 0
    inserted: int = 0
    updated: int = 0
    skipped: int = 0


def _values(member: StaffMember) -> dict[str, object]:
    return {
        "cl_ref_key": member.ref_key,
        "code": member.code,
        "description": member.name,
        "email": member.email,
        "deletion_mark": member.deletion_mark,
        "invalid": member.invalid,
        "service_account": member.service_account,
    }


async def apply_staff_page(session: AsyncSession, page: list[StaffMember]) -> StaffSyncReport:
    """Active users become managers; users that are deleted, invalid or service accounts are not
    added, and managers who became so keep their row with the flag (their history stays)."""
    report = StaffSyncReport(received=len(page))
    known = await repository.known_ref_keys(session, [member.ref_key for member in page])
    rows = []
    for member in page:
        if member.ref_key in known:
            report.updated += 1
        elif member.active:
            report.inserted += 1
        else:
            report.skipped += 1
            continue
        rows.append(_values(member))
    await repository.upsert(session, rows)
    return report


@dataclass
class ProfileReport:
    profiles: int = 0
    changed: int = 0
    cleared: int = 0
    skills_added: int = 0
    skills_removed: int = 0


def _profile_row(profile: ConsultantProfile) -> dict[str, object]:
    return {
        "key": profile.manager_key,
        # 1C's empty number is 0: no limit, no consultations.
        "con_limit": profile.limit if profile.limit and profile.limit > 0 else None,
        "start_hour": profile.start_hour,
        "end_hour": profile.end_hour,
        "department": profile.department,
        "ru": "ru" in profile.languages,
        "uz": "uz" in profile.languages,
    }


async def apply_profiles(
    session: AsyncSession, profiles: Sequence[ConsultantProfile]
) -> ProfileReport:
    """Limits, hours, department, languages and skills of the managers from 1C. Managers 1C has
    no settings for lose them (no limit: no consultations); skills (`cons.users_skill`) become
    exactly 1C's. Values that did not change are not written again.

    No settings at all for anyone is taken for a fault on 1C's side (a consultation desk without
    consultants), not for an order to stop every booking: the current settings stay."""
    if not profiles:
        log.warning("1C returned no consultant settings; the current ones are kept")
        return ProfileReport()
    known = await repository.known_ref_keys(session, [p.manager_key for p in profiles])
    mine = [p for p in profiles if p.manager_key in known]
    report = ProfileReport(profiles=len(mine))
    report.changed = await repository.apply_profiles(session, [_profile_row(p) for p in mine])
    report.cleared = await repository.clear_profiles_except(session, known)
    wanted = {(p.manager_key, category) for p in mine for category in p.category_keys}
    current = await repository.skills(session)
    await repository.add_skills(session, wanted - current)
    await repository.remove_skills(session, current - wanted)
    report.skills_added, report.skills_removed = len(wanted - current), len(current - wanted)
    return report


# --- queue closings ------------------------------------------------------------------------------


@dataclass
class ClosingReport:
    closed: int = 0
    newly_closed: int = 0
    reopened: int = 0
    notified: int = 0
    reassigned: int = 0
    unassigned: int = 0
    reassignments: list[tuple[str, str]] = field(default_factory=list)


def _locale(lang: str | None) -> str:
    return "uz" if lang == "uz" else "ru"


async def apply_queue_closings(
    session: AsyncSession,
    *,
    day: date,
    closed: set[uuid.UUID],
    now: datetime,
    rng: random.Random,
    rules: SelectionRules,
) -> ClosingReport:
    """Make today's closings 1C's (`closed`: the managers whose queue is closed on `day`), then
    move the consultations waiting today with a closed manager to another eligible one.

    Each such client is told once that the queue is closed and, when another manager took the
    consultation, who it is now; the chat assignment and the 1C manager follow through the
    outbox. A consultation nobody can take now stays and is tried again on the next run."""
    report = ClosingReport(closed=len(closed))
    stored = await store_closings(session, day=day, closed=closed)
    report.newly_closed, report.reopened = stored["newly_closed"], stored["reopened"]
    end_of_day = datetime.combine(day + timedelta(days=1), time(), tzinfo=rules.zone)
    waiting = await repository.queue_due_before(session, closed, end_of_day.astimezone(UTC))
    names = await repository.manager_names(session, closed)
    for consultation in waiting:
        name = names.get(consultation.manager, "")
        if await _tell_queue_closed(session, consultation, name, day):
            report.notified += 1
        pick = await pick_manager(
            session,
            category_key=consultation.category_key,
            language=consultation.lang,
            po_section_key=None,
            po_type_key=None,
            consultation_type=consultation.consultation_type,
            now=now,
            rng=rng,
            rules=rules,
        )
        if pick is None:
            report.unassigned += 1
            continue
        await reassign(session, consultation, pick, previous_name=name, now=now)
        report.reassigned += 1
        report.reassignments.append((consultation.cons_id, str(pick.manager_key)))
    return report


async def store_closings(
    session: AsyncSession, *, day: date, closed: set[uuid.UUID]
) -> dict[str, int]:
    """Make `day`'s rows in `cons.queue_closing` exactly the managers in `closed`."""
    added = await repository.add_closings(session, day, closed)
    reopened = await repository.remove_closings_except(session, day, closed)
    return {"closed": len(closed), "newly_closed": len(added), "reopened": len(reopened)}


async def _tell_queue_closed(
    session: AsyncSession, consultation: QueuedForReassignment, name: str, day: date
) -> bool:
    text = translate(
        "The queue of {name} is closed on {date}. "
        "Your consultation will soon be reassigned to another manager.",
        _locale(consultation.lang),
        name=name,
        date=day.strftime("%d.%m.%Y"),
    )
    return await notify(
        session,
        cons_id=consultation.cons_id,
        kind="queue_closed",
        text=text,
        unique={"manager": str(consultation.manager), "day": day.isoformat()},
    )


def _ours(cons_id: str) -> bool:
    """Booked through us (not a row that came from 1C)."""
    return not cons_id.startswith("cl_")


async def reassign(
    session: AsyncSession,
    consultation: QueuedForReassignment,
    pick: ManagerPick,
    *,
    previous_name: str,
    now: datetime,
) -> None:
    """Give the consultation to `pick` here, and queue the same change for Chatwoot (the
    assignee) and 1C (`Менеджер_Key`), and the client's message, in this transaction."""
    cons_id = consultation.cons_id
    await repository.assign_manager(session, cons_id, pick.manager_key)
    if consultation.chatwoot_conversation_id is not None or _ours(cons_id):
        await enqueue(session, ASSIGN_IN_CHAT, {"cons_id": cons_id}, cons_id=cons_id)
    if consultation.cl_ref_key is not None or (
        _ours(cons_id) and consultation.consultation_type == ACCOUNTING
    ):
        await enqueue(session, UPDATE_IN_ONEC, {"cons_id": cons_id}, cons_id=cons_id)
    averages = await average_minutes(session, [pick.manager_key], now)
    wait = estimate_wait(pick.queue_position, averages.get(pick.manager_key))
    locale = _locale(consultation.lang)
    text = translate(
        "Your consultation has been reassigned to another manager. Was: {old}. Now: {new}. "
        "Your place in the queue: {position}; expected wait: {wait}.",
        locale,
        old=previous_name,
        new=pick.name or "",
        position=pick.queue_position,
        wait=wait_text(wait, locale),
    )
    await notify(
        session,
        cons_id=cons_id,
        kind="manager_reassigned",
        text=text,
        unique={"from": str(consultation.manager), "to": str(pick.manager_key)},
    )


# --- Chatwoot agents -----------------------------------------------------------------------------


def agent_email(manager: repository.UnmappedManager) -> str:
    """The manager's real e-mail, or a stable placeholder Chatwoot accepts."""
    email = (manager.email or "").strip()
    return email if "@" in email else f"{manager.key}@cons.local"


async def unmapped_managers(session: AsyncSession) -> list[repository.UnmappedManager]:
    return await repository.unmapped_managers(session)


async def agents_in_use(session: AsyncSession) -> dict[int, uuid.UUID]:
    return await repository.agents_in_use(session)


async def link_agent(session: AsyncSession, manager_key: uuid.UUID, agent_id: int) -> None:
    await repository.save_mapping(session, manager_key, agent_id)
