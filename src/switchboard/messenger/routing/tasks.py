"""Background jobs of routing.

* `messenger.escalate` (one per assignment, deferred in the assigning transaction for the moment
  the assignee's time runs out): the next operator if the assignee has not opened the
  conversation. Stale or opened by then: nothing (the service's compare-and-set), so a job run
  twice, or by two workers, escalates once.
* `messenger.escalate_overdue` (every minute): the safety net of those jobs — an assignment
  overdue by more than a minute (its job cancelled by an operator, failed for good, or the
  timeout shortened since) is escalated here; the compare-and-set keeps it to once.
* `messenger.route_waiting` (every minute): conversations that wait unassigned (out of hours,
  nobody available) are offered to routing again.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import procrastinate
import structlog
from procrastinate import JobContext
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.core.db.base import utcnow
from switchboard.core.jobs import BackoffRetry, configure_job, runtime_of, singleton
from switchboard.messenger.conversations import events
from switchboard.messenger.routing import repository, service
from switchboard.messenger.routing.geoip import GeoIpLocator
from switchboard.messenger.routing.service import Routing
from switchboard.messenger.settings import MessengerSettings

if TYPE_CHECKING:
    from switchboard.runtime import Runtime

log = structlog.get_logger(__name__)

blueprint = procrastinate.Blueprint()

#: Waiting conversations offered to routing per run.
WAITING_BATCH = 200
#: Overdue assignments escalated per run of the safety net.
OVERDUE_BATCH = 200
#: The per-assignment job's head start over the safety net.
OVERDUE_GRACE = timedelta(seconds=60)


class QueueTimer:
    """The escalation timer on the job queue: a job deferred on the session's own connection
    (it exists if and only if the assignment commits), scheduled for the due moment."""

    def __init__(self, jobs: procrastinate.App) -> None:
        self.jobs = jobs

    async def arm(
        self,
        session: AsyncSession,
        *,
        conversation_id: int,
        staff_id: int,
        assigned_at: datetime,
        due: datetime,
    ) -> None:
        connection = await session.connection()
        raw = await connection.get_raw_connection()
        deferrer = configure_job(
            self.jobs, escalate, connection=raw.driver_connection, schedule_at=due
        )
        await deferrer.defer_async(
            conversation_id=conversation_id,
            staff_id=staff_id,
            assigned_at=assigned_at.isoformat(),
        )


def routing_of(runtime: Runtime) -> Routing:
    """Routing as this process runs it: its settings, its GeoIP reader, the queue's timer, the
    bus (assignments are announced to the staff)."""
    return Routing(
        settings=MessengerSettings.of(runtime.settings),
        locator=runtime.extension(GeoIpLocator),
        timer=QueueTimer(runtime.jobs),
        bus=runtime.bus,
    )


@blueprint.task(pass_context=True, name="messenger.escalate", retry=BackoffRetry())
async def escalate(
    context: JobContext, conversation_id: int, staff_id: int, assigned_at: str
) -> dict[str, Any]:
    """Escalate one assignment whose time ran out (if it still stands and was not opened)."""
    runtime = runtime_of(context)
    async with runtime.database.transaction() as session:
        outcome = await service.escalate(
            session,
            routing_of(runtime),
            conversation_id,
            expected_staff_id=staff_id,
            expected_assigned_at=datetime.fromisoformat(assigned_at),
            now=utcnow(),
        )
        await events.flush(session)
    if outcome.result not in ("stale", "opened", "inactive"):
        log.info("conversation escalated", **asdict(outcome))
    return asdict(outcome)


@blueprint.periodic(cron="* * * * *", periodic_id="every-minute")
@blueprint.task(pass_context=True, **singleton("messenger.escalate_overdue"))
async def escalate_overdue(context: JobContext, timestamp: int | None = None) -> dict[str, int]:
    """Escalate assignments whose own job did not (one short transaction each)."""
    runtime = runtime_of(context)
    routing = routing_of(runtime)
    now = utcnow()
    async with runtime.database.transaction() as session:
        overdue = await repository.overdue_assignments(
            session, now - routing.escalation_after - OVERDUE_GRACE, OVERDUE_BATCH
        )
    counts: dict[str, int] = {}
    for conversation_id, staff_id, assigned_at in overdue:
        async with runtime.database.transaction() as session:
            outcome = await service.escalate(
                session,
                routing,
                conversation_id,
                expected_staff_id=staff_id,
                expected_assigned_at=assigned_at,
                now=utcnow(),
            )
            await events.flush(session)
        counts[outcome.result] = counts.get(outcome.result, 0) + 1
    if counts:
        log.info("overdue assignments escalated", **counts)
    return counts


@blueprint.periodic(cron="* * * * *", periodic_id="every-minute")
@blueprint.task(pass_context=True, **singleton("messenger.route_waiting"))
async def route_waiting(context: JobContext, timestamp: int | None = None) -> dict[str, int]:
    """Offer the waiting conversations to routing again, one short transaction each."""
    runtime = runtime_of(context)
    routing = routing_of(runtime)
    counts: dict[str, int] = {}
    after = 0
    while True:
        # Page by id: chats that keep waiting (out of hours) never hide the ones behind them.
        async with runtime.database.transaction() as session:
            waiting = await repository.waiting_conversations(session, after, WAITING_BATCH)
        for conversation_id in waiting:
            async with runtime.database.transaction() as session:
                outcome = await service.assign_new(
                    session, routing, conversation_id, now=utcnow(), record_waiting=False
                )
                await events.flush(session)
            counts[outcome.result] = counts.get(outcome.result, 0) + 1
        if len(waiting) < WAITING_BATCH:
            return counts
        after = waiting[-1]
