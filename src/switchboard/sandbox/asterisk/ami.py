"""The AMI server: an asyncio TCP server that speaks the Asterisk Manager Interface.

    emulator = AmiEmulator(users={"switchboard": "secret"}, originate_delay=0.05)
    with BackgroundAmi(emulator) as ami:                  # its own thread and event loop
        manager = panoramisk.Manager(host=ami.host, port=ami.port,
                                     username="switchboard", secret="secret")
        emulator.script_outcome("PJSIP/151", Reason.BUSY)  # the operator's phone is busy
        emulator.actions_named("Originate")                # what the client sent

or, inside a running loop, `await emulator.start()` … `await emulator.stop()`.

A connection gets the greeting line, then actions are answered one at a time, in order, as
Asterisk's session thread does (a synchronous Originate holds the connection until the call is
answered or fails). Events go to every logged-in connection whose event mask takes their class.
The test controls (journal, scripted outcomes, faults, channels) are thread-safe.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import itertools
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import TypeVar

from switchboard.sandbox.asterisk import actions
from switchboard.sandbox.asterisk.actions import EVENT_CLASSES, OPEN_ACTIONS, Reply
from switchboard.sandbox.asterisk.callflow import CallEngine, Outcome, OutcomeScripts, Reason
from switchboard.sandbox.asterisk.channels import (
    NORMAL_CLEARING,
    Channel,
    ChannelState,
    ChannelTable,
)
from switchboard.sandbox.asterisk.journal import (
    ActionRecord,
    AmiFault,
    EventRecord,
    FaultPlan,
    Journal,
)
from switchboard.sandbox.asterisk.wire import MAX_LINE, AmiMessage, Header, read_message, render

#: The sandbox's own AMI account, not a secret.
DEFAULT_USER = "switchboard"
DEFAULT_SECRET = "ami-sandbox"  # noqa: S105
DEFAULT_VERSION = "5.0.0"

T = TypeVar("T")


class AmiSession:
    """One client connection: its login, event mask and MD5 challenge."""

    def __init__(
        self,
        emulator: AmiEmulator,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        number: int,
    ) -> None:
        self.emulator = emulator
        self.reader = reader
        self.writer = writer
        self.number = number
        self.user: str | None = None
        self.events: frozenset[str] = frozenset()
        self.challenge = ""

    @property
    def authenticated(self) -> bool:
        return self.user is not None

    def log_in(self, user: str, events: frozenset[str] | None) -> None:
        """Logged in as `user`; `events` from the Login's `Events:` (all classes when absent)."""
        self.user = user
        self.events = EVENT_CLASSES if events is None else events

    def wants(self, classes: Iterable[str]) -> bool:
        return self.authenticated and all(name in self.events for name in classes)

    # -- writing ---------------------------------------------------------------------------

    def send(self, headers: list[Header]) -> None:
        # One write per message: events from call tasks never interleave with a reply.
        if not self.writer.is_closing():
            self.writer.write(render(headers))

    def close(self) -> None:
        if not self.writer.is_closing():
            self.writer.close()

    # -- reading ---------------------------------------------------------------------------

    async def run(self) -> None:
        self.writer.write(f"Asterisk Call Manager/{self.emulator.version}\r\n".encode())
        try:
            while not self.writer.is_closing():
                message = await read_message(self.reader)
                if message is None:
                    break
                await self.handle(message)
        except (ConnectionError, OSError):
            pass  # the client went away; nothing to answer
        finally:
            self.close()
            with contextlib.suppress(ConnectionError, OSError):
                await self.writer.wait_closed()

    async def handle(self, message: AmiMessage) -> None:
        self.emulator.journal.record(ActionRecord.of(message, self.user, self.number))
        fault = self.emulator.faults.take(message.action)
        if fault is not None and not fault.perform:
            if fault.kind == "drop":
                self.close()
            return  # a timeout: the action is swallowed without a word
        reply = await self.dispatch(message)
        if reply is None:
            return
        headers = reply.headers(message.get("ActionID"))
        if fault is not None:
            if fault.kind == "drop":
                rendered = render(headers)
                self.writer.write(rendered[: len(rendered) // 2])
                self.close()
            return
        self.send(headers)
        for following in reply.then:
            self.send(following)
        if reply.close:
            self.close()

    async def dispatch(self, message: AmiMessage) -> Reply | None:
        name = message.action
        if not name:
            return actions.error("Missing action in request")
        if not self.authenticated and name.lower() not in OPEN_ACTIONS:
            return actions.error("Permission denied")
        handler = actions.HANDLERS.get(name.lower())
        if handler is None:
            return actions.error(
                f"Invalid/unknown command: {name}. "
                "Use Action: ListCommands to show available commands."
            )
        return await handler(self.emulator, self, message)


class AmiEmulator:
    """An Asterisk as the Manager Interface shows it: users, channels, calls and their events.

    `users`: username → secret (usernames compare case-insensitively, as Asterisk's do).
    `originate_delay`: how long a called leg rings before it answers or fails (an Originate's
    OriginateResponse comes after it). `talk_seconds`: how long an answered call lasts (None:
    until hung up). `endpoints`: when given, the only endpoints that exist (`PJSIP/151`); an
    Originate to another one fails with Reason 0. `dial_tech`: what the dialplan dials an
    extension with. `login_failure_delay`: Asterisk sleeps a second before refusing a login;
    0 keeps tests fast.
    """

    def __init__(
        self,
        *,
        users: Mapping[str, str] | None = None,
        version: str = DEFAULT_VERSION,
        originate_delay: float = 0.05,
        talk_seconds: float | None = 1.0,
        endpoints: Iterable[str] | None = None,
        dial_tech: str = "PJSIP",
        login_failure_delay: float = 0.0,
    ) -> None:
        accounts = {DEFAULT_USER: DEFAULT_SECRET} if users is None else dict(users)
        self._users = {name.lower(): (name, secret) for name, secret in accounts.items()}
        self.version = version
        self.login_failure_delay = login_failure_delay
        self.channels = ChannelTable()
        self.scripts = OutcomeScripts()
        self.engine = CallEngine(
            self.channels,
            self.scripts,
            self.emit,
            ring_seconds=originate_delay,
            talk_seconds=talk_seconds,
            dial_tech=dial_tech,
            endpoints=endpoints,
        )
        self.journal: Journal[ActionRecord] = Journal()
        self.event_journal: Journal[EventRecord] = Journal()
        self.faults = FaultPlan()
        self.host = ""
        self.port = 0
        self._started = time.monotonic()
        self._server: asyncio.Server | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._sessions: dict[AmiSession, asyncio.Task[object] | None] = {}
        self._numbers = itertools.count(1)

    # -- serving ---------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Listens on `host:port` (0: any free port) in the running loop; returns the port."""
        self._loop = asyncio.get_running_loop()
        self._server = await asyncio.start_server(self._serve, host, port, limit=MAX_LINE)
        self.host = host
        self.port = self._server.sockets[0].getsockname()[1]
        self._started = time.monotonic()
        return self.port

    async def stop(self) -> None:
        """Stops listening, ends every connection and every call in progress."""
        if self._server is not None:
            self._server.close()
        for session in list(self._sessions):
            session.close()
        calls = self.engine.reset()
        tasks = [*calls, *(task for task in self._sessions.values() if task is not None)]
        if tasks:
            await asyncio.wait(tasks, timeout=5)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session = AmiSession(self, reader, writer, next(self._numbers))
        self._sessions[session] = asyncio.current_task()
        try:
            await session.run()
        finally:
            self._sessions.pop(session, None)

    def emit(self, event: str, fields: list[Header], privilege: str = "call,all") -> None:
        """Sends an event to every logged-in connection that takes its class (in the loop)."""
        headers: list[Header] = [("Event", event), ("Privilege", privilege), *fields]
        self.event_journal.record(EventRecord(event, tuple(headers)))
        classes = [name for name in privilege.split(",") if name != "all"]
        for session in list(self._sessions):
            if session.wants(classes):
                session.send(headers)

    # -- what the actions need -------------------------------------------------------------

    def authenticate(self, message: AmiMessage, challenge: str) -> str | None:
        """The user a Login names, if its secret (or MD5 key) is right and logins are allowed."""
        if self.faults.refuse_logins:
            return None
        account = self._users.get(message.get("Username").strip().lower())
        if account is None:
            return None
        name, secret = account
        return name if actions.secret_matches(message, challenge, secret) else None

    async def pause_after_failed_login(self) -> None:
        if self.login_failure_delay > 0:
            await asyncio.sleep(self.login_failure_delay)

    def uptime(self) -> int:
        return int(time.monotonic() - self._started)

    # -- test controls: the journal --------------------------------------------------------

    def actions(self) -> list[ActionRecord]:
        """Every action received, oldest first (also those refused or swallowed by a fault)."""
        return self.journal.entries()

    def actions_named(self, name: str) -> list[ActionRecord]:
        return [record for record in self.actions() if record.name.lower() == name.lower()]

    def events(self, name: str | None = None) -> list[EventRecord]:
        """Every event sent (optionally of one name), oldest first."""
        records = self.event_journal.entries()
        return [e for e in records if name is None or e.name.lower() == name.lower()]

    # -- test controls: calls and channels -------------------------------------------------

    def script_outcome(
        self,
        target: str,
        reason: Reason | int = Reason.ANSWERED,
        *,
        ring_seconds: float | None = None,
        talk_seconds: float | None = None,
        times: int | None = None,
    ) -> None:
        """How calls to `target` end: a channel (`PJSIP/151`) or number (`151`,
        `7999*`), glob, case-insensitive. Reason 4 answers, 5 busy, 3 no answer, 8 congestion,
        0 failed. `talk_seconds` may be `UNTIL_HUNG_UP`; `times`: for that many calls only."""
        outcome = Outcome(Reason(reason), ring_seconds, talk_seconds)
        self.scripts.add(target, outcome, times)

    def add_endpoint(self, name: str) -> None:
        """Makes an endpoint exist when the emulator was given a list of `endpoints`."""
        self.engine.add_endpoint(name)

    def add_channel(
        self,
        name: str,
        *,
        caller_num: str = "",
        caller_name: str = "",
        context: str = "from-internal",
        exten: str = "s",
        state: ChannelState = ChannelState.UP,
    ) -> dict[str, object]:
        """A live channel named exactly `name` (e.g. `PJSIP/151-00000001`), as if a call were
        up on it: Redirect and Hangup find it. No events are sent for it."""
        uniqueid = self.channels.new_uniqueid()
        channel = Channel(
            name=name,
            uniqueid=uniqueid,
            linkedid=uniqueid,
            state=state,
            caller_num=caller_num,
            caller_name=caller_name,
            context=context,
            exten=exten,
        )
        self.channels.add(channel)
        return channel.describe()

    def channels_up(self) -> list[dict[str, object]]:
        """The live channels (a copy)."""
        return [channel.describe() for channel in self.channels.all()]

    def hangup(self, name: str, cause: int = NORMAL_CLEARING) -> bool:
        """Hangs a live channel up (as its user would), with its events; False if none."""

        def hang_up() -> bool:
            channel = self.channels.find(name)
            return channel is not None and self.engine.hangup(channel, cause)

        return self._in_loop(hang_up)

    def incoming_call(
        self,
        caller: str,
        exten: str,
        *,
        caller_name: str = "",
        trunk: str = "PJSIP/trunk",
        context: str = "from-trunk",
        talk_seconds: float | None = None,
    ) -> str:
        """A call from `caller` (a number outside) to `exten`, played out with its events
        (the extension's outcome as scripted). Returns the call's Linkedid."""

        def ring_in() -> str:
            channel = self.engine.incoming_call(
                caller_num=caller,
                caller_name=caller_name,
                exten=exten,
                trunk=trunk,
                context=context,
                talk_seconds=talk_seconds,
            )
            return channel.linkedid

        return self._in_loop(ring_in)

    # -- test controls: faults -------------------------------------------------------------

    def time_out_next(
        self, count: int = 1, action: str = "*", *, perform: bool = False
    ) -> AmiFault:
        """The next `count` actions named like `action` get no answer (`perform`: they still
        take effect)."""
        return self.faults.add(AmiFault("timeout", action, count, perform))

    def drop_next(self, count: int = 1, action: str = "*", *, perform: bool = True) -> AmiFault:
        """The next `count` actions named like `action` lose their connection: mid-reply after
        taking effect (`perform`), or at once without effect."""
        return self.faults.add(AmiFault("drop", action, count, perform))

    def refuse_logins(self, refuse: bool = True) -> None:
        """Every Login fails (`Authentication failed`, then the connection closes)."""
        self.faults.refuse_logins = refuse

    def reset(self) -> None:
        """Back to the state after start: no journal, scripts, faults or calls. Calls in
        progress end without events; connections stay open."""
        self._in_loop(self.engine.reset)
        self.journal.clear()
        self.event_journal.clear()
        self.scripts.clear()
        self.faults.clear()

    def _in_loop(self, work: Callable[[], T]) -> T:
        """Runs `work` in the emulator's loop (calls and their events live there) and returns
        its result; directly when called from that loop or before the emulator started."""
        loop = self._loop
        if loop is None or not loop.is_running() or _running_loop() is loop:
            return work()
        done: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            try:
                done.set_result(work())
            except BaseException as failure:  # handed to the caller's thread
                done.set_exception(failure)

        loop.call_soon_threadsafe(run)
        return done.result(timeout=10)


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


class BackgroundAmi:
    """An `AmiEmulator` served from a daemon thread with its own event loop (for tests and
    synchronous code), like `BackgroundServer` for the HTTP emulators."""

    def __init__(
        self, emulator: AmiEmulator | None = None, *, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.emulator = emulator or AmiEmulator()
        self.host = host
        self.port = port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self, timeout: float = 10) -> int:
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(
            target=self._run_loop, args=(loop,), name="sandbox-ami", daemon=True
        )
        self._thread.start()
        started = asyncio.run_coroutine_threadsafe(self.emulator.start(self.host, self.port), loop)
        self.port = started.result(timeout)
        return self.port

    def stop(self, timeout: float = 10) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        asyncio.run_coroutine_threadsafe(self.emulator.stop(), loop).result(timeout)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout)
        self._loop = self._thread = None

    @staticmethod
    def _run_loop(loop: asyncio.AbstractEventLoop) -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    def __enter__(self) -> BackgroundAmi:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
