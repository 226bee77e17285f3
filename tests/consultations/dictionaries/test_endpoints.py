"""`/api/dicts/*` as the booking form uses them."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from switchboard.consultations.dictionaries.tasks import run_load_dicts
from switchboard.runtime import Runtime
from switchboard.sandbox.pytest_plugin import RunningOneC
from tests.consultations.dictionaries.catalogs import RU, catalogs, key


@pytest.fixture
async def runtime_with_dicts(onec: RunningOneC, runtime_factory: Any) -> Runtime:
    onec.emulator.store.load(catalogs())
    runtime: Runtime = await runtime_factory(**onec.settings())
    await run_load_dicts(runtime)
    return runtime


@pytest.fixture
async def api(runtime_with_dicts: Runtime, client_factory: Any) -> httpx.AsyncClient:
    client: httpx.AsyncClient = await client_factory(runtime_with_dicts)
    return client


async def test_po_types_are_ref_key_and_description_only(api: httpx.AsyncClient) -> None:
    response = await api.get("/api/dicts/po-types")
    assert response.status_code == 200
    assert response.json() == [
        {"ref_key": key("po-buh"), "description": "1С:Бухгалтерия 3.0"},
        {"ref_key": key("po-ut"), "description": "1С:Розница 3.0"},
    ]


async def test_sections_filter_by_owner(api: httpx.AsyncClient) -> None:
    everything = (await api.get("/api/dicts/po-sections")).json()
    assert len(everything) == 3
    owned = (await api.get("/api/dicts/po-sections", params={"owner_key": key("po-ut")})).json()
    assert [s["description"] for s in owned] == ["Склад"]
    assert set(owned[0]) == {"ref_key", "owner_key", "code", "description", "details"}


async def test_categories_and_questions_filter_by_language_and_category(
    api: httpx.AsyncClient,
) -> None:
    uz = (await api.get("/api/dicts/online-question/categories", params={"language": "uz"})).json()
    assert [c["description"] for c in uz] == ["Buxgalteriya hisobi"]
    ru = (await api.get("/api/dicts/online-question/categories", params={"language": "ru"})).json()
    assert len(ru) == 2
    assert all(c["language"] == "ru" for c in ru)
    questions = (
        await api.get(
            "/api/dicts/online-questions",
            params={"language": "ru", "category_key": key("cat-ru-2")},
        )
    ).json()
    assert [q["description"] for q in questions] == ["Как сдать НДС?"]
    assert questions[0]["category_key"] == key("cat-ru-2")


async def test_knowledge_base_filters_by_type_and_section(api: httpx.AsyncClient) -> None:
    entries = (
        await api.get("/api/dicts/knowledge-base", params={"po_section_key": key("sec-bank")})
    ).json()
    assert [e["question"] for e in entries] == ["Как загрузить выписку?"]
    assert entries[0]["po_type_key"] == key("po-buh")
    none = (
        await api.get(
            "/api/dicts/knowledge-base",
            params={"po_type_key": key("po-ut"), "po_section_key": key("sec-bank")},
        )
    ).json()
    assert none == []


async def test_deletion_marked_elements_are_not_listed(api: httpx.AsyncClient) -> None:
    listed = (await api.get("/api/dicts/interference")).json()
    assert [i["description"] for i in listed] == ["Нет интернета у клиента"]


@pytest.mark.parametrize(
    ("path", "params", "status", "error"),
    [
        ("/api/dicts/online-questions", {"language": "en"}, 422, "validation_error"),
        ("/api/dicts/online-questions", {"category_key": "123"}, 422, "validation_error"),
        ("/api/dicts/knowledge-base", {"po_type": RU}, 400, "unknown_filter"),
        ("/api/dicts/po-types", {"owner_key": RU}, 400, "unknown_filter"),
    ],
)
async def test_bad_filters_get_a_clear_4xx(
    api: httpx.AsyncClient, path: str, params: dict[str, str], status: int, error: str
) -> None:
    response = await api.get(path, params=params, headers={"Accept-Language": "en"})
    assert response.status_code == status
    assert response.json()["error"] == error
    assert response.json()["message"]


async def test_cached_answers_revalidate_with_etag(api: httpx.AsyncClient) -> None:
    first = await api.get("/api/dicts/po-types")
    again = await api.get("/api/dicts/po-types", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
    assert again.content == b""


async def test_the_cache_serves_until_a_load_changes_something(
    api: httpx.AsyncClient, runtime_with_dicts: Runtime, onec: RunningOneC
) -> None:
    before = (await api.get("/api/dicts/po-types")).json()
    # A change written behind the platform's back is not seen: the answer comes from the cache.
    async with runtime_with_dicts.database.transaction() as session:
        from sqlalchemy import text

        await session.execute(text("UPDATE dict.po_types SET description = 'изменено вручную'"))
    assert (await api.get("/api/dicts/po-types")).json() == before
    # A load that changes a catalog announces it; every process drops its cache.
    onec.emulator.store.update(
        "Catalog_ВидыПОДляКонсультаций", key("po-buh"), {"Description": "1С:Бухгалтерия 3.1"}
    )
    await run_load_dicts(runtime_with_dicts)
    for _ in range(50):
        after = (await api.get("/api/dicts/po-types")).json()
        if after != before:
            break
        import asyncio

        await asyncio.sleep(0.02)
    assert {p["description"] for p in after} == {"1С:Бухгалтерия 3.1", "1С:Розница 3.0"}
    metrics = runtime_with_dicts.metrics.render().decode()
    assert 'switchboard_cache_requests_total{cache="dictionaries",result="hit"}' in metrics


async def _eventually(check: Any, timeout: float = 3.0) -> Any:
    import asyncio

    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await check()
        if value or asyncio.get_running_loop().time() > deadline:
            return value
        await asyncio.sleep(0.02)


async def test_a_load_that_fails_half_way_still_invalidates_what_it_changed(
    api: httpx.AsyncClient, runtime_with_dicts: Runtime, onec: RunningOneC
) -> None:
    from switchboard.core.http.errors import IntegrationError
    from switchboard.sandbox.faults import Fault

    assert {p["description"] for p in (await api.get("/api/dicts/po-types")).json()} == {
        "1С:Бухгалтерия 3.0",
        "1С:Розница 3.0",
    }
    onec.emulator.store.update(
        "Catalog_ВидыПОДляКонсультаций", key("po-buh"), {"Description": "1С:Бухгалтерия 3.1"}
    )
    # 1C breaks down after the first catalogs: the last one (interference) cannot be read.
    onec.emulator.faults.add(Fault(path="*/Catalog_ПомехиДляКонсультаций", status=500))
    with pytest.raises(IntegrationError):
        await run_load_dicts(runtime_with_dicts)

    async def renamed() -> bool:
        listed = (await api.get("/api/dicts/po-types")).json()
        return "1С:Бухгалтерия 3.1" in {p["description"] for p in listed}

    assert await _eventually(renamed)


async def test_client_chosen_filters_cannot_grow_the_cache(
    api: httpx.AsyncClient, runtime_with_dicts: Runtime
) -> None:
    import uuid

    from switchboard.consultations.dictionaries.cache import DictionaryCache

    cache = runtime_with_dicts.extension(DictionaryCache)
    for _ in range(cache.max_entries + 200):
        response = await api.get("/api/dicts/po-sections", params={"owner_key": str(uuid.uuid4())})
        assert response.json() == []
    assert len(cache) == cache.max_entries
    # What is asked for keeps being served from the cache.
    await api.get("/api/dicts/po-types")
    await api.get("/api/dicts/po-sections", params={"owner_key": str(uuid.uuid4())})
    registry = runtime_with_dicts.metrics.registry
    labels = {"cache": "dictionaries", "result": "hit"}
    hits = registry.get_sample_value("switchboard_cache_requests_total", labels) or 0
    await api.get("/api/dicts/po-types")
    assert registry.get_sample_value("switchboard_cache_requests_total", labels) == hits + 1
