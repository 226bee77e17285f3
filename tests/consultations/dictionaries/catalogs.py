"""Small hand-made 1C catalogs for the dictionary tests (field names as in the 1C base)."""

from __future__ import annotations

import uuid
from typing import Any

RU = "15d38cda-1812-11ef-b824-c67597d01fa8"
UZ = "15d38cdb-1812-11ef-b824-c67597d01fa8"
OTHER_LANGUAGE = "15d38cdc-1812-11ef-b824-c67597d01fa8"
EMPTY = "00000000-0000-0000-0000-000000000000"


def key(name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, name))


def element(name: str, description: str, **fields: Any) -> dict[str, Any]:
    return {
        "Ref_Key": key(name),
        "Code": name[:9],
        "Description": description,
        "DeletionMark": fields.pop("DeletionMark", False),
        **fields,
    }


def catalogs() -> dict[str, list[dict[str, Any]]]:
    return {
        "Catalog_ВидыПОДляКонсультаций": [
            element("po-buh", "1С:Бухгалтерия 3.0", Описание="Бухгалтерский учёт"),
            element("po-ut", "1С:Розница 3.0", Описание=""),
        ],
        "Catalog_РазделыПОДляКонсультаций": [
            element("sec-bank", "Банк и касса", Owner_Key=key("po-buh"), Описание="Выписки"),
            element("sec-nds", "НДС", Owner_Key=key("po-buh"), Описание=""),
            element("sec-sklad", "Склад", Owner_Key=key("po-ut"), Описание=""),
        ],
        "Catalog_КатегорииВопросов": [
            element("cat-ru-1", "Бухгалтерский учёт", Язык_Key=RU),
            element("cat-ru-2", "Налоговая отчётность", Язык_Key=RU),
            element("cat-uz-1", "Buxgalteriya hisobi", Язык_Key=UZ),
            element("cat-xx-1", "Accounting", Язык_Key=OTHER_LANGUAGE),
        ],
        "Catalog_ВопросыНаКонсультацию": [
            element(
                "q-ru-1",
                "Как закрыть месяц?",
                Категория_Key=key("cat-ru-1"),
                Язык_Key=RU,
                ПолезнаяИнформация="См. регламентные операции",
            ),
            element(
                "q-ru-2",
                "Как сдать НДС?",
                Категория_Key=key("cat-ru-2"),
                Язык_Key=RU,
                ПолезнаяИнформация="",
            ),
            element(
                "q-uz-1",
                "Oyni qanday yopish kerak?",
                Категория_Key=key("cat-uz-1"),
                Язык_Key=UZ,
                ПолезнаяИнформация="",
            ),
        ],
        "Catalog_БазаЗнанийДляКонсультаций": [
            element(
                "kb-1",
                "Загрузка выписки",
                ВидПО_Key=key("po-buh"),
                РазделПО_Key=key("sec-bank"),
                Вопрос="Как загрузить выписку?",
                Ответ="Банк и касса → Выписки → Загрузить",
                Автор_Key=EMPTY,
            ),
            element(
                "kb-2",
                "Остатки на складе",
                ВидПО_Key=key("po-ut"),
                РазделПО_Key=key("sec-sklad"),
                Вопрос="Где остатки?",
                Ответ="Склад → Остатки",
                Автор_Key=EMPTY,
            ),
        ],
        "Catalog_ПомехиДляКонсультаций": [
            element("int-net", "Нет интернета у клиента"),
            element("int-old", "Устаревшая помеха", DeletionMark=True),
        ],
    }
