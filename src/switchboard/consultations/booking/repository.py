"""SQL of the booking part: consultations, their redates, ratings, calls and status history,
the dictionary checks of a booking, and the idempotency reservations of creates."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, func, literal, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from switchboard.consultations.booking.models import IdempotencyKey, StatusChange
from switchboard.consultations.dictionaries.models import (
    POSection,
    POType,
    Question,
    QuestionCategory,
)
from switchboard.consultations.models import (
    ACCOUNTING,
    TECH_SUPPORT,
    Call,
    Client,
    Consultation,
    Manager,
    ManagerMapping,
    RatingAnswer,
    Redate,
)
from switchboard.consultations.sync.models import OutboxTask

#: Statuses of a technical-support consultation that is still being worked on.
OPEN_STATUSES = ("new", "open", "pending")
#: The database's clock at the moment a statement runs (not the transaction's start).
CLOCK_NOW = func.clock_timestamp()
#: How long an idempotency key is remembered.
IDEMPOTENCY_TTL = timedelta(hours=24)


# --- consultations ---------------------------------------------------------------------------


async def consultation(
    session: AsyncSession, cons_id: str, *, for_update: bool = False
) -> Consultation | None:
    statement = select(Consultation).where(Consultation.cons_id == cons_id)
    if for_update:
        statement = statement.with_for_update()
    return (await session.scalars(statement)).one_or_none()


async def consultation_with_manager(
    session: AsyncSession, cons_id: str
) -> tuple[Consultation, str | None] | None:
    """The consultation and its manager's name (one query)."""
    row = (
        await session.execute(
            select(Consultation, Manager.description)
            .outerjoin(Manager, Manager.cl_ref_key == Consultation.manager)
            .where(Consultation.cons_id == cons_id)
        )
    ).first()
    return (row[0], row[1]) if row is not None else None


async def insert_consultation(session: AsyncSession, values: Mapping[str, Any]) -> Consultation:
    # RETURNING the whole row: the values the database chose (create_date, timestamps) come
    # back with the insert, no second read.
    inserted = await session.scalars(insert(Consultation).values(**values).returning(Consultation))
    return inserted.one()


async def update_consultation(
    session: AsyncSession, cons_id: str, values: Mapping[str, Any]
) -> None:
    if values:
        await session.execute(
            update(Consultation)
            .where(Consultation.cons_id == cons_id)
            .values(**values, updated_at=func.now())
            # Callers read the row again when they need it; no in-session bookkeeping.
            .execution_options(synchronize_session=False)
        )


async def set_conversation(
    session: AsyncSession, cons_id: str, *, conversation_id: int, source_id: str | None
) -> tuple[bool, uuid.UUID | None]:
    """Link the consultation to its Chatwoot conversation: (whether the consultation exists,
    its client)."""
    updated = await session.execute(
        update(Consultation)
        .where(Consultation.cons_id == cons_id)
        .values(
            chatwoot_conversation_id=conversation_id,
            chatwoot_source_id=source_id,
            updated_at=func.now(),
        )
        .returning(Consultation.client_id)
        .execution_options(synchronize_session=False)
    )
    row = updated.first()
    return (True, row[0]) if row is not None else (False, None)


async def delete_consultation(session: AsyncSession, cons_id: str) -> bool:
    """Remove a consultation that must not exist (its outbox tasks and reservations go too)."""
    deleted = await session.execute(
        delete(Consultation).where(Consultation.cons_id == cons_id).returning(Consultation.cons_id)
    )
    return deleted.first() is not None


async def client_consultations(
    session: AsyncSession, client_id: uuid.UUID, *, skip: int, limit: int
) -> tuple[int, list[tuple[Consultation, str | None]]]:
    """A page of the client's consultations (newest first) with their managers' names."""
    total = await session.scalar(
        select(func.count()).select_from(Consultation).where(Consultation.client_id == client_id)
    )
    rows = await session.execute(
        select(Consultation, Manager.description)
        .outerjoin(Manager, Manager.cl_ref_key == Consultation.manager)
        .where(Consultation.client_id == client_id)
        .order_by(
            Consultation.create_date.desc().nulls_last(),
            Consultation.created_at.desc(),
            Consultation.cons_id,
        )
        .offset(skip)
        .limit(limit)
    )
    return int(total or 0), [(row[0], row[1]) for row in rows]


