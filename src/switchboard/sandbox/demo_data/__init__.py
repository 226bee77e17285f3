"""A seeded, realistic demo data set for the 1C:ЦЛ and Chatwoot emulators.

    from switchboard.sandbox.demo_data import build_demo_data
    data = build_demo_data(seed=2026, consultations=300)
    data.onec["Document_ТелефонныйЗвонок"]  # 1C records by OData entity name
    data.chatwoot_agents                    # consultants to create as Chatwoot agents
    data.summary()                          # counts, for printing

`synthetic_catalog` makes any number of plain rows of a dictionary catalog for load tests.
"""

from switchboard.sandbox.demo_data.builder import (
    DEFAULT_CONSULTATIONS,
    DEFAULT_SEED,
    DemoData,
    Record,
    build_demo_data,
    consultation_status,
)
from switchboard.sandbox.demo_data.synthetic import SYNTHETIC_ENTITIES, synthetic_catalog

__all__ = [
    "DEFAULT_CONSULTATIONS",
    "DEFAULT_SEED",
    "SYNTHETIC_ENTITIES",
    "DemoData",
    "Record",
    "build_demo_data",
    "consultation_status",
    "synthetic_catalog",
]
