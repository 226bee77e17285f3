"""Fault injection and a request journal, shared by every emulator.

Each emulator app is wrapped in `SandboxMiddleware`. A test (or a person poking a running demo)
can then make any endpoint slow, fail with a chosen status, hang past the client's timeout, or drop
the connection mid-response, and can read back every request the emulator received:

    emulator.faults.add(Fault(path="/odata/*/Catalog_*", status=503, retry_after=1, times=2))
    emulator.journal.matching("POST", "*/Document_*")      # -> list of JournalEntry

The same controls are served over HTTP under `/__sandbox__/` (see `control_routes`), which is not
part of any real protocol and exists only in the sandbox.
"""

from __future__ import annotations

import asyncio
import fnmatch
import itertools
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTROL_PREFIX = "/__sandbox__"

ErrorBody = Callable[[int], tuple[bytes, str]]


def default_error_body(status: int) -> tuple[bytes, str]:
    return orjson.dumps({"error": f"injected fault {status}"}), "application/json"


@dataclass
class Fault:
    """One injected misbehaviour. `path` is a glob matched against the request path."""

    path: str = "*"
    method: str | None = None
    latency: float = 0.0
    status: int | None = None
    retry_after: int | None = None
    body: Any = None
    timeout: bool = False
    hang_seconds: float = 30.0
    drop: bool = False
    times: int | None = None
    #: Let this many matching requests through untouched first (e.g. fail from the 2nd page on).
    after: int = 0
    id: int = 0
    hits: int = 0
    passed: int = 0

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None and self.method.upper() != method.upper():
            return False
        return fnmatch.fnmatchcase(path, self.path)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


class FaultInjector:
    """The active faults of one emulator. Thread-safe: tests add faults from their own thread."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def add(self, fault: Fault | None = None, **options: Any) -> Fault:
        fault = fault or Fault(**options)
        with self._lock:
            fault.id = next(self._ids)
            self._faults.append(fault)
        return fault

    def remove(self, fault_id: int) -> bool:
        with self._lock:
            before = len(self._faults)
            self._faults = [f for f in self._faults if f.id != fault_id]
            return len(self._faults) != before

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def list(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def take(self, method: str, path: str) -> Fault | None:
        """The first fault that applies to this request, counting it as used."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path):
                    if fault.passed < fault.after:
                        fault.passed += 1
                        continue
                    fault.hits += 1
                    if fault.times is not None and fault.hits >= fault.times:
                        self._faults.remove(fault)
                    return fault
        return None


@dataclass
class JournalEntry:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    status: int | None = None
    at: float = field(default_factory=time.time)

    def json(self) -> Any:
        return orjson.loads(self.body) if self.body else None

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["body"] = self.body.decode("utf-8", "replace")
        return data


class RequestJournal:
    """The last requests an emulator received, for tests that assert what was (not) sent."""

    def __init__(self, size: int = 5000) -> None:
        self._entries: deque[JournalEntry] = deque(maxlen=size)
        self._lock = threading.Lock()

    def record(self, entry: JournalEntry) -> None:
        with self._lock:
            self._entries.append(entry)

    def entries(self) -> list[JournalEntry]:
        with self._lock:
            return list(self._entries)

    def matching(self, method: str | None = None, path: str = "*") -> list[JournalEntry]:
        return [
            entry
            for entry in self.entries()
            if (method is None or entry.method == method.upper())
            and fnmatch.fnmatchcase(entry.path, path)
        ]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


class SandboxMiddleware:
    """Wraps an emulator: serves `/__sandbox__/…`, records requests, applies faults."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        faults: FaultInjector,
        journal: RequestJournal,
        error_body: ErrorBody = default_error_body,
        reset: Callable[[], None] | None = None,
    ) -> None:
        self.app = app
        self.faults = faults
        self.journal = journal
        self.error_body = error_body
        self.reset = reset

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path.startswith(CONTROL_PREFIX):
            await self._control(scope, receive, send)
            return
        body = await _read_body(receive)
        entry = JournalEntry(
            method=scope["method"],
            path=path,
            query=scope.get("query_string", b"").decode("latin-1"),
            headers={k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]},
            body=body,
        )
        self.journal.record(entry)
        fault = self.faults.take(scope["method"], path)
        replay = _replay(body)

        async def recording_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                entry.status = message["status"]
            await send(message)

        if fault is None:
            await self.app(scope, replay, recording_send)
            return
        await self._apply(fault, scope, replay, recording_send)

    async def _apply(self, fault: Fault, scope: Scope, receive: Receive, send: Send) -> None:
        if fault.latency:
            await asyncio.sleep(fault.latency)
        if fault.timeout:
            await asyncio.sleep(fault.hang_seconds)
        if fault.drop:
            # Headers promise a body that never comes: the client sees the connection cut.
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", b"1000"),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": b'{"partial":', "more_body": True})
            raise ConnectionAbortedError("sandbox: connection dropped on purpose")
        if fault.status is None:
            await self.app(scope, receive, send)
            return
        if fault.body is not None:
            content, media_type = orjson.dumps(fault.body), "application/json"
        else:
            content, media_type = self.error_body(fault.status)
        headers = [
            (b"content-type", media_type.encode()),
            (b"content-length", str(len(content)).encode()),
        ]
        if fault.retry_after is not None:
            headers.append((b"retry-after", str(fault.retry_after).encode()))
        await send({"type": "http.response.start", "status": fault.status, "headers": headers})
        await send({"type": "http.response.body", "body": content})

    async def _control(self, scope: Scope, receive: Receive, send: Send) -> None:
        method = scope["method"]
        action = scope["path"][len(CONTROL_PREFIX) :].strip("/")
        status: int = 200
        payload: Any = None
        if action == "faults" and method == "GET":
            payload = [fault.as_json() for fault in self.faults.list()]
        elif action == "faults" and method == "POST":
            options = orjson.loads(await _read_body(receive) or b"{}")
            allowed = set(Fault.__dataclass_fields__) - {"id", "hits"}
            unknown = set(options) - allowed
            if unknown:
                status, payload = 400, {"error": f"unknown fault options: {sorted(unknown)}"}
            else:
                status, payload = 201, self.faults.add(**options).as_json()
        elif action == "faults" and method == "DELETE":
            self.faults.clear()
            payload = {"cleared": True}
        elif action == "requests" and method == "GET":
            payload = [entry.as_json() for entry in self.journal.entries()]
        elif action == "requests" and method == "DELETE":
            self.journal.clear()
            payload = {"cleared": True}
        elif action == "reset" and method == "POST" and self.reset is not None:
            self.reset()
            self.faults.clear()
            self.journal.clear()
            payload = {"reset": True}
        else:
            status, payload = 404, {"error": "unknown sandbox control"}
        content = orjson.dumps(payload)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": content})


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    return b"".join(chunks)


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            await asyncio.Event().wait()  # nothing more will come; wait like a real socket
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive
