"""Application API contacts: the index without lookups, search, filter, create, update."""

from __future__ import annotations

from typing import Any

import httpx

from .support import APP, INBOX_ID, Chatwoot, public_contact, public_conversation


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


def _define(api: httpx.Client, key: str, display_type: str = "text") -> None:
    response = api.post(
        f"{APP}/custom_attribute_definitions",
        json={
            "attribute_display_name": key,
            "attribute_key": key,
            "attribute_display_type": display_type,
            "attribute_model": "contact_attribute",
        },
    )
    assert response.status_code == 200, response.text


def test_filter_on_custom_attributes_needs_their_definition(api: httpx.Client) -> None:
    owner = _create(
        api,
        name="Owner",
        phone_number="+998901112233",
        custom_attributes={"code_abonent": "128179", "inn_pinfl": "285209200"},
    )
    user = _create(
        api,
        name="User",
        phone_number="+998901112244",
        custom_attributes={"code_abonent": "128180", "inn_pinfl": "30101900123456"},
    )
    bare = _create(api, name="Bare", phone_number="+998901112255")
    by_code = _condition("code_abonent", "equal_to", ["128179"])
    undefined = _filter(api, by_code)
    assert undefined.status_code == 422
    assert undefined.json()["error"].startswith("Invalid attribute key - [code_abonent].")

    _define(api, "code_abonent")
    _define(api, "inn_pinfl")
    found = _filter(api, by_code).json()
    assert [item["id"] for item in found["payload"]] == [owner["id"]]
    assert found["payload"][0]["custom_attributes"]["inn_pinfl"] == "285209200"
    long_inn = _filter(api, _condition("inn_pinfl", "contains", ["3010190"])).json()
    assert [item["id"] for item in long_inn["payload"]] == [user["id"]]
    others = _filter(api, _condition("code_abonent", "not_equal_to", ["128179"])).json()
    assert [item["id"] for item in others["payload"]] == [user["id"], bare["id"]]
    # Only values[0] counts, and a number is not text to PostgreSQL.
    first_only = _filter(api, _condition("code_abonent", "equal_to", ["128180", "128179"]))
    as_number = _filter(api, _condition("code_abonent", "equal_to", [128179]))
    assert [item["id"] for item in first_only.json()["payload"]] == [user["id"]]
    assert as_number.status_code == 500


def test_filter_sees_only_resolved_contacts(api: httpx.Client) -> None:
    _create(api, name="Visitor", custom_attributes={"code_abonent": "1"})
    known = _create(
        api, name="Known", email="k@example.com", custom_attributes={"code_abonent": "1"}
    )
    _define(api, "code_abonent")
    body = _filter(api, _condition("code_abonent", "equal_to", ["1"])).json()
    assert [item["id"] for item in body["payload"]] == [known["id"]]
    assert body["meta"]["count"] == 1


def test_filter_phone_starts_with_is_an_equality(api: httpx.Client) -> None:
    bob = _create(api, name="Bob", phone_number="+79990000000")
    prefix = _filter(api, _condition("phone_number", "starts_with", ["+7999"])).json()
    whole = _filter(api, _condition("phone_number", "starts_with", ["+79990000000"])).json()
    assert prefix["payload"] == []
    assert [item["id"] for item in whole["payload"]] == [bob["id"]]


def test_contact_inboxes_create(api: httpx.Client, cw: Chatwoot) -> None:
    alice = _create(api, name="Alice", email="alice@example.com")
    bob = _create(api, name="Bob", email="bob@example.com")
    url = f"{APP}/contacts/{alice['id']}/contact_inboxes"
    generated = api.post(url, json={"inbox_id": INBOX_ID})
    assert generated.status_code == 200
    assert set(generated.json()) == {"source_id", "inbox"}
    assert generated.json()["inbox"] == {
        "id": INBOX_ID,
        "avatar_url": "",
        "channel_id": 1,
        "name": "Сайт",
        "channel_type": "Channel::Api",
        "provider": None,
    }
    chosen = api.post(url, json={"inbox_id": INBOX_ID, "source_id": "alice-web"})
    again = api.post(url, json={"inbox_id": INBOX_ID, "source_id": "alice-web"})
    assert chosen.json()["source_id"] == again.json()["source_id"] == "alice-web"
    shown = api.get(f"{APP}/contacts/{alice['id']}").json()["payload"]
    assert sorted(row["source_id"] for row in shown["contact_inboxes"]) == sorted(
        [generated.json()["source_id"], "alice-web"]
    )
    # Another contact's source_id in an API inbox breaks the unique index: Chatwoot's 500.
    taken = api.post(
        f"{APP}/contacts/{bob['id']}/contact_inboxes",
        json={"inbox_id": INBOX_ID, "source_id": "alice-web"},
    )
    assert taken.status_code == 500
    missing_inbox = api.post(url, json={"inbox_id": 999})
    missing_contact = api.post(f"{APP}/contacts/999/contact_inboxes", json={"inbox_id": INBOX_ID})
    assert missing_inbox.status_code == missing_contact.status_code == 404

    email_inbox = cw.emulator.add_inbox("Почта", channel_type="Channel::Email")
    by_email = api.post(url, json={"inbox_id": email_inbox["id"]})
    assert by_email.json()["source_id"] == "alice@example.com"
    nameless = _create(api, name="No email", phone_number="+998901234567")
    refused = api.post(
        f"{APP}/contacts/{nameless['id']}/contact_inboxes", json={"inbox_id": email_inbox["id"]}
    )
    assert refused.status_code == 422
    assert refused.json() == {"error": "param is missing or the value is empty: contact email"}


