"""How a domain declares itself to the platform, once, in its `module.py`.

The app, the worker, the migrations and the tests read the list of domains in
`switchboard/domains.py` and take from each module what they need: its routers, its job
blueprints, its models and database schemas, its start-up hooks and its settings section.
Adding a domain is one line in that list.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import procrastinate
from fastapi import APIRouter

from switchboard.core.jobs import EtlJob
from switchboard.core.settings import SettingsSection

#: A hook that receives the process's runtime (typed loosely: core knows no runtime).
Hook = Callable[[Any], Coroutine[Any, Any, None]]


@dataclass(frozen=True)
class DomainModule:
    name: str
    #: Database schemas the domain owns (created by its migrations).
    schemas: Sequence[str] = ()
    #: Modules whose import registers the domain's tables on `Base.metadata`.
    models: Sequence[str] = ()
    routers: Sequence[APIRouter] = ()
    blueprints: Sequence[procrastinate.Blueprint] = ()
    settings: type[SettingsSection] | None = None
    #: Run once when an API process (or the demo) starts, e.g. to queue start-up jobs.
    on_start: Sequence[Hook] = ()
    #: Long-running watchers an API process keeps while it serves (restarted by the app).
    api_watchers: Sequence[Hook] = ()
    #: ASGI layers the app puts inside its request pipeline (after request ids, rate limits and
    #: metrics, before the router), e.g. a fast path for a domain's busiest requests.
    asgi_middleware: Sequence[Callable[..., Any]] = ()
    #: Path prefixes that any website may call from its pages (an embedded widget): CORS for
    #: every origin, without cookies, whatever `ALLOWED_ORIGINS` says for the rest.
    public_paths: Sequence[str] = ()
    #: Scheduled ETL jobs (`core.jobs.etl_task`), by the name `switchboard etl <name>` knows.
    etl_jobs: Mapping[str, EtlJob] = field(default_factory=dict)

    def import_models(self) -> None:
        for name in self.models:
            importlib.import_module(name)
