"""Migrations build the schemas from nothing, go down and come back up; a fresh database and an
upgraded one are the same at the same revision, and the job queue's schema is pinned."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from alembic import command
from alembic.script import ScriptDirectory

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
    assert versions[:2] == ["0001", "0002"]
    assert versions == _revisions_in_order()


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


def _revisions_in_order() -> list[str]:
    script = ScriptDirectory.from_config(alembic_config("postgresql://unused"))
    return [r.revision for r in reversed(list(script.walk_revisions("base", "heads")))]


#: What makes up a schema: every column (in order), index, constraint, function body, trigger,
#: sequence and enum of our schemas and of the job queue in `public`.
SCHEMA_QUERIES = {
    "columns": """
        SELECT table_schema, table_name, ordinal_position, column_name, data_type, udt_name,
               column_default, is_nullable
        FROM information_schema.columns WHERE table_schema = ANY(%(schemas)s)""",
    "indexes": """
        SELECT schemaname, tablename, indexname, indexdef FROM pg_indexes
        WHERE schemaname = ANY(%(schemas)s)""",
    "constraints": """
        SELECT n.nspname, c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid)
        FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
        WHERE n.nspname = ANY(%(schemas)s)""",
    "functions": """
        SELECT n.nspname, p.proname, pg_get_function_identity_arguments(p.oid),
               md5(pg_get_functiondef(p.oid))
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = ANY(%(schemas)s) AND p.prokind IN ('f', 'p')""",
    "triggers": """
        SELECT t.tgrelid::regclass::text, t.tgname, pg_get_triggerdef(t.oid)
        FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE NOT t.tgisinternal AND n.nspname = ANY(%(schemas)s)""",
    "sequences": """
        SELECT schemaname, sequencename, data_type, increment_by FROM pg_sequences
        WHERE schemaname = ANY(%(schemas)s)""",
    "enums": """
        SELECT n.nspname, t.typname, e.enumsortorder, e.enumlabel
        FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid
        JOIN pg_namespace n ON n.oid = t.typnamespace WHERE n.nspname = ANY(%(schemas)s)""",
}


def schema_of(url: str) -> dict[str, list[tuple[object, ...]]]:
    schemas = ["public", "sys", "cons", "dict", "log"]
    with psycopg.connect(url) as connection:
        return {
            kind: sorted(
                (tuple(row) for row in connection.execute(query, {"schemas": schemas})), key=repr
            )
            for kind, query in SCHEMA_QUERIES.items()
        }


@pytest.fixture
def second_empty_database(database_url: str) -> Iterator[str]:
    with created_database(database_url, "switchboard_migrations") as url:
        yield url


def test_a_fresh_and_an_upgraded_database_are_the_same(
    empty_database: str, second_empty_database: str
) -> None:
    upgrade(empty_database)  # fresh: straight to head
    revisions = _revisions_in_order()
    upgrade(second_empty_database, revisions[0])
    for step in revisions[1:]:  # upgraded: one revision at a time, used in between
        with psycopg.connect(second_empty_database, autocommit=True) as connection:
            if connection.execute("SELECT to_regclass('procrastinate_jobs')").fetchone() != (None,):
                connection.execute(
                    "INSERT INTO procrastinate_jobs (queue_name, task_name, args) "
                    "VALUES ('default', 'etl.load_dicts', '{}')"
                )
        upgrade(second_empty_database, step)
    fresh, upgraded = schema_of(empty_database), schema_of(second_empty_database)
    assert fresh["columns"], "the schema query found nothing"
    for kind in SCHEMA_QUERIES:
        assert fresh[kind] == upgraded[kind], kind


def _procrastinate_copy(folder: Path, change: str) -> Path:
    """A copy of the installed procrastinate whose `schema.sql` has `change` appended, standing
    for a later release with another schema."""
    import procrastinate

    target = folder / "procrastinate"
    shutil.copytree(Path(procrastinate.__file__).parent, target)
    schema = target / "sql" / "schema.sql"
    schema.write_text(schema.read_text(encoding="utf-8") + change, encoding="utf-8")
    return folder


def test_another_procrastinate_schema_stops_the_migration_before_any_change(
    empty_database: str, tmp_path: Path
) -> None:
    folder = _procrastinate_copy(
        tmp_path, "\nCREATE TABLE procrastinate_from_a_later_release (id int);\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(folder), *sys.path])}
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from switchboard.core.db.migrate import upgrade; upgrade(sys.argv[1])",
            empty_database,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode != 0
    assert "QueueSchemaMismatch" in result.stderr
    assert "procrastinate 3.10.0" in result.stderr
    # All or nothing: not even revision 0001 stayed.
    assert _tables(empty_database) <= {"sys.alembic_version"}


def test_the_pinned_schema_is_the_installed_one() -> None:
    """The lock's procrastinate is the one revision 0002 was written for (else every fresh
    database would stop at 0002)."""
    import importlib

    revision = importlib.import_module("switchboard.migrations.versions.0002_procrastinate")
    assert "CREATE TABLE procrastinate_jobs" in revision.pinned_schema()
