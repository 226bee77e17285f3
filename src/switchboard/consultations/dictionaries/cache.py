"""The dictionaries' response cache: one per process, dropped when any process reports a change."""

from __future__ import annotations

from typing import TYPE_CHECKING, Self

from switchboard.consultations.settings import ConsultationSettings
from switchboard.core.cache import ResponseCache

if TYPE_CHECKING:
    from switchboard.runtime import Runtime


class DictionaryCache(ResponseCache):
    @classmethod
    def create(cls, runtime: Runtime) -> Self:
        settings = ConsultationSettings.of(runtime.settings)
        return cls(
            "dictionaries",
            settings.dict_cache_ttl_seconds,
            runtime.metrics,
            max_entries=settings.dict_cache_max_entries,
        )
