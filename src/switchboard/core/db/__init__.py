"""Database access: the declarative base, the engine and the one place that commits."""

from switchboard.core.db.base import Base, utcnow
from switchboard.core.db.session import Database

__all__ = ["Base", "Database", "utcnow"]
