"""Route misses: a 404 no controller saw, in the format Rails picks, never a record lookup."""

from __future__ import annotations

import httpx
import pytest

from .support import APP, PUBLIC, start_conversation

MISSES = [
    ("GET", f"{APP}/conversations/1/nonsense"),
    ("GET", f"{APP}/nosuch"),
    ("POST", f"{APP}/conversations/1"),  # a path that exists, a method it does not take
    ("GET", f"{APP}/conversations/1/messages/1"),
    ("DELETE", f"{APP}/conversations/1/labels"),
    ("GET", f"{PUBLIC}/contacts/x/nowhere"),
    ("GET", "/nosuch"),
]


@pytest.mark.parametrize(("method", "path"), MISSES)
def test_json_clients_get_rails_json_404(api: httpx.Client, method: str, path: str) -> None:
    start_conversation(api)  # conversation 1 exists, so no lookup could explain the 404
    response = api.request(method, path, headers={"Accept": "application/json"})
    assert response.status_code == 404
    assert response.json() == {"status": 404, "error": "Not Found"}


@pytest.mark.parametrize(("method", "path"), MISSES)
def test_other_clients_get_the_html_404_page(api: httpx.Client, method: str, path: str) -> None:
    response = api.request(method, path)  # httpx sends Accept: */*
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "404" in response.text


def test_route_misses_need_no_token(anonymous: httpx.Client) -> None:
    response = anonymous.get(f"{APP}/nosuch", headers={"Accept": "application/json"})
    assert (response.status_code, response.json()) == (404, {"status": 404, "error": "Not Found"})


def test_format_comes_from_the_extension_when_accept_looks_like_a_browser(
    anonymous: httpx.Client,
) -> None:
    browser = "text/html,application/xhtml+xml,*/*;q=0.8"
    as_json = anonymous.get(f"{APP}/nosuch.json", headers={"Accept": browser})
    as_page = anonymous.get(f"{APP}/nosuch", headers={"Accept": browser})
    assert as_json.json() == {"status": 404, "error": "Not Found"}
    assert as_page.headers["content-type"].startswith("text/html")


def test_collection_actions_are_not_read_as_ids(api: httpx.Client) -> None:
    search = api.get(f"{APP}/conversations/search", params={"q": "x"})
    assert search.status_code == 200
    assert set(search.json()) == {"meta", "payload"}
    # A member path with an id that is no number is a lookup that finds nothing, as in Rails.
    lookup = api.get(f"{APP}/conversations/nonsense")
    assert (lookup.status_code, lookup.json()) == (404, {"error": "Resource could not be found"})


def test_contacts_active_is_a_collection_action(api: httpx.Client) -> None:
    api.post(f"{APP}/contacts", json={"name": "Alice", "email": "alice@example.com"})
    response = api.get(f"{APP}/contacts/active")
    assert response.status_code == 200
    assert response.json() == {"meta": {"count": 0, "current_page": 1}, "payload": []}
