"""What an outbox operation is: read what it needs, call the peer, write back what came of it.

Each part of the domain declares its operations (`<part>/operations.py: OPERATIONS`) and
`consultations/operations.py` lists them by name. The runner (`sync/tasks.py`) carries a task out
in three steps, so that no transaction stays open while a peer is being called:

1. `prepare(session, payload)` in a short transaction: read what the call needs from our
   database (e.g. the conversation id a message goes to). Raise `NotReady` when an earlier change
   has not landed yet; the task waits without counting a failure.
2. `call(adapters, prepared)` with no transaction: the external request(s). Raises our
   integration errors (`core/http/errors.py`); a retryable one schedules another attempt with
   backoff, a definite refusal (`PeerRejected`, `PeerBusinessError`) parks the task as failed for a
   person to look at (and "retry now").
3. `record(session, payload, result)` in the transaction that marks the task done: write back
   ids and state (e.g. the 1C `Ref_Key` and `Number`).

Calls must be safe to repeat: a worker may die after the peer took the change and before the
task was marked done. The adapters make their writes idempotent (a 1C `Ref_Key` chosen before the
first attempt, a Chatwoot conversation found by our reference before opening another one).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from switchboard.integrations.registry import Adapters

Target = Literal["chatwoot", "onec"]
#: The payload key `prepare` finds the attempt number under (1 on the first attempt): a first
#: attempt can skip looking for what an earlier, lost attempt may have made at the peer.
ATTEMPT = "_attempt"
Payload = Mapping[str, Any]


class NotReady(Exception):
    """The task cannot run yet (something it depends on has not landed); try again shortly."""


class Skip(Exception):
    """Nothing to do any more (e.g. the consultation was cancelled meanwhile): close the task."""


async def pass_payload(session: AsyncSession, payload: Payload) -> Any:
    return payload


async def record_nothing(session: AsyncSession, payload: Payload, result: Any) -> None:
    return None


@dataclass(frozen=True)
class Operation:
    name: str
    target: Target
    call: Callable[[Adapters, Any], Awaitable[Mapping[str, Any] | None]]
    prepare: Callable[[AsyncSession, Payload], Awaitable[Any]] = pass_payload
    record: Callable[[AsyncSession, Payload, Any], Awaitable[None]] = record_nothing
