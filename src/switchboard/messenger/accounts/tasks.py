"""Background jobs of staff accounts.

* `messenger.presence` (every minute): staff at work whose panel has not reported for
  `PRESENCE_TIMEOUT` are set offline (a closed browser, a lost network): routing then gives
  them nothing new, and the chats they have not opened escalate as usual.
"""

from __future__ import annotations

import procrastinate
import structlog
from procrastinate import JobContext

from switchboard.core.db.base import utcnow
from switchboard.core.jobs import runtime_of, singleton
from switchboard.messenger.accounts import service

log = structlog.get_logger(__name__)

blueprint = procrastinate.Blueprint()


@blueprint.periodic(cron="* * * * *", periodic_id="every-minute")
@blueprint.task(pass_context=True, **singleton("messenger.presence"))
async def presence(context: JobContext, timestamp: int | None = None) -> dict[str, int]:
    runtime = runtime_of(context)
    async with runtime.database.transaction() as session:
        absent = await service.sign_off_absent(session, utcnow())
    if absent:
        log.info("absent staff set offline", staff=absent)
    return {"offline": len(absent)}
