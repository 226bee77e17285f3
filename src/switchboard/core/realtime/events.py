"""Typed events: one pydantic model per event name, and the envelope the bus delivers.

An event name is `<noun>.<past_tense_verb>` (`dictionaries.changed`). Each name has exactly one
model, declared next to the domain that publishes it:

    class DictionariesChanged(EventModel):
        event_name: ClassVar[str] = "dictionaries.changed"
        catalogs: list[str]

Defining the class registers it. Models refuse unknown fields both when an event is built and
when it is read back from the bus, so a typo or a drifted schema fails loudly instead of reaching
a browser as half an event.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError

EVENT_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")
CHANNEL_PATTERN = re.compile(r"^[a-z][a-z0-9_.-]*(:[A-Za-z0-9_.-]+)?$")
#: An event id on the wire: ASCII digits only, and it must fit PostgreSQL's bigint.
EVENT_ID_PATTERN = re.compile(r"[0-9]{1,19}", re.ASCII)
MAX_EVENT_ID = 2**63 - 1


class InvalidEventId(ValueError):
    """An event id a client sent that this bus cannot have issued.

    `message` is an English message id for people (the API layer translates it); `head` is the
    channel's newest id when the id was ahead of it.
    """

    def __init__(self, message: str, head: int | None = None) -> None:
        super().__init__(message.format(head=head))
        self.message = message
        self.head = head


class InvalidEvent(ValueError):
    """An event whose name has no model, or whose data does not fit its model."""


class EventModel(BaseModel):
    """Base of every event's model; a subclass names its event in `event_name`."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    event_name: ClassVar[str]

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if "event_name" in cls.__dict__:
            EVENTS.register(cls)


class EventRegistry:
    """Event name → model. Filled as domain modules are imported, like a routing table."""

    def __init__(self) -> None:
        self._models: dict[str, type[EventModel]] = {}

    def register(self, model: type[EventModel]) -> None:
        name = model.event_name
        if not EVENT_NAME_PATTERN.match(name):
            raise ValueError(f"event name {name!r} is not '<noun>.<past_tense_verb>'")
        config = model.model_config
        if config.get("extra") != "forbid" or not config.get("frozen"):
            raise TypeError(f"{model.__qualname__} must keep extra='forbid' and frozen=True")
        known = self._models.get(name)
        if known is not None and known.__qualname__ != model.__qualname__:
            raise ValueError(f"event {name!r} already has a model: {known.__qualname__}")
        self._models[name] = model

    def forget(self, name: str) -> None:
        """For tests that declare throwaway events."""
        self._models.pop(name, None)

    def model_for(self, name: str) -> type[EventModel]:
        try:
            return self._models[name]
        except KeyError:
            raise InvalidEvent(f"no model for event {name!r}") from None

    def parse(self, name: str, data: Any) -> EventModel:
        """The model instance of a stored or received event; refuses unknown fields."""
        model = self.model_for(name)
        try:
            if isinstance(data, str | bytes):
                return model.model_validate_json(data)
            return model.model_validate(data)
        except ValidationError as exc:
            raise InvalidEvent(f"event {name!r} does not fit its model: {exc}") from None

    def names(self) -> list[str]:
        return sorted(self._models)


#: The process's registry; every `EventModel` subclass with an `event_name` lands here.
EVENTS = EventRegistry()


@dataclass(frozen=True, slots=True)
class Event:
    """One delivered event: its place in the channel (`seq`) and its typed payload."""

    channel: str
    seq: int
    payload: EventModel
    _json: str | None = field(default=None, compare=False, repr=False)

    def data_json(self) -> str:
        """The payload as JSON, encoded once however many subscribers send it on."""
        text = self._json
        if text is None:
            text = self.payload.model_dump_json()
            object.__setattr__(self, "_json", text)
        return text

    @property
    def id(self) -> str:
        """The id clients see and send back as `Last-Event-ID`: the sequence in decimal."""
        return str(self.seq)

    @property
    def type(self) -> str:
        return self.payload.event_name

    @property
    def data(self) -> dict[str, Any]:
        return self.payload.model_dump(mode="json")

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "channel": self.channel, "type": self.type, "data": self.data}


def check_channel(channel: str) -> None:
    if not CHANNEL_PATTERN.match(channel):
        raise ValueError(f"bad channel name {channel!r}")


def check_event(event: object) -> EventModel:
    if not isinstance(event, EventModel) or not hasattr(type(event), "event_name"):
        raise TypeError(f"publish an EventModel instance, not {type(event).__name__}")
    return event


BAD_EVENT_ID = "An event id is a whole number of at most 19 digits, such as 42."
FUTURE_EVENT_ID = (
    "This stream has no event with that id yet (its newest is {head}); reconnect without an id."
)


def parse_event_id(raw: str) -> int:
    """The sequence number in a client's event id; strict, since it comes from outside."""
    if not EVENT_ID_PATTERN.fullmatch(raw) or int(raw) > MAX_EVENT_ID:
        raise InvalidEventId(BAD_EVENT_ID)
    return int(raw)
