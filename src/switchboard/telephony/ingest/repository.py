"""SQL of the ingest: a batch of call events in one statement."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson
import psycopg

#: The dispatcher LISTENs here; a NOTIFY in the inserting transaction arrives at its commit.
EVENTS_CHANNEL = "telephony_events"

_INSERT_EVENTS = """
    WITH inserted AS (
        INSERT INTO telephony.call_events
            (enterprise_number, unique_id, event_type, raw_data, data_source, body_digest)
        SELECT e.enterprise_number, e.unique_id, e.event_type, e.raw_data, e.data_source,
               e.body_digest
        FROM jsonb_to_recordset(CAST(%(rows)s AS jsonb)) AS e(
            enterprise_number text, unique_id text, event_type text, raw_data jsonb,
            data_source text, body_digest text)
        ON CONFLICT ON CONSTRAINT uq_call_events_body DO NOTHING
        RETURNING body_digest
    )
    SELECT body_digest, pg_notify(%(channel)s, '') FROM inserted
"""


async def insert_events(
    connection: psycopg.AsyncConnection[Any], rows: Sequence[Mapping[str, Any]]
) -> set[str]:
    """Insert the events that are not stored yet, in one statement (its own transaction on an
    autocommit connection); the body digests of those inserted."""
    cursor = await connection.execute(
        _INSERT_EVENTS, {"rows": orjson.dumps(list(rows)).decode(), "channel": EVENTS_CHANNEL}
    )
    return {row[0] for row in await cursor.fetchall()}
