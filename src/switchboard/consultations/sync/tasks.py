"""The outbox runner: carries changes out to Chatwoot and 1C, records failures, retries.

Two ways in, one way of working:
- `carry_out(runtime, ids)` — the request that queued the tasks runs them right after its commit.
  Tasks of one order key run in order; different keys run concurrently. Whatever is not done
  when it returns is left to … `start_carrying_out` is the same, for a request that answers as
  soon as the peers have (the booking answers with the new conversation and document while
  their ids are written; a process that dies meanwhile leaves the tasks to the worker, whose
  second run finds the conversation and the document instead of making new ones);
- `drain(runtime)` — the worker's job `sync.drain_outbox` (deferred every 10 seconds; each copy
  drains what is due and ends), which claims due tasks with SKIP LOCKED and a lease, so any
  number of workers share the work and a task is never run by two processes at once.

Each task: prepare (short transaction) → call the peer (no transaction) → record the result and
mark it done (one transaction). A failure is written to `log.external_failures`; a retryable one
is tried again after a backoff, a refusal waits for a person ("retry now" in the admin API).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Literal

import procrastinate
import structlog
from procrastinate import JobContext

from switchboard.consultations.operations import OPERATIONS
from switchboard.consultations.sync import repository, service
from switchboard.consultations.sync.operations import ATTEMPT, NotReady, Operation, Skip
from switchboard.core.http.errors import IntegrationError, PeerUnavailable
from switchboard.core.inflight import InFlight
from switchboard.core.jobs import runtime_of, singleton

if TYPE_CHECKING:
    from switchboard.runtime import Runtime

log = structlog.get_logger(__name__)

blueprint = procrastinate.Blueprint()

#: A task whose prerequisite has not landed is looked at again after this long.
NOT_READY_DELAY = timedelta(seconds=5)
#: A peer that is not configured in this deployment is looked at again after this long.
UNCONFIGURED_DELAY = timedelta(minutes=10)

#: "answered": the peer answered and its answer is being written (`on_answer` of `run_task`).
Status = Literal["done", "answered", "pending", "failed", "skipped", "gone"]


@dataclass(frozen=True)
class TaskOutcome:
    task_id: int
    operation: str
    status: Status
    result: Mapping[str, Any] | None = None
    error: IntegrationError | None = None


class PeerNotConfigured(PeerUnavailable):
    """This deployment has no adapter for the task's peer (yet): wait, do not lose the change."""


def _operation(name: str) -> Operation | None:
    return OPERATIONS.get(name)


async def _prepare(
    runtime: Runtime, task_id: int, *, own: bool
) -> tuple[Operation, Mapping[str, Any], Any] | TaskOutcome:
    """Claim (when the caller owns the task) and read what the call needs, in one transaction."""
    async with runtime.database.transaction() as session:
        if own:
            task = await repository.claim_own(
                session, task_id, lease_seconds=service.RUN_LEASE_SECONDS
            )
        else:
            task = await repository.task(session, task_id)
        if task is None:
            return TaskOutcome(task_id, "?", "gone")
        operation = _operation(task.operation)
        if operation is None:
            reason = f"unknown operation {task.operation!r} (not in consultations/operations.py)"
            await repository.add_failure(
                session,
                task=task,
                error_kind="UnknownOperation",
                status_code=None,
                message=reason,
                will_retry=False,
            )
            await repository.park_failed(session, task_id, error=reason)
            return TaskOutcome(task_id, task.operation, "failed")
        payload = {**task.payload, ATTEMPT: task.attempts}
        try:
            prepared = await operation.prepare(session, payload)
        except NotReady as waiting:
            await repository.postpone(
                session, task_id, delay=NOT_READY_DELAY, error=str(waiting), count_attempt=False
            )
            return TaskOutcome(task_id, task.operation, "pending")
        except Skip as pointless:
            await repository.mark_closed(
                session, task_id, status="cancelled", reason=str(pointless) or "skipped"
            )
            return TaskOutcome(task_id, task.operation, "skipped")
    return operation, payload, prepared


async def _call(runtime: Runtime, operation: Operation, prepared: Any) -> Mapping[str, Any] | None:
    adapters = runtime.adapters
    configured = adapters.chat if operation.target == "chatwoot" else adapters.accounting
    if configured is None:
        raise PeerNotConfigured(operation.target, f"{operation.target} is not configured")
    return await operation.call(adapters, prepared)


