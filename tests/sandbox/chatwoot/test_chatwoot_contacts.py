"""Application API contacts: the index without lookups, search, filter, create, update."""

from __future__ import annotations

from typing import Any

import httpx

from .support import APP, INBOX_ID


def _create(api: httpx.Client, **fields: Any) -> dict[str, Any]:
    response = api.post(f"{APP}/contacts", json=fields)
    assert response.status_code == 200, response.text
    contact: dict[str, Any] = response.json()["payload"]["contact"]
    return contact


def _filter(api: httpx.Client, *conditions: dict[str, Any]) -> httpx.Response:
    return api.post(f"{APP}/contacts/filter", json={"payload": list(conditions)})


def _condition(
    key: str, operator: str, values: Any, query_operator: str | None = None
) -> dict[str, Any]:
    return {
        "attribute_key": key,
        "filter_operator": operator,
        "values": values,
        "query_operator": query_operator,
    }


def test_index_ignores_lookup_params_and_pages_by_fifteen(api: httpx.Client) -> None:
    for number in range(17):
        _create(api, name=f"Person {number}", identifier=f"id-{number}")
    plain = api.get(f"{APP}/contacts").json()
    looked_up = api.get(
        f"{APP}/contacts", params={"identifier": "id-16", "email": "x@y.z", "phone_number": "+1"}
    ).json()
    second = api.get(f"{APP}/contacts", params={"page": 2}).json()
    assert plain["meta"] == {"count": 17, "current_page": 1}
    assert len(plain["payload"]) == 15
    assert looked_up == plain
    assert second["meta"]["current_page"] == "2"  # echoed from the query string, as Rails does
    assert [item["identifier"] for item in second["payload"]] == ["id-15", "id-16"]


def test_index_lists_only_identified_contacts(api: httpx.Client) -> None:
    _create(api, name="Anonymous visitor")
    known = _create(api, name="Known", phone_number="+79990000000")
    body = api.get(f"{APP}/contacts").json()
    assert [item["id"] for item in body["payload"]] == [known["id"]]
    assert body["payload"][0]["contact_inboxes"] == []


def test_search_requires_q(api: httpx.Client) -> None:
    response = api.get(f"{APP}/contacts/search")
    assert response.status_code == 422
    assert response.json() == {"error": "Specify search string with parameter q"}


def test_search_matches_like_chatwoot(api: httpx.Client) -> None:
    alice = _create(api, name="Alice Smith", email="alice@corp.io", identifier="ABC-1")
    _create(
        api, name="Bob", phone_number="+79991112233", additional_attributes={"company_name": "Acme"}
    )

    def names(query: str) -> list[str]:
        body = api.get(f"{APP}/contacts/search", params={"q": query}).json()
        return [item["name"] for item in body["payload"]]

    assert names("smith") == ["Alice Smith"]
    assert names("CORP.IO") == ["Alice Smith"]
    assert names("1112233") == ["Bob"]
    assert names("acme") == ["Bob"]
    assert names("ABC-1") == ["Alice Smith"]
    assert names("abc-1") == []  # the identifier is matched with LIKE, case-sensitively
    body = api.get(f"{APP}/contacts/search", params={"q": "alice"}).json()
    assert body["meta"] == {"count": 1, "current_page": 1}
    assert body["payload"][0]["id"] == alice["id"]


def test_filter_normalises_the_phone_number(api: httpx.Client) -> None:
    bob = _create(api, name="Bob", phone_number="+79990000000")
    _create(api, name="Eve", phone_number="+79990000001")
    response = _filter(api, _condition("phone_number", "equal_to", ["79990000000"]))
    assert response.status_code == 200
    assert [item["id"] for item in response.json()["payload"]] == [bob["id"]]
    assert response.json()["meta"]["count"] == 1


