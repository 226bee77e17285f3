"""Calls as Asterisk 12+ reports them: who rings, who answers, and the events on the way.

An originated call first rings the channel the Originate names (leg A: the operator's phone).
When A answers, the dialplan dials the extension (leg B: `<dial_tech>/<exten>`), the two are
bridged, talk, and hang up:

    Newchannel A · Newstate A Ringing · Newstate A Up · [OriginateResponse] ·
    Newchannel B · DialBegin · Newstate B Ringing · Newstate B Up · DialEnd ANSWER ·
    BridgeCreate · BridgeEnter A · BridgeEnter B · … · BridgeLeave B · Hangup B ·
    BridgeLeave A · BridgeDestroy · Hangup A

How each leg ends is scripted per channel or number (`OutcomeScripts`); unscripted legs answer.
A leg that does not answer hangs up with the matching Q.850 cause (busy 17, no answer 19,
congestion 34) and the dial ends with the matching `DialStatus`.
"""

from __future__ import annotations

import asyncio
import fnmatch
import math
import threading
from collections.abc import Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from switchboard.sandbox.asterisk.channels import (
    NORMAL_CLEARING,
    Bridge,
    Channel,
    ChannelState,
    ChannelTable,
    cause_text,
    split_channel,
)
from switchboard.sandbox.asterisk.wire import Header

#: `talk_seconds` of a call that lasts until someone hangs it up (Hangup action, `hangup()`).
UNTIL_HUNG_UP = math.inf

Emit = Callable[[str, list[Header]], None]


class Reason(IntEnum):
    """OriginateResponse `Reason`: the last control frame the channel sent (AST_CONTROL_*)."""

    FAILED = 0  # no such endpoint, or it could not be reached
    HANGUP = 1  # hung up while ringing
    NO_ANSWER = 3  # rang until the timeout
    ANSWERED = 4
    BUSY = 5
    CONGESTION = 8


HANGUP_CAUSES = {
    Reason.FAILED: 0,
    Reason.HANGUP: NORMAL_CLEARING,
    Reason.NO_ANSWER: 19,
    Reason.ANSWERED: NORMAL_CLEARING,
    Reason.BUSY: 17,
    Reason.CONGESTION: 34,
}

DIAL_STATUSES = {
    Reason.FAILED: "CHANUNAVAIL",
    Reason.HANGUP: "CANCEL",
    Reason.NO_ANSWER: "NOANSWER",
    Reason.ANSWERED: "ANSWER",
    Reason.BUSY: "BUSY",
    Reason.CONGESTION: "CONGESTION",
}


@dataclass(frozen=True)
class Outcome:
    """How one leg ends. `None` timings take the emulator's defaults; `talk_seconds` may be
    `UNTIL_HUNG_UP`."""

    reason: Reason = Reason.ANSWERED
    ring_seconds: float | None = None
    talk_seconds: float | None = None


@dataclass
class _Script:
    target: str
    outcome: Outcome
    times: int | None
    used: int = 0


class OutcomeScripts:
    """Scripted outcomes by channel or number (globs, case-insensitive). The latest script that
    matches wins, so a test can override a broad one. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._scripts: list[_Script] = []

    def add(self, target: str, outcome: Outcome, times: int | None = None) -> None:
        with self._lock:
            self._scripts.append(_Script(target.lower(), outcome, times))

    def take(self, candidates: Iterable[str]) -> Outcome | None:
        """The outcome for a leg known by these names (e.g. `PJSIP/151` and `151`), counting a
        use against a script with `times`."""
        names = [name.lower() for name in candidates if name]
        with self._lock:
            for script in reversed(self._scripts):
                if any(fnmatch.fnmatchcase(name, script.target) for name in names):
                    script.used += 1
                    if script.times is not None and script.used >= script.times:
                        self._scripts.remove(script)
                    return script.outcome
        return None

    def clear(self) -> None:
        with self._lock:
            self._scripts.clear()


@dataclass(frozen=True)
class DialTarget:
    """What a dialplan `Dial()` calls: `PJSIP/79990000000` → tech, resource, dial string."""

    tech: str
    resource: str

    @property
    def channel(self) -> str:
        return f"{self.tech}/{self.resource}"

    @classmethod
    def parse(cls, text: str) -> DialTarget | None:
        """The first destination of `Dial()` data (`PJSIP/151&PJSIP/152,30,tT` → PJSIP/151)."""
        first = text.split(",", 1)[0].split("&", 1)[0].strip()
        parts = split_channel(first)
        return cls(*parts) if parts else None


@dataclass(frozen=True)
class OriginateRequest:
    """An Originate's parameters, checked and parsed."""

    channel: str
    context: str = ""
    exten: str = ""
    priority: int = 1
    application: str = ""
    data: str = ""
    caller_num: str = ""
    caller_name: str = ""
    account: str = ""
    variables: dict[str, str] = field(default_factory=dict)
    channel_id: str = ""

    @property
    def tech(self) -> str:
        return self.channel.partition("/")[0]

    @property
    def resource(self) -> str:
        return self.channel.partition("/")[2]


