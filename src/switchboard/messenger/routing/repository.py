"""SQL of routing: conversations as routing sees them, regions and rules, candidates and their
loads, the compare-and-set of an assignee, the audit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.messenger.models import Assignment
from switchboard.messenger.routing.policy import Rule


@dataclass(frozen=True)
class RoutedConversation:
    id: int
    status: str
    inbox_id: int
    contact_id: int
    branch_id: int | None
    assignee_id: int | None
    assignee_assigned_at: datetime | None
    assignee_opened_at: datetime | None
    region_id: int | None
    inbox_branch_id: int | None
    inbox_settings: dict[str, Any]
    #: The contact's region: the one stated, else the one found by IP.
    contact_region_id: int | None


@dataclass(frozen=True)
class StaffRow:
    id: int
    name: str
    role: str
    branch_id: int | None
    status: str
    capacity: int
    schedule: dict[str, Any]
    active: bool
    load: int
    last_assignment: int | None


_CONVERSATION = """
    SELECT c.id, c.status, c.inbox_id, c.contact_id, c.branch_id, c.assignee_id,
           c.assignee_assigned_at, c.assignee_opened_at, c.region_id,
           i.branch_id AS inbox_branch_id, i.settings AS inbox_settings,
           coalesce(k.region_id, k.ip_region_id) AS contact_region_id
    FROM messenger.conversations c
    JOIN messenger.inboxes i ON i.id = c.inbox_id
    JOIN messenger.contacts k ON k.id = c.contact_id
    WHERE c.id = :id
"""


async def lock_conversation(
    session: AsyncSession, conversation_id: int, *, for_update: bool = True
) -> RoutedConversation | None:
    """The conversation, locked for the rest of the transaction (one routing change at a time);
    without `for_update`, only read (a dry run)."""
    # NO KEY UPDATE: messages being added meanwhile (their foreign-key checks) are not blocked.
    sql = _CONVERSATION + (" FOR NO KEY UPDATE OF c" if for_update else "")
    row = (await session.execute(text(sql), {"id": conversation_id})).mappings().first()
    return RoutedConversation(**row) if row else None


async def lock_branch(session: AsyncSession, branch_id: int) -> None:
    """Serialize routing decisions within a branch until the transaction ends: two chats arriving
    at once see each other's assignment (loads, capacity, the rotation)."""
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended('messenger.branch:' || :id, 0))"),
        {"id": branch_id},
    )


async def preferred_default_branch(session: AsyncSession) -> int | None:
    """The default branch an administrator chose (preference `default_branch`: a branch id),
    if that branch still exists."""
    found = await session.scalar(
        text(
            "SELECT b.id FROM messenger.preferences p JOIN messenger.branches b "
            "ON b.id = CASE WHEN jsonb_typeof(p.value) = 'number' "
            "THEN (p.value #>> '{}')::numeric::bigint END "
            "WHERE p.key = 'default_branch'"
        )
    )
    return int(found) if found is not None else None


async def branch_by_code(session: AsyncSession, code: str) -> int | None:
    if not code:
        return None
    found = await session.scalar(
        text("SELECT id FROM messenger.branches WHERE code = :code"), {"code": code}
    )
    return int(found) if found is not None else None


async def branch_exists(session: AsyncSession, branch_id: int) -> bool:
    found = await session.scalar(
        text("SELECT 1 FROM messenger.branches WHERE id = :id"), {"id": branch_id}
    )
    return found is not None


async def region_code(session: AsyncSession, region_id: int) -> str | None:
    found = await session.scalar(
        text("SELECT code FROM messenger.regions WHERE id = :id"), {"id": region_id}
    )
    return str(found) if found is not None else None


async def regions_by_code(session: AsyncSession, codes: Sequence[str]) -> dict[str, int]:
    if not codes:
        return {}
    rows = await session.execute(
        text("SELECT code, id FROM messenger.regions WHERE code = ANY(:codes)"),
        {"codes": list(codes)},
    )
    return {str(code): int(region_id) for code, region_id in rows}


async def rules_for(session: AsyncSession, region_ids: Sequence[int], inbox_id: int) -> list[Rule]:
    if not region_ids:
        return []
    rows = await session.execute(
        text(
            """
            SELECT r.id, r.region_id, g.code AS region_code, r.branch_id, r.priority, r.inbox_id
            FROM messenger.region_rules r JOIN messenger.regions g ON g.id = r.region_id
            WHERE r.active AND r.region_id = ANY(:regions)
              AND (r.inbox_id IS NULL OR r.inbox_id = :inbox)
            """
        ),
        {"regions": list(region_ids), "inbox": inbox_id},
    )
    return [Rule(**row) for row in rows.mappings()]


async def set_contact_ip_region(session: AsyncSession, contact_id: int, region_id: int) -> None:
    await session.execute(
        text("UPDATE messenger.contacts SET ip_region_id = :region WHERE id = :id"),
        {"region": region_id, "id": contact_id},
    )


