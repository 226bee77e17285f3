"""The engine, sessions, and the one place in the code base that commits.

Services and repositories receive an `AsyncSession` and never commit. The edge (a request
dependency, a job wrapper, a CLI command) opens `Database.transaction()`, which commits when the
block ends without an error and then runs the after-commit hooks (events for the bus, mostly).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import structlog
from sqlalchemy import text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

AfterCommit = Callable[[], Awaitable[None]]

_AFTER_COMMIT_KEY = "switchboard.after_commit"
_SCHEME = re.compile(r"^(postgres|postgresql)(\+[a-z0-9_]+)?://", re.IGNORECASE)

log = structlog.get_logger(__name__)


def sqlalchemy_url(url: str) -> str:
    """The same server, addressed through SQLAlchemy's psycopg 3 dialect."""
    if not _SCHEME.match(url):
        raise ValueError("database URL must start with postgresql://")
    return _SCHEME.sub("postgresql+psycopg://", url, count=1)


def libpq_url(url: str) -> str:
    """The same server, addressed as libpq expects (procrastinate, LISTEN connections, psql)."""
    if not _SCHEME.match(url):
        raise ValueError("database URL must start with postgresql://")
    return _SCHEME.sub("postgresql://", url, count=1)


def after_commit(session: AsyncSession, hook: AfterCommit) -> None:
    """Run `hook` once the surrounding transaction has committed; drop it on rollback."""
    session.info.setdefault(_AFTER_COMMIT_KEY, []).append(hook)


class Database:
    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 10,
        max_overflow: int = 10,
        pool_timeout: float = 30,
        pool_recycle: int = 3600,
        echo: bool = False,
    ) -> None:
        self.url = libpq_url(url)
        self.engine: AsyncEngine = create_async_engine(
            sqlalchemy_url(url),
            pool_size=pool_size,
            max_overflow=max_overflow,
            pool_timeout=pool_timeout,
            pool_recycle=pool_recycle,
            pool_pre_ping=True,
            echo=echo,
        )
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session whose work commits at the end of the block, or rolls back on error."""
        async with self.sessionmaker() as session:
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                session.info.pop(_AFTER_COMMIT_KEY, None)
                raise
            await self._run_after_commit(session)

    @staticmethod
    async def _run_after_commit(session: AsyncSession) -> None:
        for hook in session.info.pop(_AFTER_COMMIT_KEY, []):
            try:
                await hook()
            except Exception:  # logged with its traceback; see below
                # The data is committed; a hook (an event for live screens) failing must not turn
                # a saved change into an error for the caller. It is logged with its traceback.
                log.exception("after-commit hook failed", hook=getattr(hook, "__name__", "?"))

    async def ping(self) -> None:
        async with self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()

    @classmethod
    def from_settings(cls, url: str, settings: Any) -> Database:
        return cls(
            url,
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            pool_timeout=settings.db_pool_timeout,
            pool_recycle=settings.db_pool_recycle,
        )
