"""The call generator: consistent PBX event sequences, and a player that sends them to a real
receiver and keeps going when the receiver fails."""

from __future__ import annotations

import asyncio
import re
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from switchboard.sandbox.asterisk.calls import (
    CALL_STATUS_ANSWERED,
    CALL_STATUS_BUSY,
    CALL_STATUS_NOT_ANSWERED,
    CALL_TYPE_INCOMING,
    CALL_TYPE_INTERNAL,
    CALL_TYPE_OUTGOING,
    TIME_FORMAT,
    USER_AGENT,
    CallGenerator,
    CallKind,
    CallPlayer,
    CallScenario,
    main,
    parse_mix,
)
from switchboard.sandbox.faults import (
    FaultInjector,
    JournalEntry,
    RequestJournal,
    SandboxMiddleware,
)
from switchboard.sandbox.server import BackgroundServer

TOKEN = "375291110000"
EXTENSIONS = ("150", "151", "152", "153", "185")
TRUNKS = ("0001363", "0001364")
AT = datetime(2026, 3, 2, 6, 0, 0, tzinfo=UTC)  # 09:00 in Minsk

SEQUENCES = {
    CallKind.INCOMING_ANSWERED: ["start", "dial", "bridge", "hangup"],
    CallKind.INCOMING_MISSED: ["start", "dial", "hangup"],
    CallKind.INCOMING_BUSY: ["start", "dial", "hangup"],
    CallKind.OUTGOING_ANSWERED: ["dial", "bridge", "hangup"],
    CallKind.OUTGOING_UNANSWERED: ["dial", "hangup"],
    CallKind.INTERNAL: ["bridge", "hangup"],
    CallKind.INCOMING_TRANSFERRED: ["start", "dial", "bridge", "dial", "bridge", "hangup"],
    CallKind.HANGUP_ONLY: ["hangup"],
}
CALL_TYPES = {
    CallKind.OUTGOING_ANSWERED: CALL_TYPE_OUTGOING,
    CallKind.OUTGOING_UNANSWERED: CALL_TYPE_OUTGOING,
    CallKind.INTERNAL: CALL_TYPE_INTERNAL,
}
#: What each event carries, whatever the kind (reference inventory 1.2).
FIELDS = {
    "start": {"Token", "UniqueId", "CallType", "Phone", "Trunk", "StartTime", "Exten", "Channel"},
    "dial": {
        "Token",
        "UniqueId",
        "CallType",
        "Phone",
        "CallerIDNum",
        "Extensions",
        "Trunk",
        "ExternalInitiated",
        "Channel",
    },
    "bridge": {
        "Token",
        "UniqueId",
        "CallType",
        "BridgeUniqueid",
        "CallerIDNum",
        "CallerIDName",
        "ConnectedLineNum",
        "ConnectedLineName",
        "Exten",
        "Channel",
        "DestChannel",
    },
    "hangup": {
        "Token",
        "UniqueId",
        "CallType",
        "Phone",
        "CallerIDNum",
        "Extensions",
        "Trunk",
        "CallStatus",
        "StartTime",
        "EndTime",
        "DateReceived",
        "Cause",
        "CauseTxt",
    },
}


def generator(seed: int = 1, **options: Any) -> CallGenerator:
    return CallGenerator(TOKEN, EXTENSIONS, trunks=TRUNKS, seed=seed, **options)


def local(text: str) -> datetime:
    return datetime.strptime(text, TIME_FORMAT)  # noqa: DTZ007 - the PBX sends naive local times


def all_scenarios(seeds: range = range(40)) -> Iterator[CallScenario]:
    for seed in seeds:
        calls = generator(seed)
        for kind in CallKind:
            yield calls.scenario(kind, at=AT + timedelta(minutes=seed))


# -- the model -------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(CallKind))
def test_each_kind_sends_the_events_the_pbx_sends(kind: CallKind) -> None:
    for seed in range(10):
        call = generator(seed).scenario(kind, at=AT)
        assert [event.name for event in call.events] == SEQUENCES[kind]
        assert [event.path for event in call.events] == [f"/{name}" for name in SEQUENCES[kind]]


