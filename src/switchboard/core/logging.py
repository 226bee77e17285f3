"""structlog everywhere: JSON lines in production, readable colour-free lines in the demo.

Our own loggers use structlog's fast native path (a filtering bound logger writing straight to
stderr: a request's access line costs a few microseconds, not a trip through `logging`).
Standard-library loggers (uvicorn, alembic, procrastinate, sqlalchemy) are routed through the same
processors and renderer, so one process writes one format.
"""

from __future__ import annotations

import logging
import sys
from typing import TextIO

import orjson
import structlog

# Libraries whose INFO lines are noise to an operator: our own lines already say what happened
# (one per request, per call to a peer, per job).
_NOISY = ("httpx", "httpcore", "asyncio", "watchfiles", "pgserver", "procrastinate")


def _shared_processors(json: bool) -> list[structlog.types.Processor]:
    processors: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
    ]
    if json:
        processors.append(structlog.processors.format_exc_info)
    return processors


def _renderer(json: bool) -> structlog.types.Processor:
    if json:
        return structlog.processors.JSONRenderer(serializer=_dumps)
    return structlog.dev.ConsoleRenderer(
        colors=False, exception_formatter=structlog.dev.plain_traceback
    )


def _dumps(value: object, **_: object) -> str:
    return orjson.dumps(value, default=str).decode()


def configure_logging(
    *, level: str = "INFO", json: bool = False, stream: TextIO | None = None, cache: bool = True
) -> None:
    """Configure structlog and the standard library once per process.

    `cache=False` lets a later call re-configure loggers already used (tests do that); processes
    keep the default, where each logger resolves its configuration once.
    """
    numeric = logging.getLevelName(level)
    stream = stream or sys.stderr
    shared = _shared_processors(json)
    renderer = _renderer(json)
    structlog.configure(
        processors=[*shared, renderer],
        logger_factory=structlog.WriteLoggerFactory(file=stream),
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        cache_logger_on_first_use=cache,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(numeric)
    for name in _NOISY:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "procrastinate"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
