"""SQL for the managers (`cons.users`)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.consultations.models import Manager


async def known_ref_keys(session: AsyncSession, keys: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    """Which of `keys` already have a manager row."""
    rows = await session.scalars(select(Manager.cl_ref_key).where(Manager.cl_ref_key.in_(keys)))
    return set(rows)


async def upsert(session: AsyncSession, rows: Sequence[Mapping[str, object]]) -> None:
    """Insert managers by their 1C key, or update the given columns of those already known."""
    if not rows:
        return
    statement = insert(Manager).values(list(rows))
    changed = {name: statement.excluded[name] for name in rows[0] if name != "cl_ref_key"}
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[Manager.cl_ref_key], set_=changed | {"updated_at": func.now()}
        )
    )
