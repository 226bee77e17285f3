"""The admin page's «Проверить подключение» of the PBX's AMI: one login with the stored access,
then the connection is closed. Nothing is originated; the answer says whether click-to-call
could log in.

panoramisk's `Manager` reconnects on its own, forever, after a failed connect or a closed
connection (a timer per attempt, even with `reconnect_timeout=0`): right for a long-lived
listener, wrong for a check that must end. `_OneShot` connects once and never again.
"""

from __future__ import annotations

import asyncio
from typing import Any

from panoramisk import Manager

from switchboard.core.http.errors import PeerRejected, PeerTimeout, PeerUnavailable
from switchboard.integrations.asterisk.ami import TARGET, AmiAccess

#: How long the whole check may take (connect and login), in seconds.
CHECK_SECONDS = 3.0


class _OneShot(Manager):  # type: ignore[misc]  # panoramisk has no type hints
    """A Manager that connects at most once (see the module's docstring)."""

    def connection_made(self, future: asyncio.Future[Any]) -> None:
        if future.cancelled() or future.exception() is not None:
            return  # the caller sees the failure; no reconnect timer
        super().connection_made(future)

    def connection_lost(self, exc: BaseException | None) -> None:
        self._connected = False


async def check_login(access: AmiAccess, *, timeout: float = CHECK_SECONDS) -> str:
    """Log in to the AMI with `access`; the banner's protocol version on success. Raises
    `PeerUnavailable` (not reachable), `PeerTimeout` (no answer within `timeout`) or
    `PeerRejected` (the login was refused)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    manager = _OneShot(
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
