"""The telephony domain (seed 003), as the platform sees it."""

from __future__ import annotations

from switchboard.core.module import DomainModule
from switchboard.telephony.actions.endpoints import router as actions_router
from switchboard.telephony.admin.endpoints import api as admin_api
from switchboard.telephony.admin.endpoints import pages as admin_pages
from switchboard.telephony.delivery import tasks as delivery
from switchboard.telephony.gateway import tasks as gateway
from switchboard.telephony.gateway.endpoints import router as gateway_router
from switchboard.telephony.ingest.endpoints import router as ingest_router
from switchboard.telephony.ingest.fastpath import IngestFastPath
from switchboard.telephony.records.endpoints import router as records_router
from switchboard.telephony.settings import TelephonySettings

MODULE = DomainModule(
    name="telephony",
    schemas=("telephony",),
    models=("switchboard.telephony.models",),
    routers=(
        ingest_router,
        gateway_router,
        actions_router,
        records_router,
        admin_api,
        admin_pages,
    ),
    settings=TelephonySettings,
    asgi_middleware=(IngestFastPath,),
    api_watchers=(gateway.keep_cache_current, gateway.maintain_cache, delivery.deliver_in_api),
)
