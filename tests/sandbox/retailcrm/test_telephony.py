"""`telephony/call/event`, `telephony/calls/upload` and `telephony/manager` over plain HTTP:
the form encoding, validation, the telephony switch, duplicates, the manager lookup."""

from __future__ import annotations

import threading
from typing import Any

import httpx
import orjson
import pytest

from .support import API, CLIENT_ID, MODULE_CODE, Crm, edit_module, telephony_module

EVENT_URL = f"{API}/telephony/call/event"
UPLOAD_URL = f"{API}/telephony/calls/upload"


def post_event(http: httpx.Client, event: Any, **form: str) -> httpx.Response:
    return http.post(EVENT_URL, data={"event": orjson.dumps(event).decode(), **form})


def post_calls(http: httpx.Client, calls: Any, **form: str) -> httpx.Response:
    return http.post(UPLOAD_URL, data={"calls": orjson.dumps(calls).decode(), **form})


def a_call(**changes: Any) -> dict[str, Any]:
    call = {
        "date": "2026-03-01 10:15:00",
        "type": "out",
        "phone": "79161234567",
        "code": "101",
        "result": "no answer",
        "duration": 0,
        "durationWaiting": 12,
        "externalId": "pbx-1",
    }
    call.update(changes)
    return call


# -- call/event -------------------------------------------------------------------------------


def test_event_with_client_id_is_stored_with_it(telephony: Crm, http: httpx.Client) -> None:
    event = {"phone": "+79161234567", "type": "hangup", "hangupStatus": "no answered"}

    response = post_event(http, event, clientId=CLIENT_ID)

    assert response.status_code == 200
    assert response.json() == {"success": True}
    [received] = telephony.emulator.store.call_events()
    assert received.event == event
    assert received.client_id == CLIENT_ID


def test_event_needs_telephony_enabled(crm: Crm, http: httpx.Client) -> None:
    response = post_event(http, {"phone": "+79161234567", "type": "in"})

    assert response.status_code == 400
    assert response.json() == {"success": False, "errorMsg": "Telephony not enabled"}
    assert crm.emulator.store.call_events() == []


def test_deactivated_module_turns_telephony_off(telephony: Crm, http: httpx.Client) -> None:
    off = edit_module(http, {"code": MODULE_CODE, "active": False})
    response = post_event(http, {"phone": "+79161234567", "type": "in"})

    assert off.status_code == 200
    assert response.status_code == 400
    assert response.json()["errorMsg"] == "Telephony not enabled"


def test_event_for_another_client_id_is_not_enabled(telephony: Crm, http: httpx.Client) -> None:
    response = post_event(http, {"phone": "+79161234567", "type": "in"}, clientId="someone-else")

    assert response.status_code == 400
    assert response.json()["errorMsg"] == "Telephony not enabled"


def test_missing_event_parameter(telephony: Crm, http: httpx.Client) -> None:
    response = http.post(EVENT_URL, data={"clientId": CLIENT_ID})

    assert response.status_code == 400
    assert response.json() == {"success": False, "errorMsg": "Parameter 'event' is missing"}


def test_event_that_is_not_json(telephony: Crm, http: httpx.Client) -> None:
    response = http.post(EVENT_URL, data={"event": "{phone: +7916"})

    assert response.status_code == 400
    assert response.json()["errorMsg"] == "Errors in the entity format"
    assert "event" in response.json()["errors"]


def test_event_sent_as_form_array_is_a_non_scalar_value(telephony: Crm, http: httpx.Client) -> None:
    response = http.post(EVENT_URL, data={"event[phone]": "+7916", "event[type]": "in"})

    assert response.status_code == 400
    assert response.json()["errorMsg"] == 'Input value "event" contains a non-scalar value.'


@pytest.mark.parametrize(
    ("event", "field"),
    [
        ({"type": "in"}, "phone"),
        ({"phone": "+7916", "type": "ringing"}, "type"),
        ({"phone": "+7916"}, "type"),
        ({"phone": "+7916", "type": "hangup", "hangupStatus": "no answer"}, "hangupStatus"),
        ({"phone": "+7916", "type": "in", "codes": "101"}, "codes"),
        ({"phone": "+7916", "type": "in", "userIds": ["one"]}, "userIds[0]"),
    ],
)
def test_invalid_event_fields(
    telephony: Crm, http: httpx.Client, event: dict[str, Any], field: str
) -> None:
    response = post_event(http, event)

    assert response.status_code == 400
    body = response.json()
    assert body["success"] is False
    assert body["errorMsg"] == "Errors in the entity format"
    assert field in body["errors"]
    assert telephony.emulator.store.call_events() == []


def test_numeric_codes_are_read_as_strings(telephony: Crm, http: httpx.Client) -> None:
    response = post_event(http, {"phone": "+79161234567", "type": "in", "codes": [101, 555]})

    assert response.json() == {"success": True, "notExistCodes": ["555"]}
    assert telephony.emulator.store.call_events()[0].event["codes"] == ["101", "555"]


