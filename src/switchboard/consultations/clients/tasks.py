"""Background jobs of the clients part.

* `pull_clients_cl` (every 15 minutes): every counterparty of our clients' folder in 1C as an
  owner in `cons.clients` — matched by 1C key, else by subscriber code, else by INN, else new
  (source ONEC) — and the consultations 1C's ETL stored without a client linked to it. The
  whole folder is read each run (there is no cursor that could leave changed counterparties
  behind), a page at a time, each page in one short transaction; unchanged rows are not written.
"""

from __future__ import annotations

from contextlib import aclosing
from typing import TYPE_CHECKING, Any

import procrastinate
import structlog

from switchboard.consultations.clients import service
from switchboard.consultations.requirements import ONEC_ACCOUNTING
from switchboard.core.jobs import EtlJob, etl_task, report_progress

if TYPE_CHECKING:
    from switchboard.runtime import Runtime

log = structlog.get_logger(__name__)

blueprint = procrastinate.Blueprint()

COUNTERPARTIES = "Catalog_Контрагенты"


async def pull_clients(runtime: Runtime) -> dict[str, Any]:
    """1C's counterparties of our clients' folder into `cons.clients` as owners, and their
    consultations linked to them; one short transaction per page."""
    accounting = runtime.adapters.accounting
    assert accounting is not None  # the job's requirement
    report = service.OwnersFromOneCReport()
    # A run that fails half-way leaves no request to 1C open.
    async with aclosing(accounting.counterparties()) as pages:
        async for page in pages:
            async with runtime.database.transaction() as session:
                report.add(
                    await service.store_counterparties(session, page, settings=runtime.settings)
                )
            report_progress(len(page), COUNTERPARTIES)
    result: dict[str, Any] = report.as_dict()
    log.info("clients pulled from 1C", **result)
    return result


PULL_CLIENTS: EtlJob = etl_task(
    blueprint,
    "pull_clients_cl",
    cron="*/15 * * * *",
    periodic_id="pull_clients_cl-quarter-hourly",
    requires=ONEC_ACCOUNTING,
)(pull_clients)

#: The queued job (`etl.pull_clients_cl`) and the foreground runner, under their usual names.
pull_clients_cl = PULL_CLIENTS.task
run_pull_clients_cl = PULL_CLIENTS.run

ETL_JOBS: list[EtlJob] = [PULL_CLIENTS]