@dataclass(frozen=True)
class LegResult:
    reason: Reason
    channel: Channel | None = None
    outcome: Outcome = field(default_factory=Outcome)


class CallEngine:
    """Plays calls out in the emulator's event loop, emitting their events through `emit`."""

    def __init__(
        self,
        channels: ChannelTable,
        scripts: OutcomeScripts,
        emit: Emit,
        *,
        ring_seconds: float,
        talk_seconds: float | None,
        dial_tech: str = "PJSIP",
        endpoints: Iterable[str] | None = None,
    ) -> None:
        self.channels = channels
        self.scripts = scripts
        self.emit = emit
        self.ring_seconds = ring_seconds
        self.talk_seconds = UNTIL_HUNG_UP if talk_seconds is None else talk_seconds
        self.dial_tech = dial_tech
        self._endpoints_lock = threading.Lock()
        self._initial_endpoints = None if endpoints is None else {e.lower() for e in endpoints}
        self._endpoints = None if endpoints is None else set(self._initial_endpoints or ())
        self._tasks: set[asyncio.Task[None]] = set()

    # -- configuration ---------------------------------------------------------------------

    def add_endpoint(self, name: str) -> None:
        with self._endpoints_lock:
            if self._endpoints is not None:
                self._endpoints.add(name.lower())

    def endpoint_exists(self, channel: str) -> bool:
        """Every endpoint exists unless the emulator was given a list; Local channels are the
        dialplan's and always exist."""
        if channel.lower().startswith("local/"):
            return True
        with self._endpoints_lock:
            return self._endpoints is None or channel.lower() in self._endpoints

    def outcome_for(self, channel: str) -> Outcome:
        resource = channel.partition("/")[2]
        scripted = self.scripts.take([channel, resource])
        if scripted is not None:
            return scripted
        if not self.endpoint_exists(channel):
            return Outcome(Reason.FAILED)
        return Outcome()

    def reset(self) -> list[asyncio.Task[None]]:
        """Ends every call in progress without events, forgets the channels and the endpoints
        added since start. Returns the cancelled tasks (for a caller that awaits their end)."""
        with self._endpoints_lock:
            initial = self._initial_endpoints
            self._endpoints = None if initial is None else set(initial)
        cancelled = list(self._tasks)
        for task in cancelled:
            task.cancel()
        self._tasks.clear()
        self.channels.clear()
        return cancelled

    # -- running calls ---------------------------------------------------------------------

    def spawn(self, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def ring_originated(self, request: OriginateRequest) -> LegResult:
        """Leg A of an Originate, up to its answer (or not): what OriginateResponse reports."""
        outcome = self.outcome_for(request.channel)
        ring = self._ring_seconds(outcome)
        if outcome.reason == Reason.FAILED:
            await asyncio.sleep(ring)
            return LegResult(Reason.FAILED, outcome=outcome)
        leg = self.channels.create(
            request.tech,
            request.resource,
            uniqueid=request.channel_id,
            caller=(request.caller_num, request.caller_name),
            location=(request.context or "default", request.exten or "s", request.priority),
            account=request.account,
            variables=request.variables,
        )
        self.emit("Newchannel", leg.snapshot())
        self._set_state(leg, ChannelState.RINGING)
        await _first_ended([leg], ring)
        if leg.hung_up:
            return LegResult(Reason.HANGUP, outcome=outcome)
        if outcome.reason != Reason.ANSWERED:
            self.hangup(leg, HANGUP_CAUSES[outcome.reason])
            return LegResult(outcome.reason, outcome=outcome)
        self._set_state(leg, ChannelState.UP)
        return LegResult(Reason.ANSWERED, leg, outcome)

    def after_answer(self, answered: LegResult, request: OriginateRequest) -> None:
        """The rest of an originated call: the dialplan (or application) of the answered leg."""
        leg = answered.channel
        if leg is None:
            return
        if request.application:
            target = (
                DialTarget.parse(request.data) if request.application.lower() == "dial" else None
            )
        else:
            target = DialTarget(self.dial_tech, request.exten)
        self.spawn(self._dial_and_talk(leg, target, answered.outcome.talk_seconds))

    def incoming_call(
        self,
        *,
        caller_num: str,
        caller_name: str,
        exten: str,
        trunk: str,
        context: str,
        talk_seconds: float | None = None,
    ) -> Channel:
        """A call from outside to `exten`: the trunk's channel rings in, the dialplan dials the
        extension. Returns the caller's channel (its Uniqueid is the call's Linkedid)."""
        tech, resource = split_channel(trunk) or ("PJSIP", trunk)
        leg = self.channels.create(
            tech,
            resource,
            state=ChannelState.RING,
            caller=(caller_num, caller_name),
            location=(context, exten, 1),
        )

        async def ring_in() -> None:
            self.emit("Newchannel", leg.snapshot())
            await self._dial_and_talk(leg, DialTarget(self.dial_tech, exten), talk_seconds)

        self.spawn(ring_in())
        return leg

    async def _dial_and_talk(
        self, caller: Channel, target: DialTarget | None, talk_seconds: float | None
    ) -> None:
        if target is None:
            await _first_ended([caller], self._talk_seconds(talk_seconds, None))
            self.hangup(caller, NORMAL_CLEARING)
            return
        outcome = self.outcome_for(target.channel)
        if outcome.reason == Reason.FAILED:
            # Dial() found nothing to call: no channel, no DialBegin; the caller's dialplan ends.
            await asyncio.sleep(self._ring_seconds(outcome))
            self.hangup(caller, HANGUP_CAUSES[Reason.FAILED])
            return
        callee = self.channels.create(
            target.tech,
            target.resource,
            linkedid=caller.linkedid,
            caller=(target.resource, ""),
            connected=(caller.caller_num, caller.caller_name),
            location=(caller.context, target.resource, 1),
        )
        self.emit("Newchannel", callee.snapshot())
        self._emit_dial("DialBegin", caller, callee, ("DialString", target.resource))
        self._set_state(callee, ChannelState.RINGING)
        await _first_ended([caller, callee], self._ring_seconds(outcome))
        if caller.hung_up or callee.hung_up or outcome.reason != Reason.ANSWERED:
            self._end_unanswered_dial(caller, callee, outcome.reason)
            return
        self._set_state(callee, ChannelState.UP)
        self._emit_dial("DialEnd", caller, callee, ("DialStatus", "ANSWER"))
        caller.connected_num, caller.connected_name = target.resource, ""
        if caller.state != ChannelState.UP:
            self._set_state(caller, ChannelState.UP)
        self._bridge(caller, callee)
        await _first_ended([caller, callee], self._talk_seconds(talk_seconds, outcome))
        self.hangup(callee, NORMAL_CLEARING)
        self.hangup(caller, NORMAL_CLEARING)

    def _end_unanswered_dial(self, caller: Channel, callee: Channel, reason: Reason) -> None:
        if caller.hung_up:
            reason = Reason.HANGUP
        elif callee.hung_up:
            reason = Reason.NO_ANSWER
        self._emit_dial("DialEnd", caller, callee, ("DialStatus", DIAL_STATUSES[reason]))
        cause = HANGUP_CAUSES[reason]
        self.hangup(callee, cause)
        self.hangup(caller, cause)

    # -- channel operations ----------------------------------------------------------------

    def hangup(self, channel: Channel, cause: int = NORMAL_CLEARING) -> bool:
        """Hangs a live channel up (leaving its bridge first). False if it already was."""
        if channel.hung_up:
            return False
        channel.hung_up = True
        self._leave_bridge(channel)
        self.channels.remove(channel)
        self.emit(
            "Hangup", [*channel.snapshot(), ("Cause", str(cause)), ("Cause-txt", cause_text(cause))]
        )
        channel.ended.set()
        return True

    def _set_state(self, channel: Channel, state: ChannelState) -> None:
        self.channels.set_state(channel, state)
        self.emit("Newstate", channel.snapshot())

    def _emit_dial(self, event: str, caller: Channel, callee: Channel, extra: Header) -> None:
        self.emit(event, [*caller.snapshot(), *callee.snapshot("Dest"), extra])

    def _bridge(self, *legs: Channel) -> Bridge:
        bridge = Bridge()
        self.emit("BridgeCreate", bridge.fields())
        for leg in legs:
            bridge.members.append(leg)
            leg.bridge = bridge
            self.emit("BridgeEnter", [*bridge.fields(), *leg.snapshot()])
        return bridge

    def _leave_bridge(self, channel: Channel) -> None:
        bridge = channel.bridge
        if bridge is None:
            return
        bridge.members.remove(channel)
        channel.bridge = None
        self.emit("BridgeLeave", [*bridge.fields(), *channel.snapshot()])
        if not bridge.members:
            self.emit("BridgeDestroy", bridge.fields())

    def _ring_seconds(self, outcome: Outcome) -> float:
        return self.ring_seconds if outcome.ring_seconds is None else outcome.ring_seconds

    def _talk_seconds(self, first: float | None, second: Outcome | None) -> float:
        """A talk time scripted on either leg wins over the emulator's default."""
        for seconds in (first, second.talk_seconds if second else None):
            if seconds is not None:
                return seconds
        return self.talk_seconds


async def _first_ended(legs: Sequence[Channel], seconds: float) -> None:
    """Waits `seconds` (forever when infinite), or less if one of `legs` hangs up meanwhile."""
    waits = [asyncio.ensure_future(leg.ended.wait()) for leg in legs]
    try:
        await asyncio.wait(
            waits,
            timeout=None if math.isinf(seconds) else seconds,
            return_when=asyncio.FIRST_COMPLETED,
        )
    finally:
        for wait in waits:
            wait.cancel()
