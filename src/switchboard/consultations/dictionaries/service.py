"""Loading the dictionaries from the accounting system and reading them for the booking form."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Sequence
from typing import Any

import orjson
import structlog
from pydantic import BaseModel

from switchboard.consultations.dictionaries import repository, schemas
from switchboard.consultations.dictionaries.models import (
    Interference,
    KnowledgeBaseEntry,
    POSection,
    POType,
    Question,
    QuestionCategory,
)
from switchboard.core.cache import ResponseCache
from switchboard.core.db import Database
from switchboard.core.realtime import EventBus
from switchboard.integrations.ports import ReferenceCatalog, ReferenceSource

log = structlog.get_logger(__name__)

CHANNEL = "dicts"
CHANGED = "dictionaries.changed"


async def load_catalog(
    source: ReferenceSource, database: Database, catalog: ReferenceCatalog
) -> schemas.CatalogLoad:
    """Full load of one catalog. Each page commits on its own (no long transaction holding back
    vacuum); rows missing from 1C are marked deleted only when the load saw the whole catalog."""
    model = repository.MODELS[catalog]
    seen: set[uuid.UUID] = set()
    changed = deleted = 0
    async for page in source.catalog(catalog):
        async with database.transaction() as session:
            changed += await repository.upsert(session, model, page)
        seen.update(item.ref_key for item in page)
    # Paging by $skip can miss or repeat a row if the catalog changes during the load; then the
    # counts differ, and marking "missing" rows deleted would be wrong. Next load will settle it.
    complete = await source.catalog_size(catalog) == len(seen)
    if complete:
        async with database.transaction() as session:
            deleted = await repository.mark_missing_deleted(session, model, seen)
    else:
        log.warning("catalog changed during load; deletions deferred", catalog=catalog.value)
    return schemas.CatalogLoad(
        catalog=catalog.value,
        received=len(seen),
        changed=changed,
        deleted=deleted,
        complete=complete,
    )


async def load_dictionaries(
    source: ReferenceSource, database: Database, bus: EventBus
) -> schemas.LoadReport:
    started = time.perf_counter()
    loads = [await load_catalog(source, database, catalog) for catalog in ReferenceCatalog]
    report = schemas.LoadReport(catalogs=loads, seconds=round(time.perf_counter() - started, 3))
    if report.changed_catalogs:
        await bus.publish(CHANNEL, CHANGED, {"catalogs": report.changed_catalogs})
    log.info(
        "dictionaries loaded",
        changed=report.changed_catalogs,
        rows=sum(c.received for c in loads),
        seconds=report.seconds,
    )
    return report


def render(rows: Sequence[Any], schema: type[BaseModel]) -> bytes:
    return orjson.dumps([schema.model_validate(row).model_dump(mode="json") for row in rows])


async def _rendered(
    database: Database, model: type[Any], schema: type[BaseModel], **filters: object
) -> bytes:
    async with database.transaction() as session:
        rows = await repository.live_rows(session, model, **filters)
    return render(rows, schema)


async def po_types(database: Database) -> bytes:
    return await _rendered(database, POType, schemas.POTypeReadSimple)


async def po_sections(database: Database, owner_key: uuid.UUID | None) -> bytes:
    return await _rendered(database, POSection, schemas.POSectionRead, owner_key=owner_key)


async def question_categories(database: Database, language: str | None) -> bytes:
    return await _rendered(
        database, QuestionCategory, schemas.OnlineQuestionCategoryRead, language=language
    )


async def questions(
    database: Database, language: str | None, category_key: uuid.UUID | None
) -> bytes:
    return await _rendered(
        database, Question, schemas.OnlineQuestionRead, language=language, category_key=category_key
    )


async def knowledge_base(
    database: Database, po_type_key: uuid.UUID | None, po_section_key: uuid.UUID | None
) -> bytes:
    return await _rendered(
        database,
        KnowledgeBaseEntry,
        schemas.KnowledgeBaseEntry,
        po_type_key=po_type_key,
        po_section_key=po_section_key,
    )


async def interference(database: Database) -> bytes:
    return await _rendered(database, Interference, schemas.ConsultationInterferenceRead)


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
