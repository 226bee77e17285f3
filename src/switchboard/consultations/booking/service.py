"""Booking consultations and changing them (seed 001 «Создание консультации» and the
consultation endpoints), in the caller's transaction.

A booking is decided in one short transaction: the request is checked (dates, dictionary keys),
the owner's row is locked so that bookings of one subscriber take turns under the limits, a
manager is picked (and locked) for a consultation on accounting, the row is inserted with a
`cons_id` that never changes, and everything owed to Chatwoot and 1C is queued in the outbox.
Nothing external is called here: the endpoint carries the queued tasks out right after the commit
(both systems at once), and the worker retries what did not land.

Times: the platform stores aware UTC. A date without a zone is the local time of the 1C base
(`ODATA_TIMEZONE`), and a «day» (the daily limit, working hours) is a day there.
"""

from __future__ import annotations

import random
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.consultations.booking import repository
from switchboard.consultations.booking.schemas import (
    CallRead,
    ChatwootWidget,
    ConsultationFields,
    ConsultationHistory,
    ConsultationPage,
    ConsultationRead,
    ConsultationResponse,
    ConsultationUpdate,
    HistoryEvent,
    ManagerRef,
    QueueInfo,
    RatingAnswerRead,
    RatingRequest,
    RatingSummary,
    RedateCreate,
    RedateRead,
)
from switchboard.consultations.managers import service as managers
from switchboard.consultations.managers.service import ManagerPick, SelectionRules
from switchboard.consultations.models import (
    ACCOUNTING,
    TECH_SUPPORT,
    TERMINAL_STATUSES,
    Client,
    Consultation,
)
from switchboard.consultations.notifications.service import notify
from switchboard.consultations.settings import ConsultationSettings
from switchboard.consultations.sync.service import Change, enqueue, enqueue_many
from switchboard.core.errors import (
    BadRequest,
    Conflict,
    NotFound,
    TooManyRequests,
    Unprocessable,
)
from switchboard.core.i18n import translate
from switchboard.integrations.chatwoot.settings import ChatwootSettings
from switchboard.integrations.onec.settings import OneCSettings

#: Consultations on accounting a subscriber may have on one day (1C's own rule, checked here
#: first so that the client hears it before anything is created).
DAILY_LIMIT = 3
#: A date this far in the past is taken as «now» (clocks of browsers and servers differ).
PAST_TOLERANCE = timedelta(minutes=5)

OPEN_CONVERSATION = "chatwoot.open_conversation"
ASSIGN = "chatwoot.assign"
SET_LABELS = "chatwoot.set_labels"
SET_STATUS = "chatwoot.set_status"
SET_ATTRIBUTES = "chatwoot.set_attributes"
DELETE_CONVERSATION = "chatwoot.delete_conversation"
CREATE_IN_ONEC = "onec.create_consultation"
UPDATE_IN_ONEC = "onec.update_consultation"
DELETE_IN_ONEC = "onec.delete_consultation"
RECORD_REDATE = "onec.record_redate"
RECORD_RATING = "onec.record_rating"

#: Our status → Chatwoot's. Chatwoot's own `pending` means «with a bot», which would hide a
#: queued consultation from the agents, so everything not finished is `open` there.
CHATWOOT_STATUS = {
    "new": "open",
    "open": "open",
    "pending": "open",
    "resolved": "resolved",
    "closed": "resolved",
    "cancelled": "resolved",
}


@dataclass(frozen=True)
class BookingRules:
    """The settings a booking and its changes follow."""

    zone: ZoneInfo
    max_future_days: int
    cancel_minutes: int
    tech_hours: tuple[time, time]
    show_wait: bool
    name_prefix: str
    #: Chatwoot team of each consultation type.
    teams: Mapping[str, str]
    selection: SelectionRules
    settings: object = field(repr=False)

    @classmethod
    def from_settings(cls, settings: object) -> BookingRules:
        rules = ConsultationSettings.of(settings)
        return cls(
            zone=ZoneInfo(OneCSettings.of(settings).onec_timezone),
            max_future_days=rules.max_future_consultation_days,
            cancel_minutes=rules.cancel_consultation_timeout_minutes,
            tech_hours=(
                rules.tech_support_working_hours_start,
                rules.tech_support_working_hours_end,
            ),
            show_wait=rules.send_queue_wait_time_message,
            name_prefix=rules.onec_client_name_prefix,
            teams={
                ACCOUNTING: rules.chatwoot_team_accounting,
                TECH_SUPPORT: rules.chatwoot_team_tech_support,
            },
            selection=SelectionRules.from_settings(settings),
            settings=settings,
        )


# --- times -----------------------------------------------------------------------------------


def utc_seconds(moment: datetime) -> datetime:
    """An aware UTC moment in whole seconds, as 1C keeps moments (so ours and 1C's compare)."""
    return moment.astimezone(UTC).replace(microsecond=0)


def aware(moment: datetime, zone: ZoneInfo) -> datetime:
    """A moment from a request: one without a zone is local time of the 1C base."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)


def local_text(moment: datetime | None, zone: ZoneInfo) -> str:
    """A moment as people in the base's zone read it: 31.01.2026 14:30."""
    return moment.astimezone(zone).strftime("%d.%m.%Y %H:%M") if moment is not None else "—"


