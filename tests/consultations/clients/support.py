"""Shared pieces of the clients tests: request bodies and reads of what the database holds."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from switchboard.consultations.models import Client
from switchboard.consultations.sync.models import OutboxTask
from switchboard.runtime import Runtime

OWNER: dict[str, Any] = {
    "email": "Buh@Romashka.uz",
    "phone_number": "+998 (90) 123-45-67",
    "name": "Алишер Каримов",
    "company_name": "ООО Ромашка",
    "org_inn": "302345678",
    "code_abonent": "100234",
    "is_parent": True,
    "region": "Ташкентская область",
    "city": "Чирчик",
    "country": "Узбекистан",
}
OTHER_OWNER: dict[str, Any] = {
    "email": "info@lola.uz",
    "phone_number": "+998711112233",
    "name": "Лола",
    "company_name": "ЧП Лола",
    "org_inn": "12345678901234",
    "code_abonent": "200777",
    "is_parent": True,
}


def user_of(owner_id: str, n: int = 1, **extra: Any) -> dict[str, Any]:
    return {
        "email": f"kassir{n}@romashka.uz",
        "phone_number": f"+99890555000{n}",
        "name": f"Кассир {n}",
        "parent_id": owner_id,
        **extra,
    }


async def clients(runtime: Runtime) -> list[Client]:
    async with runtime.database.transaction() as session:
        return list(await session.scalars(select(Client).order_by(Client.created_at)))


async def client_row(runtime: Runtime, client_id: str | uuid.UUID) -> Client:
    async with runtime.database.transaction() as session:
        row = await session.get(Client, uuid.UUID(str(client_id)))
    assert row is not None
    return row


async def outbox(runtime: Runtime) -> list[OutboxTask]:
    async with runtime.database.transaction() as session:
        return list(await session.scalars(select(OutboxTask).order_by(OutboxTask.id)))


def snapshot(rows: list[Client]) -> list[dict[str, Any]]:
    """Every column of every client: to show a refused request changed nothing."""
    return [
        {column.key: getattr(row, column.key) for column in Client.__table__.columns}
        for row in rows
    ]
