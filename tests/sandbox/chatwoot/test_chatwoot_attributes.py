"""Custom attribute definitions: CRUD, the model filter, validations and Chatwoot's refusals."""

from __future__ import annotations

from typing import Any

import httpx

from .support import APP, BOT_TOKEN, Chatwoot

DEFINITIONS = f"{APP}/custom_attribute_definitions"


def _define(api: httpx.Client, **fields: Any) -> dict[str, Any]:
    response = api.post(DEFINITIONS, json=fields)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_create_answers_the_definition_partial(api: httpx.Client) -> None:
    body = _define(
        api,
        attribute_display_name="Код абонента",
        attribute_key="code_abonent",
        attribute_model=1,
        attribute_description="Subscriber code",
        default_value=5,  # not permitted: stays null
    )
    assert set(body) == {
        "id",
        "attribute_display_name",
        "attribute_display_type",
        "attribute_description",
        "attribute_key",
        "regex_pattern",
        "regex_cue",
        "attribute_values",
        "attribute_model",
        "default_value",
        "created_at",
        "updated_at",
    }
    assert body["attribute_model"] == "contact_attribute"  # the integer 1 names the enum
    assert body["attribute_display_type"] == "text"  # the column default
    assert body["attribute_values"] == []
    assert body["default_value"] is None
    assert body["created_at"].endswith("Z")
    assert api.get(f"{DEFINITIONS}/{body['id']}").json() == body


def test_nested_and_wrapped_bodies_both_work(api: httpx.Client) -> None:
    nested = _define(
        api,
        custom_attribute_definition={
            "attribute_display_name": "Plan",
            "attribute_key": "plan",
            "attribute_display_type": "list",
            "attribute_values": ["basic", "pro"],
        },
    )
    assert nested["attribute_model"] == "conversation_attribute"  # the default model
    assert nested["attribute_values"] == ["basic", "pro"]
    missing = api.post(DEFINITIONS, json={"something": "else"})
    assert missing.status_code == 422
    assert missing.json() == {
        "error": "param is missing or the value is empty: custom_attribute_definition"
    }


def test_index_filters_by_attribute_model(api: httpx.Client) -> None:
    conversation = _define(api, attribute_display_name="Номер", attribute_key="number_con")
    contact = _define(
        api, attribute_display_name="ИНН", attribute_key="inn_pinfl", attribute_model=1
    )

    def keys(**params: Any) -> list[str]:
        response = api.get(DEFINITIONS, params=params)
        assert response.status_code == 200
        return [item["attribute_key"] for item in response.json()]

    assert keys() == ["number_con", "inn_pinfl"]  # a bare array, both models
    assert keys(attribute_model="contact_attribute") == ["inn_pinfl"]
    assert keys(attribute_model="1") == ["inn_pinfl"]
    assert keys(attribute_model="0") == ["number_con"]
    assert keys(attribute_model="nonsense") == []
    assert conversation["id"] != contact["id"]


def test_keys_are_unique_per_model_and_not_standard(api: httpx.Client) -> None:
    _define(api, attribute_display_name="Код", attribute_key="code_abonent", attribute_model=1)
    same_model = api.post(
        DEFINITIONS,
        json={"attribute_display_name": "X", "attribute_key": "code_abonent", "attribute_model": 1},
    )
    other_model = api.post(
        DEFINITIONS,
        json={"attribute_display_name": "X", "attribute_key": "code_abonent", "attribute_model": 0},
    )
    standard = api.post(
        DEFINITIONS,
        json={"attribute_display_name": "E", "attribute_key": "email", "attribute_model": 1},
    )
    blank = api.post(DEFINITIONS, json={"attribute_key": "", "attribute_model": 1})
    assert same_model.status_code == 422
    assert same_model.json() == {
        "message": "Attribute key has already been taken",
        "attributes": ["attribute_key"],
    }
    assert other_model.status_code == 200
    assert standard.json() == {
        "message": "Attribute key The provided key is not allowed as it might conflict "
        "with default attributes.",
        "attributes": ["attribute_key"],
    }
    assert blank.json() == {
        "message": "Attribute display name can't be blank, Attribute key can't be blank",
        "attributes": ["attribute_display_name", "attribute_key"],
    }


def test_bad_enum_values_are_server_errors(api: httpx.Client) -> None:
    response = api.post(
        DEFINITIONS,
        json={"attribute_display_name": "X", "attribute_key": "x", "attribute_model": "people"},
    )
    as_string = api.post(
        DEFINITIONS,
        json={"attribute_display_name": "X", "attribute_key": "x", "attribute_model": "1"},
    )
    assert response.status_code == 500
    assert as_string.status_code == 500  # Rails enums take the integer, not its string
    assert api.get(DEFINITIONS).json() == []


def test_update_and_destroy(api: httpx.Client) -> None:
    created = _define(api, attribute_display_name="Old", attribute_key="topic")
    url = f"{DEFINITIONS}/{created['id']}"
    updated = api.patch(url, json={"attribute_display_name": "New", "regex_pattern": "^\\d+$"})
    assert updated.status_code == 200
    assert updated.json()["attribute_display_name"] == "New"
    assert updated.json()["regex_pattern"] == "^\\d+$"
    assert updated.json()["attribute_key"] == "topic"
    blanked = api.patch(url, json={"attribute_display_name": ""})
    assert blanked.status_code == 422
    deleted = api.delete(url)
    assert (deleted.status_code, deleted.content) == (204, b"")
    gone = api.get(url)
    assert (gone.status_code, gone.json()) == (404, {"error": "Resource could not be found"})


def test_agents_may_define_attributes_but_bots_may_not(cw: Chatwoot) -> None:
    agent = cw.emulator.add_agent("Ann", "ann@example.com")
    body = {"attribute_display_name": "X", "attribute_key": "x"}
    with cw.client(agent["access_token"]) as http:
        assert http.post(DEFINITIONS, json=body).status_code == 200
    with cw.client(BOT_TOKEN) as bot:
        refused = bot.get(DEFINITIONS)
    assert refused.status_code == 401
