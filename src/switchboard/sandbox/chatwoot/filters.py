"""Contact listing, search and the filter DSL, with Chatwoot's quirks kept.

* The index lists only "resolved" contacts (with an email, phone or identifier), 15 a page, and
  has no lookup parameters: `?identifier=` or `?email=` change nothing.
* Search ILIKEs name, email, phone and company name, and LIKEs (case-sensitive) the identifier.
* Filter conditions are SQL fragments joined by each item's `query_operator`, so AND binds tighter
  than OR, NULL columns match nothing, and only `values[0]` counts for equality.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from switchboard.sandbox.chatwoot.errors import ServerError, could_not_create
from switchboard.sandbox.chatwoot.records import Contact, utcnow
from switchboard.sandbox.chatwoot.rules import like_matches, present
from switchboard.sandbox.chatwoot.store import Store

PER_PAGE = 15

EQUALITY = ("equal_to", "not_equal_to")
TEXT_MATCH = ("contains", "does_not_contain")
PRESENCE = ("is_present", "is_not_present")
DATES = ("is_greater_than", "is_less_than", "days_before")

# lib/filters/filter_keys.yml, contacts: attribute -> (attribute_type, data_type, operators)
CONTACT_FILTERS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "name": ("standard", "text_case_insensitive", (*EQUALITY, *TEXT_MATCH)),
    "phone_number": ("standard", "text_case_insensitive", (*EQUALITY, *TEXT_MATCH, "starts_with")),
    "email": ("standard", "text_case_insensitive", (*EQUALITY, *TEXT_MATCH)),
    "identifier": ("standard", "text_case_insensitive", EQUALITY),
    "country_code": ("additional_attributes", "text_case_insensitive", EQUALITY),
    "city": ("additional_attributes", "text_case_insensitive", (*EQUALITY, *TEXT_MATCH)),
    "company": ("additional_attributes", "text_case_insensitive", (*EQUALITY, *TEXT_MATCH)),
    "labels": ("standard", "labels", (*EQUALITY, *PRESENCE)),
    "created_at": ("standard", "date", DATES),
    "last_activity_at": ("standard", "date", DATES),
    "blocked": ("standard", "boolean", EQUALITY),
}

SORTABLE = ("name", "email", "phone_number", "last_activity_at", "created_at")

Condition = Callable[[Contact], bool]


def page_of(raw: Any) -> tuple[int, Any]:
    """The page to slice (Kaminari: anything below 1 is 1) and the `current_page` to echo.

    Chatwoot echoes `params[:page] || 1`, so a page given in the query comes back as a string.
    """
    try:
        number = int(str(raw))
    except ValueError:
        number = 1
    return max(number, 1), raw if raw is not None else 1


def paginate(items: list[Contact], page: int) -> list[Contact]:
    start = (page - 1) * PER_PAGE
    return items[start : start + PER_PAGE]


# -- index and search ------------------------------------------------------------------------


def index(store: Store, account_id: int, sort: Any) -> list[Contact]:
    contacts = [
        contact
        for contact in store.contacts_of(account_id)
        if contact.email or contact.phone_number or contact.identifier
    ]
    return _sorted(contacts, sort)


def _sorted(contacts: list[Contact], sort: Any) -> list[Contact]:
    if not isinstance(sort, str) or sort.lstrip("-") not in SORTABLE:
        return contacts
    key_name = sort.lstrip("-")
    descending = sort.startswith("-")
    present_rows = [row for row in contacts if getattr(row, key_name) is not None]
    missing = [row for row in contacts if getattr(row, key_name) is None]

    def key(row: Contact) -> Any:
        value = getattr(row, key_name)
        return value.lower() if isinstance(value, str) else value

    return sorted(present_rows, key=key, reverse=descending) + missing


def search(store: Store, account_id: int, query: str) -> list[Contact]:
    pattern = f"%{query.strip()}%"

    def matches(contact: Contact) -> bool:
        company = contact.additional_attributes.get("company_name")
        insensitive = (contact.name, contact.email, contact.phone_number, _text(company))
        return any(
            like_matches(value, pattern, case_insensitive=True) for value in insensitive
        ) or like_matches(contact.identifier, pattern, case_insensitive=False)

    return [contact for contact in store.contacts_of(account_id) if matches(contact)]


# -- filter ----------------------------------------------------------------------------------


def filter_contacts(store: Store, account_id: int, payload: Any) -> list[Contact]:
    """Contacts::FilterService; refusals are 422 `{"error": ...}`, broken SQL is a 500."""
    if not isinstance(payload, list):
        raise ServerError("undefined method `each_with_index' for nil")  # params[:payload].each
    items = [item if isinstance(item, dict) else {} for item in payload]
    for item in items:
        _check_query_operator(item.get("query_operator"))
    conditions = [_condition(item) for item in items]
    operators = [item.get("query_operator") for item in items]
    return [c for c in store.contacts_of(account_id) if _evaluate(conditions, operators, c)]


def _check_query_operator(operator: Any) -> None:
    if operator is None or operator == "":
        return
    if not isinstance(operator, str) or operator.upper() not in ("AND", "OR"):
        raise could_not_create('Query operator must be either "AND" or "OR".')


def _evaluate(conditions: list[Condition], operators: list[Any], contact: Contact) -> bool:
    """`c0 op0 c1 op1 ...` with SQL precedence; a dangling or missing operator is a syntax error."""
    if any(not operators[index] for index in range(len(conditions) - 1)) or operators[-1]:
        raise ServerError("PG::SyntaxError in the contact filter query")
    groups: list[list[Condition]] = [[]]
    for index, condition in enumerate(conditions):
        groups[-1].append(condition)
        if index < len(conditions) - 1 and str(operators[index]).upper() == "OR":
            groups.append([])
    return any(all(condition(contact) for condition in group) for group in groups)


def _condition(item: dict[str, Any]) -> Condition:
    key = item.get("attribute_key")
    operator = item.get("filter_operator")
    spec = CONTACT_FILTERS.get(key) if isinstance(key, str) else None
    if spec is not None and operator not in spec[2]:
        raise could_not_create(
            f"Invalid operator. The allowed operators for {key} are [{','.join(spec[2])}]."
        )
    values = item.get("values")
    if operator not in PRESENCE and not present(values):
        raise could_not_create(f"Invalid value. The values provided for {key} are invalid")
    if spec is None:
        # Custom attribute definitions are not emulated, so any other key is unknown.
        raise could_not_create(
            f"Invalid attribute key - [{key}]. The key should be one of "
            f"[{','.join(CONTACT_FILTERS)}] or a custom attribute defined in the account."
        )
    attribute_type, data_type, _ = spec
    assert isinstance(key, str)
    assert isinstance(operator, str)
    if data_type == "labels":
        return _labels_condition(operator)
    if data_type == "date":
        return _date_condition(key, operator, values)
    if data_type == "boolean":
        return _boolean_condition(operator, values)
    column = _text_column(key, attribute_type)
    return _text_condition(key, column, operator, values)


def _first(values: Any) -> Any:
    """`values[0]`, which for a bare string is its first character, as in Ruby."""
    if isinstance(values, (list, str)):
        return values[0] if values else None
    return values


def _text(value: Any) -> str | None:
    """`->>` or a text column: JSON scalars as text, NULL as None."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value)


