"""Application API messages: types, private notes, the list envelope, status, deletion."""

from __future__ import annotations

import httpx

from .support import APP, Chatwoot, start_conversation


def test_default_is_an_outgoing_message_from_the_token_owner(api: httpx.Client) -> None:
    _, display_id = start_conversation(api)
    body = api.post(
        f"{APP}/conversations/{display_id}/messages", json={"content": "Hello", "echo_id": "tmp-1"}
    ).json()
    assert body["message_type"] == 1
    assert body["private"] is False
    assert body["conversation_id"] == display_id
    assert body["echo_id"] == "tmp-1"
    assert body["sender"]["type"] == "user"
    assert body["status"] == "sent"
    assert {
        "id",
        "content",
        "inbox_id",
        "content_type",
        "content_attributes",
        "created_at",
        "source_id",
    } <= set(body)


def test_private_note(api: httpx.Client) -> None:
    _, display_id = start_conversation(api)
    body = api.post(
        f"{APP}/conversations/{display_id}/messages",
        json={"content": "internal", "private": True, "message_type": "outgoing"},
    ).json()
    assert (body["private"], body["message_type"]) == (True, 1)


def test_incoming_message_through_the_api_inbox(api: httpx.Client) -> None:
    person, display_id = start_conversation(api)
    body = api.post(
        f"{APP}/conversations/{display_id}/messages",
        json={"content": "from the contact", "message_type": "incoming"},
    ).json()
    assert body["message_type"] == 0
    assert body["sender"] == {**body["sender"], "id": person["id"], "type": "contact"}


def test_unknown_message_or_content_type_is_a_422(api: httpx.Client) -> None:
    _, display_id = start_conversation(api)
    url = f"{APP}/conversations/{display_id}/messages"
    bad_type = api.post(url, json={"content": "x", "message_type": "shout"})
    bad_content = api.post(url, json={"content": "x", "content_type": "poem"})
    assert (bad_type.status_code, bad_type.json()) == (
        422,
        {"error": "'shout' is not a valid message_type"},
    )
    assert bad_content.status_code == 422


def test_content_attributes_as_object_or_json_string(api: httpx.Client) -> None:
    _, display_id = start_conversation(api)
    url = f"{APP}/conversations/{display_id}/messages"
    as_object = api.post(url, json={"content": "a", "content_attributes": {"in_reply_to": 1}})
    as_string = api.post(url, data={"content": "b", "content_attributes": '{"k": "v"}'})
    assert as_object.json()["content_attributes"] == {"in_reply_to": 1}
    assert as_string.json()["content_attributes"] == {"k": "v"}


def test_multipart_attachment_is_kept_and_served(api: httpx.Client) -> None:
    _, display_id = start_conversation(api)
    response = api.post(
        f"{APP}/conversations/{display_id}/messages",
        data={"content": "file", "message_type": "outgoing"},
        files={"attachments[]": ("report.pdf", b"%PDF-1.4 data", "application/pdf")},
    )
    attachment = response.json()["attachments"][0]
    assert attachment["file_type"] == "file"
    assert attachment["extension"] == "pdf"
    downloaded = api.get(attachment["data_url"])
    assert downloaded.content == b"%PDF-1.4 data"


def test_list_envelope_holds_activity_and_private_messages(api: httpx.Client) -> None:
    _, display_id = start_conversation(api)
    url = f"{APP}/conversations/{display_id}/messages"
    api.post(url, json={"content": "one"})
    api.post(url, json={"content": "note", "private": True})
    api.post(f"{APP}/conversations/{display_id}/labels", json={"labels": ["vip"]})
    body = api.get(url).json()
    assert set(body) == {"meta", "payload"}
    assert {
        "labels",
        "additional_attributes",
        "contact",
        "agent_last_seen_at",
        "assignee_last_seen_at",
    } <= set(body["meta"])
    assert body["meta"]["labels"] == ["vip"]
    assert body["meta"]["contact"]["type"] == "contact"
    assert [(m["content"], m["message_type"]) for m in body["payload"]] == [
        ("one", 1),
        ("note", 1),
        ("Sandbox Admin added vip", 2),
    ]


