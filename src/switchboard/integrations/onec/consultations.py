"""1C:ЦЛ as the `AccountingSystem` port: counterparties, consultation documents, registers, and
the ETL's reads.

Writes are safe to repeat. A new document or counterparty gets its `Ref_Key` from us before the
first attempt and a register record is addressed by its own key (Period and dimensions), so a
POST sent again — by the kit after a timeout, or by the outbox after a crash — meets 1C's "key
exists" (code 15) and is answered from what is already there, never with a second object.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncGenerator, Callable, Collection
from datetime import date, datetime, time, timedelta
from typing import TypeVar

import structlog

from switchboard.core.http.errors import PeerBusinessError, PeerNotFound
from switchboard.integrations.onec import constants as c
from switchboard.integrations.onec import odata
from switchboard.integrations.onec import records as r
from switchboard.integrations.onec.client import KeyExists, OneCClient, Record
from switchboard.integrations.onec.odata import parse_guid
from switchboard.integrations.ports import (
    CallRecord,
    ConsultantProfile,
    ConsultationChanges,
    ConsultationDocument,
    ConsultationRecord,
    Counterparty,
    CounterpartyCard,
    CounterpartyRecord,
    DailyLimitReached,
    QueueClosingRecord,
    RatingRecord,
    RedateRecord,
)

log = structlog.get_logger("switchboard.onec")

#: Keys per `$filter` when reading documents by key (keeps the URL well under 1C's limits).
KEYS_PER_REQUEST = 40
#: How the base words its refusal of a consultation over the daily limit ("Превышен лимит
#: консультаций…"); other business refusals (code -1) are not the limit.
LIMIT_REFUSAL = re.compile(r"лимит|limit", re.IGNORECASE)
#: Namespace of the keys we give new counterparties: one INN and code, one key.
COUNTERPARTY_KEYS = uuid.UUID("4f0b6c7e-3d1a-5b8e-9c2f-1a7d6e5b4c3a")

COUNTERPARTY_SELECT = "Ref_Key,ИНН,КодАбонентаClobus,Parent_Key,DeletionMark"
LIVE_CLIENT = f"Parent_Key eq {odata.guid(c.CLOBUS_CLIENTS_FOLDER)} and DeletionMark eq false"
OUR_CLIENTS = f"Абонент/Parent_Key eq {odata.guid(c.CLOBUS_CLIENTS_FOLDER)}"
#: What the clients ETL reads of a counterparty.
CLIENT_SELECT = (
    "Ref_Key,Code,Description,DeletionMark,Parent_Key,ИНН,КодАбонентаClobus,Страна,Регион,Город,"
    "Подписка,ДатаНачалаПодписки,ДатаОкончанияПодписки,Тариф_Key,ТарифныйПериод_Key,"
    "КонтактнаяИнформация"
)
CLIENTS_OF_FOLDER = f"Parent_Key eq {odata.guid(c.CLOBUS_CLIENTS_FOLDER)} and IsFolder eq false"
#: Codes are given in order: the oldest counterparty first, and one added during a run lands
#: after the pages already read instead of shifting them.
CLIENT_ORDER = "Code asc, Ref_Key asc"
CHANGED_ORDER = "ДатаИзменения asc, Ref_Key asc"
REDATE_ORDER = "Period asc, ДокументОбращения_Key asc, Абонент_Key asc, Менеджер_Key asc"
RATING_ORDER = (
    "Period asc, Обращение_Key asc, Контрагент_Key asc, Менеджер_Key asc, НомерВопроса asc"
)
CALL_ORDER = REDATE_ORDER

T = TypeVar("T")


def limit_refusal(error: PeerBusinessError) -> PeerBusinessError:
    """The base's refusal as we name it: DailyLimitReached when it is the limit, else as is."""
    if LIMIT_REFUSAL.search(error.message):
        return DailyLimitReached(
            error.target, error.message, status_code=error.status_code, body=error.body
        )
    return error


