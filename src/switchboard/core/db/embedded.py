"""A private PostgreSQL for machines that were given no `DATABASE_URL`.

`pgserver` ships a real PostgreSQL 16 as a wheel. The server lives in a data folder (by default
`./var/postgres`) and listens only on a Unix socket, so it never collides with a server on 5432.
It is stopped when the last process that opened it exits.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any

DATABASE_NAME = "switchboard"

log = logging.getLogger(__name__)


class EmbeddedPostgres:
    def __init__(self, data_dir: Path, *, database: str = DATABASE_NAME) -> None:
        self.data_dir = data_dir.expanduser().resolve()
        self.database = database
        self._server: Any = None

    def start(self) -> str:
        """Start (or join) the server and return a libpq URL of the platform's database."""
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        with warnings.catch_warnings():
            # pgserver keeps its lock in the user's runtime folder; without XDG_RUNTIME_DIR
            # platformdirs warns and falls back to /tmp, which is fine for a private server.
            warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
            from pgserver import get_server  # type: ignore[attr-defined]

            self._server = get_server(self.data_dir, cleanup_mode="stop")
        self._ensure_database()
        url: str = self._server.get_uri(self.database)
        return url

    def _ensure_database(self) -> None:
        exists = self._server.psql(
            f"SELECT 1 FROM pg_database WHERE datname = '{self.database}';"  # noqa: S608 - constant
        )
        if "(1 row)" not in exists:
            self._server.psql(f'CREATE DATABASE "{self.database}";')
            log.info("created embedded database %s in %s", self.database, self.data_dir)

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()
            self._server = None