# --- clients -----------------------------------------------------------------------------------


async def client(
    session: AsyncSession, client_id: uuid.UUID, *, for_update: bool = False
) -> Client | None:
    statement = select(Client).where(Client.client_id == client_id)
    if for_update:
        statement = statement.with_for_update()
    return (await session.scalars(statement)).one_or_none()


async def lock_client(session: AsyncSession, client_id: uuid.UUID) -> None:
    """Hold the client's row until commit: bookings of one owner take turns, so two of them
    cannot both see room under a limit and both take it."""
    await session.execute(
        select(Client.client_id).where(Client.client_id == client_id).with_for_update()
    )


async def count_accounting_on_day(
    session: AsyncSession,
    *,
    owner_id: uuid.UUID,
    client_key: uuid.UUID | None,
    day_start: datetime,
    day_end: datetime,
    exclude_cons_id: str | None = None,
) -> int:
    """Live accounting consultations of a subscriber — its owner's and users' bookings, and
    those that came from 1C under its counterparty — whose date falls in [day_start, day_end)."""
    family = select(Client.client_id).where(
        or_(Client.client_id == owner_id, Client.parent_id == owner_id)
    )
    whose: list[ColumnElement[bool]] = [Consultation.client_id.in_(family)]
    if client_key is not None:
        whose.append(Consultation.client_key == client_key)
    conditions = [
        or_(*whose),
        Consultation.consultation_type == ACCOUNTING,
        Consultation.status != "cancelled",
        Consultation.denied.is_(False),
        Consultation.start_date >= day_start,
        Consultation.start_date < day_end,
    ]
    if exclude_cons_id is not None:
        conditions.append(Consultation.cons_id != exclude_cons_id)
    count = await session.scalar(
        select(func.count()).select_from(Consultation).where(and_(*conditions))
    )
    return int(count or 0)


async def open_tech_consultation(session: AsyncSession, client_id: uuid.UUID) -> str | None:
    """The client's technical-support consultation that is still open, if any."""
    return await session.scalar(
        select(Consultation.cons_id)
        .where(
            Consultation.client_id == client_id,
            Consultation.consultation_type == TECH_SUPPORT,
            Consultation.status.in_(OPEN_STATUSES),
            Consultation.denied.is_(False),
        )
        .limit(1)
    )


# --- dictionaries ------------------------------------------------------------------------------


async def live_category(session: AsyncSession, key: uuid.UUID) -> QuestionCategory | None:
    return await session.scalar(
        select(QuestionCategory).where(
            QuestionCategory.ref_key == key, QuestionCategory.deletion_mark.is_(False)
        )
    )


async def live_question(session: AsyncSession, key: uuid.UUID) -> Question | None:
    return await session.scalar(
        select(Question).where(Question.ref_key == key, Question.deletion_mark.is_(False))
    )


async def live_po_type(session: AsyncSession, key: uuid.UUID) -> POType | None:
    return await session.scalar(
        select(POType).where(POType.ref_key == key, POType.deletion_mark.is_(False))
    )


async def live_po_section(session: AsyncSession, key: uuid.UUID) -> POSection | None:
    return await session.scalar(
        select(POSection).where(POSection.ref_key == key, POSection.deletion_mark.is_(False))
    )


async def dictionary_names(
    session: AsyncSession,
    *,
    category_key: uuid.UUID | None,
    question_key: uuid.UUID | None,
    po_type_key: uuid.UUID | None,
) -> dict[str, str | None]:
    """Descriptions of a consultation's category, question and kind of software (one query)."""

    if category_key is None and question_key is None and po_type_key is None:
        return {"category": None, "question": None, "po_type": None}

    def name_of(model: Any, key: uuid.UUID | None) -> Any:
        if key is None:
            return literal(None)
        return select(model.description).where(model.ref_key == key).scalar_subquery()

    row = (
        await session.execute(
            select(
                name_of(QuestionCategory, category_key).label("category"),
                name_of(Question, question_key).label("question"),
                name_of(POType, po_type_key).label("po_type"),
            )
        )
    ).one()
    return {"category": row.category, "question": row.question, "po_type": row.po_type}


