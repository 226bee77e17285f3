"""The consultations domain (seeds 000–002), as the platform sees it."""

from __future__ import annotations

from switchboard.consultations import hooks
from switchboard.consultations import tasks as domain_tasks
from switchboard.consultations.booking import tasks as booking_tasks
from switchboard.consultations.booking.endpoints import router as booking_router
from switchboard.consultations.clients import tasks as clients_tasks
from switchboard.consultations.clients.endpoints import router as clients_router
from switchboard.consultations.dictionaries import tasks as dictionary_tasks
from switchboard.consultations.dictionaries.endpoints import router as dictionaries_router
from switchboard.consultations.etl import tasks as etl_tasks
from switchboard.consultations.managers import tasks as manager_tasks
from switchboard.consultations.managers.endpoints import router as managers_router
from switchboard.consultations.settings import ConsultationSettings
from switchboard.consultations.sync import tasks as sync_tasks
from switchboard.consultations.sync.endpoints import router as sync_router
from switchboard.consultations.webhooks.endpoints import router as webhooks_router
from switchboard.core.module import DomainModule

MODULE = DomainModule(
    name="consultations",
    schemas=("cons", "dict", "log"),
    models=(
        "switchboard.consultations.models",
        "switchboard.consultations.dictionaries.models",
        "switchboard.consultations.booking.models",
        "switchboard.consultations.sync.models",
        "switchboard.integrations.models",
    ),
    routers=(
        dictionaries_router,
        clients_router,
        booking_router,
        managers_router,
        webhooks_router,
        sync_router,
    ),
    blueprints=(
        dictionary_tasks.blueprint,
        clients_tasks.blueprint,
        booking_tasks.blueprint,
        manager_tasks.blueprint,
        etl_tasks.blueprint,
        sync_tasks.blueprint,
        domain_tasks.blueprint,
    ),
    settings=ConsultationSettings,
    on_start=(hooks.queue_start_up_loads,),
    api_watchers=(hooks.watch_dictionary_changes,),
    etl_jobs={
        job.name: job
        for job in (
            *dictionary_tasks.ETL_JOBS,
            *manager_tasks.ETL_JOBS,
            *clients_tasks.ETL_JOBS,
            *etl_tasks.ETL_JOBS,
        )
    },
)