async def _settle_failure(
    runtime: Runtime, task_id: int, name: str, error: IntegrationError
) -> TaskOutcome:
    async with runtime.database.transaction() as session:
        task = await repository.task(session, task_id)
        if task is None:  # its consultation was deleted meanwhile (a refused booking)
            return TaskOutcome(task_id, name, "gone", error=error)
        verdict = await service.record_failure(session, task, error)
        if isinstance(error, PeerNotConfigured):
            await repository.postpone(
                session, task_id, delay=UNCONFIGURED_DELAY, error=str(error), count_attempt=True
            )
    status: Status = "pending" if verdict.will_retry else "failed"
    log.warning(
        "outbox task failed",
        task_id=task_id,
        operation=name,
        error=verdict.message,
        will_retry=verdict.will_retry,
    )
    return TaskOutcome(task_id, name, status, error=error)


async def run_task(
    runtime: Runtime,
    task_id: int,
    *,
    own: bool = False,
    on_answer: Callable[[TaskOutcome], None] | None = None,
) -> TaskOutcome:
    """Carry out one task whose lease this process holds (claimed by `drain`, or created by the
    caller with a lease when `own`). `on_answer` hears the peer's answer before it is written."""
    prepared = await _prepare(runtime, task_id, own=own)
    if isinstance(prepared, TaskOutcome):
        return prepared
    operation, payload, arguments = prepared
    try:
        result = await _call(runtime, operation, arguments)
    except IntegrationError as error:
        return await _settle_failure(runtime, task_id, operation.name, error)
    if on_answer is not None:
        on_answer(TaskOutcome(task_id, operation.name, "answered", result=result))
    async with runtime.database.transaction() as session:
        # Marked first, in the same transaction as the record: a task that is gone (a refused
        # booking deleted its consultation meanwhile) records nothing.
        if not await repository.mark_done(session, task_id, result):
            return TaskOutcome(task_id, operation.name, "gone", result=result)
        await operation.record(session, payload, result)
    return TaskOutcome(task_id, operation.name, "done", result=result)


async def _order_keys(
    runtime: Runtime, task_ids: Sequence[int], known: Mapping[int, str | None] | None
) -> list[list[int]]:
    """The tasks grouped by order key (each group in id order; groups in first-seen order)."""
    groups: dict[str, list[int]] = {}
    if known is not None and all(task_id in known for task_id in task_ids):
        keys = dict(known)
    else:
        async with runtime.database.transaction() as session:
            keys = await repository.order_keys(session, task_ids)
    for task_id in sorted(task_ids):
        groups.setdefault(keys.get(task_id) or f"task:{task_id}", []).append(task_id)
    return list(groups.values())


async def _release(runtime: Runtime, task_ids: Sequence[int]) -> None:
    """Hand tasks not carried out over to the worker now (instead of after their lease)."""
    async with runtime.database.transaction() as session:
        for task_id in task_ids:
            await repository.postpone(
                session, task_id, delay=timedelta(0), error=None, count_attempt=True
            )


class Carrying:
    """The caller's own tasks being carried out (see `start_carrying_out`)."""

    def __init__(self, runtime: Runtime, task_ids: Sequence[int], groups: list[list[int]]):
        self._runtime = runtime
        self._task_ids = list(task_ids)
        self._groups = groups
        self._outcomes: dict[int, TaskOutcome] = {}
        self._unanswered = len(groups)
        self._all_answered = asyncio.Event()
        if not groups:
            self._all_answered.set()
        self._job: asyncio.Task[None] | None = None

    def start(self, timeout: float) -> None:
        self._job = self._runtime.extension(InFlight).start(self._run(self._groups, timeout))

    async def answered(self) -> dict[int, TaskOutcome]:
        """The outcomes once every order key's last task has been answered by its peer (or
        has ended otherwise); answers still being written are "answered"."""
        await self._all_answered.wait()
        assert self._job is not None
        if self._job.done() and not self._job.cancelled() and self._job.exception():
            await self._job  # its error is the caller's, as in `carry_out`
        return dict(self._outcomes)

    async def settled(self) -> dict[int, TaskOutcome]:
        """The outcomes once everything is written (or left to the worker)."""
        assert self._job is not None
        await asyncio.shield(self._job)
        return dict(self._outcomes)

    def _one_answered(self) -> None:
        self._unanswered -= 1
        if self._unanswered <= 0:
            self._all_answered.set()

    async def _run(self, groups: list[list[int]], timeout: float) -> None:
        try:
            async with asyncio.timeout(timeout):
                await asyncio.gather(*(self._run_in_order(group) for group in groups))
        except TimeoutError:
            log.info("outbox fast path timed out; the worker continues", tasks=len(self._task_ids))
        finally:
            self._all_answered.set()
        unsettled = [
            task_id
            for task_id in self._task_ids
            if task_id not in self._outcomes or self._outcomes[task_id].status == "answered"
        ]
        if unsettled:
            await _release(self._runtime, unsettled)

    async def _run_in_order(self, group: list[int]) -> None:
        heard = False

        def hear(outcome: TaskOutcome) -> None:
            nonlocal heard
            self._outcomes[outcome.task_id] = outcome
            if not heard:
                heard = True
                self._one_answered()

        try:
            for position, task_id in enumerate(group):
                last = position == len(group) - 1
                outcome = await run_task(
                    self._runtime, task_id, own=True, on_answer=hear if last else None
                )
                self._outcomes[task_id] = outcome
                if outcome.status not in ("done", "skipped"):
                    return  # later changes of this key wait for this one (the worker continues)
        finally:
            if not heard:
                heard = True
                self._one_answered()


