"""Account setup through the Application API: agents, teams, labels, inboxes, inbox members."""

from __future__ import annotations

import httpx

from .support import APP, INBOX_ID, Chatwoot


def test_agents_list_and_create(api: httpx.Client) -> None:
    created = api.post(
        f"{APP}/agents", json={"name": "Zed Agent", "email": "zed@example.com", "role": "agent"}
    )
    assert created.status_code == 200, created.text
    agent = created.json()
    assert (agent["name"], agent["role"], agent["email"]) == (
        "Zed Agent",
        "agent",
        "zed@example.com",
    )
    listed = api.get(f"{APP}/agents").json()
    assert isinstance(listed, list)  # a bare array, not a payload envelope
    assert [item["name"] for item in listed] == ["Sandbox Admin", "Zed Agent"]
    again = api.post(f"{APP}/agents", json={"name": "Zed", "email": "ZED@example.com"})
    assert again.status_code == 422
    assert again.json()["attributes"] == ["user_id"]


def test_agent_validation(api: httpx.Client) -> None:
    response = api.post(f"{APP}/agents", json={"name": "", "email": "not-an-email"})
    assert response.status_code == 422
    assert response.json() == {
        "message": "Email is invalid, Name can't be blank",
        "attributes": ["email", "name"],
    }


def test_teams_are_lower_cased_and_unique(api: httpx.Client) -> None:
    team = api.post(f"{APP}/teams", json={"name": "Support Team", "description": "L1"}).json()
    assert team == {
        "id": team["id"],
        "name": "support team",
        "description": "L1",
        "allow_auto_assign": True,
        "account_id": 1,
        "is_member": False,
    }
    assert api.post(f"{APP}/teams", json={"name": "SUPPORT TEAM"}).status_code == 422
    renamed = api.patch(f"{APP}/teams/{team['id']}", json={"name": "Sales"}).json()
    assert renamed["name"] == "sales"
    assert [item["name"] for item in api.get(f"{APP}/teams").json()] == ["sales"]


def test_team_members(api: httpx.Client, cw: Chatwoot) -> None:
    agent = cw.emulator.add_agent("Ann", "ann@example.com")
    team = cw.emulator.add_team("Support")
    url = f"{APP}/teams/{team['id']}/team_members"
    added = api.post(url, json={"user_ids": [agent["id"]]}).json()
    assert [item["id"] for item in added] == [agent["id"]]
    assert [item["id"] for item in api.get(url).json()] == [agent["id"]]
    assert api.post(url, json={"user_ids": [999]}).status_code == 422


def test_labels(api: httpx.Client) -> None:
    created = api.post(f"{APP}/labels", json={"title": "VIP", "description": "Important"}).json()
    assert created["title"] == "vip"
    assert created["color"] == "#1f93ff"
    assert api.get(f"{APP}/labels").json() == {"payload": [created]}
    spaced = api.post(f"{APP}/labels", json={"title": "two words"})
    duplicate = api.post(f"{APP}/labels", json={"title": "vip"})
    assert spaced.json() == {"message": "Title is invalid", "attributes": ["title"]}
    assert duplicate.json() == {"message": "Title has already been taken", "attributes": ["title"]}


def test_inboxes(api: httpx.Client, cw: Chatwoot) -> None:
    body = api.get(f"{APP}/inboxes").json()
    inbox = body["payload"][0]
    assert inbox["id"] == INBOX_ID
    assert inbox["channel_type"] == "Channel::Api"
    assert inbox["inbox_identifier"] == "sandbox-inbox"
    assert inbox["hmac_token"] == cw.emulator.hmac_token  # administrators see it
    agent = cw.emulator.add_agent("Ann", "ann@example.com")
    with cw.client(agent["access_token"]) as as_agent:
        seen_by_agent = as_agent.get(f"{APP}/inboxes").json()["payload"][0]
    assert "hmac_token" not in seen_by_agent


def test_inbox_members_and_the_route_chatwoot_does_not_have(api: httpx.Client) -> None:
    agent = api.post(f"{APP}/agents", json={"name": "Ann", "email": "ann@example.com"}).json()
    added = api.post(f"{APP}/inbox_members", json={"inbox_id": INBOX_ID, "user_ids": [agent["id"]]})
    assert added.status_code == 200
    assert agent["id"] in [item["id"] for item in added.json()["payload"]]
    shown = api.get(f"{APP}/inbox_members/{INBOX_ID}").json()
    assert agent["id"] in [item["id"] for item in shown["payload"]]
    replaced = api.patch(f"{APP}/inbox_members", json={"inbox_id": INBOX_ID, "user_ids": [1]})
    assert [item["id"] for item in replaced.json()["payload"]] == [1]
    invented = api.post(f"{APP}/inboxes/{INBOX_ID}/members", json={"user_ids": [agent["id"]]})
    assert invented.status_code == 404
