"""Apply the Alembic migrations (our schemas and procrastinate's tables) to a database."""

from __future__ import annotations

import asyncio

from alembic import command
from alembic.config import Config


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
