"""The demo sandbox's Chatwoot: the deployment's contact attributes, filled on its contacts."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from switchboard.sandbox.demo_data import build_demo_data
from switchboard.sandbox.demo_data.builder import CONTRACTORS
from switchboard.sandbox.demo_data.chatwoot import chatwoot_contacts
from switchboard.sandbox.demo_data.keys import CLOBUS_FOLDER
from switchboard.sandbox.runner import CHATWOOT_TOKEN, Sandbox, start_sandbox


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    running = await start_sandbox(demo_data=True)
    try:
        yield running
    finally:
        await running.stop()


async def test_demo_defines_and_fills_code_abonent_and_inn_pinfl(sandbox: Sandbox) -> None:
    assert sandbox.data is not None
    clients = [
        row
        for row in sandbox.data.onec[CONTRACTORS]
        if row["Parent_Key"] == CLOBUS_FOLDER and not row["DeletionMark"]
    ]
    client = clients[3]
    account = f"/api/v1/accounts/{sandbox.chatwoot.account_id}"
    async with httpx.AsyncClient(
        base_url=sandbox.chatwoot_url, headers={"api_access_token": CHATWOOT_TOKEN}
    ) as http:
        definitions = await http.get(
            f"{account}/custom_attribute_definitions", params={"attribute_model": 1}
        )
        found = await http.post(
            f"{account}/contacts/filter",
            json={
                "payload": [
                    {
                        "attribute_key": "code_abonent",
                        "filter_operator": "equal_to",
                        "values": [str(client["КодАбонентаClobus"])],
                        "query_operator": "AND",
                    },
                    {
                        "attribute_key": "inn_pinfl",
                        "filter_operator": "equal_to",
                        "values": [client["ИНН"]],
                        "query_operator": None,
                    },
                ]
            },
        )
        everyone = await http.get(f"{account}/contacts")
    keys = {item["attribute_key"] for item in definitions.json()}
    assert {"code_abonent", "inn_pinfl"} <= keys
    assert found.status_code == 200, found.text
    [contact] = found.json()["payload"]
    assert contact["custom_attributes"]["inn_pinfl"] == client["ИНН"]
    assert contact["custom_attributes"]["client_type"] == "owner"
    assert contact["contact_inboxes"][0]["inbox"]["id"] == sandbox.chatwoot.inbox_id
    assert everyone.json()["meta"]["count"] == len(clients)


def test_demo_contacts_are_deterministic_and_unique() -> None:
    first = chatwoot_contacts(build_demo_data(seed=7, consultations=20))
    again = chatwoot_contacts(build_demo_data(seed=7, consultations=20))
    assert first == again
    phones = [contact.phone_number for contact in first if contact.phone_number]
    emails = [contact.email for contact in first if contact.email]
    assert len(phones) == len(set(phones)) == len(first)
    assert len(emails) == len(set(emails))
    for contact in first:
        assert contact.phone_number is not None
        assert contact.phone_number.startswith("+")
        assert contact.custom_attributes["code_abonent"].isdigit()
        assert contact.custom_attributes["inn_pinfl"].isdigit()
        assert not contact.name.startswith("Clobus ")


async def test_demo_has_the_teams_bookings_are_assigned_to(sandbox: Sandbox) -> None:
    """The demo's Chatwoot has the teams of the platform's defaults, so a demo booking lands in
    its team (the sandbox cannot import the product: this test keeps the two names equal)."""
    from switchboard.consultations.settings import ConsultationSettings

    defaults = ConsultationSettings.model_fields
    wanted = {
        defaults["chatwoot_team_accounting"].default.lower(),
        defaults["chatwoot_team_tech_support"].default.lower(),
    }
    async with httpx.AsyncClient(
        base_url=sandbox.chatwoot_url, headers={"api_access_token": CHATWOOT_TOKEN}
    ) as http:
        teams = await http.get(f"/api/v1/accounts/{sandbox.chatwoot.account_id}/teams")
    assert teams.status_code == 200
    # Chatwoot keeps team names in lower case; the adapter matches them so.
    assert {team["name"] for team in teams.json()} == wanted
