"""Background jobs of the managers: the daily pull of users from 1C (03:00 UTC)."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

import procrastinate
import structlog

from switchboard.consultations.managers.service import StaffSyncReport, apply_staff_page
from switchboard.core.jobs import EtlJob, Requirement, etl_task

if TYPE_CHECKING:
    from switchboard.runtime import Runtime

log = structlog.get_logger(__name__)

blueprint = procrastinate.Blueprint()

ONEC_STAFF = Requirement(
    met=lambda runtime: runtime.adapters.staff_source is not None,
    missing="1C is not configured (ODATA_BASEURL_CL)",
)


async def sync_users(runtime: Runtime) -> dict[str, Any]:
    """Users of 1C into `cons.users`, one short transaction per page."""
    source = runtime.adapters.staff_source
    assert source is not None  # the job's requirement
    report = StaffSyncReport()
    async for page in source.staff():
        # One short transaction per page: nothing long-held while 1C answers.
        async with runtime.database.transaction() as session:
            report.add(await apply_staff_page(session, page))
    log.info("staff synced", **asdict(report))
    return asdict(report)


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

ETL_JOBS: list[EtlJob] = [PULL_USERS]
