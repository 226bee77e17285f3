"""The AMI emulator as the platform's client library, panoramisk, meets it over TCP: login,
Ping, Originate (async and sync), Redirect, Hangup, events, and the journal of what was sent."""

from __future__ import annotations

import re
import time

from panoramisk import Manager
from panoramisk.message import Message

from switchboard.sandbox.asterisk import UNTIL_HUNG_UP, AmiEmulator, Reason

from .conftest import Connect
from .support import ORIGINATE, OTHER_SECRET, OTHER_USER, USER, Ami, eventually

UNIQUEID = re.compile(r"\d{10}\.\d+")


async def originate_live_call(manager: Manager, ami: Ami) -> Message:
    """An answered call that stays up; returns its OriginateResponse."""
    ami.emulator.script_outcome("PJSIP/151", talk_seconds=UNTIL_HUNG_UP)
    _, originated = await manager.send_action({**ORIGINATE, "Async": "true"})
    assert originated.response == "Success"
    return originated


# -- login and ping --------------------------------------------------------------------------


async def test_login_is_accepted_and_fully_booted_follows(connect: Connect) -> None:
    events: list[Message] = []
    manager = await connect(events=events)
    assert manager.login_reply.response == "Success"
    assert manager.login_reply.message == "Authentication accepted"
    assert manager.authenticated
    await eventually(lambda: any(event.event == "FullyBooted" for event in events))
    booted = next(event for event in events if event.event == "FullyBooted")
    assert booted.privilege == "system,all"
    assert booted.status == "Fully Booted"


async def test_a_wrong_secret_is_refused_and_the_connection_closed(
    connect: Connect, ami: Ami
) -> None:
    manager = await connect(secret="not-the-secret")
    assert manager.login_reply.response == "Error"
    assert manager.login_reply.message == "Authentication failed"
    assert not manager.authenticated
    await eventually(lambda: manager.protocol.closed)
    [login] = ami.emulator.actions_named("Login")
    assert login.user is None
    assert login.get("Username") == USER


async def test_refused_logins_fail_even_with_the_right_secret(connect: Connect, ami: Ami) -> None:
    ami.emulator.refuse_logins()
    manager = await connect()
    assert manager.login_reply.message == "Authentication failed"
    ami.emulator.refuse_logins(False)
    assert (await connect()).authenticated


async def test_every_configured_user_logs_in_as_itself(connect: Connect, ami: Ami) -> None:
    manager = await connect(OTHER_USER, OTHER_SECRET)
    await manager.send_action({"Action": "Ping"})
    [ping] = ami.emulator.actions_named("Ping")
    assert ping.user == OTHER_USER


async def test_ping_answers_pong_with_a_timestamp(connect: Connect) -> None:
    manager = await connect()
    reply = await manager.send_action({"Action": "Ping"})
    assert reply.response == "Success"
    assert reply.ping == "Pong"
    assert abs(float(reply.timestamp) - time.time()) < 5


async def test_an_unknown_action_is_refused(connect: Connect) -> None:
    manager = await connect()
    reply = await manager.send_action({"Action": "Frobnicate"})
    assert reply.response == "Error"
    assert reply.message.startswith("Invalid/unknown command: Frobnicate.")


# -- Originate -------------------------------------------------------------------------------


async def test_an_async_originate_answers_twice_under_one_action_id(connect: Connect) -> None:
    manager = await connect()
    queued, originated = await manager.send_action(
        {**ORIGINATE, "Async": "true", "ActionID": "call-1"}
    )
    assert (queued.response, queued.message) == ("Success", "Originate successfully queued")
    assert queued.actionid == originated.actionid == "call-1"
    assert originated.event == "OriginateResponse"
    assert originated.privilege == "call,all"
    assert originated.response == "Success"
    assert originated.reason == "4"
    assert re.fullmatch(r"PJSIP/151-[0-9a-f]{8}", originated.channel)
    assert (originated.context, originated.exten) == ("from-internal", "79990000000")
    assert (originated.application, originated.data) == ("", "")
    assert UNIQUEID.fullmatch(originated.uniqueid)
    assert (originated.calleridnum, originated.calleridname) == ("151", "Switchboard")


async def test_a_busy_phone_fails_the_originate_with_reason_5(connect: Connect, ami: Ami) -> None:
    ami.emulator.script_outcome("PJSIP/151", Reason.BUSY)
    manager = await connect()
    queued, originated = await manager.send_action({**ORIGINATE, "Async": "true"})
    assert queued.response == "Success"
    assert originated.response == "Failure"
    assert originated.reason == "5"
    assert originated.channel == "PJSIP/151"  # no channel was made: the one asked for
    assert originated.uniqueid == "<null>"


