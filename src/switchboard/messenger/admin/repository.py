"""SQL of the messenger's admin: inboxes, branches, regions, rules, staff accounts and the
messenger-wide preferences. Inserts of what must be unique use `ON CONFLICT DO NOTHING` and
answer None for a duplicate, so the transaction stays usable and the caller answers 409."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

DEFAULT_BRANCH = "default_branch"

R = TypeVar("R")


@dataclass(frozen=True)
class BranchRow:
    id: int
    code: str
    name: str
    staff: int


@dataclass(frozen=True)
class InboxRow:
    id: int
    name: str
    public_key: str
    branch_id: int | None
    branch_code: str | None
    branch_name: str | None
    active: bool
    settings: dict[str, Any]
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class RegionRow:
    id: int
    code: str
    name: str
    rules: int


@dataclass(frozen=True)
class RuleRow:
    id: int
    region_id: int
    region_code: str
    region_name: str
    branch_id: int
    branch_code: str
    branch_name: str
    inbox_id: int | None
    inbox_name: str | None
    priority: int
    active: bool


@dataclass(frozen=True)
class StaffRow:
    id: int
    login: str
    name: str
    role: str
    branch_id: int | None
    branch_code: str | None
    branch_name: str | None
    capacity: int
    schedule: dict[str, Any]
    active: bool
    status: str
    has_password: bool
    last_seen_at: datetime | None


@dataclass(frozen=True)
class BranchUses:
    staff: int
    inboxes: int
    rules: int
    conversations: int


def _rows(result: Any, kind: type[R]) -> list[R]:
    return [kind(**row) for row in result.mappings()]


def _first(found: list[R]) -> R | None:
    return found[0] if found else None


async def _one(
    session: AsyncSession, query: str, values: dict[str, Any], kind: type[R]
) -> R | None:
    return _first(_rows(await session.execute(text(query), values), kind))


@dataclass(frozen=True)
class CodedTable(Generic[R]):
    """A table of rows with an id, a unique code and a name (branches, regions), read and saved
    alike. Its SQL is built from this module's constants only, never from a person's input."""

    table: str
    row: type[R]
    #: The column that counts what refers to a row (`t` is the row's alias).
    count: str
    order: str
    #: Whether the table keeps `updated_at` (regions do not).
    stamps_updates: bool

    async def _select(
        self, session: AsyncSession, tail: str, values: dict[str, Any] | None = None
    ) -> list[R]:
        query = f"SELECT t.id, t.code, t.name, {self.count} FROM {self.table} t {tail}"  # noqa: S608
        return _rows(await session.execute(text(query), values), self.row)

    async def all(self, session: AsyncSession) -> list[R]:
        return await self._select(session, f"ORDER BY {self.order}")

    async def by_id(self, session: AsyncSession, row_id: int) -> R | None:
        return _first(await self._select(session, "WHERE t.id = :id", {"id": row_id}))

    async def by_code(self, session: AsyncSession, code: str) -> R | None:
        return _first(await self._select(session, "WHERE t.code = :code", {"code": code}))

    async def insert(self, session: AsyncSession, *, code: str, name: str) -> int | None:
        """None when the code is taken."""
        created = await session.scalar(
            text(
                f"INSERT INTO {self.table} (code, name) VALUES (:code, :name) "  # noqa: S608
                "ON CONFLICT (code) DO NOTHING RETURNING id"
            ),
            {"code": code, "name": name},
        )
        return int(created) if created is not None else None

    async def update(self, session: AsyncSession, row_id: int, *, code: str, name: str) -> bool:
        """False when another row has `code`."""
        taken = await session.scalar(
            text(f"SELECT id FROM {self.table} WHERE code = :code AND id <> :id"),  # noqa: S608
            {"code": code, "id": row_id},
        )
        if taken is not None:
            return False
        stamp = ", updated_at = now()" if self.stamps_updates else ""
        await session.execute(
            text(f"UPDATE {self.table} SET code = :code, name = :name{stamp} WHERE id = :id"),  # noqa: S608
            {"id": row_id, "code": code, "name": name},
        )
        return True

    async def delete(self, session: AsyncSession, row_id: int) -> None:
        await session.execute(text(f"DELETE FROM {self.table} WHERE id = :id"), {"id": row_id})  # noqa: S608


# --- branches ---------------------------------------------------------------------------------

BRANCHES = CodedTable(
    table="messenger.branches",
    row=BranchRow,
    count="(SELECT count(*) FROM messenger.staff s WHERE s.branch_id = t.id) AS staff",
    order="t.name, t.id",
    stamps_updates=True,
)
branches = BRANCHES.all
branch = BRANCHES.by_id
branch_by_code = BRANCHES.by_code
insert_branch = BRANCHES.insert
update_branch = BRANCHES.update
delete_branch = BRANCHES.delete


async def branch_uses(session: AsyncSession, branch_id: int) -> BranchUses:
    row = (
        (
            await session.execute(
                text(
                    "SELECT "
                    "(SELECT count(*) FROM messenger.staff WHERE branch_id = :id) AS staff, "
                    "(SELECT count(*) FROM messenger.inboxes WHERE branch_id = :id) AS inboxes, "
                    "(SELECT count(*) FROM messenger.region_rules WHERE branch_id = :id) AS rules, "
                    "(SELECT count(*) FROM messenger.conversations WHERE branch_id = :id "
                    " AND status IN ('open', 'pending')) AS conversations"
                ),
                {"id": branch_id},
            )
        )
        .mappings()
        .one()
    )
    return BranchUses(**row)


async def lock_branch_row(session: AsyncSession, branch_id: int) -> bool:
    """Lock the branch's row for the rest of the transaction (a delete checks its uses first)."""
    found = await session.scalar(
        text("SELECT id FROM messenger.branches WHERE id = :id FOR UPDATE"), {"id": branch_id}
    )
    return found is not None


