"""SQL of the clients part: lookups by each identity, the owner/user hierarchy, writes."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import orjson
from sqlalchemy import bindparam, func, inspect, or_, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.consultations.models import Client
from switchboard.consultations.sync.models import OutboxTask

# One statement takes every lock, in the order of the keys' hashes, so two requests that share
# several identities never wait for each other crosswise (no deadlock).
_LOCK_KEYS = text(
    """
    SELECT count(pg_advisory_xact_lock(h)) FROM (
        SELECT DISTINCT hashtextextended(k, 0) AS h
        FROM unnest(CAST(:keys AS text[])) AS k
        ORDER BY h
    ) AS ordered
    """
)


# A queued task of this operation and key that nobody is carrying out now, locked until the
# caller commits: the runner cannot take it before then, so it will read the caller's change.
# A task being claimed or run right now is skipped (it may have read the old state already).
_WAITING_TASK = (
    select(OutboxTask.id)
    .where(
        OutboxTask.operation == bindparam("operation"),
        OutboxTask.order_key == bindparam("order_key"),
        OutboxTask.status == "pending",
        or_(OutboxTask.lease_until.is_(None), OutboxTask.lease_until < func.now()),
    )
    .limit(1)
    .with_for_update(skip_locked=True)
)


class DuplicateIdentity(Exception):
    """A unique identity (hash, owner INN or code, 1C or Chatwoot id) is taken by another row."""


async def lock_identities(session: AsyncSession, keys: Iterable[str]) -> None:
    """Serialise, until the transaction ends, every request naming one of these identities: a
    second request for the same client waits, then finds the first one's row."""
    unique = sorted(set(keys))
    if unique:
        await session.execute(_LOCK_KEYS, {"keys": unique})


async def by_id(session: AsyncSession, client_id: uuid.UUID) -> Client | None:
    return await session.get(Client, client_id)


async def by_hash(session: AsyncSession, client_hash: str) -> Client | None:
    result = await session.scalars(select(Client).where(Client.client_id_hash == client_hash))
    return result.one_or_none()


async def owner_by_code(session: AsyncSession, code_abonent: str) -> Client | None:
    result = await session.scalars(
        select(Client).where(Client.is_parent, Client.code_abonent == code_abonent)
    )
    return result.one_or_none()


async def owner_by_inn(session: AsyncSession, org_inn: str) -> Client | None:
    result = await session.scalars(
        select(Client).where(Client.is_parent, Client.org_inn == org_inn)
    )
    return result.one_or_none()


async def set_telegram_user(
    session: AsyncSession, client_id: uuid.UUID, telegram_user_id: int
) -> None:
    await session.execute(
        update(Client)
        .where(Client.client_id == client_id)
        .values(telegram_user_id=telegram_user_id, updated_at=func.now())
        # The caller's object is updated by hand; expiring it would reload it lazily.
        .execution_options(synchronize_session=False)
    )


async def by_telegram_user(session: AsyncSession, telegram_user_id: int) -> Client | None:
    result = await session.scalars(
        select(Client).where(Client.telegram_user_id == telegram_user_id)
    )
    return result.one_or_none()


async def oldest_owners_with_code(
    session: AsyncSession, code_abonent: str, *, limit: int = 2
) -> Sequence[Client]:
    """Owners with this code, oldest first (more than one only where the unique index was
    missing when they were written: old data)."""
    result = await session.scalars(
        select(Client)
        .where(Client.is_parent, Client.code_abonent == code_abonent)
        .order_by(Client.created_at, Client.client_id)
        .limit(limit)
    )
    return result.all()


async def oldest_user_with_code(session: AsyncSession, code_abonent: str) -> Client | None:
    result = await session.scalars(
        select(Client)
        .where(Client.parent_id.is_not(None), Client.code_abonent == code_abonent)
        .order_by(Client.created_at, Client.client_id)
        .limit(1)
    )
    return result.first()


async def users_of(session: AsyncSession, owner_id: uuid.UUID) -> Sequence[Client]:
    result = await session.scalars(
        select(Client).where(Client.parent_id == owner_id).order_by(Client.created_at)
    )
    return result.all()


async def has_users(session: AsyncSession, owner_id: uuid.UUID) -> bool:
    result = await session.scalar(select(Client.client_id).where(Client.parent_id == owner_id))
    return result is not None


