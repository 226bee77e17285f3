"""1C as our ports see it: catalogs and staff in our own types."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Collection, Iterator
from dataclasses import dataclass
from itertools import islice
from typing import TYPE_CHECKING

from switchboard.integrations.onec import constants as c
from switchboard.integrations.onec import odata
from switchboard.integrations.onec.client import OneCClient, Record
from switchboard.integrations.onec.odata import parse_guid
from switchboard.integrations.ports import CatalogItem, ReferenceCatalog, StaffMember

if TYPE_CHECKING:
    from switchboard.core.http import HttpKit
    from switchboard.integrations.onec.settings import OneCSettings

STANDARD = "Ref_Key,Code,Description,DeletionMark"
#: Keys per `$filter` when reading elements by key (keeps the URL well under 1C's limits).
KEYS_PER_REQUEST = 40


@dataclass(frozen=True)
class CatalogMapping:
    entity: str
    select: str
    fields: Callable[[Record], dict[str, object]]
    #: An OData `$filter` for the records the platform shows; None keeps all of them.
    filter: str | None = None


def _text(record: Record, name: str) -> str | None:
    value = record.get(name)
    return str(value) if value not in (None, "") else None


def _language(record: Record) -> str | None:
    key = parse_guid(record.get("Язык_Key"))
    return c.LANGUAGE_KEYS.get(key) if key else None


def _language_fields(record: Record) -> dict[str, object]:
    return {"language": _language(record), "language_key": parse_guid(record.get("Язык_Key"))}


CATALOGS: dict[ReferenceCatalog, CatalogMapping] = {
    ReferenceCatalog.PO_TYPES: CatalogMapping(
        c.ENTITY_PO_TYPES,
        STANDARD + ",Описание",
        lambda r: {"details": _text(r, "Описание")},
    ),
    ReferenceCatalog.PO_SECTIONS: CatalogMapping(
        c.ENTITY_PO_SECTIONS,
        STANDARD + ",Owner_Key,Описание",
        lambda r: {"owner_key": parse_guid(r.get("Owner_Key")), "details": _text(r, "Описание")},
    ),
    # The booking form speaks Russian and Uzbek only: categories in other languages stay out.
    ReferenceCatalog.QUESTION_CATEGORIES: CatalogMapping(
        c.ENTITY_QUESTION_CATEGORIES,
        STANDARD + ",Язык_Key",
        _language_fields,
        filter=odata.any_of("Язык_Key", c.LANGUAGE_KEYS),
    ),
    ReferenceCatalog.QUESTIONS: CatalogMapping(
        c.ENTITY_QUESTIONS,
        STANDARD + ",Категория_Key,Язык_Key,ПолезнаяИнформация",
        lambda r: {
            "category_key": parse_guid(r.get("Категория_Key")),
            **_language_fields(r),
            "useful_info": _text(r, "ПолезнаяИнформация"),
        },
    ),
    ReferenceCatalog.KNOWLEDGE_BASE: CatalogMapping(
        c.ENTITY_KNOWLEDGE_BASE,
        STANDARD + ",ВидПО_Key,РазделПО_Key,Вопрос,Ответ,Автор_Key",
        lambda r: {
            "po_type_key": parse_guid(r.get("ВидПО_Key")),
            "po_section_key": parse_guid(r.get("РазделПО_Key")),
            "question": _text(r, "Вопрос"),
            "answer": _text(r, "Ответ"),
            "author_key": parse_guid(r.get("Автор_Key")),
        },
    ),
    ReferenceCatalog.INTERFERENCE: CatalogMapping(c.ENTITY_INTERFERENCE, STANDARD, lambda r: {}),
}


def catalog_item(record: Record, mapping: CatalogMapping) -> CatalogItem:
    return CatalogItem(
        ref_key=uuid.UUID(record["Ref_Key"]),
        code=_text(record, "Code"),
        description=str(record.get("Description") or ""),
        deletion_mark=bool(record.get("DeletionMark")),
        fields=mapping.fields(record),
    )


def _contact(record: Record, kind: str) -> str | None:
    for row in record.get("КонтактнаяИнформация") or []:
        if row.get("Тип") == kind:
            value = row.get("АдресЭП") or row.get("Представление")
            if value:
                return str(value).strip()
    return None


def staff_member(record: Record) -> StaffMember:
    return StaffMember(
        ref_key=uuid.UUID(record["Ref_Key"]),
        code=_text(record, "Code"),
        name=str(record.get("Description") or ""),
        email=_contact(record, "АдресЭлектроннойПочты"),
        deletion_mark=bool(record.get("DeletionMark")),
        invalid=bool(record.get("Недействителен")),
        service_account=bool(record.get("Служебный")),
    )


def _batches(keys: Collection[uuid.UUID], size: int) -> Iterator[list[uuid.UUID]]:
    ordered = iter(sorted(keys))
    while batch := list(islice(ordered, size)):
        yield batch


def _both(first: str | None, second: str) -> str:
    return f"({first}) and ({second})" if first else second


class OneCAdapter:
    name = "onec"

    def __init__(self, client: OneCClient) -> None:
        self.client = client

    @classmethod
    def from_settings(cls, settings: OneCSettings, kit: HttpKit) -> OneCAdapter:
        assert settings.odata_baseurl_cl is not None
        return cls(
            OneCClient.connect(
                kit,
                str(settings.odata_baseurl_cl),
                settings.odata_user,
                settings.odata_password.get_secret_value(),
                page_size=settings.odata_page_size,
                timezone=settings.onec_timezone,
            )
        )

    async def catalog(self, catalog: ReferenceCatalog) -> AsyncIterator[list[CatalogItem]]:
        mapping = CATALOGS[catalog]
        async for page in self.client.pages(
            mapping.entity, select=mapping.select, filter=mapping.filter
        ):
            yield [catalog_item(record, mapping) for record in page]

    async def catalog_keys(self, catalog: ReferenceCatalog) -> set[uuid.UUID]:
        # One request, not pages: a list read in one go cannot shift under a deletion.
        mapping = CATALOGS[catalog]
        records = await self.client.query(mapping.entity, filter=mapping.filter, select="Ref_Key")
        return {uuid.UUID(record["Ref_Key"]) for record in records}

    async def catalog_items(
        self, catalog: ReferenceCatalog, keys: Collection[uuid.UUID]
    ) -> list[CatalogItem]:
        mapping = CATALOGS[catalog]
        items: list[CatalogItem] = []
        for batch in _batches(keys, KEYS_PER_REQUEST):
            records = await self.client.query(
                mapping.entity,
                filter=_both(mapping.filter, odata.any_of("Ref_Key", batch)),
                select=mapping.select,
            )
            items += [catalog_item(record, mapping) for record in records]
        return items

    async def staff(self) -> AsyncIterator[list[StaffMember]]:
        select = STANDARD + ",Недействителен,Служебный,КонтактнаяИнформация"
        async for page in self.client.pages(c.ENTITY_USERS, select=select):
            yield [staff_member(record) for record in page]

    async def ping(self) -> None:
        await self.client.ping()

    async def aclose(self) -> None:
        await self.client.aclose()
