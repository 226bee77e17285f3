"""The AMI emulator on a bare socket: framing, MD5 login, refusals before login, event masks,
malformed input, faults, and calls that come in from outside."""

from __future__ import annotations

import asyncio
import hashlib

import pytest

from switchboard.sandbox.asterisk import Reason

from .support import ORIGINATE, SECRET, USER, Ami, RawAmi, eventually


def originate_headers(**changes: str) -> list[tuple[str, str]]:
    fields = {key: str(value) for key, value in ORIGINATE.items()} | changes
    return [(key, value) for key, value in fields.items() if value]


async def read_until_event(client: RawAmi, name: str, **fields: str) -> dict[str, str]:
    while True:
        message = await client.read_dict()
        if message.get("Event") == name and all(message.get(k) == v for k, v in fields.items()):
            return message


async def test_the_greeting_names_the_protocol_version(raw: RawAmi) -> None:
    assert raw.greeting == "Asterisk Call Manager/5.0.0\r\n"


async def test_actions_before_login_are_refused_with_the_action_id_echoed(raw: RawAmi) -> None:
    await raw.send(("Action", "Ping"), ("ActionID", "p-1"))
    assert await raw.read() == [
        ("Response", "Error"),
        ("ActionID", "p-1"),
        ("Message", "Permission denied"),
    ]


async def test_keys_are_case_insensitive_and_the_blank_after_the_colon_optional(
    raw: RawAmi,
) -> None:
    await raw.write(
        f"action:Login\r\nUSERNAME: {USER}\r\nsecret:   {SECRET}\r\nactionid: L\r\n\r\n".encode()
    )
    login = await raw.read_dict()
    assert (login["Message"], login["ActionID"]) == ("Authentication accepted", "L")
    reply = await raw.ask(("aCtIoN", "PiNg"))
    assert reply["Ping"] == "Pong"
    assert "ActionID" not in reply  # nothing to echo


async def test_an_md5_login_answers_the_challenge(ami: Ami) -> None:
    client = await RawAmi.open(ami)
    try:
        challenge = await client.ask(("Action", "Challenge"), ("AuthType", "MD5"))
        assert challenge["Response"] == "Success"
        assert challenge["Challenge"].isdigit()
        key = hashlib.md5((challenge["Challenge"] + SECRET).encode()).hexdigest()  # noqa: S324
        login = await client.ask(
            ("Action", "Login"), ("AuthType", "MD5"), ("Username", USER), ("Key", key)
        )
        assert login["Message"] == "Authentication accepted"
        assert (await client.ask(("Action", "Ping")))["Ping"] == "Pong"
    finally:
        await client.close()


async def test_an_md5_login_with_a_wrong_key_is_refused_and_closed(raw: RawAmi) -> None:
    await raw.ask(("Action", "Challenge"), ("AuthType", "MD5"))
    wrong = hashlib.md5(b"0" + SECRET.encode()).hexdigest()  # noqa: S324
    login = await raw.ask(
        ("Action", "Login"), ("AuthType", "MD5"), ("Username", USER), ("Key", wrong)
    )
    assert (login["Response"], login["Message"]) == ("Error", "Authentication failed")
    assert await raw.at_eof()


async def test_a_challenge_needs_the_md5_auth_type(raw: RawAmi) -> None:
    reply = await raw.ask(("Action", "Challenge"))
    assert (reply["Response"], reply["Message"]) == ("Error", "Must specify AuthType")


async def test_logoff_says_goodbye_and_closes(raw: RawAmi) -> None:
    await raw.login()
    reply = await raw.ask(("Action", "Logoff"), ("ActionID", "bye"))
    assert (reply["Response"], reply["ActionID"]) == ("Goodbye", "bye")
    assert reply["Message"] == "Thanks for all the fish."
    assert await raw.at_eof()


