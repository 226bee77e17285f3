"""Scheduled ETL jobs that pull consultations and their registers from 1C (seed 001, issue 6).

Every job reads 1C a page at a time through the `AccountingSystem` port and stores each page in
one short transaction together with its cursor in `sys.sync_state`: a run killed half-way keeps
what it committed and the next run goes on from the last saved page. Each is a durable,
cluster-wide singleton (`etl_task`), every 15 minutes, and `switchboard etl <name>` runs it now.

- `pull_cons_cl`: our clients' documents by ДатаИзменения (cursor `cons`, minus 7 days);
- `pull_cons_cl_open_update`: our live consultations, re-read by key;
- `pull_all_cons_cl`: every subscriber's documents (cursor `Document_ТелефонныйЗвонок_ALL`);
- `pull_cons_redate_cl`: redates by Period (cursor `cons_redate`, minus 6 hours);
- `pull_cons_rates_cl`: ratings by Period (cursor `cons_rating_answers`, minus 6 hours);
- `pull_calls_cl`: call attempts by Period (cursor `calls`, minus 12 hours, 7 days at least).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from contextlib import aclosing
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar
from zoneinfo import ZoneInfo

import procrastinate
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.consultations.etl import service
from switchboard.consultations.etl.service import EtlReport
from switchboard.consultations.requirements import ONEC_ACCOUNTING
from switchboard.consultations.settings import ConsultationSettings
from switchboard.core.db import utcnow
from switchboard.core.jobs import EtlJob, etl_task, report_progress
from switchboard.integrations.onec.settings import OneCSettings
from switchboard.integrations.ports import AccountingSystem

if TYPE_CHECKING:
    from switchboard.runtime import Runtime

log = structlog.get_logger(__name__)

blueprint = procrastinate.Blueprint()

EVERY_QUARTER_HOUR = "*/15 * * * *"
#: The job that reads our clients' documents (its complete runs place the documents the read
#: of every subscriber finds).
OUR_CLIENTS_JOB = "pull_cons_cl"
FIRST_RUN_DAYS = 30
#: How far back consultations count as "created lately" for `_settle_recent` (many runs).
RECENT = timedelta(days=1)

T = TypeVar("T")
StorePage = Callable[[AsyncSession, Sequence[T]], Awaitable[EtlReport]]


def _accounting(runtime: Runtime) -> AccountingSystem:
    accounting = runtime.adapters.accounting
    assert accounting is not None  # the job's requirement
    return accounting


def _zone(runtime: Runtime) -> ZoneInfo:
    return ZoneInfo(OneCSettings.of(runtime.settings).onec_timezone)


def _rules(runtime: Runtime) -> ConsultationSettings:
    return ConsultationSettings.of(runtime.settings)


def _first_run_from(settings: ConsultationSettings) -> datetime:
    if settings.etl_initial_from_date is not None:
        return datetime.combine(settings.etl_initial_from_date, datetime.min.time(), tzinfo=UTC)
    return utcnow() - timedelta(days=FIRST_RUN_DAYS)


async def _last(runtime: Runtime, entity: str) -> datetime | None:
    async with runtime.database.transaction() as session:
        return await service.last_cursor(session, entity)


async def _read_through(runtime: Runtime, job: str) -> datetime | None:
    async with runtime.database.transaction() as session:
        return await service.read_through(session, job)


async def _since(runtime: Runtime, entity: str, buffer: timedelta) -> datetime:
    last = await _last(runtime, entity)
    return service.read_from(last, buffer=buffer, first_run_from=_first_run_from(_rules(runtime)))


async def _pull_pages(
    runtime: Runtime,
    *,
    entity: str,
    pages: AsyncGenerator[list[T], None],
    store: StorePage[T],
    moment: Callable[[T], datetime | None],
    ceiling: Callable[[], datetime | None] = utcnow,
) -> dict[str, Any]:
    """Store each page in its own transaction with the cursor it allows, so a run killed
    half-way resumes after the last page it committed.

    While a page is being stored, the next one is already being read from 1C: the two wait on
    different servers, so a run takes about as long as the slower side rather than both added.
    """
    started = time.perf_counter()
    report = EtlReport()

    async def save(page: list[T]) -> None:
        async with runtime.database.transaction() as session:
            report.add(await store(session, page))
            cursor = service.cursor_after(map(moment, page), ceiling())
            await service.advance_cursor(session, entity, cursor)
        report_progress(len(page), entity)

    async with aclosing(pages):
        page = await anext(pages, None)
        while page is not None:
            saved, following = await asyncio.gather(
                save(page), anext(pages, None), return_exceptions=True
            )
            # A page committed before 1C failed on the next one stays committed (and its
            # cursor with it); the failure still ends the run.
            if isinstance(saved, BaseException):
                raise saved
            if isinstance(following, BaseException):
                raise following
            page = following
    result = report.as_dict() | {"seconds": round(time.perf_counter() - started, 3)}
    log.info("etl pulled", entity=entity, **result)
    return result


# --- consultations ---------------------------------------------------------------------------


async def _pull_changed_consultations(runtime: Runtime, *, all_subscribers: bool) -> dict[str, Any]:
    entity = service.ALL_CONSULTATIONS if all_subscribers else service.CONSULTATIONS
    since = await _since(runtime, entity, timedelta(days=_rules(runtime).etl_cons_buffer_days))
    # Reading every subscriber, a document whose subscriber we cannot place yet is taken only
    # once a complete run of the read of our own clients has started after it changed (then it
    # is not ours; see `repository.upsert_consultations`); this cursor stops there too, so the
    # next run reads such documents again.
    settled = await _read_through(runtime, OUR_CLIENTS_JOB) if all_subscribers else None

    async def store(session: AsyncSession, page: Sequence[Any]) -> EtlReport:
        return await service.store_consultations(
            session, page, all_subscribers=all_subscribers, settled=settled
        )

    def ceiling() -> datetime | None:
        if not all_subscribers:
            return utcnow()
        return None if settled is None else min(settled, utcnow())

    return await _pull_pages(
        runtime,
        entity=entity,
        pages=_accounting(runtime).consultations_changed_since(
            since, only_our_clients=not all_subscribers
        ),
        store=store,
        moment=lambda record: record.changed_at,
        ceiling=ceiling,
    )


async def pull_consultations(runtime: Runtime) -> dict[str, Any]:
    """Our clients' consultation documents changed since the last run (minus 7 days)."""
    return await _pull_changed_consultations(runtime, all_subscribers=False)


