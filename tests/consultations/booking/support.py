"""Shared pieces of the booking tests: a runtime wired to both emulators, request bodies,
managers and dictionary rows, and reads of what the database, Chatwoot and 1C hold."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import select, text

from switchboard.consultations.booking.models import StatusChange
from switchboard.consultations.dictionaries.models import (
    POSection,
    POType,
    Question,
    QuestionCategory,
)
from switchboard.consultations.models import ACCOUNTING, TECH_SUPPORT, Consultation, Manager
from switchboard.consultations.sync.models import OutboxTask
from switchboard.consultations.sync.tasks import drain
from switchboard.runtime import Runtime
from switchboard.sandbox.chatwoot.records import OUTGOING
from switchboard.sandbox.pytest_plugin import RunningChatwoot, RunningOneC

TASHKENT = ZoneInfo("Asia/Tashkent")
PHONE_CALL = "Document_ТелефонныйЗвонок"
COUNTERPARTIES = "Catalog_Контрагенты"
ACCOUNTING_TEAM = "Консультация по ведению учета"
TECH_TEAM = "Техническая поддержка"

_numbers = itertools.count(1)


def key(name: str) -> uuid.UUID:
    return uuid.uuid5(uuid.NAMESPACE_URL, f"booking-test:{name}")


def settings(
    onec: RunningOneC | None, chatwoot: RunningChatwoot | None, **extra: Any
) -> dict[str, Any]:
    """Both emulators, and technical support working around the clock (so no test depends on
    the hour it runs at)."""
    values: dict[str, Any] = {
        "TECH_SUPPORT_WORKING_HOURS_START": "00:00",
        "TECH_SUPPORT_WORKING_HOURS_END": "00:00",
        "LOAD_DICTS_ON_START": "false",
        # A peer that was down is tried again soon after it is back.
        "BREAKER_RESET_SECONDS": "0.05",
    }
    if onec is not None:
        values.update(onec.settings())
    if chatwoot is not None:
        values.update(chatwoot.settings())
    values.update(extra)
    return values


def owner(n: int | None = None, **extra: Any) -> dict[str, Any]:
    """A new owner of a subscription (unique INN, code, e-mail and phone)."""
    n = n if n is not None else next(_numbers)
    return {
        "email": f"owner{n}@firma.uz",
        "phone_number": f"+99890{n:07d}",
        "name": f"Владелец {n}",
        "company_name": f"ООО Фирма {n}",
        "org_inn": f"{300000000 + n}",
        "code_abonent": f"{100000 + n}",
        "is_parent": True,
        **extra,
    }


def accounting(**fields: Any) -> dict[str, Any]:
    return {
        "consultation_type": ACCOUNTING,
        "lang": "ru",
        "comment": "Не проводится выписка",
        **fields,
    }


def tech(**fields: Any) -> dict[str, Any]:
    return {
        "consultation_type": TECH_SUPPORT,
        "lang": "ru",
        "comment": "Не открывается база",
        **fields,
    }


def in_days(days: float, hour: int = 11) -> str:
    """`hour`:00 Tashkent time `days` days from today, as ISO text with the offset."""
    day = (datetime.now(TASHKENT) + timedelta(days=days)).date()
    return datetime(day.year, day.month, day.day, hour, tzinfo=TASHKENT).isoformat()


async def add_manager(
    runtime: Runtime,
    chatwoot: RunningChatwoot | None,
    name: str,
    *,
    limit: int = 5,
    **fields: Any,
) -> tuple[uuid.UUID, int | None]:
    """A consultant working around the clock, with a Chatwoot agent when `chatwoot` is given."""
    agent_id = None
    if chatwoot is not None:
        agent_id = chatwoot.emulator.add_agent(name, f"{key(name).hex[:8]}@clobus.uz")["id"]
    manager_key = key(f"manager:{name}")
    async with runtime.database.transaction() as session:
        session.add(
            Manager(
                cl_ref_key=manager_key,
                description=name,
                con_limit=limit,
                ru=True,
                uz=True,
                chatwoot_user_id=agent_id,
                **fields,
            )
        )
    return manager_key, agent_id


async def add_dictionaries(runtime: Runtime) -> dict[str, uuid.UUID]:
    """A kind of software with a section, and a category with a question (plus one of another
    category)."""
    keys = {
        name: key(name)
        for name in ("bp", "bp.bank", "rt", "category", "question", "other", "alien")
    }
    async with runtime.database.transaction() as session:
        session.add_all(
            [
                POType(ref_key=keys["bp"], description="1С:Бухгалтерия 3.0"),
                POType(ref_key=keys["rt"], description="1С:Розница 3.0"),
                POSection(ref_key=keys["bp.bank"], owner_key=keys["bp"], description="Банк"),
                QuestionCategory(
                    ref_key=keys["category"], description="Банк и касса", language="ru"
                ),
                QuestionCategory(ref_key=keys["other"], description="Зарплата", language="ru"),
                Question(
                    ref_key=keys["question"],
                    category_key=keys["category"],
                    description="Выписка не загружается",
                    language="ru",
                ),
                Question(
                    ref_key=keys["alien"],
                    category_key=keys["other"],
                    description="Как начислить отпуск",
                    language="ru",
                ),
            ]
        )
    return keys


def chatwoot_teams(chatwoot: RunningChatwoot) -> dict[str, int]:
    return {name: chatwoot.emulator.add_team(name)["id"] for name in (ACCOUNTING_TEAM, TECH_TEAM)}


async def row(runtime: Runtime, cons_id: str) -> Consultation | None:
    async with runtime.database.transaction() as session:
        return await session.get(Consultation, cons_id)


async def rows(runtime: Runtime) -> list[Consultation]:
    async with runtime.database.transaction() as session:
        return list(await session.scalars(select(Consultation).order_by(Consultation.created_at)))


async def outbox(runtime: Runtime) -> list[OutboxTask]:
    async with runtime.database.transaction() as session:
        return list(await session.scalars(select(OutboxTask).order_by(OutboxTask.id)))


async def statuses(runtime: Runtime, cons_id: str) -> list[tuple[str | None, str, str]]:
    async with runtime.database.transaction() as session:
        changes = await session.scalars(
            select(StatusChange).where(StatusChange.cons_id == cons_id).order_by(StatusChange.id)
        )
        return [(c.old_status, c.new_status, c.source) for c in changes]


async def settle(runtime: Runtime, rounds: int = 12) -> dict[str, int]:
    """Let the worker carry out everything owed, now: tasks waiting for a backoff or for an
    earlier change are made due at once, and the outbox drained until nothing more moves."""
    totals: dict[str, int] = {}
    for _ in range(rounds):
        async with runtime.database.transaction() as session:
            await session.execute(
                text(
                    "UPDATE sys.outbox SET next_attempt_at = now(), lease_until = NULL "
                    "WHERE status = 'pending'"
                )
            )
        counts = await drain(runtime)
        for status, count in counts.items():
            totals[status] = totals.get(status, 0) + count
        if not counts or (set(counts) <= {"done", "skipped"} and not await _pending(runtime)):
            break
    return totals


async def _pending(runtime: Runtime) -> bool:
    return any(task.status == "pending" for task in await outbox(runtime))


def conversations(chatwoot: RunningChatwoot) -> list[Any]:
    return chatwoot.emulator.store.conversations_of(chatwoot.emulator.account_id)


def messages(chatwoot: RunningChatwoot, conversation: Any) -> list[str]:
    """What the client reads: outgoing, public messages (not activity lines or notes)."""
    return [
        message.content or ""
        for message in chatwoot.emulator.store.messages_of(conversation.id)
        if message.message_type == OUTGOING and not message.private
    ]


def documents(onec: RunningOneC) -> list[dict[str, Any]]:
    return [
        record
        for record in onec.emulator.store.records(PHONE_CALL)
        if not record.get("DeletionMark")
    ]


async def book(client: httpx.AsyncClient, body: dict[str, Any], **headers: str) -> httpx.Response:
    return await client.post("/api/consultations/create", json=body, headers=headers)


def utc(text_value: str) -> datetime:
    return datetime.fromisoformat(text_value).astimezone(UTC)
