"""Runs that outlive the request that started them, held until they end.

asyncio keeps only weak references to tasks: a task nobody holds may vanish mid-run. `InFlight`
(one per runtime, `runtime.extension(InFlight)`) holds them. It is only for work whose loss a
durable record already covers — a leased outbox task, which the worker takes over when this
process dies. Work that must not be lost otherwise is a durable job (see `core/jobs.py`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, Self, TypeVar

T = TypeVar("T")


class InFlight:
    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    @classmethod
    def create(cls, runtime: object) -> Self:
        return cls()

    def start(self, work: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def __len__(self) -> int:
        return len(self._tasks)