async def test_a_phone_that_does_not_answer_fails_with_reason_3(connect: Connect, ami: Ami) -> None:
    ami.emulator.script_outcome("151", Reason.NO_ANSWER, times=1)
    manager = await connect()
    _, first = await manager.send_action({**ORIGINATE, "Async": "true"})
    _, second = await manager.send_action({**ORIGINATE, "Async": "true"})
    assert (first.response, first.reason) == ("Failure", "3")
    assert (second.response, second.reason) == ("Success", "4")  # the script was for one call


async def test_a_sync_originate_answers_once_the_phone_has_answered(
    connect: Connect, ami: Ami
) -> None:
    manager = await connect()
    started = time.monotonic()
    reply = await manager.send_action({**ORIGINATE, "Async": "false"})
    assert time.monotonic() - started >= 0.025  # it rang first (originate_delay 0.03)
    assert isinstance(reply, Message)
    assert (reply.response, reply.message) == ("Success", "Originate successfully queued")
    assert not ami.emulator.events("OriginateResponse")  # only async originates report one


async def test_a_sync_originate_that_fails_answers_an_error(connect: Connect, ami: Ami) -> None:
    ami.emulator.script_outcome("PJSIP/151", Reason.CONGESTION)
    manager = await connect()
    reply = await manager.send_action({**ORIGINATE, "Async": "false"})
    assert (reply.response, reply.message) == ("Error", "Originate failed")


async def test_originate_without_a_channel_is_refused(connect: Connect) -> None:
    manager = await connect()
    reply = await manager.send_action({"Action": "Originate", "Exten": "100", "Async": "false"})
    assert (reply.response, reply.message) == ("Error", "Channel not specified")


async def test_repeated_variables_land_as_a_list_in_the_journal(connect: Connect, ami: Ami) -> None:
    manager = await connect()
    await manager.send_action({**ORIGINATE, "Async": "true", "Variable": ["A=1", "B=2"]})
    [record] = ami.emulator.actions_named("Originate")
    assert record.fields["Variable"] == ["A=1", "B=2"]
    assert record.variables == ["A=1", "B=2"]
    assert record.get("channel") == "PJSIP/151"
    assert record.user == USER
    assert abs(record.at - time.time()) < 5


async def test_a_listener_follows_the_call_through_its_events(connect: Connect, ami: Ami) -> None:
    events: list[Message] = []
    manager = await connect(events=events)
    _, originated = await manager.send_action({**ORIGINATE, "Async": "true"})
    operator = originated.channel

    def hung_up(channel: str) -> bool:
        return any(e.event == "Hangup" and e.channel == channel for e in events)

    await eventually(lambda: hung_up(operator))
    call = [e for e in events if e.event != "FullyBooted"]
    names = [e.event for e in call]
    assert names[0] == "Newchannel"
    for name in ("DialBegin", "DialEnd", "BridgeCreate", "BridgeDestroy"):
        assert names.count(name) == 1
    assert names.count("BridgeEnter") == names.count("Hangup") == 2
    assert names.index("DialBegin") < names.index("BridgeEnter") < names.index("Hangup")
    assert all(e.linkedid == originated.uniqueid for e in call if "linkedid" in e)
    dial = next(e for e in call if e.event == "DialBegin")
    assert dial.channel == operator
    assert dial.destchannel.startswith("PJSIP/79990000000-")
    assert dial.dialstring == "79990000000"
    assert next(e for e in call if e.event == "DialEnd").dialstatus == "ANSWER"
    hangup = next(e for e in call if e.event == "Hangup" and e.channel == operator)
    assert (hangup.cause, hangup["Cause-txt"]) == ("16", "Normal Clearing")
    assert all(e.privilege == "call,all" for e in call)


async def test_other_connections_see_the_originate_response_as_an_event(
    connect: Connect,
) -> None:
    listened: list[Message] = []
    await connect(OTHER_USER, OTHER_SECRET, events=listened)
    manager = await connect()
    await manager.send_action({**ORIGINATE, "Async": "true", "ActionID": "crm-42"})
    await eventually(lambda: any(e.event == "OriginateResponse" for e in listened))
    response = next(e for e in listened if e.event == "OriginateResponse")
    assert response.actionid == "crm-42"


async def test_a_busy_customer_ends_the_dial_with_busy(connect: Connect, ami: Ami) -> None:
    ami.emulator.script_outcome("79990000000", Reason.BUSY)
    events: list[Message] = []
    manager = await connect(events=events)
    _, originated = await manager.send_action({**ORIGINATE, "Async": "true"})
    assert originated.response == "Success"  # the operator answered; the customer is busy
    await eventually(
        lambda: any(e.event == "Hangup" and e.channel == originated.channel for e in events)
    )
    assert next(e for e in events if e.event == "DialEnd").dialstatus == "BUSY"
    assert not [e for e in events if e.event == "BridgeEnter"]
    customer = next(e for e in events if e.event == "Hangup")
    assert (customer.cause, customer["Cause-txt"]) == ("17", "User busy")