def day_bounds(moment: datetime, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The local day of `moment` as [start, end) in UTC."""
    day = moment.astimezone(zone).date()
    start = datetime.combine(day, time(0), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def into_working_hours(
    moment: datetime, hours: tuple[time | None, time | None], zone: ZoneInfo
) -> datetime:
    """`moment`, or the next start of the working hours when it falls outside them (local
    times; an overnight window such as 22:00–06:00 works too). No hours: any time."""
    start, end = hours
    local = moment.astimezone(zone)
    if start is None or end is None or managers.works_at(start, end, local.time()):
        return moment
    opening = datetime.combine(local.date(), start, tzinfo=zone)
    if opening <= local:
        opening += timedelta(days=1)
    return opening.astimezone(UTC)


def schedule(
    requested: datetime | None,
    *,
    now: datetime,
    rules: BookingRules,
    hours: tuple[time | None, time | None] = (None, None),
    field_name: str = "start_date",
) -> datetime:
    """The moment a consultation takes place: the requested one (or now), not in the past, moved
    into the working hours when it falls outside them, and not beyond the allowed days ahead."""
    if requested is None:
        moment = now
    else:
        moment = aware(requested, rules.zone)
        if moment < now - PAST_TOLERANCE:
            raise BadRequest(
                "date_in_past",
                "The date {field} is in the past; choose a time from now on.",
                field=field_name,
            )
        moment = max(moment, now)
    moment = into_working_hours(moment, hours, rules.zone)
    if moment > now + timedelta(days=rules.max_future_days):
        raise BadRequest(
            "date_too_far",
            "A consultation can be booked at most {days} days ahead.",
            days=rules.max_future_days,
        )
    return utc_seconds(moment)


# --- checks ----------------------------------------------------------------------------------


def invalid_field(name: str, message: str, kind: str) -> Unprocessable:
    """422 naming the field, as FastAPI's own validation does (the message in the caller's
    language)."""
    return Unprocessable(
        "validation_error",
        "Some fields are invalid.",
        details=[{"field": name, "in": "body", "message": message, "type": kind}],
    )


async def check_references(session: AsyncSession, fields: ConsultationFields, prefix: str) -> None:
    """Dictionary keys of a booking exist (and are not deleted), and belong together."""
    category, question = fields.category_key, fields.question_key
    if category is not None and await repository.live_category(session, category) is None:
        raise invalid_field(prefix + "category_key", "Unknown question category.", "unknown_key")
    if question is not None:
        found = await repository.live_question(session, question)
        if found is None:
            raise invalid_field(prefix + "question_key", "Unknown question.", "unknown_key")
        if category is not None and found.category_key != category:
            raise invalid_field(
                prefix + "question_key",
                "The question does not belong to the chosen category.",
                "mismatch",
            )
    po_type, section = fields.po_type_key, fields.po_section_key
    if po_type is not None and await repository.live_po_type(session, po_type) is None:
        raise invalid_field(prefix + "po_type_key", "Unknown kind of software.", "unknown_key")
    if section is not None:
        found_section = await repository.live_po_section(session, section)
        if found_section is None:
            raise invalid_field(
                prefix + "po_section_key", "Unknown section of software.", "unknown_key"
            )
        if po_type is not None and found_section.owner_key != po_type:
            raise invalid_field(
                prefix + "po_section_key",
                "The section does not belong to the chosen kind of software.",
                "mismatch",
            )


def limit_reached(day: datetime, rules: BookingRules) -> TooManyRequests:
    return TooManyRequests(
        "daily_limit_reached",
        "The subscriber has used up the {limit} consultations on accounting for {date}; "
        "choose another day.",
        limit=DAILY_LIMIT,
        date=day.astimezone(rules.zone).strftime("%d.%m.%Y"),
    )


async def check_daily_limit(
    session: AsyncSession,
    *,
    owner: Client,
    moment: datetime,
    rules: BookingRules,
    exclude_cons_id: str | None = None,
) -> None:
    """At most DAILY_LIMIT live consultations on accounting per subscriber per local day. The
    caller holds the owner's row lock, so concurrent bookings count each other."""
    start, end = day_bounds(moment, rules.zone)
    taken = await repository.count_accounting_on_day(
        session,
        owner_id=owner.client_id,
        client_key=owner.cl_ref_key,
        day_start=start,
        day_end=end,
        exclude_cons_id=exclude_cons_id,
    )
    if taken >= DAILY_LIMIT:
        raise limit_reached(moment, rules)


# --- booking ---------------------------------------------------------------------------------


@dataclass
class Booking:
    """A consultation just booked, and the outbox tasks the request carries out itself."""

    consultation: Consultation
    pick: ManagerPick | None
    queue: QueueInfo | None
    #: The client's real-time token in Chatwoot, when known already.
    pubsub_token: str | None
    #: Chatwoot's conversation and 1C's document: run right after the commit.
    fast_tasks: list[int]


def _row_values(
    *,
    cons_id: str,
    client: Client,
    owner: Client,
    fields: ConsultationFields,
    start: datetime,
    pick: ManagerPick | None,
    now: datetime,
) -> dict[str, Any]:
    accounting = fields.consultation_type == ACCOUNTING
    return {
        "cons_id": cons_id,
        # Chosen now and kept: a repeated create finds the same 1C document, and the ETL
        # matches 1C's copy to this row by it.
        "cl_ref_key": uuid.uuid4() if accounting else None,
        "client_id": client.client_id,
        "client_key": owner.cl_ref_key,
        "org_inn": owner.org_inn,
        # In a manager's queue (1C's ВОчередьНаКонсультацию reads as pending); the support
        # team's chat is open at once.
        "status": "pending" if accounting else "open",
        "consultation_type": fields.consultation_type,
        "manager": pick.manager_key if pick is not None else None,
        # The database's clock when the row is written, after the manager's lock: a queue's
        # order (by create_date) is then the order in which its places were taken.
        "create_date": repository.CLOCK_NOW,
        "start_date": start,
        "denied": False,
        "source": fields.source,
        "online_question_cat": fields.category_key,
        "online_question": fields.question_key,
        "po_type_key": fields.po_type_key,
        "po_section_key": fields.po_section_key,
        "importance": fields.importance,
        "lang": fields.lang,
        "topic": fields.topic,
        "comment": fields.comment,
    }


