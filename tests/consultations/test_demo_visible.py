"""The demo base's 300 consultations, pulled as a fresh demo pulls them at start, are visible
through every read endpoint: each one, its calls, redates, ratings and history, its client's
list, its place in the queue, and the managers' loads."""

from __future__ import annotations

import asyncio
from collections import Counter
from types import SimpleNamespace
from typing import Any, cast

import httpx
from procrastinate import JobContext
from sqlalchemy import select

from switchboard.consultations import tasks as domain_tasks
from switchboard.consultations.models import Consultation
from switchboard.core.jobs import RUNTIME_KEY
from switchboard.runtime import Runtime
from switchboard.sandbox.demo_data import build_demo_data
from switchboard.sandbox.pytest_plugin import RunningChatwoot, RunningOneC

DOCUMENTS = "Document_ТелефонныйЗвонок"
CALLS = "InformationRegister_РегистрацияДозвона"
REDATES = "InformationRegister_РегистрацияПереносаКонсультации"
RATINGS = "InformationRegister_ОценкаКонсультацийПоЗаявкам"


async def _get_all(client: httpx.AsyncClient, paths: list[str]) -> list[httpx.Response]:
    answers: list[httpx.Response] = []
    for start in range(0, len(paths), 50):
        answers += await asyncio.gather(*(client.get(path) for path in paths[start : start + 50]))
    return answers


async def test_the_demo_consultations_are_visible_through_every_read_endpoint(
    onec: RunningOneC, chatwoot: RunningChatwoot, runtime_factory: Any, client_factory: Any
) -> None:
    demo = build_demo_data()
    onec.emulator.store.load(demo.onec)
    runtime: Runtime = await runtime_factory(
        **onec.settings(), **chatwoot.settings(), ETL_INITIAL_FROM_DATE="2020-01-01"
    )
    context = cast(JobContext, SimpleNamespace(additional_context={RUNTIME_KEY: runtime}))
    jobs = [*domain_tasks.STAFF_PULLS, *domain_tasks.CONSULTATION_PULLS]
    # Twice, as the schedule does: the read of every subscriber places the others' documents
    # once a read of our own clients has completed.
    for _ in range(2):
        await domain_tasks.start_up_pulls.func(context, jobs=jobs)
    client = await client_factory(runtime)

    async with runtime.database.transaction() as session:
        rows = list(await session.scalars(select(Consultation)))
    documents = demo.onec[DOCUMENTS]
    assert len(documents) == 300
    assert {str(row.cl_ref_key) for row in rows} == {doc["Ref_Key"] for doc in documents}

    calls = Counter(record["ДокументОбращения_Key"] for record in demo.onec[CALLS])
    redates = Counter(record["ДокументОбращения_Key"] for record in demo.onec[REDATES])
    rated = {record["Обращение_Key"] for record in demo.onec[RATINGS]}

    ids = [row.cons_id for row in rows]
    for answer, cons_id in zip(
        await _get_all(client, [f"/api/consultations/{i}" for i in ids]), ids, strict=True
    ):
        assert answer.status_code == 200, answer.text
        assert answer.json()["cons_id"] == cons_id
    call_pages = await _get_all(client, [f"/api/consultations/{i}/calls?limit=1000" for i in ids])
    redate_pages = await _get_all(client, [f"/api/consultations/{i}/redates" for i in ids])
    rating_pages = await _get_all(client, [f"/api/consultations/{i}/ratings" for i in ids])
    histories = await _get_all(client, [f"/api/consultations/{i}/history" for i in ids])
    for row, call, redate, rating, history in zip(
        rows, call_pages, redate_pages, rating_pages, histories, strict=True
    ):
        key = str(row.cl_ref_key)
        assert len(call.json()) == calls[key], row.cons_id
        assert len(redate.json()) == redates[key], row.cons_id
        assert (rating.json()["count"] > 0) == (key in rated), row.cons_id
        kinds = Counter(event["kind"] for event in history.json()["events"])
        assert kinds["call"] == calls[key]
        assert kinds["redate"] == redates[key]

    # Each client's list holds exactly its consultations.
    per_client = Counter(str(row.client_id) for row in rows if row.client_id is not None)
    ours = [row for row in rows if not row.cons_id.startswith("cl_all_")]
    assert sum(per_client.values()) == len(ours)
    lists = await _get_all(
        client, [f"/api/consultations/clients/{c}/consultations?limit=1000" for c in per_client]
    )
    for client_id, answer in zip(per_client, lists, strict=True):
        assert answer.json()["total"] == per_client[client_id]

    # The queue of each waiting consultation, and the managers' loads, count them all.
    waiting = [
        row for row in rows if row.status in ("open", "pending") and row.manager and not row.denied
    ]
    assert waiting
    infos = await _get_all(
        client, [f"/api/managers/consultations/{row.cons_id}/queue-info" for row in waiting]
    )
    assert all(answer.status_code == 200 for answer in infos)
    loads = (await client.get("/api/managers/load")).json()
    queued = Counter(str(row.manager) for row in waiting)
    for load in loads:
        assert load["queue_count"] == queued[load["manager_key"]], load["name"]