async def start_carrying_out(
    runtime: Runtime,
    task_ids: Sequence[int],
    *,
    timeout: float,
    order_keys: Mapping[int, str | None] | None = None,
) -> Carrying:
    """Start running the caller's own tasks (as `carry_out`) and return at once: `answered()`
    waits for the peers' answers, `settled()` for their records too. The run goes on when the
    caller is gone; what is not done within `timeout` seconds is the worker's."""
    groups = await _order_keys(runtime, task_ids, order_keys)
    carrying = Carrying(runtime, task_ids, groups)
    carrying.start(timeout)
    return carrying


async def carry_out(
    runtime: Runtime,
    task_ids: Sequence[int],
    *,
    timeout: float,
    order_keys: Mapping[int, str | None] | None = None,
) -> dict[int, TaskOutcome]:
    """Run the caller's own tasks now, each order key's in order and the keys concurrently, for
    at most `timeout` seconds; what is not done by then is the worker's (nothing is lost).
    `order_keys` (from `service.queued_order_keys`) saves reading them back."""
    carrying = await start_carrying_out(runtime, task_ids, timeout=timeout, order_keys=order_keys)
    return await carrying.settled()


def _never() -> bool:
    return False


async def drain(
    runtime: Runtime, *, batch: int = 16, should_stop: Callable[[], bool] = _never
) -> dict[str, int]:
    """Carry out due tasks until none is due (or `should_stop` says so between batches).

    Returns counts per outcome status. Tasks run concurrently up to `batch` at a time; the claim
    keeps each order key's tasks in order across batches and workers.
    """
    counts: Counter[str] = Counter()
    while not should_stop():
        async with runtime.database.transaction() as session:
            claimed = await repository.claim_due(
                session, limit=batch, lease_seconds=service.RUN_LEASE_SECONDS
            )
        if not claimed:
            break
        results = await asyncio.gather(*(run_task(runtime, task_id) for task_id in claimed))
        counts.update(outcome.status for outcome in results)
    return dict(counts)


# Every 10 seconds (croniter's sixth field is seconds): a copy drains what is due and ends, so
# it never holds a worker's slot while idle, nor delays the worker's shutdown.
@blueprint.periodic(cron="* * * * * */10", periodic_id="every-10-seconds")
@blueprint.task(pass_context=True, **singleton("sync.drain_outbox"))
async def drain_outbox(context: JobContext, timestamp: int | None = None) -> dict[str, int]:
    """Carry out the changes owed to Chatwoot and 1C (the outbox), retrying failed ones."""
    return await drain(runtime_of(context), should_stop=context.should_abort)


#: How long settled outbox tasks, webhook deliveries and ETL runs are kept.
LOG_RETENTION_DAYS = 30


@blueprint.periodic(cron="41 2 * * *", periodic_id="daily")
@blueprint.task(pass_context=True, **singleton("sync.prune_logs"))
async def prune_logs(context: JobContext, timestamp: int | None = None) -> dict[str, int]:
    """Forget settled outbox tasks, webhook deliveries and ETL runs older than 30 days."""
    runtime = runtime_of(context)
    async with runtime.database.transaction() as session:
        removed = await repository.prune_logs(session, days=LOG_RETENTION_DAYS)
    return {"removed": removed}
