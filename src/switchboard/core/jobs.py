"""Durable jobs and schedules on PostgreSQL, with procrastinate.

* Tasks are declared on `procrastinate.Blueprint`s in each domain's `tasks.py` and collected by
  `switchboard.worker`. Periodic ones carry their cron next to the code.
* A periodic job is deferred once per period whatever the number of workers (procrastinate's
  own guarantee), and runs under a `lock` plus a `queueing_lock` named after the task: at most one
  copy runs and at most one waits, across every worker on every host.
* `exclusive(name)` is the cluster-wide lock of a piece of work whatever starts it: an ETL job
  takes it in the worker and in `switchboard etl` alike. It is a PostgreSQL advisory lock held by a
  connection of its own, so it dies with the process that holds it (a `kill -9` frees it).
* `etl_task` declares a scheduled ETL job once: its queue task (singleton, retried, on a cron),
  its skip when the external system is not configured, and its foreground runner.
* `defer_in_transaction` enqueues on the caller's own connection, so the job exists if and only
  if the business change that implies it commits.
* Failed attempts are retried with exponential backoff and jitter when the failure is worth
  retrying (a peer down, the database unreachable); other failures stay `failed` in the queue
  table for an operator to see and retry.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING, Any, Self

import orjson
import procrastinate
import psycopg
import sqlalchemy.exc
import structlog
from procrastinate import JobContext, RetryDecision
from procrastinate.jobs import Job, JobDeferrer
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.core.db.session import libpq_url

if TYPE_CHECKING:
    from switchboard.runtime import Runtime

log = structlog.get_logger(__name__)

RUNTIME_KEY = "runtime"
QUEUE_CONNECTION_TIMEOUT_SECONDS = 10.0


@dataclass(kw_only=True)
class BackoffRetry(procrastinate.BaseRetryStrategy):
    """Exponential backoff with full jitter, retrying only failures that may heal by waiting."""

    max_attempts: int = 6
    base_seconds: float = 5.0
    max_seconds: float = 900.0

    def get_retry_decision(self, *, exception: BaseException, job: Job) -> RetryDecision | None:
        if job.attempts + 1 >= self.max_attempts or not is_transient(exception):
            return None
        ceiling = min(self.max_seconds, self.base_seconds * 2**job.attempts)
        retry_after = getattr(exception, "retry_after", None)
        wait = max(float(retry_after or 0), random.uniform(ceiling / 2, ceiling))
        return RetryDecision(retry_in={"seconds": int(wait) + 1})


def is_transient(exception: BaseException) -> bool:
    """Worth another try later: an external system or the database was unavailable."""
    if getattr(exception, "retriable", False):
        return True
    return isinstance(
        exception,
        (
            psycopg.OperationalError,
            sqlalchemy.exc.OperationalError,
            sqlalchemy.exc.InterfaceError,
            ConnectionError,
            TimeoutError,
        ),
    )


def singleton(name: str) -> dict[str, Any]:
    """Task options so that one copy runs and one waits, cluster-wide."""
    return {"name": name, "lock": name, "queueing_lock": name, "retry": BackoffRetry()}


def create_job_app(
    database_url: str, blueprints: list[procrastinate.Blueprint]
) -> procrastinate.App:
    connector = procrastinate.PsycopgConnector(
        conninfo=libpq_url(database_url),
        min_size=1,
        max_size=5,
        # The queue's own statements are short: a connection not had within this many seconds
        # means the database is away, and the worker should find out (and start over) soon.
        timeout=QUEUE_CONNECTION_TIMEOUT_SECONDS,
    )
    app = procrastinate.App(connector=connector)
    for blueprint in blueprints:
        app.add_tasks_from(blueprint, namespace="")
    return app


Task = procrastinate.tasks.Task[Any, Any, Any]


def configure_job(app: procrastinate.App, task: Task, **options: Any) -> JobDeferrer:
    """A deferrer for `task` through `app`'s own queue connection.

    procrastinate binds module-level tasks to the last app they were added to; going through
    `app.job_manager` explicitly keeps several apps in one process (tests) apart.
    """
    return procrastinate.tasks.configure_task(
        name=task.name,
        job_manager=app.job_manager,
        lock=task.lock,
        queueing_lock=task.queueing_lock,
        queue=task.queue,
        priority=task.priority,
        **options,
    )


async def defer_in_transaction(
    session: AsyncSession, app: procrastinate.App, task: Task, **task_kwargs: Any
) -> int:
    """Enqueue `task` on `session`'s connection: it is queued when, and only when, the session's
    transaction commits."""
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    deferrer = configure_job(app, task, connection=raw.driver_connection)
    job_id: int = await deferrer.defer_async(**task_kwargs)
    return job_id


async def defer_unless_queued(
    app: procrastinate.App,
    task: Task,
    *,
    schedule_in: dict[str, int] | None = None,
    **task_kwargs: Any,
) -> bool:
    """Enqueue a singleton task now (or `schedule_in`, e.g. `{"seconds": 1}`); False when a
    copy is already waiting (nothing to do)."""
    options = {"schedule_in": schedule_in} if schedule_in else {}
    try:
        await configure_job(app, task, **options).defer_async(**task_kwargs)
    except procrastinate.exceptions.AlreadyEnqueued:
        return False
    return True


class AlreadyRunning(RuntimeError):
    """Another copy of an exclusive piece of work is running somewhere in the cluster."""

    def __init__(self, name: str) -> None:
        super().__init__(f"a copy of {name} is already running")
        self.name = name


def lock_key(name: str) -> int:
    """A stable 64-bit advisory-lock key for `name`, the same in every process and release."""
    digest = hashlib.blake2b(b"switchboard.exclusive:" + name.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


async def _lock_connection(database_url: str) -> psycopg.AsyncConnection[Any]:
    return await psycopg.AsyncConnection.connect(
        libpq_url(database_url), autocommit=True, connect_timeout=10
    )


async def _try_lock(connection: psycopg.AsyncConnection[Any], key: int) -> bool:
    row = await (await connection.execute("SELECT pg_try_advisory_lock(%s)", (key,))).fetchone()
    return bool(row and row[0])


@asynccontextmanager
async def exclusive(
    database_url: str, name: str, *, wait: bool = False, poll_seconds: float = 1.0
) -> AsyncIterator[None]:
    """Hold the cluster-wide lock `name` for the block.

    With `wait`, wait for a running copy to finish; without, raise `AlreadyRunning`. The lock lives
    on a connection of its own, released when the block ends or the process dies.
    """
    key = lock_key(name)
    connection = await _lock_connection(database_url)
    try:
        announced = False
        while not await _try_lock(connection, key):
            if not wait:
                raise AlreadyRunning(name)
            if not announced:
                log.info("waiting for the running copy to finish", work=name)
                announced = True
            await asyncio.sleep(poll_seconds)
        yield
    finally:
        # Closing the session releases every advisory lock it holds.
        await connection.close()


async def lock_is_free(database_url: str, name: str) -> bool:
    """True when no process holds `exclusive(name)` at this moment."""
    key = lock_key(name)
    connection = await _lock_connection(database_url)
    try:
        if not await _try_lock(connection, key):
            return False
        await connection.execute("SELECT pg_advisory_unlock(%s)", (key,))
        return True
    finally:
        await connection.close()


EtlBody = Callable[[Any], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class Requirement:
    """What an ETL job needs to do anything, e.g. a configured external system."""

    met: Callable[[Any], bool]
    #: Shown when the job skips, e.g. "1C is not configured (ODATA_BASEURL_CL)".
    missing: str


@dataclass
class Tally:
    """Counts of what an ETL page did; a run adds its pages up (`report.add(page_report)`)."""

    def add(self, other: Self) -> None:
        for item in fields(self):
            value = getattr(self, item.name)
            if isinstance(value, int):
                setattr(self, item.name, value + getattr(other, item.name))

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class EtlJob:
    """One scheduled ETL job: its queue task and the runner `switchboard etl <name>` calls."""

    name: str
    task: Task
    body: EtlBody
    requires: Requirement

    @property
    def lock(self) -> str:
        return str(self.task.name)

    async def run(self, runtime: Runtime, *, wait: bool = True) -> dict[str, Any]:
        """Run now, in this process, under the job's cluster-wide lock (see `exclusive`); every
        run is recorded in `sys.etl_runs` and counted in the metrics."""
        if not self.requires.met(runtime):
            log.warning("etl job skipped", job=self.name, reason=self.requires.missing)
            await _record_skipped_run(runtime, self.name, self.requires.missing)
            return {"skipped": self.requires.missing}
        async with exclusive(runtime.database.url, self.lock, wait=wait):
            run_id = await _start_run(runtime, self.name)
            started = time.perf_counter()
            try:
                report = await self.body(runtime)
            except BaseException as failure:
                await _finish_run(runtime, run_id, self.name, started, failure=failure)
                raise
            await _finish_run(runtime, run_id, self.name, started, report=report)
            return report


ProgressCallback = Callable[[int, str | None], None]
#: Where the ETL run of this task reports its pages (the command line's progress bar), if anywhere.
_progress: ContextVar[ProgressCallback | None] = ContextVar("etl_progress", default=None)


def report_progress(rows: int, entity: str | None = None) -> None:
    """An ETL body calls this after each page it processed (`rows` in it, from `entity`)."""
    callback = _progress.get()
    if callback is not None:
        callback(rows, entity)


@contextmanager
def progress_to(callback: ProgressCallback) -> Iterator[None]:
    """Send the pages of ETL runs started inside this block to `callback`."""
    token = _progress.set(callback)
    try:
        yield
    finally:
        _progress.reset(token)


def rows_of(report: dict[str, Any]) -> int | None:
    """The number of rows a run handled, as its report states it (`rows`, else `received`)."""
    for name in ("rows", "received"):
        value = report.get(name)
        if isinstance(value, int):
            return value
    return None


async def _start_run(runtime: Runtime, job: str) -> int:
    async with runtime.database.transaction() as session:
        # The caller holds the job's exclusive lock: a run still marked running was killed.
        await session.execute(
            text(
                "UPDATE sys.etl_runs SET status = 'interrupted', finished_at = now() "
                "WHERE job = :job AND status = 'running'"
            ),
            {"job": job},
        )
        run_id: int = (
            await session.execute(
                text("INSERT INTO sys.etl_runs (job) VALUES (:job) RETURNING id"), {"job": job}
            )
        ).scalar_one()
    return run_id


async def _record_skipped_run(runtime: Runtime, job: str, reason: str) -> None:
    async with runtime.database.transaction() as session:
        await session.execute(
            text(
                "INSERT INTO sys.etl_runs (job, status, finished_at, error) "
                "VALUES (:job, 'skipped', now(), :reason)"
            ),
            {"job": job, "reason": reason},
        )
    runtime.metrics.etl_runs.labels(job, "skipped").inc()


async def _finish_run(
    runtime: Runtime,
    run_id: int,
    job: str,
    started: float,
    *,
    report: dict[str, Any] | None = None,
    failure: BaseException | None = None,
) -> None:
    status = "ok" if failure is None else "failed"
    rows = rows_of(report) if report is not None else None
    seconds = time.perf_counter() - started
    runtime.metrics.etl_runs.labels(job, status).inc()
    runtime.metrics.etl_duration.labels(job).observe(seconds)
    if rows:
        runtime.metrics.etl_rows.labels(job).inc(rows)
    if failure is None:
        runtime.metrics.etl_last_success.labels(job).set_to_current_time()
    error = None if failure is None else f"{type(failure).__name__}: {failure}"[:2000]
    try:
        async with runtime.database.transaction() as session:
            await session.execute(
                text(
                    "UPDATE sys.etl_runs SET status = :status, finished_at = now(), rows = :rows, "
                    "report = CAST(:report AS jsonb), error = :error WHERE id = :id"
                ),
                {
                    "status": status,
                    "rows": rows,
                    "report": orjson.dumps(report).decode() if report is not None else None,
                    "error": error,
                    "id": run_id,
                },
            )
    except (psycopg.Error, sqlalchemy.exc.SQLAlchemyError, OSError) as unrecorded:
        # The database may be the very thing that failed the run; the run's own error is the
        # one that matters, so this one is only logged.
        log.warning("etl run not recorded", job=job, run_id=run_id, error=str(unrecorded))


def etl_task(
    blueprint: procrastinate.Blueprint,
    name: str,
    *,
    cron: str,
    periodic_id: str,
    requires: Requirement,
) -> Callable[[EtlBody], EtlJob]:
    """Declare a scheduled ETL job `etl.<name>` from its body (`async def body(runtime)`).

    The queued copy is a singleton (one runs, one waits), retried with backoff when the failure
    may heal, deferred once per `cron` period by whichever worker is up, skipped when `requires`
    is not met, and run under `exclusive("etl.<name>")` — the same lock as the foreground runner.
    """

    def declare(body: EtlBody) -> EtlJob:
        task_name = f"etl.{name}"

        async def queued(context: JobContext, timestamp: int | None = None) -> dict[str, Any]:
            # A copy started from the command line may hold the lock: wait for it, then load.
            return await job.run(runtime_of(context), wait=True)

        queued.__name__ = queued.__qualname__ = name
        queued.__doc__ = body.__doc__
        task = blueprint.task(pass_context=True, **singleton(task_name))(queued)
        blueprint.periodic(cron=cron, periodic_id=periodic_id)(task)
        job = EtlJob(name=name, task=task, body=body, requires=requires)
        return job

    return declare


def runtime_of(context: JobContext) -> Runtime:
    runtime = context.additional_context.get(RUNTIME_KEY)
    if runtime is None:
        raise RuntimeError("the worker was started without a runtime")
    return runtime  # type: ignore[no-any-return]


def job_liveness_lock(job_id: int) -> str:
    """The lock a worker holds while it runs job `job_id` (see `liveness_middleware`)."""
    return f"job:{job_id}"


WorkerMiddleware = Callable[[Callable[[], Awaitable[Any]], JobContext, Any], Awaitable[Any]]


def liveness_middleware(database_url: str) -> WorkerMiddleware:
    """A worker middleware that holds `exclusive("job:<id>")` while a job runs.

    A heartbeat only says a worker was silent; the lock says whether it is gone: it lives on a
    connection of the running process, so it is released when that process dies (kill -9) and
    kept while the process lives, even frozen or too busy to beat. The stalled-job watchdog takes
    a job back only when this lock is free, so no job ever runs twice at once.
    """

    async def middleware(
        call_next: Callable[[], Awaitable[Any]], context: JobContext, _: Any
    ) -> Any:
        assert context.job.id is not None
        async with exclusive(database_url, job_liveness_lock(context.job.id), wait=True):
            return await call_next()

    return middleware


def metrics_middleware(
    runtime: Runtime,
) -> Callable[[Callable[[], Awaitable[Any]], JobContext, Any], Awaitable[Any]]:
    """A worker middleware that counts and times every job this process runs."""

    async def middleware(
        call_next: Callable[[], Awaitable[Any]], context: JobContext, worker: Any
    ) -> Any:
        task = context.job.task_name
        started = time.perf_counter()
        outcome = "succeeded"
        failure: BaseException | None = None
        result: Any = None
        try:
            result = await call_next()
            return result
        except BaseException as exc:
            outcome, failure = "failed", exc
            raise
        finally:
            seconds = time.perf_counter() - started
            runtime.metrics.job_runs.labels(task, outcome).inc()
            runtime.metrics.job_duration.labels(task).observe(seconds)
            fields = {
                "task": task,
                "job_id": context.job.id,
                "attempt": context.job.attempts + 1,
                "outcome": outcome,
                "seconds": round(seconds, 3),
            }
            if failure is None:
                # A periodic job that found nothing to do (an empty report) is not news.
                level = "info" if result or result is None else "debug"
                getattr(log, level)("job finished", **fields)
            else:
                log.warning(
                    "job finished",
                    **fields,
                    error=f"{type(failure).__name__}: {failure}",
                    transient=is_transient(failure),
                )

    return middleware


async def refresh_job_gauges(runtime: Runtime) -> None:
    """Read the queue's counts per task and status into the `switchboard_jobs` gauge."""
    async with runtime.database.engine.connect() as connection:
        rows = (
            await connection.execute(
                text(
                    "SELECT task_name, status::text, count(*) FROM procrastinate_jobs GROUP BY 1, 2"
                )
            )
        ).all()
    runtime.metrics.jobs.clear()
    for task_name, status, count in rows:
        runtime.metrics.jobs.labels(task_name, status).set(count)
