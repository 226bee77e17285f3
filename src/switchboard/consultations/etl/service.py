"""What the ETL does with a page read from 1C: store it, and tell Chatwoot and the client what
really changed (seed 001 `pull_cons_cl`, `pull_all_cons_cl`, `pull_cons_redate_cl`,
`pull_cons_rates_cl`, `pull_calls_cl`).

Each function takes the page's session (the task opens one short transaction per page) and never
commits. Side effects are outbox tasks and notifications written in that same transaction, so
they exist exactly when the change they follow is committed, and only for rows that changed: a
second run over the same data writes nothing and queues nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

# Our status as Chatwoot shows it, and what makes a redate message the same one: the booking
# part's, so a change is told to Chatwoot and the client the same way whoever saw it first.
from switchboard.consultations.booking.service import CHATWOOT_STATUS, redate_unique
from switchboard.consultations.etl import repository
from switchboard.consultations.etl.repository import ConsultationChange
from switchboard.consultations.notifications.service import notify
from switchboard.consultations.sync.service import enqueue
from switchboard.core.i18n import translate
from switchboard.core.jobs import Tally
from switchboard.integrations.ports import (
    CallRecord,
    ConsultationRecord,
    RatingRecord,
    RedateRecord,
)

log = structlog.get_logger(__name__)

#: The cursors in `sys.sync_state` (the names the original used).
CONSULTATIONS = "cons"
ALL_CONSULTATIONS = "Document_ТелефонныйЗвонок_ALL"
REDATES = "cons_redate"
RATINGS = "cons_rating_answers"
CALLS = "calls"

#: Outbox operations of the booking part, queued by name.
SET_STATUS = "chatwoot.set_status"
SET_ATTRIBUTES = "chatwoot.set_attributes"
ASSIGN = "chatwoot.assign"

RATING_RANGE = range(1, 6)


@dataclass
class EtlReport(Tally):
    """What a run (or a page) did. `rows` is what the run handled, for `sys.etl_runs`."""

    received: int = 0
    inserted: int = 0
    updated: int = 0
    skipped: int = 0
    pages: int = 0
    #: Client-visible messages queued (each once, whatever the number of runs).
    notified: int = 0
    #: Changes queued for Chatwoot (status, attributes, assignee).
    chat_tasks: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"rows": self.received, **asdict(self)}


def locale_of(lang: str | None) -> str:
    return lang if lang in ("ru", "uz") else "ru"


def local_text(moment: datetime | None, zone: ZoneInfo) -> str:
    """A moment as a client reads it: wall-clock time of the 1C base's zone."""
    return moment.astimezone(zone).strftime("%d.%m.%Y %H:%M") if moment is not None else "—"


# --- cursors -------------------------------------------------------------------------------


def read_from(last: datetime | None, *, buffer: timedelta, first_run_from: datetime) -> datetime:
    """Where an incremental read starts: the saved cursor minus a buffer (1C may commit changes
    stamped a little in the past), or the configured start on the first run."""
    return first_run_from if last is None else last - buffer


def cursor_after(
    page_moments: Iterable[datetime | None], limit: datetime | None
) -> datetime | None:
    """The cursor a processed page allows: its latest moment, never beyond `limit` (now: a
    consultation planned for next week must not push the cursor into the future and hide
    changes until then). No limit: the cursor stays."""
    latest = max((moment for moment in page_moments if moment is not None), default=None)
    return None if latest is None or limit is None else min(latest, limit)


async def last_cursor(session: AsyncSession, entity: str) -> datetime | None:
    return await repository.cursor(session, entity)


async def read_through(session: AsyncSession, job: str) -> datetime | None:
    """When the last complete run of `job` started (`sys.etl_runs`): for the read of our
    clients' documents, every document of ours changed before then is in `cons.cons`."""
    return await repository.last_complete_run(session, job)


async def advance_cursor(session: AsyncSession, entity: str, moment: datetime | None) -> None:
    if moment is not None:
        await repository.advance_cursor(session, entity, moment)


# --- consultations -------------------------------------------------------------------------


def _first_interference(record: ConsultationRecord) -> uuid.UUID | None:
    return next((q.interference_key for q in record.questions if q.interference_key), None)


