"""Apply the Alembic migrations (our schemas and procrastinate's tables) to a database."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection

from alembic import command
from alembic.config import Config

IncludeObject = Callable[[object, str | None, str, bool, object], bool]


def schema_filter(schemas: Collection[str]) -> IncludeObject:
    """Alembic looks only at our schemas; procrastinate's tables in `public` are its own."""

    def include_object(
        obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
    ) -> bool:
        if type_ == "table":
            return getattr(obj, "schema", None) in schemas
        return True

    return include_object


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