async def subscriber_code(
    session: AsyncSession, client_id: uuid.UUID | None, client_key: uuid.UUID | None
) -> str | None:
    """The subscriber code of a consultation's client (a user's is its owner's), or of the 1C
    counterparty it names."""
    if client_id is not None:
        owner = aliased(Client)
        return await session.scalar(
            select(func.coalesce(owner.code_abonent, Client.code_abonent))
            .select_from(Client)
            .outerjoin(owner, owner.client_id == Client.parent_id)
            .where(Client.client_id == client_id)
        )
    if client_key is not None:
        return await session.scalar(
            select(Client.code_abonent).where(Client.cl_ref_key == client_key)
        )
    return None


async def remember_contact(
    session: AsyncSession, client_id: uuid.UUID, *, source_id: str, pubsub_token: str | None
) -> None:
    """The client's Chatwoot contact in the website inbox, when the client has none yet (the
    clients part keeps it current; a booking only fills the gap)."""
    await session.execute(
        update(Client)
        .where(Client.client_id == client_id, Client.source_id.is_(None))
        .values(source_id=source_id, chatwoot_pubsub_token=pubsub_token, updated_at=func.now())
    )


async def task_open(session: AsyncSession, cons_id: str, operation: str) -> bool:
    """Whether an outbox task `operation` of the consultation is still to be carried out."""
    found = await session.scalar(
        select(OutboxTask.id)
        .where(
            OutboxTask.cons_id == cons_id,
            OutboxTask.operation == operation,
            OutboxTask.status.in_(("pending", "failed")),
        )
        .limit(1)
    )
    return found is not None


# --- managers ----------------------------------------------------------------------------------


async def manager(session: AsyncSession, key: uuid.UUID) -> Manager | None:
    return await session.scalar(select(Manager).where(Manager.cl_ref_key == key))


async def manager_name(session: AsyncSession, key: uuid.UUID | None) -> str | None:
    if key is None:
        return None
    return await session.scalar(select(Manager.description).where(Manager.cl_ref_key == key))


async def chatwoot_agent_of(session: AsyncSession, manager_key: uuid.UUID) -> int | None:
    """The Chatwoot agent of a 1C manager: `sys.user_mapping` first, then `cons.users`."""
    mapped = select(ManagerMapping.chatwoot_user_id).where(
        ManagerMapping.cl_manager_key == manager_key
    )
    known = select(Manager.chatwoot_user_id).where(
        Manager.cl_ref_key == manager_key, Manager.chatwoot_user_id.is_not(None)
    )
    agent = await session.scalar(
        select(func.coalesce(mapped.scalar_subquery(), known.scalar_subquery()))
    )
    return int(agent) if agent is not None else None


# --- status history ----------------------------------------------------------------------------


async def add_status_change(
    session: AsyncSession, *, cons_id: str, old: str | None, new: str, source: str
) -> None:
    session.add(StatusChange(cons_id=cons_id, old_status=old, new_status=new, source=source))
    await session.flush()


async def status_changes(session: AsyncSession, cons_id: str) -> list[StatusChange]:
    rows = await session.scalars(
        select(StatusChange)
        .where(StatusChange.cons_id == cons_id)
        .order_by(StatusChange.changed_at, StatusChange.id)
    )
    return list(rows)


# --- redates -----------------------------------------------------------------------------------


async def insert_redate(session: AsyncSession, values: Mapping[str, Any]) -> Redate | None:
    """The new redate; None when one with the same key (document, subscriber, manager, moment)
    is there already."""
    inserted = await session.execute(
        insert(Redate)
        .values(**values)
        .on_conflict_do_nothing(
            index_elements=[Redate.cons_key, Redate.clients_key, Redate.manager_key, Redate.period]
        )
        .returning(Redate.id)
    )
    redate_id = inserted.scalar_one_or_none()
    return await session.get(Redate, redate_id) if redate_id is not None else None


async def redate(session: AsyncSession, redate_id: int) -> Redate | None:
    return await session.get(Redate, redate_id)


async def redates(session: AsyncSession, cons_key: uuid.UUID) -> list[Redate]:
    rows = await session.scalars(
        select(Redate).where(Redate.cons_key == cons_key).order_by(Redate.period.desc(), Redate.id)
    )
    return list(rows)


# --- ratings -----------------------------------------------------------------------------------