def counterparty_key(inn: str, code: int | None) -> uuid.UUID:
    return uuid.uuid5(COUNTERPARTY_KEYS, f"{inn}:{code or ''}")


class OneCAccounting:
    """Consultations in 1C:ЦЛ through its OData client (shared with `OneCAdapter`)."""

    name = "onec"

    def __init__(self, client: OneCClient, *, document_page_size: int | None = None) -> None:
        self.client = client
        #: Consultation documents are read in larger pages than catalogs: 1C answers a page of
        #: a filtered, ordered document set in one pass, so fewer pages cost less on both sides.
        self.document_page_size = document_page_size

    # --- counterparties ------------------------------------------------------------------------

    async def find_counterparty(self, *, inn: str, code_abonent: str | None) -> Counterparty | None:
        condition = (
            f"{LIVE_CLIENT} and IsFolder eq false and ИНН eq {odata.string(r.checked_inn(inn))}"
        )
        if code_abonent is not None:
            code = odata.integer(r.checked_code(code_abonent))
            condition += f" and КодАбонентаClobus eq {code}"
        # The oldest first: codes are given in order.
        found = await self.client.query(
            c.ENTITY_CONTRACTORS,
            filter=condition,
            select=COUNTERPARTY_SELECT,
            orderby="Code",
            top=1,
        )
        return r.counterparty(found[0]) if found else None

    async def save_counterparty(self, card: CounterpartyCard) -> Counterparty:
        fields = r.card_fields(card)
        if card.ref_key is not None:
            return await self._update_counterparty(card.ref_key, card, fields)
        key = counterparty_key(fields["ИНН"], fields.get("КодАбонентаClobus"))
        body = {
            "Ref_Key": str(key),
            "Parent_Key": str(c.CLOBUS_CLIENTS_FOLDER),
            **fields,
            "КонтактнаяИнформация": r.contact_rows(card),
        }
        try:
            created = await self.client.create(c.ENTITY_CONTRACTORS, body, idempotent=True)
        except KeyExists:
            # Made by an earlier attempt whose answer was lost: bring it to this card.
            return await self._update_counterparty(key, card, fields)
        return r.counterparty(created)

    async def counterparties(self) -> AsyncGenerator[list[CounterpartyRecord], None]:
        async for page in self.client.pages(
            c.ENTITY_CONTRACTORS,
            filter=CLIENTS_OF_FOLDER,
            select=CLIENT_SELECT,
            orderby=CLIENT_ORDER,
        ):
            yield [r.counterparty_record(record, self.client.zone) for record in page]

    async def _update_counterparty(
        self, key: uuid.UUID, card: CounterpartyCard, fields: Record
    ) -> Counterparty:
        current = await self.client.get(c.ENTITY_CONTRACTORS, key)
        contacts = r.contact_rows(card, current.get("КонтактнаяИнформация") or [])
        updated = await self.client.update(
            c.ENTITY_CONTRACTORS, key, {**fields, "КонтактнаяИнформация": contacts}
        )
        return r.counterparty(updated)

    # --- consultation documents ----------------------------------------------------------------

    async def create_consultation(self, document: ConsultationDocument) -> ConsultationRecord:
        body = r.document_body(document)
        try:
            created = await self.client.create(c.ENTITY_PHONE_CALL, body, idempotent=True)
        except KeyExists:
            return r.consultation_record(
                await self.client.get(c.ENTITY_PHONE_CALL, document.ref_key)
            )
        except PeerBusinessError as error:
            # A repeat of a create that did land may meet the base's own checks before the
            # platform's key check: the document is there, so this is not a refusal of it.
            existing = await self.consultation(document.ref_key)
            if existing is not None:
                return existing
            raise limit_refusal(error) from None
        return r.consultation_record(created)

    async def update_consultation(
        self, ref_key: uuid.UUID, changes: ConsultationChanges
    ) -> ConsultationRecord:
        body = r.changes_body(changes)
        if not body:
            return r.consultation_record(await self.client.get(c.ENTITY_PHONE_CALL, ref_key))
        try:
            updated = await self.client.update(c.ENTITY_PHONE_CALL, ref_key, body)
        except PeerBusinessError as error:
            # Moving a consultation onto a full day is refused like a fourth new one.
            raise limit_refusal(error) from None
        return r.consultation_record(updated)

    async def delete_consultation(self, ref_key: uuid.UUID) -> None:
        try:
            await self.client.update(c.ENTITY_PHONE_CALL, ref_key, {"DeletionMark": True})
        except PeerNotFound:
            log.info("consultation already gone from 1C", ref_key=str(ref_key))

    async def consultation(self, ref_key: uuid.UUID) -> ConsultationRecord | None:
        try:
            record = await self.client.get(c.ENTITY_PHONE_CALL, ref_key)
        except PeerNotFound:
            return None
        return r.consultation_record(record)

    # --- registers we write --------------------------------------------------------------------

    async def record_redate(self, redate: RedateRecord) -> None:
        await self._add_record(c.REGISTER_REDATES, r.redate_body(redate))

    async def record_rating(self, rating: RatingRecord) -> None:
        await self._add_record(c.REGISTER_RATINGS, r.rating_body(rating))

    async def _add_record(self, register: str, body: Record) -> None:
        try:
            await self.client.create(register, body, idempotent=True)
        except KeyExists:
            # The same Period and dimensions: this record was written before.
            log.info("register record already in 1C", register=register)

    # --- ETL reads -----------------------------------------------------------------------------

    async def consultations_changed_since(
        self, since: datetime, *, only_our_clients: bool = True
    ) -> AsyncGenerator[list[ConsultationRecord], None]:
        condition = f"ДатаИзменения ge {self.client.datetime_literal(since)}"
        if only_our_clients:
            condition += f" and {OUR_CLIENTS}"
        async for page in self.client.pages(
            c.ENTITY_PHONE_CALL,
            filter=condition,
            orderby=CHANGED_ORDER,
            page_size=self.document_page_size,
        ):
            yield [r.consultation_record(record) for record in page]

    async def consultations_by_keys(self, keys: Collection[uuid.UUID]) -> list[ConsultationRecord]:
        ordered = sorted(set(keys))
        found: list[ConsultationRecord] = []
        for start in range(0, len(ordered), KEYS_PER_REQUEST):
            batch = ordered[start : start + KEYS_PER_REQUEST]
            records = await self.client.query(
                c.ENTITY_PHONE_CALL, filter=odata.any_of("Ref_Key", batch)
            )
            found += [r.consultation_record(record) for record in records]
        return found

    def redates_since(self, since: datetime) -> AsyncGenerator[list[RedateRecord], None]:
        return self._register_since(c.REGISTER_REDATES, since, REDATE_ORDER, r.redate_record)

    def ratings_since(self, since: datetime) -> AsyncGenerator[list[RatingRecord], None]:
        return self._register_since(c.REGISTER_RATINGS, since, RATING_ORDER, r.rating_record)

    def calls_since(self, since: datetime) -> AsyncGenerator[list[CallRecord], None]:
        return self._register_since(c.REGISTER_CALLS, since, CALL_ORDER, r.call_record)

    async def _register_since(
        self,
        register: str,
        since: datetime,
        orderby: str,
        read: Callable[[Record], T | None],
    ) -> AsyncGenerator[list[T], None]:
        condition = f"Period ge {self.client.datetime_literal(since)}"
        async for page in self.client.pages(register, filter=condition, orderby=orderby):
            items = [item for item in map(read, page) if item is not None]
            if len(items) < len(page):
                log.warning(
                    "register rows without their keys skipped",
                    register=register,
                    skipped=len(page) - len(items),
                )
            yield items

    async def queue_closings(self, day: date) -> list[QueueClosingRecord]:
        # `day` is a calendar day of 1C's zone, the zone its Дата is written in.
        start = datetime.combine(day, time(0, 0), tzinfo=self.client.zone)
        end = datetime.combine(day + timedelta(days=1), time(0, 0), tzinfo=self.client.zone)
        condition = (
            f"Дата ge {self.client.datetime_literal(start)}"
            f" and Дата lt {self.client.datetime_literal(end)}"
        )
        records = await self._all(
            c.REGISTER_QUEUE_CLOSINGS, filter=condition, orderby="Дата asc, Менеджер_Key asc"
        )
        closings = (r.queue_closing_record(record, day) for record in records)
        return [closing for closing in closings if closing is not None]

    async def consultant_profiles(self) -> list[ConsultantProfile]:
        settings = await self._all(
            c.REGISTER_CONSULTANTS, orderby="Менеджер_Key asc", table="SliceLast()"
        )
        memberships = await self._all(
            c.REGISTER_USER_DEPARTMENTS, orderby="Менеджер_Key asc, Отдел_Key asc"
        )
        department_names = {
            record["Ref_Key"]: str(record.get("Description") or "")
            for record in await self._all(
                c.ENTITY_DEPARTMENTS, select="Ref_Key,Description,DeletionMark"
            )
            if not record.get("DeletionMark")
        }
        languages = await self._all(
            c.REGISTER_USER_LANGUAGES, orderby="Менеджер_Key asc, Язык_Key asc"
        )
        skills = await self._all(
            c.REGISTER_MANAGER_CATEGORIES, orderby="Менеджер_Key asc, КатегорияВопроса_Key asc"
        )
        by_manager = {
            manager: record
            for record in settings
            if (manager := parse_guid(record.get("Менеджер_Key"))) is not None
        }
        departments = _grouped(
            memberships, lambda record: department_names.get(record.get("Отдел_Key") or "")
        )
        spoken = _grouped(languages, _language)
        categories = _grouped(skills, lambda record: parse_guid(record.get("КатегорияВопроса_Key")))
        managers = sorted({*by_manager, *departments, *spoken, *categories})
        return [
            _profile(manager, by_manager.get(manager), departments, spoken, categories)
            for manager in managers
        ]

    async def _all(
        self,
        entity: str,
        *,
        filter: str | None = None,
        select: str | None = None,
        orderby: str = "Ref_Key",
        table: str | None = None,
    ) -> list[Record]:
        found: list[Record] = []
        async for page in self.client.pages(
            entity, filter=filter, select=select, orderby=orderby, table=table
        ):
            found += page
        return found


