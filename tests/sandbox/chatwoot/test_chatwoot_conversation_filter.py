"""POST /conversations/filter: standard and custom attributes, Chatwoot's refusals and paging."""

from __future__ import annotations

from typing import Any

import httpx

from .support import APP, Chatwoot, start_conversation

FILTER = f"{APP}/conversations/filter"


def _condition(
    key: str, operator: str, values: Any = None, query_operator: str | None = None
) -> dict[str, Any]:
    return {
        "attribute_key": key,
        "filter_operator": operator,
        "values": values if values is not None else [],
        "query_operator": query_operator,
    }


def _filter(api: httpx.Client, *conditions: dict[str, Any], **extra: Any) -> httpx.Response:
    return api.post(FILTER, json={"payload": list(conditions), **extra})


def _ids(response: httpx.Response) -> list[int]:
    assert response.status_code == 200, response.text
    return sorted(item["id"] for item in response.json()["payload"])


def _define(api: httpx.Client, key: str, display_type: str = "text", model: int = 0) -> None:
    response = api.post(
        f"{APP}/custom_attribute_definitions",
        json={
            "attribute_display_name": key,
            "attribute_key": key,
            "attribute_display_type": display_type,
            "attribute_model": model,
        },
    )
    assert response.status_code == 200, response.text


def _set_attributes(api: httpx.Client, display_id: int, **values: Any) -> None:
    response = api.post(
        f"{APP}/conversations/{display_id}/custom_attributes", json={"custom_attributes": values}
    )
    assert response.status_code == 200, response.text


def test_envelope_counts_and_every_status(api: httpx.Client, cw: Chatwoot) -> None:
    _, first = start_conversation(api, name="A")
    _, second = start_conversation(api, name="B")
    _, third = start_conversation(api, name="C")
    api.post(f"{APP}/conversations/{second}/toggle_status", json={"status": "resolved"})
    cw.emulator.assign(first, assignee_id=1)  # the administrator who asks

    response = _filter(api, _condition("inbox_id", "equal_to", ["1"]))
    body = response.json()
    assert set(body) == {"meta", "payload"}
    assert body["meta"] == {"mine_count": 1, "unassigned_count": 2, "all_count": 3}
    assert sorted(item["id"] for item in body["payload"]) == [first, second, third]
    assert {"meta", "messages", "custom_attributes", "status"} <= set(body["payload"][0])
    resolved = _filter(api, _condition("status", "equal_to", ["resolved"]))
    not_resolved = _filter(api, _condition("status", "not_equal_to", ["resolved"]))
    every = _filter(api, _condition("status", "equal_to", ["all"]))
    assert _ids(resolved) == [second]
    assert _ids(not_resolved) == [first, third]
    assert _ids(every) == [first, second, third]


def test_assignee_team_and_labels(api: httpx.Client, cw: Chatwoot) -> None:
    _, first = start_conversation(api, name="A")
    _, second = start_conversation(api, name="B")
    _, third = start_conversation(api, name="C")
    team = cw.emulator.add_team("support")
    cw.emulator.assign(first, assignee_id=1)
    cw.emulator.assign(second, team_id=team["id"])
    api.post(f"{APP}/conversations/{third}/labels", json={"labels": ["vip", "uz"]})

    assert _ids(_filter(api, _condition("assignee_id", "is_present"))) == [first]
    assert _ids(_filter(api, _condition("assignee_id", "is_not_present"))) == [second, third]
    assert _ids(_filter(api, _condition("assignee_id", "equal_to", [1]))) == [first]
    # NULL is never unequal to anything: unassigned conversations drop out.
    assert _ids(_filter(api, _condition("assignee_id", "not_equal_to", [99]))) == [first]
    assert _ids(_filter(api, _condition("team_id", "equal_to", [team["id"]]))) == [second]
    assert _ids(_filter(api, _condition("labels", "equal_to", ["vip"]))) == [third]
    assert _ids(_filter(api, _condition("labels", "not_equal_to", ["vip"]))) == [first, second]
    assert _ids(_filter(api, _condition("labels", "is_present"))) == [third]


def test_and_binds_tighter_than_or(api: httpx.Client, cw: Chatwoot) -> None:
    _, first = start_conversation(api, name="A")
    _, second = start_conversation(api, name="B")
    _, third = start_conversation(api, name="C")
    cw.emulator.assign(first, assignee_id=1)
    api.post(f"{APP}/conversations/{second}/toggle_status", json={"status": "pending"})
    response = _filter(
        api,
        _condition("status", "equal_to", ["pending"], "or"),
        _condition("assignee_id", "is_present", query_operator="AND"),
        _condition("status", "equal_to", ["open"]),
    )
    assert _ids(response) == [first, second]  # pending OR (assigned AND open)
    assert third not in _ids(response)


