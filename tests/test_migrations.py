"""Migrations build the schemas from nothing, go down and come back up."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from alembic import command

from switchboard.core.db.migrate import alembic_config, upgrade
from tests.databases import created_database


@pytest.fixture
def empty_database(database_url: str) -> Iterator[str]:
    with created_database(database_url, "switchboard_migrations") as url:
        yield url


def _tables(url: str) -> set[str]:
    with psycopg.connect(url) as connection:
        rows = connection.execute(
            "SELECT schemaname || '.' || tablename FROM pg_tables "
            "WHERE schemaname IN ('cons', 'dict', 'sys', 'log', 'public')"
        ).fetchall()
    return {row[0] for row in rows}


SEED_001_TABLES = {
    "cons.clients",
    "cons.cons",
    "cons.users",
    "cons.users_skill",
    "cons.cons_redate",
    "cons.cons_rating_answers",
    "cons.calls",
    "cons.q_and_a",
    "cons.queue_closing",
    "dict.po_types",
    "dict.po_sections",
    "dict.online_question_cat",
    "dict.online_question",
    "dict.knowledge_base",
    "dict.consultation_interference",
    "sys.db_migrations",
    "sys.sync_state",
    "sys.user_mapping",
    "log.webhook_log",
    "log.notification_log",
}


def test_upgrade_creates_seed_001_tables_and_the_queue_and_is_repeatable(
    empty_database: str,
) -> None:
    upgrade(empty_database)
    upgrade(empty_database)  # a second run (another process starting) changes nothing
    tables = _tables(empty_database)
    assert tables >= SEED_001_TABLES
    assert "public.procrastinate_jobs" in tables
    with psycopg.connect(empty_database) as connection:
        versions = [
            r[0] for r in connection.execute("SELECT version FROM sys.db_migrations ORDER BY id")
        ]
    assert versions == ["0001", "0002"]


def test_downgrade_to_base_and_up_again(empty_database: str) -> None:
    upgrade(empty_database)
    command.downgrade(alembic_config(empty_database), "base")
    assert _tables(empty_database) <= {"sys.alembic_version"}
    upgrade(empty_database)
    assert _tables(empty_database) >= SEED_001_TABLES


def test_models_and_migrations_agree(empty_database: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlalchemy import create_engine

    from switchboard import domains
    from switchboard.core.db.base import Base
    from switchboard.core.db.migrate import schema_filter
    from switchboard.core.db.session import sqlalchemy_url

    domains.import_all_models()
    upgrade(empty_database)
    engine = create_engine(sqlalchemy_url(empty_database))
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={
                "include_schemas": True,
                "include_object": schema_filter(domains.schemas()),
                "compare_type": True,
                "version_table_schema": "sys",
            },
        )
        differences = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert differences == []
