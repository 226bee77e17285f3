"""The 1C adapter's read of our clients' counterparties (`AccountingSystem.counterparties`, the
clients ETL's source) against the 1C emulator: the folder's elements only, paged in code order,
1C's values (codes as numbers or strings, contacts, subscription days) in our types."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import date
from typing import Any
from urllib.parse import parse_qs

import pytest

from switchboard.integrations.onec import constants as c
from switchboard.integrations.onec.consultations import OneCAccounting
from switchboard.integrations.ports import CounterpartyRecord
from switchboard.sandbox.demo_data.builder import build_demo_data
from switchboard.sandbox.faults import Fault
from switchboard.sandbox.pytest_plugin import RunningOneC

from .onec_consultations_support import (
    CONTRACTORS,
    FOLDER,
    OTHER_FOLDER,
    odata_value,
    open_accounting,
)

EMPTY_REF = "00000000-0000-0000-0000-000000000000"
EMPTY_DATE = "0001-01-01T00:00:00"
TARIFF = "c0ffee00-0000-4000-8000-000000000001"
PERIOD = "c0ffee00-0000-4000-8000-000000000012"


@pytest.fixture
async def accounting(onec: RunningOneC, settings_factory: Any) -> AsyncIterator[OneCAccounting]:
    async for adapter in open_accounting(onec, settings_factory, ODATA_PAGE_SIZE=2):
        yield adapter


async def read_all(accounting: OneCAccounting) -> list[list[CounterpartyRecord]]:
    return [page async for page in accounting.counterparties()]


def contractor(code: str, **fields: Any) -> dict[str, Any]:
    """A `Catalog_Контрагенты` element shaped as the demo base's (`CounterpartyMaker.make`)."""
    return {
        "Ref_Key": str(uuid.uuid5(uuid.NAMESPACE_URL, f"contractor/{code}")),
        "Code": code,
        "Description": f"Clobus ООО Ромашка {code} (301234567)",
        "DeletionMark": False,
        "Parent_Key": FOLDER,
        "IsFolder": False,
        "ИНН": "301234567",
        "КодАбонентаClobus": 100234,
        "ЮридическоеФизическоеЛицо": "ЮридическоеЛицо",
        "Страна": "Узбекистан",
        "Регион": "Ташкентская область",
        "Город": "Чирчик",
        "Подписка": "CLB-2025-00042",
        "ДатаНачалаПодписки": "2025-11-01T00:00:00",
        "ДатаОкончанияПодписки": "2026-11-01T00:00:00",
        "Тариф_Key": TARIFF,
        "ТарифныйПериод_Key": PERIOD,
        "КонтактнаяИнформация": [
            {
                "LineNumber": "1",
                "Тип": "Телефон",
                "Вид_Key": str(c.CONTACT_KIND_PHONE),
                "Представление": "+998 90 123 45 67",
                "АдресЭП": "",
                "НомерТелефона": "998901234567",
            },
            {
                "LineNumber": "2",
                "Тип": "АдресЭлектроннойПочты",
                "Вид_Key": str(c.CONTACT_KIND_EMAIL),
                "Представление": "buh@romashka.uz",
                "АдресЭП": "buh@romashka.uz",
                "НомерТелефона": "",
            },
        ],
        **fields,
    }


async def test_the_folders_counterparties_in_code_order_a_page_at_a_time(
    onec: RunningOneC, accounting: OneCAccounting
) -> None:
    onec.emulator.store.load(
        {
            CONTRACTORS: [
                contractor("000000104"),
                contractor("000000101"),
                contractor("000000103", DeletionMark=True),
                contractor("000000102"),
                contractor("000000105"),
                contractor("000000106", Parent_Key=OTHER_FOLDER),
                contractor("000000107", IsFolder=True, Description="Подпапка"),
            ]
        }
    )
    pages = await read_all(accounting)

    assert [len(page) for page in pages] == [2, 2, 1]
    titles = [record.title for page in pages for record in page]
    assert [title.split()[3] for title in titles] == [
        "000000101",
        "000000102",
        "000000103",
        "000000104",
        "000000105",
    ]
    # Deletion-marked ones come too, flagged; other folders and sub-folders do not.
    assert [r.deletion_mark for page in pages for r in page] == [False, False, True, False, False]
    queries = [
        parse_qs(entry.query)
        for entry in onec.emulator.journal.matching("GET", f"*/{CONTRACTORS}*")
    ]
    assert {query["$filter"][0] for query in queries} == {
        f"Parent_Key eq guid'{FOLDER}' and IsFolder eq false"
    }
    assert {query["$orderby"][0] for query in queries} == {"Code asc, Ref_Key asc"}
    assert [query["$skip"][0] for query in queries] == ["0", "2", "4"]
    assert "КонтактнаяИнформация" in queries[0]["$select"][0].split(",")


