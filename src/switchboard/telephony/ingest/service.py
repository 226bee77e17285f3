"""Storing the PBX's events: every event is committed before it is answered, and events
arriving together share one statement and one commit (group commit), so one process takes
thousands a second.

The first request of a batch leads it: it waits up to `wait` seconds for others to join (or until
the batch is full), writes the batch, answers everyone in it, and hands the lead to the first
request still waiting. The write is shielded: a leader whose client went away still writes
what it gathered.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Self

import orjson

from switchboard.telephony.ingest import repository
from switchboard.telephony.ingest.schemas import AsteriskEvent
from switchboard.telephony.settings import TelephonySettings

if TYPE_CHECKING:
    from switchboard.core.db import Database
    from switchboard.runtime import Runtime

_LEAD = object()


def body_digest(enterprise_number: str, event_type: str, body: dict[str, Any]) -> str:
    """What makes a redelivery the same event: its type and its body, keys in order."""
    canonical = orjson.dumps([enterprise_number, event_type, body], option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(canonical).hexdigest()


@dataclass
class _Entry:
    row: dict[str, Any]
    answer: asyncio.Future[Any] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class EventWriter:
    """This process's group-committing writer of call events (`runtime.extension`)."""

    def __init__(self, database: Database, *, batch_max: int, wait: float) -> None:
        self.database = database
        self.batch_max = batch_max
        self.wait = wait
        self._pending: list[_Entry] = []
        self._leading = False
        self._full = asyncio.Event()

    @classmethod
    def create(cls, runtime: Runtime) -> Self:
        settings = TelephonySettings.of(runtime.settings)
        return cls(
            runtime.database,
            batch_max=settings.ingest_batch_max,
            wait=settings.ingest_batch_wait_ms / 1000,
        )

    async def store(
        self,
        *,
        enterprise_number: str,
        unique_id: str,
        event_type: str,
        body: dict[str, Any],
        data_source: str = "live",
    ) -> bool:
        """Commit one event; False when the same event was stored before."""
        entry = _Entry(
            {
                "enterprise_number": enterprise_number,
                "unique_id": unique_id,
                "event_type": event_type,
                "raw_data": body,
                "data_source": data_source,
                "body_digest": body_digest(enterprise_number, event_type, body),
            }
        )
        self._pending.append(entry)
        if len(self._pending) >= self.batch_max:
            self._full.set()
        if not self._leading:
            self._leading = True
            await self._lead()
        elif await entry.answer is _LEAD:
            entry.answer = asyncio.get_running_loop().create_future()  # for its own outcome
            await self._lead()
        stored: bool = await entry.answer
        return stored

    async def _lead(self) -> None:
        cancelled = False
        if self.wait > 0 and len(self._pending) < self.batch_max:
            self._full.clear()
            try:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._full.wait(), self.wait)
            except asyncio.CancelledError:
                cancelled = True  # the client went away: what was gathered is written all the same
        batch = self._pending[: self.batch_max]
        del self._pending[: self.batch_max]
        try:
            await asyncio.shield(self._write(batch))
        finally:
            self._hand_over()
        if cancelled:
            raise asyncio.CancelledError

    def _hand_over(self) -> None:
        """The first request still waiting leads the next batch. Requests whose clients went
        away stay in the queue and are written with the next batch (their PBX retries anyway;
        the copy is then a duplicate)."""
        for entry in self._pending:
            if not entry.answer.done():
                entry.answer.set_result(_LEAD)
                return
        self._leading = False

    async def _write(self, batch: list[_Entry]) -> None:
        try:
            async with self.database.engine.begin() as connection:
                inserted = await repository.insert_events(connection, [e.row for e in batch])
        except BaseException as error:
            for entry in batch:
                if not entry.answer.done():
                    entry.answer.set_exception(error)
            raise
        for entry in batch:
            digest = entry.row["body_digest"]
            if not entry.answer.done():
                entry.answer.set_result(digest in inserted)
            inserted.discard(digest)  # a copy in the same batch is a duplicate


#: `download`: the PBX's recovery of a call it could not report in time (its hangup sent again,
#: the recording named), as the reference PBX's download service does.
EVENT_TYPES = ("start", "dial", "bridge", "hangup", "download")


async def store_event(
    writer: EventWriter, enterprise_number: str, event_type: str, event: AsteriskEvent
) -> bool:
    """Commit one validated event of a known enterprise (the token itself is never stored)."""
    return await writer.store(
        enterprise_number=enterprise_number,
        unique_id=event.unique_id,
        event_type=event_type,
        data_source="download" if event_type == "download" else "live",
        body=event.model_dump(mode="json", by_alias=True, exclude={"token"}),
    )