# --- preferences ------------------------------------------------------------------------------


async def preference(session: AsyncSession, key: str) -> Any:
    return await session.scalar(
        text("SELECT value FROM messenger.preferences WHERE key = :key"), {"key": key}
    )


async def set_preference(session: AsyncSession, key: str, value: Any) -> None:
    await session.execute(
        text(
            "INSERT INTO messenger.preferences (key, value) VALUES (:key, CAST(:value AS jsonb)) "
            "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()"
        ),
        {"key": key, "value": json.dumps(value)},
    )


async def delete_preference(session: AsyncSession, key: str) -> None:
    await session.execute(text("DELETE FROM messenger.preferences WHERE key = :key"), {"key": key})


async def lock_preference(session: AsyncSession, key: str) -> None:
    """Serialize changes of one preference with what depends on it (deleting its branch)."""
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended('messenger.preference:' || :key, 0))"),
        {"key": key},
    )


# --- inboxes ----------------------------------------------------------------------------------

_INBOXES = """
    SELECT i.id, i.name, i.public_key, i.branch_id, b.code AS branch_code,
           b.name AS branch_name, i.active, i.settings, i.created_at, i.updated_at
    FROM messenger.inboxes i
    LEFT JOIN messenger.branches b ON b.id = i.branch_id
"""


async def inboxes(session: AsyncSession) -> list[InboxRow]:
    return _rows(await session.execute(text(_INBOXES + " ORDER BY i.name, i.id")), InboxRow)


async def inbox(session: AsyncSession, inbox_id: int) -> InboxRow | None:
    return await _one(session, _INBOXES + " WHERE i.id = :id", {"id": inbox_id}, InboxRow)


async def inbox_by_name(session: AsyncSession, name: str) -> InboxRow | None:
    return await _one(
        session, _INBOXES + " WHERE i.name = :name ORDER BY i.id LIMIT 1", {"name": name}, InboxRow
    )


async def insert_inbox(
    session: AsyncSession,
    *,
    name: str,
    public_key: str,
    branch_id: int | None,
    active: bool,
    settings: dict[str, Any],
) -> int:
    created = await session.scalar(
        text(
            "INSERT INTO messenger.inboxes (name, public_key, branch_id, active, settings) "
            "VALUES (:name, :key, :branch_id, :active, CAST(:settings AS jsonb)) RETURNING id"
        ),
        {
            "name": name,
            "key": public_key,
            "branch_id": branch_id,
            "active": active,
            "settings": json.dumps(settings),
        },
    )
    return int(created)


