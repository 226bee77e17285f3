"""Jobs that keep the platform's own machinery healthy."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta

import procrastinate
import structlog
from procrastinate.jobs import Status

from switchboard.core.jobs import (
    AlreadyRunning,
    exclusive,
    job_liveness_lock,
    lock_is_free,
    runtime_of,
    singleton,
)

log = structlog.get_logger(__name__)

blueprint = procrastinate.Blueprint()

#: A worker silent for this long is considered dead, and so are the jobs it was running.
STALLED_AFTER_SECONDS = 60.0
#: How often each worker looks for such jobs (one worker at a time does it).
STALLED_CHECK_SECONDS = 60.0
STALLED_CHECK_LOCK = "housekeeping.requeue_stalled_jobs"
FINISHED_JOBS_KEPT_HOURS = 72
EVENT_HISTORY = timedelta(hours=6)


@dataclass
class StalledJobs:
    requeued: list[int] = field(default_factory=list)
    #: Dead copies closed as failed because another copy was already waiting to run.
    closed: list[int] = field(default_factory=list)
    #: Jobs whose worker looks dead but whose exclusive lock is still held: alive somewhere.
    alive: list[int] = field(default_factory=list)


async def requeue_stalled_jobs(
    app: procrastinate.App, database_url: str, *, stalled_after: float = STALLED_AFTER_SECONDS
) -> StalledJobs:
    """Give the jobs of dead workers another run, without ever running a job twice at once.

    procrastinate leaves the job of a killed worker `doing`, holding its lock, so no other copy
    starts. A job is taken back only when its worker's heartbeat is older than `stalled_after`
    AND the process that ran it is gone: its liveness lock (`liveness_middleware`) and its
    cluster-wide `exclusive` lock are both free (a frozen or busy worker keeps them). Then it is
    queued again — or, when a copy is already waiting (its `queueing_lock` allows one), closed as
    failed, leaving the waiting copy to run.
    """
    manager = app.job_manager
    result = StalledJobs()
    for job in await manager.get_stalled_jobs(seconds_since_heartbeat=stalled_after):
        assert job.id is not None
        if not await _owner_is_gone(database_url, job):
            result.alive.append(job.id)
            continue
        try:
            await manager.retry_job(job)
        except procrastinate.exceptions.UniqueViolation:
            await manager.finish_job(job, status=Status.FAILED, delete_job=False)
            log.warning(
                "stalled job closed as failed: another copy is waiting to run",
                job_id=job.id,
                task=job.task_name,
            )
            result.closed.append(job.id)
            continue
        log.warning("stalled job queued again", job_id=job.id, task=job.task_name)
        result.requeued.append(job.id)
    return result


async def _owner_is_gone(database_url: str, job: procrastinate.jobs.Job) -> bool:
    """The process that ran `job` holds neither the job's liveness lock nor its work lock."""
    assert job.id is not None
    if not await lock_is_free(database_url, job_liveness_lock(job.id)):
        return False
    return not job.lock or await lock_is_free(database_url, job.lock)


async def watch_stalled_jobs(
    app: procrastinate.App,
    database_url: str,
    *,
    stalled_after: float = STALLED_AFTER_SECONDS,
    every: float = STALLED_CHECK_SECONDS,
) -> None:
    """Run `requeue_stalled_jobs` every `every` seconds, one worker of the cluster at a time.

    Runs until cancelled; a failed round (the database away) is logged and the next one tried.
    """
    while True:
        await asyncio.sleep(every)
        try:
            async with exclusive(database_url, STALLED_CHECK_LOCK):
                await requeue_stalled_jobs(app, database_url, stalled_after=stalled_after)
        except AlreadyRunning:
            continue  # another worker is doing this round
        except Exception as exc:  # the database is away or refused: next round tries again
            log.warning("stalled-job check failed", error=f"{type(exc).__name__}: {exc}")


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
