"""Routing of conversations: who gets a new chat, escalation when the assignee does not open it
in time, transfers. Every function takes the caller's session (never commits) and `now` (the
clock is the caller's: tests control it), and each decision is written to the audit
(`messenger.assignments`) with the policy, the candidates and their loads, and the reason.

Changes of assignee are compare-and-set on (assignee, assigned at) under the conversation's row
lock: two workers running the same escalation, a restart running it again, or an escalation
racing a transfer change the conversation once.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.core.realtime import EventBus
from switchboard.messenger.conversations import views
from switchboard.messenger.routing import policy, repository
from switchboard.messenger.routing.geoip import RegionLocator
from switchboard.messenger.routing.policy import BranchChoice, OperatorChoice
from switchboard.messenger.routing.repository import RoutedConversation, StaffRow
from switchboard.messenger.settings import MessengerSettings

#: Who may be given a conversation by hand (administrators only watch).
ASSIGNABLE_ROLES = ("operator", "supervisor")


class EscalationTimer(Protocol):
    async def arm(
        self,
        session: AsyncSession,
        *,
        conversation_id: int,
        staff_id: int,
        assigned_at: datetime,
        due: datetime,
    ) -> None:
        """Have `escalate` run at `due` for this assignment, if and only if the session's
        transaction commits."""
        ...


@dataclass(frozen=True)
class Routing:
    """What routing needs besides the session: its settings, the GeoIP reader, the timer, and
    the bus that tells the staff of each change (`conversation.changed`, queued in the session:
    see `conversations/events.py`; None: nobody is told)."""

    settings: MessengerSettings
    locator: RegionLocator
    timer: EscalationTimer
    bus: EventBus | None = None

    @property
    def escalation_after(self) -> timedelta:
        return timedelta(seconds=self.settings.messenger_escalation_seconds)


@dataclass(frozen=True)
class Outcome:
    """What became of a routing request.

    `result`: `assigned`; `offline` (out of the inbox's hours: the conversation waits, the caller
    may send the offline message); `no_operator` (nobody available: it waits, or for an
    escalation stays with its assignee for another period); `no_branch`; `stale` (the
    conversation changed meanwhile: nothing done); `not_due`; `opened` (escalation after the
    assignee opened it: never); `inactive` (resolved or closed)."""

    result: str
    conversation_id: int
    staff_id: int | None = None
    branch_id: int | None = None
    explanation: str = ""


class RoutingError(Exception):
    """A routing request that cannot be carried out; `code` names why (for the API's 4xx)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def _candidates(rows: list[StaffRow], now: datetime) -> list[policy.Candidate]:
    candidates = []
    for row in rows:
        in_schedule, problem = policy.schedule_state(row.schedule, now)
        candidates.append(
            policy.Candidate(
                staff_id=row.id,
                name=row.name,
                status=row.status,
                capacity=row.capacity,
                load=row.load,
                last_assignment=row.last_assignment,
                # A personal schedule that does not validate keeps the operator out of routing.
                in_schedule=in_schedule and problem is None,
            )
        )
    return candidates


async def _choose(
    session: AsyncSession,
    branch_id: int,
    now: datetime,
    excluded: Collection[int] = (),
    *,
    lock: bool = True,
) -> OperatorChoice:
    if lock:
        await repository.lock_branch(session, branch_id)
    rows = await repository.branch_operators(session, branch_id)
    return policy.choose_operator(_candidates(rows, now), excluded=excluded)


async def branch_operators(
    session: AsyncSession, branch_id: int, now: datetime
) -> list[policy.Candidate]:
    """A branch's operators with status, load and hours: the list for a manual transfer."""
    return _candidates(await repository.branch_operators(session, branch_id), now)


async def _region_codes(
    session: AsyncSession, routing: Routing, conversation: RoutedConversation, ip: str | None
) -> list[str]:
    """The visitor's region codes, most specific first: stated or found before, else by IP."""
    if conversation.contact_region_id is not None:
        code = await repository.region_code(session, conversation.contact_region_id)
        return [code] if code else []
    return routing.locator.regions(ip)


async def _branch(
    session: AsyncSession,
    routing: Routing,
    conversation: RoutedConversation,
    ip: str | None,
    *,
    remember: bool = True,
) -> BranchChoice:
    codes = await _region_codes(session, routing, conversation, ip)
    known = await repository.regions_by_code(session, codes)
    if remember and conversation.contact_region_id is None and known:
        # Remember the region found by IP: the next chat of this visitor needs no lookup.
        first_known = next(known[code] for code in codes if code in known)
        await repository.set_contact_ip_region(session, conversation.contact_id, first_known)
    rules = await repository.rules_for(session, list(known.values()), conversation.inbox_id)
    # The administrators' choice (the admin pages) wins over the environment's default.
    default = await repository.preferred_default_branch(session)
    if default is None:
        default = await repository.branch_by_code(
            session, routing.settings.messenger_default_branch
        )
    return policy.choose_branch(
        inbox_branch_id=conversation.inbox_branch_id,
        region_codes=codes,
        known_regions=known,
        rules=rules,
        default_branch_id=default,
    )


async def assign_new(
    session: AsyncSession,
    routing: Routing,
    conversation_id: int,
    *,
    now: datetime,
    ip: str | None = None,
    record_waiting: bool = True,
) -> Outcome:
    """Route a conversation that has no assignee: its branch, then an operator of it.

    Out of the inbox's hours, or with nobody available, it waits unassigned (status `pending`);
    `record_waiting=False` leaves no audit row for that (the periodic retry of waiting chats).
    """
    conversation = await repository.lock_conversation(session, conversation_id)
    if conversation is None:
        raise RoutingError("conversation_not_found", "no such conversation")
    if conversation.status not in ("open", "pending"):
        return Outcome("inactive", conversation_id)
    if conversation.assignee_id is not None:
        return Outcome("stale", conversation_id, conversation.assignee_id, conversation.branch_id)
    branch = await _branch(session, routing, conversation, ip)
    opened, problem = policy.schedule_state(conversation.inbox_settings.get("schedule"), now)
    waiting = None
    if branch.branch_id is None:
        waiting, choice = "no_branch", OperatorChoice(None, policy.LEAST_LOADED_ROUND_ROBIN)
    elif not opened:
        waiting, choice = "offline", OperatorChoice(None, policy.LEAST_LOADED_ROUND_ROBIN)
    else:
        choice = await _choose(session, branch.branch_id, now)
        waiting = None if choice.staff_id is not None else "no_operator"
    explanation = "; ".join(
        part for part in (branch.explanation, problem, waiting and f"waits: {waiting}") if part
    )
    if waiting is not None:
        await repository.set_assignee(
            session,
            conversation_id,
            expected_assignee=None,
            expected_assigned_at=conversation.assignee_assigned_at,
            branch_id=branch.branch_id,
            assignee_id=None,
            assigned_at=None,
            status="pending",
            region_id=branch.region_id,
        )
        if record_waiting:
            await _record(
                session,
                conversation,
                to_staff_id=None,
                branch=branch,
                choice=choice,
                reason=waiting,
                explanation=explanation,
                now=now,
            )
            await _tell(session, routing, conversation, "waiting")
        return Outcome(waiting, conversation_id, None, branch.branch_id, explanation)
    return await _give(
        session,
        routing,
        conversation,
        choice,
        branch,
        reason="new",
        explanation=f"{explanation}; {choice.explanation}",
        now=now,
    )


@dataclass(frozen=True)
class Preview:
    """What routing would decide for a conversation now (a dry run: nothing is written)."""

    branch: BranchChoice
    #: Within the inbox's working hours.
    open: bool
    choice: OperatorChoice


async def preview(
    session: AsyncSession,
    routing: Routing,
    conversation_id: int,
    *,
    now: datetime,
    ip: str | None = None,
) -> Preview:
    """The branch, the hours and the operator routing would choose, with every candidate and why
    (a supervisor's "why would this chat go to X?"); locks and writes nothing."""
    conversation = await repository.lock_conversation(session, conversation_id, for_update=False)
    if conversation is None:
        raise RoutingError("conversation_not_found", "no such conversation")
    branch = await _branch(session, routing, conversation, ip, remember=False)
    opened, _ = policy.schedule_state(conversation.inbox_settings.get("schedule"), now)
    if branch.branch_id is None:
        return Preview(branch, opened, OperatorChoice(None, policy.LEAST_LOADED_ROUND_ROBIN))
    excluded = () if conversation.assignee_id is None else (conversation.assignee_id,)
    choice = await _choose(session, branch.branch_id, now, excluded, lock=False)
    return Preview(branch, opened, choice)


async def escalate(
    session: AsyncSession,
    routing: Routing,
    conversation_id: int,
    *,
    expected_staff_id: int,
    expected_assigned_at: datetime,
    now: datetime,
) -> Outcome:
    """The assignee did not open the conversation in time: the next operator of the branch (not
    the same one, and not one it timed out with before while another is available). Once
    opened, or once assigned anew, this assignment's escalation is void."""
    conversation = await repository.lock_conversation(session, conversation_id)
    if conversation is None or conversation.status not in ("open", "pending"):
        return Outcome("inactive", conversation_id)
    if (
        conversation.assignee_id != expected_staff_id
        or conversation.assignee_assigned_at != expected_assigned_at
    ):
        return Outcome("stale", conversation_id, conversation.assignee_id)
    if conversation.assignee_opened_at is not None:
        return Outcome("opened", conversation_id, expected_staff_id)
    due = expected_assigned_at + routing.escalation_after
    if now < due:
        await routing.timer.arm(
            session,
            conversation_id=conversation_id,
            staff_id=expected_staff_id,
            assigned_at=expected_assigned_at,
            due=due,
        )
        return Outcome("not_due", conversation_id, expected_staff_id)
    branch_id = conversation.branch_id
    if branch_id is None:
        return Outcome("no_branch", conversation_id, expected_staff_id)
    # Not back to an operator who already let it time out, unless nobody else is left.
    before = await repository.escalated_from(session, conversation_id)
    choice = await _choose(session, branch_id, now, excluded={expected_staff_id, *before})
    if choice.staff_id is None and before - {expected_staff_id}:
        choice = await _choose(session, branch_id, now, excluded={expected_staff_id})
    branch = BranchChoice(branch_id, "current", conversation.region_id, "escalation")
    not_opened = f"not opened by {expected_staff_id} within {routing.escalation_after}"
    if choice.staff_id is None:
        # Nobody else: it stays with the assignee, and the clock starts over for them.
        kept = OperatorChoice(expected_staff_id, choice.policy, choice.considered)
        return await _give(
            session,
            routing,
            conversation,
            kept,
            branch,
            reason="no_operator",
            explanation=f"{not_opened}; {choice.explanation}: stays, timer restarted",
            now=now,
            result="no_operator",
        )
    return await _give(
        session,
        routing,
        conversation,
        choice,
        branch,
        reason="escalation",
        explanation=f"{not_opened}; {choice.explanation}",
        now=now,
    )


async def transfer_to_branch(
    session: AsyncSession,
    routing: Routing,
    conversation_id: int,
    branch_id: int,
    *,
    actor_id: int | None,
    now: datetime,
) -> Outcome:
    """ "The first free operator of branch X": chosen as for a new chat (not the current
    assignee). With nobody free, nothing changes and the outcome says so."""
    conversation = await _active(session, conversation_id)
    if not await repository.branch_exists(session, branch_id):
        raise RoutingError("branch_not_found", "no such branch")
    excluded = () if conversation.assignee_id is None else (conversation.assignee_id,)
    choice = await _choose(session, branch_id, now, excluded=excluded)
    if choice.staff_id is None:
        return Outcome("no_operator", conversation_id, None, branch_id, choice.explanation)
    branch = BranchChoice(branch_id, "transfer", conversation.region_id, "transfer to a branch")
    return await _give(
        session,
        routing,
        conversation,
        choice,
        branch,
        reason="transfer_branch",
        explanation=f"transferred to branch {branch_id}; {choice.explanation}",
        now=now,
        actor_id=actor_id,
    )


async def transfer_to_operator(
    session: AsyncSession,
    routing: Routing,
    conversation_id: int,
    staff_id: int,
    *,
    actor_id: int | None,
    now: datetime,
) -> Outcome:
    """A transfer to a named operator (or supervisor), whatever their status and load: a person
    decided. The escalation timer starts for them as for any assignment."""
    conversation = await _active(session, conversation_id)
    target = await repository.staff(session, staff_id)
    if target is None or not target.active or target.role not in ASSIGNABLE_ROLES:
        raise RoutingError("staff_not_assignable", "this staff member cannot take conversations")
    if target.id == conversation.assignee_id:
        return Outcome("stale", conversation_id, staff_id, conversation.branch_id)
    if target.branch_id is not None:
        await repository.lock_branch(session, target.branch_id)
    candidate = _candidates([target], now)[0]
    choice = OperatorChoice(
        staff_id, policy.MANUAL, [candidate.as_record(candidate.refusal(()))], "chosen by hand"
    )
    branch_id = target.branch_id if target.branch_id is not None else conversation.branch_id
    branch = BranchChoice(branch_id, "transfer", conversation.region_id, "manual transfer")
    return await _give(
        session,
        routing,
        conversation,
        choice,
        branch,
        reason="transfer_manual",
        explanation=f"transferred to {target.name} by hand",
        now=now,
        actor_id=actor_id,
    )


async def mark_opened(
    session: AsyncSession, conversation_id: int, staff_id: int, *, now: datetime
) -> bool:
    """The assignee opened the conversation: from now on no escalation by timeout. True on the
    first open; opening by anyone else changes nothing."""
    return await repository.mark_opened(session, conversation_id, staff_id, now)


async def _active(session: AsyncSession, conversation_id: int) -> RoutedConversation:
    conversation = await repository.lock_conversation(session, conversation_id)
    if conversation is None:
        raise RoutingError("conversation_not_found", "no such conversation")
    if conversation.status not in ("open", "pending"):
        raise RoutingError("conversation_closed", "the conversation is resolved or closed")
    return conversation


async def _give(
    session: AsyncSession,
    routing: Routing,
    conversation: RoutedConversation,
    choice: OperatorChoice,
    branch: BranchChoice,
    *,
    reason: str,
    explanation: str,
    now: datetime,
    actor_id: int | None = None,
    result: str = "assigned",
) -> Outcome:
    """Set the assignee (compare-and-set), record why, and start the escalation timer."""
    staff_id = choice.staff_id
    assert staff_id is not None
    changed = await repository.set_assignee(
        session,
        conversation.id,
        expected_assignee=conversation.assignee_id,
        expected_assigned_at=conversation.assignee_assigned_at,
        branch_id=branch.branch_id,
        assignee_id=staff_id,
        assigned_at=now,
        status="open",
        region_id=branch.region_id,
    )
    if not changed:
        return Outcome("stale", conversation.id, conversation.assignee_id)
    await _record(
        session,
        conversation,
        to_staff_id=staff_id,
        branch=branch,
        choice=choice,
        reason=reason,
        explanation=explanation,
        now=now,
        actor_id=actor_id,
    )
    await routing.timer.arm(
        session,
        conversation_id=conversation.id,
        staff_id=staff_id,
        assigned_at=now,
        due=now + routing.escalation_after,
    )
    await _tell(
        session,
        routing,
        conversation,
        "transferred" if reason.startswith("transfer") else "assigned",
    )
    return Outcome(result, conversation.id, staff_id, branch.branch_id, explanation)


async def _tell(
    session: AsyncSession, routing: Routing, conversation: RoutedConversation, change: str
) -> None:
    """`conversation.changed` for the new assignee, the one it was taken from and
    supervision (queued: the transaction's owner flushes it, or it goes out at commit)."""
    if routing.bus is not None:
        await views.changed(
            session, routing.bus, conversation.id, change, also_staff=(conversation.assignee_id,)
        )


async def _record(
    session: AsyncSession,
    conversation: RoutedConversation,
    *,
    to_staff_id: int | None,
    branch: BranchChoice,
    choice: OperatorChoice,
    reason: str,
    explanation: str,
    now: datetime,
    actor_id: int | None = None,
) -> None:
    await repository.record(
        session,
        conversation_id=conversation.id,
        from_staff_id=conversation.assignee_id,
        to_staff_id=to_staff_id,
        branch_id=branch.branch_id,
        reason=reason,
        policy=choice.policy,
        branch_source=branch.source,
        candidates=choice.considered,
        explanation=explanation,
        actor_staff_id=actor_id,
        at=now,
    )
