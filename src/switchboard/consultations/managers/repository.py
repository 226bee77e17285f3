"""SQL for the managers: `cons.users`, their skills, queues, queue closings and Chatwoot mapping.

The queue of a manager is the consultations with `manager` = the manager's key, status open or
pending and not denied — every row, ours and those that came from 1C (`cl_` / `cl_all_`). The
predicate is written with literal values (not bind parameters) so that PostgreSQL can match it to
the partial index `ix_cons_queue` in every plan, generic ones included.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from functools import cache
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Date,
    Select,
    Subquery,
    Table,
    Time,
    and_,
    bindparam,
    case,
    delete,
    exists,
    func,
    literal,
    literal_column,
    not_,
    or_,
    select,
    true,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.consultations.dictionaries.models import QuestionCategory
from switchboard.consultations.models import (
    Consultation,
    Manager,
    ManagerMapping,
    ManagerSkill,
    QueueClosing,
)
from switchboard.integrations.onec.constants import UNDEFINED_MANAGER

#: Consultations in a manager's queue (matches the partial index `ix_cons_queue`).
IN_QUEUE = and_(
    Consultation.status.in_([literal_column("'open'"), literal_column("'pending'")]),
    not_(Consultation.denied),
)
#: Finished consultations that count for the average closing time (index `ix_cons_closed`).
FINISHED = and_(
    Consultation.status.in_([literal_column("'resolved'"), literal_column("'closed'")]),
    not_(Consultation.denied),
)
#: Consultations of other subscribers, mirrored from 1C only so that queues count them.
OTHER_SUBSCRIBERS_PREFIX = "cl_all_"


# --- staff from 1C -------------------------------------------------------------------------------


async def known_ref_keys(session: AsyncSession, keys: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    """Which of `keys` already have a manager row."""
    rows = await session.scalars(select(Manager.cl_ref_key).where(Manager.cl_ref_key.in_(keys)))
    return set(rows)


async def upsert(session: AsyncSession, rows: Sequence[Mapping[str, object]]) -> None:
    """Insert managers by their 1C key, or update the given columns of those already known (rows
    whose values did not change are left alone)."""
    if not rows:
        return
    statement = insert(Manager).values(list(rows))
    names = [name for name in rows[0] if name != "cl_ref_key"]
    changed = {name: statement.excluded[name] for name in names}
    current = tuple_(*(Manager.__table__.c[name] for name in names))
    incoming = tuple_(*(statement.excluded[name] for name in names))
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[Manager.cl_ref_key],
            set_=changed | {"updated_at": func.now()},
            where=current.is_distinct_from(incoming),
        )
    )


PROFILE_COLUMNS = ("con_limit", "start_hour", "end_hour", "department", "ru", "uz")


async def apply_profiles(session: AsyncSession, rows: Sequence[Mapping[str, object]]) -> int:
    """Write limits, hours, department and languages of known managers (`rows` carry `key` and
    the PROFILE_COLUMNS); rows that already hold these values are not touched. Returns how many
    managers changed."""
    if not rows:
        return 0
    table = cast(Table, Manager.__table__)
    current = tuple_(*(table.c[name] for name in PROFILE_COLUMNS))
    incoming = tuple_(*(bindparam(f"new_{name}") for name in PROFILE_COLUMNS))
    statement = (
        update(table)
        .where(table.c.cl_ref_key == bindparam("key"), current.is_distinct_from(incoming))
        .values({name: bindparam(f"new_{name}") for name in PROFILE_COLUMNS})
        .values(updated_at=func.now())
    )
    parameters = [
        {"key": row["key"], **{f"new_{name}": row[name] for name in PROFILE_COLUMNS}}
        for row in rows
    ]
    outcome = await session.execute(statement, parameters)
    return int(getattr(outcome, "rowcount", 0) or 0)


async def clear_profiles_except(session: AsyncSession, keep: Collection[uuid.UUID]) -> int:
    """Managers 1C keeps no consultant settings for lose their limit, hours and languages (so
    they get no consultations); returns how many changed."""
    table = cast(Table, Manager.__table__)
    result = await session.execute(
        update(table)
        .where(
            table.c.cl_ref_key.not_in(list(keep)),
            or_(
                table.c.con_limit.is_not(None),
                table.c.start_hour.is_not(None),
                table.c.end_hour.is_not(None),
                table.c.department.is_not(None),
                table.c.ru,
                table.c.uz,
            ),
        )
        .values(
            con_limit=None,
            start_hour=None,
            end_hour=None,
            department=None,
            ru=False,
            uz=False,
            updated_at=func.now(),
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def skills(session: AsyncSession) -> set[tuple[uuid.UUID, uuid.UUID]]:
    rows = await session.execute(select(ManagerSkill.user_key, ManagerSkill.category_key))
    return {(user, category) for user, category in rows}


async def add_skills(session: AsyncSession, pairs: Collection[tuple[uuid.UUID, uuid.UUID]]) -> None:
    if pairs:
        await session.execute(
            insert(ManagerSkill)
            .values([{"user_key": user, "category_key": category} for user, category in pairs])
            .on_conflict_do_nothing()
        )


async def remove_skills(
    session: AsyncSession, pairs: Collection[tuple[uuid.UUID, uuid.UUID]]
) -> None:
    if pairs:
        await session.execute(
            delete(ManagerSkill).where(
                tuple_(ManagerSkill.user_key, ManagerSkill.category_key).in_(list(pairs))
            )
        )


# --- selection -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CandidateFilter:
    """Who may take a consultation now (seed 001): see `candidates`."""

    #: Wall-clock time and date now in the accounting system's zone.
    local_time: time
    local_day: date
    category_key: uuid.UUID | None = None
    language: str | None = None
    departments: tuple[str, ...] = ()
    exclude: frozenset[uuid.UUID] = frozenset()


@dataclass(frozen=True, slots=True)
class Candidate:
    key: uuid.UUID
    name: str | None
    con_limit: int
    queued: int
    chatwoot_user_id: int | None


def _active() -> list[ColumnElement[bool]]:
    """A consultant who takes consultations at all: a live 1C user with a positive limit."""
    return [
        not_(Manager.deletion_mark),
        not_(Manager.invalid),
        not_(Manager.service_account),
        Manager.consultation_enabled.is_(True),
        Manager.con_limit > 0,
        Manager.cl_ref_key != UNDEFINED_MANAGER,
    ]


def _working_at(now: ColumnElement[time]) -> ColumnElement[bool]:
    """Working hours [start, end) in local time; start > end is an overnight shift; no hours (or
    start = end, 1C's empty time on both) means around the clock."""
    start, end = Manager.start_hour, Manager.end_hour
    return or_(
        start.is_(None),
        end.is_(None),
        start == end,
        and_(start < end, start <= now, now < end),
        and_(start > end, or_(now >= start, now < end)),
    )


def _queue_closed_on(day: ColumnElement[date]) -> ColumnElement[bool]:
    return exists().where(
        QueueClosing.manager_key == Manager.cl_ref_key, QueueClosing.period == day
    )


def _skilled_in(category_key: ColumnElement[uuid.UUID]) -> ColumnElement[bool]:
    """Has the category among their skills, or has no skills at all (universal)."""
    has_skills = exists().where(ManagerSkill.user_key == Manager.cl_ref_key)
    has_category = exists().where(
        ManagerSkill.user_key == Manager.cl_ref_key, ManagerSkill.category_key == category_key
    )
    return or_(not_(has_skills), has_category)


def _speaks(
    language: str | None, category_key: ColumnElement[uuid.UUID] | None
) -> ColumnElement[bool] | None:
    """The consultation's language, or else its category's, must be one the manager speaks."""
    if language is not None:
        return (Manager.ru if language == "ru" else Manager.uz).is_(True)
    if category_key is None:
        return None
    category_language = (
        select(QuestionCategory.language)
        .where(QuestionCategory.ref_key == category_key)
        .scalar_subquery()
    )
    return case(
        (category_language == "ru", Manager.ru),
        (category_language == "uz", Manager.uz),
        else_=true(),
    )


def _queues() -> Subquery:
    """Queue lengths by manager: one pass over the partial index `ix_cons_queue` (only waiting
    consultations are in it), cheaper than a count per manager."""
    return (
        select(Consultation.manager.label("manager"), func.count().label("queued"))
        .where(IN_QUEUE)
        .group_by(Consultation.manager)
        .subquery("queue")
    )


def _with_queue(statement: Select[*tuple[Any, ...]], queue: Subquery) -> Select[*tuple[Any, ...]]:
    return statement.outerjoin(queue, queue.c.manager == Manager.cl_ref_key)


def _chatwoot_user_id() -> ColumnElement[int | None]:
    """The agent of a manager: `sys.user_mapping` first, then `cons.users` (seed 001)."""
    return func.coalesce(ManagerMapping.chatwoot_user_id, Manager.chatwoot_user_id)


@cache
def _candidates_statement(
    with_category: bool, language: str | None, with_departments: bool, with_exclusions: bool
) -> Select[*tuple[Any, ...]]:
    """The candidates query of one shape, with bind parameters for the values: built and
    compiled once per shape, not on every pick."""
    queue = _queues()
    queued = func.coalesce(queue.c.queued, 0)
    category = bindparam("category_key", type_=PG_UUID(as_uuid=True)) if with_category else None
    conditions = [
        *_active(),
        _working_at(bindparam("local_time", type_=Time())),
        not_(_queue_closed_on(bindparam("local_day", type_=Date()))),
        queued < Manager.con_limit,
    ]
    if category is not None:
        conditions.append(_skilled_in(category))
    speaks = _speaks(language, category)
    if speaks is not None:
        conditions.append(speaks)
    if with_departments:
        conditions.append(Manager.department.in_(bindparam("departments", expanding=True)))
    if with_exclusions:
        conditions.append(Manager.cl_ref_key.not_in(bindparam("exclude", expanding=True)))
    statement = select(
        Manager.cl_ref_key,
        Manager.description,
        Manager.con_limit,
        queued,
        _chatwoot_user_id(),
    ).select_from(Manager)
    return (
        _with_queue(statement, queue)
        .outerjoin(ManagerMapping, ManagerMapping.cl_manager_key == Manager.cl_ref_key)
        .where(*conditions)
        .order_by(Manager.cl_ref_key)
    )


def candidates_statement(rules: CandidateFilter) -> tuple[Select[*tuple[Any, ...]], dict[str, Any]]:
    """Every manager who may take a consultation now, with their queue length: the statement
    and its parameters.

    Active with a positive limit, not the 1C placeholder «undefined manager», working now, queue
    not closed today, skilled in the category (or universal), speaking the language, of one of
    `departments` when given, and with room in the queue (the limit is a hard cap)."""
    statement = _candidates_statement(
        rules.category_key is not None, rules.language, bool(rules.departments), bool(rules.exclude)
    )
    parameters: dict[str, Any] = {"local_time": rules.local_time, "local_day": rules.local_day}
    if rules.category_key is not None:
        parameters["category_key"] = rules.category_key
    if rules.departments:
        parameters["departments"] = list(rules.departments)
    if rules.exclude:
        parameters["exclude"] = list(rules.exclude)
    return statement, parameters


async def candidates(session: AsyncSession, rules: CandidateFilter) -> list[Candidate]:
    """The managers of `candidates_statement`, in one query."""
    statement, parameters = candidates_statement(rules)
    # Through the connection: a Core statement needs none of the ORM's execution machinery,
    # which costs more than the query on this hot path.
    connection = await session.connection()
    rows = await connection.execute(statement, parameters)
    return [
        Candidate(key=key, name=name, con_limit=limit, queued=queued, chatwoot_user_id=agent)
        for key, name, limit, queued, agent in rows
    ]


#: What `claim` answers when, without waiting, another transaction holds the manager's row.
HELD_ELSEWHERE = -1


async def claim(session: AsyncSession, key: uuid.UUID, *, wait: bool) -> int | None:
    """Lock the manager's row until the caller's transaction ends and return their queue
    length counted after the lock (so it includes what concurrent bookings committed); None,
    with nothing left locked, when the queue is full or they take no consultations; without
    `wait`, HELD_ELSEWHERE when another transaction holds the row right now. One round trip:
    the function `cons.claim_manager` (migration 0007)."""
    connection = await session.connection()
    queued: int | None = await connection.scalar(select(func.cons.claim_manager(key, wait)))
    return queued


async def queue_length(session: AsyncSession, key: uuid.UUID) -> int:
    count = await session.scalar(select(func.count()).where(Consultation.manager == key, IN_QUEUE))
    return int(count or 0)


# --- queue position, wait time, load ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QueuedConsultation:
    cons_id: str
    manager: uuid.UUID | None
    manager_name: str | None
    status: str
    in_queue: bool
    #: Consultations of the same manager's queue ahead of this one (None when not in a queue).
    ahead: int | None
    queue_length: int


def _queue_order() -> ColumnElement[datetime]:
    """Queue order: creation time (1C's ДатаСоздания for its rows), then the id."""
    return func.coalesce(Consultation.create_date, Consultation.created_at)


async def queued_consultation(session: AsyncSession, cons_id: str) -> QueuedConsultation | None:
    me = (
        await session.execute(
            select(
                Consultation.cons_id,
                Consultation.manager,
                Consultation.status,
                and_(IN_QUEUE, Consultation.manager.is_not(None)).label("queued"),
                _queue_order().label("order_at"),
                Manager.description,
            )
            .outerjoin(Manager, Manager.cl_ref_key == Consultation.manager)
            .where(Consultation.cons_id == cons_id)
        )
    ).one_or_none()
    if me is None:
        return None
    cons, manager, status, queued, order_at, name = me
    if manager is None:
        return QueuedConsultation(cons, None, None, status, False, None, 0)
    mine = tuple_(literal(order_at), literal(cons))
    ahead, length = (
        await session.execute(
            select(
                func.count().filter(tuple_(_queue_order(), Consultation.cons_id) < mine),
                func.count(),
            ).where(Consultation.manager == manager, IN_QUEUE)
        )
    ).one()
    return QueuedConsultation(
        cons, manager, name, status, bool(queued), int(ahead) if queued else None, int(length)
    )


async def average_minutes(
    session: AsyncSession, keys: Collection[uuid.UUID], since: datetime
) -> dict[uuid.UUID, int]:
    """The rounded average closing time in minutes (end − start) of each manager's finished,
    not denied consultations that ended since `since`; managers without any are absent."""
    if not keys:
        return {}
    minutes = func.round(
        func.avg(func.extract("epoch", Consultation.end_date - Consultation.start_date) / 60)
    )
    rows = await session.execute(
        select(Consultation.manager, minutes)
        .where(
            Consultation.manager.in_(list(keys)),
            FINISHED,
            Consultation.end_date >= since,
            Consultation.start_date.is_not(None),
        )
        .group_by(Consultation.manager)
    )
    return {key: int(value) for key, value in rows if key is not None and value is not None}


@dataclass(frozen=True, slots=True)
class ManagerLoad:
    key: uuid.UUID
    name: str | None
    department: str | None
    con_limit: int | None
    start_hour: time | None
    end_hour: time | None
    ru: bool
    uz: bool
    active: bool
    chatwoot_user_id: int | None
    queued: int
    closed_today: bool


def _load_statement(day: date) -> Select[*tuple[Any, ...]]:
    queue = _queues()
    statement = select(
        Manager.cl_ref_key,
        Manager.description,
        Manager.department,
        Manager.con_limit,
        Manager.start_hour,
        Manager.end_hour,
        Manager.ru,
        Manager.uz,
        and_(*_active()).label("active"),
        _chatwoot_user_id(),
        func.coalesce(queue.c.queued, 0),
        _queue_closed_on(literal(day)).label("closed_today"),
    ).select_from(Manager)
    return _with_queue(statement, queue).outerjoin(
        ManagerMapping, ManagerMapping.cl_manager_key == Manager.cl_ref_key
    )


def _load(row: Any) -> ManagerLoad:
    return ManagerLoad(*row)


async def managers_load(session: AsyncSession, day: date) -> list[ManagerLoad]:
    """Every active consultant with their queue, in one query."""
    rows = await session.execute(
        _load_statement(day).where(*_active()).order_by(Manager.cl_ref_key)
    )
    return [_load(row) for row in rows]


async def manager_load(session: AsyncSession, key: uuid.UUID, day: date) -> ManagerLoad | None:
    """One manager's queue, whether or not they take consultations now."""
    row = (await session.execute(_load_statement(day).where(Manager.cl_ref_key == key))).first()
    return _load(row) if row is not None else None


# --- queue closings ------------------------------------------------------------------------------


async def add_closings(
    session: AsyncSession, day: date, keys: Collection[uuid.UUID]
) -> set[uuid.UUID]:
    """Record the managers' queues closed on `day`; returns the closings that are new."""
    if not keys:
        return set()
    rows = await session.scalars(
        insert(QueueClosing)
        .values([{"period": day, "manager_key": key} for key in keys])
        .on_conflict_do_nothing()
        .returning(QueueClosing.manager_key)
    )
    return set(rows)


async def remove_closings_except(
    session: AsyncSession, day: date, keep: Collection[uuid.UUID]
) -> set[uuid.UUID]:
    """Reopen the queues closed on `day` other than `keep`; returns the reopened managers."""
    rows = await session.scalars(
        delete(QueueClosing)
        .where(QueueClosing.period == day, QueueClosing.manager_key.not_in(list(keep)))
        .returning(QueueClosing.manager_key)
    )
    return set(rows)


async def closed_on(session: AsyncSession, day: date) -> set[uuid.UUID]:
    rows = await session.scalars(select(QueueClosing.manager_key).where(QueueClosing.period == day))
    return set(rows)


@dataclass(frozen=True, slots=True)
class QueuedForReassignment:
    cons_id: str
    manager: uuid.UUID
    lang: str | None
    category_key: uuid.UUID | None
    consultation_type: str | None
    cl_ref_key: uuid.UUID | None
    chatwoot_conversation_id: int | None


async def queue_due_before(
    session: AsyncSession, keys: Collection[uuid.UUID], before: datetime
) -> list[QueuedForReassignment]:
    """Our clients' consultations in these managers' queues that are due before `before` (or
    undated), oldest first, locked against concurrent changes. Other subscribers' consultations
    (`cl_all_`) are 1C's to assign and stay."""
    if not keys:
        return []
    rows = await session.execute(
        select(
            Consultation.cons_id,
            Consultation.manager,
            Consultation.lang,
            Consultation.online_question_cat,
            Consultation.consultation_type,
            Consultation.cl_ref_key,
            Consultation.chatwoot_conversation_id,
        )
        .where(
            Consultation.manager.in_(list(keys)),
            IN_QUEUE,
            not_(Consultation.cons_id.startswith(OTHER_SUBSCRIBERS_PREFIX, autoescape=True)),
            or_(Consultation.start_date.is_(None), Consultation.start_date < before),
        )
        .order_by(_queue_order(), Consultation.cons_id)
        .with_for_update(of=Consultation)
    )
    return [
        QueuedForReassignment(cons_id, manager, lang, category, kind, ref_key, conversation)
        for cons_id, manager, lang, category, kind, ref_key, conversation in rows
        if manager is not None
    ]


async def assign_manager(session: AsyncSession, cons_id: str, key: uuid.UUID) -> None:
    await session.execute(
        update(Consultation)
        .where(Consultation.cons_id == cons_id)
        .values(manager=key, updated_at=func.now())
    )


async def manager_names(session: AsyncSession, keys: Collection[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not keys:
        return {}
    rows = await session.execute(
        select(Manager.cl_ref_key, Manager.description).where(Manager.cl_ref_key.in_(list(keys)))
    )
    return {key: name for key, name in rows if name}


# --- Chatwoot agents -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UnmappedManager:
    key: uuid.UUID
    name: str | None
    email: str | None
    chatwoot_user_id: int | None


async def unmapped_managers(session: AsyncSession) -> list[UnmappedManager]:
    """Active consultants with no `sys.user_mapping` row."""
    mapped = exists().where(ManagerMapping.cl_manager_key == Manager.cl_ref_key)
    rows = await session.execute(
        select(Manager.cl_ref_key, Manager.description, Manager.email, Manager.chatwoot_user_id)
        .where(*_active(), not_(mapped))
        .order_by(Manager.description, Manager.cl_ref_key)
    )
    return [UnmappedManager(*row) for row in rows]


async def agents_in_use(session: AsyncSession) -> dict[int, uuid.UUID]:
    """Chatwoot agents already linked to a manager, by either link."""
    mapped = await session.execute(
        select(ManagerMapping.chatwoot_user_id, ManagerMapping.cl_manager_key)
    )
    linked = await session.execute(
        select(Manager.chatwoot_user_id, Manager.cl_ref_key).where(
            Manager.chatwoot_user_id.is_not(None)
        )
    )
    return {agent: key for agent, key in [*linked, *mapped] if agent is not None}


async def save_mapping(session: AsyncSession, key: uuid.UUID, agent_id: int) -> None:
    """Link a manager to a Chatwoot agent in `sys.user_mapping` and `cons.users`."""
    statement = insert(ManagerMapping).values(chatwoot_user_id=agent_id, cl_manager_key=key)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[ManagerMapping.cl_manager_key],
            set_={"chatwoot_user_id": agent_id, "updated_at": func.now()},
            where=ManagerMapping.chatwoot_user_id.is_distinct_from(agent_id),
        )
    )
    await session.execute(
        update(Manager)
        .where(Manager.cl_ref_key == key, Manager.chatwoot_user_id.is_distinct_from(agent_id))
        .values(chatwoot_user_id=agent_id, updated_at=func.now())
    )
