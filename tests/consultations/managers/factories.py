"""Rows for the manager tests: consultants, their skills, queues and closings, written directly."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.consultations.dictionaries.models import QuestionCategory
from switchboard.consultations.managers import service
from switchboard.consultations.managers.service import ManagerPick, SelectionRules
from switchboard.consultations.models import (
    ACCOUNTING,
    Consultation,
    Manager,
    ManagerSkill,
    QueueClosing,
)
from switchboard.runtime import Runtime

TASHKENT = ZoneInfo("Asia/Tashkent")
RULES = SelectionRules(zone=TASHKENT)
#: 10:00 in Tashkent (UTC+5) on a Wednesday.
NOON_ISH = datetime(2026, 12, 2, 5, 0, tzinfo=UTC)


def key(name: str) -> uuid.UUID:
    return uuid.uuid5(uuid.NAMESPACE_URL, f"manager:{name}")


def local(hour: int, minute: int = 0, day: date = date(2026, 12, 2)) -> datetime:
    """An aware UTC moment that is `hour:minute` on `day` in Tashkent."""
    return datetime.combine(day, time(hour, minute), tzinfo=TASHKENT).astimezone(UTC)


def manager(
    name: str,
    *,
    limit: int | None = 5,
    hours: tuple[int, int] | None = None,
    ru: bool = True,
    uz: bool = False,
    department: str | None = None,
    chatwoot_user_id: int | None = None,
    email: str | None = None,
    **flags: Any,
) -> Manager:
    return Manager(
        cl_ref_key=flags.pop("cl_ref_key", key(name)),
        description=name,
        email=email,
        con_limit=limit,
        start_hour=time(hours[0]) if hours else None,
        end_hour=time(hours[1]) if hours else None,
        ru=ru,
        uz=uz,
        department=department,
        chatwoot_user_id=chatwoot_user_id,
        **flags,
    )


def skills(name: str, categories: Iterable[uuid.UUID]) -> list[ManagerSkill]:
    return [ManagerSkill(user_key=key(name), category_key=c) for c in categories]


def queued(
    name: str,
    count: int,
    *,
    status: str = "open",
    prefix: str = "",
    start: datetime | None = None,
    **fields: Any,
) -> list[Consultation]:
    """`count` consultations of manager `name`, created a minute apart."""
    base = datetime(2026, 12, 1, 4, 0, tzinfo=UTC)
    kind = fields.pop("consultation_type", ACCOUNTING)
    return [
        Consultation(
            cons_id=f"{prefix}{uuid.uuid4()}",
            manager=key(name),
            status=status,
            consultation_type=kind,
            create_date=base + timedelta(minutes=n),
            start_date=start or base + timedelta(minutes=n),
            **fields,
        )
        for n in range(count)
    ]


def closing(name: str, day: date) -> QueueClosing:
    return QueueClosing(period=day, manager_key=key(name))


def category(name: str, language: str) -> QuestionCategory:
    return QuestionCategory(ref_key=key(f"category:{name}"), description=name, language=language)


async def store(runtime: Runtime, *rows: Any) -> None:
    async with runtime.database.transaction() as session:
        for row in rows:
            if isinstance(row, list):
                session.add_all(row)
            else:
                session.add(row)


async def pick(
    session: AsyncSession,
    *,
    now: datetime = NOON_ISH,
    category_key: uuid.UUID | None = None,
    language: str | None = None,
    consultation_type: str | None = ACCOUNTING,
    rng: random.Random | None = None,
    rules: SelectionRules = RULES,
) -> ManagerPick | None:
    return await service.pick_manager(
        session,
        category_key=category_key,
        language=language,
        po_section_key=None,
        po_type_key=None,
        consultation_type=consultation_type,
        now=now,
        rng=rng or random.Random(1),
        rules=rules,
    )


async def picked_name(runtime: Runtime, **options: Any) -> str | None:
    """Who a pick chooses now (in a transaction rolled back: nothing is assigned)."""
    async with runtime.database.sessionmaker() as session:
        chosen = await pick(session, **options)
        await session.rollback()
    return chosen.name if chosen is not None else None
