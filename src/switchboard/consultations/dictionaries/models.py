"""Tables of the `dict` schema. Each row mirrors one element of a 1C catalog, keyed by Ref_Key.

Rows that disappear from 1C, or carry a deletion mark there, stay with `deletion_mark = true` so
that consultations that point at them keep their meaning; the API lists only live rows.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, Index, Text, func, text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from switchboard.core.db.base import Base


class DictionaryRow(Base):
    __abstract__ = True

    ref_key: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    code: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, server_default=text("''"))
    deletion_mark: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())


class POType(DictionaryRow):
    """A kind of software consulted on (`Catalog_ВидыПОДляКонсультаций`)."""

    __tablename__ = "po_types"
    __table_args__ = {"schema": "dict"}

    details: Mapped[str | None] = mapped_column(Text)


class POSection(DictionaryRow):
    """A section of one kind of software (`Catalog_РазделыПОДляКонсультаций`, owned by a type)."""

    __tablename__ = "po_sections"
    __table_args__ = (Index("ix_po_sections_owner_key", "owner_key"), {"schema": "dict"})

    owner_key: Mapped[uuid.UUID | None] = mapped_column(UUID)
    details: Mapped[str | None] = mapped_column(Text)


class QuestionCategory(DictionaryRow):
    """A category of questions for online booking (`Catalog_КатегорииВопросов`)."""

    __tablename__ = "online_question_cat"
    __table_args__ = (Index("ix_online_question_cat_language", "language"), {"schema": "dict"})

    language: Mapped[str | None] = mapped_column(Text)
    language_key: Mapped[uuid.UUID | None] = mapped_column(UUID)


class Question(DictionaryRow):
    """A question a client can pick when booking (`Catalog_ВопросыНаКонсультацию`)."""

    __tablename__ = "online_question"
    __table_args__ = (
        Index("ix_online_question_category_key", "category_key"),
        Index("ix_online_question_language", "language"),
        {"schema": "dict"},
    )

    category_key: Mapped[uuid.UUID | None] = mapped_column(UUID)
    language: Mapped[str | None] = mapped_column(Text)
    language_key: Mapped[uuid.UUID | None] = mapped_column(UUID)
    useful_info: Mapped[str | None] = mapped_column(Text)


class KnowledgeBaseEntry(DictionaryRow):
    """A ready answer (`Catalog_БазаЗнанийДляКонсультаций`)."""

    __tablename__ = "knowledge_base"
    __table_args__ = (
        Index("ix_knowledge_base_po_type_key_po_section_key", "po_type_key", "po_section_key"),
        {"schema": "dict"},
    )

    po_type_key: Mapped[uuid.UUID | None] = mapped_column(UUID)
    po_section_key: Mapped[uuid.UUID | None] = mapped_column(UUID)
    question: Mapped[str | None] = mapped_column(Text)
    answer: Mapped[str | None] = mapped_column(Text)
    author_key: Mapped[uuid.UUID | None] = mapped_column(UUID)


class Interference(DictionaryRow):
    """Something that got in the way of a consultation (`Catalog_ПомехиДляКонсультаций`)."""

    __tablename__ = "consultation_interference"
    __table_args__ = {"schema": "dict"}
