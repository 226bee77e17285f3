"""A call generator: the HTTP events an Asterisk PBX's dialplan sends while calls happen.

The PBX reports each call as a few flat JSON objects POSTed to the platform (seed 003, «Единый
флоу звонка»):

    POST /start    an incoming call arrived (before anyone rings)
    POST /dial     extensions ring: the ring group of an incoming call, or the one that dials out
    POST /bridge   two channels were connected: someone answered (again after a transfer)
    POST /hangup   the call ended: CallStatus, StartTime (the answer time), EndTime, Cause

Not every call sends all four, as on the real PBX: an outgoing call begins with `dial`, an
internal one with `bridge`, an unanswered one has no `bridge`, and a PBX that lost its events
sends a lone `hangup`. Field names and value shapes are the PBX's (`Token`, `UniqueId` like
`1732960000.123`, `CallType` 0/1/2, `Extensions` a list of strings, `CallStatus` a string,
times as naive local `YYYY-MM-DD HH:MM:SS` in the PBX's zone, `StartTime` empty when nobody
answered).

The model is pure and seeded, so a test can assert on exact sequences:

    generator = CallGenerator("375170000000", ["101", "102", "103"], seed=7)
    call = generator.scenario(CallKind.INCOMING_MISSED, at=datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    [event.name for event in call.events]          # ['start', 'dial', 'hangup']

and the player sends scenarios to a running platform, in real time or faster:

    async with CallPlayer("http://127.0.0.1:8000/asterisk", "375170000000", speed=0.1) as player:
        await player.play(call)                        # one call, its events in order
        await player.play_many(20, rate_per_minute=60) # concurrent calls, a weighted mix of kinds
        await player.run_forever(6)                    # the demo's steady trickle; cancel to stop
        print(player.stats.summary())

A platform that is down, slow or answering 5xx does not stop the player: every event is sent
once (as the PBX's CURL() does), its status or transport error and latency recorded.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import random
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from enum import StrEnum
from typing import Any, Literal, NamedTuple
from zoneinfo import ZoneInfo

import httpx
import orjson
import structlog

from switchboard.sandbox.asterisk.recordings import recording_url

log = structlog.get_logger(__name__)

EventName = Literal["start", "dial", "bridge", "hangup"]

CALL_TYPE_INCOMING = 0
CALL_TYPE_OUTGOING = 1
CALL_TYPE_INTERNAL = 2

#: `CallStatus` of a hangup. The reference PBX sends "2" for answered and "0" otherwise; the
#: sandbox also marks a busy extension with "1" (the Cause says "User busy" either way), so a
#: receiver must treat everything but "2" as not answered, as the original platform does.
CALL_STATUS_ANSWERED = "2"
CALL_STATUS_NOT_ANSWERED = "0"
CALL_STATUS_BUSY = "1"

#: What Asterisk's CURL() calls itself (func_curl's user agent).
USER_AGENT = "asterisk-libcurl-agent/1.0"
#: The format of every time the PBX sends: local, naive, to the second.
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"

DEFAULT_TOKEN = "375170000000"  # noqa: S105 - the sandbox PBX's demo Token, not a secret
DEFAULT_EXTENSIONS = ("101", "102", "103", "104", "105")
DEFAULT_TRUNKS = ("0001363", "0001364")
DEFAULT_TIMEZONE = "Europe/Minsk"
#: Belarusian mobile operators' codes, as in the reference's numbers (375 29 …, 375 44 …).
DEFAULT_OPERATOR_CODES = ("25", "29", "33", "44")


class Cause(NamedTuple):
    """A Q.850 hangup cause as Asterisk reports it: the code and Asterisk's text for it."""

    code: str
    text: str


NORMAL_CLEARING = Cause("16", "Normal Clearing")
USER_BUSY = Cause("17", "User busy")
NO_ANSWER = Cause("19", "User alerting, no answer")


class CallKind(StrEnum):
    INCOMING_ANSWERED = "incoming_answered"
    #: A ring group of several extensions rings, nobody answers, the caller gives up.
    INCOMING_MISSED = "incoming_missed"
    INCOMING_BUSY = "incoming_busy"
    OUTGOING_ANSWERED = "outgoing_answered"
    OUTGOING_UNANSWERED = "outgoing_unanswered"
    #: One extension calls another (CallType 2): only `bridge` and `hangup`, as the PBX sends.
    INTERNAL = "internal"
    #: Answered, then transferred: a second `dial` and `bridge` to another extension.
    INCOMING_TRANSFERRED = "incoming_transferred"
    #: The PBX lost the call's first events: a lone `hangup`.
    HANGUP_ONLY = "hangup_only"


