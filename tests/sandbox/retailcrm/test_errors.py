"""Auth, routing misses, the rate limit and injected faults: always RetailCRM's JSON envelope."""

from __future__ import annotations

import time

import httpx
import pytest

from switchboard.sandbox.faults import Fault

from .support import API, API_KEY, Crm


def test_missing_key_is_401_with_the_envelope(crm: Crm) -> None:
    with crm.http(api_key=None) as anonymous:
        response = anonymous.get(f"{API}/users")

    assert response.status_code == 401
    assert response.json() == {"success": False, "errorMsg": '"apiKey" is missing.'}


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_wrong_key_is_403(crm: Crm, method: str) -> None:
    with crm.http(api_key="wrong") as client:
        response = client.request(
            method, f"{API}/users" if method == "GET" else f"{API}/users/1/status"
        )

    assert response.status_code == 403
    assert response.json() == {"success": False, "errorMsg": 'Wrong "apiKey" value.'}


def test_key_as_get_parameter_and_as_post_parameter(crm: Crm) -> None:
    user = crm.emulator.add_user("Анна", "Иванова", "anna@shop.test")
    with crm.http(api_key=None) as client:
        by_query = client.get(f"{API}/users/{user['id']}", params={"apiKey": API_KEY})
        by_form = client.post(
            f"{API}/users/{user['id']}/status", data={"apiKey": API_KEY, "status": "busy"}
        )

    assert by_query.status_code == 200
    assert by_query.json()["user"]["id"] == user["id"]
    assert by_form.status_code == 200
    assert crm.emulator.store.user(user["id"])["status"] == "busy"  # type: ignore[index]


def test_unknown_method_and_wrong_http_method(http: httpx.Client) -> None:
    unknown = http.get(f"{API}/orders/fly")
    wrong_verb = http.get(f"{API}/telephony/call/event")

    assert unknown.status_code == 404
    assert unknown.json() == {"success": False, "errorMsg": "API method not found"}
    assert wrong_verb.status_code == 405
    assert wrong_verb.json() == {"success": False, "errorMsg": "Method Not Allowed"}


def test_rate_limit_answers_503_per_key_and_recovers(crm: Crm, http: httpx.Client) -> None:
    crm.emulator.limiter.per_second = 3

    statuses = [http.get(f"{API}/users").status_code for _ in range(5)]
    refused = http.get(f"{API}/users")

    assert statuses[:3] == [200, 200, 200]
    assert statuses[3:] == [503, 503]
    assert refused.json() == {"success": False, "errorMsg": "Rate limit exceeded"}
    # The window slides: a second later the key has its budget again.
    time.sleep(1.05)
    assert http.get(f"{API}/users").status_code == 200


def test_telephony_methods_have_their_own_budget(crm: Crm, http: httpx.Client) -> None:
    crm.emulator.limiter.per_second = 1
    crm.emulator.limiter.telephony_per_second = 2

    general = [http.get(f"{API}/users").status_code for _ in range(2)]
    telephony = [
        http.get(f"{API}/telephony/manager", params={"phone": "1"}).status_code for _ in range(3)
    ]

    assert general == [200, 503]
    # 400: telephony is not enabled, but the request passed the rate limit; then refused.
    assert telephony == [400, 400, 503]


def test_rate_limit_zero_is_off(crm: Crm, http: httpx.Client) -> None:
    assert {http.get(f"{API}/users").status_code for _ in range(30)} == {200}


def test_injected_fault_keeps_the_envelope_and_is_journaled(crm: Crm, http: httpx.Client) -> None:
    crm.emulator.faults.add(Fault(path=f"{API}/telephony/*", status=503, times=1))

    failed = http.post(f"{API}/telephony/call/event", data={"event": "{}"})
    after = http.post(f"{API}/telephony/call/event", data={"event": "{}"})

    assert failed.status_code == 503
    assert failed.json() == {"success": False, "errorMsg": "Rate limit exceeded"}
    assert after.status_code == 400  # the fault was used up; the real answer comes back
    entries = crm.emulator.journal.matching("POST", f"{API}/telephony/call/event")
    assert [entry.status for entry in entries] == [503, 400]
    assert entries[0].headers["x-api-key"] == API_KEY


def test_sandbox_reset_over_http_empties_the_account(crm: Crm, http: httpx.Client) -> None:
    crm.emulator.add_user("Анна", "Иванова", "anna@shop.test")

    response = http.post("/__sandbox__/reset")

    assert response.status_code == 200
    assert crm.emulator.store.users() == []
