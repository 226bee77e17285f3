"""`/api/admin/*`: what operators need to see and do about the sync with Chatwoot and 1C.

Failed external attempts with "retry now" and "cancel", the outbox by status, and each ETL job's
last runs and cursors. Open to `Authorization: Bearer <OPS_TOKEN>` only — never to the front-end
credentials, which live in browsers. While neither OPS_TOKEN nor the front credentials are set
(a development machine, the demo) the admin API is open like everything else; once front
credentials are set without an OPS_TOKEN, it is closed (403).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, status

from switchboard.consultations.sync import repository, schemas, tasks
from switchboard.core.auth import require_ops_token
from switchboard.core.errors import Conflict, NotFound, error_responses
from switchboard.core.jobs import defer_unless_queued
from switchboard.core.routing import StrictQueryRoute
from switchboard.runtime import Session, runtime_of

#: How long "retry now" waits for the peer before answering (the task goes on in the worker).
RETRY_NOW_TIMEOUT_SECONDS = 15.0
TASK_STATUSES = ("pending", "done", "failed", "cancelled")


router = APIRouter(
    prefix="/api/admin",
    tags=["admin"],
    route_class=StrictQueryRoute,
    dependencies=[Depends(require_ops_token)],
    responses=error_responses(401, 403),
)

TaskId = Annotated[int, Path(ge=1, le=2**63 - 1, description="The outbox task's id")]
#: No control characters (PostgreSQL text cannot hold NUL).
PRINTABLE = r"^[^\x00-\x1f\x7f]*$"
Limit = Annotated[int, Query(ge=1, le=500, description="At most this many items")]
Offset = Annotated[int, Query(ge=0, le=10_000_000, description="Skip this many items")]


@router.get(
    "/outbox",
    response_model=schemas.OutboxPage,
    summary="Changes owed to Chatwoot and 1C",
    description=(
        "The outbox, newest first: every change our database owes to Chatwoot or 1C, with its "
        "attempts and the last error. `status` filters (repeat it for several); the default "
        "shows what is not done yet (pending and failed)."
    ),
    responses=error_responses(422),
)
async def outbox(
    session: Session,
    *,
    status_filter: Annotated[
        list[schemas.TaskStatus] | None,
        Query(alias="status", description="pending, done, failed or cancelled"),
    ] = None,
    operation: Annotated[
        str | None,
        Query(max_length=100, pattern=PRINTABLE, description="e.g. onec.create_consultation"),
    ] = None,
    cons_id: Annotated[
        str | None, Query(max_length=100, pattern=PRINTABLE, description="A consultation")
    ] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> schemas.OutboxPage:
    statuses = status_filter or ["pending", "failed"]
    items, total = await repository.list_tasks(
        session,
        statuses=statuses,
        operation=operation,
        cons_id=cons_id,
        limit=limit,
        offset=offset,
    )
    return schemas.OutboxPage(
        total=total,
        counts=await repository.counts_by_status(session),
        items=[schemas.OutboxTaskRead.model_validate(item) for item in items],
    )


@router.get(
    "/outbox/failures",
    response_model=schemas.FailurePage,
    summary="Failed attempts to reach Chatwoot or 1C",
    description=(
        "Every failed attempt, newest first: which change, which peer, what it answered, and "
        "whether another attempt follows on its own (`will_retry`) or the task waits for a "
        "person (`POST /api/admin/outbox/{task_id}/retry`)."
    ),
    responses=error_responses(422),
)
async def failures(
    session: Session,
    task_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> schemas.FailurePage:
    items, total = await repository.list_failures(
        session, task_id=task_id, limit=limit, offset=offset
    )
    return schemas.FailurePage(
        total=total, items=[schemas.FailureRead.model_validate(item) for item in items]
    )


@router.post(
    "/outbox/{task_id}/retry",
    response_model=schemas.RetryOutcome,
    summary="Retry a change now",
    description=(
        "Makes a pending or failed task due and carries it out at once, answering with what "
        f"came of it (waits at most {RETRY_NOW_TIMEOUT_SECONDS:.0f} s; the worker goes on "
        "after that). A done or cancelled task cannot be retried (409)."
    ),
    responses=error_responses(404, 409, 422),
)
async def retry_now(request: Request, task_id: TaskId) -> schemas.RetryOutcome:
    runtime = runtime_of(request)
    async with runtime.database.transaction() as session:
        task = await repository.task(session, task_id)
        if task is None:
            raise NotFound("task_not_found", "There is no outbox task {task_id}.", task_id=task_id)
        if await repository.reopen(session, task_id) is None:
            raise Conflict(
                "task_settled",
                "Task {task_id} is {status}; only pending or failed tasks can be retried.",
                task_id=task_id,
                status=task.status,
            )
    outcomes = await tasks.carry_out(runtime, [task_id], timeout=RETRY_NOW_TIMEOUT_SECONDS)
    outcome = outcomes.get(task_id)
    async with runtime.database.transaction() as session:
        current = await repository.task(session, task_id)
    if current is None:
        raise NotFound("task_not_found", "There is no outbox task {task_id}.", task_id=task_id)
    return schemas.RetryOutcome(
        task=schemas.OutboxTaskRead.model_validate(current),
        outcome=outcome.status if outcome is not None else "pending",
        error=str(outcome.error) if outcome is not None and outcome.error is not None else None,
    )


@router.post(
    "/outbox/{task_id}/cancel",
    response_model=schemas.OutboxTaskRead,
    summary="Give up a change",
    description=(
        "Closes a pending or failed task without carrying it out (e.g. a change a person made "
        "in the peer by hand). Later changes of the same consultation to the same peer, which "
        "waited for it, go ahead."
    ),
    responses=error_responses(404, 409, 422),
)
async def cancel(session: Session, task_id: TaskId) -> schemas.OutboxTaskRead:
    task = await repository.task(session, task_id)
    if task is None:
        raise NotFound("task_not_found", "There is no outbox task {task_id}.", task_id=task_id)
    if task.status not in ("pending", "failed"):
        raise Conflict(
            "task_settled",
            "Task {task_id} is {status}; only pending or failed tasks can be cancelled.",
            task_id=task_id,
            status=task.status,
        )
    await repository.mark_closed(session, task_id, status="cancelled", reason="cancelled by hand")
    await session.flush()
    await session.refresh(task)
    return schemas.OutboxTaskRead.model_validate(task)


@router.get(
    "/etl",
    response_model=schemas.EtlState,
    summary="ETL jobs: last runs and cursors",
    description=(
        "For every ETL job: its latest run (status, rows, error), its latest successful run and "
        "the failed runs of the last 24 hours; and every incremental cursor (`sys.sync_state`)."
    ),
)
async def etl_state(request: Request, session: Session) -> schemas.EtlState:
    jobs = sorted(runtime_of(request).etl_jobs)
    summary = await repository.etl_runs_summary(session, jobs)

    def run(value: object) -> schemas.EtlRunRead | None:
        return schemas.EtlRunRead.model_validate(value) if value is not None else None

    return schemas.EtlState(
        jobs=[
            schemas.EtlJobState(
                job=job,
                last_run=run(summary[job]["last_run"]),
                last_success=run(summary[job]["last_success"]),
                failures_last_24h=summary[job]["failures"],
            )
            for job in jobs
        ],
        cursors=[
            schemas.SyncCursor.model_validate(row) for row in await repository.sync_cursors(session)
        ],
    )


@router.post(
    "/etl/{job}/run",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=schemas.EtlRunQueued,
    summary="Run an ETL job soon",
    description=(
        "Queues the job for the worker (it runs under the job's cluster-wide lock, like its "
        "scheduled runs). `queued` is false when a copy is already waiting."
    ),
    responses=error_responses(404, 422),
)
async def run_etl(
    request: Request,
    job: Annotated[str, Path(max_length=100, description="e.g. pull_cons_cl")],
) -> schemas.EtlRunQueued:
    runtime = runtime_of(request)
    found = runtime.etl_jobs.get(job)
    if found is None:
        raise NotFound("etl_job_not_found", "There is no ETL job {job}.", job=job)
    queued = await defer_unless_queued(runtime.jobs, found.task)
    return schemas.EtlRunQueued(job=job, queued=queued)
