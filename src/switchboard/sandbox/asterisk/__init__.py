"""An Asterisk Manager Interface (AMI) emulator: logins, Originate, Redirect, Hangup, and the
Asterisk 12+ events of the calls it plays out, over a real TCP connection.

    emulator = AmiEmulator(users={"switchboard": "secret"})
    with BackgroundAmi(emulator) as ami:            # ami.host, ami.port
        emulator.script_outcome("PJSIP/151", Reason.BUSY)
        ...                                         # a client (panoramisk) originates a call
        emulator.actions_named("Originate")         # what it sent, Variables as a list

See `ami.py` for the server and the test controls, `callflow.py` for how calls unfold.
"""

from __future__ import annotations

from switchboard.sandbox.asterisk.ami import (
    DEFAULT_SECRET,
    DEFAULT_USER,
    AmiEmulator,
    BackgroundAmi,
)
from switchboard.sandbox.asterisk.callflow import UNTIL_HUNG_UP, Reason

__all__ = [
    "DEFAULT_SECRET",
    "DEFAULT_USER",
    "UNTIL_HUNG_UP",
    "AmiEmulator",
    "BackgroundAmi",
    "Reason",
]
