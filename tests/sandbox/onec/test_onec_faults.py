"""Fault injection and the request journal through the wrapped app, over HTTP."""

from __future__ import annotations

import httpx
import pytest

from .support import OneC, error_of


def test_injected_503_with_retry_after(onec: OneC, client: httpx.Client) -> None:
    control = httpx.post(
        f"{onec.server.url}/__sandbox__/faults",
        json={"path": "*/Catalog_Контрагенты", "status": 503, "retry_after": 7, "times": 1},
    )
    assert control.status_code == 201
    failed = client.get("Catalog_Контрагенты")
    assert failed.status_code == 503
    assert failed.headers["Retry-After"] == "7"
    assert "odata.error" in failed.json()
    assert error_of(failed)[0] != "-1"  # a server in trouble, not a business refusal
    assert client.get("Catalog_Контрагенты").status_code == 200  # used up after one hit
    assert client.get("Catalog_Пользователи").status_code == 200


def test_dropped_connection(onec: OneC, client: httpx.Client) -> None:
    httpx.post(
        f"{onec.server.url}/__sandbox__/faults",
        json={"path": "*/Document_*", "method": "POST", "drop": True, "times": 1},
    )
    with pytest.raises(httpx.TransportError):
        client.post("Document_ТелефонныйЗвонок", json={})
    assert onec.store.all("Document_ТелефонныйЗвонок") == []
    assert client.post("Document_ТелефонныйЗвонок", json={}).status_code == 201


def test_journal_records_what_was_sent(onec: OneC, client: httpx.Client) -> None:
    client.post("Catalog_Контрагенты", json={"Description": "ООО"})
    [entry] = onec.emulator.journal.matching("POST", "*/Catalog_Контрагенты")
    assert entry.json() == {"Description": "ООО"}
    assert entry.status == 201
    listed = httpx.get(f"{onec.server.url}/__sandbox__/requests").json()
    assert listed[-1]["path"].endswith("/Catalog_Контрагенты")


def test_sandbox_reset_empties_the_base(onec: OneC, client: httpx.Client) -> None:
    client.post("Catalog_Контрагенты", json={"Description": "ООО"})
    assert httpx.post(f"{onec.server.url}/__sandbox__/reset").status_code == 200
    assert onec.store.all("Catalog_Контрагенты") == []
