"""Helpers for the AMI emulator tests: the accounts, a bare socket client that reads the wire
with its own small parser (independent of the emulator's), and a poll for things to happen."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass

from switchboard.sandbox.asterisk import AmiEmulator, BackgroundAmi

USER = "switchboard"
SECRET = "s3cret-ami"
OTHER_USER = "crm"
OTHER_SECRET = "crm-pass"
#: The Originate every test starts from: the operator's phone 151 calls a customer.
ORIGINATE = {
    "Action": "Originate",
    "Channel": "PJSIP/151",
    "Context": "from-internal",
    "Exten": "79990000000",
    "Priority": 1,
    "CallerID": '"Switchboard" <151>',
    "Timeout": 30000,
}


@dataclass
class Ami:
    emulator: AmiEmulator
    runner: BackgroundAmi

    @property
    def host(self) -> str:
        return self.runner.host

    @property
    def port(self) -> int:
        return self.runner.port


def parse_block(block: str) -> list[tuple[str, str]]:
    headers = []
    for line in block.split("\r\n"):
        key, _, value = line.partition(": ")
        headers.append((key, value))
    return headers


class RawAmi:
    """A TCP client that writes bytes as given and returns each message as its header list."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.greeting = ""

    @classmethod
    async def open(cls, ami: Ami) -> RawAmi:
        reader, writer = await asyncio.open_connection(ami.host, ami.port)
        client = cls(reader, writer)
        client.greeting = (await asyncio.wait_for(reader.readline(), 2)).decode()
        return client

    async def write(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def send(self, *headers: tuple[str, str]) -> None:
        await self.write("".join(f"{k}: {v}\r\n" for k, v in headers).encode() + b"\r\n")

    async def read(self, timeout: float = 2) -> list[tuple[str, str]]:
        block = await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), timeout)
        return parse_block(block.decode()[:-4])

    async def read_dict(self, timeout: float = 2) -> dict[str, str]:
        return dict(await self.read(timeout))

    async def read_response(self, timeout: float = 2) -> dict[str, str]:
        """The next message that is not an event."""
        while True:
            message = await self.read_dict(timeout)
            if "Event" not in message:
                return message

    async def ask(self, *headers: tuple[str, str]) -> dict[str, str]:
        await self.send(*headers)
        return await self.read_response()

    async def login(self, user: str = USER, secret: str = SECRET, events: str = "on") -> None:
        reply = await self.ask(
            ("Action", "Login"), ("Username", user), ("Secret", secret), ("Events", events)
        )
        assert reply["Message"] == "Authentication accepted"

    async def at_eof(self, timeout: float = 2) -> bool:
        """True once the server has closed the connection (whatever it sent before)."""
        rest = await asyncio.wait_for(self.reader.read(), timeout)
        return rest == b"" or self.reader.at_eof()

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await self.writer.wait_closed()


async def eventually(check: Callable[[], bool], timeout: float = 3) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("the condition did not come true in time")
        await asyncio.sleep(0.01)
