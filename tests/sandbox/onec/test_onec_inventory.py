"""The names the original consultation backend reads and writes, checked against what the
emulator publishes.

The table below is the original client's own inventory (its ETL scripts and its OData client,
see design/reference/original-consultations-cons_backend.md §1.7 and §2.1): every entity it
touches, every property it reads or sends, and how each information register is keyed. It is
checked through `$metadata` and real requests, as an independent client would see the emulator.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from xml.etree import ElementTree

import httpx
import pytest

from .support import PASSWORD, USER, OneC, parse_xml, values

EDM = "{http://schemas.microsoft.com/ado/2009/11/edm}"
CATALOG = ("Ref_Key", "Code", "Description", "DeletionMark")
CONTACT_ROW = ("LineNumber", "Тип", "Вид_Key", "Представление", "АдресЭП", "НомерТелефона")


@dataclass(frozen=True)
class Expected:
    properties: tuple[str, ...]
    # Information registers: the record key in order (Period first when periodic).
    key: tuple[str, ...] = ()
    # Tabular section -> the columns the original reads or writes.
    sections: tuple[tuple[str, tuple[str, ...]], ...] = ()


ORIGINAL: dict[str, Expected] = {
    "Catalog_ВидыПОДляКонсультаций": Expected((*CATALOG, "Описание")),
    "Catalog_РазделыПОДляКонсультаций": Expected((*CATALOG, "Owner_Key", "Описание")),
    "Catalog_КатегорииВопросов": Expected((*CATALOG, "Язык_Key")),
    "Catalog_ВопросыНаКонсультацию": Expected(
        (*CATALOG, "Категория_Key", "Язык_Key", "ПолезнаяИнформация", "Вопрос")
    ),
    "Catalog_БазаЗнанийДляКонсультаций": Expected(
        (*CATALOG, "ВидПО_Key", "РазделПО_Key", "Автор_Key", "Вопрос", "Ответ")
    ),
    "Catalog_ПомехиДляКонсультаций": Expected(CATALOG),
    "Catalog_Отделы": Expected(CATALOG),
    "Catalog_Пользователи": Expected(
        (*CATALOG, "Недействителен", "Служебный"),
        sections=(("КонтактнаяИнформация", CONTACT_ROW),),
    ),
    "Catalog_Контрагенты": Expected(
        (
            *CATALOG,
            "Parent_Key",
            "ИНН",
            "КодАбонентаClobus",
            "ЮридическоеФизическоеЛицо",
            "Страна",
            "Регион",
            "Город",
            "Подписка",
            "ДатаНачалаПодписки",
            "ДатаОкончанияПодписки",
            "Тариф_Key",
            "ТарифныйПериод_Key",
            "Организация_Key",
        ),
        sections=(("КонтактнаяИнформация", CONTACT_ROW),),
    ),
    "Document_ТелефонныйЗвонок": Expected(
        (
            "Ref_Key",
            "Number",
            "Date",
            "Posted",
            "DeletionMark",
            "Описание",
            "ВидОбращения",
            "Входящий",
            "ДатаСоздания",
            "ДатаИзменения",
            "ДатаКонсультации",
            "Конец",
            "ЗакрытоБезКонсультации",
            "Абонент_Key",
            "Автор_Key",
            "Менеджер_Key",
            "Ответственный_Key",
            "Тема",
            "Вопрос",
            "Язык_Key",
            "КатегорияВопроса_Key",
            "ВопросНаКонсультацию_Key",
            "СпособСвязи",
            "АбонентКакСвязаться",
            "АбонентПредставление",
            "Важность",
            "Комментарий",
        ),
        sections=(
            (
                "КонсультацииИТС",
                (
                    "LineNumber",
                    "ВидПО_Key",
                    "РазделПО_Key",
                    "НаличиеПомех_Key",
                    "ПомощьМенеджера_Key",
                    "ПовторноеОбращение",
                    "Вопрос",
                    "Ответ",
                ),
            ),
            ("ВопросыИОтветы", ("LineNumber", "Вопрос", "Ответ")),
        ),
    ),
    "InformationRegister_РегистрацияПереносаКонсультации": Expected(
        ("СтараяДата", "НоваяДата", "Комментарий"),
        key=("Period", "ДокументОбращения_Key", "Абонент_Key", "Менеджер_Key"),
    ),
    "InformationRegister_ОценкаКонсультацийПоЗаявкам": Expected(
        ("Оценка", "Вопрос", "Комментарий", "ОтправленаБаза", "ДатаОценки"),
        key=("Period", "Обращение_Key", "Контрагент_Key", "Менеджер_Key", "НомерВопроса"),
    ),
    "InformationRegister_РегистрацияДозвона": Expected(
        (), key=("Period", "ДокументОбращения_Key", "Абонент_Key", "Менеджер_Key")
    ),
    "InformationRegister_ЗакрытиеОчередиНаКонсультанта": Expected(
        ("Закрыт",), key=("Дата", "Менеджер_Key")
    ),
    "InformationRegister_СписокКонсультантовДляЗаявок": Expected(
        ("ЛимитКонсультаций", "ВремяРаботыНачало", "ВремяРаботыКонец"),
        key=("Period", "Менеджер_Key"),
    ),
    "InformationRegister_КатегорииВопросовМенеджеров": Expected(
        (), key=("Менеджер_Key", "КатегорияВопроса_Key")
    ),
    "InformationRegister_ЯзыкиПользователей": Expected((), key=("Менеджер_Key", "Язык_Key")),
    "InformationRegister_ОтделыПользователей": Expected((), key=("Менеджер_Key", "Отдел_Key")),
}


@pytest.fixture(scope="module")
def metadata(onec_server: OneC) -> dict[str, ElementTree.Element]:
    response = httpx.get(f"{onec_server.root}/$metadata", auth=(USER, PASSWORD))
    assert response.status_code == 200
    root = parse_xml(response.content)
    return {
        element.get("Name", ""): element
        for tag in ("EntityType", "ComplexType")
        for element in root.iter(f"{EDM}{tag}")
    }


def _names(element: ElementTree.Element) -> list[str]:
    return [prop.get("Name", "") for prop in element.findall(f"{EDM}Property")]


def _key(element: ElementTree.Element) -> tuple[str, ...]:
    return tuple(ref.get("Name", "") for ref in element.iter(f"{EDM}PropertyRef"))


@pytest.mark.parametrize("entity", sorted(ORIGINAL))
def test_every_name_the_original_client_uses_is_published(
    metadata: dict[str, ElementTree.Element], entity: str
) -> None:
    expected = ORIGINAL[entity]
    assert entity in metadata, f"{entity} is not published"
    published = _names(metadata[entity])
    missing = [name for name in (*expected.key, *expected.properties) if name not in published]
    assert missing == [], f"{entity} lacks {missing}"
    if entity.startswith("InformationRegister_"):
        assert _key(metadata[entity]) == expected.key
        assert ("Period" in published) == ("Period" in expected.key)
    for section, columns in expected.sections:
        assert section in published
        row_type = metadata[f"{entity}_{section}_RowType"]
        assert [c for c in columns if c not in _names(row_type)] == [], (entity, section)


def test_the_users_etl_reads_its_registers_by_manager(onec: OneC, client: httpx.Client) -> None:
    """The original users ETL: `Менеджер_Key` + `Язык_Key` / `Отдел_Key` on both registers."""
    manager, russian, department = (str(uuid.uuid4()) for _ in range(3))
    onec.store.put(
        "InformationRegister_ЯзыкиПользователей", {"Менеджер_Key": manager, "Язык_Key": russian}
    )
    onec.store.put(
        "InformationRegister_ОтделыПользователей",
        {"Менеджер_Key": manager, "Отдел_Key": department},
    )
    languages = values(
        client.get("InformationRegister_ЯзыкиПользователей", params={"$format": "json"})
    )
    assert [(r["Менеджер_Key"], r["Язык_Key"]) for r in languages] == [(manager, russian)]
    departments = values(client.get("InformationRegister_ОтделыПользователей"))
    assert [(r["Менеджер_Key"], r["Отдел_Key"]) for r in departments] == [(manager, department)]
    one = client.get(
        f"InformationRegister_ЯзыкиПользователей(Менеджер_Key=guid'{manager}',"
        f"Язык_Key=guid'{russian}')"
    )
    assert one.status_code == 200
    assert one.json()["Менеджер_Key"] == manager
    selected = client.get(
        "InformationRegister_ОтделыПользователей",
        params={"$filter": f"Менеджер_Key eq guid'{manager}'", "$expand": "Менеджер"},
    )
    assert [r["Отдел_Key"] for r in values(selected)] == [department]
    old_name = client.get(
        "InformationRegister_ЯзыкиПользователей",
        params={"$filter": f"Пользователь_Key eq guid'{manager}'"},
    )
    assert old_name.status_code == 400
