"""Helpers for the 1C emulator tests: constants, a settable clock, envelope readers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from xml.etree import ElementTree

import httpx

from switchboard.sandbox.onec import OneCEmulator, Store
from switchboard.sandbox.server import BackgroundServer

BASE_PATH = "/cl/odata/standard.odata"
USER = "odata"
PASSWORD = "odata-secret"
START = datetime(2024, 5, 1, 9, 30, 0)  # noqa: DTZ001 - 1C wall-clock time is naive
EMPTY_GUID = "00000000-0000-0000-0000-000000000000"
EMPTY_DATE = "0001-01-01T00:00:00"


class SettableClock:
    """The emulator's wall clock (naive local time), moved by the tests."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@dataclass
class OneC:
    emulator: OneCEmulator
    server: BackgroundServer
    clock: SettableClock

    @property
    def root(self) -> str:
        return f"{self.server.url}{BASE_PATH}"

    @property
    def store(self) -> Store:
        return self.emulator.store


def error_of(response: httpx.Response) -> tuple[str, str]:
    """(code, message) of a JSON OData error envelope."""
    envelope = response.json()["odata.error"]
    assert envelope["message"]["lang"] == "ru"
    return envelope["code"], envelope["message"]["value"]


def values(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) <= {"odata.metadata", "odata.count", "value"}
    result: list[dict[str, Any]] = body["value"]
    return result


def parse_xml(content: bytes) -> ElementTree.Element:
    """The emulator's own atom or EDMX output (trusted: no DTDs, nothing external)."""
    return ElementTree.fromstring(content)  # noqa: S314
