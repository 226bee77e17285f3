"""Jobs that keep the platform's own machinery healthy."""

from __future__ import annotations

from datetime import timedelta

import procrastinate
import structlog

from switchboard.core.jobs import runtime_of, singleton

log = structlog.get_logger(__name__)

blueprint = procrastinate.Blueprint()

#: A worker silent for this long is considered dead; its running jobs are queued again.
STALLED_AFTER_SECONDS = 60
FINISHED_JOBS_KEPT_HOURS = 72
EVENT_HISTORY = timedelta(hours=6)


@blueprint.periodic(cron="*/5 * * * *", periodic_id="every-5-min")
@blueprint.task(pass_context=True, **singleton("housekeeping.retry_stalled_jobs"))
async def retry_stalled_jobs(
    context: procrastinate.JobContext, timestamp: int | None = None
) -> int:
    """procrastinate does not requeue the jobs of a worker that died mid-job; this does."""
    manager = context.app.job_manager
    stalled = list(await manager.get_stalled_jobs(seconds_since_heartbeat=STALLED_AFTER_SECONDS))
    for job in stalled:
        log.warning("requeueing stalled job", job_id=job.id, task=job.task_name)
        await manager.retry_job(job)
    return len(stalled)


@blueprint.periodic(cron="17 * * * *", periodic_id="hourly")
@blueprint.task(pass_context=True, **singleton("housekeeping.remove_old_jobs"))
async def remove_old_jobs(context: procrastinate.JobContext, timestamp: int | None = None) -> None:
    """Keep the queue table small: finished jobs go after three days (failed ones stay, for
    an operator to look at)."""
    await context.app.job_manager.delete_old_jobs(nb_hours=FINISHED_JOBS_KEPT_HOURS)


@blueprint.periodic(cron="*/10 * * * *", periodic_id="every-10-min")
@blueprint.task(pass_context=True, **singleton("housekeeping.prune_events"))
async def prune_events(context: procrastinate.JobContext, timestamp: int | None = None) -> int:
    """Forget real-time events older than the replay window of reconnecting clients."""
    from switchboard.core.realtime.postgres import PostgresBus

    bus = runtime_of(context).bus
    if not isinstance(bus, PostgresBus):
        return 0
    return await bus.prune(EVENT_HISTORY)
