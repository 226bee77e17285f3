"""Messages the client sees in the chat (Chatwoot outgoing messages, never private notes), each
sent exactly once however many times the event behind it is seen (two ETL runs, two workers, the
API and the ETL seeing the same redate)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.consultations.notifications import repository
from switchboard.consultations.sync.service import enqueue

POST_MESSAGE = "chatwoot.post_message"


def notification_hash(kind: str, cons_id: str, unique: Mapping[str, Any]) -> str:
    """A stable hash of what makes a notification the same one (its kind, consultation, data)."""
    material = orjson.dumps(
        {"kind": kind, "cons_id": cons_id, "data": unique},
        option=orjson.OPT_SORT_KEYS,
        default=str,
    )
    return hashlib.sha256(material).hexdigest()


async def notify(
    session: AsyncSession,
    *,
    cons_id: str,
    kind: str,
    text: str,
    unique: Mapping[str, Any],
) -> bool:
    """Queue `text` for the consultation's chat, in the caller's transaction; False when this
    notification (same kind, consultation and `unique` data) was queued before.

    The log row and the outbox task commit together: a rollback leaves neither (so nothing is
    marked sent that was not queued), and the outbox delivers the message once.
    """
    unique_hash = notification_hash(kind, cons_id, unique)
    if not await repository.log_once(
        session, kind=kind, entity_id=cons_id, unique_hash=unique_hash
    ):
        return False
    await enqueue(
        session,
        POST_MESSAGE,
        {"cons_id": cons_id, "text": text, "reference": unique_hash, "kind": kind},
        cons_id=cons_id,
        dedupe_key=f"notify:{unique_hash}",
    )
    return True
