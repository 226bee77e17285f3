"""What the telephony domain needs from a CRM: one adapter per CRM (RetailCRM now; amoCRM or
Bitrix24 are one more class implementing `CallCrm` and one line in `crms.py`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol


@dataclass(frozen=True)
class CallFacts:
    """What the dispatcher knows of a call when one of its events arrives."""

    enterprise_number: str
    unique_id: str
    event_type: str
    raw: Mapping[str, Any]
    #: When the call's first event arrived (the date of an unanswered call).
    first_seen: datetime | None
    #: Kinds already planned for this CRM and call (a hangup without a dial plans one).
    planned: frozenset[str]
    #: The signed link to the call's recording, when it has one.
    record_url: str | None = None


@dataclass(frozen=True)
class Planned:
    """One request owed to the CRM: `kind` is unique per call (the same one is never sent
    twice), `payload` is what the adapter sends."""

    kind: str
    payload: Mapping[str, Any]
    #: Deliveries of one call to one CRM go out in order; a lane (e.g. a Telegram chat) keeps
    #: an order of its own, so one refusing chat does not hold back the others.
    lane: str = ""


class CallCrm(Protocol):
    #: The key of its settings in `enterprises.integrations_config` and of its deliveries.
    name: str

    def plan(self, facts: CallFacts, config: Mapping[str, Any]) -> list[Planned]:
        """What this event owes the CRM (pure: no I/O)."""
        ...

    async def deliver(
        self,
        enterprise_number: str,
        config: Mapping[str, Any],
        planned: Planned,
        earlier: Mapping[str, Mapping[str, Any]],
    ) -> Mapping[str, Any]:
        """Send one planned request; raise `IntegrationError` when it did not land. `earlier`:
        the results of this call's deliveries to this CRM done before, by kind (e.g. the id of
        a message to edit)."""
        ...
