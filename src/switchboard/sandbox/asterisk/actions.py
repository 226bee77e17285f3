"""The AMI actions the emulator answers, with Asterisk's own replies and refusals.

Each handler takes the emulator, the connection and the received message, and returns the reply
(`Reply`) the connection writes — or None when the action answers nothing. The texts are
Asterisk's (`manager.c`): clients and people match on them.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from switchboard.sandbox.asterisk.callflow import LegResult, OriginateRequest, Reason
from switchboard.sandbox.asterisk.channels import NORMAL_CLEARING, UNKNOWN, split_channel
from switchboard.sandbox.asterisk.wire import AmiMessage, Header

if TYPE_CHECKING:
    from switchboard.sandbox.asterisk.ami import AmiEmulator, AmiSession

#: Event classes (`Privilege:`) a connection can ask for with `Events:` / `EventMask:`.
EVENT_CLASSES = frozenset(
    {
        *("system", "call", "log", "verbose", "command", "agent", "user", "config", "dtmf"),
        *("reporting", "cdr", "dialplan", "originate", "agi", "cc", "aoc", "test", "security"),
        "message",
    }
)
#: Actions a connection may send before it has logged in.
OPEN_ACTIONS = frozenset({"login", "logoff", "challenge"})

_TRUE = frozenset({"yes", "true", "y", "t", "1", "on"})
_FALSE = frozenset({"no", "false", "n", "f", "0", "off"})
_LEADING_INT = re.compile(r"\s*([+-]?\d+)")


@dataclass
class Reply:
    """A response: `Response`, the echoed `ActionID`, `Message` when there is one, then fields.
    `then` are whole messages that follow it (FullyBooted after a login); `close` ends the
    connection after writing."""

    response: str
    message: str | None = None
    fields: list[Header] = field(default_factory=list)
    then: list[list[Header]] = field(default_factory=list)
    close: bool = False

    def headers(self, action_id: str) -> list[Header]:
        headers: list[Header] = [("Response", self.response)]
        if action_id:
            headers.append(("ActionID", action_id))
        if self.message is not None:
            headers.append(("Message", self.message))
        return headers + self.fields


def success(message: str | None = None, *fields: Header) -> Reply:
    return Reply("Success", message, list(fields))


def error(message: str, *, close: bool = False) -> Reply:
    return Reply("Error", message, close=close)


def is_true(value: str) -> bool:
    """Asterisk's `ast_true`."""
    return value.strip().lower() in _TRUE


def leading_int(value: str) -> int | None:
    """What C's `sscanf("%d")` reads: the integer a value starts with, if any."""
    found = _LEADING_INT.match(value)
    return int(found.group(1)) if found else None


def event_mask(value: str) -> frozenset[str]:
    """`on`/`off` or a comma list of event classes; unknown classes count for nothing."""
    text = value.strip().lower()
    if text in _TRUE:
        return EVENT_CLASSES
    if text in _FALSE:
        return frozenset()
    asked = {part.strip() for part in text.split(",")}
    return EVENT_CLASSES if "all" in asked else frozenset(asked & EVENT_CLASSES)


def parse_caller_id(value: str) -> tuple[str, str]:
    """`"Name" <num>`, `Name <num>`, `<num>`, `num` or `Name` → (number, name), as
    `ast_callerid_parse` splits them; the number loses the punctuation people type."""
    value = value.strip()
    if "<" in value and value.endswith(">"):
        name, _, number = value[:-1].rpartition("<")
        name = name.strip().strip('"').strip()
    elif re.fullmatch(r"[0-9+*#()\-. ]+", value):
        name, number = "", value
    else:
        name, number = value, ""
    return re.sub(r"[()\-. ]", "", number), name


def parse_variables(values: list[str]) -> dict[str, str]:
    """`Variable:` lines, each `name=value` or several comma-separated."""
    variables: dict[str, str] = {}
    for line in values:
        for item in line.split(","):
            name, equals, value = item.partition("=")
            if equals and name.strip():
                variables[name.strip()] = value
    return variables


# -- the handlers ----------------------------------------------------------------------------

Handler = Callable[["AmiEmulator", "AmiSession", AmiMessage], Awaitable[Reply | None]]


async def login(emulator: AmiEmulator, session: AmiSession, message: AmiMessage) -> Reply:
    if session.authenticated:
        return success("Already authenticated")
    user = emulator.authenticate(message, session.challenge)
    if user is None:
        await emulator.pause_after_failed_login()
        return error("Authentication failed", close=True)
    session.log_in(user, event_mask(message.get("Events")) if "Events" in message else None)
    reply = success("Authentication accepted")
    if "system" in session.events:
        reply.then.append(
            [
                ("Event", "FullyBooted"),
                ("Privilege", "system,all"),
                ("Uptime", str(emulator.uptime())),
                ("LastReload", str(emulator.uptime())),
                ("Status", "Fully Booted"),
            ]
        )
    return reply


async def challenge(emulator: AmiEmulator, session: AmiSession, message: AmiMessage) -> Reply:
    if message.get("AuthType").strip().lower() != "md5":
        return error("Must specify AuthType")
    if not session.challenge:
        session.challenge = str(secrets.randbelow(2**31))
    return success(None, ("Challenge", session.challenge))


def md5_key(challenge: str, secret: str) -> str:
    """The `Key:` of an MD5 login: md5(challenge + secret), lowercase hex. (MD5 is the
    protocol's, not a choice of ours.)"""
    return hashlib.md5((challenge + secret).encode(), usedforsecurity=False).hexdigest()


