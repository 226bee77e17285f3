"""SQL of the operator panel: conversation lists with unread counts, who may see a
conversation, the staff and branches for a transfer, the routing audit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.messenger.conversations.repository import SUMMARY_SQL


@dataclass(frozen=True)
class Access:
    """What deciding who may see a conversation needs."""

    id: int
    status: str
    assignee_id: int | None
    contact_id: int


async def summaries(
    session: AsyncSession,
    *,
    assignee_id: int | None,
    statuses: Sequence[str],
    limit: int,
) -> list[dict[str, Any]]:
    """Conversations of these statuses, the most recently updated first; `assignee_id`: only
    theirs (None: everyone's, unassigned ones too)."""
    where = ["c.status = ANY(:statuses)"]
    params: dict[str, Any] = {"statuses": list(statuses), "limit": limit}
    if assignee_id is not None:
        where.append("c.assignee_id = :assignee")
        params["assignee"] = assignee_id
    sql = (
        f"{SUMMARY_SQL} WHERE {' AND '.join(where)} "
        "ORDER BY c.updated_at DESC, c.id DESC LIMIT :limit"
    )
    rows = await session.execute(text(sql), params)
    return [dict(row) for row in rows.mappings()]


async def access(session: AsyncSession, conversation_id: int) -> Access | None:
    row = (
        await session.execute(
            text(
                "SELECT id, status, assignee_id, contact_id FROM messenger.conversations "
                "WHERE id = :id"
            ),
            {"id": conversation_id},
        )
    ).one_or_none()
    return None if row is None else Access(row.id, row.status, row.assignee_id, row.contact_id)


async def staff_loads(session: AsyncSession) -> list[dict[str, Any]]:
    """Active operators and supervisors with their branch, status, capacity and load."""
    rows = await session.execute(
        text(
            """
            SELECT s.id, s.display_name AS name, s.role, s.status, s.capacity,
                   b.id AS branch_id, b.name AS branch_name,
                   (SELECT count(*) FROM messenger.conversations c
                     WHERE c.assignee_id = s.id AND c.status IN ('open', 'pending')) AS load
            FROM messenger.staff s
            LEFT JOIN messenger.branches b ON b.id = s.branch_id
            WHERE s.active AND s.role IN ('operator', 'supervisor')
            ORDER BY b.name NULLS LAST, s.display_name, s.id
            """
        )
    )
    return [dict(row) for row in rows.mappings()]


async def branches(session: AsyncSession) -> list[dict[str, Any]]:
    rows = await session.execute(
        text(
            """
            SELECT b.id, b.code, b.name,
                   (SELECT count(*) FROM messenger.staff s
                     WHERE s.branch_id = b.id AND s.active AND s.role = 'operator'
                       AND s.status = 'online') AS online
            FROM messenger.branches b ORDER BY b.name, b.id
            """
        )
    )
    return [dict(row) for row in rows.mappings()]


async def assignments(session: AsyncSession, conversation_id: int) -> list[dict[str, Any]]:
    """The routing audit of a conversation, oldest first, with the names of those involved."""
    rows = await session.execute(
        text(
            """
            SELECT a.id, a.at, a.reason, a.policy, a.branch_source, a.candidates, a.explanation,
                   a.branch_id, b.name AS branch_name,
                   a.from_staff_id, f.display_name AS from_staff_name,
                   a.to_staff_id, t.display_name AS to_staff_name,
                   a.actor_staff_id, x.display_name AS actor_name
            FROM messenger.assignments a
            LEFT JOIN messenger.branches b ON b.id = a.branch_id
            LEFT JOIN messenger.staff f ON f.id = a.from_staff_id
            LEFT JOIN messenger.staff t ON t.id = a.to_staff_id
            LEFT JOIN messenger.staff x ON x.id = a.actor_staff_id
            WHERE a.conversation_id = :id ORDER BY a.id
            """
        ),
        {"id": conversation_id},
    )
    return [dict(row) for row in rows.mappings()]