async def book(
    session: AsyncSession,
    *,
    client: Client,
    owner: Client,
    fields: ConsultationFields,
    rules: BookingRules,
    now: datetime,
    rng: random.Random,
    lease_seconds: float | None,
    field_prefix: str = "",
) -> Booking:
    """Check and insert a consultation and queue what Chatwoot and 1C are owed."""
    await check_references(session, fields, field_prefix)
    accounting = fields.consultation_type == ACCOUNTING
    hours: tuple[time | None, time | None] = (None, None) if accounting else rules.tech_hours
    start = schedule(fields.start_date, now=now, rules=rules, hours=hours)
    await repository.lock_client(session, owner.client_id)
    pick = None
    if accounting:
        if not owner.org_inn:
            raise BadRequest(
                "inn_required",
                "A consultation on accounting needs the subscriber's INN; add it to the client.",
            )
        await check_daily_limit(session, owner=owner, moment=start, rules=rules)
        pick = await managers.pick_manager(
            session,
            category_key=fields.category_key,
            language=fields.lang,
            po_section_key=fields.po_section_key,
            po_type_key=fields.po_type_key,
            consultation_type=fields.consultation_type,
            now=start,
            rng=rng,
            rules=rules.selection,
        )
    elif await repository.open_tech_consultation(session, client.client_id) is not None:
        raise Conflict(
            "tech_request_open",
            "The client already has an open technical support request; continue it in the chat.",
        )
    cons_id = str(uuid.uuid4())
    row = await repository.insert_consultation(
        session,
        _row_values(
            cons_id=cons_id,
            client=client,
            owner=owner,
            fields=fields,
            start=start,
            pick=pick,
            now=now,
        ),
    )
    await record_status_change(session, cons_id, None, row.status, "booking")
    queue = await queue_of_pick(session, pick, row, now) if pick is not None else None
    fast = await _queue_booking(session, row, owner, rules, lease_seconds, queue=queue, now=now)
    return Booking(
        consultation=row,
        pick=pick,
        queue=queue,
        pubsub_token=client.chatwoot_pubsub_token,
        fast_tasks=fast,
    )


async def _queue_booking(
    session: AsyncSession,
    row: Consultation,
    owner: Client,
    rules: BookingRules,
    lease_seconds: float | None,
    *,
    queue: QueueInfo | None,
    now: datetime,
) -> list[int]:
    """The outbox tasks of a new consultation. The conversation and the document are reserved
    for the request (it runs them at once); the rest follows them in their order."""
    cons_id = row.cons_id
    team = rules.teams.get(row.consultation_type or "")
    changes = [
        Change(OPEN_CONVERSATION, {"cons_id": cons_id}, cons_id, lease_seconds=lease_seconds),
        Change(ASSIGN, {"cons_id": cons_id, "team": team}, cons_id),
        Change(SET_LABELS, {"cons_id": cons_id}, cons_id),
    ]
    accounting = row.consultation_type == ACCOUNTING
    if accounting:
        changes.append(
            Change(
                CREATE_IN_ONEC,
                {
                    "cons_id": cons_id,
                    "name_prefix": rules.name_prefix,
                    "zone": rules.zone.key,
                    "show_wait": rules.show_wait,
                    # The place just taken, for the info message when 1C answers at once.
                    "queue": queue.model_dump(mode="json") if queue is not None else None,
                    "booked_at": now.timestamp(),
                },
                cons_id,
                # After the owner's counterparty (the clients part saves it under this key),
                # which the document names as its subscriber.
                order_key=f"onec:client:{owner.client_id}",
                lease_seconds=lease_seconds,
            )
        )
    opened, _assigned, _labelled, *documented = await enqueue_many(session, changes)
    if not accounting:
        await notify(
            session,
            cons_id=cons_id,
            kind="booked",
            text=tech_booked_text(row, rules.zone),
            unique={"cons_id": cons_id},
        )
    return [opened, *documented]


@dataclass(frozen=True)
class People:
    """Who books: the client, and the owner of the subscription (the client itself or its
    owner)."""

    client: Client
    owner: Client


async def known_client(session: AsyncSession, client_id: uuid.UUID) -> People:
    client = await repository.client(session, client_id)
    if client is None:
        raise NotFound("client_not_found", "Client not found.")
    owner = client
    if client.parent_id is not None:
        owner = await repository.client(session, client.parent_id) or client
    return People(client, owner)


async def claim_idempotency_key(
    session: AsyncSession, *, key: str, operation: str, request_hash: str
) -> str | None:
    """None when the key is ours now (go on booking); the consultation of the earlier request
    when it was used before with the same request; 422 when with another one."""
    if await repository.reserve_idempotency_key(
        session, key=key, operation=operation, request_hash=request_hash
    ):
        return None
    earlier = await repository.idempotency_key(session, key)
    if earlier is None or earlier.cons_id is None:
        # Its booking was undone between our two statements: a rare race, a clear answer.
        raise Conflict(
            "idempotency_key_busy", "A request with this Idempotency-Key is in progress; repeat it."
        )
    if earlier.request_hash != request_hash or earlier.operation != operation:
        raise Unprocessable(
            "idempotency_key_reused",
            "This Idempotency-Key was used for another request; use a new key for a new booking.",
        )
    return earlier.cons_id


async def settle_idempotency_key(
    session: AsyncSession, *, key: str, cons_id: str, client_id: uuid.UUID
) -> None:
    await repository.settle_idempotency_key(session, key=key, cons_id=cons_id, client_id=client_id)


