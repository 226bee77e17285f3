"""Which adapter fills which port in this deployment, built from the settings."""

from __future__ import annotations

from dataclasses import dataclass, field

from switchboard.core.http import HttpKit
from switchboard.integrations.chatwoot.adapter import ChatwootAdapter
from switchboard.integrations.onec.adapter import OneCAdapter
from switchboard.integrations.onec.consultations import OneCAccounting
from switchboard.integrations.ports import (
    AccountingSystem,
    ChatDesk,
    HealthCheck,
    ReferenceSource,
    StaffSource,
)
from switchboard.integrations.settings import IntegrationSettings


@dataclass
class Adapters:
    reference_source: ReferenceSource | None = None
    staff_source: StaffSource | None = None
    accounting: AccountingSystem | None = None
    chat: ChatDesk | None = None
    #: Every external system this deployment is configured to use, for health checks.
    systems: list[HealthCheck] = field(default_factory=list)
    #: Names of systems the platform knows but this deployment has not configured.
    unconfigured: list[str] = field(default_factory=list)

    async def aclose(self) -> None:
        for system in self.systems:
            close = getattr(system, "aclose", None)
            if close is not None:
                await close()


def build_adapters(settings: IntegrationSettings, kit: HttpKit) -> Adapters:
    adapters = Adapters()
    if settings.odata_baseurl_cl is not None:
        onec = OneCAdapter.from_settings(settings, kit)
        adapters.reference_source = onec
        adapters.staff_source = onec
        # Shares the adapter's client (one connection pool); closed with it.
        adapters.accounting = OneCAccounting(
            onec.client, document_page_size=settings.odata_document_page_size
        )
        adapters.systems.append(onec)
    else:
        adapters.unconfigured.append("onec")
    if settings.chatwoot_configured():
        chat = ChatwootAdapter.from_settings(settings, kit)
        adapters.chat = chat
        adapters.systems.append(chat)
    else:
        adapters.unconfigured.append("chatwoot")
    return adapters