async def update_inbox(
    session: AsyncSession,
    inbox_id: int,
    *,
    name: str,
    branch_id: int | None,
    active: bool,
    settings: dict[str, Any],
) -> None:
    await session.execute(
        text(
            "UPDATE messenger.inboxes SET name = :name, branch_id = :branch_id, "
            "active = :active, settings = CAST(:settings AS jsonb), updated_at = now() "
            "WHERE id = :id"
        ),
        {
            "id": inbox_id,
            "name": name,
            "branch_id": branch_id,
            "active": active,
            "settings": json.dumps(settings),
        },
    )


async def set_public_key(session: AsyncSession, inbox_id: int, public_key: str) -> None:
    await session.execute(
        text("UPDATE messenger.inboxes SET public_key = :key, updated_at = now() WHERE id = :id"),
        {"id": inbox_id, "key": public_key},
    )


async def inbox_conversations(session: AsyncSession, inbox_id: int) -> int:
    return int(
        await session.scalar(
            text("SELECT count(*) FROM messenger.conversations WHERE inbox_id = :id"),
            {"id": inbox_id},
        )
        or 0
    )


async def delete_inbox(session: AsyncSession, inbox_id: int) -> None:
    await session.execute(text("DELETE FROM messenger.inboxes WHERE id = :id"), {"id": inbox_id})


# --- regions ----------------------------------------------------------------------------------

REGIONS = CodedTable(
    table="messenger.regions",
    row=RegionRow,
    count="(SELECT count(*) FROM messenger.region_rules x WHERE x.region_id = t.id) AS rules",
    order="t.code",
    stamps_updates=False,
)
regions = REGIONS.all
region = REGIONS.by_id
region_by_code = REGIONS.by_code
insert_region = REGIONS.insert
update_region = REGIONS.update
delete_region = REGIONS.delete


# --- rules ------------------------------------------------------------------------------------

_RULES = """
    SELECT x.id, x.region_id, r.code AS region_code, r.name AS region_name,
           x.branch_id, b.code AS branch_code, b.name AS branch_name,
           x.inbox_id, i.name AS inbox_name, x.priority, x.active
    FROM messenger.region_rules x
    JOIN messenger.regions r ON r.id = x.region_id
    JOIN messenger.branches b ON b.id = x.branch_id
    LEFT JOIN messenger.inboxes i ON i.id = x.inbox_id
"""


async def rules(session: AsyncSession) -> list[RuleRow]:
    return _rows(
        await session.execute(text(_RULES + " ORDER BY r.code, x.priority, x.id")), RuleRow
    )


async def rule(session: AsyncSession, rule_id: int) -> RuleRow | None:
    return await _one(session, _RULES + " WHERE x.id = :id", {"id": rule_id}, RuleRow)


async def same_rule(
    session: AsyncSession, *, region_id: int, branch_id: int, inbox_id: int | None
) -> int | None:
    found = await session.scalar(
        text(
            "SELECT id FROM messenger.region_rules WHERE region_id = :region "
            "AND branch_id = :branch AND inbox_id IS NOT DISTINCT FROM :inbox "
            "ORDER BY id LIMIT 1"
        ),
        {"region": region_id, "branch": branch_id, "inbox": inbox_id},
    )
    return int(found) if found is not None else None


async def insert_rule(
    session: AsyncSession,
    *,
    region_id: int,
    branch_id: int,
    inbox_id: int | None,
    priority: int,
    active: bool,
) -> int:
    created = await session.scalar(
        text(
            "INSERT INTO messenger.region_rules (region_id, branch_id, inbox_id, priority, active)"
            " VALUES (:region, :branch, :inbox, :priority, :active) RETURNING id"
        ),
        {
            "region": region_id,
            "branch": branch_id,
            "inbox": inbox_id,
            "priority": priority,
            "active": active,
        },
    )
    return int(created)


