"""Alembic environment: our schemas only, one migration run at a time across processes."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool, text

from switchboard import domains
from switchboard.core.db.base import Base
from switchboard.core.db.migrate import schema_filter
from switchboard.core.db.session import sqlalchemy_url

domains.import_all_models()

# Any constant: every process that migrates takes this advisory lock first.
MIGRATION_LOCK = 727_461_001
VERSION_TABLE_SCHEMA = "sys"


def record_applied_version(ctx: object, step: object, heads: object, run_args: object) -> None:
    """Keep `sys.db_migrations` (seed 001) as a readable history beside Alembic's own table."""
    revision = getattr(step, "up_revision_id", None)
    if not revision:
        return
    connection = context.get_bind()
    if not connection.scalar(text("SELECT to_regclass('sys.db_migrations') IS NOT NULL")):
        return  # downgraded past the revision that created it
    if getattr(step, "is_upgrade", True):
        statement = "INSERT INTO sys.db_migrations (version) VALUES (:v) ON CONFLICT DO NOTHING"
    else:
        statement = "DELETE FROM sys.db_migrations WHERE version = :v"
    connection.execute(text(statement), {"v": revision})


def run_migrations_online() -> None:
    url = context.config.attributes.get("database_url") or context.config.get_main_option(
        "sqlalchemy.url"
    )
    if not url:
        raise RuntimeError("no database URL given to the migrations")
    engine = create_engine(sqlalchemy_url(url), poolclass=pool.NullPool)
    with engine.connect() as connection:
        connection.execute(text("SELECT pg_advisory_lock(:k)"), {"k": MIGRATION_LOCK})
        connection.execute(text(f"CREATE SCHEMA IF NOT EXISTS {VERSION_TABLE_SCHEMA}"))
        connection.commit()
        try:
            context.configure(
                connection=connection,
                target_metadata=Base.metadata,
                include_schemas=True,
                include_object=schema_filter(domains.schemas()),
                version_table_schema=VERSION_TABLE_SCHEMA,
                on_version_apply=record_applied_version,
                compare_type=True,
            )
            with context.begin_transaction():
                context.run_migrations()
            connection.commit()
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": MIGRATION_LOCK})
            connection.commit()
    engine.dispose()


if context.is_offline_mode():
    raise RuntimeError(
        "offline (SQL script) migrations are not supported; run `switchboard migrate`"
    )
run_migrations_online()