def test_every_event_of_a_call_is_consistent() -> None:
    for call in all_scenarios():
        epoch = call.unique_id.partition(".")[0]
        assert re.fullmatch(r"\d{10}\.\d+", call.unique_id)
        assert int(epoch) == int(call.began_at.timestamp())
        assert call.call_type == CALL_TYPES.get(call.kind, CALL_TYPE_INCOMING)
        offsets = [event.at for event in call.events]
        assert offsets == sorted(offsets)
        for event in call.events:
            body = event.payload
            missing = FIELDS[event.name] - set(body)
            assert not missing, (call.kind, event.name, missing)
            assert body["UniqueId"] == call.unique_id
            assert body["Token"] == TOKEN
            assert body["CallType"] == call.call_type
            if "Extensions" in body:
                assert body["Extensions"]
                assert all(isinstance(ext, str) and ext in EXTENSIONS for ext in body["Extensions"])
            if call.call_type != CALL_TYPE_INTERNAL and "Trunk" in body:
                assert body["Trunk"] == call.trunk in TRUNKS
        bridges = [
            event.payload["BridgeUniqueid"] for event in call.events if event.name == "bridge"
        ]
        assert len(set(bridges)) == len(bridges)


def test_the_hangup_tells_status_and_times_coherently() -> None:
    for call in all_scenarios():
        hangup = call.hangup.payload
        assert call.hangup.name == "hangup"
        assert isinstance(hangup["CallStatus"], str)
        assert hangup["CallStatus"] == call.call_status
        received, ended = local(hangup["DateReceived"]), local(hangup["EndTime"])
        assert (ended - received).total_seconds() == call.duration
        if call.answered:
            answered = local(hangup["StartTime"])
            assert (ended - answered).total_seconds() == call.talk_seconds > 0
            assert received <= answered
            assert hangup["ConnectedLineNum"] == (
                call.phone if call.call_type == 1 else call.talked[-1]
            )
        else:
            assert hangup["StartTime"] == ""
            assert call.talk_seconds == 0
            assert hangup["ConnectedLineNum"] == ""
            assert not any(event.name == "bridge" for event in call.events)
        bridges = [event for event in call.events if event.name == "bridge"]
        if bridges:  # the first bridge is the answer
            answered_after = local(hangup["StartTime"]) - received
            assert answered_after.total_seconds() == bridges[0].at


def test_status_and_cause_by_kind() -> None:
    seen: dict[CallKind, set[tuple[str, str, str]]] = {kind: set() for kind in CallKind}
    for call in all_scenarios():
        hangup = call.hangup.payload
        seen[call.kind].add((hangup["CallStatus"], hangup["Cause"], hangup["CauseTxt"]))
    answered = {(CALL_STATUS_ANSWERED, "16", "Normal Clearing")}
    assert seen[CallKind.INCOMING_ANSWERED] == answered
    assert seen[CallKind.OUTGOING_ANSWERED] == answered
    assert seen[CallKind.INTERNAL] == answered
    assert seen[CallKind.INCOMING_TRANSFERRED] == answered
    assert seen[CallKind.INCOMING_BUSY] == {(CALL_STATUS_BUSY, "17", "User busy")}
    not_answered = {
        (CALL_STATUS_NOT_ANSWERED, "16", "Normal Clearing"),
        (CALL_STATUS_NOT_ANSWERED, "19", "User alerting, no answer"),
    }
    assert seen[CallKind.INCOMING_MISSED] == not_answered
    assert seen[CallKind.OUTGOING_UNANSWERED] == not_answered
    # A lone hangup is of a call the PBX lost track of: answered or not.
    assert seen[CallKind.HANGUP_ONLY] == answered | not_answered


def test_a_missed_call_rang_a_group_and_reports_it() -> None:
    for seed in range(20):
        call = generator(seed).scenario(CallKind.INCOMING_MISSED, at=AT)
        start, dial, hangup = (event.payload for event in call.events)
        assert len(dial["Extensions"]) >= 2
        assert dial["Extensions"] == list(call.rung) == hangup["Extensions"]
        assert dial["Phone"] == start["Phone"] == hangup["Phone"] == call.phone
        assert start["StartTime"] == hangup["DateReceived"]
        assert call.hangup.at - call.events[1].at == call.ring_seconds