def test_agents_reach_only_their_inboxes(api: httpx.Client, cw: Chatwoot) -> None:
    alice = _create(api, name="Alice", email="alice@example.com")
    other = cw.emulator.add_inbox("Telegram")
    agent = cw.emulator.add_agent("Ann", "ann@example.com")
    with cw.client(agent["access_token"]) as http:
        own = http.post(
            f"{APP}/contacts/{alice['id']}/contact_inboxes", json={"inbox_id": INBOX_ID}
        )
        foreign = http.post(
            f"{APP}/contacts/{alice['id']}/contact_inboxes", json={"inbox_id": other["id"]}
        )
        listed = http.get(f"{APP}/contacts/{alice['id']}/contactable_inboxes").json()
    assert own.status_code == 200
    assert (foreign.status_code, foreign.json()) == (
        401,
        {"error": "You are not authorized to do this action"},
    )
    assert [row["inbox"]["id"] for row in listed["payload"]] == [INBOX_ID]


def test_contactable_inboxes(api: httpx.Client, cw: Chatwoot) -> None:
    alice = _create(api, name="Alice", email="alice@example.com", phone_number="+998901234567")
    email_inbox = cw.emulator.add_inbox("Почта", channel_type="Channel::Email")
    whatsapp = cw.emulator.add_inbox("WhatsApp", channel_type="Channel::Whatsapp")
    widget = cw.emulator.add_inbox("Виджет", channel_type="Channel::WebWidget")
    url = f"{APP}/contacts/{alice['id']}/contactable_inboxes"

    first = api.get(url).json()["payload"]
    second = api.get(url).json()["payload"]
    by_inbox = {row["inbox"]["id"]: row["source_id"] for row in first}
    # An API inbox offers a fresh UUID each time until the contact has a row there; a website
    # inbox is offered only for an existing row without conversations.
    assert set(by_inbox) == {INBOX_ID, email_inbox["id"], whatsapp["id"]}
    assert by_inbox[INBOX_ID] != {row["inbox"]["id"]: row["source_id"] for row in second}[1]
    assert by_inbox[email_inbox["id"]] == "alice@example.com"
    assert by_inbox[whatsapp["id"]] == "998901234567"
    assert set(first[0]) == {"inbox", "source_id"}

    api.post(
        f"{APP}/contacts/{alice['id']}/contact_inboxes",
        json={"inbox_id": INBOX_ID, "source_id": "alice-api"},
    )
    api.post(
        f"{APP}/contacts/{alice['id']}/contact_inboxes",
        json={"inbox_id": widget["id"], "source_id": "alice-widget"},
    )
    now = {row["inbox"]["id"]: row["source_id"] for row in api.get(url).json()["payload"]}
    assert now[INBOX_ID] == "alice-api"
    assert now[widget["id"]] == "alice-widget"
    assert api.get(f"{APP}/contacts/999/contactable_inboxes").status_code == 404


def test_only_administrators_delete_contacts(api: httpx.Client, cw: Chatwoot) -> None:
    alice = _create(api, name="Alice", email="alice@example.com")
    agent = cw.emulator.add_agent("Ann", "ann@example.com")
    with cw.client(agent["access_token"]) as http:
        refused = http.delete(f"{APP}/contacts/{alice['id']}")
    assert refused.status_code == 401
    assert api.get(f"{APP}/contacts/{alice['id']}").status_code == 200


def test_contact_conversations_are_the_latest_twenty(api: httpx.Client, cw: Chatwoot) -> None:
    """Contacts::ConversationsController#index: latest activity first, at most 20, no paging."""
    person = public_contact(api, name="Alice", email="alice@example.com")
    opened = [int(public_conversation(api, person["source_id"])["id"]) for _ in range(22)]
    cw.emulator.contact_message(opened[0], "still here")  # the oldest becomes the most active

    listed = api.get(f"{APP}/contacts/{person['id']}/conversations").json()["payload"]

    assert len(listed) == 20
    assert listed[0]["id"] == opened[0]
    assert [item["id"] for item in listed[1:]] == sorted(opened[3:], reverse=True)
