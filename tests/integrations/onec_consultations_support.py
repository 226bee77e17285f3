"""Shared pieces of the 1C consultation adapter's tests: the adapter on the emulator, a document."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from switchboard.core.http import HttpKit
from switchboard.core.metrics import Metrics
from switchboard.integrations.onec import constants as c
from switchboard.integrations.onec.adapter import OneCAdapter
from switchboard.integrations.onec.consultations import OneCAccounting
from switchboard.integrations.ports import ConsultationDocument
from switchboard.sandbox.pytest_plugin import RunningOneC

CALLS = c.ENTITY_PHONE_CALL
CONTRACTORS = c.ENTITY_CONTRACTORS
FOLDER = str(c.CLOBUS_CLIENTS_FOLDER)
OTHER_FOLDER = "11111111-2222-3333-4444-555555555555"
MANAGER = uuid.UUID("aaaaaaaa-0000-0000-0000-000000000001")
OTHER_MANAGER = uuid.UUID("aaaaaaaa-0000-0000-0000-000000000002")
AUTHOR = uuid.UUID("aaaaaaaa-0000-0000-0000-000000000009")
#: 10:00 in Tashkent (UTC+5).
MORNING = datetime(2026, 3, 2, 5, 0, tzinfo=UTC)


async def open_accounting(
    onec: RunningOneC, settings_factory: Callable[..., Any], **overrides: Any
) -> AsyncIterator[OneCAccounting]:
    settings = settings_factory(**onec.settings(), **overrides)
    adapter = OneCAdapter.from_settings(settings, HttpKit.from_settings(settings, Metrics()))
    try:
        yield OneCAccounting(adapter.client)
    finally:
        await adapter.aclose()


def subscriber(onec: RunningOneC, *, folder: str = FOLDER, name: str = "ООО Ромашка") -> uuid.UUID:
    record = onec.emulator.store.put(CONTRACTORS, {"Description": name, "Parent_Key": folder})
    return uuid.UUID(record["Ref_Key"])


def document(subscriber_key: uuid.UUID, **changes: Any) -> ConsultationDocument:
    base = ConsultationDocument(
        ref_key=uuid.uuid4(),
        subscriber_key=subscriber_key,
        manager_key=MANAGER,
        scheduled_at=MORNING,
        created_at=datetime(2026, 3, 1, 7, 30, tzinfo=UTC),
        subject="Консультация по ведению учёта",
        description="Как закрыть месяц?",
        comment="Создано из Clobus.uz",
        subscriber_title="Clobus ООО Ромашка 1001 (301234567)",
        contact_how="+998901234567 / Алишер / SITE",
        channel="SITE",
        language="ru",
        importance=None,
        author_key=AUTHOR,
    )
    return replace(base, **changes)


def odata_value(*records: dict[str, Any]) -> dict[str, Any]:
    """A collection answer as 1C writes it, for faults that stand in for a real base's reply."""
    return {"odata.metadata": "x/$metadata#Set", "value": list(records)}


def odata_error(code: str, message: str) -> dict[str, Any]:
    return {"odata.error": {"code": code, "message": {"lang": "ru", "value": message}}}