async def upsert_rating(session: AsyncSession, values: Mapping[str, Any]) -> int:
    """Insert or replace one answer (by consultation, manager and question); its id."""
    statement = insert(RatingAnswer).values(**values)
    changed = {
        name: statement.excluded[name]
        for name in ("rating", "question", "comment", "rating_date", "client_key")
    }
    result = await session.execute(
        statement.on_conflict_do_update(
            index_elements=[
                RatingAnswer.cons_key,
                RatingAnswer.manager_key,
                RatingAnswer.question_number,
            ],
            set_={**changed, "sent_to_base": False},
        ).returning(RatingAnswer.id)
    )
    return int(result.scalar_one())


async def rating(session: AsyncSession, rating_id: int) -> RatingAnswer | None:
    return await session.get(RatingAnswer, rating_id)


async def ratings(session: AsyncSession, cons_key: uuid.UUID) -> list[RatingAnswer]:
    rows = await session.scalars(
        select(RatingAnswer)
        .where(RatingAnswer.cons_key == cons_key)
        .order_by(RatingAnswer.question_number, RatingAnswer.manager_key)
    )
    return list(rows)


async def mark_rating_sent(session: AsyncSession, rating_id: int) -> None:
    await session.execute(
        update(RatingAnswer).where(RatingAnswer.id == rating_id).values(sent_to_base=True)
    )


# --- calls -------------------------------------------------------------------------------------


async def calls(
    session: AsyncSession,
    cons_key: uuid.UUID,
    *,
    date_from: datetime | None = None,
    date_to: datetime | None = None,
    manager_key: uuid.UUID | None = None,
    skip: int = 0,
    limit: int | None = None,
) -> list[tuple[Call, str | None]]:
    """Calls of a consultation, newest first, with the managers' names."""
    conditions = [Call.cons_key == cons_key]
    if date_from is not None:
        conditions.append(Call.period >= date_from)
    if date_to is not None:
        conditions.append(Call.period <= date_to)
    if manager_key is not None:
        conditions.append(Call.manager == manager_key)
    statement = (
        select(Call, Manager.description)
        .outerjoin(Manager, Manager.cl_ref_key == Call.manager)
        .where(*conditions)
        .order_by(Call.period.desc(), Call.manager)
        .offset(skip)
    )
    if limit is not None:
        statement = statement.limit(limit)
    return [(row[0], row[1]) for row in await session.execute(statement)]


# --- idempotency -------------------------------------------------------------------------------


async def reserve_idempotency_key(
    session: AsyncSession, *, key: str, operation: str, request_hash: str
) -> bool:
    """Take `key` for this request (True), or find it held (False).

    A concurrent holder's uncommitted row makes this wait for its transaction: when that one
    commits the key is held; when it rolls back the key is ours. A key older than the TTL is
    taken over.
    """
    statement = insert(IdempotencyKey).values(
        key=key, operation=operation, request_hash=request_hash
    )
    taken = await session.execute(
        statement.on_conflict_do_update(
            index_elements=[IdempotencyKey.key],
            set_={
                "operation": statement.excluded.operation,
                "request_hash": statement.excluded.request_hash,
                "cons_id": None,
                "client_id": None,
                "created_at": func.now(),
            },
            where=IdempotencyKey.created_at < func.now() - IDEMPOTENCY_TTL,
        ).returning(IdempotencyKey.key)
    )
    return taken.first() is not None


async def idempotency_key(session: AsyncSession, key: str) -> IdempotencyKey | None:
    return await session.get(IdempotencyKey, key, populate_existing=True)


async def settle_idempotency_key(
    session: AsyncSession, *, key: str, cons_id: str, client_id: uuid.UUID | None
) -> None:
    await session.execute(
        update(IdempotencyKey)
        .where(IdempotencyKey.key == key)
        .values(cons_id=cons_id, client_id=client_id)
    )


async def release_idempotency_keys(session: AsyncSession, cons_id: str) -> None:
    """Free the keys of a booking that was undone (a repeat then books anew)."""
    await session.execute(delete(IdempotencyKey).where(IdempotencyKey.cons_id == cons_id))


async def purge_idempotency_keys(session: AsyncSession) -> int:
    """Delete the keys older than IDEMPOTENCY_TTL; how many."""
    deleted = await session.execute(
        delete(IdempotencyKey)
        .where(IdempotencyKey.created_at < func.now() - IDEMPOTENCY_TTL)
        .returning(IdempotencyKey.key)
    )
    return len(deleted.all())