# -- Redirect and Hangup ---------------------------------------------------------------------


async def test_redirect_moves_a_channel_that_is_up(connect: Connect, ami: Ami) -> None:
    manager = await connect()
    originated = await originate_live_call(manager, ami)
    reply = await manager.send_action(
        {
            "Action": "Redirect",
            "Channel": originated.channel,
            "Context": "transfer",
            "Exten": "152",
            "Priority": 1,
        }
    )
    assert (reply.response, reply.message) == ("Success", "Redirect successful")
    [channel] = [c for c in ami.emulator.channels_up() if c["name"] == originated.channel]
    assert (channel["context"], channel["exten"]) == ("transfer", "152")


async def test_redirect_of_a_channel_registered_by_the_test(connect: Connect, ami: Ami) -> None:
    ami.emulator.add_channel("PJSIP/200-000000aa")
    ami.emulator.add_channel("PJSIP/201-000000ab")
    manager = await connect()
    single = await manager.send_action(
        {"Action": "Redirect", "Channel": "PJSIP/200-000000aa", "Exten": "300", "Priority": 1}
    )
    dual = await manager.send_action(
        {
            "Action": "Redirect",
            "Channel": "PJSIP/200-000000aa",
            "ExtraChannel": "PJSIP/201-000000ab",
            "Context": "conf",
            "Exten": "800",
            "Priority": 1,
        }
    )
    assert single.message == "Redirect successful"
    assert (dual.response, dual.message) == ("Success", "Dual Redirect successful")


async def test_redirect_of_a_channel_that_does_not_exist(connect: Connect, ami: Ami) -> None:
    manager = await connect()
    reply = await manager.send_action(
        {"Action": "Redirect", "Channel": "PJSIP/999-00000001", "Exten": "1", "Priority": 1}
    )
    assert (reply.response, reply.message) == (
        "Error",
        "Channel does not exist: PJSIP/999-00000001",
    )


async def test_redirect_of_a_call_that_has_ended(connect: Connect, ami: Ami) -> None:
    events: list[Message] = []
    manager = await connect(events=events)
    _, originated = await manager.send_action({**ORIGINATE, "Async": "true"})
    await eventually(
        lambda: any(e.event == "Hangup" and e.channel == originated.channel for e in events)
    )
    reply = await manager.send_action(
        {"Action": "Redirect", "Channel": originated.channel, "Exten": "1", "Priority": 1}
    )
    assert reply.message == f"Channel does not exist: {originated.channel}"


async def test_the_hangup_action_ends_the_call(connect: Connect, ami: Ami) -> None:
    events: list[Message] = []
    manager = await connect(events=events)
    originated = await originate_live_call(manager, ami)
    await eventually(lambda: len([e for e in events if e.event == "BridgeEnter"]) == 2)
    reply = await manager.send_action(
        {"Action": "Hangup", "Channel": originated.channel, "Cause": "21"}
    )
    assert (reply.response, reply.message) == ("Success", "Channel Hungup")
    await eventually(lambda: len([e for e in events if e.event == "Hangup"]) == 2)
    operator = next(e for e in events if e.event == "Hangup" and e.channel == originated.channel)
    assert operator.cause == "21"
    assert ami.emulator.channels_up() == []
    missing = await manager.send_action({"Action": "Hangup", "Channel": originated.channel})
    assert (missing.response, missing.message) == ("Error", "No such channel")


# -- an emulator in the test's own loop ------------------------------------------------------


async def test_an_emulator_started_in_the_running_loop_knows_only_its_endpoints() -> None:
    emulator = AmiEmulator(users={"u": "p"}, endpoints=["PJSIP/151"], originate_delay=0.01)
    port = await emulator.start()
    manager = Manager(
        host="127.0.0.1", port=port, username="u", secret="p", ping_delay=60, reconnect_timeout=60
    )
    try:
        await manager.connect()
        assert (await manager.authenticated_future).response == "Success"
        _, unknown = await manager.send_action(
            {**ORIGINATE, "Channel": "PJSIP/404", "Async": "true", "ChannelId": "fixed.1"}
        )
        assert (unknown.response, unknown.reason) == ("Failure", "0")
        assert unknown.uniqueid == "fixed.1"
        emulator.add_endpoint("PJSIP/404")
        _, known = await manager.send_action(
            {**ORIGINATE, "Channel": "PJSIP/404", "Async": "true", "ChannelId": "fixed.2"}
        )
        assert (known.response, known.uniqueid) == ("Success", "fixed.2")
    finally:
        manager.close()
        await emulator.stop()
