"""Background jobs of the dictionaries: the full load from 1C (seed 001's `load_dicts`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import procrastinate
import structlog

from switchboard.consultations.dictionaries.service import load_dictionaries
from switchboard.core.jobs import runtime_of, singleton

if TYPE_CHECKING:
    from switchboard.runtime import Runtime

log = structlog.get_logger(__name__)

blueprint = procrastinate.Blueprint()


async def run_load_dicts(runtime: Runtime) -> dict[str, Any]:
    source = runtime.adapters.reference_source
    if source is None:
        log.warning("load_dicts skipped: 1C is not configured (ODATA_BASEURL_CL)")
        return {"skipped": "1C is not configured"}
    report = await load_dictionaries(source, runtime.database, runtime.bus)
    return report.model_dump()


@blueprint.periodic(cron="*/15 * * * *", periodic_id="quarter-hourly")
@blueprint.task(pass_context=True, **singleton("etl.load_dicts"))
async def load_dicts(
    context: procrastinate.JobContext, timestamp: int | None = None
) -> dict[str, Any]:
    return await run_load_dicts(runtime_of(context))