def test_filter_text_is_case_insensitive_and_operators_combine(api: httpx.Client) -> None:
    _create(api, name="Alice", email="alice@corp.io")
    _create(api, name="Bob", email="bob@corp.io")
    _create(api, name="Carol", email="carol@other.io")
    both = _filter(
        api,
        _condition("email", "contains", ["CORP"], "and"),
        _condition("name", "not_equal_to", ["BOB"]),
    ).json()
    either = _filter(
        api,
        _condition("name", "equal_to", ["carol"], "OR"),
        _condition("name", "equal_to", ["bob"]),
    ).json()
    assert [item["name"] for item in both["payload"]] == ["Alice"]
    assert [item["name"] for item in either["payload"]] == ["Bob", "Carol"]


def test_filter_refusals(api: httpx.Client) -> None:
    bad_attribute = _filter(api, _condition("favourite_colour", "equal_to", ["red"]))
    bad_operator = _filter(api, _condition("identifier", "contains", ["x"]))
    no_values = _filter(api, _condition("name", "equal_to", []))
    bad_query_operator = _filter(api, _condition("name", "equal_to", ["x"], "xor"))
    for response in (bad_attribute, bad_operator, no_values, bad_query_operator):
        assert response.status_code == 422
        assert set(response.json()) == {"error"}
    assert bad_attribute.json()["error"].startswith("Invalid attribute key - [favourite_colour]")
    assert bad_operator.json()["error"] == (
        "Invalid operator. The allowed operators for identifier are [equal_to,not_equal_to]."
    )


def test_create_with_an_inbox(api: httpx.Client) -> None:
    response = api.post(
        f"{APP}/contacts",
        json={
            "name": "Alice",
            "email": "alice@example.com",
            "identifier": "client-1",
            "inbox_id": INBOX_ID,
            "custom_attributes": {"client_type": "owner"},
            "additional_attributes": {"city": "Tashkent"},
        },
    )
    payload = response.json()["payload"]
    assert set(payload) == {"contact", "contact_inbox"}
    assert payload["contact_inbox"]["inbox"]["id"] == INBOX_ID
    source_id = payload["contact_inbox"]["source_id"]
    assert payload["contact"]["contact_inboxes"][0]["source_id"] == source_id
    assert payload["contact"]["contact_inboxes"][0]["inbox"]["id"] == INBOX_ID


def test_duplicates_and_bad_formats_are_record_invalid(api: httpx.Client) -> None:
    _create(api, name="Alice", email="alice@example.com")
    duplicate = api.post(f"{APP}/contacts", json={"name": "A", "email": "ALICE@example.com"})
    bad_phone = api.post(f"{APP}/contacts", json={"name": "B", "phone_number": "8999"})
    assert duplicate.status_code == 422
    assert duplicate.json() == {"message": "Email has already been taken", "attributes": ["email"]}
    assert bad_phone.json() == {
        "message": "Phone number should be in e164 format",
        "attributes": ["phone_number"],
    }
    missing_inbox = api.post(f"{APP}/contacts", json={"name": "C", "inbox_id": 99})
    assert missing_inbox.status_code == 404


def test_show_update_and_destroy(api: httpx.Client) -> None:
    contact = _create(
        api, name="Alice", custom_attributes={"a": 1}, additional_attributes={"city": "X"}
    )
    url = f"{APP}/contacts/{contact['id']}"
    updated = api.patch(
        url, json={"name": "Alice B", "custom_attributes": {"b": 2}, "identifier": "c-1"}
    ).json()["payload"]
    assert updated["name"] == "Alice B"
    assert updated["custom_attributes"] == {"a": 1, "b": 2}  # merged, unlike conversations
    assert updated["additional_attributes"] == {"city": "X"}
    shown = api.get(url).json()
    assert set(shown) == {"payload"}
    assert shown["payload"]["identifier"] == "c-1"
    assert "contact_inboxes" in shown["payload"]
    assert api.delete(url).status_code == 200
    assert api.get(url).status_code == 404
