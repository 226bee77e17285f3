"""Apply the Alembic migrations (our schemas and procrastinate's tables) to a database."""

from __future__ import annotations

import asyncio

from alembic import command
from alembic.config import Config

from switchboard.core.db.base import SCHEMAS


def include_object(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    """Alembic looks only at our schemas; procrastinate's tables in `public` are its own."""
    if type_ == "table":
        return getattr(obj, "schema", None) in SCHEMAS
    return True


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", "switchboard:migrations")
    config.attributes["database_url"] = database_url
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


async def upgrade_async(database_url: str, revision: str = "head") -> None:
    # Alembic is synchronous; a thread keeps the event loop (and its servers) responsive.
    await asyncio.to_thread(upgrade, database_url, revision)
