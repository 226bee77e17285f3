"""Event ids from clients, through the HTTP API of the dictionaries' stream and poll fallback:
only plain numbers the channel has reached are accepted; everything else is a 400."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from switchboard.consultations.dictionaries.events import DictionariesChanged
from switchboard.runtime import Runtime

POLL = "/api/dicts/events/poll"
STREAM = "/api/dicts/events"

BAD_IDS = {
    "superscript two": "%C2%B2",
    "arabic-indic one": "%D9%A1",
    "thousands of digits": "1" * 3000,
    "beyond bigint": "9223372036854775808",
    "twenty digits": "0" * 20,
    "negative": "-1",
    "signed": "%2B1",
    "exponent": "1e3",
    "hex": "0x10",
    "word": "latest",
}


@pytest.fixture(params=["postgres", "memory"])
async def api(
    request: pytest.FixtureRequest, runtime_factory: Any, client_factory: Any
) -> tuple[Runtime, httpx.AsyncClient]:
    runtime: Runtime = await runtime_factory(EVENT_BUS=request.param)
    client: httpx.AsyncClient = await client_factory(runtime, **{"Accept-Language": "en"})
    return runtime, client


async def publish(runtime: Runtime, *catalogs: str) -> list[str]:
    return [
        (await runtime.bus.publish("dicts", DictionariesChanged(catalogs=[catalog]))).id
        for catalog in catalogs
    ]


def assert_invalid_event_id(response: httpx.Response) -> str:
    assert response.status_code == 400, response.text[:200]
    body = response.json()
    assert body["error"] == "invalid_event_id"
    message: str = body["message"]
    return message


async def test_poll_without_an_id_returns_the_head_to_poll_from(
    api: tuple[Runtime, httpx.AsyncClient],
) -> None:
    runtime, client = api
    empty = await client.get(POLL)
    assert empty.status_code == 200
    assert empty.json() == {"events": [], "last_event_id": "0"}
    first, second = await publish(runtime, "po_types", "questions")
    head = (await client.get(POLL)).json()
    assert head == {"events": [], "last_event_id": second}
    (third,) = await publish(runtime, "interference")
    page = (await client.get(POLL, params={"after": head["last_event_id"]})).json()
    assert page["last_event_id"] == third
    assert [(e["id"], e["type"], e["data"]) for e in page["events"]] == [
        (third, "dictionaries.changed", {"catalogs": ["interference"]})
    ]
    everything = (await client.get(POLL, params={"after": "0"})).json()
    assert [e["id"] for e in everything["events"]] == [first, second, third]


@pytest.mark.parametrize("raw", BAD_IDS.values(), ids=BAD_IDS.keys())
async def test_malformed_ids_are_refused_by_poll_and_stream(
    api: tuple[Runtime, httpx.AsyncClient], raw: str
) -> None:
    _, client = api
    message = assert_invalid_event_id(await client.get(f"{POLL}?after={raw}"))
    assert "whole number of at most 19 digits" in message
    assert_invalid_event_id(await client.get(f"{STREAM}?last_event_id={raw}"))


@pytest.mark.parametrize("raw", ["12a", "1" * 30, "9223372036854775808", "-1"])
async def test_malformed_last_event_id_headers_are_refused(
    api: tuple[Runtime, httpx.AsyncClient], raw: str
) -> None:
    _, client = api
    assert_invalid_event_id(await client.get(STREAM, headers={"Last-Event-ID": raw}))


async def test_ids_ahead_of_the_channel_are_refused_not_waited_for(
    api: tuple[Runtime, httpx.AsyncClient],
) -> None:
    """Before, a stream resumed from a future id stayed open and dropped every event up to it."""
    runtime, client = api
    _, head = await publish(runtime, "po_types", "questions")
    ahead = str(int(head) + 1)
    message = assert_invalid_event_id(await client.get(POLL, params={"after": ahead}))
    assert f"its newest is {head}" in message
    assert_invalid_event_id(await client.get(STREAM, headers={"Last-Event-ID": ahead}))
    assert_invalid_event_id(await client.get(STREAM, params={"last_event_id": "9" * 19}))
    assert (await client.get(POLL, params={"after": head})).json() == {
        "events": [],
        "last_event_id": head,
    }


async def test_the_refusal_is_explained_in_russian_by_default(
    api: tuple[Runtime, httpx.AsyncClient],
) -> None:
    _, client = api
    response = await client.get(POLL, params={"after": "5"}, headers={"Accept-Language": "ru"})
    assert "последнее — 0" in assert_invalid_event_id(response)
