"""The options of the uvicorn server that serves the API (`switchboard serve`, the demo).

* Request headers are limited to `MAX_HEADER_BYTES` while they are read: a client that sends
  more gets 431 and the connection is closed, so a 50 MB header is never held in memory (the
  `RequestGuard` middleware answers 431 for what a server without this limit let through).
* `X-Forwarded-For` is believed only from `TRUSTED_PROXIES` (uvicorn's own default trusts
  127.0.0.1, which would let any local client choose its rate-limit key).
"""

from __future__ import annotations

from typing import Any

import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from switchboard.core.settings import CoreSettings


def _refusal(status_line: bytes, code: str, message: str) -> bytes:
    body = orjson.dumps({"error": code, "message": message})
    head = (
        status_line
        + b"content-type: application/json\r\n"
        + b"content-length: "
        + str(len(body)).encode()
        + b"\r\nconnection: close\r\n\r\n"
    )
    return head + body


HEADERS_TOO_LARGE = _refusal(
    b"HTTP/1.1 431 Request Header Fields Too Large\r\n",
    "headers_too_large",
    "The request headers are too large.",
)


#: `_header_bytes` values that are not counts: not inside a request's headers, or refused.
_NOT_IN_HEADERS = -1
_REFUSED = -2


class HeaderLimitedProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol that stops reading a request whose headers (request line
    included) exceed the server's `h11_max_incomplete_event_size`, with a 431.

    Its state is one small integer (thousands of idle streams each hold a protocol object, so
    every attribute counts): bytes of headers read so far, or one of the markers above."""

    _header_bytes = _NOT_IN_HEADERS

    @property
    def _header_limit(self) -> int:
        return self.config.h11_max_incomplete_event_size or 32 * 1024

    def data_received(self, data: bytes) -> None:
        if self._header_bytes == _REFUSED:
            return
        super().data_received(data)
        if self._header_bytes >= 0:
            # Counted after the parser saw the chunk: a chunk that completed the headers
            # does not count, one that left them incomplete does.
            self._header_bytes += len(data)
            if self._header_bytes > self._header_limit:
                self._refuse_headers()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._header_bytes = 0

    def on_headers_complete(self) -> None:
        self._header_bytes = _NOT_IN_HEADERS
        super().on_headers_complete()

    def _refuse_headers(self) -> None:
        self._header_bytes = _REFUSED
        self.logger.warning("Request headers over %d bytes refused.", self._header_limit)
        if not self.transport.is_closing():
            self.transport.write(HEADERS_TOO_LARGE)
            self.transport.close()


def uvicorn_options(settings: CoreSettings) -> dict[str, Any]:
    """Keyword arguments for `uvicorn.run` / `uvicorn.Config` from the settings."""
    trusted = list(settings.trusted_proxies)
    return {
        "http": HeaderLimitedProtocol,
        "h11_max_incomplete_event_size": settings.max_header_bytes,
        "proxy_headers": bool(trusted),
        "forwarded_allow_ips": ",".join(trusted) if trusted else None,
        "server_header": False,
    }
