"""Run an ASGI app as a real HTTP server: in a background thread (for tests and sync code), or as
a task in the current event loop (for the demo and `switchboard sandbox`)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Mapping
from typing import Any

import uvicorn
from starlette.types import ASGIApp

#: Defaults of every server started here. `proxy_headers=False`: uvicorn's own default believes
#: `X-Forwarded-For` from 127.0.0.1, which would let any local client pick the address it is
#: seen as (and so escape a rate limit); a caller that sits behind a proxy passes its options.
DEFAULT_OPTIONS: dict[str, Any] = {
    "log_level": "warning",
    "access_log": False,
    "lifespan": "on",
    "timeout_graceful_shutdown": 2,
    "proxy_headers": False,
    "h11_max_incomplete_event_size": 32 * 1024,
}


def _config(
    app: ASGIApp, host: str, port: int, options: Mapping[str, Any] | None = None
) -> uvicorn.Config:
    return uvicorn.Config(app, host=host, port=port, **{**DEFAULT_OPTIONS, **(options or {})})


def _bound_port(server: uvicorn.Server) -> int:
    for listener in server.servers:
        for sock in listener.sockets:
            port: int = sock.getsockname()[1]
            return port
    raise RuntimeError("server has no listening socket")


class _Server:
    """A uvicorn server for `app` on `host:port` (0: any free port); `options` are uvicorn's
    (they override `DEFAULT_OPTIONS`)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        options: Mapping[str, Any] | None = None,
    ) -> None:
        self.app = app
        self.host = host
        self.port = port
        self.server = uvicorn.Server(_config(app, host, port, options))

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


class BackgroundServer(_Server):
    """A uvicorn server in a daemon thread with its own event loop."""

    _thread: threading.Thread | None = None

    def start(self, timeout: float = 10) -> str:
        self._thread = threading.Thread(target=self.server.run, name="sandbox-server", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"sandbox server did not start on {self.host}:{self.port}")
            time.sleep(0.01)
        self.port = _bound_port(self.server)
        return self.url

    def stop(self) -> None:
        self.server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def __enter__(self) -> BackgroundServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class LoopServer(_Server):
    """A uvicorn server running as a task of the current event loop."""

    _task: asyncio.Task[None] | None = None

    def __init__(self, app: ASGIApp, **where: Any) -> None:
        super().__init__(app, **where)
        # The owner of the process handles Ctrl+C and stops every server it started.
        self.server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign,assignment]

    async def start(self, timeout: float = 10) -> str:
        self._task = asyncio.create_task(self.server.serve(), name=f"server-{self.port}")
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if self._task.done():
                self._task.result()
                raise RuntimeError(f"server on {self.host}:{self.port} stopped at start")
            if time.monotonic() > deadline:
                raise RuntimeError(f"server on {self.host}:{self.port} did not start")
            await asyncio.sleep(0.01)
        self.port = _bound_port(self.server)
        return self.url

    async def stop(self) -> None:
        self.server.should_exit = True
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(self._task, timeout=10)
            self._task = None