async def undo_booking(session: AsyncSession, cons_id: str, *, lease_seconds: float) -> int | None:
    """Undo a booking 1C refused: the row goes with its tasks and idempotency key, and its
    conversation is deleted (the returned task, for the caller to carry out). A conversation
    still being opened is deleted once it is open, and the row (cancelled meanwhile) with it."""
    row = await repository.consultation(session, cons_id, for_update=True)
    if row is None:
        return None
    conversation_id = row.chatwoot_conversation_id
    if conversation_id is not None:
        await repository.delete_consultation(session, cons_id)
        return await enqueue(
            session,
            DELETE_CONVERSATION,
            {"conversation_id": conversation_id},
            lease_seconds=lease_seconds,
        )
    await repository.release_idempotency_keys(session, cons_id)
    if row.status != "cancelled":
        await repository.update_consultation(
            session, cons_id, {"status": "cancelled", "denied": True}
        )
        await record_status_change(session, cons_id, row.status, "cancelled", "onec")
    await enqueue(
        session,
        DELETE_CONVERSATION,
        {"cons_id": cons_id, "discard_consultation": True},
        cons_id=cons_id,
    )
    return None


# --- the booking's answer --------------------------------------------------------------------


async def booking_answer(
    session: AsyncSession, cons_id: str, *, settings: object, now: datetime
) -> ConsultationResponse:
    """The answer of a booking from what the database holds now (a repeated request with the
    same key answers the same consultation, with whatever ids have landed since)."""
    found = await repository.consultation_with_manager(session, cons_id)
    if found is None:
        raise not_found()
    row, manager_name = found
    client = await repository.client(session, row.client_id) if row.client_id else None
    return answer_of(
        row,
        manager_name=manager_name,
        queue=await queue_of(session, cons_id, now, locale_of(row)),
        pubsub_token=client.chatwoot_pubsub_token if client is not None else None,
        settings=settings,
    )


def booked_answer(
    booking: Booking, results: Mapping[str, Mapping[str, Any]], *, settings: object
) -> ConsultationResponse:
    """The answer of a booking just made: its row as inserted, with what Chatwoot and 1C
    answered right after the commit (`results` by operation; those that did not answer in
    time are simply absent)."""
    row = booking.consultation
    opened = results.get(OPEN_CONVERSATION) or {}
    if opened.get("conversation_id") is not None:
        row.chatwoot_conversation_id = int(opened["conversation_id"])
        row.chatwoot_source_id = opened.get("source_id")
    recorded = results.get(CREATE_IN_ONEC) or {}
    if recorded.get("number") is not None:
        row.number = str(recorded["number"])
    return answer_of(
        row,
        manager_name=booking.pick.name if booking.pick else None,
        queue=booking.queue,
        pubsub_token=opened.get("pubsub_token") or booking.pubsub_token,
        settings=settings,
    )


def answer_of(
    row: Consultation,
    *,
    manager_name: str | None,
    queue: QueueInfo | None,
    pubsub_token: str | None,
    settings: object,
) -> ConsultationResponse:
    read = consultation_read(row, manager_name)
    waiting = []
    if row.chatwoot_conversation_id is None:
        waiting.append("Chatwoot")
    if row.cl_ref_key is not None and row.number is None and row.status != "cancelled":
        waiting.append("1C")
    chat = ChatwootSettings.of(settings)
    widget = ChatwootWidget(
        base_url=str(chat.chatwoot_api_url).rstrip("/") if chat.chatwoot_api_url else None,
        account_id=chat.chatwoot_account_id,
        inbox_id=chat.chatwoot_inbox_id,
        inbox_identifier=chat.chatwoot_inbox_identifier or None,
        conversation_id=row.chatwoot_conversation_id,
        source_id=row.chatwoot_source_id,
        pubsub_token=pubsub_token,
    )
    return ConsultationResponse(
        cons_id=row.cons_id,
        client_id=row.client_id,
        cl_ref_key=read.cl_ref_key,
        number=row.number,
        status=read.status,
        start_date=row.start_date,
        manager=ManagerRef(manager_key=row.manager, name=manager_name) if row.manager else None,
        queue=queue,
        chatwoot_conversation_id=row.chatwoot_conversation_id,
        chatwoot_source_id=row.chatwoot_source_id,
        chatwoot_pubsub_token=pubsub_token,
        chatwoot_account_id=widget.account_id,
        chatwoot_inbox_identifier=widget.inbox_identifier,
        chatwoot=widget,
        message=booking_message(row, queue, waiting_for=waiting),
        consultation=read,
    )


# --- texts for the client ----------------------------------------------------------------------


def locale_of(row: Consultation) -> str:
    return "uz" if row.lang == "uz" else "ru"


def tech_booked_text(row: Consultation, zone: ZoneInfo) -> str:
    return translate(
        "Your technical support request is accepted. Requested time: {date}. "
        "We will contact you within 15–20 minutes.",
        locale_of(row),
        date=local_text(row.start_date, zone),
    )


#: How long the place a booking took stays the one its info message tells (1C's answer came
#: right away); later (1C was down) the message tells the place at that time.
BOOKED_QUEUE_FRESH_SECONDS = 30.0


async def booked_queue(
    session: AsyncSession, row: Consultation, payload: Mapping[str, Any], now: datetime
) -> QueueInfo | None:
    """The consultation's place for its info message (see BOOKED_QUEUE_FRESH_SECONDS)."""
    booked_at = payload.get("booked_at")
    fresh = isinstance(booked_at, int | float) and (
        now.timestamp() - booked_at < BOOKED_QUEUE_FRESH_SECONDS
    )
    if fresh and "queue" in payload and row.status == "pending":
        taken = payload["queue"]
        return QueueInfo.model_validate(taken) if taken is not None else None
    return await queue_of(session, row.cons_id, now, locale_of(row))


