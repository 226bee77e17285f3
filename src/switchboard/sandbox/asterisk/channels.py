"""Channels and bridges as Asterisk 12+ reports them in events.

A channel is named `<tech>/<resource>-<8 hex digits>` (`PJSIP/151-0000000a`; a Local channel adds
`;1`), and has a Uniqueid `<epoch seconds>.<counter>` given when it is created; every channel of
one call shares the first channel's Uniqueid as its Linkedid. Events describe a channel by a
"snapshot" of fields, and a bridge by its own set; both are built here, in Asterisk's order.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
import uuid
from dataclasses import dataclass, field
from enum import IntEnum

from switchboard.sandbox.asterisk.wire import Header

UNKNOWN = "<unknown>"


class ChannelState(IntEnum):
    DOWN = 0
    RESERVED = 1
    OFFHOOK = 2
    DIALING = 3
    RING = 4
    RINGING = 5
    UP = 6
    BUSY = 7


STATE_DESCRIPTIONS = {
    ChannelState.DOWN: "Down",
    ChannelState.RESERVED: "Rsrvd",
    ChannelState.OFFHOOK: "OffHook",
    ChannelState.DIALING: "Dialing",
    ChannelState.RING: "Ring",
    ChannelState.RINGING: "Ringing",
    ChannelState.UP: "Up",
    ChannelState.BUSY: "Busy",
}

#: Q.850 causes as Asterisk spells them in `Cause-txt`.
CAUSE_TEXTS = {
    0: "Unknown",
    1: "Unallocated (unassigned) number",
    16: "Normal Clearing",
    17: "User busy",
    18: "No user responding",
    19: "User alerted, no answer",
    21: "Call Rejected",
    34: "Circuit/channel congestion",
}
NORMAL_CLEARING = 16


def cause_text(cause: int) -> str:
    return CAUSE_TEXTS.get(cause, "Unknown")


def split_channel(name: str) -> tuple[str, str] | None:
    """`PJSIP/151` → ("PJSIP", "151"); None when there is no technology part."""
    tech, slash, resource = name.partition("/")
    if not slash or not tech or not resource:
        return None
    return tech, resource


@dataclass
class Channel:
    name: str
    uniqueid: str
    linkedid: str
    state: ChannelState = ChannelState.DOWN
    caller_num: str = ""
    caller_name: str = ""
    connected_num: str = ""
    connected_name: str = ""
    context: str = ""
    exten: str = ""
    priority: int = 1
    account: str = ""
    language: str = "en"
    variables: dict[str, str] = field(default_factory=dict)
    bridge: Bridge | None = None
    hung_up: bool = False
    created_at: float = field(default_factory=time.time)
    #: Set when the channel hangs up, so a call in progress notices a hangup from outside.
    ended: asyncio.Event = field(default_factory=asyncio.Event, repr=False)

    def snapshot(self, prefix: str = "") -> list[Header]:
        """The common channel fields of every call event (`Dest…` when `prefix="Dest"`)."""
        fields: list[Header] = [
            ("Channel", self.name),
            ("ChannelState", str(int(self.state))),
            ("ChannelStateDesc", STATE_DESCRIPTIONS[self.state]),
            ("CallerIDNum", self.caller_num or UNKNOWN),
            ("CallerIDName", self.caller_name or UNKNOWN),
            ("ConnectedLineNum", self.connected_num or UNKNOWN),
            ("ConnectedLineName", self.connected_name or UNKNOWN),
            ("Language", self.language),
            ("AccountCode", self.account),
            ("Context", self.context),
            ("Exten", self.exten),
            ("Priority", str(self.priority)),
            ("Uniqueid", self.uniqueid),
            ("Linkedid", self.linkedid),
        ]
        return [(prefix + key, value) for key, value in fields]

    def describe(self) -> dict[str, object]:
        """A plain copy for tests: what `CoreShowChannels` would list."""
        return {
            "name": self.name,
            "uniqueid": self.uniqueid,
            "linkedid": self.linkedid,
            "state": STATE_DESCRIPTIONS[self.state],
            "caller_num": self.caller_num,
            "caller_name": self.caller_name,
            "context": self.context,
            "exten": self.exten,
            "priority": self.priority,
            "variables": dict(self.variables),
            "bridged": self.bridge is not None,
        }


@dataclass
class Bridge:
    uniqueid: str = field(default_factory=lambda: str(uuid.uuid4()))
    members: list[Channel] = field(default_factory=list)

    def fields(self) -> list[Header]:
        return [
            ("BridgeUniqueid", self.uniqueid),
            ("BridgeType", "basic"),
            ("BridgeTechnology", "simple_bridge"),
            ("BridgeCreator", UNKNOWN),
            ("BridgeName", UNKNOWN),
            ("BridgeNumChannels", str(len(self.members))),
            ("BridgeVideoSourceMode", "none"),
        ]


class ChannelTable:
    """The live channels, by name. Thread-safe: tests add and read channels from their own thread
    while calls run in the emulator's loop."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._channels: dict[str, Channel] = {}
        self._sequence = itertools.count(1)
        self._uniques = itertools.count(1)

    def new_uniqueid(self) -> str:
        with self._lock:
            return f"{int(time.time())}.{next(self._uniques)}"

    def new_name(self, tech: str, resource: str) -> str:
        with self._lock:
            suffix = f"{next(self._sequence):08x}"
        if tech.lower() == "local":
            return f"{tech}/{resource}-{suffix};1"
        return f"{tech}/{resource}-{suffix}"

    def create(
        self,
        tech: str,
        resource: str,
        *,
        uniqueid: str = "",
        linkedid: str = "",
        state: ChannelState = ChannelState.DOWN,
        caller: tuple[str, str] = ("", ""),
        connected: tuple[str, str] = ("", ""),
        location: tuple[str, str, int] = ("", "", 1),
        account: str = "",
        variables: dict[str, str] | None = None,
    ) -> Channel:
        """A new live channel; `caller` and `connected` are (number, name), `location` is
        (context, exten, priority)."""
        uniqueid = uniqueid or self.new_uniqueid()
        channel = Channel(
            name=self.new_name(tech, resource),
            uniqueid=uniqueid,
            linkedid=linkedid or uniqueid,
            state=state,
            caller_num=caller[0],
            caller_name=caller[1],
            connected_num=connected[0],
            connected_name=connected[1],
            context=location[0],
            exten=location[1],
            priority=location[2],
            account=account,
            variables=dict(variables or {}),
        )
        self.add(channel)
        return channel

    def add(self, channel: Channel) -> None:
        with self._lock:
            self._channels[channel.name.lower()] = channel

    def remove(self, channel: Channel) -> None:
        with self._lock:
            self._channels.pop(channel.name.lower(), None)

    def find(self, name: str) -> Channel | None:
        """By name (case-insensitive) or by Uniqueid, as Asterisk's channel lookup does."""
        with self._lock:
            found = self._channels.get(name.lower())
            if found is None:
                found = next((c for c in self._channels.values() if c.uniqueid == name), None)
            return found

    def all(self) -> list[Channel]:
        with self._lock:
            return list(self._channels.values())

    def set_state(self, channel: Channel, state: ChannelState) -> None:
        with self._lock:
            channel.state = state

    def move(self, channel: Channel, context: str, exten: str, priority: int) -> None:
        with self._lock:
            if context:
                channel.context = context
            if exten:
                channel.exten = exten
            channel.priority = priority

    def clear(self) -> list[Channel]:
        with self._lock:
            channels = list(self._channels.values())
            self._channels.clear()
            return channels
