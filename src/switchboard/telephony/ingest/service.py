"""Storing the PBX's events: every event is committed before it is answered, and events
arriving together share one statement (group commit), so one process takes thousands a second.

The writer keeps a few connections of its own in autocommit: one INSERT is one round trip and
its own transaction. An event is written at once when a connection is free; events arriving while
every connection is busy wait, and all of them go in the next statement, so batches grow with the
load by themselves (no timer to wait out when it is quiet). A write runs on its own: a client
that goes away does not stop what was gathered from being written and answered.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Self

import orjson
import psycopg

from switchboard.core.inflight import InFlight
from switchboard.telephony.ingest import repository
from switchboard.telephony.ingest.schemas import AsteriskEvent
from switchboard.telephony.settings import TelephonySettings

if TYPE_CHECKING:
    from switchboard.runtime import Runtime


def body_digest(enterprise_number: str, event_type: str, body: dict[str, Any]) -> str:
    """What makes a redelivery the same event: its type and its body, keys in order."""
    canonical = orjson.dumps([enterprise_number, event_type, body], option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(canonical).hexdigest()


@dataclass
class _Entry:
    row: dict[str, Any]
    answer: asyncio.Future[bool] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class EventWriter:
    """This process's group-committing writer of call events (`runtime.extension`)."""

    def __init__(
        self,
        url: str,
        tasks: InFlight,
        *,
        batch_max: int,
        connections: int = 2,
        wait: float = 0.0,
        connect_timeout: float = 5.0,
    ) -> None:
        self.url = url
        self.tasks = tasks
        self.batch_max = batch_max
        self.connections = connections
        self.wait = wait
        self.connect_timeout = connect_timeout
        self._pending: deque[_Entry] = deque()
        self._idle: list[psycopg.AsyncConnection[Any]] = []
        self._writing = 0

    @classmethod
    def create(cls, runtime: Runtime) -> Self:
        settings = TelephonySettings.of(runtime.settings)
        return cls(
            runtime.database.url,
            runtime.extension(InFlight),
            batch_max=settings.ingest_batch_max,
            connections=settings.ingest_connections,
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
        self._start_writes()
        # Shielded: a client that goes away leaves its event to be written all the same.
        return await asyncio.shield(entry.answer)

    def _start_writes(self) -> None:
        while self._pending and self._writing < self.connections:
            self._writing += 1
            self.tasks.start(self._write_next())

    async def _write_next(self) -> None:
        try:
            if self.wait > 0:
                await asyncio.sleep(self.wait)
            size = min(self.batch_max, len(self._pending))
            batch = [self._pending.popleft() for _ in range(size)]
            if batch:
                await self._write(batch)
        finally:
            self._writing -= 1
            self._start_writes()

    async def _write(self, batch: list[_Entry]) -> None:
        rows = [entry.row for entry in batch]
        # A kept connection may have died with the database's restart: one more try on a new one.
        for reused in (bool(self._idle), False):
            try:
                connection = await self._connection(fresh=not reused)
            except (OSError, psycopg.Error) as error:
                _fail(batch, error)
                return
            try:
                inserted = await repository.insert_events(connection, rows)
            except psycopg.OperationalError as error:
                await connection.close()
                if reused:
                    continue
                _fail(batch, error)
                return
            except BaseException as error:
                await connection.close()  # its state is unknown: a new one serves the next batch
                _fail(batch, error)
                if not isinstance(error, Exception):
                    raise
                return
            break
        self._idle.append(connection)
        for entry in batch:
            digest = entry.row["body_digest"]
            if not entry.answer.done():
                entry.answer.set_result(digest in inserted)
            inserted.discard(digest)  # a copy in the same batch is a duplicate

    async def _connection(self, *, fresh: bool) -> psycopg.AsyncConnection[Any]:
        while self._idle and not fresh:
            connection = self._idle.pop()
            if not connection.closed:
                return connection
        return await psycopg.AsyncConnection.connect(
            self.url, autocommit=True, connect_timeout=max(1, int(self.connect_timeout))
        )

    async def aclose(self) -> None:
        idle, self._idle = self._idle, []
        for connection in idle:
            await connection.close()


def _fail(batch: list[_Entry], error: BaseException) -> None:
    for entry in batch:
        if not entry.answer.done():
            entry.answer.set_exception(error)
            # Retrieved here so that an answer nobody waits for any more is not reported.
            entry.answer.exception()


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