def consultation_rows(records: Sequence[ConsultationRecord]) -> list[dict[str, Any]]:
    return [
        {
            "ref_key": r.ref_key,
            "number": r.number,
            "client_key": r.subscriber_key,
            "manager": r.manager_key,
            "author": r.author_key,
            "create_date": r.created_at,
            "start_date": r.scheduled_at,
            "end_date": r.ended_at,
            "status": "cancelled" if r.deletion_mark else r.status,
            "denied": r.closed_without_consultation,
            "deleted": r.deletion_mark,
            "lang": r.language,
            "category": r.category_key,
            "question": r.question_key,
            "topic": r.subject,
            "description": r.description,
            "con_blocks": _first_interference(r),
            "changed_at": r.changed_at,
        }
        for r in records
    ]


def line_rows(records: Sequence[ConsultationRecord]) -> list[dict[str, Any]]:
    return [
        {
            "ref_key": record.ref_key,
            "line_number": line.line_number,
            "po_type_key": line.po_type_key,
            "po_section_key": line.po_section_key,
            "interference_key": line.interference_key,
            "manager_help_key": line.manager_help_key,
            "repeat_request": line.repeat_request,
            "question": line.question,
            "answer": line.answer,
        }
        for record in records
        # The last of two rows with one number wins, as 1C itself would not store both.
        for line in {line.line_number: line for line in record.questions}.values()
    ]


async def store_consultations(
    session: AsyncSession,
    records: Sequence[ConsultationRecord],
    *,
    all_subscribers: bool = False,
    settled: datetime | None = None,
) -> EtlReport:
    """Upsert a page of 1C documents into `cons.cons` (and their question lines into
    `cons.q_and_a`), then queue what Chatwoot and the client must learn of the rows that
    changed."""
    unique = list({record.ref_key: record for record in records}.values())
    report = EtlReport(received=len(records), pages=1)
    if not unique:
        return report
    inserted, changes = await repository.upsert_consultations(
        session, consultation_rows(unique), all_subscribers=all_subscribers, settled=settled
    )
    report.inserted, report.updated = inserted, len(changes)
    report.skipped = report.received - inserted - len(changes)
    await repository.sync_question_lines(
        session, [record.ref_key for record in unique], line_rows(unique)
    )
    report.add(await tell_chat(session, changes))
    return report


async def open_consultation_keys(session: AsyncSession) -> list[uuid.UUID]:
    """The documents of our live consultations (`open_update` re-reads them by key)."""
    return await repository.open_consultation_keys(session)


async def cancel_missing(
    session: AsyncSession, asked: Sequence[uuid.UUID], found: Iterable[ConsultationRecord]
) -> EtlReport:
    """Consultations whose documents 1C no longer has at all were deleted there: cancel them
    and tell the client."""
    missing = sorted(set(asked) - {record.ref_key for record in found})
    if not missing:
        return EtlReport()
    changes = await repository.cancel_missing(session, missing)
    if changes:
        log.info("consultations deleted in 1C cancelled", count=len(changes))
    report = await tell_chat(session, changes)
    report.updated = len(changes)
    return report


async def tell_chat(session: AsyncSession, changes: Sequence[ConsultationChange]) -> EtlReport:
    """Queue the Chatwoot side of real changes of consultations that have a conversation:
    its status, its attributes (number, dates, type), its assignee with a message to the
    client, and a message when 1C deleted the consultation."""
    report = EtlReport()
    chatty = [change for change in changes if change.has_chat]
    reassigned = [
        change
        for change in chatty
        if change.manager is not None and change.manager != change.old_manager
    ]
    names = await repository.manager_names(
        session,
        [key for c in reassigned for key in (c.manager, c.old_manager) if key is not None],
    )
    for change in chatty:
        report.add(await _tell_chat_one(session, change, names))
    return report


