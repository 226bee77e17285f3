"""`load_dicts`: a full load from the 1C emulator into `dict.*`, honest about partial loads."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from switchboard.consultations.dictionaries.models import (
    Interference,
    POSection,
    POType,
    Question,
    QuestionCategory,
)
from switchboard.consultations.dictionaries.tasks import run_load_dicts
from switchboard.core.http.errors import PeerUnavailable
from switchboard.runtime import Runtime
from switchboard.sandbox.faults import Fault
from switchboard.sandbox.pytest_plugin import RunningOneC
from tests.consultations.dictionaries.catalogs import catalogs, key


@pytest.fixture
async def loaded(onec: RunningOneC, runtime_factory: Any) -> Runtime:
    onec.emulator.store.load(catalogs())
    runtime: Runtime = await runtime_factory(**onec.settings())
    return runtime


async def _count(runtime: Runtime, model: type[Any], **where: Any) -> int:
    async with runtime.database.transaction() as session:
        query = select(func.count()).select_from(model)
        for column, value in where.items():
            query = query.where(getattr(model, column) == value)
        return int(await session.scalar(query) or 0)


async def test_full_load_stores_every_catalog(loaded: Runtime) -> None:
    report = await run_load_dicts(loaded)
    received = {c["catalog"]: c["received"] for c in report["catalogs"]}
    assert received == {
        "po_types": 2,
        "po_sections": 3,
        "question_categories": 3,  # the category in a third language is not ours
        "questions": 3,
        "knowledge_base": 2,
        "interference": 2,
    }
    assert all(c["missed"] == 0 for c in report["catalogs"])
    assert await _count(loaded, QuestionCategory, language="uz") == 1
    assert await _count(loaded, Interference, deletion_mark=True) == 1
    async with loaded.database.transaction() as session:
        section = await session.get(POSection, uuid.UUID(key("sec-bank")))
        question = await session.get(Question, uuid.UUID(key("q-ru-1")))
    assert section is not None
    assert section.owner_key == uuid.UUID(key("po-buh"))
    assert section.details == "Выписки"
    assert question is not None
    assert question.language == "ru"
    assert question.category_key == uuid.UUID(key("cat-ru-1"))


async def test_a_second_load_without_changes_writes_nothing_and_stays_quiet(
    loaded: Runtime,
) -> None:
    await run_load_dicts(loaded)
    async with loaded.bus.subscribe("dicts") as subscription:
        report = await run_load_dicts(loaded)
        assert all(c["changed"] == 0 and c["deleted"] == 0 for c in report["catalogs"])
        assert subscription.take_ready() == []


async def test_changes_and_removals_in_1c_reach_the_table_and_announce_themselves(
    loaded: Runtime, onec: RunningOneC
) -> None:
    await run_load_dicts(loaded)
    onec.emulator.store.update(
        "Catalog_ВидыПОДляКонсультаций", key("po-ut"), {"Description": "1С:Розница 3.1"}
    )
    onec.emulator.store.delete("Catalog_РазделыПОДляКонсультаций", key("sec-sklad"))
    async with loaded.bus.subscribe("dicts") as subscription:
        report = await run_load_dicts(loaded)
        events = subscription.take_ready()
    by_name = {c["catalog"]: c for c in report["catalogs"]}
    assert by_name["po_types"]["changed"] == 1
    assert by_name["po_sections"]["deleted"] == 1
    # One announcement per catalog, sent as its change committed.
    assert [(e.type, e.data["catalogs"]) for e in events] == [
        ("dictionaries.changed", ["po_types"]),
        ("dictionaries.changed", ["po_sections"]),
    ]
    async with loaded.database.transaction() as session:
        renamed = await session.get(POType, uuid.UUID(key("po-ut")))
        removed = await session.get(POSection, uuid.UUID(key("sec-sklad")))
    assert renamed is not None
    assert renamed.description == "1С:Розница 3.1"
    assert removed is not None
    assert removed.deletion_mark is True


async def test_paging_reads_every_row_exactly_once(onec: RunningOneC, runtime_factory: Any) -> None:
    rows = [
        {
            "Ref_Key": str(uuid.uuid4()),
            "Code": f"{n:09d}",
            "Description": f"Помеха {n}",
            "DeletionMark": False,
        }
        for n in range(2345)
    ]
    onec.emulator.store.load({"Catalog_ПомехиДляКонсультаций": rows})
    runtime = await runtime_factory(**onec.settings(), ODATA_PAGE_SIZE=1000)
    report = await run_load_dicts(runtime)
    interference = next(c for c in report["catalogs"] if c["catalog"] == "interference")
    assert interference["received"] == 2345
    assert await _count(runtime, Interference) == 2345
    pages = onec.emulator.journal.matching("GET", "*/Catalog_*")
    assert (
        len([p for p in pages if "%D0%9F%D0%BE%D0%BC%D0%B5%D1%85" in p.path or "Помех" in p.path])
        >= 3
    )


async def test_a_hiccup_of_1c_is_retried_within_the_load(
    loaded: Runtime, onec: RunningOneC
) -> None:
    onec.emulator.faults.add(Fault(path="*Catalog_*", status=503, times=2))
    report = await run_load_dicts(loaded)
    assert sum(c["received"] for c in report["catalogs"]) == 15


async def test_1c_down_fails_the_job_as_retriable_and_deletes_nothing(
    loaded: Runtime, onec: RunningOneC
) -> None:
    await run_load_dicts(loaded)
    onec.emulator.faults.add(Fault(path="*", status=500))
    with pytest.raises(PeerUnavailable) as caught:
        await run_load_dicts(loaded)
    assert caught.value.retriable
    assert await _count(loaded, POType, deletion_mark=True) == 0


INTERFERENCE = "Catalog_ПомехиДляКонсультаций"


def _interference_rows(count: int) -> list[dict[str, Any]]:
    return [
        {
            "Ref_Key": str(uuid.uuid4()),
            "Code": f"{n:09d}",
            "Description": f"Помеха {n}",
            "DeletionMark": False,
        }
        for n in range(count)
    ]


async def _delete_in_1c(onec: RunningOneC, entity: str, ref_key: str) -> None:
    """Delete as another 1C user would: a DELETE through the OData interface."""
    async with httpx.AsyncClient(auth=onec.auth) as client:
        response = await client.delete(f"{onec.root}{entity}(guid'{ref_key}')")
        response.raise_for_status()


async def _wait_for_requests(onec: RunningOneC, path: str, count: int) -> None:
    for _ in range(500):
        if len(onec.emulator.journal.matching("GET", path)) >= count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"1C never received {count} requests for {path}")


async def test_a_row_deleted_between_pages_marks_only_itself_and_the_missed_row_is_read(
    onec: RunningOneC, runtime_factory: Any
) -> None:
    rows = _interference_rows(6)
    onec.emulator.store.load({INTERFERENCE: rows})
    runtime = await runtime_factory(**onec.settings(), ODATA_PAGE_SIZE=2)
    await run_load_dicts(runtime)
    first, _, shifted, *_ = sorted(row["Ref_Key"] for row in rows)  # pages go by Ref_Key
    onec.emulator.store.update(INTERFERENCE, shifted, {"Description": "Помеха, изменённая в 1С"})
    onec.emulator.journal.clear()
    # The second page waits in 1C; meanwhile someone deletes a row of the first page, so the
    # second page starts one row later and never shows `shifted`.
    onec.emulator.faults.add(Fault(path=f"*/{INTERFERENCE}", method="GET", latency=0.3))
    load = asyncio.create_task(run_load_dicts(runtime))
    await _wait_for_requests(onec, f"*/{INTERFERENCE}", 2)
    await _delete_in_1c(onec, INTERFERENCE, first)
    report = await load

    interference = next(c for c in report["catalogs"] if c["catalog"] == "interference")
    assert interference["missed"] == 1
    assert interference["deleted"] == 1
    async with runtime.database.transaction() as session:
        stored = {str(row.ref_key): row for row in (await session.scalars(select(Interference)))}
    assert stored[first].deletion_mark is True
    assert [k for k, row in stored.items() if row.deletion_mark] == [first]  # nothing live marked
    assert stored[shifted].description == "Помеха, изменённая в 1С"  # read by key after the pages


async def test_rows_added_and_removed_during_a_load_settle_in_the_same_load(
    onec: RunningOneC, runtime_factory: Any
) -> None:
    rows = _interference_rows(5)
    onec.emulator.store.load({INTERFERENCE: rows})
    runtime = await runtime_factory(**onec.settings(), ODATA_PAGE_SIZE=2)
    onec.emulator.faults.add(Fault(path=f"*/{INTERFERENCE}", method="GET", latency=0.3))
    load = asyncio.create_task(run_load_dicts(runtime))
    await _wait_for_requests(onec, f"*/{INTERFERENCE}", 2)
    added = onec.emulator.store.put(
        INTERFERENCE, {"Description": "Новая помеха", "DeletionMark": False}
    )
    last = max(row["Ref_Key"] for row in rows)
    await _delete_in_1c(onec, INTERFERENCE, last)
    await load
    async with runtime.database.transaction() as session:
        stored = {str(row.ref_key): row for row in (await session.scalars(select(Interference)))}
    live_in_1c = {record["Ref_Key"] for record in onec.emulator.store.all(INTERFERENCE)}
    assert {k for k, row in stored.items() if not row.deletion_mark} == live_in_1c
    assert added["Ref_Key"] in live_in_1c


@pytest.mark.parametrize("ignores_paging", [True, False], ids=["guide", "pages-anyway"])
async def test_the_load_is_the_same_whichever_way_1c_pages_next_to_inlinecount(
    onec: RunningOneC, runtime_factory: Any, ignores_paging: bool
) -> None:
    onec.emulator.inlinecount_ignores_paging = ignores_paging
    onec.emulator.store.load({**catalogs(), INTERFERENCE: _interference_rows(7)})
    runtime = await runtime_factory(**onec.settings(), ODATA_PAGE_SIZE=3)
    report = await run_load_dicts(runtime)
    received = {c["catalog"]: c["received"] for c in report["catalogs"]}
    assert received["interference"] == 7
    assert received["question_categories"] == 3
    assert await _count(runtime, Interference) == 7
    assert all(c["missed"] == 0 and c["deleted"] == 0 for c in report["catalogs"])


async def test_a_1c_that_ignores_top_and_skip_is_read_once_not_forever(
    onec: RunningOneC, runtime_factory: Any
) -> None:
    rows = _interference_rows(7)
    onec.emulator.store.load({INTERFERENCE: rows})
    # Every answer is the whole catalog, whatever $top/$skip say.
    onec.emulator.faults.add(
        Fault(path=f"*/{INTERFERENCE}", method="GET", status=200, body={"value": rows})
    )
    runtime = await runtime_factory(**onec.settings(), ODATA_PAGE_SIZE=3)
    report = await asyncio.wait_for(run_load_dicts(runtime), timeout=30)
    interference = next(c for c in report["catalogs"] if c["catalog"] == "interference")
    assert interference["received"] == 7
    assert await _count(runtime, Interference) == 7
    page_requests = [
        e for e in onec.emulator.journal.matching("GET", f"*/{INTERFERENCE}") if "top" in e.query
    ]
    assert len(page_requests) == 1


async def test_without_1c_configured_the_job_is_skipped(runtime: Runtime) -> None:
    assert await run_load_dicts(runtime) == {"skipped": "1C is not configured (ODATA_BASEURL_CL)"}
