"""The Public (client) API: contacts by source_id, conversations, messages, HMAC identity."""

from __future__ import annotations

import httpx

from .support import (
    APP,
    PUBLIC,
    identifier_hash,
    public_contact,
    public_conversation,
    start_conversation,
)


def test_inbox_info(anonymous: httpx.Client) -> None:
    body = anonymous.get(PUBLIC).json()
    assert body["identifier"] == "sandbox-inbox"
    assert body["name"] == "Сайт"
    assert body["identity_validation_enabled"] is False
    assert {"timezone", "working_hours", "working_hours_enabled", "csat_survey_enabled"} <= set(
        body
    )


def test_unknown_inbox_and_contact_are_rails_404s(anonymous: httpx.Client) -> None:
    missing_inbox = anonymous.get("/public/api/v1/inboxes/nope/contacts/x")
    missing_contact = anonymous.get(f"{PUBLIC}/contacts/not-a-source-id")
    for response in (missing_inbox, missing_contact):
        assert response.status_code == 404
        assert response.json() == {"status": 404, "error": "Not Found"}


def test_contact_create_answers_the_documented_shape(
    anonymous: httpx.Client, api: httpx.Client
) -> None:
    body = public_contact(
        anonymous,
        name="Alice",
        email="Alice@Example.com",
        phone_number="+79990000001",
        identifier="client-1",
        custom_attributes={"code_abonent": "42"},
        additional_attributes={"city": "Tashkent"},
    )
    assert set(body) == {"source_id", "pubsub_token", "id", "name", "email", "phone_number"}
    assert body["email"] == "alice@example.com"
    contact = api.get(f"{APP}/contacts/{body['id']}").json()["payload"]
    assert contact["custom_attributes"] == {"code_abonent": "42"}
    assert contact["additional_attributes"] == {}  # not a permitted parameter
    assert contact["identifier"] == "client-1"
    shown = anonymous.get(f"{PUBLIC}/contacts/{body['source_id']}").json()
    assert shown == body


def test_known_person_is_reused_with_a_fresh_source_id(
    anonymous: httpx.Client, api: httpx.Client
) -> None:
    first = public_contact(anonymous, name="Alice", identifier="c-1", email="a@example.com")
    by_identifier = public_contact(anonymous, name="Someone Else", identifier="c-1")
    by_email = public_contact(anonymous, name="Alice again", email="A@EXAMPLE.COM")
    with_phone = public_contact(anonymous, name="Bob", phone_number="+79990000002")
    by_phone = public_contact(anonymous, phone_number="+79990000002")
    assert by_identifier["id"] == by_email["id"] == first["id"]
    assert by_phone["id"] == with_phone["id"] != first["id"]
    assert len({first["source_id"], by_identifier["source_id"], by_email["source_id"]}) == 3
    assert len({first["pubsub_token"], by_identifier["pubsub_token"]}) == 2
    assert by_identifier["name"] == "Alice"  # the reused contact is not updated
    contact = api.get(f"{APP}/contacts/{first['id']}").json()["payload"]
    assert len(contact["contact_inboxes"]) == 3


def test_given_source_id_returns_that_contact_inbox(anonymous: httpx.Client) -> None:
    first = public_contact(anonymous, name="Alice", source_id="my-source")
    again = public_contact(anonymous, name="Other", source_id="my-source")
    assert again == first


def test_nameless_contact_gets_a_made_up_name(anonymous: httpx.Client) -> None:
    body = public_contact(anonymous)
    assert body["name"].count("-") == 2


def test_hmac_identity(anonymous: httpx.Client, api: httpx.Client) -> None:
    verified = public_contact(
        anonymous, identifier="client-7", identifier_hash=identifier_hash("client-7"), name="V"
    )
    refused = anonymous.post(
        f"{PUBLIC}/contacts", json={"identifier": "client-8", "identifier_hash": "0" * 64}
    )
    assert refused.status_code == 500
    assert refused.json() == {"status": 500, "error": "Internal Server Error"}
    display_id = public_conversation(anonymous, verified["source_id"])["id"]
    conversation = api.get(f"{APP}/conversations/{display_id}").json()
    assert conversation["meta"]["hmac_verified"] is True


