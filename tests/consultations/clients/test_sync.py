"""A client reaches Chatwoot (contact) and 1C (counterparty) through the outbox, against the
emulators: the right fields, once, and later when a peer was down."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from switchboard.consultations.sync.models import OutboxTask
from switchboard.consultations.sync.tasks import drain
from switchboard.integrations.onec.constants import CLOBUS_CLIENTS_FOLDER
from switchboard.runtime import Runtime
from switchboard.sandbox.faults import Fault
from switchboard.sandbox.pytest_plugin import RunningChatwoot, RunningOneC
from tests.consultations.clients.support import OTHER_OWNER, OWNER, client_row, outbox, user_of

CONTRACTORS = "Catalog_Контрагенты"


@pytest.fixture
async def peers(
    onec: RunningOneC, chatwoot: RunningChatwoot, runtime_factory: Any, client_factory: Any
) -> tuple[Runtime, httpx.AsyncClient]:
    runtime: Runtime = await runtime_factory(**onec.settings(), **chatwoot.settings())
    api: httpx.AsyncClient = await client_factory(runtime)
    return runtime, api


def _contacts(chatwoot: RunningChatwoot) -> dict[str, Any]:
    """Our clients' contacts in the emulator, by identifier."""
    store = chatwoot.emulator.store
    return {
        contact.identifier: contact
        for contact in store.contacts_of(chatwoot.emulator.account_id)
        if contact.identifier
    }


def _counterparties(onec: RunningOneC) -> list[dict[str, Any]]:
    return [dict(record) for record in onec.emulator.store.all(CONTRACTORS)]


async def _make_due(runtime: Runtime) -> None:
    """Skip the backoff: a retry is due now (the runner's waiting is tested in sync/)."""
    async with runtime.database.transaction() as session:
        await session.execute(
            update(OutboxTask)
            .where(OutboxTask.status == "pending")
            .values(next_attempt_at=OutboxTask.created_at, lease_until=None)
        )


async def test_an_owner_lands_in_chatwoot_and_1c_before_the_answer(
    peers: tuple[Runtime, httpx.AsyncClient], onec: RunningOneC, chatwoot: RunningChatwoot
) -> None:
    runtime, api = peers
    answer = await api.post("/api/clients", json=OWNER)
    assert answer.status_code == 201
    created = answer.json()
    client_id = created["client_id"]

    contact = _contacts(chatwoot)[client_id]
    assert contact.name == "Алишер Каримов"
    assert (contact.email or "").lower() == "buh@romashka.uz"
    assert contact.phone_number == "+998901234567"
    assert contact.custom_attributes == {
        "code_abonent": "100234",
        "inn_pinfl": "302345678",
        "client_type": "owner",
        "region": "Ташкентская область",
        "country": "Узбекистан",
    }
    assert contact.additional_attributes["company_name"] == "ООО Ромашка"
    assert contact.additional_attributes["country_code"] == "UZ"
    assert contact.additional_attributes["city"] == "Чирчик"

    [counterparty] = _counterparties(onec)
    assert counterparty["Description"] == "Clobus ООО Ромашка 100234 (302345678)"
    assert counterparty["ИНН"] == "302345678"
    assert counterparty["КодАбонентаClobus"] == 100234
    assert counterparty["Parent_Key"] == str(CLOBUS_CLIENTS_FOLDER)
    assert counterparty["ЮридическоеФизическоеЛицо"] == "ЮридическоеЛицо"

    # The answer already carries what the peers gave back, and so does the row.
    assert created["source_id"]
    assert created["chatwoot_pubsub_token"]
    assert created["chatwoot_contact_id"] == contact.id
    assert created["cl_ref_key"] == counterparty["Ref_Key"]
    row = await client_row(runtime, client_id)
    assert str(row.parent_key) == str(CLOBUS_CLIENTS_FOLDER)
    assert {task.status for task in await outbox(runtime)} == {"done"}


