"""A private PostgreSQL that a test really stops and starts (pgserver in a temporary folder,
never the shared server other tests use): `pg_ctl stop -m fast`, then started again on the same
socket."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from switchboard.core.db.migrate import upgrade


@dataclass
class PostgresControl:
    """Stops and starts a pgserver PostgreSQL (a private one of a test, or the demo's)."""

    pgdata: Path
    socket_dir: str

    @classmethod
    def of(cls, pgdata: Path) -> PostgresControl:
        from pgserver.utils import PostmasterInfo  # type: ignore[import-untyped]

        info = PostmasterInfo.read_from_pgdata(pgdata)
        if info is None or info.socket_dir is None:
            raise RuntimeError(f"no PostgreSQL is running on {pgdata}")
        return cls(pgdata, str(info.socket_dir))

    @property
    def _user(self) -> str | None:
        # pgserver runs PostgreSQL as its own system user when started by root.
        return "pgserver" if os.geteuid() == 0 else None

    def stop(self) -> None:
        from pgserver import _commands  # type: ignore[attr-defined]

        _commands.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.pgdata, user=self._user)

    def start(self) -> None:
        from pgserver import _commands

        options = ["-w", "-o", '-h ""', "-o", f"-k {self.socket_dir}"]
        _commands.pg_ctl(
            [*options, "-l", str(self.pgdata / "log"), "start"],
            pgdata=self.pgdata,
            user=self._user,
            timeout=30,
        )

    def answers(self) -> bool:
        try:
            with psycopg.connect(
                f"postgresql://postgres:@/postgres?host={self.socket_dir}", connect_timeout=2
            ) as connection:
                connection.execute("SELECT 1")
        except psycopg.OperationalError:
            return False
        return True


@dataclass
class PrivatePostgres:
    control: PostgresControl
    url: str


@pytest.fixture
def private_postgres(tmp_path: Path) -> Iterator[PrivatePostgres]:
    from pgserver import get_server  # type: ignore[attr-defined]

    server = get_server(tmp_path / "pg", cleanup_mode="stop")
    url = server.get_uri("postgres")
    upgrade(url)
    control = PostgresControl.of(tmp_path / "pg")
    try:
        yield PrivatePostgres(control, url)
    finally:
        if not control.answers():
            control.start()
        server.cleanup()
        # A server started again with pg_ctl is not the one pgserver tracks: stop it too.
        if control.answers():
            control.stop()