def test_directions_put_the_parties_where_the_pbx_does() -> None:
    calls = generator(3)
    incoming = calls.scenario(CallKind.INCOMING_ANSWERED, at=AT)
    _, dial, bridge, hangup = (event.payload for event in incoming.events)
    assert bridge["CallerIDNum"] == incoming.phone
    assert bridge["ConnectedLineNum"] == incoming.talked[0] in dial["Extensions"]
    assert bridge["Channel"].startswith(f"SIP/{incoming.trunk}-")
    assert bridge["DestChannel"].startswith(f"SIP/{incoming.talked[0]}-")
    assert hangup["Extensions"] == [incoming.talked[0]]

    outgoing = calls.scenario(CallKind.OUTGOING_ANSWERED, at=AT)
    dial, bridge, hangup = (event.payload for event in outgoing.events)
    caller = outgoing.talked[0]
    assert dial["CallerIDNum"] == bridge["CallerIDNum"] == caller
    assert dial["Extensions"] == hangup["Extensions"] == [caller]
    assert dial["Phone"] == bridge["ConnectedLineNum"] == hangup["Phone"] == outgoing.phone
    assert dial["ExternalInitiated"] is False
    assert bridge["Channel"].startswith(f"SIP/{caller}-")
    assert bridge["DestChannel"].startswith(f"SIP/{outgoing.trunk}-")

    internal = calls.scenario(CallKind.INTERNAL, at=AT)
    bridge, hangup = (event.payload for event in internal.events)
    caller, callee = internal.talked
    assert caller != callee
    assert (bridge["CallerIDNum"], bridge["ConnectedLineNum"]) == (caller, callee)
    assert (hangup["Phone"], hangup["Extensions"], hangup["Trunk"]) == (callee, [caller], "")


def test_a_transfer_shows_the_second_extension() -> None:
    for seed in range(20):
        call = generator(seed).scenario(CallKind.INCOMING_TRANSFERRED, at=AT)
        _, _, first_bridge, second_dial, second_bridge, hangup = call.events
        first, second = call.talked
        assert first != second
        assert first_bridge.payload["ConnectedLineNum"] == first
        assert second_dial.payload["Extensions"] == [second]
        assert second_bridge.payload["ConnectedLineNum"] == second
        assert second_bridge.payload["CallerIDNum"] == call.phone
        assert first_bridge.payload["BridgeUniqueid"] != second_bridge.payload["BridgeUniqueid"]
        assert hangup.payload["Extensions"] == [first, second]
        assert hangup.payload["ConnectedLineNum"] == second
        # StartTime is the first answer: the talk includes the transfer.
        answered = local(hangup.payload["StartTime"])
        assert answered == local(hangup.payload["DateReceived"]) + timedelta(
            seconds=first_bridge.at
        )
        assert call.talk_seconds > second_bridge.at - first_bridge.at


def test_times_are_the_pbx_local_time() -> None:
    minsk = generator(tz="Europe/Minsk").scenario(CallKind.INCOMING_ANSWERED, at=AT)
    tashkent = generator(tz="Asia/Tashkent").scenario(CallKind.INCOMING_ANSWERED, at=AT)
    assert minsk.events[0].payload["StartTime"] == "2026-03-02 09:00:00"
    assert tashkent.events[0].payload["StartTime"] == "2026-03-02 11:00:00"
    assert (
        minsk.unique_id.split(".")[0]
        == tashkent.unique_id.split(".")[0]
        == str(int(AT.timestamp()))
    )
    with pytest.raises(ValueError, match="timezone-aware"):
        generator().scenario(CallKind.INTERNAL, at=datetime(2026, 3, 2, 9, 0))  # noqa: DTZ001


def test_external_numbers_as_the_pbx_shows_them() -> None:
    plain = [
        generator(seed).scenario(CallKind.INCOMING_ANSWERED, at=AT).phone for seed in range(20)
    ]
    assert all(re.fullmatch(r"375(25|29|33|44)\d{7}", phone) for phone in plain)
    plus = [
        generator(seed, plus=True).scenario(CallKind.OUTGOING_ANSWERED, at=AT).phone
        for seed in range(20)
    ]
    assert all(re.fullmatch(r"\+375(25|29|33|44)\d{7}", phone) for phone in plus)
    known = generator(known_phones=["+375 (29) 625-40-70"], known_share=1.0)
    assert known.scenario(CallKind.INCOMING_MISSED, at=AT).phone == "375296254070"


def test_the_same_seed_gives_the_same_calls() -> None:
    def day(seed: int) -> list[CallScenario]:
        calls = generator(seed)
        return [calls.scenario(at=AT + timedelta(seconds=37 * index)) for index in range(50)]

    assert day(11) == day(11)
    assert day(11) != day(12)
    kinds = {call.kind for call in day(11)}
    assert len(kinds) >= 5  # the default mix has all sorts


