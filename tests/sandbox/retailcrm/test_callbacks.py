"""RetailCRM calling the integrator: click-to-call and status changes reach a real HTTP receiver
as GET requests with the query RetailCRM sends (PROTOCOLS.md 3.5)."""

from __future__ import annotations

import socket

import httpx
import pytest

from switchboard.sandbox.retailcrm.callbacks import CallbackRefused

from .support import CLIENT_ID, MODULE_CODE, Crm, Receiver, edit_module, telephony_module


def test_make_call_reaches_the_integrator(telephony: Crm, receiver: Receiver) -> None:
    with telephony.http() as control:
        response = control.post(
            "/__sandbox__/make-call", json={"userId": 1, "phone": "+79161234567"}
        )

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == 200
    assert body["body"] == "OK"
    [received] = receiver.requests
    assert received.path == "/retailcrm/make-call"
    assert received.query == {
        "clientId": CLIENT_ID,
        "code": "101",
        "phone": "+79161234567",
        "userId": "1",
    }


def test_make_call_with_code_and_external_phone(telephony: Crm, receiver: Receiver) -> None:
    with telephony.http() as control:
        explicit = control.post(
            "/__sandbox__/make-call",
            json={"userId": 2, "phone": "79031112233", "code": "555", "externalPhone": "+7495"},
        )
        by_site = control.post(
            "/__sandbox__/make-call", json={"userId": 2, "phone": "79031112233", "site": "shop"}
        )

    assert explicit.status_code == by_site.status_code == 200
    first, second = receiver.requests
    assert first.query["code"] == "555"
    assert first.query["externalPhone"] == "+7495"
    assert second.query["code"] == "102"
    assert second.query["externalPhone"] == "+74950000000"


def test_integrator_refusal_is_reported(telephony: Crm, receiver: Receiver) -> None:
    receiver.answer_next(400)

    with telephony.http() as control:
        response = control.post("/__sandbox__/make-call", json={"userId": 1, "phone": "+7916"})

    assert response.status_code == 200
    assert response.json()["status"] == 400
    assert response.json()["body"] == "refused"
    [sent] = telephony.emulator.store.callbacks()
    assert sent.status == 400


def test_unreachable_integrator_is_502(crm: Crm, http: httpx.Client) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}"
    crm.emulator.add_user("Анна", "Иванова", "anna@shop.test")
    assert edit_module(http, telephony_module(closed)).status_code == 201

    response = http.post("/__sandbox__/make-call", json={"userId": 1, "phone": "+7916"})

    assert response.status_code == 502
    assert response.json()["error"].startswith("ConnectError")
    assert response.json()["query"]["clientId"] == CLIENT_ID


def test_make_call_refusals(crm: Crm, http: httpx.Client) -> None:
    crm.emulator.add_user("Анна", "Иванова", "anna@shop.test")
    no_module = http.post("/__sandbox__/make-call", json={"userId": 1, "phone": "+7916"})
    edit_module(http, telephony_module())
    no_user = http.post("/__sandbox__/make-call", json={"userId": 9, "phone": "+7916"})
    no_phone = http.post("/__sandbox__/make-call", json={"userId": 1})
    wrong_verb = http.get("/__sandbox__/make-call")

    assert no_module.status_code == 409
    assert no_user.status_code == 404
    assert no_phone.status_code == 400
    assert wrong_verb.status_code == 405
    assert crm.emulator.store.callbacks() == []


def test_user_status_change_is_stored_and_sent(telephony: Crm, receiver: Receiver) -> None:
    with telephony.http() as control:
        response = control.post("/__sandbox__/user-status", json={"userId": 2, "status": "break"})
        listed = control.get("/__sandbox__/callbacks")

    assert response.status_code == 200
    assert telephony.emulator.store.user(2)["status"] == "break"  # type: ignore[index]
    [received] = receiver.requests
    assert received.path == "/retailcrm/status"
    assert received.query == {
        "clientId": CLIENT_ID,
        "userId": "2",
        "code": "102",
        "status": "break",
    }
    assert [item["kind"] for item in listed.json()] == ["changeUserStatus"]


def test_user_status_without_a_status_url_only_stores(crm: Crm, http: httpx.Client) -> None:
    crm.emulator.add_user("Анна", "Иванова", "anna@shop.test")
    module = telephony_module()
    del module["integrations"]["telephony"]["changeUserStatusUrl"]
    edit_module(http, module)

    response = http.post("/__sandbox__/user-status", json={"userId": 1, "status": "dinner"})
    bad = http.post("/__sandbox__/user-status", json={"userId": 1, "status": "asleep"})

    assert response.status_code == 200
    assert response.json()["sent"] is False
    assert bad.status_code == 400
    assert crm.emulator.store.user(1)["status"] == "dinner"  # type: ignore[index]


def test_python_api_make_call(telephony: Crm, receiver: Receiver) -> None:
    sent = telephony.emulator.make_call(1, "+79161234567", module_code=MODULE_CODE)

    assert sent.status == 200
    assert receiver.requests[0].query["userId"] == "1"
    with pytest.raises(CallbackRefused) as refused:
        telephony.emulator.make_call(1, "+7916", module_code="not-registered")
    assert refused.value.status == 409


def test_shared_sandbox_controls_still_answer(crm: Crm, http: httpx.Client) -> None:
    assert http.get("/__sandbox__/faults").json() == []
    assert http.get("/__sandbox__/unknown").status_code == 404