async def test_a_person_is_a_physical_counterparty_and_the_prefix_is_a_setting(
    onec: RunningOneC, chatwoot: RunningChatwoot, runtime_factory: Any, client_factory: Any
) -> None:
    runtime = await runtime_factory(
        **onec.settings(), **chatwoot.settings(), ONEC_CLIENT_NAME_PREFIX="Acme"
    )
    api: httpx.AsyncClient = await client_factory(runtime)
    person = {**OTHER_OWNER, "company_name": None}
    assert (await api.post("/api/clients", json=person)).status_code == 201
    [counterparty] = _counterparties(onec)
    assert counterparty["ЮридическоеФизическоеЛицо"] == "ФизическоеЛицо"
    assert counterparty["Description"] == "Acme Лола 200777 (12345678901234)"


async def test_users_get_contacts_of_their_own_and_no_counterparty(
    peers: tuple[Runtime, httpx.AsyncClient], onec: RunningOneC, chatwoot: RunningChatwoot
) -> None:
    _runtime, api = peers
    owner = (await api.post("/api/clients", json=OWNER)).json()
    first = (await api.post("/api/clients", json=user_of(owner["client_id"], 1))).json()
    second = (await api.post("/api/clients", json=user_of(owner["client_id"], 2))).json()

    contacts = _contacts(chatwoot)
    assert set(contacts) == {owner["client_id"], first["client_id"], second["client_id"]}
    for user in (first, second):
        contact = contacts[user["client_id"]]
        assert contact.custom_attributes["client_type"] == "user"
        assert contact.custom_attributes["code_abonent"] == "100234"
        assert contact.custom_attributes["inn_pinfl"] == "302345678"
        assert contact.email == user["email"]
        assert user["source_id"]
    assert len({contact.id for contact in contacts.values()}) == 3
    assert len(_counterparties(onec)) == 1
    assert len(onec.emulator.journal.matching("POST", "*/Catalog_*")) == 1


async def test_nothing_is_sent_again_until_something_changes(
    peers: tuple[Runtime, httpx.AsyncClient], onec: RunningOneC, chatwoot: RunningChatwoot
) -> None:
    runtime, api = peers
    created = (await api.post("/api/clients", json=OWNER)).json()
    tasks = len(await outbox(runtime))
    chatwoot_calls = len(chatwoot.emulator.journal.matching(None, "*"))
    onec_calls = len(onec.emulator.journal.matching(None, "*"))

    again = await api.post("/api/clients", json=OWNER)
    assert again.status_code == 200
    assert len(await outbox(runtime)) == tasks
    assert len(chatwoot.emulator.journal.matching(None, "*")) == chatwoot_calls
    assert len(onec.emulator.journal.matching(None, "*")) == onec_calls

    renamed = await api.post(
        "/api/clients", json={**OWNER, "client_id": created["client_id"], "name": "Алишер К."}
    )
    assert renamed.status_code == 200
    assert _contacts(chatwoot)[created["client_id"]].name == "Алишер К."
    # The contact is the same one (the widget keeps its session).
    assert renamed.json()["source_id"] == created["source_id"]
    assert renamed.json()["chatwoot_contact_id"] == created["chatwoot_contact_id"]
    # The owner's 1C name does not depend on the person's name (company first).
    assert len(onec.emulator.journal.matching("PATCH", "*/Catalog_*")) == 0

    company = await api.post(
        "/api/clients",
        json={**OWNER, "client_id": created["client_id"], "company_name": "ООО Ромашка Плюс"},
    )
    assert company.status_code == 200
    [counterparty] = _counterparties(onec)
    assert counterparty["Description"] == "Clobus ООО Ромашка Плюс 100234 (302345678)"
    assert counterparty["Ref_Key"] == created["cl_ref_key"]


