"""What business code needs from external systems, in our own types.

A port is a typed Protocol; each external system that can fill it has an adapter. Business code
takes a port, so a second accounting system or chat backend is one more adapter, not a rewrite.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import AsyncIterator, Collection, Mapping
from dataclasses import dataclass, field
from typing import Protocol


class ReferenceCatalog(enum.StrEnum):
    """The reference catalogs behind the booking form (seed 001's dictionaries)."""

    PO_TYPES = "po_types"
    PO_SECTIONS = "po_sections"
    QUESTION_CATEGORIES = "question_categories"
    QUESTIONS = "questions"
    KNOWLEDGE_BASE = "knowledge_base"
    INTERFERENCE = "interference"


@dataclass(frozen=True, slots=True)
class CatalogItem:
    """One element of a reference catalog; `fields` holds the catalog's own attributes under
    our column names (`owner_key`, `language`, …)."""

    ref_key: uuid.UUID
    code: str | None
    description: str
    deletion_mark: bool
    fields: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StaffMember:
    """A person in the accounting system who may consult clients."""

    ref_key: uuid.UUID
    code: str | None
    name: str
    email: str | None
    deletion_mark: bool
    invalid: bool
    service_account: bool

    @property
    def active(self) -> bool:
        return not (self.deletion_mark or self.invalid or self.service_account)


class ReferenceSource(Protocol):
    """Where the reference catalogs come from (1C)."""

    def catalog(self, catalog: ReferenceCatalog) -> AsyncIterator[list[CatalogItem]]:
        """Every element, a page at a time; elements the platform must not show are omitted."""

    async def catalog_keys(self, catalog: ReferenceCatalog) -> set[uuid.UUID]:
        """The keys of every element `catalog` yields now, read at once (not paged)."""

    async def catalog_items(
        self, catalog: ReferenceCatalog, keys: Collection[uuid.UUID]
    ) -> list[CatalogItem]:
        """The elements with these keys that `catalog` yields now (absent ones are left out)."""


class StaffSource(Protocol):
    def staff(self) -> AsyncIterator[list[StaffMember]]:
        """Every user of the accounting system, a page at a time."""


class HealthCheck(Protocol):
    name: str

    async def ping(self) -> None:
        """Raise an IntegrationError when the system cannot serve us."""
