"""RetailCRM as a `CallCrm`: seed 003's pop-ups and call history.

- dial → `call/event` type in|out (one per distinct set of ringing extensions: a transfer's
  second dial pops up for the new extension);
- hangup → a synthetic dial first when none was planned for the call (the PBX lost it), then
  `call/event` type hangup, then `calls/upload` (the call with its duration, result and recording);
- internal calls (CallType 2) and events without a customer number owe nothing.

Each enterprise has its own account (domain, API key), so its own HTTP client and circuit
breaker (`retailcrm:<enterprise>`), a concurrency limit and a rate limit.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from limits import RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter

from switchboard.core.crypto import SecretBox
from switchboard.core.http import HttpKit
from switchboard.core.http.errors import PeerRejected, RateLimited
from switchboard.integrations.crm import Accounts, CallFacts, Planned
from switchboard.integrations.retailcrm import mapping
from switchboard.integrations.retailcrm.client import RetailCrmClient

NAME = "retailcrm"
#: How long a request waits for a slot in the account's rate budget before it is retried later.
MAX_SLOT_WAIT_SECONDS = 5.0
SLOT_POLL_SECONDS = 0.02
DIAL = "call_event:"
HANGUP = "call_event:hangup"
UPLOAD = "calls_upload"


def _user_extensions(config: Mapping[str, Any]) -> dict[str, str | None]:
    raw = config.get("user_extensions") or {}
    return {str(user): (str(code) if code else None) for user, code in raw.items()}


class RetailCrm:
    name = NAME
    always_enabled = False

    def __init__(
        self,
        kit: HttpKit,
        secrets: SecretBox,
        *,
        timeout: float = 3.0,
        attempts: int = 3,
        concurrency: int = 8,
        per_second: int = 40,
    ) -> None:
        self.kit = kit
        self.timeout = timeout
        self.attempts = attempts
        self.accounts: Accounts[RetailCrmClient] = Accounts(secrets, concurrency=concurrency)
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._rate = RateLimitItemPerSecond(per_second)

    # --- planning (pure) -------------------------------------------------------------------

    def plan(self, facts: CallFacts, config: Mapping[str, Any]) -> list[Planned]:
        raw = facts.raw
        kind = mapping.direction(raw)
        if kind is None:
            return []
        users = _user_extensions(config)
        if facts.event_type == "dial":
            return self._dial(facts, users, kind)
        if facts.event_type != "hangup":
            return []
        planned = []
        if not any(k.startswith(DIAL) and k != HANGUP for k in facts.planned):
            planned += self._dial(facts, users, kind, synthetic=True)
        event = mapping.call_event("hangup", raw, users, unique_id=facts.unique_id)
        if event is not None:
            planned.append(Planned(HANGUP, {"event": event}))
        call = mapping.upload(
            raw,
            kind,
            users,
            unique_id=facts.unique_id,
            first_seen=facts.first_seen,
            record_url=facts.record_url,
        )
        if call is not None:
            planned.append(Planned(UPLOAD, {"calls": [call]}))
        return planned

    def _dial(
        self,
        facts: CallFacts,
        users: Mapping[str, str | None],
        kind: str,
        *,
        synthetic: bool = False,
    ) -> list[Planned]:
        event = mapping.call_event(kind, facts.raw, users, unique_id=facts.unique_id)
        if event is None:
            return []
        codes = ",".join(event.get("codes", [])) or ",".join(map(str, event.get("userIds", [])))
        payload: dict[str, Any] = {"event": event}
        if synthetic:
            payload["synthetic"] = True
        return [Planned(f"{DIAL}{kind}:{codes}", payload)]

    # --- delivering ------------------------------------------------------------------------

    async def deliver(
        self,
        enterprise_number: str,
        config: Mapping[str, Any],
        planned: Planned,
        earlier: Mapping[str, Mapping[str, Any]],
    ) -> Mapping[str, Any]:
        client = self._client(enterprise_number, config)
        async with self.accounts.gate(enterprise_number):
            await self._wait_for_a_slot(enterprise_number)
            if planned.kind == UPLOAD:
                return await client.calls_upload(
                    enterprise_number, planned.payload["calls"], max_attempts=self.attempts
                )
            return await client.call_event(
                enterprise_number, planned.payload["event"], max_attempts=self.attempts
            )

    async def responsible_extension(
        self, enterprise_number: str, config: Mapping[str, Any], phone: str
    ) -> tuple[str | None, int | None]:
        """The internal number of the customer's responsible manager in RetailCRM (smart
        redirect): the manager's code there, else our own mapping of the manager's user."""
        client = self._client(enterprise_number, config)
        number = (mapping.e164(phone) or phone).lstrip("+")
        answer = await client.responsible_manager(number)
        manager = answer.get("manager") or {}
        user_id = manager.get("id")
        code = manager.get("code")
        if not code and user_id is not None:
            code = _user_extensions(config).get(str(user_id))
        return (str(code) if code else None), (int(user_id) if user_id is not None else None)

    async def _wait_for_a_slot(self, enterprise_number: str) -> None:
        """Stay within RetailCRM's budget for this account: a burst waits a moment for its
        turn instead of failing (and waiting a backoff); a long queue is the caller's retry."""
        deadline = asyncio.get_running_loop().time() + MAX_SLOT_WAIT_SECONDS
        while not await self._limiter.hit(self._rate, NAME, enterprise_number):
            if asyncio.get_running_loop().time() > deadline:
                target = f"{NAME}:{enterprise_number}"
                raise RateLimited(target, "our own rate limit", retry_after=1)
            await asyncio.sleep(SLOT_POLL_SECONDS)

    def account(self, enterprise_number: str, config: Mapping[str, Any]) -> RetailCrmClient:
        """The enterprise's RetailCRM account (the admin pages use it directly)."""
        return self._client(enterprise_number, config)

    def _client(self, enterprise_number: str, config: Mapping[str, Any]) -> RetailCrmClient:
        target = f"{NAME}:{enterprise_number}"
        domain = str(config.get("domain") or "")
        encrypted = str(config.get("api_key_encrypted") or "")
        if not domain or not encrypted:
            raise PeerRejected(target, "the integration has no domain or key")
        base_url = domain if "://" in domain else f"https://{domain}"
        return self.accounts.client(
            target,
            enterprise_number,
            base_url,
            encrypted,
            lambda api_key: RetailCrmClient.connect(
                self.kit, target=target, base_url=base_url, api_key=api_key, timeout=self.timeout
            ),
        )

    async def aclose(self) -> None:
        await self.accounts.aclose()
