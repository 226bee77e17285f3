"""The messenger schema's own guarantees: a message sent twice is stored once, statuses and
roles are from their lists."""

from __future__ import annotations

import pytest
import sqlalchemy.exc

from switchboard.core.db import Database
from tests.messenger.support import World

INSERT_MESSAGE = (
    "INSERT INTO messenger.messages (conversation_id, direction, author_kind, body, client_id) "
    "VALUES (:c, 'in', 'contact', 'hello', :client) RETURNING id"
)


async def test_a_client_supplied_id_is_unique_per_conversation(database: Database) -> None:
    world = World(database)
    inbox = await world.inbox()
    first, second = await world.conversation(inbox), await world.conversation(inbox)
    await world.one(INSERT_MESSAGE, c=first, client="m-1")
    await world.one(INSERT_MESSAGE, c=second, client="m-1")  # another conversation: fine
    await world.one(INSERT_MESSAGE, c=first, client=None)
    await world.one(INSERT_MESSAGE, c=first, client=None)  # no id: no deduplication
    with pytest.raises(sqlalchemy.exc.IntegrityError):
        await world.one(INSERT_MESSAGE, c=first, client="m-1")


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE messenger.conversations SET status = 'waiting' RETURNING id",
        "UPDATE messenger.conversations SET rating = 11 RETURNING id",
        "UPDATE messenger.staff SET role = 'director' RETURNING id",
        "UPDATE messenger.staff SET status = 'lunch' RETURNING id",
        "UPDATE messenger.staff SET capacity = -1 RETURNING id",
        "INSERT INTO messenger.messages (conversation_id, direction, author_kind) "
        "SELECT id, 'in', 'staff' FROM messenger.conversations RETURNING id",
    ],
)
async def test_values_outside_their_lists_are_refused(database: Database, statement: str) -> None:
    world = World(database)
    branch = await world.branch("ekb")
    await world.operator(branch, "op")
    await world.conversation(await world.inbox())
    with pytest.raises(sqlalchemy.exc.IntegrityError):
        await world.one(statement)
