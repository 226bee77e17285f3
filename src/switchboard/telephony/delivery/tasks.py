"""The delivery service: plans what CRMs are owed for each stored event and carries it out, in
order per call, until it lands. It wakes on the ingest's NOTIFY (so a pop-up follows its event
within milliseconds) and looks again every second anyway. Any number of these run side by side
(every API process, a worker, or `switchboard telephony-deliver` alone as "one service per CRM"):
one plans at a time (an advisory lock), deliveries are claimed with SKIP LOCKED and a lease.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self

import psycopg
import structlog

from switchboard.core.crypto import SecretBox
from switchboard.core.errors import is_database_outage
from switchboard.core.http.errors import IntegrationError
from switchboard.core.inflight import InFlight
from switchboard.integrations.crm import CallCrm, Planned
from switchboard.integrations.retailcrm.adapter import RetailCrm
from switchboard.integrations.telegram.adapter import TelegramNotifier
from switchboard.telephony.delivery import repository, service
from switchboard.telephony.gateway.tasks import Gateway
from switchboard.telephony.ingest.repository import EVENTS_CHANNEL
from switchboard.telephony.records.tasks import Recorder, Recordings
from switchboard.telephony.settings import TelephonySettings

if TYPE_CHECKING:
    from switchboard.runtime import Runtime

log = structlog.get_logger(__name__)

#: A delivery is reserved this long for the process sending it (longer than its retries).
LEASE_SECONDS = 60.0
DISPATCH_BATCH = 500
DELIVERY_BATCH = 32
POLL_SECONDS = 1.0


class Crms:
    """The CRM adapters of this process, by name (`runtime.extension(Crms)`)."""

    def __init__(self, adapters: Mapping[str, CallCrm]) -> None:
        self.adapters = dict(adapters)

    @classmethod
    def create(cls, runtime: Runtime) -> Self:
        secrets = SecretBox(runtime.settings.secret_keys.get_secret_value())
        return cls(
            {
                RetailCrm.name: RetailCrm(runtime.http, secrets),
                TelegramNotifier.name: TelegramNotifier(runtime.http, secrets),
                Recorder.name: Recorder(runtime),
            }
        )

    async def aclose(self) -> None:
        for adapter in self.adapters.values():
            close = getattr(adapter, "aclose", None)
            if close is not None:
                await close()


async def dispatch_pending(runtime: Runtime, *, only: str | None = None) -> int:
    """Plan the deliveries of stored events not planned yet; how many events were taken."""
    crms = _crms(runtime, only)
    cache = runtime.extension(Gateway).cache
    async with runtime.database.transaction() as session:
        if not await repository.take_dispatch_lock(session):
            return 0
        events = await repository.undispatched(session, DISPATCH_BATCH)
        if events:
            await service.dispatch(
                session,
                events,
                enterprise_of=cache.by_number,
                crms=crms,
                recording_link=runtime.extension(Recordings).link,
            )
    return len(events)


async def deliver_due(runtime: Runtime, *, only: str | None = None) -> dict[str, int]:
    """Send what is due (each call's deliveries in order); counts per outcome."""
    crms = _crms(runtime, only)
    async with runtime.database.transaction() as session:
        claimed = await repository.claim_due(
            session, limit=DELIVERY_BATCH, lease_seconds=LEASE_SECONDS
        )
    outcomes = await asyncio.gather(*(_deliver(runtime, crms, row) for row in claimed))
    counts: dict[str, int] = {}
    for outcome in outcomes:
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts


async def _deliver(runtime: Runtime, crms: Mapping[str, CallCrm], row: Any) -> str:
    crm = crms.get(row.integration)
    if crm is None:  # this process does not serve that CRM: the lease lets another one take it
        return "skipped"
    entry = await runtime.extension(Gateway).cache.by_number(row.enterprise_number)
    config = (entry.config.get(row.integration) if entry else None) or {}
    planned = Planned(row.kind, row.payload)
    try:
        if entry is None or not entry.active:
            raise _Disabled()
        if not (crm.always_enabled or entry.enabled(row.integration)):
            raise _Disabled()
        answer = await crm.deliver(row.enterprise_number, config, planned, row.earlier or {})
    except _Disabled:
        async with runtime.database.transaction() as session:
            await repository.settle(session, row.id, status="cancelled", error="integration off")
        return "cancelled"
    except IntegrationError as error:
        return await _failed(runtime, row, error)
    async with runtime.database.transaction() as session:
        await repository.settle(session, row.id, status="done", result=dict(answer))
        await repository.add_log(
            session,
            enterprise_number=row.enterprise_number,
            integration_type=row.integration,
            event_type=row.kind,
            call_unique_id=row.unique_id,
            request_data=dict(row.payload),
            response_data=dict(answer),
            status="success",
        )
    return "done"


async def _failed(runtime: Runtime, row: Any, error: IntegrationError) -> str:
    retry = error.retriable
    async with runtime.database.transaction() as session:
        if retry:
            wait = service.backoff(row.attempts, retry_after=error.retry_after)
            await repository.settle(
                session,
                row.id,
                status="pending",
                error=str(error),
                retry_in_seconds=wait.total_seconds(),
            )
        else:
            await repository.settle(session, row.id, status="failed", error=str(error))
        await repository.add_log(
            session,
            enterprise_number=row.enterprise_number,
            integration_type=row.integration,
            event_type=row.kind,
            call_unique_id=row.unique_id,
            request_data=dict(row.payload),
            status="error",
            error_message=str(error)[:2000],
        )
    log.warning(
        "crm delivery failed",
        integration=row.integration,
        enterprise=row.enterprise_number,
        kind=row.kind,
        error=str(error),
        will_retry=retry,
    )
    return "pending" if retry else "failed"


class _Disabled(Exception):
    pass


def _crms(runtime: Runtime, only: str | None) -> dict[str, CallCrm]:
    adapters = runtime.extension(Crms).adapters
    return {name: crm for name, crm in adapters.items() if only in (None, name)}


async def run_once(runtime: Runtime, *, only: str | None = None) -> dict[str, int]:
    """Plan and send until nothing more is due now (tests and the CLI call this)."""
    totals: dict[str, int] = {}
    while True:
        planned = await dispatch_pending(runtime, only=only)
        counts = await deliver_due(runtime, only=only)
        for outcome, count in counts.items():
            totals[outcome] = totals.get(outcome, 0) + count
        if not planned and not counts:
            return totals


async def deliver_in_api(runtime: Runtime) -> None:
    """An API process's delivery service, unless TELEPHONY_DELIVERY_IN_API is off."""
    if TelephonySettings.of(runtime.settings).telephony_delivery_in_api:
        await keep_delivering(runtime)
    else:
        log.info("telephony delivery is left to telephony-deliver processes")


async def keep_delivering(runtime: Runtime, *, only: str | None = None) -> None:
    """The service loop, pipelined: plans new events and starts due deliveries while earlier
    ones are still on the wire (up to IN_FLIGHT at once), so a pop-up never waits for a slow
    batch. Wakes on NOTIFY, on a finished delivery, or every second; survives outages."""
    database_down = False
    while True:
        sending: set[asyncio.Task[str]] = set()
        try:
            async with await psycopg.AsyncConnection.connect(
                runtime.database.url, autocommit=True
            ) as listener:
                await repository.listen(listener, EVENTS_CHANNEL)
                if database_down:
                    log.info("telephony delivery resumed: the database is back")
                    database_down = False
                notified = asyncio.Event()
                reader = runtime.extension(InFlight).start(_hear(listener, notified))
                try:
                    while True:
                        await dispatch_pending(runtime, only=only)
                        await _start_due(runtime, only, sending)
                        await _until_something_happens(notified, sending)
                finally:
                    reader.cancel()
        except asyncio.CancelledError:
            raise
        except Exception as error:  # a supervisor: logged, then restarted
            if not is_database_outage(error):
                log.exception("telephony delivery failed; restarting")
            elif not database_down:  # an outage is expected: said once, without a traceback
                log.warning(
                    "telephony delivery paused: the database is unavailable", error=str(error)
                )
                database_down = True
        await asyncio.sleep(POLL_SECONDS)


#: Deliveries one delivery service keeps on the wire at once.
IN_FLIGHT = 64


async def _start_due(runtime: Runtime, only: str | None, sending: set[asyncio.Task[str]]) -> None:
    free = IN_FLIGHT - len(sending)
    if free <= 0:
        return
    crms = _crms(runtime, only)
    async with runtime.database.transaction() as session:
        claimed = await repository.claim_due(session, limit=free, lease_seconds=LEASE_SECONDS)
    holder = runtime.extension(InFlight)
    for row in claimed:
        task = holder.start(_deliver(runtime, crms, row))
        sending.add(task)
        task.add_done_callback(sending.discard)


async def _hear(listener: psycopg.AsyncConnection[Any], notified: asyncio.Event) -> None:
    """Read the listener's NOTIFYs as they come (psycopg reads them only while asked to)."""
    async for _ in listener.notifies():
        notified.set()


async def _until_something_happens(
    notified: asyncio.Event, sending: set[asyncio.Task[str]]
) -> None:
    """A NOTIFY (new events), a delivery done (its call's next one may be due), or a second."""
    waits: set[asyncio.Future[Any]] = {asyncio.ensure_future(notified.wait()), *sending}
    try:
        await asyncio.wait(waits, timeout=POLL_SECONDS, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for wait in waits:
            if wait not in sending:
                wait.cancel()
    notified.clear()
