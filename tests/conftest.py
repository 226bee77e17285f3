"""Shared fixtures: a real PostgreSQL built from the migrations, settings, a runtime, the app.

The database is CI's server when `TEST_DATABASE_URL` is set (a fresh database is created on it
for this run and dropped afterwards), else a private embedded PostgreSQL in a temporary folder.
Every test starts from empty tables.
"""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import psycopg
import pytest

from switchboard import domains
from switchboard.config import Settings
from switchboard.core.db import Database
from switchboard.core.logging import configure_logging
from switchboard.core.realtime import MemoryBus
from switchboard.main import create_app
from switchboard.runtime import Runtime
from tests.databases import scratch_database
from tests.stoppable_postgres import private_postgres  # noqa: F401  (a fixture)

pytest_plugins = ["switchboard.sandbox.pytest_plugin"]

# Tables the tests never empty: the migration history.
KEEP_TABLES = {("sys", "alembic_version"), ("sys", "db_migrations")}


@pytest.fixture(scope="session", autouse=True)
def quiet_logs() -> None:
    """Tests log like production (structured), at WARNING, so failures show what matters."""
    configure_logging(level="WARNING", cache=False)


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    with scratch_database() as url:
        yield url


@pytest.fixture(scope="session")
def table_names(database_url: str) -> list[str]:
    with psycopg.connect(database_url) as connection:
        rows = connection.execute(
            """
            SELECT schemaname, tablename FROM pg_tables
            WHERE schemaname = ANY(%s)
            """,
            ([*domains.schemas(), "public"],),
        ).fetchall()
    return [f'"{schema}"."{table}"' for schema, table in rows if (schema, table) not in KEEP_TABLES]


@pytest.fixture
def clean_database(database_url: str, table_names: list[str]) -> str:
    """The test database with every table emptied: each test starts from nothing."""
    with psycopg.connect(database_url, autocommit=True) as connection:
        connection.execute(f"TRUNCATE {', '.join(table_names)} RESTART IDENTITY CASCADE")
    return database_url


def make_settings(**overrides: Any) -> Settings:
    """Settings for tests: nothing read from `.env`, small timeouts, no real peers."""
    values: dict[str, Any] = {
        "ENV": "test",
        "LOG_LEVEL": "WARNING",
        "EVENT_BUS": "memory",
        "HTTP_MAX_ATTEMPTS": 3,
        "HTTP_BACKOFF_INITIAL_SECONDS": 0.01,
        "HTTP_BACKOFF_MAX_SECONDS": 0.05,
        "HTTP_TIMEOUT_SECONDS": 2,
        "RATE_LIMIT_PER_MINUTE": 0,
        "RATE_LIMIT_CREATE_PER_MINUTE": 0,
        "ACCESS_LOG": "off",
        "DATA_DIR": tempfile.gettempdir(),
        # Whatever the machine's environment holds, tests start from these:
        "DATABASE_URL": "",
        "DB_HOST": "",
        "REDIS_URL": "",
        "FRONT_SECRET": "",
        "FRONT_BEARER_TOKEN": "",
        "ALLOWED_ORIGINS": "",
        "METRICS_TOKEN": "",
        "OPS_TOKEN": "",
        "API_DOCS": "",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
def settings_factory() -> Any:
    return make_settings


@pytest.fixture
async def database(clean_database: str) -> AsyncIterator[Database]:
    db = Database(clean_database, pool_size=5)
    try:
        yield db
    finally:
        await db.dispose()


@pytest.fixture
async def runtime_factory(clean_database: str) -> AsyncIterator[Any]:
    """Opens runtimes on the test database; each is closed after the test."""
    from contextlib import AsyncExitStack

    async with AsyncExitStack() as stack:

        async def open_runtime(**overrides: Any) -> Runtime:
            settings = make_settings(DATABASE_URL=clean_database, **overrides)
            bus = MemoryBus() if settings.bus_backend().value == "memory" else None
            return await stack.enter_async_context(
                domains.open_runtime(settings, database_url=clean_database, bus=bus)
            )

        yield open_runtime


@pytest.fixture
async def runtime(runtime_factory: Any) -> Runtime:
    runtime: Runtime = await runtime_factory()
    return runtime


@pytest.fixture
async def client_factory() -> AsyncIterator[Any]:
    """An httpx client on the app of a runtime (lifespan run, no network)."""
    from contextlib import AsyncExitStack

    async with AsyncExitStack() as stack:

        async def make(runtime: Runtime, **headers: str) -> httpx.AsyncClient:
            app = create_app(runtime.settings, runtime=runtime)
            await stack.enter_async_context(app.router.lifespan_context(app))
            transport = httpx.ASGITransport(app=app)
            return await stack.enter_async_context(
                httpx.AsyncClient(
                    transport=transport, base_url="http://testserver", headers=headers
                )
            )

        yield make


@pytest.fixture
async def client(runtime: Runtime, client_factory: Any) -> httpx.AsyncClient:
    result: httpx.AsyncClient = await client_factory(runtime)
    return result
