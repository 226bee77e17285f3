"""The gateway's rules that run in the caller's transaction."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.core.realtime import EventBus
from switchboard.telephony.gateway.events import CHANNEL, IntegrationConfigChanged


async def announce_change(bus: EventBus, session: AsyncSession, enterprise_number: str) -> None:
    """Tell every process, once `session` commits, that this enterprise's settings changed."""
    await bus.publish_on_commit(
        session, CHANNEL, IntegrationConfigChanged(enterprise_number=enterprise_number)
    )
