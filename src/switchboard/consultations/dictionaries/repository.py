"""SQL for the dictionaries: bulk upserts from 1C and the filtered reads of the API."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import func, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.consultations.dictionaries.models import (
    DictionaryRow,
    Interference,
    KnowledgeBaseEntry,
    POSection,
    POType,
    Question,
    QuestionCategory,
)
from switchboard.integrations.ports import CatalogItem, ReferenceCatalog

MODELS: dict[ReferenceCatalog, type[DictionaryRow]] = {
    ReferenceCatalog.PO_TYPES: POType,
    ReferenceCatalog.PO_SECTIONS: POSection,
    ReferenceCatalog.QUESTION_CATEGORIES: QuestionCategory,
    ReferenceCatalog.QUESTIONS: Question,
    ReferenceCatalog.KNOWLEDGE_BASE: KnowledgeBaseEntry,
    ReferenceCatalog.INTERFERENCE: Interference,
}
# Rows per INSERT: far below PostgreSQL's 65,535 bind parameters for the widest catalog.
CHUNK = 1000


def _row(item: CatalogItem) -> dict[str, Any]:
    return {
        "ref_key": item.ref_key,
        "code": item.code,
        "description": item.description,
        "deletion_mark": item.deletion_mark,
        **item.fields,
    }


async def upsert(
    session: AsyncSession, model: type[DictionaryRow], items: Sequence[CatalogItem]
) -> int:
    """Insert new rows and update changed ones; returns how many rows were written. Rows whose
    content did not change are left alone (no dead tuples, no false "changed" signal)."""
    written = 0
    for start in range(0, len(items), CHUNK):
        rows = [_row(item) for item in items[start : start + CHUNK]]
        values = insert(model).values(rows)
        content = [name for name in rows[0] if name != "ref_key"]
        table_columns = [model.__table__.c[name] for name in content]
        new_columns = [values.excluded[name] for name in content]
        statement = values.on_conflict_do_update(
            index_elements=[model.__table__.c.ref_key],
            set_={**{name: values.excluded[name] for name in content}, "updated_at": func.now()},
            where=tuple_(*table_columns).is_distinct_from(tuple_(*new_columns)),
        ).returning(model.__table__.c.ref_key)
        written += len((await session.execute(statement)).all())
    return written


async def mark_missing_deleted(
    session: AsyncSession, model: type[DictionaryRow], seen: Iterable[uuid.UUID]
) -> int:
    """Rows that 1C no longer has keep their data but get the deletion mark."""
    table = model.__table__
    result = await session.execute(
        update(model)
        .where(table.c.deletion_mark.is_(False), table.c.ref_key.not_in(list(seen)))
        .values(deletion_mark=True, updated_at=func.now())
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def live_rows(
    session: AsyncSession, model: type[DictionaryRow], **equal_to: object
) -> Sequence[Any]:
    """Rows without the deletion mark, filtered by equality on the given columns."""
    table = model.__table__
    query = select(model).where(table.c.deletion_mark.is_(False))
    for column, value in equal_to.items():
        if value is not None:
            query = query.where(table.c[column] == value)
    query = query.order_by(table.c.description, table.c.ref_key)
    return (await session.scalars(query)).all()