OUTGOING_KINDS = frozenset({CallKind.OUTGOING_ANSWERED, CallKind.OUTGOING_UNANSWERED})

#: A working day's mix, by weight: mostly incoming calls, a fair share missed.
DEFAULT_MIX: Mapping[CallKind, float] = {
    CallKind.INCOMING_ANSWERED: 40,
    CallKind.INCOMING_MISSED: 12,
    CallKind.INCOMING_BUSY: 4,
    CallKind.OUTGOING_ANSWERED: 20,
    CallKind.OUTGOING_UNANSWERED: 8,
    CallKind.INTERNAL: 6,
    CallKind.INCOMING_TRANSFERRED: 6,
    CallKind.HANGUP_ONLY: 4,
}


# -- the model -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CallEvent:
    """One POST of the PBX. `at`: seconds after the call began when the PBX sends it.
    `payload` is the JSON body; treat it as read-only (it is shared with the scenario)."""

    name: EventName
    at: int
    payload: dict[str, Any]

    @property
    def path(self) -> str:
        return f"/{self.name}"

    @property
    def unique_id(self) -> str:
        return str(self.payload["UniqueId"])


@dataclass(frozen=True)
class CallScenario:
    """One call and the events the PBX sends for it, in order."""

    kind: CallKind
    unique_id: str
    call_type: int
    #: When the call began: an incoming call reached the PBX, an extension dialled.
    began_at: datetime
    #: The other party as the PBX shows it: the customer's number, or the called extension.
    phone: str
    #: The line of an external call; "" for internal calls.
    trunk: str
    #: The extensions the (first) dial rang.
    rung: tuple[str, ...]
    #: The extensions that talked, in order: two after a transfer, none when unanswered.
    talked: tuple[str, ...]
    #: From the first ring to the answer, or to the hangup when nobody answered.
    ring_seconds: int
    #: From the answer to the hangup (`EndTime − StartTime`); 0 when unanswered.
    talk_seconds: int
    call_status: str
    cause: Cause
    events: tuple[CallEvent, ...]

    @property
    def answered(self) -> bool:
        return self.call_status == CALL_STATUS_ANSWERED

    @property
    def duration(self) -> int:
        """Seconds from the call's beginning to its hangup."""
        return self.events[-1].at

    @property
    def hangup(self) -> CallEvent:
        return self.events[-1]


class _Timeline:
    """Moments of one call, formatted as the PBX prints them."""

    def __init__(self, began_at: datetime, zone: tzinfo) -> None:
        self.began_at = began_at
        self.zone = zone

    def moment(self, at: int) -> datetime:
        return self.began_at + timedelta(seconds=at)

    def text(self, at: int) -> str:
        return self.moment(at).astimezone(self.zone).strftime(TIME_FORMAT)


