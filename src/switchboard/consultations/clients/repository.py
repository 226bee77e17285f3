"""SQL of the clients part: lookups by each identity, the owner/user hierarchy, writes."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence

from sqlalchemy import bindparam, func, or_, select, text
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
    concurrent writer is a `DuplicateIdentity`, not a broken transaction."""
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