def secret_matches(message: AmiMessage, challenge: str, secret: str) -> bool:
    if message.get("AuthType").strip().lower() == "md5":
        key = message.get("Key").strip().lower()
        return bool(challenge) and hmac.compare_digest(key, md5_key(challenge, secret))
    return hmac.compare_digest(message.get("Secret").encode(), secret.encode())


async def ping(emulator: AmiEmulator, session: AmiSession, message: AmiMessage) -> Reply:
    return success(None, ("Ping", "Pong"), ("Timestamp", f"{time.time():.6f}"))


async def logoff(emulator: AmiEmulator, session: AmiSession, message: AmiMessage) -> Reply:
    return Reply("Goodbye", "Thanks for all the fish.", close=True)


async def events(emulator: AmiEmulator, session: AmiSession, message: AmiMessage) -> Reply:
    session.events = event_mask(message.get("EventMask"))
    return success(None, ("Events", "On" if session.events else "Off"))


async def originate(emulator: AmiEmulator, session: AmiSession, message: AmiMessage) -> Reply:
    request = parse_originate(message)
    if isinstance(request, Reply):
        return request
    engine = emulator.engine
    if is_true(message.get("Async")):
        action_id = message.get("ActionID")

        async def place_call() -> None:
            result = await engine.ring_originated(request)
            emulator.emit("OriginateResponse", originate_response(request, result, action_id))
            engine.after_answer(result, request)

        engine.spawn(place_call())
        return success("Originate successfully queued")
    # Without Async, Asterisk answers once the channel has answered or failed.
    result = await engine.ring_originated(request)
    engine.after_answer(result, request)
    if result.reason == Reason.ANSWERED:
        return success("Originate successfully queued")
    return error("Originate failed")


def parse_originate(message: AmiMessage) -> OriginateRequest | Reply:
    channel = message.get("Channel").strip()
    if not channel:
        return error("Channel not specified")
    priority_text = message.get("Priority").strip()
    priority = leading_int(priority_text) if priority_text else 0
    if priority is None:
        return error("Invalid priority")
    timeout = message.get("Timeout").strip()
    if timeout and leading_int(timeout) is None:
        return error("Invalid timeout")
    if split_channel(channel) is None:
        return error("Invalid channel")
    application = message.get("Application").strip()
    exten, context = message.get("Exten").strip(), message.get("Context").strip()
    if not application and not (exten and context and priority > 0):
        return error("Originate with 'Exten' requires 'Context' and 'Priority'")
    caller_num, caller_name = parse_caller_id(message.get("CallerID"))
    return OriginateRequest(
        channel=channel,
        context=context,
        exten=exten,
        priority=max(priority, 1),
        application=application,
        data=message.get("Data"),
        caller_num=caller_num,
        caller_name=caller_name,
        account=message.get("Account"),
        variables=parse_variables(message.get_all("Variable")),
        channel_id=message.get("ChannelId").strip(),
    )


def originate_response(
    request: OriginateRequest, result: LegResult, action_id: str
) -> list[Header]:
    """The OriginateResponse fields, as Asterisk's fast_originate writes them."""
    channel = result.channel
    fields: list[Header] = [("ActionID", action_id)] if action_id else []
    return [
        *fields,
        ("Response", "Success" if result.reason == Reason.ANSWERED else "Failure"),
        ("Channel", channel.name if channel else request.channel),
        ("Context", request.context),
        ("Exten", request.exten),
        ("Application", request.application),
        ("Data", request.data),
        ("Reason", str(int(result.reason))),
        ("Uniqueid", channel.uniqueid if channel else request.channel_id or "<null>"),
        ("CallerIDNum", request.caller_num or UNKNOWN),
        ("CallerIDName", request.caller_name or UNKNOWN),
    ]


async def redirect(emulator: AmiEmulator, session: AmiSession, message: AmiMessage) -> Reply:
    """Moves a live channel (and `ExtraChannel`) to another dialplan place. The emulator has no
    dialplan to run there: the channel's Context/Exten/Priority change, the call goes on."""
    name = message.get("Channel").strip()
    if not name:
        return error("Channel not specified")
    priority_text = message.get("Priority").strip()
    priority = leading_int(priority_text) if priority_text else 1
    if priority is None:
        return error("Invalid priority")
    channel = emulator.channels.find(name)
    if channel is None:
        return error(f"Channel does not exist: {name}")
    extra_name = message.get("ExtraChannel").strip()
    extra = emulator.channels.find(extra_name) if extra_name else None
    context, exten = message.get("Context").strip(), message.get("Exten").strip()
    emulator.channels.move(channel, context, exten, priority)
    if not extra_name:
        return success("Redirect successful")
    if extra is None:
        return error("Secondary redirect failed")
    extra_priority = leading_int(message.get("ExtraPriority")) or priority
    emulator.channels.move(
        extra,
        message.get("ExtraContext").strip() or context,
        message.get("ExtraExten").strip() or exten,
        extra_priority,
    )
    return success("Dual Redirect successful")


async def hangup(emulator: AmiEmulator, session: AmiSession, message: AmiMessage) -> Reply:
    name = message.get("Channel").strip()
    if not name:
        return error("No channel specified")
    channel = emulator.channels.find(name)
    if channel is None:
        return error("No such channel")
    cause = leading_int(message.get("Cause")) or NORMAL_CLEARING
    emulator.engine.hangup(channel, cause)
    return success("Channel Hungup")


HANDLERS: dict[str, Handler] = {
    "login": login,
    "challenge": challenge,
    "logoff": logoff,
    "ping": ping,
    "events": events,
    "originate": originate,
    "redirect": redirect,
    "hangup": hangup,
}
