"""Events the telephony domain publishes on the `telephony` channel."""

from __future__ import annotations

from typing import ClassVar

from pydantic import ConfigDict

from switchboard.core.realtime import EventModel

CHANNEL = "telephony"


class IntegrationConfigChanged(EventModel):
    """An enterprise's settings changed (token, activity, integrations): caches of it are
    stale. Published when the saving transaction commits."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    event_name: ClassVar[str] = "telephony.config_changed"

    enterprise_number: str