def test_conversation_create_keeps_only_custom_attributes(
    anonymous: httpx.Client, api: httpx.Client
) -> None:
    person = public_contact(anonymous, name="Alice")
    body = public_conversation(
        anonymous,
        person["source_id"],
        custom_attributes={"number_con": "A-1"},
        status="resolved",
        assignee_id=1,
        message={"content": "Hello", "message_type": "incoming"},
    )
    assert set(body) >= {"id", "uuid", "inbox_id", "status", "messages", "contact"}
    assert body["status"] == "open"
    assert body["messages"] == []
    assert body["contact"]["id"] == person["id"]
    full = api.get(f"{APP}/conversations/{body['id']}").json()
    assert full["custom_attributes"] == {"number_con": "A-1"}
    assert "assignee" not in full["meta"]


def test_conversations_list_and_show(anonymous: httpx.Client) -> None:
    person, display_id = start_conversation(anonymous)
    base = f"{PUBLIC}/contacts/{person['source_id']}/conversations"
    listed = anonymous.get(base).json()
    shown = anonymous.get(f"{base}/{display_id}").json()
    assert [item["id"] for item in listed] == [display_id]
    assert shown["id"] == display_id
    assert anonymous.get(f"{base}/{display_id + 100}").status_code == 404


def test_contact_messages_are_incoming_with_integer_type(
    anonymous: httpx.Client, api: httpx.Client
) -> None:
    person, display_id = start_conversation(anonymous)
    base = f"{PUBLIC}/contacts/{person['source_id']}/conversations/{display_id}"
    sent = anonymous.post(
        f"{base}/messages", json={"content": "Help", "message_type": "outgoing", "echo_id": "e1"}
    ).json()
    assert sent["message_type"] == 0
    assert sent["content"] == "Help"
    assert sent["conversation_id"] == display_id
    assert sent["sender"]["type"] == "contact"
    api.post(
        f"{APP}/conversations/{display_id}/messages", json={"content": "note", "private": True}
    )
    api.post(f"{APP}/conversations/{display_id}/messages", json={"content": "Answer"})
    listed = anonymous.get(f"{base}/messages").json()
    assert [item["content"] for item in listed] == ["Help", "Answer"]
    assert [item["message_type"] for item in listed] == [0, 1]


def test_contact_resolves_and_resolving_twice_changes_nothing(
    anonymous: httpx.Client, api: httpx.Client
) -> None:
    person, display_id = start_conversation(anonymous, name="alice")
    base = f"{PUBLIC}/contacts/{person['source_id']}/conversations/{display_id}"
    first = anonymous.post(f"{base}/toggle_status")
    second = anonymous.post(f"{base}/toggle_status")
    assert first.json()["status"] == second.json()["status"] == "resolved"
    activities = [
        item["content"]
        for item in api.get(f"{APP}/conversations/{display_id}/messages").json()["payload"]
        if item["message_type"] == 2
    ]
    assert activities == ["Conversation was resolved by Alice"]


def test_submitted_values_update_a_message(anonymous: httpx.Client) -> None:
    person, display_id = start_conversation(anonymous)
    base = f"{PUBLIC}/contacts/{person['source_id']}/conversations/{display_id}/messages"
    message = anonymous.post(base, json={"content": "pick one"}).json()
    updated = anonymous.patch(
        f"{base}/{message['id']}",
        json={"submitted_values": [{"name": "csat", "value": 5, "extra": "dropped"}]},
    ).json()
    assert updated["content_attributes"]["submitted_values"] == [{"name": "csat", "value": 5}]


def test_typing_and_last_seen_answer_empty_200(anonymous: httpx.Client) -> None:
    person, display_id = start_conversation(anonymous)
    base = f"{PUBLIC}/contacts/{person['source_id']}/conversations/{display_id}"
    typing = anonymous.post(f"{base}/toggle_typing", json={"typing_status": "on"})
    seen = anonymous.post(f"{base}/update_last_seen")
    assert (typing.status_code, typing.content) == (200, b"")
    assert (seen.status_code, seen.content) == (200, b"")
    assert anonymous.get(base).json()["contact_last_seen_at"] > 0


def test_contact_update_returns_the_contact_record(anonymous: httpx.Client) -> None:
    person = public_contact(anonymous, name="Alice", identifier="c-9")
    updated = anonymous.patch(
        f"{PUBLIC}/contacts/{person['source_id']}",
        json={"name": "Alice B", "identifier": "changed", "custom_attributes": {"x": 1}},
    ).json()
    assert updated["id"] == person["id"]
    assert updated["name"] == "Alice B"
    assert updated["identifier"] == "c-9"  # the public controller drops `identifier`
    assert updated["custom_attributes"] == {"x": 1}
