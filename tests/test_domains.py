"""Domains declare themselves once (`module.py`); the app, the worker, the migrations and the
tests take everything from the list in `switchboard/domains.py`."""

from __future__ import annotations

from typing import Any

import procrastinate
import pytest
from fastapi import APIRouter

from switchboard import domains
from switchboard.core.db.base import Base
from switchboard.core.module import DomainModule
from switchboard.main import create_app, on_start
from switchboard.runtime import Runtime


def test_every_table_lives_in_a_schema_the_migrations_manage() -> None:
    domains.import_all_models()
    outside = [
        t.fullname for t in Base.metadata.tables.values() if t.schema not in domains.schemas()
    ]
    assert outside == []


def test_every_domain_declares_a_settings_section_of_the_process_settings() -> None:
    from switchboard.config import Settings

    for domain in domains.DOMAINS:
        assert domain.settings is not None, domain.name
        assert issubclass(Settings, domain.settings), domain.name


@pytest.fixture
def extra_domain(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """A domain added the way telephony or messenger will be: one more entry in the list."""
    seen: dict[str, Any] = {"started": []}
    router = APIRouter()

    @router.get("/api/extra/ping")
    async def ping() -> dict[str, str]:
        return {"domain": "extra"}

    blueprint = procrastinate.Blueprint()

    @blueprint.task(name="extra.tick")
    async def tick() -> None:
        seen["ticked"] = True

    async def started(runtime: Runtime) -> None:
        seen["started"].append(runtime)

    module = DomainModule(
        name="extra", routers=(router,), blueprints=(blueprint,), on_start=(started,)
    )
    monkeypatch.setattr(domains, "DOMAINS", [*domains.DOMAINS, module])
    return seen


async def test_one_line_adds_a_domain_to_the_app_and_the_worker(
    extra_domain: dict[str, Any], runtime_factory: Any, client_factory: Any
) -> None:
    runtime: Runtime = await runtime_factory()

    assert "extra.tick" in runtime.jobs.tasks  # the worker's job app knows the task
    client = await client_factory(runtime)
    answer = await client.get("/api/extra/ping")
    assert answer.json() == {"domain": "extra"}
    await on_start(runtime)
    assert extra_domain["started"] == [runtime]


def test_the_app_mounts_every_domain_router(settings_factory: Any) -> None:
    published = create_app(settings_factory()).openapi()["paths"]
    for domain in domains.DOMAINS:
        for router in domain.routers:
            for route in router.routes:
                if getattr(route, "include_in_schema", False):
                    assert getattr(route, "path", None) in published