def _text_column(key: str, attribute_type: str) -> Callable[[Contact], str | None]:
    def column(contact: Contact) -> str | None:
        if attribute_type == "additional_attributes":
            raw = _text(contact.additional_attributes.get(key))
        else:
            raw = getattr(contact, key)
        return raw.lower() if raw is not None else None

    return column


def _equality_value(key: str, values: Any) -> str:
    current = _first(values)
    if key == "phone_number":
        return "+" + re.sub(r"\D", "", str(current))
    return str(current).lower() if isinstance(current, str) else str(_text(current))


def _text_condition(
    key: str, column: Callable[[Contact], str | None], operator: str, values: Any
) -> Condition:
    if operator in EQUALITY:
        wanted = _equality_value(key, values)
        if operator == "equal_to":
            return lambda contact: column(contact) == wanted
        return lambda contact: (value := column(contact)) is not None and value != wanted
    if operator == "starts_with":
        prefix = _equality_value(key, values)
        return lambda contact: (value := column(contact)) is not None and value.startswith(prefix)
    items = values if isinstance(values, list) else [values]
    patterns = [f"%{str(item).strip()}%" for item in items]

    def any_match(contact: Contact) -> bool:
        value = column(contact)
        return any(like_matches(value, pattern, case_insensitive=True) for pattern in patterns)

    if operator == "contains":
        return any_match
    return lambda contact: column(contact) is not None and not any_match(contact)


def _labels_condition(operator: str) -> Condition:
    # Contact labels are not emulated: no contact carries any.
    has_labels = False
    if operator in ("equal_to", "is_present"):
        return lambda contact: has_labels
    return lambda contact: not has_labels


def _date_condition(key: str, operator: str, values: Any) -> Condition:
    if operator == "days_before":
        try:
            days = int(str(_first(values)))
        except ValueError:
            days = 0
        limit = utcnow().date() - timedelta(days=days)
        operator = "is_less_than"
    else:
        limit = _parse_date(_first(values))

    def column(contact: Contact) -> date | None:
        moment: datetime | None = getattr(contact, key)
        return moment.date() if moment is not None else None

    if operator == "is_greater_than":
        return lambda contact: (day := column(contact)) is not None and day > limit
    return lambda contact: (day := column(contact)) is not None and day < limit


def _parse_date(value: Any) -> date:
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        raise ServerError(f"invalid input syntax for type date: {value!r}") from None


def _boolean_condition(operator: str, values: Any) -> Condition:
    wanted = str(_first(values)).lower() in ("true", "t", "1")
    if operator == "equal_to":
        return lambda contact: contact.blocked is wanted
    return lambda contact: contact.blocked is not wanted
