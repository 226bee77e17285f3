"""Every ETL job over the demo 1C base, all at once as the quarter-hour schedule starts them:
each consultation lands once under the right name, the registers add up on it, and a round
over unchanged data changes nothing."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from typing import Any

from switchboard.consultations.etl.tasks import ETL_JOBS
from switchboard.runtime import Runtime
from switchboard.sandbox.demo_data import build_demo_data, consultation_status
from switchboard.sandbox.pytest_plugin import RunningOneC
from tests.consultations.etl.support import consultations, row_versions

FOLDER = "7ccd31ca-887b-11eb-938b-00e04cd03b68"


async def test_all_jobs_at_once_over_the_demo_base_then_a_round_that_changes_nothing(
    onec: RunningOneC, runtime_factory: Any
) -> None:
    demo = build_demo_data()
    onec.emulator.store.load(demo.onec)
    runtime: Runtime = await runtime_factory(
        **onec.settings(),
        ODATA_PAGE_SIZE=50,
        ODATA_DOCUMENT_PAGE_SIZE=50,
        ETL_INITIAL_FROM_DATE="2020-01-01",
    )

    first = await asyncio.gather(*(job.run(runtime) for job in ETL_JOBS))

    # The read of every subscriber cannot place the others' documents before a run of the read
    # of our own clients has completed: it leaves them to its next run.
    assert all("rows" in report for report in first)
    rows = await consultations(runtime)
    assert not any(row.cons_id.startswith("cl_all_") for row in rows.values())

    await asyncio.gather(*(job.run(runtime) for job in ETL_JOBS))

    rows = await consultations(runtime)
    documents = demo.onec["Document_ТелефонныйЗвонок"]
    assert len(rows) == len(documents)
    ours = {c["Ref_Key"] for c in demo.onec["Catalog_Контрагенты"] if c.get("Parent_Key") == FOLDER}
    for doc in documents:
        row = rows[uuid.UUID(doc["Ref_Key"])]
        prefix = "cl_" if doc["Абонент_Key"] in ours else "cl_all_"
        assert row.cons_id == prefix + doc["Ref_Key"]
        wanted = consultation_status(doc)
        assert row.status == ("cancelled" if wanted == "deleted" else wanted)
    statuses = Counter(row.status for row in rows.values())
    assert statuses["closed"] == demo.summary()["consultations_closed"]
    called = {
        c["ДокументОбращения_Key"] for c in demo.onec["InformationRegister_РегистрацияДозвона"]
    }
    assert all(rows[key].con_calls for key in rows if str(key) in called)
    rated = {
        r["Обращение_Key"] for r in demo.onec["InformationRegister_ОценкаКонсультацийПоЗаявкам"]
    }
    assert all(rows[key].con_rates for key in rows if str(key) in rated)

    before = await row_versions(runtime)
    again = await asyncio.gather(*(job.run(runtime) for job in ETL_JOBS))

    assert [report.get("inserted", 0) + report.get("updated", 0) for report in again] == [0] * len(
        ETL_JOBS
    )
    assert await row_versions(runtime) == before
