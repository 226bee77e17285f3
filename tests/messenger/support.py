"""Building blocks of messenger tests: rows written straight into the tables, a clock, a timer
that only remembers, and a small real MaxMind database."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.core.db import Database
from switchboard.messenger.routing.geoip import NoLocator, RegionLocator
from switchboard.messenger.routing.service import Routing
from switchboard.messenger.settings import MessengerSettings

#: A Monday, 10:00 UTC.
T0 = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)


@dataclass
class Armed:
    conversation_id: int
    staff_id: int
    assigned_at: datetime
    due: datetime


@dataclass
class MemoryTimer:
    armed: list[Armed] = field(default_factory=list)

    async def arm(
        self,
        session: AsyncSession,
        *,
        conversation_id: int,
        staff_id: int,
        assigned_at: datetime,
        due: datetime,
    ) -> None:
        self.armed.append(Armed(conversation_id, staff_id, assigned_at, due))


def routing(
    *,
    default_branch: str = "",
    escalation_seconds: int = 240,
    locator: RegionLocator | None = None,
    timer: Any = None,
) -> Routing:
    settings = MessengerSettings(
        _env_file=None,
        MESSENGER_DEFAULT_BRANCH=default_branch,
        MESSENGER_ESCALATION_SECONDS=escalation_seconds,
    )
    return Routing(settings=settings, locator=locator or NoLocator(), timer=timer or MemoryTimer())


async def scalar(session: AsyncSession, sql: str, **params: Any) -> Any:
    return (await session.execute(text(sql), params)).scalar()


class World:
    """Rows of the messenger schema, written in committed transactions."""

    def __init__(self, database: Database) -> None:
        self.database = database

    async def one(self, sql: str, **params: Any) -> Any:
        async with self.database.transaction() as session:
            return await scalar(session, sql, **params)

    async def branch(self, code: str) -> int:
        return int(
            await self.one(
                "INSERT INTO messenger.branches (code, name) VALUES (:c, :c) RETURNING id", c=code
            )
        )

    async def region(self, code: str) -> int:
        return int(
            await self.one(
                "INSERT INTO messenger.regions (code, name) VALUES (:c, :c) RETURNING id", c=code
            )
        )

    async def rule(
        self, region: int, branch: int, *, priority: int = 100, inbox: int | None = None
    ) -> int:
        return int(
            await self.one(
                "INSERT INTO messenger.region_rules (region_id, branch_id, priority, inbox_id) "
                "VALUES (:r, :b, :p, :i) RETURNING id",
                r=region,
                b=branch,
                p=priority,
                i=inbox,
            )
        )

    async def operator(
        self,
        branch: int | None,
        name: str,
        *,
        status: str = "online",
        capacity: int = 5,
        schedule: dict[str, Any] | None = None,
        role: str = "operator",
    ) -> int:
        return int(
            await self.one(
                "INSERT INTO messenger.staff (login, display_name, role, branch_id, capacity, "
                "status, schedule) VALUES (:login, :name, :role, :b, :cap, :status, "
                "CAST(:schedule AS jsonb)) RETURNING id",
                login=f"{name}@example.com",
                name=name,
                role=role,
                b=branch,
                cap=capacity,
                status=status,
                schedule=json.dumps(schedule or {}),
            )
        )

    async def inbox(
        self, *, branch: int | None = None, settings: dict[str, Any] | None = None
    ) -> int:
        return int(
            await self.one(
                "INSERT INTO messenger.inboxes (name, public_key, branch_id, settings) "
                "VALUES ('site', :key, :b, CAST(:s AS jsonb)) RETURNING id",
                key=secrets.token_urlsafe(8),
                b=branch,
                s=json.dumps(settings or {}),
            )
        )

    async def conversation(self, inbox: int, *, region: int | None = None) -> int:
        contact = await self.one(
            "INSERT INTO messenger.contacts (token_digest, region_id) VALUES (:t, :r) RETURNING id",
            t=secrets.token_hex(16),
            r=region,
        )
        return int(
            await self.one(
                "INSERT INTO messenger.conversations (inbox_id, contact_id) VALUES (:i, :c) "
                "RETURNING id",
                i=inbox,
                c=contact,
            )
        )

    async def conversation_row(self, conversation: int) -> dict[str, Any]:
        async with self.database.transaction() as session:
            row = (
                (
                    await session.execute(
                        text("SELECT * FROM messenger.conversations WHERE id = :id"),
                        {"id": conversation},
                    )
                )
                .mappings()
                .one()
            )
        return dict(row)

    async def audit(self, conversation: int) -> list[dict[str, Any]]:
        async with self.database.transaction() as session:
            rows = await session.execute(
                text("SELECT * FROM messenger.assignments WHERE conversation_id = :id ORDER BY id"),
                {"id": conversation},
            )
            return [dict(row) for row in rows.mappings()]


def write_mmdb(path: Path, networks: dict[str, tuple[str, str | None]]) -> Path:
    """A small GeoLite2-City style database: network → (country ISO code, subdivision code)."""
    from mmdb_writer import MMDBWriter
    from netaddr import IPSet

    writer = MMDBWriter(ip_version=6, ipv4_compatible=True, database_type="GeoLite2-City")
    for network, (country, subdivision) in networks.items():
        record: dict[str, Any] = {"country": {"iso_code": country, "names": {"en": country}}}
        if subdivision:
            record["subdivisions"] = [{"iso_code": subdivision, "names": {"en": subdivision}}]
        writer.insert_network(IPSet([network]), record)
    writer.to_db_file(str(path))
    return path


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


async def public_key(world: World, inbox: int) -> str:
    """The widget's public key of an inbox."""
    return str(await world.one("SELECT public_key FROM messenger.inboxes WHERE id = :i", i=inbox))


async def staffed_inbox(database_url: str, operators: int = 1) -> tuple[str, list[int]]:
    """For tests that run the platform's own processes: one branch with `operators` online (and
    just heard from, so the presence job keeps them) and an inbox of it. Its widget key and the
    operators' ids."""
    database = Database(database_url)
    try:
        world = World(database)
        branch = await world.branch("ekb")
        staff = [await world.operator(branch, f"op{n}") for n in range(operators)]
        await world.one("UPDATE messenger.staff SET last_seen_at = now() RETURNING 1")
        return await public_key(world, await world.inbox(branch=branch)), staff
    finally:
        await database.dispose()
