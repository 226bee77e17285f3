"""Background jobs of the managers.

* `pull_users` (daily, 03:00 UTC): 1C's users into `cons.users`, then the consultants' settings
  (limit, hours, department, languages, skills).
* `sync_users_to_chatwoot` (daily, 03:20 UTC, after the users): a Chatwoot agent for every active
  consultant who has none, linked in `sys.user_mapping` and `cons.users.chatwoot_user_id`.
* `pull_queue_closing_cl` (every 15 minutes): queue closings of today and the days a booking can
  be made for (1C's zone); the consultations waiting today with a closed manager move to another.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Mapping
from dataclasses import asdict
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import procrastinate
import structlog

from switchboard.consultations.managers import service
from switchboard.consultations.managers.repository import UnmappedManager
from switchboard.consultations.managers.service import (
    SelectionRules,
    StaffSyncReport,
    apply_staff_page,
)
from switchboard.consultations.requirements import CHATWOOT, ONEC_ACCOUNTING, ONEC_STAFF
from switchboard.consultations.settings import ConsultationSettings
from switchboard.core.db.base import utcnow
from switchboard.core.http.errors import PeerBusinessError, PeerRejected
from switchboard.core.jobs import EtlJob, etl_task
from switchboard.integrations.ports import ChatAgent, ChatDesk, QueueClosingRecord

if TYPE_CHECKING:
    from switchboard.runtime import Runtime

log = structlog.get_logger(__name__)

blueprint = procrastinate.Blueprint()


# --- users ---------------------------------------------------------------------------------------


async def sync_users(runtime: Runtime) -> dict[str, Any]:
    """Users of 1C into `cons.users`, one short transaction per page; then the consultants'
    settings from 1C's registers, in one transaction."""
    source = runtime.adapters.staff_source
    assert source is not None  # the job's requirement
    report = StaffSyncReport()
    async for page in source.staff():
        # One short transaction per page: nothing long-held while 1C answers.
        async with runtime.database.transaction() as session:
            report.add(await apply_staff_page(session, page))
    result: dict[str, Any] = asdict(report)
    accounting = runtime.adapters.accounting
    if accounting is not None:
        profiles = await accounting.consultant_profiles()
        async with runtime.database.transaction() as session:
            result["profiles"] = asdict(await service.apply_profiles(session, profiles))
    log.info("staff synced", **result)
    return result


PULL_USERS: EtlJob = etl_task(
    blueprint,
    "pull_users",
    cron="0 3 * * *",
    periodic_id="daily-0300-utc",
    requires=ONEC_STAFF,
)(sync_users)

#: The queued job (`etl.pull_users`) and the foreground runner, under their usual names.
pull_users = PULL_USERS.task
run_pull_users = PULL_USERS.run


# --- Chatwoot agents -----------------------------------------------------------------------------


class AgentTaken(Exception):
    """The agent Chatwoot has for this e-mail is linked to another manager already."""

    def __init__(self, agent_id: int) -> None:
        super().__init__(f"Chatwoot agent {agent_id} belongs to another manager")
        self.agent_id = agent_id


class AgentIndex:
    """Chatwoot's agents, listed at most once per run (on the first lookup), found by manager key
    and by e-mail; an agent linked to a manager already is never matched to another."""

    def __init__(self, chat: ChatDesk, in_use: Mapping[int, uuid.UUID]) -> None:
        self.chat = chat
        self.owners = dict(in_use)
        self.by_key: dict[uuid.UUID, ChatAgent] | None = None
        self.by_email: dict[str, ChatAgent] = {}

    def free_for(self, agent_id: int, manager_key: uuid.UUID) -> bool:
        return self.owners.get(agent_id, manager_key) == manager_key

    def take(self, agent_id: int, manager_key: uuid.UUID) -> None:
        self.owners[agent_id] = manager_key

    async def match(self, manager: UnmappedManager, email: str) -> ChatAgent | None:
        if self.by_key is None:
            agents = await self.chat.agents()
            self.by_key = {agent.manager_key: agent for agent in agents if agent.manager_key}
            self.by_email = {a.email.strip().lower(): a for a in agents if a.email}
        for agent in (self.by_key.get(manager.key), self.by_email.get(email.lower())):
            if agent is not None and self.free_for(agent.agent_id, manager.key):
                self.take(agent.agent_id, manager.key)
                return agent
        return None


async def _agent_for(
    chat: ChatDesk, index: AgentIndex, manager: UnmappedManager
) -> tuple[int, str]:
    """(agent id, how it was found): the manager's own link, a matching agent, or a new one."""
    own = manager.chatwoot_user_id
    if own is not None and index.free_for(own, manager.key):
        return own, "linked"
    email = service.agent_email(manager)
    agent = await index.match(manager, email)
    if agent is not None:
        return agent.agent_id, "matched"
    created = await chat.create_agent(
        name=manager.name or email, email=email, manager_key=manager.key
    )
    if not index.free_for(created.agent_id, manager.key):
        # Chatwoot keeps one agent per e-mail, and this one is another manager's.
        raise AgentTaken(created.agent_id)
    index.take(created.agent_id, manager.key)
    await chat.add_inbox_member(created.agent_id)
    return created.agent_id, "created"


