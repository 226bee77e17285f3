"""Loading the dictionaries from the accounting system and reading them for the booking form.

Functions here take the caller's `AsyncSession` and never commit: the job (`tasks.py`) opens one
short transaction per page, the endpoints one per cache miss.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Collection, Sequence
from typing import Any

import orjson
import structlog
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.consultations.dictionaries import repository, schemas
from switchboard.consultations.dictionaries.events import DictionariesChanged
from switchboard.consultations.dictionaries.models import (
    Interference,
    KnowledgeBaseEntry,
    POSection,
    POType,
    Question,
    QuestionCategory,
)
from switchboard.core.cache import ResponseCache
from switchboard.core.realtime import EventBus
from switchboard.integrations.ports import CatalogItem, ReferenceCatalog

log = structlog.get_logger(__name__)

CHANNEL = "dicts"
CHANGED = DictionariesChanged.event_name


async def store_page(
    session: AsyncSession, bus: EventBus, catalog: ReferenceCatalog, items: Sequence[CatalogItem]
) -> int:
    """Write a page of `catalog` from 1C; returns how many rows changed. A change is announced
    with the page's transaction, so caches learn of it even if a later page fails."""
    changed = await repository.upsert(session, repository.MODELS[catalog], items)
    if changed:
        await announce(session, bus, catalog)
    return changed


async def mark_deleted_except(
    session: AsyncSession, bus: EventBus, catalog: ReferenceCatalog, live: Collection[uuid.UUID]
) -> int:
    """Rows of `catalog` that 1C no longer has (keys not in `live`) get the deletion mark."""
    deleted = await repository.mark_missing_deleted(session, repository.MODELS[catalog], live)
    if deleted:
        await announce(session, bus, catalog)
    return deleted


async def announce(session: AsyncSession, bus: EventBus, catalog: ReferenceCatalog) -> None:
    await bus.publish_on_commit(session, CHANNEL, DictionariesChanged(catalogs=[catalog.value]))


def render(rows: Sequence[Any], schema: type[BaseModel]) -> bytes:
    return orjson.dumps([schema.model_validate(row).model_dump(mode="json") for row in rows])


async def _rendered(
    session: AsyncSession, model: type[Any], schema: type[BaseModel], **filters: object
) -> bytes:
    return render(await repository.live_rows(session, model, **filters), schema)


async def po_types(session: AsyncSession) -> bytes:
    return await _rendered(session, POType, schemas.POTypeReadSimple)


async def po_sections(session: AsyncSession, owner_key: uuid.UUID | None) -> bytes:
    return await _rendered(session, POSection, schemas.POSectionRead, owner_key=owner_key)


async def question_categories(session: AsyncSession, language: str | None) -> bytes:
    return await _rendered(
        session, QuestionCategory, schemas.OnlineQuestionCategoryRead, language=language
    )


async def questions(
    session: AsyncSession, language: str | None, category_key: uuid.UUID | None
) -> bytes:
    return await _rendered(
        session, Question, schemas.OnlineQuestionRead, language=language, category_key=category_key
    )


async def knowledge_base(
    session: AsyncSession, po_type_key: uuid.UUID | None, po_section_key: uuid.UUID | None
) -> bytes:
    return await _rendered(
        session,
        KnowledgeBaseEntry,
        schemas.KnowledgeBaseEntry,
        po_type_key=po_type_key,
        po_section_key=po_section_key,
    )


async def interference(session: AsyncSession) -> bytes:
    return await _rendered(session, Interference, schemas.ConsultationInterferenceRead)


async def watch_changes(bus: EventBus, cache: ResponseCache, *, retry_delay: float = 1.0) -> None:
    """Drop this process's cached dictionaries whenever any process reports a change."""
    while True:
        try:
            async with bus.subscribe(CHANNEL) as subscription:
                # Changes made while this watcher was away are unknown: start clean.
                cache.invalidate()
                async for event in subscription.events():
                    if event.type == CHANGED:
                        cache.invalidate()
                        log.info(
                            "dictionary cache invalidated", catalogs=event.data.get("catalogs")
                        )
        except asyncio.CancelledError:
            raise
        except Exception:  # a supervisor: whatever broke is logged with its traceback, then retried
            log.exception("dictionary change watcher failed; restarting")
        await asyncio.sleep(retry_delay)