def accounting_booked_text(
    row: Consultation,
    zone: ZoneInfo,
    queue: QueueInfo | None,
    *,
    number: str | None,
    show_wait: bool,
) -> str:
    """The info message of a consultation on accounting: its 1C number, date and queue."""
    locale = locale_of(row)
    text = translate(
        "Your consultation request is accepted. Request number: {number}. Scheduled for {date}.",
        locale,
        number=number or "—",
        date=local_text(row.start_date, zone),
    )
    if queue is not None and queue.position > 1:
        text += " " + translate(
            "You are number {position} in the queue.", locale, position=queue.position
        )
        if show_wait and queue.wait_text:
            text += " " + translate("Estimated wait: {wait}.", locale, wait=queue.wait_text)
        elif not show_wait:
            text += " " + translate("(You will learn the wait time in the chat.)", locale)
    return text


def limit_cancelled_text(row: Consultation, zone: ZoneInfo) -> str:
    return translate(
        "1C did not accept the request: the subscriber's consultations for {date} are used up. "
        "The request is cancelled; please book another day.",
        locale_of(row),
        date=local_text(row.start_date, zone)[:10],
    )


def cancelled_text(row: Consultation) -> str:
    return translate("The request was cancelled by the client.", locale_of(row))


def redate_text(
    row: Consultation, old: datetime | None, new: datetime, comment: str | None, zone: ZoneInfo
) -> str:
    """Worded as the ETL words a redate it reads from 1C (one event, one text)."""
    locale = locale_of(row)
    text = translate(
        "Consultation rescheduled. Old date: {old}. New date: {new}.",
        locale,
        old=local_text(old, zone),
        new=local_text(new, zone),
    )
    if comment:
        text += "\n" + translate("Comment: {comment}", locale, comment=comment)
    return text


def rating_text(row: Consultation, summary: RatingSummary) -> str:
    locale = locale_of(row)
    text = translate(
        "⭐ Consultation rating received\nAverage rating: {average}",
        locale,
        average=f"{summary.average:.1f}" if summary.average is not None else "—",
    )
    if summary.count > 1:
        text += "\n" + translate("Questions rated: {count}", locale, count=summary.count)
    return text


def booking_message(
    row: Consultation, queue: QueueInfo | None, *, waiting_for: Sequence[str]
) -> str:
    """The `message` of the booking's answer, in the consultation's language."""
    locale = locale_of(row)
    text = translate("The consultation is booked.", locale)
    if row.number:
        text += " " + translate("Request number: {number}.", locale, number=row.number)
    if queue is not None:
        text += " " + translate(
            "You are number {position} in the queue.", locale, position=queue.position
        )
        if queue.wait_text:
            text += " " + translate("Estimated wait: {wait}.", locale, wait=queue.wait_text)
    if waiting_for:
        text += " " + translate(
            "{systems} will get it shortly.", locale, systems=", ".join(waiting_for)
        )
    return text


# --- what Chatwoot shows ----------------------------------------------------------------------

LANGUAGE_LABELS = {"ru": "рус", "uz": "узб"}
SOURCE_LABELS = {"SITE": "сайт", "TELEGRAM": "тг"}
#: Words in the name of the kind of software → its label (Бухгалтерия, Розница, УК).
SOFTWARE_LABELS = (("бухгалтер", "бух"), ("розниц", "рт"), ("управление компанией", "ук"))
#: «УК» as a word of its own (1С:УК 3.0), not inside another word.
_UK = re.compile(r"(?<![а-яёa-z])ук(?![а-яёa-z])")


def software_label(name: str | None) -> str | None:
    lowered = (name or "").lower()
    for word, label in SOFTWARE_LABELS:
        if word in lowered:
            return label
    return "ук" if _UK.search(lowered) else None


def conversation_labels(row: Consultation, software: str | None) -> list[str]:
    """рус/узб by language, сайт/тг by source, тех for technical support, бух/рт/ук by the
    kind of software of a consultation on accounting."""
    labels = [LANGUAGE_LABELS.get(row.lang or "ru"), SOURCE_LABELS.get(row.source or "")]
    if row.consultation_type == TECH_SUPPORT:
        labels.append("тех")
    else:
        labels.append(software_label(software))
    return [label for label in labels if label]


async def conversation_attributes(
    session: AsyncSession, row: Consultation, *, code: str | None = None
) -> dict[str, object]:
    """The conversation's custom attributes, computed from the row (the one builder every
    part uses, through `chatwoot.set_attributes`). Moments go as UTC ISO text. `code`: the
    subscriber code when the caller has read the client already."""
    names = await repository.dictionary_names(
        session,
        category_key=row.online_question_cat,
        question_key=row.online_question,
        po_type_key=row.po_type_key,
    )
    if code is None:
        code = await repository.subscriber_code(session, row.client_id, row.client_key)
    return {
        "code_abonent": code or "N/A",
        "number_con": row.number,
        "date_con": row.start_date,
        "con_end": row.end_date,
        "redate_con": row.redate,
        "retime_con": row.redate_time.strftime("%H:%M") if row.redate_time else None,
        "consultation_type": row.consultation_type,
        "closed_without_con": row.denied,
        "category_name": names["category"],
        "question_name": names["question"],
        "software_name": names["po_type"],
        "topic_name": row.topic,
        "lang": row.lang,
        "source": row.source,
    }


# --- status ------------------------------------------------------------------------------------


async def record_status_change(
    session: AsyncSession, cons_id: str, old: str | None, new: str, source: str
) -> None:
    """Note a status change in `cons.status_history` (no-op when it did not change). Every
    writer of `cons.cons.status` calls this: booking, the API, Chatwoot webhooks, the ETL."""
    if old == new:
        return
    await repository.add_status_change(session, cons_id=cons_id, old=old, new=new, source=source)


# --- reading -----------------------------------------------------------------------------------


