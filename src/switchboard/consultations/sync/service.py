"""The outbox's rules: how a change is queued, how long to wait after a failure, what needs a
person. Runs inside the caller's transaction; the runner that owns transactions is `tasks.py`."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.consultations.sync import repository
from switchboard.consultations.sync.models import OutboxTask
from switchboard.core.http.errors import IntegrationError

#: Waits after the 1st, 2nd, … failed attempt (then the last one again), before jitter: a peer
#: that is down for a minute is retried within seconds, one down for a day about hourly.
BACKOFF_SECONDS = (5, 15, 45, 120, 300, 900, 1800, 3600)
#: How long a running task is reserved for the process running it. Longer than any call with
#: its retries; a process that dies leaves the task to be taken again after it.
RUN_LEASE_SECONDS = 120.0
_ORDER_KEYS = "outbox_order_keys"


def target_of(operation: str) -> str:
    """`chatwoot.open_conversation` → `chatwoot`: the peer is the operation's prefix."""
    target, dot, _ = operation.partition(".")
    if not dot or target not in ("chatwoot", "onec"):
        raise ValueError(f"operation {operation!r} must start with 'chatwoot.' or 'onec.'")
    return target


def default_order_key(target: str, cons_id: str | None) -> str | None:
    return f"{target}:{cons_id}" if cons_id is not None else None


async def enqueue(
    session: AsyncSession,
    operation: str,
    payload: Mapping[str, Any],
    *,
    cons_id: str | None = None,
    order_key: str | None = None,
    dedupe_key: str | None = None,
    delay_seconds: float = 0,
    lease_seconds: float | None = None,
) -> int | None:
    """Queue a change owed to a peer, in the caller's transaction (so it exists if and only if
    the caller's change commits). Returns the task id, or None when `dedupe_key` is queued
    already. `lease_seconds` reserves the task for the caller, which carries it out itself right
    after its commit (`tasks.carry_out`); the worker takes it only if that lease runs out."""
    target = target_of(operation)
    key = order_key or default_order_key(target, cons_id)
    task_id = await repository.insert_task(
        session,
        operation=operation,
        target=target,
        payload=payload,
        cons_id=cons_id,
        order_key=key,
        dedupe_key=dedupe_key,
        delay=timedelta(seconds=delay_seconds),
        lease=timedelta(seconds=lease_seconds) if lease_seconds is not None else None,
    )
    if task_id is not None:
        session.info.setdefault(_ORDER_KEYS, {})[task_id] = key
    return task_id


@dataclass(frozen=True)
class Change:
    """One change for `enqueue_many` (the arguments of `enqueue`, without a dedupe key)."""

    operation: str
    payload: Mapping[str, Any]
    cons_id: str | None = None
    order_key: str | None = None
    lease_seconds: float | None = None


async def enqueue_many(session: AsyncSession, changes: Sequence[Change]) -> list[int]:
    """Queue several changes in one statement, as `enqueue` does each; their ids in the same
    order (a change queued earlier runs earlier under a shared order key)."""
    rows = []
    for change in changes:
        target = target_of(change.operation)
        rows.append(
            {
                "operation": change.operation,
                "target": target,
                "payload": dict(change.payload),
                "cons_id": change.cons_id,
                "order_key": change.order_key or default_order_key(target, change.cons_id),
                "lease_seconds": change.lease_seconds,
            }
        )
    task_ids = await repository.insert_tasks(session, rows)
    known = session.info.setdefault(_ORDER_KEYS, {})
    for task_id, row in zip(task_ids, rows, strict=True):
        known[task_id] = row["order_key"]
    return task_ids


def queued_order_keys(session: AsyncSession) -> dict[int, str | None]:
    """The order keys of the tasks queued in this session's transaction (for `carry_out`)."""
    return dict(session.info.get(_ORDER_KEYS, {}))


def backoff(attempt: int, *, retry_after: float | None = None) -> timedelta:
    """The wait before the next attempt after `attempt` failed ones (jittered ±20 %)."""
    base = BACKOFF_SECONDS[min(max(attempt, 1), len(BACKOFF_SECONDS)) - 1]
    wait = base * random.uniform(0.8, 1.2)
    return timedelta(seconds=max(wait, retry_after or 0.0))


@dataclass(frozen=True)
class FailureVerdict:
    will_retry: bool
    error_kind: str
    status_code: int | None
    message: str


def judge(error: IntegrationError) -> FailureVerdict:
    """Retry what may heal by waiting (down, slow, overloaded); park what a person must see (a
    refusal: bad data, wrong credentials, a business rule)."""
    return FailureVerdict(
        will_retry=error.retriable,
        error_kind=type(error).__name__,
        status_code=error.status_code,
        message=str(error),
    )


async def record_failure(
    session: AsyncSession, task: OutboxTask, error: IntegrationError
) -> FailureVerdict:
    verdict = judge(error)
    await repository.add_failure(
        session,
        task=task,
        error_kind=verdict.error_kind,
        status_code=verdict.status_code,
        message=verdict.message,
        will_retry=verdict.will_retry,
    )
    if verdict.will_retry:
        await repository.postpone(
            session,
            task.id,
            delay=backoff(task.attempts, retry_after=error.retry_after),
            error=verdict.message,
            count_attempt=True,
        )
    else:
        await repository.park_failed(session, task.id, error=verdict.message)
    return verdict
