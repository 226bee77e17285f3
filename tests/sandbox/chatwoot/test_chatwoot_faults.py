"""Fault injection and the request journal through `/__sandbox__/`, as a demo user would."""

from __future__ import annotations

import httpx
import pytest

from .support import APP, PUBLIC, Chatwoot


def test_injected_429_with_retry_after(api: httpx.Client) -> None:
    added = api.post(
        "/__sandbox__/faults",
        json={"path": "/api/v1/accounts/*/contacts", "status": 429, "retry_after": 7, "times": 1},
    )
    assert added.status_code == 201
    limited = api.get(f"{APP}/contacts")
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "7"
    assert limited.json() == {"error": "Too Many Requests"}
    assert api.get(f"{APP}/contacts").status_code == 200  # `times: 1` used it up


def test_dropped_connection(api: httpx.Client) -> None:
    api.post("/__sandbox__/faults", json={"path": f"{PUBLIC}/contacts", "drop": True})
    with pytest.raises(httpx.HTTPError):
        api.post(f"{PUBLIC}/contacts", json={"name": "Alice"})


def test_journal_records_what_the_client_sent(api: httpx.Client, cw: Chatwoot) -> None:
    api.post(f"{PUBLIC}/contacts", json={"name": "Alice"})
    entries = cw.emulator.journal.matching("POST", f"{PUBLIC}/contacts")
    assert [entry.json() for entry in entries] == [{"name": "Alice"}]
    assert entries[0].status == 200
    over_http = api.get("/__sandbox__/requests").json()
    assert over_http[-1]["path"] == f"{PUBLIC}/contacts"


def test_reset_over_http_empties_the_state(api: httpx.Client) -> None:
    api.post(f"{APP}/contacts", json={"name": "Alice", "email": "alice@example.com"})
    assert api.post("/__sandbox__/reset").json() == {"reset": True}
    assert api.get(f"{APP}/contacts").json()["meta"]["count"] == 0
