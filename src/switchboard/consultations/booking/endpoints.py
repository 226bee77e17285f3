"""`/api/consultations/*`: booking a consultation and everything a client does with it later
(seed 001 «Консультации»).

A booking commits in one short transaction (client, checks, manager, row, outbox), then carries
its Chatwoot conversation and 1C document out at once, side by side, for at most
BOOKING_WAIT_SECONDS, and answers as soon as both peers have (their ids are written right
after, in the response's background task); whatever has not landed by then the worker
finishes. If 1C refuses the
document because the subscriber's day is full, the booking is undone (the conversation deleted,
the row removed) and the answer is 429: nothing is left half-written.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, BackgroundTasks, Header, Path, Query, Request
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.consultations.booking import service
from switchboard.consultations.booking.schemas import (
    CONS_ID_PATTERN,
    CallRead,
    ConsultationCreate,
    ConsultationFields,
    ConsultationHistory,
    ConsultationPage,
    ConsultationRead,
    ConsultationResponse,
    ConsultationUpdate,
    ConsultationWithClient,
    RatingRequest,
    RatingSummary,
    RedateCreate,
    RedateRead,
)
from switchboard.consultations.booking.service import BookingRules, People
from switchboard.consultations.clients import service as clients
from switchboard.consultations.settings import ConsultationSettings
from switchboard.consultations.sync.service import queued_order_keys
from switchboard.consultations.sync.tasks import TaskOutcome, carry_out, start_carrying_out
from switchboard.core.auth import telegram_user_of
from switchboard.core.db.base import utcnow
from switchboard.core.errors import error_responses
from switchboard.core.routing import FrontRoute
from switchboard.runtime import Runtime, Session, runtime_of

router = APIRouter(prefix="/api/consultations", tags=["consultations"], route_class=FrontRoute)

#: The request keeps its own outbox tasks this much longer than it waits for them (then the
#: worker may take them, e.g. when the process died in between).
LEASE_MARGIN_SECONDS = 30.0

ConsId = Annotated[
    str,
    Path(
        max_length=64,
        pattern=CONS_ID_PATTERN,
        description="The consultation's `cons_id`: a GUID for bookings made here, "
        "`cl_<Ref_Key>` for those that came from 1C",
        examples=["1f0c3a52-8f7e-4d59-9a77-2b1d8f6c0e41"],
    ),
]
ClientId = Annotated[
    uuid.UUID,
    Path(description="The client's `client_id`", examples=["0b6f1c9e-2d1a-4d8e-9a51-7c2f0e4b9a10"]),
]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=255,
        pattern=r"^[!-~]{1,255}$",
        description="Any unique printable string (a UUID): a repeat of the same request with "
        "the same key answers what the first one did, without booking again; the same key with "
        "another body is 422. Keys are kept 24 hours.",
    ),
]
Skip = Annotated[int, Query(ge=0, le=1_000_000, description="Rows to skip")]
Limit = Annotated[int, Query(ge=1, le=1000, description="Rows to return (at most 1000)")]

_BOOKING_ERRORS = error_responses(400, 403, 404, 409, 422, 429)
_READ_ERRORS = error_responses(404)
_CHANGE_ERRORS = error_responses(400, 404, 409, 422, 429)


# --- booking -----------------------------------------------------------------------------------


def _request_hash(operation: str, body: BaseModel) -> str:
    material = orjson.dumps(
        {"operation": operation, "body": body.model_dump(mode="json")},
        option=orjson.OPT_SORT_KEYS,
    )
    return hashlib.sha256(material).hexdigest()


Lookup = Callable[[AsyncSession], Awaitable[People]]


async def _book(
    runtime: Runtime,
    *,
    operation: str,
    body: BaseModel,
    fields: ConsultationFields,
    lookup: Lookup,
    idempotency_key: str | None,
    field_prefix: str,
    background: BackgroundTasks,
) -> ConsultationResponse:
    rules = BookingRules.from_settings(runtime.settings)
    wait = ConsultationSettings.of(runtime.settings).booking_wait_seconds
    lease = wait + LEASE_MARGIN_SECONDS if wait > 0 else None
    now = utcnow()
    async with runtime.database.transaction() as session:
        if idempotency_key is not None:
            earlier = await service.claim_idempotency_key(
                session,
                key=idempotency_key,
                operation=operation,
                request_hash=_request_hash(operation, body),
            )
            if earlier is not None:
                return await service.booking_answer(
                    session, earlier, settings=runtime.settings, now=now
                )
        people = await lookup(session)
        sync_tasks = await clients.enqueue_client_sync(
            session, people.client, people.owner, settings=runtime.settings, lease_seconds=lease
        )
        booking = await service.book(
            session,
            client=people.client,
            owner=people.owner,
            fields=fields,
            rules=rules,
            now=now,
            rng=random.Random(),
            lease_seconds=lease,
            field_prefix=field_prefix,
        )
        cons_id = booking.consultation.cons_id
        order_keys = queued_order_keys(session)
        if idempotency_key is not None:
            await service.settle_idempotency_key(
                session, key=idempotency_key, cons_id=cons_id, client_id=people.client.client_id
            )
    results: dict[str, Mapping[str, Any]] = {}
    if lease is not None:
        carrying = await start_carrying_out(
            runtime, [*sync_tasks, *booking.fast_tasks], timeout=wait, order_keys=order_keys
        )
        outcomes = await carrying.answered()
        if _refused_by_onec(outcomes):
            await carrying.settled()
            await _undo(runtime, cons_id, wait=wait)
            raise service.limit_reached(booking.consultation.start_date or now, rules)
        # The answer goes out now; the ids it carries are written meanwhile (the response's
        # background task waits for that, so a server shutting down waits too).
        background.add_task(carrying.settled)
        results = {
            outcome.operation: outcome.result
            for outcome in outcomes.values()
            if outcome.status in ("done", "answered") and outcome.result is not None
        }
    return service.booked_answer(booking, results, settings=runtime.settings)


def _from_telegram(fields: ConsultationFields) -> ConsultationFields:
    """A booking made in the Telegram Mini App (verified `initData`) comes from Telegram,
    whatever the body says."""
    return fields.model_copy(update={"source": "TELEGRAM"})


def _refused_by_onec(outcomes: dict[int, TaskOutcome]) -> bool:
    return any(
        outcome.operation == service.CREATE_IN_ONEC
        and bool((outcome.result or {}).get("daily_limit_reached"))
        for outcome in outcomes.values()
    )


async def _undo(runtime: Runtime, cons_id: str, *, wait: float) -> None:
    """1C refused the document: delete the conversation and the consultation (at once when the
    conversation is open, else as soon as it is)."""
    async with runtime.database.transaction() as session:
        task_id = await service.undo_booking(
            session, cons_id, lease_seconds=wait + LEASE_MARGIN_SECONDS
        )
    if task_id is not None:
        await carry_out(runtime, [task_id], timeout=wait)


@router.post(
    "/create",
    status_code=201,
    response_model=ConsultationResponse,
    responses=_BOOKING_ERRORS,
    summary="Book a consultation (the client is found or created)",
    description=(
        "The main booking of the website and the Telegram Mini App. In one transaction: the "
        "client is found or created (as `POST /api/clients` does, with its owner), the request "
        "is checked — `start_date` not in the past (5 minutes of clock skew are forgiven) and "
        "at most `MAX_FUTURE_CONSULTATION_DAYS` ahead (400); dictionary keys known and "
        "`question_key` of `category_key` (422) — and then, by type:\n\n"
        "* **Консультация по ведению учёта**: the owner needs an INN (400); at most 3 a day per "
        "subscriber (local day of the 1C base, 429); a consultant is picked automatically "
        "(skills, language, working hours, closed queues, least loaded, never past their "
        "limit); a 1C document `Document_ТелефонныйЗвонок` is created.\n"
        "* **Техническая поддержка**: one open request per client (409); a time outside the "
        "support's working hours moves to the next working time; no 1C document.\n\n"
        "The Chatwoot conversation (with the consultation's attributes, team, agent and labels) "
        "and the 1C document are created side by side right after the commit; the answer waits "
        "for them at most `BOOKING_WAIT_SECONDS` and goes out as soon as both have answered "
        "(their ids reach the consultation's row a few milliseconds later). When Chatwoot or 1C "
        "is down the booking still succeeds (their ids are null in the answer) and the platform "
        "retries until they land. When 1C refuses the document because the subscriber's day is "
        "full there, the booking is undone and the answer is 429. The client gets an info "
        "message in the chat (number, date, place in the queue and expected wait) in the "
        "consultation's language.\n\n"
        "With an `Idempotency-Key` a repeated request answers the same consultation."
    ),
)
async def create(
    request: Request,
    body: ConsultationWithClient,
    background: BackgroundTasks,
    idempotency_key: IdempotencyKey = None,
) -> ConsultationResponse:
    runtime = runtime_of(request)
    telegram = telegram_user_of(request)

    async def lookup(session: AsyncSession) -> People:
        outcome = await clients.find_or_create_client(
            session, body.client, settings=runtime.settings
        )
        if telegram is not None:
            await clients.attach_telegram_user(session, outcome.client, telegram)
        return People(outcome.client, outcome.owner)

    return await _book(
        runtime,
        operation="consultations.create",
        body=body,
        fields=_from_telegram(body.consultation) if telegram else body.consultation,
        lookup=lookup,
        idempotency_key=idempotency_key,
        field_prefix="consultation.",
        background=background,
    )


@router.post(
    "/simple",
    status_code=201,
    response_model=ConsultationResponse,
    responses=_BOOKING_ERRORS,
    summary="Book a consultation for a known client",
    description=(
        "The same booking as `/create` for a client that exists already (`client_id`; 404 "
        "when unknown): the same checks, manager choice, Chatwoot conversation, 1C document, "
        "info message and `Idempotency-Key`."
    ),
)
async def simple(
    request: Request,
    body: ConsultationCreate,
    background: BackgroundTasks,
    idempotency_key: IdempotencyKey = None,
) -> ConsultationResponse:
    telegram = telegram_user_of(request)

    async def lookup(session: AsyncSession) -> People:
        people = await service.known_client(session, body.client_id)
        if telegram is not None:
            await clients.attach_telegram_user(session, people.client, telegram)
        return people

    return await _book(
        runtime_of(request),
        operation="consultations.simple",
        body=body,
        fields=_from_telegram(body) if telegram else body,
        lookup=lookup,
        idempotency_key=idempotency_key,
        field_prefix="",
        background=background,
    )


# --- reading and changing ----------------------------------------------------------------------


@router.get(
    "/clients/{client_id}/consultations",
    response_model=ConsultationPage,
    responses=_READ_ERRORS,
    summary="A client's consultations",
    description=(
        "The client's consultations, newest first, a page at a time (`skip`, `limit` ≤ 1000), "
        "with `total` and each consultation's manager name. 404 for an unknown client."
    ),
)
async def client_consultations(
    client_id: ClientId, session: Session, skip: Skip = 0, limit: Limit = 100
) -> ConsultationPage:
    return await service.client_consultations(session, client_id, skip=skip, limit=limit)


@router.get(
    "/{cons_id}",
    response_model=ConsultationRead,
    responses=_READ_ERRORS,
    summary="A consultation",
    description=(
        "The consultation with its manager's name and Chatwoot ids (`chatwoot_source_id` for "
        "the widget). `cl_ref_key` and `number` are filled once 1C has the document."
    ),
)
async def get_consultation(cons_id: ConsId, session: Session) -> ConsultationRead:
    return await service.get_consultation(session, cons_id)


@router.put(
    "/{cons_id}",
    response_model=ConsultationRead,
    responses=_CHANGE_ERRORS,
    summary="Change a consultation",
    description=(
        "Changes the fields given: `status` (new, open, pending, resolved, closed; cancel has "
        "its own endpoint; a cancelled consultation cannot change: 409), `start_date` (checked "
        "like a booking's: past or too far 400, a full day 429), `end_date` (not before the "
        "start: 422), `comment`, `importance`, `topic`. 1C's document gets the new manager, "
        "date, end and status; Chatwoot the status and the conversation's attributes."
    ),
)
async def update_consultation(
    request: Request, cons_id: ConsId, body: ConsultationUpdate, session: Session
) -> ConsultationRead:
    rules = BookingRules.from_settings(runtime_of(request).settings)
    return await service.update_consultation(session, cons_id, body, rules=rules, now=utcnow())


@router.post(
    "/{cons_id}/cancel",
    response_model=ConsultationRead,
    responses=_CHANGE_ERRORS,
    summary="Cancel a consultation (the client calls it off)",
    description=(
        "Only within `CANCEL_CONSULTATION_TIMEOUT_MINUTES` (90) of booking, and only once: "
        "a second cancel, a finished consultation or a late cancel is 409. The consultation "
        "becomes `cancelled` (closed without a consultation); 1C's document gets the deletion "
        "mark (its place in the daily limit is free again); Chatwoot's conversation is marked "
        "`closed_without_con`, the client reads «Заявка аннулирована клиентом.», and it is "
        "resolved."
    ),
)
async def cancel(request: Request, cons_id: ConsId, session: Session) -> ConsultationRead:
    rules = BookingRules.from_settings(runtime_of(request).settings)
    return await service.cancel_consultation(session, cons_id, rules=rules, now=utcnow())


@router.get(
    "/{cons_id}/calls",
    response_model=list[CallRead],
    responses=_READ_ERRORS,
    summary="The manager's attempts to call the client",
    description=(
        "Call attempts (1C `РегистрацияДозвона`), newest first, a page at a time; filtered by "
        "time (`date_from`, `date_to`, inclusive) and manager."
    ),
)
async def calls(
    cons_id: ConsId,
    session: Session,
    *,
    skip: Skip = 0,
    limit: Limit = 100,
    date_from: Annotated[datetime | None, Query(description="From this moment")] = None,
    date_to: Annotated[datetime | None, Query(description="Up to this moment")] = None,
    manager_key: Annotated[
        uuid.UUID | None, Query(description="Only this manager's calls (a GUID)")
    ] = None,
) -> list[CallRead]:
    return await service.list_calls(
        session,
        cons_id,
        date_from=date_from,
        date_to=date_to,
        manager_key=manager_key,
        skip=skip,
        limit=limit,
    )


@router.get(
    "/{cons_id}/redates",
    response_model=list[RedateRead],
    responses=_READ_ERRORS,
    summary="The consultation's moves to other dates",
    description="Every redate of the consultation, newest first.",
)
async def redates(cons_id: ConsId, session: Session) -> list[RedateRead]:
    return await service.list_redates(session, cons_id)


@router.post(
    "/{cons_id}/redates",
    status_code=201,
    response_model=RedateRead,
    responses=_CHANGE_ERRORS,
    summary="Move the consultation to another date",
    description=(
        "`new_date` is checked like a booking's date: not in the past, at most "
        "`MAX_FUTURE_CONSULTATION_DAYS` ahead (400), inside the working hours (moved to the "
        "next working time otherwise), and the subscriber's day not full (429). `manager_key` "
        "(who moved it) must be a known 1C user's GUID (422); by default the consultation's "
        "manager. Only consultations on accounting recorded in 1C can be moved (409). The "
        "redate goes to 1C (`РегистрацияПереносаКонсультации` and the document's "
        "`ДатаКонсультации`), and the client reads the old and new dates in the chat."
    ),
)
async def add_redate(
    request: Request, cons_id: ConsId, body: RedateCreate, session: Session
) -> RedateRead:
    rules = BookingRules.from_settings(runtime_of(request).settings)
    return await service.add_redate(session, cons_id, body, rules=rules, now=utcnow())


@router.get(
    "/{cons_id}/ratings",
    response_model=RatingSummary,
    responses=_READ_ERRORS,
    summary="The client's rating of the consultation",
    description="Every answer of the rating and their average.",
)
async def ratings(cons_id: ConsId, session: Session) -> RatingSummary:
    return await service.list_ratings(session, cons_id)


@router.post(
    "/{cons_id}/ratings",
    response_model=RatingSummary,
    responses=_CHANGE_ERRORS,
    summary="Rate the consultation",
    description=(
        "Answers (question number ≥ 1, rating 1–5: else 422) are saved — an answer to the "
        "same question for the same manager replaces the earlier one — with `rating_date` = "
        "now. The manager is `manager_key` (a known 1C user's GUID, 422 otherwise) or the "
        "consultation's. Each answer goes to 1C (`ОценкаКонсультацийПоЗаявкам`, `ДатаОценки` = "
        "now); the client reads the average in the chat. Only consultations on accounting "
        "recorded in 1C can be rated, and not cancelled ones (409)."
    ),
)
async def rate(cons_id: ConsId, body: RatingRequest, session: Session) -> RatingSummary:
    return await service.rate(session, cons_id, body, now=utcnow())


@router.get(
    "/{cons_id}/history",
    response_model=ConsultationHistory,
    responses=_READ_ERRORS,
    summary="What happened to the consultation",
    description=(
        "Status changes (with who made them: booking, api, chatwoot, onec, etl), redates, "
        "ratings and call attempts, merged, oldest first."
    ),
)
async def history(cons_id: ConsId, session: Session) -> ConsultationHistory:
    return await service.history(session, cons_id)
