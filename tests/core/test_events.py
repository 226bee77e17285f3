"""Typed events: one model per name, unknown fields refused when built and when read back."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

import pytest
from pydantic import ConfigDict, ValidationError

from switchboard.consultations.dictionaries.events import DictionariesChanged
from switchboard.core.realtime import EVENTS, EventModel, InvalidEvent


class LampLit(EventModel):
    event_name: ClassVar[str] = "lamp.lit"
    room: str


@pytest.fixture
def forget_throwaway_events() -> Iterator[None]:
    yield
    for name in ("lamp.dimmed", "Lamp Lit", "lamp.broke"):
        EVENTS.forget(name)


def test_defining_a_model_registers_its_name() -> None:
    assert EVENTS.model_for("lamp.lit") is LampLit
    assert EVENTS.model_for("dictionaries.changed") is DictionariesChanged
    assert "dictionaries.changed" in EVENTS.names()


def test_unknown_fields_are_refused_when_an_event_is_built() -> None:
    with pytest.raises(ValidationError, match="extra"):
        DictionariesChanged(catalogs=["po_types"], catalogue=["typo"])  # type: ignore[call-arg]
    event = DictionariesChanged(catalogs=["po_types"])
    with pytest.raises(ValidationError, match="frozen"):
        event.catalogs = []  # type: ignore[misc]


def test_unknown_fields_and_names_are_refused_when_an_event_is_read_back() -> None:
    assert EVENTS.parse("lamp.lit", {"room": "hall"}) == LampLit(room="hall")
    assert EVENTS.parse("lamp.lit", '{"room": "hall"}') == LampLit(room="hall")
    with pytest.raises(InvalidEvent, match="does not fit"):
        EVENTS.parse("lamp.lit", {"room": "hall", "colour": "red"})
    with pytest.raises(InvalidEvent, match="does not fit"):
        EVENTS.parse("lamp.lit", {})
    with pytest.raises(InvalidEvent, match="no model"):
        EVENTS.parse("lamp.exploded", {"room": "hall"})


@pytest.mark.usefixtures("forget_throwaway_events")
def test_a_name_has_one_model_of_the_house_shape() -> None:
    with pytest.raises(ValueError, match="already has a model"):

        class OtherLamp(EventModel):
            event_name: ClassVar[str] = "lamp.lit"

    with pytest.raises(ValueError, match="past_tense_verb"):

        class BadName(EventModel):
            event_name: ClassVar[str] = "Lamp Lit"

    with pytest.raises(TypeError, match="extra='forbid'"):

        class Lenient(EventModel):
            model_config = ConfigDict(extra="allow", frozen=True)
            event_name: ClassVar[str] = "lamp.broke"

    class LampDimmed(EventModel):
        event_name: ClassVar[str] = "lamp.dimmed"
        level: int

    assert EVENTS.model_for("lamp.dimmed") is LampDimmed