async def test_a_counterparty_1c_has_already_is_linked_not_duplicated(
    peers: tuple[Runtime, httpx.AsyncClient], onec: RunningOneC
) -> None:
    _runtime, api = peers
    known = str(uuid.uuid4())
    onec.emulator.store.load(
        {
            CONTRACTORS: [
                {
                    "Ref_Key": known,
                    "Description": "Ромашка (из 1С)",
                    "ИНН": "302345678",
                    "КодАбонентаClobus": 100234,
                    "Parent_Key": str(CLOBUS_CLIENTS_FOLDER),
                }
            ]
        }
    )
    created = (await api.post("/api/clients", json=OWNER)).json()
    assert created["cl_ref_key"] == known
    [counterparty] = _counterparties(onec)
    assert counterparty["Description"] == "Clobus ООО Ромашка 100234 (302345678)"
    assert onec.emulator.journal.matching("POST", "*/Catalog_*") == []


async def test_peers_down_the_client_is_answered_and_synced_later_exactly_once(
    peers: tuple[Runtime, httpx.AsyncClient], onec: RunningOneC, chatwoot: RunningChatwoot
) -> None:
    runtime, api = peers
    chatwoot.emulator.faults.add(Fault(path="*", status=503))
    onec.emulator.faults.add(Fault(path="*", status=503))

    answer = await api.post("/api/clients", json=OWNER)
    assert answer.status_code == 201
    created = answer.json()
    assert created["source_id"] is None
    assert created["cl_ref_key"] is None
    assert {task.status for task in await outbox(runtime)} == {"pending"}

    chatwoot.emulator.faults.clear()
    onec.emulator.faults.clear()
    await _make_due(runtime)
    assert await drain(runtime) == {"done": 2}

    row = await client_row(runtime, created["client_id"])
    assert row.source_id is not None
    assert row.cl_ref_key is not None
    assert list(_contacts(chatwoot)) == [created["client_id"]]
    assert len(_counterparties(onec)) == 1
    # A second drain has nothing left to do.
    assert await drain(runtime) == {}


async def test_while_a_peer_is_down_repeated_requests_queue_no_more_tasks(
    peers: tuple[Runtime, httpx.AsyncClient], chatwoot: RunningChatwoot
) -> None:
    runtime, api = peers
    chatwoot.emulator.faults.add(Fault(path="*", status=503))
    created = (await api.post("/api/clients", json=OWNER)).json()
    for name in ("Алишер", "Алишер К.", "Алишер Каримов"):
        body = {**OWNER, "client_id": created["client_id"], "name": name}
        assert (await api.post("/api/clients", json=body)).status_code == 200
    tasks = await outbox(runtime)
    # One contact task waits (and will send the latest name); 1C took the owner at once.
    assert [(task.operation, task.status) for task in tasks] == [
        ("chatwoot.sync_contact", "pending"),
        ("onec.save_owner", "done"),
    ]

    chatwoot.emulator.faults.clear()
    await _make_due(runtime)
    assert await drain(runtime) == {"done": 1}
    assert _contacts(chatwoot)[created["client_id"]].name == "Алишер Каримов"


async def test_an_owner_change_reaches_its_users_contacts(
    peers: tuple[Runtime, httpx.AsyncClient], chatwoot: RunningChatwoot
) -> None:
    runtime, api = peers
    owner = (await api.post("/api/clients", json=OWNER)).json()
    user = (await api.post("/api/clients", json=user_of(owner["client_id"]))).json()
    moved = {**OWNER, "client_id": owner["client_id"], "region": "Самарканд", "country": "UZ"}
    assert (await api.post("/api/clients", json=moved)).status_code == 200

    # The user's contact shows the owner's new region (queued with the owner's change).
    await drain(runtime)
    contact = _contacts(chatwoot)[user["client_id"]]
    assert contact.custom_attributes["region"] == "Самарканд"
    assert contact.additional_attributes["country_code"] == "UZ"
    read = (await api.get(f"/api/clients/{user['client_id']}")).json()
    assert read["region"] == "Самарканд"
