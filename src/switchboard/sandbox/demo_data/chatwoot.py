"""The Chatwoot side of the demo: custom attribute definitions and the CLOBUS clients as contacts.

The real deployment defines contact attributes `code_abonent` (the subscriber code) and
`inn_pinfl` (ИНН of a company, ПИНФЛ of a person), and its client sync fills them, with
`client_type`, on every contact it creates; the contacts here are what that sync would have made
of the demo's CLOBUS counterparties (E.164 phone, email, company name, city and country).
Everything is derived from the 1C records, so the same seed gives the same contacts.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from switchboard.sandbox.demo_data.builder import CONTRACTORS, DemoData
from switchboard.sandbox.demo_data.keys import CLOBUS_FOLDER, CONTACT_KIND_EMAIL, CONTACT_KIND_PHONE


@dataclass(frozen=True)
class AttributeDefinition:
    key: str
    display_name: str
    model: str = "contact_attribute"
    display_type: str = "text"
    description: str | None = None


@dataclass(frozen=True)
class DemoContact:
    name: str
    phone_number: str | None
    email: str | None
    custom_attributes: dict[str, Any] = field(default_factory=dict)
    additional_attributes: dict[str, Any] = field(default_factory=dict)


ATTRIBUTE_DEFINITIONS: tuple[AttributeDefinition, ...] = (
    AttributeDefinition("code_abonent", "Код абонента", description="Код абонента Clobus"),
    AttributeDefinition("inn_pinfl", "ИНН/ПИНФЛ", description="ИНН организации или ПИНФЛ"),
    AttributeDefinition("client_type", "Тип клиента", description="owner или user"),
)

COUNTRY_CODES = {"Узбекистан": "UZ", "Казахстан": "KZ", "Россия": "RU"}


def chatwoot_contacts(data: DemoData) -> list[DemoContact]:
    """One contact per CLOBUS counterparty that is not marked deleted, in 1C's order.

    Chatwoot keeps emails and phone numbers unique in an account, so a value an earlier
    contact already has is left out, as the client sync's retry without it would do.
    """
    seen: set[str] = set()
    contacts = []
    for record in data.onec.get(CONTRACTORS, []):
        if record["Parent_Key"] != CLOBUS_FOLDER or record["DeletionMark"]:
            continue
        contact = _contact(record)
        phone = _first_time(contact.phone_number, seen)
        email = _first_time(contact.email.lower() if contact.email else None, seen)
        contacts.append(replace(contact, phone_number=phone, email=email))
    return contacts


def _first_time(value: str | None, seen: set[str]) -> str | None:
    if value is None or value in seen:
        return None
    seen.add(value)
    return value


def _contact(record: dict[str, Any]) -> DemoContact:
    code = str(record["КодАбонентаClobus"])
    inn = str(record["ИНН"])
    name = _display_name(record["Description"], code, inn)
    company = record["ЮридическоеФизическоеЛицо"] == "ЮридическоеЛицо"
    additional: dict[str, Any] = {
        "city": f"{record['Регион']}, {record['Город']}",
        "country": record["Страна"],
        "country_code": COUNTRY_CODES.get(record["Страна"], ""),
    }
    if company:
        additional["company_name"] = name
    return DemoContact(
        name=name,
        phone_number=_detail(record, CONTACT_KIND_PHONE, "НомерТелефона", prefix="+"),
        email=_detail(record, CONTACT_KIND_EMAIL, "АдресЭП"),
        custom_attributes={"code_abonent": code, "inn_pinfl": inn, "client_type": "owner"},
        additional_attributes=additional,
    )


def _display_name(mask: str, code: str, inn: str) -> str:
    """The name inside 1C's mask `Clobus <name> <code> (<ИНН>)`."""
    name = mask.removeprefix("Clobus ")
    return name.removesuffix(f" {code} ({inn})").strip() or mask


def _detail(record: dict[str, Any], kind: str, column: str, prefix: str = "") -> str | None:
    for row in record.get("КонтактнаяИнформация", []):
        if row["Вид_Key"] == kind and row[column]:
            return f"{prefix}{row[column]}"
    return None