async def holder_of_contact(session: AsyncSession, contact_id: int) -> uuid.UUID | None:
    holder: uuid.UUID | None = await session.scalar(
        select(Client.client_id).where(Client.chatwoot_contact_id == contact_id)
    )
    return holder


async def holder_of_ref_key(session: AsyncSession, ref_key: uuid.UUID) -> uuid.UUID | None:
    holder: uuid.UUID | None = await session.scalar(
        select(Client.client_id).where(Client.cl_ref_key == ref_key)
    )
    return holder


async def save(session: AsyncSession, client: Client) -> None:
    """Write a new or changed client now (inside a savepoint), so a unique identity taken by a
    concurrent writer is a `DuplicateIdentity`, not a broken transaction. A known client the
    request did not change costs nothing."""
    if inspect(client).persistent and not session.is_modified(client):
        return
    try:
        async with session.begin_nested():
            session.add(client)
            await session.flush()
    except IntegrityError as error:
        # The constraint's name only: the detail quotes the values (an INN, an e-mail).
        diagnostics = getattr(error.orig, "diag", None)
        raise DuplicateIdentity(getattr(diagnostics, "constraint_name", None) or "") from error
    # The database set the timestamps: read them now (an async session cannot load lazily).
    await session.refresh(client, ["created_at", "updated_at"])


async def hold_waiting_task(session: AsyncSession, operation: str, order_key: str) -> int | None:
    """The id of a queued task that will carry out the caller's change anyway (then no second
    one is needed), held until the caller's transaction ends."""
    task_id: int | None = await session.scalar(
        _WAITING_TASK, {"operation": operation, "order_key": order_key}
    )
    return task_id


# --- owners from 1C (the clients ETL) ----------------------------------------------------------

#: The columns the clients ETL writes, with their types as `json_to_recordset` reads them.
ETL_OWNER_COLUMNS = (
    ("cl_ref_key", "uuid"),
    ("parent_key", "uuid"),
    ("org_inn", "text"),
    ("code_abonent", "text"),
    ("company_name", "text"),
    ("email", "text"),
    ("phone_number", "text"),
    ("country", "text"),
    ("region", "text"),
    ("city", "text"),
    ("subs_id", "text"),
    ("subs_start", "date"),
    ("subs_end", "date"),
    ("tariff_id", "uuid"),
    ("tariffperiod_id", "uuid"),
    ("onec_synced_digest", "text"),
)
_ETL_NAMES = tuple(name for name, _ in ETL_OWNER_COLUMNS)


def _recordset(columns: Sequence[tuple[str, str]]) -> str:
    """A page's rows sent as one JSON document (`:rows`), read back as the table `i`."""
    listed = ", ".join(f"{name} {kind}" for name, kind in columns)
    return f"json_to_recordset(CAST(:rows AS json)) AS i({listed})"


# Every row a page of counterparties may touch: the holders of its 1C keys, and the owners
# holding one of its codes or INNs (locked until the page commits, so the plan made from them
# holds). `change_pending`: a change of ours is on its way to 1C (an open task of the owner).
_ROWS_FOR_COUNTERPARTIES = text(
    f"""
    SELECT c.client_id, c.is_parent, c.name, c.source_id,
           {", ".join(f"c.{name}" for name in _ETL_NAMES)},
           EXISTS (SELECT 1 FROM sys.outbox o
                   WHERE o.order_key = :order_prefix || c.client_id::text
                     AND o.operation = :operation AND o.status IN ('pending', 'failed'))
               AS change_pending
    FROM cons.clients c
    WHERE c.cl_ref_key = ANY(CAST(:keys AS uuid[]))
       OR (c.is_parent AND c.code_abonent = ANY(CAST(:codes AS text[])))
       OR (c.is_parent AND c.org_inn = ANY(CAST(:inns AS text[])))
    ORDER BY c.client_id
    FOR UPDATE OF c
    """  # noqa: S608 - module constants, no outside values
)

