"""A fresh deployment with SYNC_USERS_ON_START and PULL_ON_START is useful at once: one queued
job pulls managers, links their agents, then clients and consultations, in that order."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

from procrastinate import JobContext
from sqlalchemy import func, select

from switchboard.consultations import hooks
from switchboard.consultations import tasks as domain_tasks
from switchboard.consultations.models import Client, Consultation, Manager, ManagerMapping
from switchboard.core.jobs import RUNTIME_KEY
from switchboard.runtime import Runtime
from switchboard.sandbox.demo_data.builder import build_demo_data
from switchboard.sandbox.pytest_plugin import RunningChatwoot, RunningOneC


async def _count(runtime: Runtime, model: Any) -> int:
    async with runtime.database.transaction() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_start_up_pulls_fill_the_database_in_dependency_order(
    onec: RunningOneC, chatwoot: RunningChatwoot, runtime_factory: Any
) -> None:
    data = build_demo_data(consultations=40)
    onec.emulator.store.load(data.onec)
    runtime: Runtime = await runtime_factory(
        **onec.settings(),
        **chatwoot.settings(),
        LOAD_DICTS_ON_START="false",
        SYNC_USERS_ON_START="true",
        PULL_ON_START="true",
    )

    await hooks.queue_start_up_loads(runtime)
    queued = await runtime.jobs.connector.execute_query_all_async(
        "SELECT args FROM procrastinate_jobs WHERE task_name = 'consultations.start_up_pulls'"
    )
    assert [row["args"]["jobs"] for row in queued] == [
        [*domain_tasks.STAFF_PULLS, *domain_tasks.CONSULTATION_PULLS]
    ]

    context = cast(JobContext, SimpleNamespace(additional_context={RUNTIME_KEY: runtime}))
    reports = await domain_tasks.start_up_pulls.func(context, jobs=queued[0]["args"]["jobs"])

    assert list(reports) == [*domain_tasks.STAFF_PULLS, *domain_tasks.CONSULTATION_PULLS]
    assert not [name for name, report in reports.items() if "error" in report]
    assert await _count(runtime, Manager) > 0
    assert await _count(runtime, ManagerMapping) > 0  # agents linked after the managers came
    assert await _count(runtime, Client) > 0
    async with runtime.database.transaction() as session:
        linked = await session.scalar(
            select(func.count()).where(
                Consultation.cons_id.like("cl\\_%"), Consultation.client_id.is_not(None)
            )
        )
    assert linked  # consultations found their owners, pulled before them
