"""The 1C:ЦЛ base's own rule: at most three consultations per subscriber per day."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from .support import OneC, error_of

CALLS = "Document_ТелефонныйЗвонок"
DAY = "2024-05-10T"


@pytest.fixture
def subscriber(onec: OneC) -> str:
    key: str = onec.store.put("Catalog_Контрагенты", {"Description": "ООО Ромашка"})["Ref_Key"]
    return key


def consultation(
    subscriber: str, time: str = "10:00:00", day: str = DAY, **extra: Any
) -> dict[str, Any]:
    return {
        "Абонент_Key": subscriber,
        "ДатаКонсультации": f"{day}{time}",
        "ВидОбращения": "ВОчередьНаКонсультацию",
        "КонсультацииИТС": [],
        "ВопросыИОтветы": [],
        **extra,
    }


def book(client: httpx.Client, body: dict[str, Any]) -> httpx.Response:
    return client.post(CALLS, params={"$format": "json"}, json=body)


def book_three(client: httpx.Client, subscriber: str) -> list[str]:
    keys = []
    for hour in ("09", "12", "15"):
        response = book(client, consultation(subscriber, f"{hour}:00:00"))
        assert response.status_code == 201, response.text
        keys.append(response.json()["Ref_Key"])
    return keys


def assert_refused(response: httpx.Response) -> None:
    assert response.status_code == 500
    code, message = error_of(response)
    assert code == "-1"
    assert "лимит" in message
    assert "3" in message


def test_the_fourth_consultation_of_a_day_is_refused(
    onec: OneC, client: httpx.Client, subscriber: str
) -> None:
    book_three(client, subscriber)
    response = book(client, consultation(subscriber, "18:00:00"))
    assert_refused(response)
    assert "ООО Ромашка" in error_of(response)[1]
    assert len(onec.store.all(CALLS)) == 3


def test_a_deletion_mark_frees_a_slot(client: httpx.Client, subscriber: str) -> None:
    keys = book_three(client, subscriber)
    assert client.patch(f"{CALLS}(guid'{keys[0]}')", json={"DeletionMark": True}).status_code == 200
    assert book(client, consultation(subscriber, "18:00:00")).status_code == 201
    # Clearing the mark would make a fourth again.
    assert_refused(client.patch(f"{CALLS}(guid'{keys[0]}')", json={"DeletionMark": False}))


def test_a_deletion_frees_a_slot(client: httpx.Client, subscriber: str) -> None:
    keys = book_three(client, subscriber)
    assert client.delete(f"{CALLS}(guid'{keys[1]}')").status_code == 204
    assert book(client, consultation(subscriber, "18:00:00")).status_code == 201


def test_other_subscribers_and_days_are_independent(
    onec: OneC, client: httpx.Client, subscriber: str
) -> None:
    book_three(client, subscriber)
    other = onec.store.put("Catalog_Контрагенты", {"Description": "ООО Лютик"})["Ref_Key"]
    assert book(client, consultation(other)).status_code == 201
    assert book(client, consultation(subscriber, day="2024-05-11T")).status_code == 201


def test_a_patch_onto_a_full_day_is_refused(client: httpx.Client, subscriber: str) -> None:
    book_three(client, subscriber)
    moved = book(client, consultation(subscriber, day="2024-05-11T")).json()
    url = f"{CALLS}(guid'{moved['Ref_Key']}')"
    assert_refused(client.patch(url, json={"ДатаКонсультации": f"{DAY}20:00:00"}))
    assert client.get(url).json()["ДатаКонсультации"] == "2024-05-11T10:00:00"
    # Moving within its own day is still fine for a document already counted.
    first = client.get(CALLS, params={"$filter": f"ДатаКонсультации eq datetime'{DAY}09:00:00'"})
    key = first.json()["value"][0]["Ref_Key"]
    assert (
        client.patch(
            f"{CALLS}(guid'{key}')", json={"ДатаКонсультации": f"{DAY}21:00:00"}
        ).status_code
        == 200
    )


def test_load_mode_skips_the_check(client: httpx.Client, subscriber: str) -> None:
    book_three(client, subscriber)
    response = client.post(
        CALLS, json=consultation(subscriber, "18:00:00"), headers={"1C_OData-DataLoadMode": "true"}
    )
    assert response.status_code == 201


def test_a_refused_document_burns_no_number(client: httpx.Client, subscriber: str) -> None:
    book_three(client, subscriber)
    assert_refused(book(client, consultation(subscriber, "18:00:00")))
    other = book(client, consultation(subscriber, day="2024-05-11T")).json()
    assert other["Number"] == "ЦЛ00-000004"


def test_documents_without_subscriber_are_not_limited(client: httpx.Client) -> None:
    for _ in range(5):
        assert book(client, consultation("00000000-0000-0000-0000-000000000000")).status_code == 201
    assert book(client, consultation(str(uuid.uuid4()))).status_code == 201
