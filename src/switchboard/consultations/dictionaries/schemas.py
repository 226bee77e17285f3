"""What the dictionary endpoints return (field names as the booking front end knows them)."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict

Language = Literal["ru", "uz"]


class _Read(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    ref_key: uuid.UUID


class POTypeReadSimple(_Read):
    description: str


class POSectionRead(_Read):
    owner_key: uuid.UUID | None
    code: str | None
    description: str
    details: str | None


class OnlineQuestionCategoryRead(_Read):
    code: str | None
    description: str
    language: Language


class OnlineQuestionRead(_Read):
    code: str | None
    description: str
    category_key: uuid.UUID | None
    language: Language | None
    useful_info: str | None


class KnowledgeBaseEntry(_Read):
    code: str | None
    description: str
    po_type_key: uuid.UUID | None
    po_section_key: uuid.UUID | None
    question: str | None
    answer: str | None


class ConsultationInterferenceRead(_Read):
    code: str | None
    description: str


class CatalogLoad(BaseModel):
    """What one load of one catalog did."""

    catalog: str
    #: Rows read from 1C, those the pages missed included.
    received: int
    changed: int
    deleted: int
    #: Rows the pages missed (the catalog moved under the paging), read afterwards by key.
    missed: int = 0


class LoadReport(BaseModel):
    catalogs: list[CatalogLoad]
    seconds: float

    @property
    def changed_catalogs(self) -> list[str]:
        return [c.catalog for c in self.catalogs if c.changed or c.deleted]