def test_unique_ids_never_repeat_and_count_up() -> None:
    calls = generator(5)
    ids = [calls.scenario(at=AT).unique_id for _ in range(200)]
    assert len(set(ids)) == len(ids)
    sequence = [int(unique_id.split(".")[1]) for unique_id in ids]
    assert sequence == sorted(sequence)


def test_the_mix_weights_kinds() -> None:
    calls = generator(9)
    drawn = [calls.pick_kind({"internal": 3, CallKind.INCOMING_BUSY: 1}) for _ in range(2000)]
    share = drawn.count(CallKind.INTERNAL) / len(drawn)
    assert set(drawn) == {CallKind.INTERNAL, CallKind.INCOMING_BUSY}
    assert 0.70 < share < 0.80
    with pytest.raises(ValueError, match="positive"):
        calls.pick_kind({"internal": 0})
    with pytest.raises(ValueError, match="not a valid CallKind"):
        calls.pick_kind({"conference": 1})
    assert parse_mix("incoming_missed=2, internal") == {
        CallKind.INCOMING_MISSED: 2.0,
        CallKind.INTERNAL: 1.0,
    }


def test_a_pbx_needs_two_extensions() -> None:
    with pytest.raises(ValueError, match="two extensions"):
        CallGenerator(TOKEN, ["150", "150"])


# -- the player against a real receiver ------------------------------------------------------


@dataclass
class Receiver:
    """A stand-in for the platform's ingest endpoints: answers 200 and keeps what arrived."""

    server: BackgroundServer
    faults: FaultInjector
    journal: RequestJournal

    @property
    def url(self) -> str:
        return f"{self.server.url}/asterisk"

    def arrived(self) -> list[JournalEntry]:
        return self.journal.matching("POST", "/asterisk/*")

    def by_call(self) -> dict[str, list[JournalEntry]]:
        calls: dict[str, list[JournalEntry]] = {}
        for entry in self.arrived():
            calls.setdefault(entry.json()["UniqueId"], []).append(entry)
        return calls


async def accept(request: Request) -> JSONResponse:
    await request.json()
    return JSONResponse({"status": "ok"})


@pytest.fixture(scope="module")
def receiver_server() -> Iterator[Receiver]:
    app = Starlette(
        routes=[
            Route(f"/asterisk/{name}", accept, methods=["POST"])
            for name in ("start", "dial", "bridge", "hangup")
        ]
    )
    faults, journal = FaultInjector(), RequestJournal()
    with BackgroundServer(SandboxMiddleware(app, faults=faults, journal=journal)) as server:
        yield Receiver(server, faults, journal)


@pytest.fixture
def receiver(receiver_server: Receiver) -> Receiver:
    receiver_server.faults.clear()
    receiver_server.journal.clear()
    return receiver_server


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_play_posts_each_event_in_order(receiver: Receiver) -> None:
    call = generator(2).scenario(CallKind.INCOMING_TRANSFERRED, at=AT)
    async with CallPlayer(receiver.url, TOKEN, speed=0) as player:
        played = await player.play(call)
    arrived = receiver.arrived()
    assert [entry.path for entry in arrived] == [f"/asterisk{event.path}" for event in call.events]
    assert [entry.json() for entry in arrived] == [event.payload for event in call.events]
    assert all(entry.headers["content-type"] == "application/json" for entry in arrived)
    assert all(entry.headers["user-agent"] == USER_AGENT for entry in arrived)
    assert played.ok
    assert [(d.event, d.status) for d in played.deliveries] == [
        (event.name, 200) for event in call.events
    ]
    assert all(0 < delivery.latency < 5 for delivery in played.deliveries)
    assert (player.stats.sent, player.stats.delivered, player.stats.failed) == (6, 6, 0)


async def test_the_speed_scales_the_waits_inside_a_call(receiver: Receiver) -> None:
    call = generator(4).scenario(CallKind.INCOMING_ANSWERED, at=AT)
    speed = 0.6 / call.duration  # the whole call in 0.6 s
    async with CallPlayer(receiver.url, TOKEN, speed=speed) as player:
        began = time.time()
        await player.play(call)
    arrived = receiver.arrived()
    for entry, event in zip(arrived, call.events, strict=True):
        assert entry.at - began == pytest.approx(event.at * speed, abs=0.15)