@dataclass(frozen=True)
class _IncomingCall:
    """The parts of an incoming call its events share, and the events' payloads."""

    token: str
    unique_id: str
    phone: str
    trunk: str
    trunk_channel: str
    moments: _Timeline

    def common(self) -> dict[str, Any]:
        return {
            "Token": self.token,
            "UniqueId": self.unique_id,
            "CallType": CALL_TYPE_INCOMING,
            "Phone": self.phone,
            "CallerIDNum": self.phone,
            "Trunk": self.trunk,
        }

    def start(self) -> CallEvent:
        # Exten: the number the call came to, which on these PBXs is the line's id.
        return CallEvent(
            "start",
            0,
            {
                **self.common(),
                "Exten": self.trunk,
                "Channel": self.trunk_channel,
                "StartTime": self.moments.text(0),
            },
        )

    def dial(self, at: int, extensions: Sequence[str]) -> CallEvent:
        return CallEvent(
            "dial",
            at,
            {
                **self.common(),
                "Extensions": list(extensions),
                "ExternalInitiated": False,
                "Channel": self.trunk_channel,
                "ExtPhone": self.phone,
                "ExtTrunk": "",
            },
        )

    def bridge(self, at: int, bridge_id: str, extension: str, extension_channel: str) -> CallEvent:
        # No Trunk here: the PBX leaves it out of bridges (receivers take it from the dial
        # or parse it out of Channel).
        return CallEvent(
            "bridge",
            at,
            {
                "Token": self.token,
                "UniqueId": self.unique_id,
                "CallType": CALL_TYPE_INCOMING,
                "BridgeUniqueid": bridge_id,
                "CallerIDNum": self.phone,
                "CallerIDName": "",
                "ConnectedLineNum": extension,
                "ConnectedLineName": "<unknown>",
                "Exten": self.trunk,
                "Channel": self.trunk_channel,
                "DestChannel": extension_channel,
            },
        )

    def hangup(
        self,
        at: int,
        *,
        extensions: Sequence[str],
        answered_at: int | None,
        status: str,
        cause: Cause,
    ) -> CallEvent:
        return CallEvent(
            "hangup",
            at,
            {
                **self.common(),
                "Extensions": list(extensions),
                "ConnectedLineNum": extensions[-1] if answered_at is not None else "",
                "CallStatus": status,
                "StartTime": "" if answered_at is None else self.moments.text(answered_at),
                "EndTime": self.moments.text(at),
                "DateReceived": self.moments.text(0),
                "Cause": cause.code,
                "CauseTxt": cause.text,
                "Channel": self.trunk_channel,
            },
        )


