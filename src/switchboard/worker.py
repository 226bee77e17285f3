"""The table of contents of background work: every blueprint the worker runs."""

from __future__ import annotations

import procrastinate

from switchboard.consultations.dictionaries import tasks as dictionary_tasks
from switchboard.consultations.managers import tasks as manager_tasks
from switchboard.core import housekeeping

BLUEPRINTS: list[procrastinate.Blueprint] = [
    housekeeping.blueprint,
    dictionary_tasks.blueprint,
    manager_tasks.blueprint,
]

#: ETL jobs by the name `switchboard etl <name>` knows them: (the job, its foreground runner).
ETL_JOBS = {
    "load_dicts": (dictionary_tasks.load_dicts, dictionary_tasks.run_load_dicts),
    "pull_users": (manager_tasks.pull_users, manager_tasks.run_pull_users),
}