async def sync_chat_agents(runtime: Runtime) -> dict[str, Any]:
    """Link every active consultant without a mapping to a Chatwoot agent: the one whose
    `cl_ref_key` attribute is theirs, else the one with their e-mail, else a new agent (added to
    the website inbox). Agents are listed once per run; each link is saved in its own short
    transaction, so a failure half-way keeps the links made before it."""
    chat = runtime.adapters.chat
    assert chat is not None  # the job's requirement
    async with runtime.database.transaction() as session:
        unmapped = await service.unmapped_managers(session)
        in_use = await service.agents_in_use(session)
    report = {
        "rows": len(unmapped),
        "unmapped": len(unmapped),
        "linked": 0,
        "matched": 0,
        "created": 0,
        "refused": 0,
    }
    if not unmapped:
        return report
    index = AgentIndex(chat, in_use)
    for manager in unmapped:
        try:
            agent_id, how = await _agent_for(chat, index, manager)
        except (PeerRejected, PeerBusinessError, AgentTaken) as error:
            # Chatwoot refused this one (e.g. an e-mail taken by another agent): the others
            # still get theirs, and the next run tries again. An outage stops the run instead.
            log.warning("chat agent refused", manager_key=str(manager.key), error=str(error))
            report["refused"] += 1
            continue
        async with runtime.database.transaction() as session:
            await service.link_agent(session, manager.key, agent_id)
        report[how] += 1
    log.info("chat agents synced", **report)
    return report


SYNC_USERS_TO_CHATWOOT: EtlJob = etl_task(
    blueprint,
    "sync_users_to_chatwoot",
    cron="20 3 * * *",
    periodic_id="daily-0320-utc",
    requires=CHATWOOT,
)(sync_chat_agents)

sync_users_to_chatwoot = SYNC_USERS_TO_CHATWOOT.task
run_sync_users_to_chatwoot = SYNC_USERS_TO_CHATWOOT.run


# --- queue closings ------------------------------------------------------------------------------


def _closed(records: list[QueueClosingRecord], day: date) -> set[uuid.UUID]:
    # 1C may hold several rows of one manager on the day (at different times): any closed one
    # closes the queue.
    return {r.manager_key for r in records if r.day == day and r.closed}


async def pull_closings(runtime: Runtime) -> dict[str, Any]:
    """Queue closings from 1C, by day of the base's zone: `Закрыт` true → a row in
    `cons.queue_closing`, false or absent → none.

    Today's closings take effect at once: consultations waiting today with a closed manager are
    reassigned, their clients told once (in the same transaction). The days a consultation can
    be booked for (MAX_FUTURE_CONSULTATION_DAYS) are stored too, one short transaction per day,
    so that a booking for such a day passes over a manager who will not be there; their
    consultations move when that day comes."""
    accounting = runtime.adapters.accounting
    assert accounting is not None  # the job's requirement
    rules = SelectionRules.from_settings(runtime.settings)
    now = utcnow()
    today = rules.local(now).date()
    closed = _closed(await accounting.queue_closings(today), today)
    async with runtime.database.transaction() as session:
        report = await service.apply_queue_closings(
            session, day=today, closed=closed, now=now, rng=random.Random(), rules=rules
        )
    ahead = ConsultationSettings.of(runtime.settings).max_future_consultation_days
    later = {"days": ahead, "closed": 0, "newly_closed": 0, "reopened": 0}
    for offset in range(1, ahead + 1):
        day = today + timedelta(days=offset)
        closed_then = _closed(await accounting.queue_closings(day), day)
        async with runtime.database.transaction() as session:
            stored = await service.store_closings(session, day=day, closed=closed_then)
        for name, value in stored.items():
            later[name] += value
    result: dict[str, Any] = asdict(report) | {
        "day": today.isoformat(),
        "later": later,
        # The closed managers of today and the days ahead: what the run handled.
        "rows": len(closed) + later["closed"],
    }
    log.info("queue closings pulled", **{k: v for k, v in result.items() if k != "reassignments"})
    return result


PULL_QUEUE_CLOSING: EtlJob = etl_task(
    blueprint,
    "pull_queue_closing_cl",
    cron="*/15 * * * *",
    periodic_id="every-15-minutes",
    requires=ONEC_ACCOUNTING,
)(pull_closings)

pull_queue_closing_cl = PULL_QUEUE_CLOSING.task
run_pull_queue_closing_cl = PULL_QUEUE_CLOSING.run

ETL_JOBS: list[EtlJob] = [PULL_USERS, SYNC_USERS_TO_CHATWOOT, PULL_QUEUE_CLOSING]
