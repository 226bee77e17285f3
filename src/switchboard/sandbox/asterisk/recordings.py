"""The PBX's web folder of call recordings, as an Asterisk box serves MixMonitor's files over
HTTP (`/monitor/<UniqueId>.wav`).

Each answered call of the call generator names its recording in the hangup (`RecordUrl`); this
server answers that URL with a real WAV file (8 kHz mono, a tone of a few seconds, the same bytes
for the same call), so a platform that fetches, stores and serves recordings can be checked end to
end. Faults and the request journal are the shared sandbox ones:

    pbx = PbxRecordings()
    with BackgroundServer(pbx.app) as server:
        url = recording_url(server.url, "1732960000.123")     # what a hangup carries
        pbx.faults.add(Fault(path="/monitor/*", status=503, times=2))
        pbx.forget("1732960000.123")                       # the PBX deleted it: 404
"""

from __future__ import annotations

import hashlib
import io
import math
import re
import struct
import wave

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from switchboard.sandbox.faults import FaultInjector, RequestJournal, SandboxMiddleware

SAMPLE_RATE = 8000
#: A unique id as Asterisk makes them (`1732960000.123`); anything else is not a recording.
_UNIQUE_ID = re.compile(r"^[0-9]{1,12}\.[0-9]{1,9}$")


def recording_url(base_url: str, unique_id: str) -> str:
    """Where the PBX at `base_url` serves the recording of call `unique_id`."""
    return f"{base_url.rstrip('/')}/monitor/{unique_id}.wav"


def tone_wav(unique_id: str, *, max_seconds: int = 6) -> bytes:
    """A WAV of one to `max_seconds` seconds of a tone, both drawn from the call's id."""
    seed = hashlib.sha256(unique_id.encode()).digest()
    seconds = 1 + seed[0] % max_seconds
    frequency = 300 + seed[1] * 2
    frames = b"".join(
        struct.pack("<h", int(8000 * math.sin(2 * math.pi * frequency * n / SAMPLE_RATE)))
        for n in range(SAMPLE_RATE * seconds)
    )
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(frames)
    return buffer.getvalue()


class PbxRecordings:
    """Recordings by call id: every well-formed id has one unless `forget()` removed it."""

    def __init__(self, *, max_seconds: int = 6) -> None:
        self.max_seconds = max_seconds
        self.faults = FaultInjector()
        self.journal = RequestJournal()
        self.forgotten: set[str] = set()
        self.replaced: dict[str, bytes] = {}
        self.app: ASGIApp = SandboxMiddleware(
            Starlette(routes=[Route("/monitor/{name}", self._serve, methods=["GET", "HEAD"])]),
            faults=self.faults,
            journal=self.journal,
            reset=self.reset,
        )

    def recording(self, unique_id: str) -> bytes:
        return tone_wav(unique_id, max_seconds=self.max_seconds)

    def forget(self, unique_id: str) -> None:
        self.forgotten.add(unique_id)

    def replace(self, unique_id: str, content: bytes) -> None:
        """Serve `content` as the call's `.wav` (a broken PBX, or one serving an error page)."""
        self.replaced[unique_id] = content

    def reset(self) -> None:
        self.forgotten.clear()
        self.replaced.clear()
        self.faults.clear()
        self.journal.clear()

    async def _serve(self, request: Request) -> Response:
        name: str = request.path_params["name"]
        unique_id = name.removesuffix(".wav")
        if not name.endswith(".wav") or not _UNIQUE_ID.match(unique_id):
            return PlainTextResponse("404 Not Found", status_code=404)
        if unique_id in self.forgotten:
            return PlainTextResponse("404 Not Found", status_code=404)
        content = self.replaced.get(unique_id) or self.recording(unique_id)
        return Response(content, media_type="audio/x-wav")
