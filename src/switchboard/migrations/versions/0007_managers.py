"""Managers: `cons.claim_manager`, the locked recount of a manager's queue for the automatic
choice (issue 6, managers slice).

Picking a manager locks their `cons.users` row and counts their queue again, so that concurrent
bookings never push anyone past `con_limit`. A manager found full must be let go at once (a pick
that waits for one manager while holding another's lock could deadlock with a second pick), which
takes a savepoint around the lock. In one server-side function the lock, the recount and the
savepoint (a PL/pgSQL exception block) are one round trip instead of four.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The predicates repeat `managers/repository.py` (`_active`, `IN_QUEUE`); tests of the choice
# exercise both.
CLAIM_MANAGER = """
CREATE FUNCTION cons.claim_manager(manager_key uuid, wait boolean) RETURNS integer
LANGUAGE plpgsql VOLATILE AS $$
-- Lock the manager's row (until the caller's transaction ends) and return their queue length,
-- counted after the lock (READ COMMITTED: a fresh snapshot per statement, so it includes what
-- the previous holder of the lock committed). NULL when the queue is full or the manager takes
-- no consultations: then nothing stays locked. -1 when, without `wait`, another transaction
-- holds the row right now.
DECLARE
    manager_limit integer;
    queued integer;
BEGIN
    BEGIN
        IF wait THEN
            SELECT con_limit INTO manager_limit FROM cons.users
             WHERE cl_ref_key = manager_key AND con_limit > 0 AND NOT deletion_mark
               AND NOT invalid AND NOT service_account AND consultation_enabled
               FOR UPDATE;
        ELSE
            SELECT con_limit INTO manager_limit FROM cons.users
             WHERE cl_ref_key = manager_key AND con_limit > 0 AND NOT deletion_mark
               AND NOT invalid AND NOT service_account AND consultation_enabled
               FOR UPDATE SKIP LOCKED;
        END IF;
        IF NOT FOUND THEN
            RETURN CASE WHEN wait THEN NULL ELSE -1 END;
        END IF;
        SELECT count(*) INTO queued FROM cons.cons
         WHERE manager = manager_key AND status IN ('open', 'pending') AND NOT denied;
        IF queued >= manager_limit THEN
            -- Leaving the block by this exception rolls its subtransaction back: the lock goes.
            RAISE EXCEPTION USING ERRCODE = 'SB001';
        END IF;
        RETURN queued;
    EXCEPTION WHEN SQLSTATE 'SB001' THEN
        RETURN NULL;
    END;
END
$$
"""


def upgrade() -> None:
    op.execute(CLAIM_MANAGER)


def downgrade() -> None:
    op.execute("DROP FUNCTION cons.claim_manager(uuid, boolean)")
