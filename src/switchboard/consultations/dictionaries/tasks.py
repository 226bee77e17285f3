"""Background jobs of the dictionaries: the full load from 1C (seed 001's `load_dicts`)."""

from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING, Any

import procrastinate
import structlog

from switchboard.consultations.dictionaries import schemas, service
from switchboard.consultations.requirements import ONEC_CATALOGS
from switchboard.core.jobs import EtlJob, etl_task, report_progress
from switchboard.integrations.ports import ReferenceCatalog, ReferenceSource

if TYPE_CHECKING:
    from switchboard.runtime import Runtime

log = structlog.get_logger(__name__)

blueprint = procrastinate.Blueprint()


async def load_catalog(
    runtime: Runtime, source: ReferenceSource, catalog: ReferenceCatalog
) -> schemas.CatalogLoad:
    """Full load of one catalog, one short transaction per page (nothing long-held while 1C
    answers).

    Paging by `$skip` shifts when 1C deletes or adds a row mid-load, so a page can miss a row.
    Deletions are therefore decided from the list of keys 1C has *after* the pages, and rows the
    pages missed are read by key — a row that is live in 1C is never marked deleted.
    """
    seen: set[uuid.UUID] = set()
    changed = 0
    async for page in source.catalog(catalog):
        async with runtime.database.transaction() as session:
            changed += await service.store_page(session, runtime.bus, catalog, page)
        seen.update(item.ref_key for item in page)
        report_progress(len(page), catalog.value)
    live = await source.catalog_keys(catalog)
    missed = live - seen
    if missed:
        found = await source.catalog_items(catalog, missed)
        log.info("rows missed by paging read by key", catalog=catalog.value, rows=len(found))
        async with runtime.database.transaction() as session:
            changed += await service.store_page(session, runtime.bus, catalog, found)
        seen.update(item.ref_key for item in found)
        # Keys 1C listed but no longer returns went away in between: they are not live.
        live -= missed - {item.ref_key for item in found}
    async with runtime.database.transaction() as session:
        deleted = await service.mark_deleted_except(session, runtime.bus, catalog, live)
    return schemas.CatalogLoad(
        catalog=catalog.value,
        received=len(seen),
        changed=changed,
        deleted=deleted,
        missed=len(missed),
    )


async def load_dictionaries(runtime: Runtime) -> dict[str, Any]:
    """Every reference catalog from 1C into `dict.*`; each change is announced as it commits."""
    source = runtime.adapters.reference_source
    assert source is not None  # the job's requirement
    started = time.perf_counter()
    loads = [await load_catalog(runtime, source, catalog) for catalog in ReferenceCatalog]
    report = schemas.LoadReport(catalogs=loads, seconds=round(time.perf_counter() - started, 3))
    log.info(
        "dictionaries loaded",
        changed=report.changed_catalogs,
        rows=sum(c.received for c in loads),
        seconds=report.seconds,
    )
    return report.model_dump() | {"rows": sum(load.received for load in loads)}


LOAD_DICTS: EtlJob = etl_task(
    blueprint,
    "load_dicts",
    cron="*/15 * * * *",
    periodic_id="quarter-hourly",
    requires=ONEC_CATALOGS,
)(load_dictionaries)

#: The queued job (`etl.load_dicts`) and the foreground runner, under their usual names.
load_dicts = LOAD_DICTS.task
run_load_dicts = LOAD_DICTS.run

ETL_JOBS: list[EtlJob] = [LOAD_DICTS]