def test_concurrent_events_while_the_store_is_read(telephony: Crm) -> None:
    """Writers on the server thread, a reader on this one: every event lands once, whole."""

    def send_events(worker: int) -> None:
        with telephony.http() as client:
            for index in range(25):
                phone = f"+7916{worker}{index:03d}"
                assert post_event(client, {"phone": phone, "type": "in"}).status_code == 200

    threads = [threading.Thread(target=send_events, args=(worker,)) for worker in range(4)]
    for thread in threads:
        thread.start()
    seen = 0
    while any(thread.is_alive() for thread in threads):
        events = telephony.emulator.store.call_events()
        assert len(events) >= seen
        assert all(event.event["type"] == "in" for event in events)
        seen = len(events)
    for thread in threads:
        thread.join()

    events = telephony.emulator.store.call_events()
    assert len(events) == 100
    assert len({event.event["phone"] for event in events}) == 100


# -- calls/upload -----------------------------------------------------------------------------


def test_upload_with_client_id_and_duplicates_in_one_batch(
    telephony: Crm, http: httpx.Client
) -> None:
    response = post_calls(http, [a_call(), a_call()], clientId=CLIENT_ID)

    assert response.json() == {
        "success": True,
        "processedCallsCount": 1,
        "duplicateCalls": ["pbx-1"],
    }
    [stored] = telephony.emulator.store.uploaded_calls()
    assert stored.client_id == CLIENT_ID
    assert stored.call == a_call()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"date": "2026-03-01T10:15:00"}, "calls[0].date"),
        ({"date": None}, "calls[0].date"),
        ({"type": "hangup"}, "calls[0].type"),
        ({"phone": ""}, "calls[0].phone"),
        ({"code": None}, "calls[0].code"),
        ({"result": "no answered"}, "calls[0].result"),
        ({"duration": -1}, "calls[0].duration"),
        ({"recordUrl": "records/1.mp3"}, "calls[0].recordUrl"),
    ],
)
def test_invalid_call_rejects_the_whole_upload(
    telephony: Crm, http: httpx.Client, changes: dict[str, Any], field: str
) -> None:
    response = post_calls(http, [a_call(externalId="ok"), a_call(**changes)])

    assert response.status_code == 400
    body = response.json()
    assert body["errorMsg"] == "Errors in the entity format"
    assert field.replace("[0]", "[1]") in body["errors"]
    assert telephony.emulator.store.uploaded_calls() == []


def test_more_than_fifty_calls_are_refused(telephony: Crm, http: httpx.Client) -> None:
    calls = [a_call(externalId=f"pbx-{index}") for index in range(51)]

    too_many = post_calls(http, calls)
    fifty = post_calls(http, calls[:50])

    assert too_many.status_code == 400
    assert "calls" in too_many.json()["errors"]
    assert fifty.json() == {"success": True, "processedCallsCount": 50}


def test_calls_must_be_a_json_array(telephony: Crm, http: httpx.Client) -> None:
    missing = http.post(UPLOAD_URL, data={})
    an_object = post_calls(http, a_call())

    assert missing.json() == {"success": False, "errorMsg": "Parameter 'calls' is missing"}
    assert an_object.status_code == 400
    assert an_object.json()["errors"] == {"calls": "This value is not valid."}


def test_upload_needs_telephony_enabled(crm: Crm, http: httpx.Client) -> None:
    response = post_calls(http, [a_call()])

    assert response.json() == {"success": False, "errorMsg": "Telephony not enabled"}


# -- telephony/manager ------------------------------------------------------------------------


def test_manager_lookup_honours_status_unless_ignored(telephony: Crm, http: httpx.Client) -> None:
    telephony.emulator.add_customer("Пётр", phones=["+79161234567"], manager_id=1)
    telephony.emulator.store.set_user_status(1, "break")

    strict = http.get(f"{API}/telephony/manager", params={"phone": "+79161234567"})
    ignoring = http.get(
        f"{API}/telephony/manager", params={"phone": "+79161234567", "ignoreStatus": "1"}
    )

    assert strict.json() == {"success": True}
    assert ignoring.json()["manager"]["code"] == "101"
    assert "customer" not in ignoring.json()  # only with details


def test_manager_lookup_needs_a_phone(telephony: Crm, http: httpx.Client) -> None:
    response = http.get(f"{API}/telephony/manager")

    assert response.status_code == 400
    assert response.json() == {"success": False, "errorMsg": "Parameter 'phone' is missing"}


def test_manager_without_a_code_in_the_module(crm: Crm, http: httpx.Client) -> None:
    manager = crm.emulator.add_user("Анна", "Иванова", "anna@shop.test")
    crm.emulator.add_customer("Пётр", phones=["+79161234567"], manager_id=manager["id"])
    assert edit_module(http, telephony_module()).status_code == 201

    response = http.get(
        f"{API}/telephony/manager", params={"phone": "79161234567", "details": "true"}
    )

    assert response.json()["manager"] == {
        "id": manager["id"],
        "firstName": "Анна",
        "lastName": "Иванова",
        "email": "anna@shop.test",
    }
    assert response.json()["customer"]["firstName"] == "Пётр"
