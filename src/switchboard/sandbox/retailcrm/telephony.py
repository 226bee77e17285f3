"""The telephony methods: call events, call uploads and the responsible manager.

    POST /api/v5/telephony/call/event      form: event=<json>, clientId (optional)
    POST /api/v5/telephony/calls/upload    form: calls=<json array, at most 50>, clientId
    GET  /api/v5/telephony/manager         phone, details, ignoreStatus, clientId

Each needs an active integration module that declares `integrations.telephony` (the one with the
sent `clientId`, when there is one); otherwise "Telephony not enabled". Extension codes are the
module's `additionalCodes`; users are the account's users.
"""

from __future__ import annotations

from urllib.parse import quote

from starlette.responses import Response
from starlette.routing import Route

from switchboard.sandbox.retailcrm.errors import missing_parameter
from switchboard.sandbox.retailcrm.http import Call, api_route, success
from switchboard.sandbox.retailcrm.params import flag, json_parameter
from switchboard.sandbox.retailcrm.store import JsonDict, User, additional_codes
from switchboard.sandbox.retailcrm.validation import check_call_event, check_calls


def call_event(call: Call) -> Response:
    module = call.telephony_module()
    event = check_call_event(json_parameter(call.params, "event"))
    known_codes = set(additional_codes(module).values())
    known_users = {user.id for user in call.store.user_records()}
    call.store.record_call_event(event, call.text("clientId") or None, module["code"])
    answer: JsonDict = {}
    unknown_codes = [code for code in event.get("codes", []) if code not in known_codes]
    unknown_users = [user for user in event.get("userIds", []) if user not in known_users]
    if unknown_codes:
        answer["notExistCodes"] = unknown_codes
    if unknown_users:
        answer["notExistUsers"] = unknown_users
    return success(**answer)


def calls_upload(call: Call) -> Response:
    """Stores the new calls; one whose `externalId` came before is reported, not stored again.
    `processedCallsCount` counts the calls stored by this request."""
    module = call.telephony_module()
    calls = check_calls(json_parameter(call.params, "calls"))
    stored, duplicates = call.store.store_calls(
        calls, call.text("clientId") or None, module["code"]
    )
    answer: JsonDict = {"processedCallsCount": stored}
    if duplicates:
        answer["duplicateCalls"] = duplicates
    return success(**answer)


def manager(call: Call) -> Response:
    """The responsible manager of the customer with this phone. Without `ignoreStatus` only a
    manager who is active and `free` is named; the customer comes with `details`."""
    module = call.telephony_module()
    phone = call.text("phone")
    if not phone:
        raise missing_parameter("phone")
    details = flag(call.params.get("details")) is True
    ignore_status = flag(call.params.get("ignoreStatus")) is True
    customer = next((c for c in call.store.customer_records() if c.has_phone(phone)), None)
    answer: JsonDict = {}
    if customer is not None and customer.manager_id is not None:
        user = call.store.user_record(customer.manager_id)
        if user is not None and (ignore_status or _reachable(user)):
            answer["manager"] = _manager_json(user, additional_codes(module).get(user.id))
    if customer is not None and details:
        answer["customer"] = _customer_json(customer.as_json())
        answer["links"] = _links(call.base_url(), phone, customer.id)
    elif details:
        answer["links"] = _links(call.base_url(), phone, None)
    return success(**answer)


def _reachable(user: User) -> bool:
    return user.active and user.status == "free"


def _manager_json(user: User, code: str | None) -> JsonDict:
    data: JsonDict = {
        "id": user.id,
        "firstName": user.first_name,
        "lastName": user.last_name,
        "patronymic": user.patronymic,
        "email": user.email,
        "code": code,
    }
    return {key: value for key, value in data.items() if value is not None}


def _customer_json(customer: JsonDict) -> JsonDict:
    """The customer as the manager lookup shows it (PHP SerializedCustomer's fields)."""
    fields = ("id", "externalId", "firstName", "lastName", "patronymic", "email", "phones")
    return {name: customer[name] for name in fields if name in customer}


def _links(base_url: str, phone: str, customer_id: int | None) -> JsonDict:
    number = quote(phone)
    links: JsonDict = {
        "newOrderLink": f"{base_url}/orders/add?phone={number}",
        "newCustomerLink": f"{base_url}/customers/add?phone={number}",
    }
    if customer_id is not None:
        links["customerLink"] = f"{base_url}/customers/{customer_id}"
    return links


ROUTES: list[Route] = [
    api_route("/telephony/call/event", call_event, "POST"),
    api_route("/telephony/calls/upload", calls_upload, "POST"),
    api_route("/telephony/manager", manager, "GET"),
]
