"""1C's consultation objects and our types, both ways: documents, counterparties, registers.

Everything here is pure mapping (no requests). Values we send are checked first: an INN or a
subscriber code that is not plain digits never reaches a `$filter` or a body (`InvalidValue`).
Records come in as `OneCClient` reads them: moments already aware UTC, the empty date None.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from switchboard.core.http.errors import PeerRejected
from switchboard.integrations.onec import constants as c
from switchboard.integrations.onec.client import TARGET, Record
from switchboard.integrations.onec.odata import EMPTY_GUID, parse_guid
from switchboard.integrations.ports import (
    CallRecord,
    ConsultationChanges,
    ConsultationDocument,
    ConsultationRecord,
    Counterparty,
    CounterpartyCard,
    CounterpartyRecord,
    QuestionLine,
    QueueClosingRecord,
    RatingRecord,
    RedateRecord,
)

_DIGITS = re.compile(r"[0-9]+")
#: INN of a company (9 digits) or PINFL of a person (14 digits), Uzbekistan.
LEGAL_FORMS = {9: c.LEGAL_ENTITY, 14: c.NATURAL_PERSON}
#: The longest subscriber code that fits 1C's Int64 whatever its digits.
CODE_MAX_DIGITS = 18
#: `ВопросыИОтветы` rows follow `КонсультацииИТС` rows in one numbering (as the original did).
ANSWERS_LINE_OFFSET = 1000

CHANNELS = {"TELEGRAM": "ПоТелеграм", "SITE": "ПоСайту", "CALL_CENTER": "ПоТелефону"}
LANGUAGE_BY_CODE = {code: key for key, code in c.LANGUAGE_KEYS.items()}
STATUSES = frozenset({"new", "open", "pending", "resolved", "closed", "cancelled"})
#: Our status -> `ВидОбращения` written to 1C (cancelled is written as ЗакрытоБезКонсультации).
KIND_FOR_STATUS = {
    "new": c.KIND_QUEUED,
    "open": c.KIND_QUEUED,
    "pending": c.KIND_QUEUED,
    "resolved": c.KIND_CONSULTED,
    "closed": c.KIND_CONSULTED,
}


class InvalidValue(PeerRejected):
    """A value we were asked to send to 1C is not one 1C may get (an INN with letters, an
    unknown status). Nothing was sent; repeating will not help."""

    def __init__(self, message: str) -> None:
        super().__init__(TARGET, message)


# --- reading values -------------------------------------------------------------------------


def text(record: Mapping[str, Any], name: str) -> str | None:
    value = record.get(name)
    return str(value) if value not in (None, "") else None


def whole_number(value: object) -> int | None:
    """An Edm.Int16/32/64 as 1C may send it: a JSON number or a digit string (OData v3 writes
    Int64 as a string; 1C's JSON writes numbers). Anything else is None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        stripped = value.strip()
        sign = stripped[:1] if stripped[:1] in "+-" else ""
        if _DIGITS.fullmatch(stripped[len(sign) :]):
            return int(stripped)
    return None


def code_text(value: object) -> str | None:
    """`КодАбонентаClobus` as our code: its digits without leading zeros; 0 is no code."""
    number = whole_number(value)
    return str(number) if number is not None and number > 0 else None


def time_of_day(value: object) -> time | None:
    """A time stored on 1C's empty date ("0001-01-01T09:00:00"); midnight is 1C's empty value."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = time.fromisoformat(value.rpartition("T")[2])
    except ValueError:
        return None
    return None if parsed == time(0, 0) else parsed


def key_text(key: uuid.UUID | None) -> str:
    return EMPTY_GUID if key is None else str(key)


# --- checking what we send ---------------------------------------------------------------------


def checked_inn(inn: str) -> str:
    value = inn.strip()
    if not _DIGITS.fullmatch(value) or len(value) > max(LEGAL_FORMS):
        raise InvalidValue(f"an INN is ASCII digits only (at most 14), not {inn!r}")
    return value


def checked_code(code: str) -> int:
    value = code.strip()
    if not _DIGITS.fullmatch(value) or len(value) > CODE_MAX_DIGITS or int(value) == 0:
        raise InvalidValue(f"a subscriber code is a positive number, not {code!r}")
    return int(value)


def legal_form(inn: str) -> str:
    form = LEGAL_FORMS.get(len(inn))
    if form is None:
        raise InvalidValue(f"an INN is 9 digits (company) or 14 (PINFL), not {len(inn)}")
    return form


def checked_manager(key: uuid.UUID | None) -> uuid.UUID:
    """1C keys registers by the manager: it must be a real user, not the empty reference."""
    if key is None or key.int == 0:
        raise InvalidValue("a register record needs a manager's key")
    return key


# --- counterparties ----------------------------------------------------------------------------


def counterparty(record: Record) -> Counterparty:
    return Counterparty(
        ref_key=uuid.UUID(record["Ref_Key"]),
        inn=text(record, "ИНН"),
        code_abonent=code_text(record.get("КодАбонентаClobus")),
        parent_key=parse_guid(record.get("Parent_Key")),
        deletion_mark=bool(record.get("DeletionMark")),
    )


def inn_text(value: object) -> str | None:
    """An `ИНН` as we keep it: its digits (spaces dropped), or None when it is empty or not a
    number at all (an INN we could never send back)."""
    if not isinstance(value, str):
        return None
    digits = re.sub(r"\s", "", value)
    return digits if _DIGITS.fullmatch(digits) and len(digits) <= max(LEGAL_FORMS) else None


def _contact(record: Record, kind: str, kind_key: uuid.UUID, own_field: str) -> str | None:
    """The first `КонтактнаяИнформация` row of a kind (by `Тип`, or by `Вид_Key` where `Тип` is
    missing) that holds a value: its own field (`НомерТелефона`, `АдресЭП`), else
    `Представление` — 1C's form fills both, other writers often the presentation only."""
    rows = sorted(
        (row for row in record.get("КонтактнаяИнформация") or [] if isinstance(row, Mapping)),
        key=lambda row: whole_number(row.get("LineNumber")) or 0,
    )
    for row in rows:
        row_kind = row.get("Тип")
        if row_kind != kind and (row_kind or parse_guid(row.get("Вид_Key")) != kind_key):
            continue
        for name in (own_field, "Представление"):
            value = (text(row, name) or "").strip()
            if value:
                return value
    return None


def _calendar_day(value: object, zone: ZoneInfo) -> date | None:
    """A day 1C stores at midnight, read back (as aware UTC) onto the base's own calendar."""
    return value.astimezone(zone).date() if isinstance(value, datetime) else None


def _stripped(record: Record, name: str) -> str | None:
    return (text(record, name) or "").strip() or None


def counterparty_record(record: Record, zone: ZoneInfo) -> CounterpartyRecord:
    """A `Catalog_Контрагенты` element for the clients ETL; `zone` is the base's (its
    subscription days are midnights of it)."""
    return CounterpartyRecord(
        ref_key=uuid.UUID(record["Ref_Key"]),
        inn=inn_text(record.get("ИНН")),
        code_abonent=code_text(record.get("КодАбонентаClobus")),
        title=(text(record, "Description") or "").strip(),
        parent_key=parse_guid(record.get("Parent_Key")),
        deletion_mark=bool(record.get("DeletionMark")),
        phone_number=_contact(record, c.CONTACT_PHONE, c.CONTACT_KIND_PHONE, "НомерТелефона"),
        email=_contact(record, c.CONTACT_EMAIL, c.CONTACT_KIND_EMAIL, "АдресЭП"),
        country=_stripped(record, "Страна"),
        region=_stripped(record, "Регион"),
        city=_stripped(record, "Город"),
        subscription=_stripped(record, "Подписка"),
        subscription_start=_calendar_day(record.get("ДатаНачалаПодписки"), zone),
        subscription_end=_calendar_day(record.get("ДатаОкончанияПодписки"), zone),
        tariff_key=parse_guid(record.get("Тариф_Key")),
        tariff_period_key=parse_guid(record.get("ТарифныйПериод_Key")),
    )


def card_fields(card: CounterpartyCard) -> Record:
    """The card's attributes (not its contacts), checked."""
    inn = checked_inn(card.inn)
    fields: Record = {
        "Description": card.title,
        "ИНН": inn,
        "ЮридическоеФизическоеЛицо": legal_form(inn),
    }
    if card.code_abonent is not None:
        fields["КодАбонентаClobus"] = checked_code(card.code_abonent)
    for name, value in (("Страна", card.country), ("Регион", card.region), ("Город", card.city)):
        if value is not None:
            fields[name] = value
    return fields


def contact_rows(card: CounterpartyCard, existing: list[Record] | None = None) -> list[Record]:
    """`КонтактнаяИнформация` with the card's phone and email; a section is written whole, so
    rows of other kinds (addresses…) and of a kind the card leaves empty are kept."""
    ours: dict[str, Record] = {}
    if card.phone_number:
        ours[c.CONTACT_PHONE] = {
            "Тип": c.CONTACT_PHONE,
            "Вид_Key": str(c.CONTACT_KIND_PHONE),
            "Представление": card.phone_number,
            "НомерТелефона": card.phone_number,
        }
    if card.email:
        ours[c.CONTACT_EMAIL] = {
            "Тип": c.CONTACT_EMAIL,
            "Вид_Key": str(c.CONTACT_KIND_EMAIL),
            "Представление": card.email,
            "АдресЭП": card.email,
        }
    kept = [
        {name: value for name, value in row.items() if name not in ("Ref_Key", "LineNumber")}
        for row in existing or []
        if row.get("Тип") not in ours
    ]
    rows = [*kept, *ours.values()]
    return [{"LineNumber": str(number), **row} for number, row in enumerate(rows, start=1)]


# --- consultation documents --------------------------------------------------------------------


def consultation_status(
    *,
    deletion_mark: bool,
    closed_without_consultation: bool,
    ended_at: datetime | None,
    kind: str | None,
) -> str:
    """Our status of a 1C consultation: the one reading used by every path that reads 1C."""
    if deletion_mark or closed_without_consultation:
        return "cancelled"
    if ended_at is not None:
        return "closed"
    if kind == c.KIND_CONSULTED:
        return "open"
    if kind == c.KIND_QUEUED:
        return "pending"
    return "new"


def importance(value: int | None) -> str:
    if value is None or value == 2:
        return "Обычная"
    return "Низкая" if value < 2 else "Высокая"


def channel(value: str) -> str:
    found = CHANNELS.get(value.upper())
    if found is None:
        raise InvalidValue(f"unknown channel {value!r} (one of {', '.join(CHANNELS)})")
    return found


def language_key(language: str | None) -> str:
    return key_text(LANGUAGE_BY_CODE.get(language.lower())) if language else EMPTY_GUID


def document_body(document: ConsultationDocument) -> Record:
    """The POST body of a new `Document_ТелефонныйЗвонок`, with the key we chose. Moments stay
    aware datetimes: the client writes them in 1C's zone."""
    manager = key_text(document.manager_key)
    return {
        "Ref_Key": str(document.ref_key),
        # As the original: the document is dated by the consultation it books.
        "Date": document.scheduled_at,
        "Posted": False,
        "Описание": document.description,
        "ВидОбращения": c.KIND_QUEUED,
        "Входящий": True,
        "ДатаСоздания": document.created_at,
        "Абонент_Key": str(document.subscriber_key),
        "Автор_Key": key_text(document.author_key),
        "Менеджер_Key": manager,
        "Ответственный_Key": manager,
        "Тема": document.subject,
        "ДатаКонсультации": document.scheduled_at,
        "Язык_Key": language_key(document.language),
        "КатегорияВопроса_Key": key_text(document.category_key),
        "ВопросНаКонсультацию_Key": key_text(document.question_key),
        "СпособСвязи": channel(document.channel),
        "АбонентКакСвязаться": document.contact_how,
        "АбонентПредставление": document.subscriber_title,
        "Важность": importance(document.importance),
        "Комментарий": document.comment,
    }


def changes_body(changes: ConsultationChanges) -> Record:
    """A PATCH body with only the fields `changes` sets."""
    body: Record = {}
    if changes.manager_key is not None:
        body["Менеджер_Key"] = body["Ответственный_Key"] = str(changes.manager_key)
    if changes.scheduled_at is not None:
        body["ДатаКонсультации"] = changes.scheduled_at
    if changes.ended_at is not None:
        body["Конец"] = changes.ended_at
    if changes.description is not None:
        body["Описание"] = changes.description
    if changes.status is not None:
        if changes.status not in STATUSES:
            raise InvalidValue(f"unknown status {changes.status!r}")
        if changes.status == "cancelled":
            body["ЗакрытоБезКонсультации"] = True
        else:
            body["ВидОбращения"] = KIND_FOR_STATUS[changes.status]
    return body


def _question_lines(record: Record) -> tuple[QuestionLine, ...]:
    lines = [
        QuestionLine(
            line_number=whole_number(row.get("LineNumber")) or 0,
            question=text(row, "Вопрос"),
            answer=text(row, "Ответ"),
            po_type_key=parse_guid(row.get("ВидПО_Key")),
            po_section_key=parse_guid(row.get("РазделПО_Key")),
            interference_key=parse_guid(row.get("НаличиеПомех_Key")),
            manager_help_key=parse_guid(row.get("ПомощьМенеджера_Key")),
            repeat_request=bool(row.get("ПовторноеОбращение")),
        )
        for row in record.get("КонсультацииИТС") or []
    ]
    lines += [
        QuestionLine(
            line_number=ANSWERS_LINE_OFFSET + (whole_number(row.get("LineNumber")) or 0),
            question=text(row, "Вопрос"),
            answer=text(row, "Ответ"),
        )
        for row in record.get("ВопросыИОтветы") or []
    ]
    return tuple(lines)


def consultation_record(record: Record) -> ConsultationRecord:
    deletion_mark = bool(record.get("DeletionMark"))
    denied = bool(record.get("ЗакрытоБезКонсультации"))
    ended_at = record.get("Конец")
    language = parse_guid(record.get("Язык_Key"))
    return ConsultationRecord(
        ref_key=uuid.UUID(record["Ref_Key"]),
        number=text(record, "Number"),
        subscriber_key=parse_guid(record.get("Абонент_Key")),
        manager_key=parse_guid(record.get("Менеджер_Key")),
        author_key=parse_guid(record.get("Автор_Key")),
        created_at=record.get("ДатаСоздания"),
        changed_at=record.get("ДатаИзменения"),
        scheduled_at=record.get("ДатаКонсультации"),
        ended_at=ended_at,
        status=consultation_status(
            deletion_mark=deletion_mark,
            closed_without_consultation=denied,
            ended_at=ended_at,
            kind=text(record, "ВидОбращения"),
        ),
        closed_without_consultation=denied,
        deletion_mark=deletion_mark,
        subject=text(record, "Тема"),
        # Documents typed in 1C by hand may keep the question in Вопрос rather than Описание.
        description=text(record, "Описание") or text(record, "Вопрос"),
        language=c.LANGUAGE_KEYS.get(language) if language else None,
        category_key=parse_guid(record.get("КатегорияВопроса_Key")),
        question_key=parse_guid(record.get("ВопросНаКонсультацию_Key")),
        questions=_question_lines(record),
    )


# --- registers ---------------------------------------------------------------------------------


def redate_body(redate: RedateRecord) -> Record:
    return {
        "Period": redate.period,
        "ДокументОбращения_Key": str(redate.document_key),
        "Абонент_Key": key_text(redate.subscriber_key),
        "Менеджер_Key": str(checked_manager(redate.manager_key)),
        "СтараяДата": redate.old_date,
        "НоваяДата": redate.new_date,
        "Комментарий": redate.comment or "",
    }


def rating_body(rating: RatingRecord) -> Record:
    return {
        "Period": rating.period,
        "Обращение_Key": str(rating.document_key),
        "Контрагент_Key": key_text(rating.counterparty_key),
        "Менеджер_Key": str(checked_manager(rating.manager_key)),
        "НомерВопроса": rating.question_number,
        "Оценка": rating.rating,
        "Вопрос": rating.question or "",
        "Комментарий": rating.comment or "",
        "ОтправленаБаза": rating.sent_to_base,
        "ДатаОценки": rating.rated_at or rating.period,
    }


def redate_record(record: Record) -> RedateRecord | None:
    document_key = parse_guid(record.get("ДокументОбращения_Key"))
    if document_key is None or record.get("Period") is None:
        return None
    return RedateRecord(
        period=record["Period"],
        document_key=document_key,
        subscriber_key=parse_guid(record.get("Абонент_Key")),
        manager_key=parse_guid(record.get("Менеджер_Key")),
        old_date=record.get("СтараяДата"),
        new_date=record.get("НоваяДата"),
        comment=text(record, "Комментарий"),
    )


def rating_record(record: Record) -> RatingRecord | None:
    document_key = parse_guid(record.get("Обращение_Key"))
    manager_key = parse_guid(record.get("Менеджер_Key"))
    rating = whole_number(record.get("Оценка"))
    if document_key is None or manager_key is None or rating is None:
        return None
    if record.get("Period") is None:
        return None
    return RatingRecord(
        period=record["Period"],
        document_key=document_key,
        counterparty_key=parse_guid(record.get("Контрагент_Key")),
        manager_key=manager_key,
        question_number=whole_number(record.get("НомерВопроса")) or 0,
        rating=rating,
        question=text(record, "Вопрос"),
        comment=text(record, "Комментарий"),
        sent_to_base=bool(record.get("ОтправленаБаза")),
        rated_at=record.get("ДатаОценки"),
    )


def call_record(record: Record) -> CallRecord | None:
    document_key = parse_guid(record.get("ДокументОбращения_Key"))
    manager_key = parse_guid(record.get("Менеджер_Key"))
    if document_key is None or manager_key is None or record.get("Period") is None:
        return None
    return CallRecord(
        period=record["Period"],
        document_key=document_key,
        subscriber_key=parse_guid(record.get("Абонент_Key")),
        manager_key=manager_key,
    )


def queue_closing_record(record: Record, day: date) -> QueueClosingRecord | None:
    manager_key = parse_guid(record.get("Менеджер_Key"))
    if manager_key is None:
        return None
    return QueueClosingRecord(day=day, manager_key=manager_key, closed=bool(record.get("Закрыт")))