_INSERT_OWNERS = text(
    f"""
    INSERT INTO cons.clients AS t (client_id, is_parent, source, {", ".join(_ETL_NAMES)})
    SELECT i.client_id, true, :source, {", ".join(f"i.{name}" for name in _ETL_NAMES)}
    FROM {_recordset((("client_id", "uuid"), *ETL_OWNER_COLUMNS))}
    ORDER BY i.client_id
    -- An owner with this code or INN saved by a request since the page was read: the next
    -- run finds it and links it instead.
    ON CONFLICT DO NOTHING
    RETURNING t.client_id
    """  # noqa: S608 - module constants, no outside values
)

_UPDATE_OWNERS = text(
    f"""
    UPDATE cons.clients t
    SET {", ".join(f"{name} = i.{name}" for name in _ETL_NAMES)}, updated_at = now()
    FROM {_recordset((("client_id", "uuid"), *ETL_OWNER_COLUMNS))}
    WHERE t.client_id = i.client_id
      AND ({", ".join(f"t.{name}" for name in _ETL_NAMES)})
          IS DISTINCT FROM ({", ".join(f"i.{name}" for name in _ETL_NAMES)})
    RETURNING t.client_id
    """  # noqa: S608 - module constants, no outside values
)

_LINK_CONSULTATIONS = text(
    """
    UPDATE cons.cons c SET client_id = cl.client_id, updated_at = now()
    FROM cons.clients cl
    WHERE cl.cl_ref_key = ANY(CAST(:keys AS uuid[]))
      AND c.client_key = cl.cl_ref_key
      AND c.client_id IS NULL
    RETURNING c.cons_id
    """
)


async def rows_for_counterparties(
    session: AsyncSession,
    *,
    keys: Sequence[uuid.UUID],
    codes: Sequence[str],
    inns: Sequence[str],
    pending_operation: str,
    order_prefix: str,
) -> list[Mapping[str, Any]]:
    """The clients holding one of `keys`, and the owners holding one of `codes` or `inns`,
    locked; with `change_pending` true where a `pending_operation` task of the client (order key
    `order_prefix` + its id) is still open."""
    result = await session.execute(
        _ROWS_FOR_COUNTERPARTIES,
        {
            "keys": list(keys),
            "codes": list(codes),
            "inns": list(inns),
            "operation": pending_operation,
            "order_prefix": order_prefix,
        },
    )
    return [dict(row) for row in result.mappings()]


def _json_rows(rows: Sequence[Mapping[str, Any]]) -> str:
    return orjson.dumps(list(rows)).decode()


async def write_owners(
    session: AsyncSession,
    *,
    inserts: Sequence[Mapping[str, Any]],
    updates: Sequence[Mapping[str, Any]],
    source: str,
) -> tuple[set[uuid.UUID], set[uuid.UUID]]:
    """Insert new owners and update known ones (rows of `client_id` + `ETL_OWNER_COLUMNS`),
    each set in one statement, inside a savepoint; an update only where something differs.
    Returns (inserted ids, updated ids). A unique identity taken by a concurrent writer since
    the rows were read is a `DuplicateIdentity`, with nothing of it written."""
    inserted: set[uuid.UUID] = set()
    updated: set[uuid.UUID] = set()
    try:
        async with session.begin_nested():
            if inserts:
                result = await session.execute(
                    _INSERT_OWNERS, {"rows": _json_rows(inserts), "source": source}
                )
                inserted = set(result.scalars())
            if updates:
                result = await session.execute(_UPDATE_OWNERS, {"rows": _json_rows(updates)})
                updated = set(result.scalars())
    except IntegrityError as error:
        diagnostics = getattr(error.orig, "diag", None)
        raise DuplicateIdentity(getattr(diagnostics, "constraint_name", None) or "") from error
    return inserted, updated


async def link_consultations(session: AsyncSession, keys: Sequence[uuid.UUID]) -> int:
    """Give the consultations of these 1C counterparties that have no client yet the owner
    holding the counterparty; returns how many."""
    if not keys:
        return 0
    result = await session.execute(_LINK_CONSULTATIONS, {"keys": list(keys)})
    return len(result.all())


async def fresh_clients(session: AsyncSession, client_ids: Iterable[uuid.UUID]) -> list[Client]:
    """These clients as the database holds them now (over any copy the session holds)."""
    result = await session.scalars(
        select(Client)
        .where(Client.client_id.in_(list(client_ids)))
        .order_by(Client.client_id)
        .execution_options(populate_existing=True)
    )
    return list(result.all())