_STAFF = """
    SELECT s.id, s.display_name AS name, s.role, s.branch_id, s.status, s.capacity, s.schedule,
           s.active,
           (SELECT count(*) FROM messenger.conversations c
             WHERE c.assignee_id = s.id AND c.status IN ('open', 'pending')) AS load,
           (SELECT max(a.id) FROM messenger.assignments a
             WHERE a.to_staff_id = s.id) AS last_assignment
    FROM messenger.staff s
"""


async def branch_operators(session: AsyncSession, branch_id: int) -> list[StaffRow]:
    """The active operators of a branch with their loads and latest assignment."""
    rows = await session.execute(
        text(_STAFF + " WHERE s.branch_id = :branch AND s.active AND s.role = 'operator'"),
        {"branch": branch_id},
    )
    return [StaffRow(**row) for row in rows.mappings()]


async def staff(session: AsyncSession, staff_id: int) -> StaffRow | None:
    row = (
        (await session.execute(text(_STAFF + " WHERE s.id = :id"), {"id": staff_id}))
        .mappings()
        .first()
    )
    return StaffRow(**row) if row else None


async def set_assignee(
    session: AsyncSession,
    conversation_id: int,
    *,
    expected_assignee: int | None,
    expected_assigned_at: datetime | None,
    branch_id: int | None,
    assignee_id: int | None,
    assigned_at: datetime | None,
    status: str,
    region_id: int | None = None,
) -> bool:
    """Compare-and-set: change the assignee only if it is still the one the caller decided
    from (and at the same assignment), and the conversation is still active. False: someone else
    changed it first (another worker's escalation, an operator's transfer)."""
    result = await session.execute(
        text(
            """
            UPDATE messenger.conversations
            SET branch_id = :branch, assignee_id = :assignee, assignee_assigned_at = :assigned_at,
                assignee_opened_at = NULL, status = :status,
                region_id = coalesce(:region, region_id), updated_at = now()
            WHERE id = :id AND status IN ('open', 'pending')
              AND assignee_id IS NOT DISTINCT FROM :expected_assignee
              AND assignee_assigned_at IS NOT DISTINCT FROM :expected_at
            RETURNING id
            """
        ),
        {
            "id": conversation_id,
            "branch": branch_id,
            "assignee": assignee_id,
            "assigned_at": assigned_at,
            "status": status,
            "region": region_id,
            "expected_assignee": expected_assignee,
            "expected_at": expected_assigned_at,
        },
    )
    return result.first() is not None


async def mark_opened(
    session: AsyncSession, conversation_id: int, staff_id: int, now: datetime
) -> bool:
    """The assignee's first open: stops the escalation timer for good (for this assignment)."""
    result = await session.execute(
        text(
            """
            UPDATE messenger.conversations
            SET assignee_opened_at = coalesce(assignee_opened_at, :now),
                assignee_last_read_at = greatest(assignee_last_read_at, :now), updated_at = now()
            WHERE id = :id AND assignee_id = :staff
            RETURNING assignee_opened_at = :now AS first
            """
        ),
        {"id": conversation_id, "staff": staff_id, "now": now},
    )
    row = result.first()
    return bool(row and row[0])


async def waiting_conversations(session: AsyncSession, after: int, limit: int) -> list[int]:
    """Active conversations without an assignee, oldest first, after the id `after`."""
    rows = await session.scalars(
        text(
            """
            SELECT id FROM messenger.conversations
            WHERE assignee_id IS NULL AND status IN ('open', 'pending') AND id > :after
            ORDER BY id LIMIT :limit
            """
        ),
        {"after": after, "limit": limit},
    )
    return [int(conversation_id) for conversation_id in rows]


async def overdue_assignments(
    session: AsyncSession, assigned_before: datetime, limit: int
) -> list[tuple[int, int, datetime]]:
    """(conversation, assignee, assigned at) of active assignments not opened since before
    `assigned_before`, oldest first."""
    rows = await session.execute(
        text(
            """
            SELECT id, assignee_id, assignee_assigned_at FROM messenger.conversations
            WHERE status IN ('open', 'pending') AND assignee_id IS NOT NULL
              AND assignee_opened_at IS NULL AND assignee_assigned_at < :before
            ORDER BY assignee_assigned_at, id LIMIT :limit
            """
        ),
        {"before": assigned_before, "limit": limit},
    )
    return [(int(c), int(s), at) for c, s, at in rows]


async def escalated_from(session: AsyncSession, conversation_id: int) -> set[int]:
    """Operators this conversation was escalated away from (they let it time out)."""
    rows = await session.scalars(
        text(
            """
            SELECT DISTINCT from_staff_id FROM messenger.assignments
            WHERE conversation_id = :id AND reason = 'escalation' AND from_staff_id IS NOT NULL
            """
        ),
        {"id": conversation_id},
    )
    return {int(staff_id) for staff_id in rows}


async def record(session: AsyncSession, **values: Any) -> int:
    """One row of the routing audit."""
    new_id = await session.scalar(insert(Assignment).values(**values).returning(Assignment.id))
    assert new_id is not None
    return int(new_id)
