"""Events the dictionaries publish on the `dicts` channel."""

from __future__ import annotations

from typing import ClassVar

from pydantic import ConfigDict

from switchboard.core.realtime import EventModel


class DictionariesChanged(EventModel):
    """A load changed these catalogs; caches of them are stale."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    event_name: ClassVar[str] = "dictionaries.changed"

    catalogs: list[str]
