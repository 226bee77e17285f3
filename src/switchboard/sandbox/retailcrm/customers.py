"""A minimal customer base: enough to find who calls and who their manager is.

    GET /api/v5/customers?filter[phone]=...&limit=20&page=1
    GET /api/v5/customers/{externalId}            (?by=id to look up by the CRM id)

Filter keys known here: phone (see `store.same_phone`), name (first, last or patronymic
name, or a phone), email, ids[], externalIds[], managers[]. Customers are added from Python
(`RetailCrmEmulator.add_customer`); the API offers no create method in the sandbox.
"""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from switchboard.sandbox.retailcrm.errors import NOT_A_CHOICE, input_parameters, not_found
from switchboard.sandbox.retailcrm.http import Call, api_route, success
from switchboard.sandbox.retailcrm.listing import (
    FilterRule,
    any_of_rule,
    apply_filters,
    page_request,
    paginate,
    text_rule,
)
from switchboard.sandbox.retailcrm.store import Customer


def _named(customer: Customer, text: str) -> bool:
    needle = text.lower()
    names = (customer.first_name, customer.last_name, customer.patronymic)
    return any(name and needle in name.lower() for name in names) or customer.has_phone(text)


CUSTOMER_FILTERS: dict[str, FilterRule] = {
    "phone": text_rule(lambda customer, phone: customer.has_phone(phone)),
    "name": text_rule(_named),
    "email": text_rule(lambda customer, email: (customer.email or "").lower() == email.lower()),
    "ids": any_of_rule(lambda customer: customer.id, int),
    "externalIds": any_of_rule(lambda customer: customer.external_id),
    "managers": any_of_rule(lambda customer: customer.manager_id, int),
}


def customers(call: Call) -> Response:
    limit, page = page_request(call)
    matching = apply_filters(call, call.store.customer_records(), CUSTOMER_FILTERS)
    shown, pagination = paginate(matching, limit, page)
    return success(pagination=pagination, customers=[c.as_json() for c in shown])


def customer(call: Call) -> Response:
    key: str = call.path_param("key")
    by = call.text("by") or "externalId"
    if by not in ("id", "externalId"):
        raise input_parameters({"by": NOT_A_CHOICE})
    for record in call.store.customer_records():
        if (by == "id" and str(record.id) == key) or (
            by == "externalId" and record.external_id == key
        ):
            return success(customer=record.as_json())
    raise not_found()


ROUTES: list[Route] = [
    api_route("/customers", customers, "GET"),
    api_route("/customers/{key}", customer, "GET"),
]
