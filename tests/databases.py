"""A throwaway, migrated PostgreSQL database for tests and benchmarks.

On the server named by `TEST_DATABASE_URL` (a fresh database, dropped afterwards), or else in a
private embedded PostgreSQL in a temporary folder.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

from switchboard.core.db.embedded import EmbeddedPostgres
from switchboard.core.db.migrate import upgrade


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


@contextmanager
def created_database(server_url: str, prefix: str) -> Iterator[str]:
    """A new, empty database on the server of `server_url`, dropped on exit."""
    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(3)}"
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield with_database(server_url, name)
    finally:
        with psycopg.connect(server_url, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@contextmanager
def scratch_database(prefix: str = "switchboard_test") -> Iterator[str]:
    server_url = os.environ.get("TEST_DATABASE_URL")
    if server_url:
        with created_database(server_url, prefix) as url:
            upgrade(url)
            yield url
        return
    with tempfile.TemporaryDirectory(prefix="switchboard-pg-") as folder:
        embedded = EmbeddedPostgres(Path(folder) / "pg", database=prefix)
        url = embedded.start()
        try:
            upgrade(url)
            yield url
        finally:
            embedded.stop()