async def update_rule(
    session: AsyncSession,
    rule_id: int,
    *,
    region_id: int,
    branch_id: int,
    inbox_id: int | None,
    priority: int,
    active: bool,
) -> None:
    await session.execute(
        text(
            "UPDATE messenger.region_rules SET region_id = :region, branch_id = :branch, "
            "inbox_id = :inbox, priority = :priority, active = :active WHERE id = :id"
        ),
        {
            "id": rule_id,
            "region": region_id,
            "branch": branch_id,
            "inbox": inbox_id,
            "priority": priority,
            "active": active,
        },
    )


async def delete_rule(session: AsyncSession, rule_id: int) -> None:
    await session.execute(
        text("DELETE FROM messenger.region_rules WHERE id = :id"), {"id": rule_id}
    )


# --- staff ------------------------------------------------------------------------------------

_STAFF = """
    SELECT s.id, s.login, s.display_name AS name, s.role, s.branch_id, b.code AS branch_code,
           b.name AS branch_name, s.capacity, s.schedule, s.active, s.status,
           s.password_hash IS NOT NULL AS has_password, s.last_seen_at
    FROM messenger.staff s
    LEFT JOIN messenger.branches b ON b.id = s.branch_id
"""


async def staff_list(session: AsyncSession) -> list[StaffRow]:
    return _rows(await session.execute(text(_STAFF + " ORDER BY s.display_name, s.id")), StaffRow)


async def staff(session: AsyncSession, staff_id: int) -> StaffRow | None:
    return await _one(session, _STAFF + " WHERE s.id = :id", {"id": staff_id}, StaffRow)


async def staff_by_login(session: AsyncSession, login: str) -> StaffRow | None:
    return await _one(session, _STAFF + " WHERE s.login = :login", {"login": login}, StaffRow)


async def insert_staff(
    session: AsyncSession,
    *,
    login: str,
    name: str,
    role: str,
    branch_id: int | None,
    capacity: int,
    schedule: dict[str, Any],
    active: bool,
    password_hash: str | None,
) -> int | None:
    created = await session.scalar(
        text(
            "INSERT INTO messenger.staff (login, display_name, role, branch_id, capacity, "
            "schedule, active, password_hash) VALUES (:login, :name, :role, :branch_id, "
            ":capacity, CAST(:schedule AS jsonb), :active, :hash) "
            "ON CONFLICT (login) DO NOTHING RETURNING id"
        ),
        {
            "login": login,
            "name": name,
            "role": role,
            "branch_id": branch_id,
            "capacity": capacity,
            "schedule": json.dumps(schedule),
            "active": active,
            "hash": password_hash,
        },
    )
    return int(created) if created is not None else None


async def update_staff(
    session: AsyncSession,
    staff_id: int,
    *,
    name: str,
    role: str,
    branch_id: int | None,
    capacity: int,
    schedule: dict[str, Any],
    active: bool,
) -> None:
    await session.execute(
        text(
            "UPDATE messenger.staff SET display_name = :name, role = :role, "
            "branch_id = :branch_id, capacity = :capacity, schedule = CAST(:schedule AS jsonb), "
            "active = :active, "
            "status = CASE WHEN :active THEN status ELSE 'offline' END, updated_at = now() "
            "WHERE id = :id"
        ),
        {
            "id": staff_id,
            "name": name,
            "role": role,
            "branch_id": branch_id,
            "capacity": capacity,
            "schedule": json.dumps(schedule),
            "active": active,
        },
    )


async def set_password_hash(session: AsyncSession, staff_id: int, password_hash: str) -> None:
    await session.execute(
        text("UPDATE messenger.staff SET password_hash = :hash, updated_at = now() WHERE id = :id"),
        {"id": staff_id, "hash": password_hash},
    )


async def end_sessions(
    session: AsyncSession, staff_id: int, *, except_session: int | None = None
) -> None:
    """End the logins of a staff member (but `except_session`)."""
    await session.execute(
        text(
            "DELETE FROM messenger.staff_sessions WHERE staff_id = :id "
            "AND id IS DISTINCT FROM :keep"
        ),
        {"id": staff_id, "keep": except_session},
    )


async def active_admins(session: AsyncSession) -> int:
    return int(
        await session.scalar(
            text("SELECT count(*) FROM messenger.staff WHERE role = 'admin' AND active")
        )
        or 0
    )
