"""SQL for the dictionaries: bulk upserts from 1C and the filtered reads of the API."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from functools import cache
from typing import Any, cast

from sqlalchemy import Table, TextClause, any_, bindparam, func, not_, select, text, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
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


def _row(item: CatalogItem) -> dict[str, Any]:
    return {
        "ref_key": item.ref_key,
        "code": item.code,
        "description": item.description,
        "deletion_mark": item.deletion_mark,
        **item.fields,
    }


@cache
def _upsert_statement(model: type[DictionaryRow], columns: tuple[str, ...]) -> TextClause:
    """One statement per catalog: rows arrive as one array per column and are unnested on the
    server, so a page of 1,000 rows costs one round trip and no per-row SQL compilation. Rows
    whose content did not change are left alone (no dead tuples, no false "changed" signal)."""
    table = cast(Table, model.__table__)
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    arrays = ", ".join(
        f"CAST(:{name} AS {table.c[name].type.compile(dialect)}[])" for name in columns
    )
    content = [name for name in columns if name != "ref_key"]
    listed = ", ".join(columns)
    return text(
        f"INSERT INTO {table.schema}.{table.name} AS t ({listed}) "  # noqa: S608 - model metadata
        f"SELECT * FROM unnest({arrays}) "
        f"ON CONFLICT (ref_key) DO UPDATE SET "
        + ", ".join(f"{name} = excluded.{name}" for name in content)
        + ", updated_at = now() "
        f"WHERE ({', '.join('t.' + n for n in content)}) "
        f"IS DISTINCT FROM ({', '.join('excluded.' + n for n in content)}) "
        "RETURNING t.ref_key"
    )


async def upsert(
    session: AsyncSession, model: type[DictionaryRow], items: Sequence[CatalogItem]
) -> int:
    """Insert new rows and update changed ones; returns how many rows were written."""
    if not items:
        return 0
    rows = [_row(item) for item in items]
    columns = tuple(rows[0])
    arrays = {name: [row[name] for row in rows] for name in columns}
    result = await session.execute(_upsert_statement(model, columns), arrays)
    return len(result.all())


async def mark_missing_deleted(
    session: AsyncSession, model: type[DictionaryRow], seen: Iterable[uuid.UUID]
) -> int:
    """Rows that 1C no longer has keep their data but get the deletion mark."""
    table = model.__table__
    seen_keys = bindparam("seen", list(seen), type_=ARRAY(PG_UUID(as_uuid=True)))
    result = await session.execute(
        update(model)
        .where(table.c.deletion_mark.is_(False), not_(table.c.ref_key == any_(seen_keys)))
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