async def test_malformed_input_neither_crashes_the_server_nor_the_connection(
    ami: Ami, raw: RawAmi
) -> None:
    await raw.write(b"no colon here\r\n: value without key\r\n\r\n")  # headers that mean nothing
    assert await raw.read_dict() == {"Response": "Error", "Message": "Missing action in request"}
    await raw.write(b"\x00\xff\xfe binary\r\n\r\n\r\n\r\n")  # junk, then empty messages
    assert (await raw.read_dict())["Message"] == "Missing action in request"
    await raw.write(b"Action: Ping\r\nX-Long: " + b"x" * 20000 + b"\r\n\r\n")
    await raw.write(
        b"Action: Login\nUsername: " + USER.encode() + b"\nSecret: " + SECRET.encode() + b"\n\n"
    )
    replies = [await raw.read_dict() for _ in range(2)]
    assert replies[-1]["Message"] == "Authentication accepted"  # bare LF line ends work too
    assert (await raw.ask(("Action", "Ping")))["Ping"] == "Pong"
    # A client that vanishes mid-message leaves the server serving everyone else.
    broken = await RawAmi.open(ami)
    await broken.write(b"Action: Originate\r\nChannel: PJSIP/1")
    await broken.close()
    fresh = await RawAmi.open(ami)
    try:
        await fresh.login()
    finally:
        await fresh.close()
    assert [record.name for record in ami.emulator.actions()][-1] == "Login"


async def test_login_with_events_off_gets_no_events_until_it_asks(ami: Ami) -> None:
    quiet, caller = await RawAmi.open(ami), await RawAmi.open(ami)
    try:
        await quiet.login(events="off")
        await caller.login()
        reply = await caller.ask(*originate_headers(Async="true"))
        assert reply["Message"] == "Originate successfully queued"
        await eventually(lambda: bool(ami.emulator.events("Hangup")))
        await quiet.send(("Action", "Ping"))
        assert (await quiet.read_dict())["Ping"] == "Pong"  # no event came before it
        switched = await quiet.ask(("Action", "Events"), ("EventMask", "call"))
        assert switched == {"Response": "Success", "Events": "On"}
        await caller.ask(*originate_headers(Async="true"))
        newchannel = await read_until_event(quiet, "Newchannel")
        assert newchannel["Privilege"] == "call,all"
    finally:
        await quiet.close()
        await caller.close()


async def test_originate_checks_its_fields_as_asterisk_does(raw: RawAmi) -> None:
    await raw.login(events="off")
    cases = {
        "Channel not specified": originate_headers(Channel=""),
        "Invalid channel": originate_headers(Channel="PJSIP151"),
        "Invalid priority": originate_headers(Priority="first"),
        "Invalid timeout": originate_headers(Timeout="soon"),
        "Originate with 'Exten' requires 'Context' and 'Priority'": originate_headers(Context=""),
    }
    for expected, headers in cases.items():
        reply = await raw.ask(*headers)
        assert (reply["Response"], reply["Message"]) == ("Error", expected)


async def test_the_application_form_reports_its_application(raw: RawAmi) -> None:
    await raw.login()
    await raw.ask(
        ("Action", "Originate"),
        ("Channel", "PJSIP/151"),
        ("Application", "Dial"),
        ("Data", "PJSIP/152,30"),
        ("Async", "yes"),
        ("ActionID", "app-1"),
    )
    response = await read_until_event(raw, "OriginateResponse")
    assert (response["ActionID"], response["Response"]) == ("app-1", "Success")
    assert (response["Application"], response["Data"]) == ("Dial", "PJSIP/152,30")
    assert (response["Context"], response["Exten"]) == ("", "")
    assert (response["CallerIDNum"], response["CallerIDName"]) == ("<unknown>", "<unknown>")
    dial = await read_until_event(raw, "DialBegin")
    assert dial["DestChannel"].startswith("PJSIP/152-")
    assert dial["DialString"] == "152"


# -- faults ----------------------------------------------------------------------------------


