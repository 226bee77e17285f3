"""The consultations domain (seeds 000–002), as the platform sees it."""

from __future__ import annotations

from switchboard.consultations import hooks
from switchboard.consultations.dictionaries import tasks as dictionary_tasks
from switchboard.consultations.dictionaries.endpoints import router as dictionaries_router
from switchboard.consultations.managers import tasks as manager_tasks
from switchboard.consultations.settings import ConsultationSettings
from switchboard.core.module import DomainModule

MODULE = DomainModule(
    name="consultations",
    schemas=("cons", "dict", "log"),
    models=(
        "switchboard.consultations.models",
        "switchboard.consultations.dictionaries.models",
        "switchboard.integrations.models",
    ),
    routers=(dictionaries_router,),
    blueprints=(dictionary_tasks.blueprint, manager_tasks.blueprint),
    settings=ConsultationSettings,
    on_start=(hooks.queue_start_up_loads,),
    api_watchers=(hooks.watch_dictionary_changes,),
    etl_jobs={job.name: job for job in (*dictionary_tasks.ETL_JOBS, *manager_tasks.ETL_JOBS)},
)