def test_custom_attributes_need_a_definition(api: httpx.Client) -> None:
    _, first = start_conversation(api, name="A")
    _, second = start_conversation(api, name="B")
    _set_attributes(api, first, topic_name="Зарплата")
    _set_attributes(api, second, topic_name="Склад")

    undefined = _filter(api, _condition("topic_name", "equal_to", ["зарплата"]))
    assert undefined.status_code == 422
    assert undefined.json()["error"] == (
        "Invalid attribute key - [topic_name]. The key should be one of [status,assignee_id,"
        "inbox_id,team_id,priority,display_id,campaign_id,labels,browser_language,"
        "conversation_language,referer,created_at,last_activity_at,mail_subject] or a custom "
        "attribute defined in the account."
    )
    _define(api, "topic_name", model=1)  # a contact attribute does not count here
    assert _filter(api, _condition("topic_name", "equal_to", ["x"])).status_code == 422

    _define(api, "topic_name")
    assert _ids(_filter(api, _condition("topic_name", "equal_to", ["ЗАРПЛАТА"]))) == [first]
    assert _ids(_filter(api, _condition("topic_name", "contains", ["скл"]))) == [second]
    assert _ids(_filter(api, _condition("topic_name", "is_present"))) == [first, second]


def test_custom_not_equal_to_also_matches_missing_values(api: httpx.Client) -> None:
    _, first = start_conversation(api, name="A")
    _, second = start_conversation(api, name="B")
    _, third = start_conversation(api, name="C")
    _define(api, "code_abonent")
    _set_attributes(api, first, code_abonent="100")
    _set_attributes(api, second, code_abonent="200")
    last = _filter(api, _condition("code_abonent", "not_equal_to", ["100"]))
    assert _ids(last) == [second, third]
    # Chatwoot appends "OR ... IS NULL" after the item's own operator: a syntax error.
    not_last = _filter(
        api,
        _condition("code_abonent", "not_equal_to", ["100"], "AND"),
        _condition("status", "equal_to", ["open"]),
    )
    assert not_last.status_code == 500


def test_custom_numbers_and_dates_compare_by_type(api: httpx.Client) -> None:
    _, first = start_conversation(api, name="A")
    _, second = start_conversation(api, name="B")
    _define(api, "number_con", "number")
    _define(api, "date_con", "date")
    _set_attributes(api, first, number_con=9, date_con="2020-01-05")
    _set_attributes(api, second, number_con="10", date_con="2020-02-20")
    # As numbers 10 > 9; as text "10" < "9".
    assert _ids(_filter(api, _condition("number_con", "is_greater_than", ["9"]))) == [second]
    assert _ids(_filter(api, _condition("date_con", "is_less_than", ["2020-02-01"]))) == [first]
    assert _ids(_filter(api, _condition("number_con", "equal_to", ["9"]))) == [first]
    everything_before = _filter(api, _condition("date_con", "days_before", [0]))
    assert _ids(everything_before) == [first, second]


def test_refusals_are_422s(api: httpx.Client) -> None:
    bad_operator = _filter(api, _condition("status", "contains", ["open"]))
    no_values = _filter(api, _condition("inbox_id", "equal_to", []))
    bad_query_operator = _filter(api, _condition("status", "equal_to", ["open"], "xor"))
    assert bad_operator.status_code == 422
    assert bad_operator.json() == {
        "error": "Invalid operator. The allowed operators for status are [equal_to,not_equal_to]."
    }
    assert no_values.json() == {
        "error": "Invalid value. The values provided for inbox_id are invalid"
    }
    assert bad_query_operator.json() == {"error": 'Query operator must be either "AND" or "OR".'}


def test_broken_queries_are_500s(api: httpx.Client) -> None:
    start_conversation(api, name="A")
    no_payload = api.post(FILTER, json={})
    not_an_id = _filter(api, _condition("assignee_id", "equal_to", ["abc"]))
    dangling = _filter(api, _condition("status", "equal_to", ["open"], "AND"))
    missing_operator = _filter(
        api, _condition("status", "equal_to", ["open"]), _condition("inbox_id", "is_present")
    )
    display_id_text = _filter(api, _condition("display_id", "contains", ["1"]))
    bad_date = _filter(api, _condition("created_at", "is_greater_than", ["yesterday"]))
    for response in (no_payload, not_an_id, dangling, missing_operator, display_id_text, bad_date):
        assert response.status_code == 500, response.text
        assert response.json() == {"status": 500, "error": "Internal Server Error"}


def test_pages_of_twenty_five_with_counts_over_all(api: httpx.Client) -> None:
    ids = [start_conversation(api, name=f"P{n}")[1] for n in range(27)]
    first_page = _filter(api, _condition("status", "equal_to", ["open"]))
    second_page = _filter(api, _condition("status", "equal_to", ["open"]), page=2)
    assert len(first_page.json()["payload"]) == 25
    assert first_page.json()["meta"]["all_count"] == 27
    assert second_page.json()["meta"]["all_count"] == 27
    # Latest activity first: the two oldest are on the second page.
    assert _ids(second_page) == sorted(ids[:2])


def test_agents_filter_only_their_inboxes(api: httpx.Client, cw: Chatwoot) -> None:
    _, visible = start_conversation(api, name="A")
    other = cw.emulator.add_inbox("Telegram")
    contact = api.post(f"{APP}/contacts", json={"name": "Z", "email": "z@example.com"}).json()
    hidden = api.post(
        f"{APP}/conversations",
        json={"inbox_id": other["id"], "contact_id": contact["payload"]["contact"]["id"]},
    ).json()["id"]
    agent = cw.emulator.add_agent("Ann", "ann@example.com")
    with cw.client(agent["access_token"]) as http:
        seen = _ids(
            http.post(FILTER, json={"payload": [_condition("status", "equal_to", ["all"])]})
        )
    assert seen == [visible]
    assert _ids(_filter(api, _condition("status", "equal_to", ["all"]))) == [visible, hidden]
