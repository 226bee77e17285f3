"""The durable job queue's tables: procrastinate 3.10.0's schema, and no other.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22

The SQL is procrastinate's own (`procrastinate/sql/schema.sql` of the installed package; it is
third-party code and is not copied here). What this revision freezes is *which* schema it
creates: the SHA-256 of procrastinate 3.10.0's `schema.sql`. With any other schema installed it
stops, before changing anything, and says so — otherwise a database created today and one
created after a library upgrade would differ while both claim to be at revision 0002.

Upgrading procrastinate is therefore a deliberate change, never a side effect of refreshing the
lock: it needs a revision that moves databases from 3.10.0 to the new version with the migration
files procrastinate ships for that step (`procrastinate/sql/migrations/`), and a way for this
revision to still create 3.10.0's schema on a fresh database with the new package installed
(procrastinate's migration files up to 3.10.0, fingerprinted like the schema here; note that they
order two columns of `procrastinate_jobs` differently and add an enum value that must be
committed before use). `tests/test_migrations.py` compares a fresh and an upgraded database.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from importlib import metadata, resources

from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PINNED_VERSION = "3.10.0"
#: SHA-256 of `procrastinate/sql/schema.sql` as procrastinate 3.10.0 ships it.
PINNED_SCHEMA_SHA256 = "c70ec4b400a60ad9592787653aae5ae77ae41bf801d56b5bd2712751a07f2009"


class QueueSchemaMismatch(RuntimeError):
    """The installed procrastinate ships another schema than the one this revision creates."""


def pinned_schema() -> str:
    """procrastinate 3.10.0's schema, read from the installed package after checking that it
    is that one."""
    script = resources.files("procrastinate.sql").joinpath("schema.sql").read_bytes()
    digest = hashlib.sha256(script).hexdigest()
    if digest != PINNED_SCHEMA_SHA256:
        installed = metadata.version("procrastinate")
        raise QueueSchemaMismatch(
            f"revision 0002 creates the job queue of procrastinate {PINNED_VERSION}, but the "
            f"installed procrastinate {installed} ships a different schema.sql "
            f"(sha256 {digest[:12]}…, expected {PINNED_SCHEMA_SHA256[:12]}…); install the "
            f"locked version (uv.lock) or add the migration revision for the upgrade "
            f"(see this revision's docstring)"
        )
    return script.decode("utf-8")


PROCRASTINATE_OBJECTS = r"""
DROP TABLE IF EXISTS procrastinate_events, procrastinate_periodic_defers, procrastinate_jobs,
    procrastinate_workers CASCADE;
DO $$
DECLARE fn record;
BEGIN
    FOR fn IN
        SELECT p.oid::regprocedure AS signature
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = current_schema() AND p.proname LIKE 'procrastinate\_%'
    LOOP
        EXECUTE 'DROP FUNCTION IF EXISTS ' || fn.signature || ' CASCADE';
    END LOOP;
END $$;
DROP TYPE IF EXISTS procrastinate_job_status, procrastinate_job_event_type,
    procrastinate_job_to_defer_v1 CASCADE;
"""


def upgrade() -> None:
    _run_script(pinned_schema())


def downgrade() -> None:
    _run_script(PROCRASTINATE_OBJECTS)


def _run_script(script: str) -> None:
    """Send a multi-statement SQL script as it is, in the migration's transaction. The driver's
    cursor with no parameters does not read `%` as a placeholder (the script has `%` in
    RAISE messages)."""
    cursor = op.get_bind().connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(script)
    finally:
        cursor.close()