async def _tell_chat_one(
    session: AsyncSession, change: ConsultationChange, names: dict[uuid.UUID, str]
) -> EtlReport:
    report = EtlReport()
    cons_id = change.cons_id
    status = CHATWOOT_STATUS[change.status]
    if change.old_status is not None and CHATWOOT_STATUS[change.old_status] != status:
        await enqueue(session, SET_STATUS, {"cons_id": cons_id, "status": status}, cons_id=cons_id)
        report.chat_tasks += 1
    if change.attributes_changed:
        await enqueue(session, SET_ATTRIBUTES, {"cons_id": cons_id}, cons_id=cons_id)
        report.chat_tasks += 1
    if change.manager is not None and change.manager != change.old_manager:
        await enqueue(
            session,
            ASSIGN,
            {"cons_id": cons_id, "manager_key": str(change.manager)},
            cons_id=cons_id,
        )
        report.chat_tasks += 1
        report.notified += await _tell_reassignment(session, change, names)
    if change.deleted and change.status == "cancelled" and change.old_status != "cancelled":
        report.notified += await _tell_deleted(session, change)
    return report


def manager_name(key: uuid.UUID | None, names: dict[uuid.UUID, str], locale: str) -> str:
    """A manager as the client reads it: the name we know, never a bare 1C key."""
    if key is None:
        return translate("not assigned", locale)
    return names.get(key) or translate("another manager", locale)


async def _tell_reassignment(
    session: AsyncSession, change: ConsultationChange, names: dict[uuid.UUID, str]
) -> int:
    locale = locale_of(change.lang)
    was, now = (manager_name(key, names, locale) for key in (change.old_manager, change.manager))
    sent = await notify(
        session,
        cons_id=change.cons_id,
        kind="manager_reassignment",
        text=translate("Manager reassigned. Was: {old}. Now: {new}.", locale, old=was, new=now),
        unique={
            "cons_id": change.cons_id,
            "from": str(change.old_manager),
            "to": str(change.manager),
            "source": "onec",
        },
    )
    return int(sent)


async def _tell_deleted(session: AsyncSession, change: ConsultationChange) -> int:
    sent = await notify(
        session,
        cons_id=change.cons_id,
        kind="deleted_in_onec",
        text=translate("The request was deleted in the system.", locale_of(change.lang)),
        unique={"cons_id": change.cons_id},
    )
    return int(sent)


# --- redates -------------------------------------------------------------------------------


def redate_rows(records: Sequence[RedateRecord]) -> list[dict[str, Any]]:
    unique = {(r.document_key, r.subscriber_key, r.manager_key, r.period): r for r in records}
    return [
        {
            "cons_key": r.document_key,
            "clients_key": r.subscriber_key,
            "manager_key": r.manager_key,
            "period": r.period,
            "old_date": r.old_date,
            "new_date": r.new_date,
            "comment": r.comment,
        }
        for r in unique.values()
    ]


async def store_redates(
    session: AsyncSession, records: Sequence[RedateRecord], *, zone: ZoneInfo
) -> EtlReport:
    """Store redates; a new one moves its consultation to the new date (in our database only:
    1C made it, so nothing is written back) and the client is told once."""
    report = EtlReport(received=len(records), pages=1)
    if not records:
        return report
    saved = await repository.upsert_redates(session, redate_rows(records))
    new = [redate for redate in saved if redate.new]
    report.inserted, report.updated = len(new), len(saved) - len(new)
    report.skipped = report.received - len(saved)
    moved = await repository.apply_latest_redates(
        session, sorted({redate.cons_key for redate in new}), zone=zone.key
    )
    for cons_id, has_chat in moved:
        if has_chat:
            await enqueue(session, SET_ATTRIBUTES, {"cons_id": cons_id}, cons_id=cons_id)
            report.chat_tasks += 1
    for redate in new:
        if redate.cons_id is None or not redate.has_chat or redate.new_date is None:
            continue
        locale = locale_of(redate.lang)
        text = translate(
            "Consultation rescheduled. Old date: {old}. New date: {new}.",
            locale,
            old=local_text(redate.old_date, zone),
            new=local_text(redate.new_date, zone),
        )
        report.notified += await notify(
            session,
            cons_id=redate.cons_id,
            kind="redate",
            text=text,
            # The booking's own words for a redate: one it made through the API and reads back
            # from 1C here is announced once.
            unique=redate_unique(redate.cons_key, redate.period, redate.new_date),
        )
    return report


