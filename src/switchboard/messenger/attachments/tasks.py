"""Background jobs of attachments.

* `messenger.attachments.sweep` (hourly): files uploaded but never sent (a visitor who closed
  the page, a removed chip) are deleted once UNCLAIMED_HOURS have passed: their rows first,
  then their bytes in the store (a failure there leaves bytes nobody can reach; it is
  logged)."""

from __future__ import annotations

import procrastinate
import structlog
from procrastinate import JobContext

from switchboard.core.db.base import utcnow
from switchboard.core.http.errors import PeerUnavailable
from switchboard.core.jobs import runtime_of, singleton
from switchboard.messenger.attachments import service
from switchboard.messenger.attachments.service import Attachments

log = structlog.get_logger(__name__)

blueprint = procrastinate.Blueprint()


@blueprint.periodic(cron="17 * * * *", periodic_id="hourly")
@blueprint.task(pass_context=True, **singleton("messenger.attachments.sweep"))
async def sweep(context: JobContext, timestamp: int | None = None) -> dict[str, int]:
    runtime = runtime_of(context)
    attachments = runtime.extension(Attachments)
    async with runtime.database.transaction() as session:
        keys = await service.forget_unclaimed(session, utcnow())
    lost = 0
    for key in keys:
        try:
            await attachments.store.delete(key)
        except (PeerUnavailable, OSError) as error:
            lost += 1
            log.warning("an unsent attachment's bytes stay in the store", key=key, error=str(error))
    if keys:
        log.info("unsent attachments deleted", files=len(keys))
    return {"deleted": len(keys), "left_in_store": lost}
