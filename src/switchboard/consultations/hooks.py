"""What the consultations domain does when a process starts, and while an API process serves."""

from __future__ import annotations

from switchboard.consultations import tasks as domain_tasks
from switchboard.consultations.dictionaries import tasks as dictionary_tasks
from switchboard.consultations.dictionaries.cache import DictionaryCache
from switchboard.consultations.dictionaries.service import watch_changes
from switchboard.consultations.settings import ConsultationSettings
from switchboard.core.jobs import defer_unless_queued
from switchboard.runtime import Runtime


async def queue_start_up_loads(runtime: Runtime) -> None:
    """Seed 001's start-up loads, as durable jobs (done by a worker, never lost)."""
    settings = ConsultationSettings.of(runtime.settings)
    if settings.load_dicts_on_start:
        await defer_unless_queued(runtime.jobs, dictionary_tasks.load_dicts)
    pulls = [
        *(domain_tasks.STAFF_PULLS if settings.sync_users_on_start else ()),
        *(domain_tasks.CONSULTATION_PULLS if settings.pull_on_start else ()),
    ]
    if pulls:
        await defer_unless_queued(runtime.jobs, domain_tasks.start_up_pulls, jobs=pulls)


async def watch_dictionary_changes(runtime: Runtime) -> None:
    """Drop this process's cached dictionaries whenever any process reports a change."""
    await watch_changes(runtime.bus, runtime.extension(DictionaryCache))
