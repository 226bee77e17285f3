"""The AMI emulator as its clients meet it: one real TCP server in its own thread for the
session, reset before every test; panoramisk managers and bare sockets in the test's loop."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import pytest
from panoramisk import Manager
from panoramisk.message import Message

from switchboard.sandbox.asterisk import AmiEmulator, BackgroundAmi

from .support import OTHER_SECRET, OTHER_USER, SECRET, USER, Ami, RawAmi

Connect = Callable[..., Awaitable[Manager]]


@pytest.fixture(scope="session")
def ami_server() -> Iterator[Ami]:
    emulator = AmiEmulator(
        users={USER: SECRET, OTHER_USER: OTHER_SECRET}, originate_delay=0.03, talk_seconds=0.1
    )
    with BackgroundAmi(emulator) as runner:
        yield Ami(emulator, runner)


@pytest.fixture
def ami(ami_server: Ami) -> Ami:
    ami_server.emulator.reset()
    return ami_server


@pytest.fixture
async def connect(ami: Ami) -> AsyncIterator[Connect]:
    """Opens a panoramisk Manager to the emulator and waits for its login's answer."""
    managers: list[Manager] = []

    async def open_manager(
        username: str = USER,
        secret: str = SECRET,
        events: list[Message] | None = None,
        **options: object,
    ) -> Manager:
        """`events`: collects every event the manager dispatches (registered before login)."""
        manager = Manager(
            host=ami.host,
            port=ami.port,
            username=username,
            secret=secret,
            ping_delay=60,
            ping_interval=60,
            reconnect_timeout=60,
            **options,
        )
        managers.append(manager)
        if events is not None:
            manager.register_event("*", lambda _, event: events.append(event))
        await manager.connect()
        manager.login_reply = await manager.authenticated_future
        return manager

    yield open_manager
    for manager in managers:
        manager.close()


@pytest.fixture
async def raw(ami: Ami) -> AsyncIterator[RawAmi]:
    client = await RawAmi.open(ami)
    yield client
    await client.close()
