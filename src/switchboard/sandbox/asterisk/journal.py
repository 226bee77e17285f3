"""What the AMI emulator received and sent, and the misbehaviours a test asks of it.

Every structure here is read and changed from two threads (the test's and the emulator's event
loop), so each holds its own lock.
"""

from __future__ import annotations

import fnmatch
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Generic, Literal, TypeVar

from switchboard.sandbox.asterisk.wire import AmiMessage, Header


@dataclass(frozen=True)
class ActionRecord:
    """One action as received. `fields` keeps the sender's spelling of keys; a repeated key
    (`Variable:`) is a list. `user` is the connection's logged-in user at the time (None before
    login)."""

    name: str
    fields: dict[str, str | list[str]]
    user: str | None
    connection: int
    at: float = field(default_factory=time.time)

    @classmethod
    def of(cls, message: AmiMessage, user: str | None, connection: int) -> ActionRecord:
        return cls(message.action, message.fields(), user, connection)

    def get(self, key: str, default: str = "") -> str:
        """A field's (first) value, by case-insensitive key."""
        for name, value in self.fields.items():
            if name.lower() == key.lower():
                return value[0] if isinstance(value, list) else value
        return default

    def get_all(self, key: str) -> list[str]:
        for name, value in self.fields.items():
            if name.lower() == key.lower():
                return list(value) if isinstance(value, list) else [value]
        return []

    @property
    def action_id(self) -> str:
        return self.get("ActionID")

    @property
    def variables(self) -> list[str]:
        """Every `Variable:` line, in order (each may hold several `a=1,b=2`)."""
        return self.get_all("Variable")


@dataclass(frozen=True)
class EventRecord:
    """One event the emulator sent (to every logged-in connection that wants its class)."""

    name: str
    headers: tuple[Header, ...]
    at: float = field(default_factory=time.time)

    def get(self, key: str, default: str = "") -> str:
        return next((v for k, v in self.headers if k.lower() == key.lower()), default)


Entry = TypeVar("Entry")


class Journal(Generic[Entry]):
    """The last entries of one kind, oldest first."""

    def __init__(self, size: int = 5000) -> None:
        self._entries: deque[Entry] = deque(maxlen=size)
        self._lock = threading.Lock()

    def record(self, entry: Entry) -> None:
        with self._lock:
            self._entries.append(entry)

    def entries(self) -> list[Entry]:
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


FaultKind = Literal["timeout", "drop"]


@dataclass
class AmiFault:
    """A misbehaviour for the next `times` actions whose name matches `action` (a glob,
    case-insensitive).

    `timeout`: no answer at all (the connection stays open). `drop`: the connection is cut —
    mid-reply when `perform` (the action took effect, its answer is lost half-way), or at once
    when not. `perform` for a timeout: the action takes effect though it is never answered."""

    kind: FaultKind
    action: str = "*"
    times: int = 1
    perform: bool = False
    hits: int = 0

    def matches(self, action: str) -> bool:
        return fnmatch.fnmatchcase(action.lower(), self.action.lower())


class FaultPlan:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[AmiFault] = []
        self.refuse_logins = False

    def add(self, fault: AmiFault) -> AmiFault:
        with self._lock:
            self._faults.append(fault)
        return fault

    def take(self, action: str) -> AmiFault | None:
        """The first fault for this action, counted as used."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(action):
                    fault.hits += 1
                    if fault.hits >= fault.times:
                        self._faults.remove(fault)
                    return fault
        return None

    def pending(self) -> list[AmiFault]:
        with self._lock:
            return list(self._faults)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
        self.refuse_logins = False
