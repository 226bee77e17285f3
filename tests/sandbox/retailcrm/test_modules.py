"""`integration-modules/{code}` and its `edit`: upsert, RetailCRM's refusals, the edit info."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest

from .support import API, MODULE_CODE, Crm, edit_module, telephony_module


def test_unknown_module_is_404(crm: Crm, http: httpx.Client) -> None:
    response = http.get(f"{API}/integration-modules/nothing-here")

    assert response.status_code == 404
    assert response.json() == {"success": False, "errorMsg": "Not found"}


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"logo": "https://integrator.test/logo.png"}, "logo", "Logo image must be svg"),
        ({"baseUrl": ""}, "baseUrl", "This value should not be blank."),
        ({"baseUrl": "integrator.test"}, "baseUrl", "This value is not a valid URL."),
        ({"name": None}, "name", "This value should not be blank."),
        ({"clientId": ""}, "clientId", "This value should not be blank."),
        ({"active": "yes"}, "active", "This value is not valid."),
        ({"code": "another-code"}, "code", "This value is not valid."),
    ],
)
def test_module_refusals(
    crm: Crm, http: httpx.Client, changes: dict[str, Any], field: str, message: str
) -> None:
    module = {**telephony_module(), **changes}

    response = http.post(
        f"{API}/integration-modules/{MODULE_CODE}/edit",
        data={"integrationModule": orjson.dumps(module).decode()},
    )

    assert response.status_code == 400
    assert response.json() == {
        "success": False,
        "errorMsg": "Errors in the entity format",
        "errors": {field: message},
    }
    assert crm.emulator.store.module(MODULE_CODE) is None


def test_external_phones_must_be_objects(crm: Crm, http: httpx.Client) -> None:
    module = telephony_module()
    module["integrations"]["telephony"]["externalPhones"] = ["+74950000000"]

    response = edit_module(http, module)

    assert response.status_code == 400
    assert response.json()["errors"] == {
        "integrations.telephony.externalPhones[0]": "This value is not valid."
    }


def test_telephony_urls_must_be_urls(crm: Crm, http: httpx.Client) -> None:
    module = telephony_module()
    module["integrations"]["telephony"]["makeCallUrl"] = "/make-call"

    response = edit_module(http, module)

    assert response.json()["errors"] == {
        "integrations.telephony.makeCallUrl": "This value is not a valid URL."
    }


def test_module_as_form_array_is_a_non_scalar_value(crm: Crm, http: httpx.Client) -> None:
    response = http.post(
        f"{API}/integration-modules/{MODULE_CODE}/edit",
        data={"integrationModule[code]": MODULE_CODE, "integrationModule[name]": "x"},
    )

    assert response.status_code == 400
    assert response.json() == {
        "success": False,
        "errorMsg": 'Input value "integrationModule" contains a non-scalar value.',
    }


def test_missing_module_parameter(crm: Crm, http: httpx.Client) -> None:
    response = http.post(f"{API}/integration-modules/{MODULE_CODE}/edit", data={"other": "1"})

    assert response.json() == {
        "success": False,
        "errorMsg": "Parameter 'integrationModule' is missing",
    }


def test_edit_updates_in_place_and_keeps_other_integrations(crm: Crm, http: httpx.Client) -> None:
    module = telephony_module()
    module["integrations"]["mgTransport"] = {"webhookUrl": "https://integrator.test/mg"}
    assert edit_module(http, module).status_code == 201

    telephony = {**module["integrations"]["telephony"], "makeCallUrl": "https://new.test/call"}
    update = {"code": MODULE_CODE, "integrations": {"telephony": telephony}}
    response = edit_module(http, update)

    assert response.status_code == 200
    stored = http.get(f"{API}/integration-modules/{MODULE_CODE}").json()["integrationModule"]
    assert stored["name"] == module["name"]  # fields not sent are kept
    assert stored["integrations"]["telephony"]["makeCallUrl"] == "https://new.test/call"
    assert stored["integrations"]["mgTransport"] == {"webhookUrl": "https://integrator.test/mg"}


def test_edit_info_names_users_the_account_lacks(crm: Crm, http: httpx.Client) -> None:
    anna = crm.emulator.add_user("Анна", "Иванова", "anna@shop.test")
    module = telephony_module()
    module["integrations"]["telephony"]["additionalCodes"] = [
        {"userId": anna["id"], "code": "101"},
        {"userId": 404, "code": "102"},
    ]

    response = edit_module(http, module)

    assert response.status_code == 201
    assert response.json() == {"success": True, "info": {"notExistUsersIds": [404]}}


def test_frozen_module_disables_telephony(crm: Crm, http: httpx.Client) -> None:
    edit_module(http, telephony_module(freeze=True))

    response = http.post(
        f"{API}/telephony/call/event", data={"event": '{"phone": "+7916", "type": "in"}'}
    )

    assert response.json() == {"success": False, "errorMsg": "Telephony not enabled"}