# --- ratings -------------------------------------------------------------------------------


def rating_rows(records: Sequence[RatingRecord]) -> list[dict[str, Any]]:
    unique = {(r.document_key, r.manager_key, r.question_number): r for r in records}
    return [
        {
            "cons_key": r.document_key,
            "client_key": r.counterparty_key,
            "manager_key": r.manager_key,
            "question_number": r.question_number,
            "rating": r.rating,
            "question": r.question,
            "comment": r.comment,
            "sent_to_base": r.sent_to_base,
            "rating_date": r.rated_at,
        }
        for r in unique.values()
    ]


async def store_ratings(session: AsyncSession, records: Sequence[RatingRecord]) -> EtlReport:
    """Store rating answers, recompute the consultations' averages, and thank the client once
    for each new answer."""
    valid = [record for record in records if record.rating in RATING_RANGE]
    if len(valid) < len(records):
        log.warning("ratings outside 1..5 skipped", count=len(records) - len(valid))
    report = EtlReport(received=len(records), pages=1)
    if not valid:
        report.skipped = len(records)
        return report
    saved = await repository.upsert_ratings(session, rating_rows(valid))
    new = [rating for rating in saved if rating.new]
    report.inserted, report.updated = len(new), len(saved) - len(new)
    report.skipped = report.received - len(saved)
    await repository.refresh_rates(session, sorted({rating.cons_key for rating in saved}))
    names = await repository.manager_names(session, [rating.manager_key for rating in new])
    for rating in new:
        if rating.cons_id is None or not rating.has_chat:
            continue
        locale = locale_of(rating.lang)
        text = translate(
            "Consultation rating received: {rating}/5. Question: {question}. Manager: {manager}.",
            locale,
            rating=rating.rating,
            question=rating.question or "—",
            manager=manager_name(rating.manager_key, names, locale),
        )
        report.notified += await notify(
            session,
            cons_id=rating.cons_id,
            kind="rating",
            text=text,
            unique={
                "cons_id": rating.cons_id,
                "manager_key": str(rating.manager_key),
                "question_number": rating.question_number,
            },
        )
    return report


async def settle_recent(session: AsyncSession, since: datetime, *, calls: bool) -> int:
    """Sum up the registers (`con_calls`, or `con_rates`) again on consultations created since
    `since`: one stored at the same time as its registers saw none of them, and they it."""
    if calls:
        return await repository.refresh_recent_calls(session, since)
    return await repository.refresh_recent_rates(session, since)


# --- call attempts -------------------------------------------------------------------------


def call_rows(records: Sequence[CallRecord]) -> list[dict[str, Any]]:
    unique = {(r.period, r.document_key, r.manager_key): r for r in records}
    return [
        {
            "period": r.period,
            "cons_key": r.document_key,
            "manager": r.manager_key,
            "client_key": r.subscriber_key,
        }
        for r in unique.values()
    ]


async def store_calls(
    session: AsyncSession, records: Sequence[CallRecord], *, zone: ZoneInfo
) -> EtlReport:
    """Store call attempts we did not have, keep `con_calls` of their consultations in step, and
    tell the client of each new attempt once."""
    report = EtlReport(received=len(records), pages=1)
    if not records:
        return report
    new = await repository.insert_calls(session, call_rows(records))
    report.inserted = len(new)
    report.skipped = report.received - len(new)
    # Every consultation of the page, not only those with new calls: a consultation that
    # arrived after its calls gets them on the next read.
    report.updated = await repository.refresh_calls(
        session, sorted({record.document_key for record in records})
    )
    names = await repository.manager_names(session, [call.manager for call in new])
    for call in new:
        if call.cons_id is None or not call.has_chat:
            continue
        locale = locale_of(call.lang)
        text = translate(
            "Call attempt: {moment}, manager {manager}.",
            locale,
            moment=local_text(call.period, zone),
            manager=manager_name(call.manager, names, locale),
        )
        report.notified += await notify(
            session,
            cons_id=call.cons_id,
            kind="call",
            text=text,
            unique={
                "cons_id": call.cons_id,
                "period": call.period.isoformat(),
                "manager": str(call.manager),
            },
        )
    return report