async def test_many_concurrent_calls_arrive_whole_and_in_order(receiver: Receiver) -> None:
    async with CallPlayer(receiver.url, TOKEN, speed=0, seed=21) as player:
        played = await player.play_many(30)
    by_call = receiver.by_call()
    assert len(played) == len(by_call) == 30
    for call in played:
        entries = by_call[call.scenario.unique_id]
        assert [entry.path.rsplit("/", 1)[1] for entry in entries] == [
            event.name for event in call.scenario.events
        ]
        assert [entry.json() for entry in entries] == [e.payload for e in call.scenario.events]
    assert len({call.scenario.kind for call in played}) >= 5
    total = sum(len(call.scenario.events) for call in played)
    assert (player.stats.calls_finished, player.stats.sent, player.stats.delivered) == (
        30,
        total,
        total,
    )


async def test_the_rate_spaces_the_calls_and_the_mix_picks_them(receiver: Receiver) -> None:
    async with CallPlayer(receiver.url, TOKEN, speed=0, seed=8) as player:
        began = time.monotonic()
        played = await player.play_many(6, rate_per_minute=600, mix={"outgoing_unanswered": 1})
        elapsed = time.monotonic() - began
    assert {call.scenario.kind for call in played} == {CallKind.OUTGOING_UNANSWERED}
    assert 0.1 < elapsed < 3  # five gaps averaging 0.1 s
    first_arrivals = [entries[0].at for entries in receiver.by_call().values()]
    assert max(first_arrivals) - min(first_arrivals) > 0.1


async def test_errors_are_counted_and_the_calls_go_on(receiver: Receiver) -> None:
    receiver.faults.add(path="/asterisk/dial", status=500)
    receiver.faults.add(path="/asterisk/bridge", timeout=True, hang_seconds=1.0)
    async with CallPlayer(receiver.url, TOKEN, speed=0, seed=3, timeout=0.3) as player:
        played = await player.play_many(8, mix={"incoming_answered": 1})
    for call in played:
        outcomes = [(d.event, d.outcome) for d in call.deliveries]
        assert outcomes == [
            ("start", "200"),
            ("dial", "500"),
            ("bridge", "ReadTimeout"),
            ("hangup", "200"),
        ]
        assert not call.ok
    stats = player.stats
    assert (stats.calls_finished, stats.sent, stats.delivered, stats.failed) == (8, 32, 16, 16)
    assert stats.outcomes == {"200": 16, "500": 8, "ReadTimeout": 8}
    assert "500×8" in stats.summary()
    assert "ReadTimeout×8" in stats.summary()


async def test_a_platform_that_is_down_does_not_stop_the_player() -> None:
    url = f"http://127.0.0.1:{closed_port()}/asterisk"
    async with CallPlayer(url, TOKEN, speed=0, seed=4, timeout=1) as player:
        played = await player.play_many(5)
    assert len(played) == 5
    assert player.stats.calls_finished == 5
    assert player.stats.delivered == 0
    assert player.stats.failed == player.stats.sent == sum(len(c.scenario.events) for c in played)
    assert set(player.stats.outcomes) == {"ConnectError"}


async def test_run_forever_plays_until_cancelled(receiver: Receiver) -> None:
    async with httpx.AsyncClient(timeout=2) as http:
        player = CallPlayer(receiver.url, TOKEN, http=http, speed=0.001, seed=6)
        loop = asyncio.create_task(player.run_forever(rate_per_minute=1200))
        await asyncio.sleep(0.6)
        loop.cancel()
        with pytest.raises(asyncio.CancelledError):
            await loop
        count = len(receiver.arrived())
        await asyncio.sleep(0.3)
        assert len(receiver.arrived()) == count  # nothing in flight after the cancel
        assert player.stats.calls_started >= 3
        assert count == player.stats.sent
        await player.aclose()
        assert not http.is_closed  # the caller's client stays the caller's


def test_the_command_line_plays_calls(
    receiver: Receiver, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--url", receiver.url, "--token", TOKEN, "--count", "4", "--rate", "0", "--speed", "0"]
    assert main([*argv, "--seed", "2", "--mix", "internal=1", "--plus"]) == 0
    assert len(receiver.by_call()) == 4
    assert {entry.json()["CallType"] for entry in receiver.arrived()} == {CALL_TYPE_INTERNAL}
    assert "4/4 calls, 8 events: 8 delivered, 0 failed" in capsys.readouterr().out
    down = ["--url", f"http://127.0.0.1:{closed_port()}", "--count", "1", "--speed", "0"]
    assert main(down) == 1
    with pytest.raises(SystemExit):
        main(["--mix", "conference=1"])