async def test_a_counterparty_in_our_types(onec: RunningOneC, accounting: OneCAccounting) -> None:
    record = contractor("000000101")
    onec.emulator.store.load({CONTRACTORS: [record]})
    ((found,),) = await read_all(accounting)

    assert found == CounterpartyRecord(
        ref_key=uuid.UUID(record["Ref_Key"]),
        inn="301234567",
        code_abonent="100234",
        title="Clobus ООО Ромашка 000000101 (301234567)",
        parent_key=c.CLOBUS_CLIENTS_FOLDER,
        deletion_mark=False,
        phone_number="998901234567",
        email="buh@romashka.uz",
        country="Узбекистан",
        region="Ташкентская область",
        city="Чирчик",
        subscription="CLB-2025-00042",
        # Midnights of Tashkent: the same calendar days, not the UTC evening before.
        subscription_start=date(2025, 11, 1),
        subscription_end=date(2026, 11, 1),
        tariff_key=uuid.UUID(TARIFF),
        tariff_period_key=uuid.UUID(PERIOD),
    )


async def test_empty_values_of_1c_are_none(onec: RunningOneC, accounting: OneCAccounting) -> None:
    onec.emulator.store.load(
        {
            CONTRACTORS: [
                contractor(
                    "000000101",
                    ИНН="",
                    КодАбонентаClobus=0,
                    Страна="",
                    Подписка="",
                    ДатаНачалаПодписки=EMPTY_DATE,
                    ДатаОкончанияПодписки=EMPTY_DATE,
                    Тариф_Key=EMPTY_REF,
                    ТарифныйПериод_Key=EMPTY_REF,
                    КонтактнаяИнформация=[],
                )
            ]
        }
    )
    ((found,),) = await read_all(accounting)
    assert (found.inn, found.code_abonent, found.country, found.subscription) == (None,) * 4
    assert (found.subscription_start, found.subscription_end) == (None, None)
    assert (found.tariff_key, found.tariff_period_key) == (None, None)
    assert (found.phone_number, found.email) == (None, None)


async def test_codes_as_strings_inns_with_spaces_and_contacts_by_presentation(
    onec: RunningOneC, accounting: OneCAccounting
) -> None:
    """What other 1C versions and hand-typed records send: Int64 as a JSON string (OData v3),
    "0" for no code, an INN typed with spaces, contact rows with only `Представление`, and rows
    without `Тип` known by their `Вид_Key`."""
    only_presentation = [
        {"LineNumber": "1", "Тип": "Телефон", "Представление": "+998 (71) 200-30-40"},
        {"LineNumber": "2", "Вид_Key": str(c.CONTACT_KIND_EMAIL), "Представление": "a@b.uz"},
    ]
    onec.emulator.faults.add(
        Fault(
            method="GET",
            path=f"*/{CONTRACTORS}*",
            status=200,
            times=1,
            body=odata_value(
                contractor("000000101", КодАбонентаClobus="000123", ИНН=" 301 234 567 "),
                contractor(
                    "000000102",
                    КодАбонентаClobus="0",
                    ИНН="нет",
                    КонтактнаяИнформация=only_presentation,
                ),
            ),
        )
    )
    ((first, second),) = await read_all(accounting)
    assert (first.code_abonent, first.inn) == ("123", "301234567")
    assert (second.code_abonent, second.inn) == (None, None)
    assert (second.phone_number, second.email) == ("+998 (71) 200-30-40", "a@b.uz")


async def test_the_demo_bases_clients_are_the_folders_elements(
    onec: RunningOneC, accounting: OneCAccounting
) -> None:
    demo = build_demo_data(consultations=0)
    onec.emulator.store.load({CONTRACTORS: demo.onec[CONTRACTORS]})
    records = [record for page in await read_all(accounting) for record in page]

    ours = [
        r for r in demo.onec[CONTRACTORS] if r["Parent_Key"] == FOLDER and not r.get("IsFolder")
    ]
    assert sorted(str(r.ref_key) for r in records) == sorted(r["Ref_Key"] for r in ours)
    codes = [r.code_abonent for r in records]
    assert all(code and code.isdigit() for code in codes)
    assert len(set(codes)) == len(codes)
    assert all(r.inn and len(r.inn) in (9, 14) for r in records)
    assert all(r.phone_number for r in records)
