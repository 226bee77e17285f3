"""SQL of staff accounts and their sessions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True)
class StaffRecord:
    id: int
    login: str
    name: str
    role: str
    branch_id: int | None
    branch_code: str | None
    capacity: int
    status: str
    last_seen_at: datetime | None
    active: bool
    password_hash: str | None


@dataclass(frozen=True)
class SessionRecord:
    id: int
    csrf_digest: str
    staff: StaffRecord


_STAFF = """
    SELECT s.id, s.login, s.display_name AS name, s.role, s.branch_id, b.code AS branch_code,
           s.capacity, s.status, s.last_seen_at, s.active, s.password_hash
    FROM messenger.staff s
    LEFT JOIN messenger.branches b ON b.id = s.branch_id
"""
_LIVE_SESSION = """
    SELECT x.id AS session_id, x.csrf_digest, s.id, s.login, s.display_name AS name, s.role,
           s.branch_id, b.code AS branch_code, s.capacity, s.status, s.last_seen_at, s.active,
           s.password_hash
    FROM messenger.staff_sessions x
    JOIN messenger.staff s ON s.id = x.staff_id
    LEFT JOIN messenger.branches b ON b.id = s.branch_id
    WHERE x.token_digest = :digest AND x.expires_at > now() AND s.active
"""
_STAFF_FIELDS = tuple(StaffRecord.__dataclass_fields__)


def _staff(row: Any) -> StaffRecord:
    return StaffRecord(**{name: row[name] for name in _STAFF_FIELDS})


async def branch_id(session: AsyncSession, code: str) -> int | None:
    found = await session.scalar(
        text("SELECT id FROM messenger.branches WHERE code = :code"), {"code": code}
    )
    return int(found) if found is not None else None


async def staff_by_login(session: AsyncSession, login: str) -> StaffRecord | None:
    row = (
        (await session.execute(text(_STAFF + " WHERE s.login = :login"), {"login": login}))
        .mappings()
        .first()
    )
    return _staff(row) if row else None


async def staff_by_id(session: AsyncSession, staff_id: int) -> StaffRecord:
    row = (await session.execute(text(_STAFF + " WHERE s.id = :id"), {"id": staff_id})).mappings()
    return _staff(row.one())


async def insert_staff(
    session: AsyncSession,
    *,
    login: str,
    name: str,
    role: str,
    branch_id: int | None,
    capacity: int,
) -> int:
    created = await session.scalar(
        text(
            "INSERT INTO messenger.staff (login, display_name, role, branch_id, capacity) "
            "VALUES (:login, :name, :role, :branch_id, :capacity) RETURNING id"
        ),
        {
            "login": login,
            "name": name,
            "role": role,
            "branch_id": branch_id,
            "capacity": capacity,
        },
    )
    return int(created)


async def update_staff(
    session: AsyncSession,
    staff_id: int,
    *,
    name: str,
    role: str,
    branch_id: int | None,
    capacity: int,
) -> None:
    await session.execute(
        text(
            "UPDATE messenger.staff SET display_name = :name, role = :role, "
            "branch_id = :branch_id, capacity = :capacity, updated_at = now() WHERE id = :id"
        ),
        {"id": staff_id, "name": name, "role": role, "branch_id": branch_id, "capacity": capacity},
    )


async def set_password_hash(session: AsyncSession, staff_id: int, password_hash: str) -> None:
    await session.execute(
        text("UPDATE messenger.staff SET password_hash = :hash, updated_at = now() WHERE id = :id"),
        {"id": staff_id, "hash": password_hash},
    )


async def insert_session(
    session: AsyncSession,
    *,
    staff_id: int,
    token_digest: str,
    csrf_digest: str,
    expires_at: datetime,
) -> None:
    await session.execute(
        text(
            "INSERT INTO messenger.staff_sessions "
            "(staff_id, token_digest, csrf_digest, expires_at, last_used_at) "
            "VALUES (:staff_id, :token, :csrf, :expires_at, now())"
        ),
        {
            "staff_id": staff_id,
            "token": token_digest,
            "csrf": csrf_digest,
            "expires_at": expires_at,
        },
    )


async def delete_expired_sessions(session: AsyncSession, staff_id: int) -> None:
    await session.execute(
        text("DELETE FROM messenger.staff_sessions WHERE staff_id = :id AND expires_at <= now()"),
        {"id": staff_id},
    )


async def live_session(session: AsyncSession, token_digest: str) -> SessionRecord | None:
    """The unexpired session of this token digest, with its (active) staff member."""
    row = (
        (
            await session.execute(
                text(_LIVE_SESSION),
                {"digest": token_digest},
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        return None
    return SessionRecord(id=row["session_id"], csrf_digest=row["csrf_digest"], staff=_staff(row))


async def delete_session(session: AsyncSession, session_id: int) -> None:
    await session.execute(
        text("DELETE FROM messenger.staff_sessions WHERE id = :id"), {"id": session_id}
    )


async def set_status(session: AsyncSession, staff_id: int, status: str) -> None:
    await session.execute(
        text(
            "UPDATE messenger.staff SET status = :status, last_seen_at = now(), "
            "updated_at = now() WHERE id = :id"
        ),
        {"id": staff_id, "status": status},
    )


async def touch(session: AsyncSession, staff_id: int) -> None:
    await session.execute(
        text("UPDATE messenger.staff SET last_seen_at = now() WHERE id = :id"), {"id": staff_id}
    )


async def mark_absent(session: AsyncSession, unseen_since: datetime) -> list[int]:
    """Staff at work (online, away, busy) not heard from since `unseen_since`: now offline."""
    rows = await session.execute(
        text(
            "UPDATE messenger.staff SET status = 'offline', updated_at = now() "
            "WHERE status <> 'offline' AND (last_seen_at IS NULL OR last_seen_at < :since) "
            "RETURNING id"
        ),
        {"since": unseen_since},
    )
    return [int(row[0]) for row in rows]