async def test_a_timed_out_action_gets_no_answer_and_the_next_one_does(
    ami: Ami, raw: RawAmi
) -> None:
    await raw.login(events="off")
    ami.emulator.time_out_next(1, "ping")
    await raw.send(("Action", "Ping"), ("ActionID", "lost"))
    with pytest.raises(TimeoutError):
        await raw.read(timeout=0.2)
    reply = await raw.ask(("Action", "Ping"), ("ActionID", "kept"))
    assert reply["ActionID"] == "kept"
    assert [r.action_id for r in ami.emulator.actions_named("Ping")] == ["lost", "kept"]


async def test_a_dropped_originate_cuts_its_reply_but_the_call_happens(
    ami: Ami, raw: RawAmi
) -> None:
    await raw.login(events="off")
    ami.emulator.drop_next(1, "Originate")
    await raw.send(*originate_headers(Async="true", ActionID="cut"))
    partial = await asyncio.wait_for(raw.reader.read(), 2)
    assert partial.startswith(b"Response: Success\r\n")
    assert not partial.endswith(b"\r\n\r\n")
    assert raw.reader.at_eof()
    await eventually(lambda: bool(ami.emulator.events("OriginateResponse")))


async def test_a_connection_dropped_before_the_action_leaves_no_call(ami: Ami, raw: RawAmi) -> None:
    await raw.login(events="off")
    ami.emulator.drop_next(1, "Originate", perform=False)
    await raw.send(*originate_headers(Async="true"))
    assert await raw.at_eof()
    await asyncio.sleep(0.1)
    assert ami.emulator.events() == []
    assert len(ami.emulator.actions_named("Originate")) == 1  # received, then dropped


# -- calls from outside ----------------------------------------------------------------------


async def test_an_incoming_call_rings_the_extension_and_is_answered(ami: Ami, raw: RawAmi) -> None:
    await raw.login()
    linkedid = ami.emulator.incoming_call("998901234567", "151", caller_name="Client")
    newchannel = await read_until_event(raw, "Newchannel")
    assert newchannel["Channel"].startswith("PJSIP/trunk-")
    assert (newchannel["CallerIDNum"], newchannel["Exten"]) == ("998901234567", "151")
    assert (newchannel["ChannelStateDesc"], newchannel["Uniqueid"]) == ("Ring", linkedid)
    dial = await read_until_event(raw, "DialBegin")
    assert dial["DestChannel"].startswith("PJSIP/151-")
    assert dial["DestConnectedLineNum"] == "998901234567"
    assert (await read_until_event(raw, "DialEnd"))["DialStatus"] == "ANSWER"
    enter = await read_until_event(raw, "BridgeEnter")
    assert enter["BridgeNumChannels"] == "1"
    last = await read_until_event(raw, "Hangup", Uniqueid=linkedid)
    assert last["Linkedid"] == linkedid


async def test_an_incoming_call_to_a_busy_extension(ami: Ami, raw: RawAmi) -> None:
    ami.emulator.script_outcome("PJSIP/151", Reason.BUSY)
    await raw.login()
    ami.emulator.incoming_call("998901234567", "151")
    assert (await read_until_event(raw, "DialEnd"))["DialStatus"] == "BUSY"
    hangup = await read_until_event(raw, "Hangup")
    assert (hangup["Cause"], hangup["Cause-txt"]) == ("17", "User busy")
    assert not ami.emulator.events("BridgeEnter")


async def test_a_test_can_hang_up_a_call_from_its_own_thread(ami: Ami, raw: RawAmi) -> None:
    await raw.login()
    ami.emulator.incoming_call("998901234567", "151", talk_seconds=60)
    enter = await read_until_event(raw, "BridgeEnter", BridgeNumChannels="2")
    assert ami.emulator.hangup(enter["Channel"])
    hangups = [await read_until_event(raw, "Hangup") for _ in range(2)]
    assert hangups[0]["Channel"] == enter["Channel"]  # the one hung up first, then its peer
    assert hangups[1]["Channel"] != enter["Channel"]
    assert ami.emulator.channels_up() == []
    assert not ami.emulator.hangup(enter["Channel"])
