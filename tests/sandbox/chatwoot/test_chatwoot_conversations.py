"""Application API conversations: the index envelope, the traps, status, assignment, labels."""

from __future__ import annotations

from typing import Any

import httpx

from .support import APP, INBOX_ID, Chatwoot, public_contact, start_conversation


def _conversation(api: httpx.Client, display_id: int) -> dict[str, Any]:
    response = api.get(f"{APP}/conversations/{display_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_index_envelope_counts_and_status_filter(api: httpx.Client, cw: Chatwoot) -> None:
    _, first = start_conversation(api, name="A")
    _, second = start_conversation(api, name="B")
    api.post(f"{APP}/conversations/{second}/toggle_status", json={"status": "resolved"})
    agent = cw.emulator.add_agent("Ann", "ann@example.com")
    api.post(f"{APP}/conversations/{first}/assignments", json={"assignee_id": agent["id"]})

    default = api.get(f"{APP}/conversations").json()
    resolved = api.get(f"{APP}/conversations", params={"status": "resolved"}).json()
    everything = api.get(f"{APP}/conversations", params={"status": "all"}).json()

    assert set(default) == {"data"}
    assert default["data"]["meta"] == {
        "mine_count": 0,
        "assigned_count": 1,
        "unassigned_count": 0,
        "all_count": 1,
    }
    assert [item["id"] for item in default["data"]["payload"]] == [first]
    assert [item["id"] for item in resolved["data"]["payload"]] == [second]
    assert everything["data"]["meta"]["all_count"] == 2


def test_conversation_partial_keys(api: httpx.Client) -> None:
    _, display_id = start_conversation(api)
    body = _conversation(api, display_id)
    expected = {
        "meta",
        "id",
        "messages",
        "account_id",
        "uuid",
        "additional_attributes",
        "agent_last_seen_at",
        "assignee_last_seen_at",
        "can_reply",
        "contact_last_seen_at",
        "custom_attributes",
        "inbox_id",
        "labels",
        "muted",
        "snoozed_until",
        "status",
        "created_at",
        "updated_at",
        "timestamp",
        "first_reply_created_at",
        "unread_count",
        "last_non_activity_message",
        "last_activity_at",
        "priority",
        "waiting_since",
    }
    assert expected <= set(body)
    assert body["id"] == display_id
    assert body["meta"]["channel"] == "Channel::Api"
    assert {"sender", "hmac_verified"} <= set(body["meta"])
    assert isinstance(body["updated_at"], float)


def test_display_ids_count_from_one(api: httpx.Client) -> None:
    ids = [start_conversation(api, name=f"P{n}")[1] for n in range(3)]
    assert ids == [1, 2, 3]
    assert api.get(f"{APP}/conversations/99").json() == {"error": "Resource could not be found"}


def test_patch_changes_only_priority(api: httpx.Client, cw: Chatwoot) -> None:
    _, display_id = start_conversation(api)
    agent = cw.emulator.add_agent("Ann", "ann@example.com")
    team = cw.emulator.add_team("Support")
    response = api.patch(
        f"{APP}/conversations/{display_id}",
        json={
            "status": "resolved",
            "assignee_id": agent["id"],
            "team_id": team["id"],
            "custom_attributes": {"x": 1},
            "priority": "high",
        },
    )
    assert response.status_code == 200
    body = _conversation(api, display_id)
    assert body["status"] == "open"
    assert "assignee" not in body["meta"]
    assert "team" not in body["meta"]
    assert body["custom_attributes"] == {}
    assert body["priority"] == "high"
    put = api.put(f"{APP}/conversations/{display_id}", json={"status": "pending"})
    assert put.json()["status"] == "open"


def test_toggle_status_semantics_and_envelope(api: httpx.Client) -> None:
    _, display_id = start_conversation(api)
    url = f"{APP}/conversations/{display_id}/toggle_status"
    resolved = api.post(url, json={}).json()
    assert resolved == {
        "meta": {},
        "payload": {
            "success": True,
            "conversation_id": display_id,
            "current_status": "resolved",
            "snoozed_until": None,
        },
    }
    assert api.post(url).json()["payload"]["current_status"] == "open"
    assert (
        api.post(url, json={"status": "pending"}).json()["payload"]["current_status"] == "pending"
    )
    assert api.post(url).json()["payload"]["current_status"] == "open"  # pending toggles to open
    snoozed = api.post(url, json={"status": "snoozed", "snoozed_until": 1893456000}).json()
    assert snoozed["payload"]["current_status"] == "snoozed"
    assert snoozed["payload"]["snoozed_until"] == "2030-01-01T00:00:00.000Z"
    reopened = api.post(url, json={"status": "open"}).json()
    assert reopened["payload"]["snoozed_until"] is None


def test_unknown_status_or_priority_is_a_500(api: httpx.Client) -> None:
    _, display_id = start_conversation(api)
    status = api.post(f"{APP}/conversations/{display_id}/toggle_status", json={"status": "closed"})
    priority = api.post(f"{APP}/conversations/{display_id}/toggle_priority", json={"priority": "x"})
    assert (status.status_code, priority.status_code) == (500, 500)
    assert status.json() == {"status": 500, "error": "Internal Server Error"}


def test_toggle_priority_answers_empty(api: httpx.Client) -> None:
    _, display_id = start_conversation(api)
    url = f"{APP}/conversations/{display_id}/toggle_priority"
    response = api.post(url, json={"priority": "urgent"})
    assert (response.status_code, response.content) == (200, b"")
    assert _conversation(api, display_id)["priority"] == "urgent"
    api.post(url, json={"priority": None})
    assert _conversation(api, display_id)["priority"] is None


def test_custom_attributes_replace_the_whole_set(api: httpx.Client) -> None:
    _, display_id = start_conversation(api)
    url = f"{APP}/conversations/{display_id}/custom_attributes"
    api.post(url, json={"custom_attributes": {"a": 1, "b": 2}})
    response = api.post(url, json={"custom_attributes": {"c": 3}})
    assert response.json() == {"custom_attributes": {"c": 3}}
    assert _conversation(api, display_id)["custom_attributes"] == {"c": 3}


def test_labels_replace_the_whole_list(api: httpx.Client) -> None:
    _, display_id = start_conversation(api)
    url = f"{APP}/conversations/{display_id}/labels"
    api.post(url, json={"labels": ["VIP", "billing"]})
    response = api.post(url, json={"labels": ["urgent"]})
    assert response.json() == {"payload": ["urgent"]}
    assert api.get(url).json() == {"payload": ["urgent"]}
    assert api.post(url, json={}).json() == {"payload": []}  # no list clears them


def test_assignments(api: httpx.Client, cw: Chatwoot) -> None:
    _, display_id = start_conversation(api)
    url = f"{APP}/conversations/{display_id}/assignments"
    agent = cw.emulator.add_agent("Ann", "ann@example.com")
    team = cw.emulator.add_team("Support")

    assigned = api.post(url, json={"assignee_id": agent["id"]}).json()
    expected_keys = {
        "id",
        "account_id",
        "availability_status",
        "auto_offline",
        "confirmed",
        "email",
        "provider",
        "available_name",
        "name",
        "role",
        "thumbnail",
    }
    assert expected_keys <= set(assigned)
    assert assigned["id"] == agent["id"]
    assert _conversation(api, display_id)["meta"]["assignee"]["id"] == agent["id"]

    unknown = api.post(url, json={"assignee_id": 9999})
    assert unknown.status_code == 200
    assert unknown.json() is None
    assert "assignee" not in _conversation(api, display_id)["meta"]

    team_body = api.post(url, json={"team_id": team["id"]}).json()
    assert team_body["id"] == team["id"]
    assert team_body["name"] == "support"
    assert _conversation(api, display_id)["meta"]["team"]["id"] == team["id"]
    assert api.post(url, json={}).json() is None


def test_new_team_drops_an_assignee_outside_it(api: httpx.Client, cw: Chatwoot) -> None:
    _, display_id = start_conversation(api)
    url = f"{APP}/conversations/{display_id}/assignments"
    outsider = cw.emulator.add_agent("Ann", "ann@example.com")
    member = cw.emulator.add_agent("Bob", "bob@example.com")
    team = cw.emulator.add_team("Sales")
    api.post(f"{APP}/teams/{team['id']}/team_members", json={"user_ids": [member["id"]]})

    api.post(url, json={"assignee_id": outsider["id"]})
    api.post(url, json={"team_id": team["id"]})
    assert "assignee" not in _conversation(api, display_id)["meta"]
    api.post(url, json={"assignee_id": member["id"]})
    api.post(url, json={"team_id": team["id"]})
    assert _conversation(api, display_id)["meta"]["assignee"]["id"] == member["id"]


def test_agent_who_opens_a_conversation_takes_it(api: httpx.Client, cw: Chatwoot) -> None:
    _, display_id = start_conversation(api)
    agent = cw.emulator.add_agent("Ann", "ann@example.com")
    api.post(f"{APP}/conversations/{display_id}/toggle_status", json={"status": "pending"})
    with cw.client(agent["access_token"]) as as_agent:
        as_agent.post(f"{APP}/conversations/{display_id}/toggle_status", json={"status": "open"})
    assert _conversation(api, display_id)["meta"]["assignee"]["id"] == agent["id"]


def test_create_by_source_id_with_a_first_message(api: httpx.Client) -> None:
    person = public_contact(api, name="Alice", email="alice@example.com")
    response = api.post(
        f"{APP}/conversations",
        json={
            "source_id": person["source_id"],
            "status": "pending",
            "custom_attributes": {"number_con": "7"},
            "message": {"content": "We got your request"},
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "pending"
    assert body["custom_attributes"] == {"number_con": "7"}
    assert body["messages"][0]["content"] == "We got your request"
    assert body["messages"][0]["message_type"] == 1
    assert body["first_reply_created_at"] > 0


def test_create_by_inbox_and_contact(api: httpx.Client) -> None:
    contact = api.post(f"{APP}/contacts", json={"name": "Bob", "email": "bob@example.com"}).json()
    contact_id = contact["payload"]["contact"]["id"]
    created = api.post(
        f"{APP}/conversations", json={"inbox_id": INBOX_ID, "contact_id": contact_id}
    )
    assert created.status_code == 200
    assert created.json()["meta"]["sender"]["id"] == contact_id
    missing = api.post(f"{APP}/conversations", json={"source_id": "nope"})
    assert missing.status_code == 404


def test_only_administrators_delete_conversations(api: httpx.Client, cw: Chatwoot) -> None:
    _, display_id = start_conversation(api, name="A")
    cw.emulator.contact_message(display_id, "hello")
    agent = cw.emulator.add_agent("Ann", "ann@example.com")
    url = f"{APP}/conversations/{display_id}"
    with cw.client(agent["access_token"]) as http:
        assert http.get(url).status_code == 200  # the agent may see it...
        refused = http.delete(url)  # ...but not delete it
    assert (refused.status_code, refused.json()) == (
        401,
        {"error": "You are not authorized to do this action"},
    )
    deleted = api.delete(url)
    assert (deleted.status_code, deleted.content) == (200, b"")
    gone = api.get(url)
    assert (gone.status_code, gone.json()) == (404, {"error": "Resource could not be found"})
    assert api.get(f"{APP}/conversations/{display_id}/messages").status_code == 404
    assert api.delete(url).status_code == 404
    # The contact and its contact_inbox stay.
    assert api.get(f"{APP}/contacts/1").json()["payload"]["contact_inboxes"]
