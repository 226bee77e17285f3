"""Contact listing, search and filter, with Chatwoot's quirks kept.

* Index, search and filter see only "resolved" contacts (with an email, phone or identifier), 15
  a page; the index has no lookup parameters: `?identifier=` or `?email=` change nothing.
* Search ILIKEs name, email, phone and company name, and LIKEs (case-sensitive) the identifier.
* The filter DSL is conditions.py's, shared with the conversations filter.
"""

from __future__ import annotations

from typing import Any

from switchboard.sandbox.chatwoot.conditions import ContactFilter, json_text
from switchboard.sandbox.chatwoot.records import Contact
from switchboard.sandbox.chatwoot.rules import like_matches
from switchboard.sandbox.chatwoot.store import Store

PER_PAGE = 15

SORTABLE = ("name", "email", "phone_number", "last_activity_at", "created_at")


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


def resolved(store: Store, account_id: int) -> list[Contact]:
    """`resolved_contacts`: those with an email, a phone number or an identifier."""
    return [
        contact
        for contact in store.contacts_of(account_id)
        if contact.email or contact.phone_number or contact.identifier
    ]


def index(store: Store, account_id: int, sort: Any) -> list[Contact]:
    return _sorted(resolved(store, account_id), sort)


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
        insensitive = (contact.name, contact.email, contact.phone_number, json_text(company))
        return any(
            like_matches(value, pattern, case_insensitive=True) for value in insensitive
        ) or like_matches(contact.identifier, pattern, case_insensitive=False)

    return [contact for contact in resolved(store, account_id) if matches(contact)]


# -- filter ----------------------------------------------------------------------------------


def filter_contacts(store: Store, account_id: int, payload: Any) -> list[Contact]:
    """Contacts::FilterService over the resolved contacts (see conditions.py)."""
    return ContactFilter(store, account_id).select(payload, resolved(store, account_id))
