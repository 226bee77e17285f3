"""`load_dicts`: a full load from the 1C emulator into `dict.*`, honest about partial loads."""

from __future__ import annotations

import uuid
from typing import Any

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
    assert all(c["complete"] for c in report["catalogs"])
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
        assert subscription.queue.empty()


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
        event = subscription.queue.get_nowait()
    by_name = {c["catalog"]: c for c in report["catalogs"]}
    assert by_name["po_types"]["changed"] == 1
    assert by_name["po_sections"]["deleted"] == 1
    assert event is not None
    assert event.type == "dictionaries.changed"
    assert sorted(event.data["catalogs"]) == ["po_sections", "po_types"]
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


async def test_a_catalog_that_changes_during_the_load_keeps_its_rows(
    loaded: Runtime, onec: RunningOneC
) -> None:
    await run_load_dicts(loaded)
    onec.emulator.store.delete("Catalog_ВидыПОДляКонсультаций", key("po-ut"))
    # 1C reports a different size than the pages delivered: something moved under the load.
    onec.emulator.faults.add(Fault(path="*/$count", status=200, body=7))
    report = await run_load_dicts(loaded)
    po_types = next(c for c in report["catalogs"] if c["catalog"] == "po_types")
    assert po_types["complete"] is False
    assert po_types["deleted"] == 0
    assert await _count(loaded, POType, deletion_mark=True) == 0


async def test_without_1c_configured_the_job_is_skipped(runtime: Runtime) -> None:
    assert await run_load_dicts(runtime) == {"skipped": "1C is not configured"}
