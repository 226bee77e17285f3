"""Background jobs of the managers: the daily pull of users from 1C (03:00 UTC)."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

import procrastinate
import structlog

from switchboard.consultations.managers.service import StaffSyncReport, apply_staff_page
from switchboard.core.jobs import runtime_of, singleton

if TYPE_CHECKING:
    from switchboard.runtime import Runtime

log = structlog.get_logger(__name__)

blueprint = procrastinate.Blueprint()


async def run_pull_users(runtime: Runtime) -> dict[str, Any]:
    source = runtime.adapters.staff_source
    if source is None:
        log.warning("pull_users skipped: 1C is not configured (ODATA_BASEURL_CL)")
        return {"skipped": "1C is not configured"}
    report = StaffSyncReport()
    async for page in source.staff():
        # One short transaction per page: nothing long-held while 1C answers.
        async with runtime.database.transaction() as session:
            report.add(await apply_staff_page(session, page))
    log.info("staff synced", **asdict(report))
    return asdict(report)


@blueprint.periodic(cron="0 3 * * *", periodic_id="daily-0300-utc")
@blueprint.task(pass_context=True, **singleton("etl.pull_users"))
async def pull_users(
    context: procrastinate.JobContext, timestamp: int | None = None
) -> dict[str, Any]:
    return await run_pull_users(runtime_of(context))
