"""`/api/clients/*` through the HTTP API and PostgreSQL: matching, the owner/user rules, the
answers, and that a refused request writes nothing."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from typing import Any

import httpx
import pytest

from switchboard.consultations.models import Client
from switchboard.runtime import Runtime
from tests.consultations.clients.support import (
    OTHER_OWNER,
    OWNER,
    clients,
    outbox,
    snapshot,
    user_of,
)


async def _post(client: httpx.AsyncClient, body: dict[str, Any]) -> httpx.Response:
    return await client.post("/api/clients", json=body)


async def _owner(client: httpx.AsyncClient, body: dict[str, Any] = OWNER) -> dict[str, Any]:
    response = await _post(client, body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


# --- creating and finding ------------------------------------------------------------------------


async def test_an_owner_is_created_with_normalised_data_and_a_computed_hash(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    body = {**OWNER, "company_name": "Clobus Clobus ООО Ромашка 100234 (302345678) 1 (2)"}
    created = await _owner(client, body)

    assert created["is_parent"] is True
    assert created["parent_id"] is None
    # The 1C mask is removed, however often it was applied.
    assert created["company_name"] == "ООО Ромашка"
    assert created["phone_number"] == "+998901234567"
    assert created["source"] == "SITE"
    parts = sorted(["email:buh@romashka.uz", "phone:998901234567", "inn:302345678"])
    expected_hash = hashlib.md5("|".join(parts).encode(), usedforsecurity=False).hexdigest()
    assert created["client_id_hash"] == expected_hash
    [row] = await clients(runtime)
    assert (row.org_inn, row.code_abonent, row.company_name) == (
        "302345678",
        "100234",
        "ООО Ромашка",
    )


async def test_the_same_owner_is_found_again_by_each_identity(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    created = await _owner(client)
    client_id = created["client_id"]

    by_id = await _post(client, {**OWNER, "client_id": client_id, "name": "Алишер К."})
    assert by_id.status_code == 200
    assert by_id.json()["name"] == "Алишер К."
    by_given_hash = await _post(
        client, {"client_id_hash": created["client_id_hash"], "is_parent": True, **_identity()}
    )
    by_computed_hash = await _post(client, OWNER)
    # Another e-mail and phone: an owner is found by its subscriber code …
    by_code = await _post(client, {**OWNER, "email": "new@romashka.uz", "phone_number": None})
    # … and the code may be sent as subscriberId (with leading zeros: 1C keeps a number).
    alias = {k: v for k, v in OWNER.items() if k != "code_abonent"}
    by_alias = await _post(client, {**alias, "email": "x@y.uz", "subscriberId": "000100234"})

    for answer in (by_given_hash, by_computed_hash, by_code, by_alias):
        assert answer.status_code == 200, answer.text
        assert answer.json()["client_id"] == client_id
    [row] = await clients(runtime)
    assert row.email == "x@y.uz"


def _identity() -> dict[str, str]:
    return {"org_inn": OWNER["org_inn"], "code_abonent": OWNER["code_abonent"]}


async def test_an_owner_known_by_inn_without_a_code_takes_the_code(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    # An owner written before it had a subscriber code (e.g. from 1C).
    async with runtime.database.transaction() as session:
        session.add(Client(client_id=uuid.uuid4(), is_parent=True, org_inn="302345678"))
    answer = await _post(client, OWNER)
    assert answer.status_code == 200
    [row] = await clients(runtime)
    assert row.code_abonent == "100234"


async def test_a_user_inherits_the_owner_and_a_second_user_works(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    owner = await _owner(client)
    first = await _post(client, user_of(owner["client_id"], 1))
    # The same INN and code as the owner may be sent; they are the owner's anyway.
    second = await _post(client, user_of(owner["client_id"], 2, **_identity()))
    assert (first.status_code, second.status_code) == (201, 201)

    for answer in (first.json(), second.json()):
        assert answer["is_parent"] is False
        assert answer["parent_id"] == owner["client_id"]
        for field in ("company_name", "org_inn", "code_abonent", "region", "city", "country"):
            assert answer[field] == owner[field], field
    assert first.json()["client_id"] != second.json()["client_id"]
    # A user is found again by its own data, not as its owner.
    again = await _post(client, user_of(owner["client_id"], 2))
    assert again.status_code == 200
    assert again.json()["client_id"] == second.json()["client_id"]
    rows = await clients(runtime)
    assert len(rows) == 3
    users = [row for row in rows if not row.is_parent]
    # Users keep no copy of what they inherit: the owner is the one source.
    assert {(row.org_inn, row.code_abonent, row.company_name) for row in users} == {
        (None, None, None)
    }

    read = await client.get(f"/api/clients/{first.json()['client_id']}")
    assert read.status_code == 200
    assert read.json()["org_inn"] == "302345678"
    assert read.json()["parent_id"] == owner["client_id"]


async def test_a_known_client_named_by_id_alone_keeps_its_role_and_identity(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    owner = await _owner(client)
    user = (await _post(client, user_of(owner["client_id"]))).json()
    for known in (owner, user):
        again = await _post(client, {"client_id": known["client_id"]})
        assert again.status_code == 200, again.text
        assert again.json() == known
    by_hash = await _post(client, {"client_id_hash": user["client_id_hash"], "name": "Дилноза"})
    assert by_hash.status_code == 200
    assert (by_hash.json()["parent_id"], by_hash.json()["name"]) == (owner["client_id"], "Дилноза")
    assert len(await clients(runtime)) == 2


async def test_a_user_may_become_an_owner(client: httpx.AsyncClient) -> None:
    owner = await _owner(client)
    user = (await _post(client, user_of(owner["client_id"]))).json()
    promoted = await _post(
        client, {**OTHER_OWNER, "client_id": user["client_id"], "is_parent": True}
    )
    assert promoted.status_code == 200, promoted.text
    assert promoted.json()["is_parent"] is True
    assert promoted.json()["org_inn"] == OTHER_OWNER["org_inn"]


async def test_concurrent_identical_requests_make_one_client(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    answers = await asyncio.gather(*(_post(client, OWNER) for _ in range(5)))
    assert sorted(answer.status_code for answer in answers) == [200, 200, 200, 200, 201]
    assert len({answer.json()["client_id"] for answer in answers}) == 1
    assert len(await clients(runtime)) == 1


# --- refusals: clear 4xx and nothing written ----------------------------------------------------


async def _refused(
    client: httpx.AsyncClient, runtime: Runtime, body: dict[str, Any], status: int, error: str
) -> dict[str, Any]:
    before = snapshot(await clients(runtime)), [task.id for task in await outbox(runtime)]
    answer = await _post(client, body)
    assert answer.status_code == status, answer.text
    assert answer.json()["error"] == error
    after = snapshot(await clients(runtime)), [task.id for task in await outbox(runtime)]
    assert after == before
    result: dict[str, Any] = answer.json()
    return result


async def test_role_and_parent_refusals(client: httpx.AsyncClient, runtime: Runtime) -> None:
    owner = await _owner(client)
    user = (await _post(client, user_of(owner["client_id"]))).json()
    missing = str(uuid.uuid4())

    both = await _refused(
        client, runtime, {**OWNER, "parent_id": owner["client_id"]}, 400, "owner_with_parent"
    )
    assert "parent_id" in both["message"]
    await _refused(
        client,
        runtime,
        {**user_of(missing), "parent_id": None, "is_parent": False},
        400,
        "user_without_parent",
    )
    await _refused(client, runtime, user_of(missing), 404, "owner_not_found")
    await _refused(client, runtime, user_of(user["client_id"], 3), 400, "parent_not_owner")
    await _refused(
        client,
        runtime,
        user_of(owner["client_id"], 3, org_inn="111222333"),
        400,
        "inn_differs_from_owner",
    )
    await _refused(
        client,
        runtime,
        user_of(owner["client_id"], 3, code_abonent="5"),
        400,
        "code_differs_from_owner",
    )


async def test_owner_identity_refusals(client: httpx.AsyncClient, runtime: Runtime) -> None:
    no_inn = {k: v for k, v in OWNER.items() if k != "org_inn"}
    no_code = {k: v for k, v in OWNER.items() if k != "code_abonent"}
    answer = await _refused(client, runtime, no_inn, 400, "inn_required")
    assert answer["message"].startswith("Для владельца абонента укажите ИНН")
    await _refused(client, runtime, no_code, 400, "code_abonent_required")

    bad_inn = await client.post("/api/clients", json={**OWNER, "org_inn": "12345"})
    assert bad_inn.status_code == 422
    [detail] = bad_inn.json()["details"]
    assert detail["field"] == "org_inn"
    assert detail["message"].startswith("ИНН должен состоять из 9 цифр")
    nul = await client.post("/api/clients", json={**OWNER, "name": "a\x00b"})
    assert nul.status_code == 422
    assert nul.json()["details"][0]["field"] == "name"
    assert await clients(runtime) == []


async def test_uniqueness_of_an_owners_inn_and_code_is_409(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    await _owner(client)
    other = await _owner(client, OTHER_OWNER)

    # A new owner with a known INN but another code.
    taken_inn = {**OWNER, "email": "a@b.uz", "phone_number": None, "code_abonent": "999"}
    answer = await _refused(client, runtime, taken_inn, 409, "inn_taken")
    assert answer["message"] == "Владелец с таким ИНН уже зарегистрирован с другим кодом абонента."
    # A known owner taking another owner's code or INN.
    await _refused(
        client,
        runtime,
        {**OTHER_OWNER, "client_id": other["client_id"], "code_abonent": "100234"},
        409,
        "code_abonent_taken",
    )
    await _refused(
        client,
        runtime,
        {**OTHER_OWNER, "client_id": other["client_id"], "org_inn": "302345678"},
        409,
        "inn_taken",
    )


async def test_an_owner_cannot_become_a_user_nor_a_user_change_inn_or_company(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    owner = await _owner(client)
    other = await _owner(client, OTHER_OWNER)
    user = (await _post(client, user_of(owner["client_id"]))).json()

    await _refused(
        client,
        runtime,
        {"client_id": other["client_id"], "parent_id": owner["client_id"]},
        403,
        "owner_cannot_become_user",
    )
    await _refused(
        client,
        runtime,
        {**user_of(owner["client_id"]), "company_name": "Другая фирма"},
        403,
        "user_company_change",
    )
    await _refused(
        client,
        runtime,
        {"client_id": user["client_id"], "parent_id": other["client_id"]},
        403,
        "user_inn_change",
    )


async def test_a_telegram_client_without_a_subscription_may_join_an_owner(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    owner = await _owner(client)
    provisional = uuid.uuid4()
    async with runtime.database.transaction() as session:
        session.add(Client(client_id=provisional, is_parent=True, source="TELEGRAM", name="Тимур"))
    joined = await _post(client, {"client_id": str(provisional), "parent_id": owner["client_id"]})
    assert joined.status_code == 200, joined.text
    assert joined.json()["parent_id"] == owner["client_id"]
    assert joined.json()["org_inn"] == OWNER["org_inn"]


async def test_unknown_fields_are_refused(client: httpx.AsyncClient) -> None:
    answer = await client.post("/api/clients", json={**OWNER, "inn": "302345678"})
    assert answer.status_code == 422
    assert answer.json()["details"][0]["field"] == "inn"


# --- reading -------------------------------------------------------------------------------------


async def test_get_by_id_and_hash(client: httpx.AsyncClient) -> None:
    owner = await _owner(client)
    assert (await client.get(f"/api/clients/{owner['client_id']}")).json() == owner
    by_hash = await client.get(f"/api/clients/by-hash/{owner['client_id_hash']}")
    assert by_hash.json() == owner

    bad = await client.get("/api/clients/not-a-guid")
    assert bad.status_code == 422
    assert bad.json()["details"][0]["field"] == "client_id"
    missing = await client.get(f"/api/clients/{uuid.uuid4()}")
    assert missing.status_code == 404
    assert missing.json()["message"] == "Клиент не найден."
    assert (await client.get("/api/clients/by-hash/nope")).status_code == 404
    assert (await client.get("/api/clients/by-hash/a%20b")).status_code == 422


async def test_by_subscriber_finds_the_owner_even_through_a_user(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    owner = await _owner(client)
    found = await client.get("/api/clients/by-subscriber/100234")
    assert found.status_code == 200
    assert found.json()["client_id"] == owner["client_id"]
    assert (await client.get("/api/clients/by-subscriber/00100234")).json() == found.json()

    # Old data: only a user row carries a code; its owner is the answer.
    other = await _owner(client, OTHER_OWNER)
    async with runtime.database.transaction() as session:
        session.add(
            Client(
                client_id=uuid.uuid4(),
                is_parent=False,
                parent_id=uuid.UUID(other["client_id"]),
                code_abonent="555",
            )
        )
    through_user = await client.get("/api/clients/by-subscriber/555")
    assert through_user.json()["client_id"] == other["client_id"]

    assert (await client.get("/api/clients/by-subscriber/777")).status_code == 404
    assert (await client.get("/api/clients/by-subscriber/12ab")).status_code == 422


@pytest.mark.parametrize("accept", ["uz", "en"])
async def test_messages_follow_the_callers_language(client: httpx.AsyncClient, accept: str) -> None:
    answer = await client.get(f"/api/clients/{uuid.uuid4()}", headers={"Accept-Language": accept})
    assert answer.json()["message"] == {"uz": "Mijoz topilmadi.", "en": "Client not found."}[accept]


async def test_the_api_needs_the_front_secret(runtime_factory: Any, client_factory: Any) -> None:
    runtime = await runtime_factory(FRONT_SECRET="s3cret")
    api: httpx.AsyncClient = await client_factory(runtime)
    assert (await api.post("/api/clients", json=OWNER)).status_code == 401
    assert await clients(runtime) == []
    ok = await api.post("/api/clients", json=OWNER, headers={"X-Front-Secret": "s3cret"})
    assert ok.status_code == 201
