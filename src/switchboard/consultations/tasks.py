"""Domain-wide jobs: the start-up pulls, run in the order their data depends on.

Each ETL job also runs on its own schedule; this chain only makes a freshly started deployment
(the demo, a new installation) useful at once instead of at the next quarter hour — managers
before their Chatwoot agents, clients before their consultations.
"""

from __future__ import annotations

from typing import Any

import procrastinate
import structlog
from procrastinate import JobContext

from switchboard.core.http.errors import IntegrationError
from switchboard.core.jobs import AlreadyRunning, runtime_of, singleton

log = structlog.get_logger(__name__)

blueprint = procrastinate.Blueprint()

#: What `SYNC_USERS_ON_START` pulls, in order.
STAFF_PULLS = ("pull_users", "sync_users_to_chatwoot")
#: What `PULL_ON_START` pulls, in order.
CONSULTATION_PULLS = (
    "pull_clients_cl",
    "pull_cons_cl",
    "pull_all_cons_cl",
    "pull_cons_redate_cl",
    "pull_cons_rates_cl",
    "pull_calls_cl",
    "pull_queue_closing_cl",
)


@blueprint.task(pass_context=True, **singleton("consultations.start_up_pulls"))
async def start_up_pulls(context: JobContext, jobs: list[str]) -> dict[str, Any]:
    """Run these ETL jobs one after the other; one that fails does not stop the next (each is
    retried by its own schedule)."""
    runtime = runtime_of(context)
    reports: dict[str, Any] = {}
    for name in jobs:
        job = runtime.etl_jobs.get(name)
        if job is None:
            reports[name] = {"skipped": "no such ETL job"}
            continue
        try:
            reports[name] = await job.run(runtime, wait=True)
        except (IntegrationError, AlreadyRunning) as failure:
            log.warning(
                "start-up pull failed; its schedule retries it", job=name, error=str(failure)
            )
            reports[name] = {"error": str(failure)}
    return reports