def _language(record: Record) -> str | None:
    key = parse_guid(record.get("Язык_Key"))
    return c.LANGUAGE_KEYS.get(key) if key else None


def _grouped(records: list[Record], value: Callable[[Record], T | None]) -> dict[uuid.UUID, set[T]]:
    """Values of a manager's register rows, by manager; rows without either are left out."""
    grouped: dict[uuid.UUID, set[T]] = {}
    for record in records:
        manager, item = parse_guid(record.get("Менеджер_Key")), value(record)
        if manager is not None and item:
            grouped.setdefault(manager, set()).add(item)
    return grouped


def _profile(
    manager: uuid.UUID,
    settings: Record | None,
    departments: dict[uuid.UUID, set[str]],
    languages: dict[uuid.UUID, set[str]],
    categories: dict[uuid.UUID, set[uuid.UUID]],
) -> ConsultantProfile:
    """One consultant: the latest settings record (limit, hours) and the register facts."""
    names = sorted(departments.get(manager, ()))
    settings = settings or {}
    return ConsultantProfile(
        manager_key=manager,
        limit=r.whole_number(settings.get("ЛимитКонсультаций")),
        start_hour=r.time_of_day(settings.get("ВремяРаботыНачало")),
        end_hour=r.time_of_day(settings.get("ВремяРаботыКонец")),
        department=names[0] if names else None,
        languages=frozenset(languages.get(manager, ())),
        category_keys=frozenset(categories.get(manager, ())),
        departments=frozenset(names),
    )
