"""Every table of the platform, imported in one place for Alembic and for tests."""

from __future__ import annotations


def import_all_models() -> None:
    """Import each models module so that their tables register on `Base.metadata`."""
    import switchboard.consultations.dictionaries.models
    import switchboard.consultations.models
    import switchboard.core.db.system
    import switchboard.core.realtime.models
    import switchboard.integrations.models  # noqa: F401
