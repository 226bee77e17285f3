"""Click-to-call through the Asterisk Manager Interface (panoramisk), instead of the original's
root shell over SSH: the phone number is a field of an AMI action, never part of a command line.

`Originate` rings the manager's extension first (`Local/<ext>@<context>`); when it is picked up,
Asterisk dials the customer's number in the same context. `Async: true` answers at once; the
OriginateResponse that follows says whether the extension answered (we wait for it briefly).
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from typing import Any

from panoramisk import Manager

from switchboard.core.http.errors import PeerRejected, PeerTimeout, PeerUnavailable

TARGET = "asterisk"
#: What a dialled number may contain (after `+` is dropped): digits only.
_NUMBER = re.compile(r"^\d{2,20}$")
#: OriginateResponse reasons (Asterisk's causes): 4 answered, others did not connect.
_REASONS = {"0": "failed", "1": "hung up", "3": "no answer", "5": "busy", "8": "congestion"}


@dataclass(frozen=True)
class AmiAccess:
    host: str
    port: int
    username: str
    secret: str
    context: str = "from-internal"


@dataclass(frozen=True)
class Originated:
    #: `answered` (the extension picked up and the customer is being dialled) or `ringing`
    #: (not answered within the wait; Asterisk carries on).
    state: str
    unique_id: str | None = None


class OneShotManager(Manager):  # type: ignore[misc]  # panoramisk has no type hints
    """A Manager that connects at most once. panoramisk's own reconnects forever after a
    failed connect or a closed connection (a timer per attempt, even with `reconnect_timeout=0`):
    right for a long-lived listener, wrong for a request that must end."""

    def connection_made(self, future: asyncio.Future[Any]) -> None:
        if future.cancelled() or future.exception() is not None:
            return  # the caller sees the failure; no reconnect timer
        super().connection_made(future)

    def connection_lost(self, exc: BaseException | None) -> None:
        self._connected = False


def clean_number(phone: str) -> str:
    digits = re.sub(r"[\s()\-]", "", phone).lstrip("+")
    if not _NUMBER.match(digits):
        raise ValueError("the phone number must have 2 to 20 digits")
    return digits


async def originate(
    access: AmiAccess,
    *,
    extension: str,
    phone: str,
    caller_name: str | None = None,
    wait: float = 3.0,
    ring_timeout_ms: int = 30_000,
) -> Originated:
    number = clean_number(phone)
    if not _NUMBER.match(extension):
        raise ValueError("the extension must be digits")
    manager = OneShotManager(
        host=access.host,
        port=access.port,
        username=access.username,
        secret=access.secret,
        ping_delay=0,
        reconnect_timeout=0,
    )
    try:
        try:
            await asyncio.wait_for(manager.connect(), timeout=5)
        except (OSError, TimeoutError) as error:
            raise PeerUnavailable(TARGET, f"AMI not reachable: {error}") from error
        action: dict[str, Any] = {
            "Action": "Originate",
            "Channel": f"Local/{extension}@{access.context}",
            "Context": access.context,
            "Exten": number,
            "Priority": 1,
            "CallerID": f'"{caller_name or number}" <{number}>',
            "Timeout": ring_timeout_ms,
            # panoramisk needs the key either way (without it a queued answer breaks it).
            "Async": "true",
        }
        future = manager.send_action(action)
        try:
            answer = await asyncio.wait_for(asyncio.shield(future), timeout=wait)
        except TimeoutError:
            return Originated("ringing")
        return _outcome(answer)
    finally:
        manager.close()


def _outcome(answer: Any) -> Originated:
    messages = answer if isinstance(answer, list) else [answer]
    first = messages[0]
    if str(first.get("Response", "")).lower() == "error":
        raise PeerRejected(TARGET, f"Originate refused: {first.get('Message', '')}")
    final = messages[-1]
    if str(final.get("Event", "")) == "OriginateResponse":
        if str(final.get("Response", "")).lower() != "success":
            reason = _REASONS.get(str(final.get("Reason", "")), "failed")
            raise PeerRejected(TARGET, f"the extension did not answer ({reason})")
        return Originated("answered", str(final.get("Uniqueid") or "") or None)
    return Originated("ringing")


#: How long the whole check may take (connect and login), in seconds.
CHECK_SECONDS = 3.0


async def check_login(access: AmiAccess, *, timeout: float = CHECK_SECONDS) -> str:
    """Log in to the AMI with `access`; the banner's protocol version on success. Raises
    `PeerUnavailable` (not reachable), `PeerTimeout` (no answer within `timeout`) or
    `PeerRejected` (the login was refused)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    manager = OneShotManager(
        host=access.host,
        port=access.port,
        username=access.username,
        secret=access.secret,
        events="off",
        ping_delay=3600,
        reconnect_timeout=0,
    )
    try:
        try:
            await asyncio.wait_for(manager.connect(), timeout=timeout)
        except TimeoutError:
            raise PeerTimeout(TARGET, f"no connection within {timeout:g} s") from None
        except OSError as error:
            raise PeerUnavailable(TARGET, f"not reachable: {error.strerror or error}") from None
        login = manager.authenticated_future
        if login is None:  # pragma: no cover - panoramisk sends the Login on connecting
            raise PeerUnavailable(TARGET, "the connection closed at once")
        # `wait`, not `wait_for`: the Login's future is panoramisk's, it must not be cancelled.
        done, _ = await asyncio.wait({login}, timeout=max(0.0, deadline - loop.time()))
        if not done:
            raise PeerTimeout(TARGET, f"no answer to the login within {timeout:g} s")
        answer = login.result()
        if not answer.success:
            raise PeerRejected(TARGET, str(answer.get("Message") or "the login was refused"))
        return str(getattr(manager.protocol, "version", None) or "")
    finally:
        manager.close()