def test_list_is_the_last_twenty_and_pages_with_before(api: httpx.Client) -> None:
    _, display_id = start_conversation(api)
    url = f"{APP}/conversations/{display_id}/messages"
    ids = [api.post(url, json={"content": f"m{n}"}).json()["id"] for n in range(25)]
    latest = [item["id"] for item in api.get(url).json()["payload"]]
    older = [item["id"] for item in api.get(url, params={"before": latest[0]}).json()["payload"]]
    assert latest == ids[-20:]
    assert older == ids[:5]


def test_status_update_and_deletion(api: httpx.Client) -> None:
    _, display_id = start_conversation(api)
    url = f"{APP}/conversations/{display_id}/messages"
    message = api.post(url, json={"content": "secret", "content_attributes": {"a": 1}}).json()
    read = api.patch(f"{url}/{message['id']}", json={"status": "read"}).json()
    back = api.patch(f"{url}/{message['id']}", json={"status": "delivered"}).json()
    assert (read["status"], back["status"]) == ("read", "read")
    deleted = api.delete(f"{url}/{message['id']}")
    assert deleted.status_code == 200
    assert deleted.json()["content"] == "This message was deleted"
    assert deleted.json()["content_attributes"] == {"deleted": True}
    assert api.delete(f"{url}/9999").status_code == 404


def test_incoming_message_reopens_a_resolved_conversation(api: httpx.Client) -> None:
    _, display_id = start_conversation(api)
    api.post(f"{APP}/conversations/{display_id}/toggle_status", json={"status": "resolved"})
    api.post(
        f"{APP}/conversations/{display_id}/messages",
        json={"content": "one more thing", "message_type": "incoming"},
    )
    assert api.get(f"{APP}/conversations/{display_id}").json()["status"] == "open"


def test_incoming_messages_only_in_api_inboxes(api: httpx.Client, cw: Chatwoot) -> None:
    widget = cw.emulator.add_inbox("Widget", channel_type="Channel::WebWidget")
    contact = api.post(f"{APP}/contacts", json={"name": "Bob", "inbox_id": widget["id"]}).json()
    contact_id = contact["payload"]["contact"]["id"]
    created = api.post(
        f"{APP}/conversations", json={"inbox_id": widget["id"], "contact_id": contact_id}
    ).json()
    url = f"{APP}/conversations/{created['id']}/messages"
    refused = api.post(url, json={"content": "hi", "message_type": "incoming"})
    assert refused.status_code == 422
    assert refused.json() == {"error": "Incoming messages are only allowed in Api inboxes"}
    reply = api.post(url, json={"content": "hello"}).json()
    status = api.patch(f"{url}/{reply['id']}", json={"status": "read"})
    assert status.status_code == 403


def test_echo_id_is_only_in_the_answer_to_the_create(api: httpx.Client) -> None:
    """`attr_accessor :echo_id`: Chatwoot never stores it, so no later read shows it."""
    _, display_id = start_conversation(api)
    created = api.post(
        f"{APP}/conversations/{display_id}/messages", json={"content": "Hi", "echo_id": "tmp-2"}
    ).json()
    assert created["echo_id"] == "tmp-2"

    listed = api.get(f"{APP}/conversations/{display_id}/messages").json()["payload"]
    shown = api.get(f"{APP}/conversations/{display_id}").json()

    assert [item.get("echo_id") for item in listed if item["id"] == created["id"]] == [None]
    assert "echo_id" not in shown["messages"][0]


def test_source_id_is_stored_and_listed(api: httpx.Client) -> None:
    """The message's id in the system it came from is a column: listed back, unlike echo_id."""
    _, display_id = start_conversation(api)
    created = api.post(
        f"{APP}/conversations/{display_id}/messages", json={"content": "Hi", "source_id": "ext-1"}
    ).json()

    listed = api.get(f"{APP}/conversations/{display_id}/messages").json()["payload"]

    assert [item["source_id"] for item in listed if item["id"] == created["id"]] == ["ext-1"]
