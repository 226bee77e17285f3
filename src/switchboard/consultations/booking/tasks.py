"""Background jobs of the booking part: forgetting idempotency keys past their 24 hours."""

from __future__ import annotations

import procrastinate
from procrastinate import JobContext

from switchboard.consultations.booking import repository
from switchboard.core.jobs import runtime_of, singleton

blueprint = procrastinate.Blueprint()


@blueprint.periodic(cron="17 3 * * *", periodic_id="daily-0317-utc")
@blueprint.task(pass_context=True, **singleton("booking.purge_idempotency_keys"))
async def purge_idempotency_keys(context: JobContext, timestamp: int | None = None) -> int:
    """Delete idempotency keys older than their TTL (a repeat after that books anew)."""
    async with runtime_of(context).database.transaction() as session:
        return await repository.purge_idempotency_keys(session)
