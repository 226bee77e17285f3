"""Schemathesis over the app's own `/openapi.json`: every operation, valid and invalid requests,
against a real server with real dictionaries loaded from the 1C emulator (Chatwoot configured
too). Each answer must be no server error, have a documented status, and match its documented
schema and content type. A bounded number of examples per operation keeps it under a minute.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Ok
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from switchboard import domains
from switchboard.consultations.dictionaries.tasks import run_load_dicts
from switchboard.main import create_app
from switchboard.ops.server import uvicorn_options
from switchboard.sandbox.pytest_plugin import RunningChatwoot, RunningOneC
from switchboard.sandbox.server import BackgroundServer
from tests.consultations.dictionaries.catalogs import catalogs

EXAMPLES_PER_OPERATION = 40
ALL_CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
#: A Server-Sent Events stream has no JSON schema to conform to (OpenAPI cannot describe one);
#: its status and the absence of server errors are still checked.
STREAM_CHECKS = [not_a_server_error, status_code_conformance]
STREAMS = {"GET /api/dicts/events", "GET /api/widget/stream/", "GET /api/messenger/stream/"}


@pytest.fixture
def served_api(
    onec: RunningOneC, chatwoot: RunningChatwoot, clean_database: str, settings_factory: Any
) -> Iterator[str]:
    """The platform on a real server, its dictionaries loaded from the 1C emulator."""
    onec.emulator.store.load(catalogs())
    settings = settings_factory(
        **onec.settings(),
        **chatwoot.settings(),
        DATABASE_URL=clean_database,
        EVENT_BUS="postgres",
        LOAD_DICTS_ON_START="false",
        SSE_MAX_LIFETIME_SECONDS="0.2",  # each generated stream request ends quickly
    )

    async def load() -> None:
        async with domains.open_runtime(settings, database_url=clean_database) as runtime:
            await run_load_dicts(runtime)

    asyncio.run(load())
    app = create_app(settings, database_url=clean_database, migrate=False)
    with BackgroundServer(app, options=uvicorn_options(settings)) as server:
        yield server.url


# Every operation in both modes: about a minute on a quiet machine, more while others run.
@pytest.mark.timeout(540)
def test_every_operation_keeps_its_documented_promises(served_api: str) -> None:
    schema = schemathesis.openapi.from_url(served_api + "/openapi.json")
    operations = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result  # the document itself is valid OpenAPI
        operations.append(result.ok())
    labels = sorted(operation.label for operation in operations)
    assert "GET /api/dicts/po-types" in labels
    assert "GET /api/health/dependencies" in labels
    failures: dict[str, str] = {}
    calls: dict[str, int] = {}
    started = time.monotonic()
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            label = f"{operation.label} ({mode.value})"
            try:
                calls[label] = fuzz(operation, mode, served_api)
            except Unsatisfiable:
                # No invalid request exists for an operation without parameters.
                assert mode is GenerationMode.NEGATIVE, label
            except (Exception, FailureGroup) as failure:  # every operation runs; all are reported
                failures[label] = describe(failure)
    assert failures == {}, "\n\n".join(f"{k}:\n{v}" for k, v in failures.items())
    assert calls["GET /api/dicts/online-questions (positive)"] >= EXAMPLES_PER_OPERATION // 2
    assert calls["GET /api/dicts/online-questions (negative)"] >= EXAMPLES_PER_OPERATION // 2
    assert time.monotonic() - started < 420


def describe(failure: BaseException) -> str:
    parts = [str(failure)]
    if isinstance(failure, BaseExceptionGroup):
        parts += [str(inner) for inner in failure.exceptions]
    return "\n".join(parts)[:3000]


def fuzz(operation: Any, mode: GenerationMode, base_url: str) -> int:
    """Run the bounded examples of one operation in one mode; the number of calls made."""
    checks = STREAM_CHECKS if operation.label in STREAMS else ALL_CHECKS
    made = 0

    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def call(case: Any) -> None:
        nonlocal made
        made += 1
        case.call_and_validate(base_url=base_url, checks=checks, timeout=10)

    call()
    return made
