"""The PBX's web side: the folder it serves its call recordings from (MixMonitor's files behind
nginx, or any http(s) address a hangup names in `RecordUrl`).

`fetch` downloads one recording into a scratch file, refusing what is too large and what is not
audio by its content (an error page served as `.wav` is not a recording), and says whether a
failure is worth retrying (`PeerUnavailable`, `PeerTimeout`) or not (`PeerRejected`).
"""

from __future__ import annotations

import asyncio
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx
import puremagic

from switchboard.core.http.client import parse_retry_after
from switchboard.core.http.errors import PeerNotFound, PeerRejected, PeerTimeout, PeerUnavailable

TARGET = "PBX"
#: Audio a PBX records, by the extension the sniffer names, with the type served.
AUDIO_TYPES = {
    ".wav": "audio/wav",
    ".mp3": "audio/mpeg",
    ".ogg": "audio/ogg",
    ".oga": "audio/ogg",
    ".opus": "audio/ogg",
    ".flac": "audio/flac",
    ".m4a": "audio/mp4",
}
_SNIFF_BYTES = 8192
_CHUNK = 64 * 1024


@dataclass(frozen=True)
class Fetched:
    path: Path
    content_type: str
    extension: str
    size: int


class PbxRecordingsClient:
    def __init__(self, *, timeout: float) -> None:
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout, connect=5.0),
            follow_redirects=True,
            max_redirects=3,
            headers={"User-Agent": "switchboard-recordings"},
        )

    async def fetch(self, source: str, folder: Path, *, max_bytes: int) -> Fetched:
        """Download `source` into a new file in `folder`, checked to be audio."""
        if not source.startswith(("http://", "https://")):
            raise PeerRejected(TARGET, "the recording's address is not an http(s) URL")
        path = await asyncio.to_thread(_scratch_file, folder)
        try:
            size, head = await self._download(source, path, max_bytes)
            extension, content_type = sniff(head)
        except BaseException:
            await asyncio.to_thread(path.unlink, missing_ok=True)
            raise
        return Fetched(path=path, content_type=content_type, extension=extension, size=size)

    async def _download(self, source: str, path: Path, max_bytes: int) -> tuple[int, bytes]:
        try:
            async with self._http.stream("GET", source) as response:
                _check_answer(response, max_bytes)
                size, head = 0, b""
                async with await anyio.open_file(path, "wb") as out:
                    async for chunk in response.aiter_bytes(_CHUNK):
                        size += len(chunk)
                        if size > max_bytes:
                            raise PeerRejected(TARGET, f"the recording is over {max_bytes} bytes")
                        if len(head) < _SNIFF_BYTES:
                            head += chunk[: _SNIFF_BYTES - len(head)]
                        await out.write(chunk)
        except httpx.TimeoutException:
            raise PeerTimeout(TARGET, "the PBX did not send the recording in time") from None
        except httpx.TransportError as error:
            raise PeerUnavailable(
                TARGET, f"the PBX is unreachable: {type(error).__name__}"
            ) from None
        if size == 0:
            raise PeerRejected(TARGET, "the PBX sent an empty recording")
        return size, head

    async def aclose(self) -> None:
        await self._http.aclose()


def _scratch_file(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=folder, suffix=".part", delete=False) as handle:
        return Path(handle.name)


def _check_answer(response: httpx.Response, max_bytes: int) -> None:
    status = response.status_code
    if status in (404, 410):
        raise PeerNotFound(TARGET, "the PBX has no such recording", status_code=status)
    if status == 429 or status >= 500:
        raise PeerUnavailable(
            TARGET,
            f"the PBX answered {status}",
            status_code=status,
            retry_after=parse_retry_after(response.headers.get("retry-after")),
        )
    if not 200 <= status < 300:
        raise PeerRejected(TARGET, f"the PBX answered {status}", status_code=status)
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise PeerRejected(TARGET, f"the recording is over {max_bytes} bytes")


def sniff(head: bytes) -> tuple[str, str]:
    """(extension, content type) of audio recognised by its first bytes; PeerRejected for
    anything else (an error page, a file of another kind), whatever it is called."""
    try:
        matches: list[Any] = puremagic.magic_string(head)
    except puremagic.PureError:
        matches = []
    for match in matches:
        if match.extension in AUDIO_TYPES:
            return match.extension, AUDIO_TYPES[match.extension]
    seen = matches[0].name if matches else "unrecognised content"
    raise PeerRejected(TARGET, f"the PBX sent no audio recording ({seen})")
