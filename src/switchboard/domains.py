"""The one list of domains, and what the app, the worker and the migrations take from it.

Adding a domain (telephony, messenger …) is one line in `DOMAINS` — plus its settings section
among `config.Settings`' bases.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from itertools import chain
from typing import Any

import procrastinate
from fastapi import APIRouter

from switchboard.consultations.module import MODULE as CONSULTATIONS
from switchboard.core import housekeeping
from switchboard.core.jobs import EtlJob
from switchboard.core.module import DomainModule, Hook
from switchboard.integrations.settings import IntegrationSettings
from switchboard.messenger.module import MODULE as MESSENGER
from switchboard.runtime import Runtime
from switchboard.telephony.module import MODULE as TELEPHONY

# Telephony first: its ingest paths are the busiest (a PBX's every event), and routes are
# matched in this order.
DOMAINS: list[DomainModule] = [
    TELEPHONY,
    CONSULTATIONS,
    MESSENGER,
]

#: Schemas and tables of the platform itself (migration history, event log, job queue).
PLATFORM_SCHEMAS = ("sys",)
PLATFORM_MODELS = ("switchboard.core.db.system", "switchboard.core.realtime.models")
PLATFORM_BLUEPRINTS: list[procrastinate.Blueprint] = [housekeeping.blueprint]


def schemas() -> tuple[str, ...]:
    return tuple(dict.fromkeys(chain(PLATFORM_SCHEMAS, *(d.schemas for d in DOMAINS))))


def import_all_models() -> None:
    """Import each models module so that their tables register on `Base.metadata`."""
    import importlib

    for name in PLATFORM_MODELS:
        importlib.import_module(name)
    for domain in DOMAINS:
        domain.import_models()


def routers() -> list[APIRouter]:
    return [router for domain in DOMAINS for router in domain.routers]


def blueprints() -> list[procrastinate.Blueprint]:
    return [*PLATFORM_BLUEPRINTS, *(bp for domain in DOMAINS for bp in domain.blueprints)]


def start_up_hooks() -> list[Hook]:
    return [hook for domain in DOMAINS for hook in domain.on_start]


def api_watchers() -> list[Hook]:
    return [hook for domain in DOMAINS for hook in domain.api_watchers]


def asgi_middleware() -> list[Any]:
    return [layer for domain in DOMAINS for layer in domain.asgi_middleware]


def public_paths() -> list[str]:
    return [prefix for domain in DOMAINS for prefix in domain.public_paths]


def etl_jobs() -> dict[str, EtlJob]:
    return {name: job for domain in DOMAINS for name, job in domain.etl_jobs.items()}


@asynccontextmanager
async def open_runtime(settings: IntegrationSettings, **options: Any) -> AsyncIterator[Runtime]:
    """A runtime whose job app knows every domain's tasks."""
    async with Runtime.open(
        settings, blueprints=blueprints(), etl_jobs=etl_jobs(), **options
    ) as runtime:
        yield runtime