def consultation_read(row: Consultation, manager_name: str | None) -> ConsultationRead:
    recorded = row.number is not None
    return ConsultationRead(
        cons_id=row.cons_id,
        cl_ref_key=row.cl_ref_key if recorded else None,
        number=row.number,
        client_id=row.client_id,
        client_key=row.client_key,
        status=row.status,
        consultation_type=row.consultation_type,
        manager_key=row.manager,
        manager_name=manager_name,
        create_date=row.create_date,
        start_date=row.start_date,
        end_date=row.end_date,
        denied=row.denied,
        source=row.source,
        lang=row.lang,
        topic=row.topic,
        comment=row.comment,
        importance=row.importance,
        po_type_key=row.po_type_key,
        po_section_key=row.po_section_key,
        category_key=row.online_question_cat,
        question_key=row.online_question,
        chatwoot_conversation_id=row.chatwoot_conversation_id,
        chatwoot_source_id=row.chatwoot_source_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def not_found() -> NotFound:
    return NotFound("consultation_not_found", "Consultation not found.")


async def get_consultation(session: AsyncSession, cons_id: str) -> ConsultationRead:
    found = await repository.consultation_with_manager(session, cons_id)
    if found is None:
        raise not_found()
    return consultation_read(*found)


def queue_info(position: int, wait: managers.WaitEstimate | None, locale: str) -> QueueInfo:
    return QueueInfo(
        position=position,
        before=position - 1,
        wait_minutes_min=wait.estimated_wait_minutes_min if wait else None,
        wait_minutes_max=wait.estimated_wait_minutes_max if wait else None,
        wait_text=managers.wait_text(wait, locale) if wait else None,
    )


async def queue_of(
    session: AsyncSession, cons_id: str, now: datetime, locale: str
) -> QueueInfo | None:
    """Where the consultation stands in its manager's queue now (None when it is in none)."""
    info = await managers.queue_info(session, cons_id, now)
    if info is None or info.queue_position is None:
        return None
    return queue_info(info.queue_position, info.wait, locale)


async def queue_of_pick(
    session: AsyncSession, pick: ManagerPick, row: Consultation, now: datetime
) -> QueueInfo:
    """The new consultation's place, as the pick (under the manager's lock) found it."""
    averages = await managers.average_minutes(session, [pick.manager_key], now)
    wait = managers.estimate_wait(pick.queue_position, averages.get(pick.manager_key))
    return queue_info(pick.queue_position, wait, locale_of(row))


async def client_consultations(
    session: AsyncSession, client_id: uuid.UUID, *, skip: int, limit: int
) -> ConsultationPage:
    if await repository.client(session, client_id) is None:
        raise NotFound("client_not_found", "Client not found.")
    total, rows = await repository.client_consultations(session, client_id, skip=skip, limit=limit)
    return ConsultationPage(
        total=total,
        skip=skip,
        limit=limit,
        items=[consultation_read(row, name) for row, name in rows],
    )


async def _existing(session: AsyncSession, cons_id: str, *, lock: bool = False) -> Consultation:
    row = await repository.consultation(session, cons_id, for_update=lock)
    if row is None:
        raise not_found()
    return row


# --- changes -----------------------------------------------------------------------------------


async def _queue_chat_status(session: AsyncSession, row: Consultation, old: str) -> None:
    new_chat, old_chat = CHATWOOT_STATUS[row.status], CHATWOOT_STATUS.get(old)
    if new_chat != old_chat:
        await enqueue(
            session, SET_STATUS, {"cons_id": row.cons_id, "status": new_chat}, cons_id=row.cons_id
        )


async def _queue_sync(
    session: AsyncSession, row: Consultation, *, onec: bool = True, chat: bool = True
) -> None:
    """Queue the current row to the peers that have it: 1C's document, Chatwoot's attributes."""
    if onec and row.cl_ref_key is not None:
        await enqueue(session, UPDATE_IN_ONEC, {"cons_id": row.cons_id}, cons_id=row.cons_id)
    if chat:
        await enqueue(session, SET_ATTRIBUTES, {"cons_id": row.cons_id}, cons_id=row.cons_id)


async def _manager_hours(
    session: AsyncSession, row: Consultation
) -> tuple[time | None, time | None]:
    if row.manager is None:
        return (None, None)
    manager = await repository.manager(session, row.manager)
    return (manager.start_hour, manager.end_hour) if manager is not None else (None, None)


async def _hours_of(
    session: AsyncSession, row: Consultation, rules: BookingRules
) -> tuple[time | None, time | None]:
    if row.consultation_type == ACCOUNTING:
        return await _manager_hours(session, row)
    return rules.tech_hours


async def _owner_of_row(session: AsyncSession, row: Consultation) -> Client | None:
    if row.client_id is None:
        return None
    client = await repository.client(session, row.client_id)
    if client is None or client.parent_id is None:
        return client
    return await repository.client(session, client.parent_id)


async def _reschedule(
    session: AsyncSession,
    row: Consultation,
    requested: datetime,
    *,
    rules: BookingRules,
    now: datetime,
    field_name: str,
) -> datetime:
    """A new date for an existing consultation, checked like a booking's (past, days ahead,
    working hours, the subscriber's daily limit on the new day)."""
    moment = schedule(
        requested,
        now=now,
        rules=rules,
        hours=await _hours_of(session, row, rules),
        field_name=field_name,
    )
    if row.consultation_type == ACCOUNTING:
        owner = await _owner_of_row(session, row)
        if owner is not None:
            await repository.lock_client(session, owner.client_id)
            await check_daily_limit(
                session, owner=owner, moment=moment, rules=rules, exclude_cons_id=row.cons_id
            )
    return moment


async def update_consultation(
    session: AsyncSession,
    cons_id: str,
    changes: ConsultationUpdate,
    *,
    rules: BookingRules,
    now: datetime,
) -> ConsultationRead:
    row = await _existing(session, cons_id, lock=True)
    given = changes.model_fields_set
    if row.status == "cancelled":
        raise Conflict("consultation_cancelled", "A cancelled consultation cannot be changed.")
    if changes.status == "cancelled":
        raise Conflict(
            "use_cancel", "To cancel a consultation use its cancel endpoint (POST …/cancel)."
        )
    values: dict[str, Any] = {}
    if "start_date" in given and changes.start_date is not None:
        values["start_date"] = await _reschedule(
            session, row, changes.start_date, rules=rules, now=now, field_name="start_date"
        )
    for name in ("comment", "importance", "topic"):
        if name in given:
            values[name] = getattr(changes, name)
    if "end_date" in given:
        values["end_date"] = (
            utc_seconds(aware(changes.end_date, rules.zone)) if changes.end_date else None
        )
    if changes.status is not None and changes.status != row.status:
        values["status"] = changes.status
        finished = changes.status in TERMINAL_STATUSES
        if finished and "end_date" not in given and row.end_date is None:
            values["end_date"] = utc_seconds(now)
        if not finished and "end_date" not in given:
            values["end_date"] = None  # reopened
    start = values.get("start_date", row.start_date)
    end = values.get("end_date") if "end_date" in given else None
    if start is not None and end is not None and end < start:
        # Only an end the caller gives: one set now on closing may well precede the planned
        # start (the manager helped earlier than booked).
        raise invalid_field("end_date", "The end is before the start.", "end_before_start")
    old_status = row.status
    await repository.update_consultation(session, cons_id, values)
    await session.refresh(row)
    await record_status_change(session, cons_id, old_status, row.status, "api")
    if values:
        await _queue_sync(session, row)
        await _queue_chat_status(session, row, old_status)
    return await get_consultation(session, cons_id)


async def cancel_consultation(
    session: AsyncSession, cons_id: str, *, rules: BookingRules, now: datetime
) -> ConsultationRead:
    """The client calls the booking off (only soon after booking): the 1C document is marked
    deleted (its place in the daily limit is free again), the chat is told and resolved."""
    row = await _existing(session, cons_id, lock=True)
    if row.status == "cancelled" or row.denied:
        raise Conflict("already_cancelled", "The consultation is already cancelled.")
    if row.status in TERMINAL_STATUSES:
        raise Conflict(
            "consultation_finished", "The consultation is finished and cannot be cancelled."
        )
    booked_at = row.create_date or row.created_at
    if now - booked_at > timedelta(minutes=rules.cancel_minutes):
        raise Conflict(
            "cancel_window_passed",
            "A consultation can be cancelled only within {minutes} minutes of booking.",
            minutes=rules.cancel_minutes,
        )
    old_status = row.status
    await repository.update_consultation(
        session, cons_id, {"status": "cancelled", "denied": True, "end_date": utc_seconds(now)}
    )
    await session.refresh(row)
    await record_status_change(session, cons_id, old_status, "cancelled", "api")
    if row.cl_ref_key is not None:
        await enqueue(
            session,
            DELETE_IN_ONEC,
            {"cons_id": cons_id, "ref_key": str(row.cl_ref_key)},
            cons_id=cons_id,
        )
    await enqueue(session, SET_ATTRIBUTES, {"cons_id": cons_id}, cons_id=cons_id)
    await notify(
        session,
        cons_id=cons_id,
        kind="cancelled",
        text=cancelled_text(row),
        unique={"cons_id": cons_id},
    )
    await _queue_chat_status(session, row, old_status)
    return await get_consultation(session, cons_id)


def _in_onec(row: Consultation) -> uuid.UUID:
    """The 1C document of a consultation; only those have redates and ratings (1C keeps both
    in registers keyed by the document)."""
    if row.cl_ref_key is None:
        raise Conflict(
            "not_in_onec",
            "Only consultations on accounting (recorded in 1C) can be moved or rated.",
        )
    return row.cl_ref_key


async def _known_manager(
    session: AsyncSession, row: Consultation, manager_key: uuid.UUID | None
) -> uuid.UUID | None:
    """The manager a redate or rating names: the one given (a 1C user we know), else the
    consultation's."""
    if manager_key is None or manager_key == row.manager:
        return row.manager
    if await repository.manager(session, manager_key) is None:
        raise invalid_field("manager_key", "Unknown manager (a 1C user's GUID).", "unknown_key")
    return manager_key


# --- redates -----------------------------------------------------------------------------------


def redate_unique(cons_key: uuid.UUID, period: datetime, new_date: datetime) -> dict[str, str]:
    """What makes a redate's notification the same one, whoever sees the redate (this API or
    the ETL reading it back from 1C): the document, the moment (UTC, whole seconds) and the
    new date (UTC, whole seconds), as ISO text."""
    return {
        "cons_key": str(cons_key),
        "period": utc_seconds(period).isoformat(),
        "new_date": utc_seconds(new_date).isoformat(),
    }


async def add_redate(
    session: AsyncSession,
    cons_id: str,
    request: RedateCreate,
    *,
    rules: BookingRules,
    now: datetime,
) -> RedateRead:
    row = await _existing(session, cons_id, lock=True)
    cons_key = _in_onec(row)
    if row.status in TERMINAL_STATUSES:
        raise Conflict(
            "consultation_finished", "A finished or cancelled consultation cannot be moved."
        )
    manager_key = await _known_manager(session, row, request.manager_key)
    new_date = await _reschedule(
        session, row, request.new_date, rules=rules, now=now, field_name="new_date"
    )
    owner = await _owner_of_row(session, row)
    period = utc_seconds(now)
    redate = await repository.insert_redate(
        session,
        {
            "cons_key": cons_key,
            "clients_key": row.client_key or (owner.cl_ref_key if owner else None),
            "manager_key": manager_key,
            "period": period,
            "old_date": row.start_date,
            "new_date": new_date,
            "comment": request.comment,
        },
    )
    if redate is None:
        raise Conflict("redate_in_progress", "The consultation was just moved; try again.")
    local = new_date.astimezone(rules.zone)
    await repository.update_consultation(
        session,
        cons_id,
        {"start_date": new_date, "redate": local.date(), "redate_time": local.time()},
    )
    await enqueue(
        session, RECORD_REDATE, {"cons_id": cons_id, "redate_id": redate.id}, cons_id=cons_id
    )
    await _queue_sync(session, row)
    await notify(
        session,
        cons_id=cons_id,
        kind="redate",
        text=redate_text(row, row.start_date, new_date, request.comment, rules.zone),
        unique=redate_unique(cons_key, period, new_date),
    )
    return RedateRead.model_validate(redate)


async def list_redates(session: AsyncSession, cons_id: str) -> list[RedateRead]:
    row = await _existing(session, cons_id)
    if row.cl_ref_key is None:
        return []
    return [RedateRead.model_validate(r) for r in await repository.redates(session, row.cl_ref_key)]


# --- ratings -----------------------------------------------------------------------------------


def summarize(answers: Sequence[Any]) -> RatingSummary:
    reads = [RatingAnswerRead.model_validate(answer) for answer in answers]
    average = round(sum(a.rating for a in reads) / len(reads), 2) if reads else None
    return RatingSummary(average=average, count=len(reads), answers=reads)


async def rate(
    session: AsyncSession, cons_id: str, request: RatingRequest, *, now: datetime
) -> RatingSummary:
    row = await _existing(session, cons_id, lock=True)
    cons_key = _in_onec(row)
    if row.status == "cancelled":
        raise Conflict("consultation_cancelled", "A cancelled consultation cannot be rated.")
    manager_key = await _known_manager(session, row, request.manager_key)
    if manager_key is None:
        raise Conflict(
            "no_manager",
            "The consultation has no manager yet; send manager_key (a 1C user's GUID).",
        )
    rated_at = utc_seconds(now)
    owner = await _owner_of_row(session, row)
    client_key = row.client_key or (owner.cl_ref_key if owner else None)
    for answer in request.answers:
        rating_id = await repository.upsert_rating(
            session,
            {
                "cons_key": cons_key,
                "client_key": client_key,
                "manager_key": manager_key,
                "question_number": answer.question_number,
                "rating": answer.rating,
                "question": answer.question,
                "comment": answer.comment,
                "rating_date": rated_at,
            },
        )
        await enqueue(
            session, RECORD_RATING, {"cons_id": cons_id, "rating_id": rating_id}, cons_id=cons_id
        )
    summary = summarize(await repository.ratings(session, cons_key))
    await repository.update_consultation(
        session, cons_id, {"con_rates": {"average": summary.average, "count": summary.count}}
    )
    await notify(
        session,
        cons_id=cons_id,
        kind="rating",
        text=rating_text(row, summary),
        unique={
            "cons_key": str(cons_key),
            "manager_key": str(manager_key),
            "rated_at": rated_at.isoformat(),
            "answers": sorted((a.question_number, a.rating) for a in request.answers),
        },
    )
    return summary


async def list_ratings(session: AsyncSession, cons_id: str) -> RatingSummary:
    row = await _existing(session, cons_id)
    if row.cl_ref_key is None:
        return summarize([])
    return summarize(await repository.ratings(session, row.cl_ref_key))


# --- calls and history -------------------------------------------------------------------------


async def list_calls(
    session: AsyncSession,
    cons_id: str,
    *,
    date_from: datetime | None,
    date_to: datetime | None,
    manager_key: uuid.UUID | None,
    skip: int,
    limit: int,
) -> list[CallRead]:
    row = await _existing(session, cons_id)
    if row.cl_ref_key is None:
        return []
    rows = await repository.calls(
        session,
        row.cl_ref_key,
        date_from=date_from,
        date_to=date_to,
        manager_key=manager_key,
        skip=skip,
        limit=limit,
    )
    return [
        CallRead(
            period=call.period,
            manager_key=call.manager,
            manager_name=name,
            client_key=call.client_key,
        )
        for call, name in rows
    ]


async def history(session: AsyncSession, cons_id: str) -> ConsultationHistory:
    """Status changes, redates, ratings and calls of a consultation, oldest first."""
    row = await _existing(session, cons_id)
    events = [
        HistoryEvent(
            at=change.changed_at,
            kind="status",
            details={
                "old_status": change.old_status,
                "new_status": change.new_status,
                "source": change.source,
            },
        )
        for change in await repository.status_changes(session, cons_id)
    ]
    if row.cl_ref_key is not None:
        events += [
            HistoryEvent(
                at=redate.period,
                kind="redate",
                details={
                    "old_date": _iso(redate.old_date),
                    "new_date": _iso(redate.new_date),
                    "manager_key": _text(redate.manager_key),
                    "comment": redate.comment,
                },
            )
            for redate in await repository.redates(session, row.cl_ref_key)
        ]
        events += [
            HistoryEvent(
                at=answer.rating_date or answer.created_at,
                kind="rating",
                details={
                    "question_number": answer.question_number,
                    "rating": answer.rating,
                    "manager_key": str(answer.manager_key),
                    "comment": answer.comment,
                },
            )
            for answer in await repository.ratings(session, row.cl_ref_key)
        ]
        events += [
            HistoryEvent(
                at=call.period,
                kind="call",
                details={"manager_key": str(call.manager), "manager_name": name},
            )
            for call, name in await repository.calls(session, row.cl_ref_key)
        ]
    events.sort(key=lambda event: event.at)
    return ConsultationHistory(cons_id=cons_id, events=events)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _text(value: object | None) -> str | None:
    return str(value) if value is not None else None
