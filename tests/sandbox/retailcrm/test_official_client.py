"""The official RetailCRM Python client (v5.3), unchanged, against the emulator: every method the
telephony integration uses, checked against what the emulator then holds."""

from __future__ import annotations

from .support import CLIENT_ID, MODULE_CODE, Crm, Receiver, telephony_module


def test_integration_module_edit_registers_and_reads_back(crm: Crm, receiver: Receiver) -> None:
    client = crm.official()
    anna = crm.emulator.add_user("Анна", "Иванова", "anna@shop.test")
    module = telephony_module(receiver.url)
    module["integrations"]["telephony"]["additionalCodes"] = [{"userId": anna["id"], "code": "101"}]

    created = client.integration_module_edit(module)
    assert created.is_successful()
    assert created.get_status_code() == 201
    assert created.get_response() == {"success": True, "info": {}}

    stored = crm.emulator.store.module(MODULE_CODE)
    assert stored is not None
    assert stored["clientId"] == CLIENT_ID
    assert stored["integrations"]["telephony"]["additionalCodes"] == [
        {"userId": anna["id"], "code": "101"}
    ]

    read = client.integration_module(MODULE_CODE)
    assert read.is_successful()
    assert read.get_response()["integrationModule"] == stored

    updated = client.integration_module_edit({**module, "name": "Renamed"})
    assert updated.get_status_code() == 200
    assert crm.emulator.store.module(MODULE_CODE)["name"] == "Renamed"  # type: ignore[index]


def test_call_event_is_stored_with_its_fields(telephony: Crm) -> None:
    client = telephony.official()
    event = {
        "phone": "+79161234567",
        "type": "in",
        "codes": ["101"],
        "userIds": [1],
        "callExternalId": "pbx-1",
        "externalPhone": "+74950000000",
        "site": "shop",
    }

    response = client.telephony_call_event(event)

    assert response.is_successful()
    assert response.get_response() == {"success": True}
    [received] = telephony.emulator.store.call_events()
    assert received.event == event
    assert received.module_code == MODULE_CODE
    assert received.client_id is None  # the official client sends no clientId
    assert received.received_at.tzinfo is not None


def test_call_event_names_unknown_codes_and_users(telephony: Crm) -> None:
    response = telephony.official().telephony_call_event(
        {"phone": "+79161234567", "type": "in", "codes": ["101", "999"], "userIds": [2, 77]}
    )

    assert response.is_successful()
    assert response.get_response() == {
        "success": True,
        "notExistCodes": ["999"],
        "notExistUsers": [77],
    }
    assert len(telephony.emulator.store.call_events()) == 1


def test_calls_upload_stores_calls_and_reports_duplicates(telephony: Crm) -> None:
    client = telephony.official()
    call = {
        "date": "2026-03-01 10:15:00",
        "type": "in",
        "phone": "79161234567",
        "userId": 1,
        "result": "answered",
        "duration": 42,
        "externalId": "pbx-1",
        "recordUrl": "https://pbx.test/records/pbx-1.mp3",
    }

    first = client.telephony_calls_upload([call, {**call, "externalId": "pbx-2", "code": "102"}])
    again = client.telephony_calls_upload([call])

    assert first.get_response() == {"success": True, "processedCallsCount": 2}
    assert again.is_successful()
    assert again.get_response() == {
        "success": True,
        "processedCallsCount": 0,
        "duplicateCalls": ["pbx-1"],
    }
    stored = telephony.emulator.store.uploaded_calls()
    assert [item.call["externalId"] for item in stored] == ["pbx-1", "pbx-2"]
    assert stored[0].call == call


def test_users_user_and_status(telephony: Crm) -> None:
    client = telephony.official()

    listed = client.users()
    one = client.user(2)
    status = client.user_status(2, "dinner")

    assert listed.is_successful()
    assert [user["firstName"] for user in listed.get_response()["users"]] == ["Анна", "Борис"]
    assert listed.get_response()["pagination"] == {
        "limit": 20,
        "totalCount": 2,
        "currentPage": 1,
        "totalPageCount": 1,
    }
    assert one.get_response()["user"]["email"] == "boris@shop.test"
    assert status.get_response() == {"success": True}
    assert telephony.emulator.store.user(2)["status"] == "dinner"  # type: ignore[index]
    busy = client.users({"status": "dinner"})
    assert [user["id"] for user in busy.get_response()["users"]] == [2]


def test_users_filters_as_the_client_sends_them(telephony: Crm) -> None:
    telephony.emulator.add_user("Вера", "Смирнова", "vera@shop.test", active=False)

    active = telephony.official().users({"active": 1, "isManager": 1}, limit=50, page=1)

    assert active.is_successful()
    assert active.get_response()["pagination"]["limit"] == 50
    assert [user["email"] for user in active.get_response()["users"]] == [
        "anna@shop.test",
        "boris@shop.test",
    ]


def test_telephony_manager_names_the_responsible_manager(telephony: Crm) -> None:
    customer = telephony.emulator.add_customer(
        "Пётр", "Сидоров", phones=["+7 (916) 123-45-67"], manager_id=2, email="petr@mail.test"
    )

    response = telephony.official().telephony_manager("89161234567")

    assert response.is_successful()
    body = response.get_response()
    assert body["manager"] == {
        "id": 2,
        "firstName": "Борис",
        "lastName": "Петров",
        "email": "boris@shop.test",
        "code": "102",
    }
    assert body["customer"]["id"] == customer["id"]
    assert body["customer"]["phones"] == [{"number": "+7 (916) 123-45-67"}]
    assert body["links"]["customerLink"].endswith(f"/customers/{customer['id']}")


def test_telephony_manager_of_an_unknown_phone_is_no_manager(telephony: Crm) -> None:
    response = telephony.official().telephony_manager("+10000000000")

    assert response.is_successful()
    assert "manager" not in response.get_response()
    assert "customer" not in response.get_response()


def test_wrong_key_is_refused_to_the_official_client(telephony: Crm) -> None:
    response = telephony.official("not-the-key").users()

    assert not response.is_successful()
    assert response.get_status_code() == 403
    assert response.get_error_msg() == 'Wrong "apiKey" value.'