class CallGenerator:
    """Builds `CallScenario`s of one PBX (one `Token`): its extensions, trunks, time zone and
    the way it prints external numbers. Deterministic for a given `seed` and call times."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        extensions: Sequence[str] = DEFAULT_EXTENSIONS,
        *,
        trunks: Sequence[str] = DEFAULT_TRUNKS,
        seed: int | None = None,
        tz: str | tzinfo = DEFAULT_TIMEZONE,
        country_code: str = "375",
        operator_codes: Sequence[str] = DEFAULT_OPERATOR_CODES,
        plus: bool = False,
        known_phones: Sequence[str] = (),
        known_share: float = 0.3,
        click_to_call_share: float = 0.0,
        channel_tech: str = "SIP",
        clock: Callable[[], datetime] | None = None,
        recordings_url: str | None = None,
    ) -> None:
        """`plus`: external numbers as `+375…` instead of `375…`. `known_phones`: numbers of
        existing customers (any format), used for `known_share` of external calls so calls can
        match CRM records. `click_to_call_share`: outgoing calls flagged `ExternalInitiated`.
        `clock`: the time a call begins when `scenario()` is given none (default: now).
        `recordings_url`: where the PBX serves its recordings (`PbxRecordings`); an answered
        call's hangup then names its file in `RecordUrl`."""
        self.extensions = tuple(dict.fromkeys(extensions))
        if len(self.extensions) < 2:
            raise ValueError("at least two extensions: internal calls and transfers need two")
        if not trunks:
            raise ValueError("at least one trunk")
        self.token = token
        self.trunks = tuple(trunks)
        self.seed = seed
        self.zone: tzinfo = ZoneInfo(tz) if isinstance(tz, str) else tz
        self.country_code = country_code
        self.operator_codes = tuple(operator_codes)
        self.plus = plus
        self.known_phones = tuple(self._shown(phone) for phone in known_phones)
        self.known_share = known_share
        self.click_to_call_share = click_to_call_share
        self.channel_tech = channel_tech
        self.clock = clock or (lambda: datetime.now(UTC))
        self.recordings_url = recordings_url.rstrip("/") if recordings_url else None
        self.rng = random.Random(seed)
        # Asterisk numbers channels with one counter for the whole PBX: the part of a
        # UniqueId after the dot, and the hex suffix of a channel's name.
        self._channels = self.rng.randint(1, 400)

    # -- public ----------------------------------------------------------------------------

    def scenario(
        self, kind: CallKind | str | None = None, *, at: datetime | None = None
    ) -> CallScenario:
        """One call of `kind` (None: drawn from `DEFAULT_MIX`) beginning at `at` (aware;
        default: the clock)."""
        kind = self.pick_kind() if kind is None else CallKind(kind)
        began_at = at or self.clock()
        if began_at.tzinfo is None:
            raise ValueError("a call's time must be timezone-aware")
        if kind in OUTGOING_KINDS:
            call = self._outgoing(kind, began_at)
        elif kind is CallKind.INTERNAL:
            call = self._internal(kind, began_at)
        else:
            call = self._incoming(kind, began_at)
        if self.recordings_url and call.answered:
            call.hangup.payload["RecordUrl"] = recording_url(self.recordings_url, call.unique_id)
        return call

    def pick_kind(
        self, mix: Mapping[CallKind, float] | Mapping[str, float] | None = None
    ) -> CallKind:
        """A kind drawn by weight from `mix` (default `DEFAULT_MIX`)."""
        weights = {CallKind(kind): float(weight) for kind, weight in (mix or DEFAULT_MIX).items()}
        if not weights or min(weights.values()) < 0 or sum(weights.values()) <= 0:
            raise ValueError("a mix needs positive weights")
        kinds = list(weights)
        return self.rng.choices(kinds, weights=[weights[kind] for kind in kinds])[0]

    def external_phone(self) -> str:
        """A customer's number as the PBX shows it: a known one for `known_share` of calls."""
        if self.known_phones and self.rng.random() < self.known_share:
            return self.rng.choice(self.known_phones)
        subscriber = "".join(str(self.rng.randint(0, 9)) for _ in range(7))
        digits = self.country_code + self.rng.choice(self.operator_codes) + subscriber
        return self._shown(digits)

    # -- drawing ---------------------------------------------------------------------------

    def _shown(self, phone: str) -> str:
        digits = "".join(char for char in phone if char.isdigit())
        return f"+{digits}" if self.plus else digits

    def _channel_number(self) -> int:
        self._channels += 1
        return self._channels

    def _channel(self, peer: str, number: int) -> str:
        return f"{self.channel_tech}/{peer}-{number:08x}"

    def _unique_id(self, began_at: datetime, number: int) -> str:
        return f"{int(began_at.timestamp())}.{number}"

    def _bridge_id(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def _talk_seconds(self) -> int:
        # Talk times are long-tailed: most calls a minute or two, a few much longer.
        seconds = self.rng.lognormvariate(math.log(75), 0.9)
        return int(min(max(seconds, 4), 1800))

    def _ring_group(self) -> list[str]:
        size = min(len(self.extensions), self.rng.randint(2, 4))
        group = self.rng.sample(self.extensions, size)
        return sorted(group, key=self.extensions.index)

    def _other_extension(self, *taken: str) -> str:
        return self.rng.choice([ext for ext in self.extensions if ext not in taken])

    # -- incoming --------------------------------------------------------------------------

    def _incoming(self, kind: CallKind, began_at: datetime) -> CallScenario:
        rng = self.rng
        trunk = rng.choice(self.trunks)
        trunk_number = self._channel_number()
        call = _IncomingCall(
            token=self.token,
            unique_id=self._unique_id(began_at, trunk_number),
            phone=self.external_phone(),
            trunk=trunk,
            trunk_channel=self._channel(trunk, trunk_number),
            moments=_Timeline(began_at, self.zone),
        )
        greeting = rng.randint(1, 6)  # the greeting plays before the group rings
        busy = kind is CallKind.INCOMING_BUSY
        group = [rng.choice(self.extensions)] if busy else self._ring_group()
        channels = {ext: self._channel(ext, self._channel_number()) for ext in group}
        events = [call.start(), call.dial(greeting, group)]
        talked: list[str] = []
        if busy:
            ring, talk, status, cause = rng.randint(0, 2), 0, CALL_STATUS_BUSY, USER_BUSY
        elif kind is CallKind.INCOMING_MISSED or (
            kind is CallKind.HANGUP_ONLY and rng.random() < 1 / 3
        ):
            ring, talk, status = rng.randint(15, 45), 0, CALL_STATUS_NOT_ANSWERED
            cause = rng.choice((NORMAL_CLEARING, NO_ANSWER))  # the caller gave up, or time ran out
        else:
            ring, status, cause = rng.randint(3, 20), CALL_STATUS_ANSWERED, NORMAL_CLEARING
            answerer = rng.choice(group)
            talked.append(answerer)
            events.append(
                call.bridge(greeting + ring, self._bridge_id(), answerer, channels[answerer])
            )
            if kind is CallKind.INCOMING_TRANSFERRED:
                talk = self._transfer(call, events, talked, greeting + ring)
            else:
                talk = self._talk_seconds()
        hangup = call.hangup(
            greeting + ring + talk,
            # Answered: who talked (the last one holds the call); not: who was rung.
            extensions=talked or group,
            answered_at=greeting + ring if status == CALL_STATUS_ANSWERED else None,
            status=status,
            cause=cause,
        )
        return CallScenario(
            kind=kind,
            unique_id=call.unique_id,
            call_type=CALL_TYPE_INCOMING,
            began_at=began_at,
            phone=call.phone,
            trunk=trunk,
            rung=tuple(group),
            talked=tuple(talked),
            ring_seconds=ring,
            talk_seconds=talk,
            call_status=status,
            cause=cause,
            events=(hangup,) if kind is CallKind.HANGUP_ONLY else (*events, hangup),
        )

    def _transfer(
        self, call: _IncomingCall, events: list[CallEvent], talked: list[str], answered_at: int
    ) -> int:
        """The first extension talks, then transfers the caller to a colleague: a second dial
        and bridge on the same call. Returns the seconds from the first answer to the hangup."""
        first_talk = self.rng.randint(10, 90)
        ring = self.rng.randint(3, 15)
        second = self._other_extension(talked[0])
        channel = self._channel(second, self._channel_number())
        dialled_at = answered_at + first_talk
        events.append(call.dial(dialled_at, [second]))
        events.append(call.bridge(dialled_at + ring, self._bridge_id(), second, channel))
        talked.append(second)
        return first_talk + ring + self._talk_seconds()

    # -- outgoing --------------------------------------------------------------------------

    def _outgoing(self, kind: CallKind, began_at: datetime) -> CallScenario:
        rng = self.rng
        phone = self.external_phone()
        trunk = rng.choice(self.trunks)
        caller = rng.choice(self.extensions)
        caller_number = self._channel_number()
        trunk_number = self._channel_number()
        unique_id = self._unique_id(began_at, caller_number)
        moments = _Timeline(began_at, self.zone)
        caller_channel = self._channel(caller, caller_number)
        common = {
            "Token": self.token,
            "UniqueId": unique_id,
            "CallType": CALL_TYPE_OUTGOING,
            "Phone": phone,
            "CallerIDNum": caller,
            "Extensions": [caller],
            "Trunk": trunk,
        }
        events = [
            CallEvent(
                "dial",
                0,
                {
                    **common,
                    "ExternalInitiated": rng.random() < self.click_to_call_share,
                    "Channel": caller_channel,
                    "ExtPhone": phone,
                    "ExtTrunk": "",
                },
            )
        ]
        if kind is CallKind.OUTGOING_ANSWERED:
            ring, talk, status, cause = (
                rng.randint(5, 25),
                self._talk_seconds(),
                CALL_STATUS_ANSWERED,
                NORMAL_CLEARING,
            )
            events.append(
                CallEvent(
                    "bridge",
                    ring,
                    {
                        "Token": self.token,
                        "UniqueId": unique_id,
                        "CallType": CALL_TYPE_OUTGOING,
                        "BridgeUniqueid": self._bridge_id(),
                        "CallerIDNum": caller,
                        "CallerIDName": "",
                        "ConnectedLineNum": phone,
                        "ConnectedLineName": "",
                        "Exten": "",
                        "Channel": caller_channel,
                        "DestChannel": self._channel(trunk, trunk_number),
                    },
                )
            )
        else:
            ring, talk, status = rng.randint(10, 40), 0, CALL_STATUS_NOT_ANSWERED
            cause = rng.choice((NORMAL_CLEARING, NO_ANSWER))
        answered = status == CALL_STATUS_ANSWERED
        events.append(
            CallEvent(
                "hangup",
                ring + talk,
                {
                    **common,
                    "ConnectedLineNum": phone if answered else "",
                    "CallStatus": status,
                    "StartTime": moments.text(ring) if answered else "",
                    "EndTime": moments.text(ring + talk),
                    "DateReceived": moments.text(0),
                    "Cause": cause.code,
                    "CauseTxt": cause.text,
                    "Channel": caller_channel,
                },
            )
        )
        return CallScenario(
            kind=kind,
            unique_id=unique_id,
            call_type=CALL_TYPE_OUTGOING,
            began_at=began_at,
            phone=phone,
            trunk=trunk,
            rung=(caller,),
            talked=(caller,) if answered else (),
            ring_seconds=ring,
            talk_seconds=talk,
            call_status=status,
            cause=cause,
            events=tuple(events),
        )

    # -- internal --------------------------------------------------------------------------

    def _internal(self, kind: CallKind, began_at: datetime) -> CallScenario:
        """The PBX sends no start or dial for a call between extensions: the bridge comes
        first. As on the reference PBX, `Phone` is the called extension and `Extensions`
        the caller."""
        rng = self.rng
        caller = rng.choice(self.extensions)
        callee = self._other_extension(caller)
        caller_number, callee_number = self._channel_number(), self._channel_number()
        unique_id = self._unique_id(began_at, caller_number)
        moments = _Timeline(began_at, self.zone)
        ring, talk = rng.randint(2, 10), rng.randint(10, 180)
        caller_channel = self._channel(caller, caller_number)
        common = {
            "Token": self.token,
            "UniqueId": unique_id,
            "CallType": CALL_TYPE_INTERNAL,
            "CallerIDNum": caller,
        }
        bridge = CallEvent(
            "bridge",
            ring,
            {
                **common,
                "BridgeUniqueid": self._bridge_id(),
                "CallerIDName": "",
                "ConnectedLineNum": callee,
                "ConnectedLineName": callee,
                "Exten": "",
                "Channel": caller_channel,
                "DestChannel": self._channel(callee, callee_number),
            },
        )
        hangup = CallEvent(
            "hangup",
            ring + talk,
            {
                **common,
                "Phone": callee,
                "Extensions": [caller],
                "ConnectedLineNum": callee,
                "Trunk": "",
                "CallStatus": CALL_STATUS_ANSWERED,
                "StartTime": moments.text(ring),
                "EndTime": moments.text(ring + talk),
                "DateReceived": moments.text(0),
                "Cause": NORMAL_CLEARING.code,
                "CauseTxt": NORMAL_CLEARING.text,
                "Channel": caller_channel,
            },
        )
        return CallScenario(
            kind=kind,
            unique_id=unique_id,
            call_type=CALL_TYPE_INTERNAL,
            began_at=began_at,
            phone=callee,
            trunk="",
            rung=(callee,),
            talked=(caller, callee),
            ring_seconds=ring,
            talk_seconds=talk,
            call_status=CALL_STATUS_ANSWERED,
            cause=NORMAL_CLEARING,
            events=(bridge, hangup),
        )


# -- the player ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    """One event POSTed: the HTTP status, or the transport error when there was none."""

    unique_id: str
    event: EventName
    url: str
    status: int | None
    error: str | None
    #: Seconds from sending the request to having the whole response (or the error).
    latency: float

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def outcome(self) -> str:
        """The status code, or the error's name (`ConnectError`, `ReadTimeout`, …)."""
        return str(self.status) if self.status is not None else str(self.error)


@dataclass(frozen=True)
class PlayedCall:
    scenario: CallScenario
    deliveries: tuple[Delivery, ...]

    @property
    def ok(self) -> bool:
        return all(delivery.ok for delivery in self.deliveries)


@dataclass
class PlayerStats:
    """Totals over everything a player sent, and the last `keep` deliveries."""

    keep: int = 10_000
    calls_started: int = 0
    calls_finished: int = 0
    sent: int = 0
    delivered: int = 0
    failed: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    recent: deque[Delivery] = field(init=False)

    def __post_init__(self) -> None:
        self.recent = deque(maxlen=self.keep)

    def record(self, delivery: Delivery) -> None:
        self.sent += 1
        if delivery.ok:
            self.delivered += 1
        else:
            self.failed += 1
        self.outcomes[delivery.outcome] += 1
        self.recent.append(delivery)

    def latency_percentile(self, fraction: float) -> float | None:
        """The latency below which `fraction` of the recent deliveries fall, in seconds."""
        latencies = sorted(delivery.latency for delivery in self.recent)
        if not latencies:
            return None
        return latencies[min(len(latencies) - 1, int(fraction * len(latencies)))]

    def summary(self) -> str:
        failures = ", ".join(
            f"{outcome}×{count}"
            for outcome, count in sorted(self.outcomes.items())
            if not outcome.startswith("2")
        )
        text = (
            f"{self.calls_finished}/{self.calls_started} calls, {self.sent} events: "
            f"{self.delivered} delivered, {self.failed} failed"
        )
        if failures:
            text += f" ({failures})"
        p50, p99 = self.latency_percentile(0.5), self.latency_percentile(0.99)
        if p50 is not None and p99 is not None:
            text += f"; latency p50 {p50 * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms"
        return text


class CallPlayer:
    """POSTs scenarios' events to `{base_url}/start|dial|bridge|hangup`, the way the PBX does.

    `speed` multiplies every wait inside a call: 1 plays in real time, 0.1 ten times faster,
    0 sends a call's events back to back. `rate_per_minute` of `play_many`/`run_forever` is
    wall-clock time whatever the speed. Scenarios come from `generator` (by default one for
    `token` with `seed`). With `http` the caller owns the client; otherwise the player makes
    one with `timeout` and closes it in `aclose()` (or at the end of `async with`)."""

    def __init__(
        self,
        base_url: str,
        token: str = DEFAULT_TOKEN,
        *,
        http: httpx.AsyncClient | None = None,
        generator: CallGenerator | None = None,
        speed: float = 1.0,
        timeout: float = 5.0,
        seed: int | None = None,
        keep: int = 10_000,
    ) -> None:
        if generator is not None and generator.token != token:
            raise ValueError("the generator is for another token")
        if speed < 0:
            raise ValueError("speed is a factor on waits: 0 or more")
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.generator = generator or CallGenerator(token, seed=seed)
        self.speed = speed
        self.stats = PlayerStats(keep=keep)
        self._own_http = http is None
        self.http = http or httpx.AsyncClient(timeout=timeout)
        self._arrivals = random.Random(seed)

    async def __aenter__(self) -> CallPlayer:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._own_http:
            await self.http.aclose()

    def describe(self) -> list[tuple[str, str]]:
        """Lines for a banner: what the player sends, and where."""
        return [
            (
                f"Asterisk call events (Token {self.token})",
                f"{self.base_url}/start|dial|bridge|hangup",
            )
        ]

    # -- one call --------------------------------------------------------------------------

    async def play(self, scenario: CallScenario) -> PlayedCall:
        """Sends the call's events in order, each at its time (scaled by `speed`), whatever
        the platform answered to the one before: the PBX does not wait for the platform."""
        self.stats.calls_started += 1
        loop = asyncio.get_running_loop()
        began = loop.time()
        deliveries = []
        for event in scenario.events:
            delay = began + event.at * self.speed - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            deliveries.append(await self.send(event))
        self.stats.calls_finished += 1
        return PlayedCall(scenario, tuple(deliveries))

    async def send(self, event: CallEvent) -> Delivery:
        """POSTs one event; a transport error is recorded, never raised."""
        url = f"{self.base_url}{event.path}"
        started = time.perf_counter()
        status: int | None = None
        error: str | None = None
        try:
            response = await self.http.post(
                url,
                content=orjson.dumps(event.payload),
                headers={"Content-Type": "application/json", "User-Agent": USER_AGENT},
            )
            status = response.status_code
        except httpx.HTTPError as exc:
            error = type(exc).__name__
        delivery = Delivery(
            unique_id=event.unique_id,
            event=event.name,
            url=url,
            status=status,
            error=error,
            latency=time.perf_counter() - started,
        )
        self.stats.record(delivery)
        if not delivery.ok:
            log.debug("asterisk_event_not_delivered", url=url, outcome=delivery.outcome)
        return delivery

    # -- many calls ------------------------------------------------------------------------

    async def play_many(
        self,
        n: int,
        rate_per_minute: float | None = None,
        *,
        mix: Mapping[CallKind, float] | Mapping[str, float] | None = None,
    ) -> list[PlayedCall]:
        """`n` calls of kinds drawn from `mix`, begun at random (Poisson) moments averaging
        `rate_per_minute` (None: all at once), played concurrently. Returns them in the order
        they began."""
        tasks: list[asyncio.Task[PlayedCall]] = []
        try:
            for index in range(n):
                if index and rate_per_minute:
                    await asyncio.sleep(self._arrival_gap(rate_per_minute))
                tasks.append(asyncio.create_task(self._play_new(mix)))
            return list(await asyncio.gather(*tasks))
        finally:
            await _cancel(tasks)

    async def run_forever(
        self,
        rate_per_minute: float,
        *,
        mix: Mapping[CallKind, float] | Mapping[str, float] | None = None,
        max_in_flight: int = 500,
    ) -> None:
        """Calls begin at random moments averaging `rate_per_minute` until cancelled; then
        the calls in progress are cancelled too. At most `max_in_flight` calls at once (a
        hanging platform makes calls last their timeouts; new ones wait)."""
        if rate_per_minute <= 0:
            raise ValueError("rate_per_minute must be positive")
        in_flight: set[asyncio.Task[PlayedCall]] = set()
        try:
            while True:
                await asyncio.sleep(self._arrival_gap(rate_per_minute))
                while len(in_flight) >= max_in_flight:
                    await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
                task = asyncio.create_task(self._play_new(mix))
                in_flight.add(task)
                task.add_done_callback(in_flight.discard)
        finally:
            await _cancel(list(in_flight))

    async def _play_new(
        self, mix: Mapping[CallKind, float] | Mapping[str, float] | None
    ) -> PlayedCall:
        # Drawn when the call begins, so its times are the moment it is played.
        return await self.play(self.generator.scenario(self.generator.pick_kind(mix)))

    def _arrival_gap(self, rate_per_minute: float) -> float:
        return self._arrivals.expovariate(rate_per_minute / 60)


async def _cancel(tasks: Iterable[asyncio.Task[Any]]) -> None:
    pending = [task for task in tasks if not task.done()]
    for task in pending:
        task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.gather(*pending, return_exceptions=True)


# -- command line ----------------------------------------------------------------------------


def parse_mix(text: str) -> dict[CallKind, float]:
    """`incoming_answered=5,internal=1` → weights by kind."""
    mix: dict[CallKind, float] = {}
    for part in filter(None, (piece.strip() for piece in text.split(","))):
        name, _, weight = part.partition("=")
        try:
            mix[CallKind(name.strip())] = float(weight or 1)
        except ValueError as exc:
            kinds = ", ".join(kind.value for kind in CallKind)
            raise argparse.ArgumentTypeError(
                f"{part!r}: expected KIND=WEIGHT, KIND one of {kinds}"
            ) from exc
    return mix


def _csv(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="switchboard sandbox calls",
        description="Play Asterisk call events (start/dial/bridge/hangup) to the platform.",
    )
    parser.add_argument(
        "--url",
        default="http://127.0.0.1:8000/asterisk",
        help="where /start, /dial, /bridge and /hangup live",
    )
    parser.add_argument("--token", default=DEFAULT_TOKEN, help="the PBX's Token")
    parser.add_argument("--count", type=int, default=0, help="calls to play (0: until Ctrl+C)")
    parser.add_argument("--rate", type=float, default=6.0, help="calls begun per minute")
    parser.add_argument(
        "--speed", type=float, default=1.0, help="factor on waits inside a call (0: none)"
    )
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--extensions", type=_csv, default=list(DEFAULT_EXTENSIONS))
    parser.add_argument("--trunks", type=_csv, default=list(DEFAULT_TRUNKS))
    parser.add_argument("--tz", default=DEFAULT_TIMEZONE, help="the PBX's time zone")
    parser.add_argument("--plus", action="store_true", help="external numbers as +375…")
    parser.add_argument(
        "--mix", type=parse_mix, default=None, help="KIND=WEIGHT,… (default: a working day's mix)"
    )
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds per POST")
    return parser


async def _run(options: argparse.Namespace) -> PlayerStats:
    generator = CallGenerator(
        options.token,
        options.extensions,
        trunks=options.trunks,
        seed=options.seed,
        tz=options.tz,
        plus=options.plus,
    )
    async with CallPlayer(
        options.url,
        options.token,
        generator=generator,
        speed=options.speed,
        timeout=options.timeout,
        seed=options.seed,
    ) as player:
        try:
            if options.count:
                await player.play_many(options.count, options.rate, mix=options.mix)
            else:
                await player.run_forever(options.rate, mix=options.mix)
        finally:
            print(player.stats.summary())
    return player.stats


def main(argv: Sequence[str] | None = None) -> int:
    """`switchboard sandbox calls …`: 0 when every event was delivered, 1 otherwise."""
    parser = build_parser()
    options = parser.parse_args(argv)
    if not options.count and options.rate <= 0:
        parser.error("--rate must be positive when playing until Ctrl+C")
    try:
        stats = asyncio.run(_run(options))
    except KeyboardInterrupt:
        return 0
    return 0 if stats.failed == 0 else 1