async def pull_all_consultations(runtime: Runtime) -> dict[str, Any]:
    """Every subscriber's consultation documents (the managers' whole queues): other
    subscribers' as `cl_all_<Ref_Key>`, ours on the same row as `pull_cons_cl`'s."""
    return await _pull_changed_consultations(runtime, all_subscribers=True)


async def update_open_consultations(runtime: Runtime) -> dict[str, Any]:
    """Re-read our live consultations from 1C by key; those 1C no longer has are cancelled."""
    started = time.perf_counter()
    accounting = _accounting(runtime)
    async with runtime.database.transaction() as session:
        keys = await service.open_consultation_keys(session)
    report = EtlReport()
    size = _rules(runtime).etl_cons_ref_key_batch_size
    for start in range(0, len(keys), size):
        batch = keys[start : start + size]
        found = await accounting.consultations_by_keys(batch)
        async with runtime.database.transaction() as session:
            report.add(await service.store_consultations(session, found))
            report.add(await service.cancel_missing(session, batch, found))
        report_progress(len(batch), "open consultations")
    result = report.as_dict() | {
        "asked": len(keys),
        "seconds": round(time.perf_counter() - started, 3),
    }
    log.info("etl open consultations updated", **result)
    return result


# --- registers -------------------------------------------------------------------------------


async def pull_redates(runtime: Runtime) -> dict[str, Any]:
    """Redates by Period (minus 6 h); a new one moves its consultation and tells the client."""
    since = await _since(
        runtime, service.REDATES, timedelta(hours=_rules(runtime).etl_redate_buffer_hours)
    )
    zone = _zone(runtime)

    async def store(session: AsyncSession, page: Sequence[Any]) -> EtlReport:
        return await service.store_redates(session, page, zone=zone)

    return await _pull_pages(
        runtime,
        entity=service.REDATES,
        pages=_accounting(runtime).redates_since(since),
        store=store,
        moment=lambda record: record.period,
    )


async def pull_ratings(runtime: Runtime) -> dict[str, Any]:
    """Rating answers by Period (minus 6 h); each new one is announced to the client once."""
    since = await _since(
        runtime, service.RATINGS, timedelta(hours=_rules(runtime).etl_rates_buffer_hours)
    )
    report = await _pull_pages(
        runtime,
        entity=service.RATINGS,
        pages=_accounting(runtime).ratings_since(since),
        store=service.store_ratings,
        moment=lambda record: record.period,
    )
    return report | {"settled": await _settle_recent(runtime, calls=False)}


async def pull_calls(runtime: Runtime) -> dict[str, Any]:
    """Call attempts by Period (minus 12 h, and never less than 7 days back: calls about
    consultations planned ahead keep coming); each new one is announced once."""
    rules = _rules(runtime)
    since = min(
        await _since(runtime, service.CALLS, timedelta(hours=rules.etl_calls_buffer_hours)),
        utcnow() - timedelta(days=rules.etl_calls_lookback_days),
    )
    zone = _zone(runtime)

    async def store(session: AsyncSession, page: Sequence[Any]) -> EtlReport:
        return await service.store_calls(session, page, zone=zone)

    report = await _pull_pages(
        runtime,
        entity=service.CALLS,
        pages=_accounting(runtime).calls_since(since),
        store=store,
        moment=lambda record: record.period,
    )
    return report | {"settled": await _settle_recent(runtime, calls=True)}


async def _settle_recent(runtime: Runtime, *, calls: bool) -> int:
    """Consultations stored while this job stored their registers saw none of them (neither
    side had committed): sum them up again on every consultation created lately."""
    async with runtime.database.transaction() as session:
        return await service.settle_recent(session, utcnow() - RECENT, calls=calls)


def _job(name: str, body: Callable[[Runtime], Awaitable[dict[str, Any]]]) -> EtlJob:
    return etl_task(
        blueprint,
        name,
        cron=EVERY_QUARTER_HOUR,
        periodic_id=f"{name}-quarter-hourly",
        requires=ONEC_ACCOUNTING,
    )(body)


PULL_CONS: EtlJob = _job("pull_cons_cl", pull_consultations)
PULL_CONS_OPEN_UPDATE: EtlJob = _job("pull_cons_cl_open_update", update_open_consultations)
PULL_ALL_CONS: EtlJob = _job("pull_all_cons_cl", pull_all_consultations)
PULL_REDATES: EtlJob = _job("pull_cons_redate_cl", pull_redates)
PULL_RATES: EtlJob = _job("pull_cons_rates_cl", pull_ratings)
PULL_CALLS: EtlJob = _job("pull_calls_cl", pull_calls)

ETL_JOBS: list[EtlJob] = [
    PULL_CONS,
    PULL_CONS_OPEN_UPDATE,
    PULL_ALL_CONS,
    PULL_REDATES,
    PULL_RATES,
    PULL_CALLS,
]
