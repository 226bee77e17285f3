"""The clients service as other parts call it: the name rule, the Telegram client, the owner of
a subscriber code when old data holds it twice, and logs free of personal data."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from structlog.testing import capture_logs

from switchboard.consultations.clients import service
from switchboard.consultations.clients.schemas import ClientCreate
from switchboard.consultations.models import Client
from switchboard.core.auth import TelegramUser
from switchboard.runtime import Runtime
from tests.consultations.clients.support import OWNER, clients, user_of


@pytest.mark.parametrize(
    ("args", "title"),
    [
        (("Clobus", "ООО Ромашка", "100234", "302345678"), "Clobus ООО Ромашка 100234 (302345678)"),
        (("Acme ", " Лола ", "7", "12345678901234"), "Acme Лола 7 (12345678901234)"),
        (("Clobus", None, "7", "302345678"), "Clobus 7 (302345678)"),
        (("Clobus", "Ромашка", None, None), "Clobus Ромашка"),
    ],
)
def test_counterparty_title(args: tuple[Any, ...], title: str) -> None:
    assert service.counterparty_title(*args) == title


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("Clobus ООО Ромашка 100234 (302345678)", "ООО Ромашка"),
        ("clobus Clobus Ромашка 2 100234 (302345678) 100234 (302345678)", "Ромашка 2"),
        ("ООО Ромашка", "ООО Ромашка"),
        ("Clobus 100234 (302345678)", "Clobus 100234 (302345678)"),  # no name: not the mask
        (None, None),
    ],
)
def test_the_1c_mask_is_removed_from_a_company_name(given: str | None, kept: str | None) -> None:
    assert service.strip_counterparty_mask(given, "Clobus") == kept


def test_the_identity_hash_never_is_random() -> None:
    assert service.identity_hash(None, None, None) is None
    one = service.identity_hash("A@B.uz", "+998 90 123", "302345678")
    assert one == service.identity_hash("a@b.uz", "998-90-123", "302345678")


async def test_a_telegram_user_becomes_one_client(runtime: Runtime) -> None:
    user = TelegramUser(id=777001, first_name="Тимур", last_name="Юсупов", username="timur")
    async with runtime.database.transaction() as session:
        first = await service.client_for_telegram(session, user, settings=runtime.settings)
        first_id = first.client_id
    async with runtime.database.transaction() as session:
        again = await service.client_for_telegram(session, user, settings=runtime.settings)
        assert again.client_id == first_id
    [row] = await clients(runtime)
    assert (row.source, row.telegram_user_id, row.name, row.contact_name) == (
        "TELEGRAM",
        777001,
        "Тимур Юсупов",
        "@timur",
    )
    assert row.is_parent
    assert row.parent_id is None


async def test_find_or_create_runs_in_the_callers_transaction(runtime: Runtime) -> None:
    # A caller (booking) whose own later step fails leaves no client behind.
    data = ClientCreate.model_validate(OWNER)
    with pytest.raises(RuntimeError):
        async with runtime.database.transaction() as session:
            outcome = await service.find_or_create_client(session, data, settings=runtime.settings)
            assert outcome.created
            assert outcome.owner is outcome.client
            ids = await service.enqueue_client_sync(
                session, outcome.client, outcome.owner, settings=runtime.settings
            )
            assert len(ids) == 2
            raise RuntimeError("the booking failed after the client")
    assert await clients(runtime) == []

    async with runtime.database.transaction() as session:
        owner = (
            await service.find_or_create_client(session, data, settings=runtime.settings)
        ).client
        user = await service.find_or_create_client(
            session,
            ClientCreate.model_validate(user_of(str(owner.client_id))),
            settings=runtime.settings,
        )
        assert user.owner is owner
        assert await service.owner_of(session, user.client) is owner
        read = service.client_read(user.client, user.owner)
        assert (read.org_inn, read.company_name) == ("302345678", "ООО Ромашка")


async def test_by_subscriber_prefers_the_oldest_owner_and_logs_no_personal_data(
    runtime: Runtime,
) -> None:
    # Two owners with one code can only be old data written before the unique index; the
    # index is dropped inside this test's transaction, which is rolled back.
    now = datetime.now(UTC)
    older, newer = uuid.uuid4(), uuid.uuid4()
    with pytest.raises(RuntimeError), capture_logs() as logs:
        async with runtime.database.transaction() as session:
            await session.execute(text("DROP INDEX cons.uq_clients_owner_code_abonent"))
            for client_id, created, inn in (
                (newer, now, "302345678"),
                (older, now - timedelta(days=3), "302345679"),
            ):
                session.add(
                    Client(
                        client_id=client_id,
                        is_parent=True,
                        code_abonent="4242",
                        org_inn=inn,
                        email=f"{inn}@mail.uz",
                        created_at=created,
                    )
                )
            await session.flush()
            found = await service.get_owner_by_subscriber(session, "4242")
            assert found.client_id == older
            raise RuntimeError("roll back")
    [warning] = [entry for entry in logs if entry["log_level"] == "warning"]
    assert warning["chosen"] == str(older)
    logged = repr(logs)
    for personal in ("4242", "302345678", "302345679", "@mail.uz"):
        assert personal not in logged
    # The index is back (the drop was rolled back).
    async with runtime.database.transaction() as session:
        indexes = await session.scalar(
            text(
                "SELECT count(*) FROM pg_indexes WHERE indexname = 'uq_clients_owner_code_abonent'"
            )
        )
    assert indexes == 1


async def test_requests_log_no_personal_data(client: httpx.AsyncClient) -> None:
    with capture_logs() as logs:
        owner = (await client.post("/api/clients", json=OWNER)).json()
        await client.post("/api/clients", json=user_of(owner["client_id"]))
        taken = {**OWNER, "email": "z@z.uz", "phone_number": None, "code_abonent": "1"}
        assert (await client.post("/api/clients", json=taken)).status_code == 409
    logged = repr(logs)
    for personal in ("romashka", "998901234567", "302345678", "100234", "Алишер", "Ромашка"):
        assert personal not in logged
