"""What the telephony domain needs from a CRM: one adapter per CRM (RetailCRM now; amoCRM or
Bitrix24 are one more class implementing `CallCrm` and one line in `crms.py`)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

from switchboard.core.crypto import SecretBox, SecretUnreadable
from switchboard.core.http.errors import PeerRejected


@dataclass(frozen=True)
class CallFacts:
    """What the dispatcher knows of a call when one of its events arrives."""

    enterprise_number: str
    unique_id: str
    event_type: str
    raw: Mapping[str, Any]
    #: When the call's first event arrived, on the PBX's wall clock (naive, like the times the
    #: PBX sends): the date of an unanswered call.
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
    """A consumer of call events with durable, ordered deliveries: a CRM's adapter, the
    Telegram notifier, the recordings fetcher."""

    #: The key of its settings in `enterprises.integrations_config` and of its deliveries.
    name: str
    #: True for the platform's own consumers, which every enterprise has (no settings).
    always_enabled: bool

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


class Closeable(Protocol):
    async def aclose(self) -> None: ...


C = TypeVar("C", bound=Closeable)


class Accounts(Generic[C]):
    """An adapter's clients, one per enterprise account (its URL and encrypted secret: a
    changed setting makes a new client), and a limit on each enterprise's concurrent calls.
    The secret is decrypted only when a client is made; an unreadable one is a refusal."""

    def __init__(self, secrets: SecretBox, *, concurrency: int) -> None:
        self.secrets = secrets
        self.concurrency = concurrency
        self._clients: dict[tuple[str, str, str], C] = {}
        self._gates: dict[str, asyncio.Semaphore] = {}

    def client(
        self, target: str, enterprise: str, url: str, encrypted: str, make: Callable[[str], C]
    ) -> C:
        key = (enterprise, url, encrypted)
        client = self._clients.get(key)
        if client is None:
            try:
                secret = self.secrets.decrypt(encrypted)
            except SecretUnreadable as error:
                raise PeerRejected(target, str(error)) from None
            client = self._clients[key] = make(secret)
        return client

    def gate(self, enterprise: str) -> asyncio.Semaphore:
        gate = self._gates.get(enterprise)
        if gate is None:
            gate = self._gates[enterprise] = asyncio.Semaphore(self.concurrency)
        return gate

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()
