"""The emulator's Python API (test setup and demo data) and bulk loading."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

import httpx
import pytest

from switchboard.sandbox.onec import ENTITIES, Kind, ODataError, OneCEmulator
from switchboard.sandbox.onec.entities import catalog, information_register, ref, text

from .support import EMPTY_DATE, START, OneC

CONTRACTORS = "Catalog_Контрагенты"
CALLS = "Document_ТелефонныйЗвонок"


def test_registry_describes_the_configuration() -> None:
    calls = ENTITIES[CALLS]
    assert calls.kind is Kind.DOCUMENT
    assert calls.key == ("Ref_Key",)
    assert calls.follow("Абонент")[1] == CONTRACTORS
    assert {tab.name for tab in calls.tabular} == {"КонсультацииИТС", "ВопросыИОтветы"}
    closing = ENTITIES["InformationRegister_ЗакрытиеОчередиНаКонсультанта"]
    assert closing.key == ("Дата", "Менеджер_Key")
    assert not closing.periodic
    # The users' registers the users ETL reads are part of the configuration too.
    settings = ENTITIES["InformationRegister_СписокКонсультантовДляЗаявок"]
    assert settings.key == ("Period", "Менеджер_Key")
    assert (
        ENTITIES["InformationRegister_ОтделыПользователей"].follow("Отдел")[1] == "Catalog_Отделы"
    )


def test_more_entities_are_one_definition_away() -> None:
    registry = ENTITIES.extended(
        catalog("Тарифы", text("Описание")),
        information_register(
            "ЦеныТарифов", periodic=True, dimensions=(ref("Тариф", "Catalog_Тарифы"),)
        ),
    )
    emulator = OneCEmulator(base_path="/x", user="u", password="p", entities=registry)
    tariff = emulator.store.put("Catalog_Тарифы", {"Description": "Базовый"})
    emulator.store.put(
        "InformationRegister_ЦеныТарифов",
        {"Period": "2024-01-01T00:00:00", "Тариф_Key": tariff["Ref_Key"]},
    )
    assert len(emulator.store.all("InformationRegister_ЦеныТарифов")) == 1
    assert "Catalog_Тарифы" not in ENTITIES


def test_put_fills_defaults_and_keeps_given_values(onec: OneC) -> None:
    stored = onec.store.put(
        CALLS,
        {
            "Posted": True,
            "ДатаИзменения": datetime(2024, 1, 2, 3, 4, 5),  # noqa: DTZ001 - naive, like 1C
            "Абонент_Key": uuid.UUID(int=1),
        },
    )
    assert stored["Posted"] is True
    assert stored["ДатаИзменения"] == "2024-01-02T03:04:05"
    assert stored["Абонент_Key"] == "00000000-0000-0000-0000-000000000001"
    assert stored["Number"] == "ЦЛ00-000001"
    assert stored["Date"] == START.isoformat()
    assert stored["Конец"] == EMPTY_DATE
    assert stored["DataVersion"]
    assert onec.store.get(CALLS, stored["Ref_Key"]) == stored


def test_returned_records_are_copies(onec: OneC) -> None:
    stored = onec.store.put(CONTRACTORS, {"КонтактнаяИнформация": [{"Тип": "Телефон"}]})
    stored["КонтактнаяИнформация"][0]["Тип"] = "changed"
    stored["Description"] = "changed"
    again = onec.store.get(CONTRACTORS, stored["Ref_Key"])
    assert again is not None
    assert again["Description"] == ""
    assert again["КонтактнаяИнформация"][0]["Тип"] == "Телефон"


def test_update_acts_like_a_patch(onec: OneC) -> None:
    stored = onec.store.put(CALLS, {"ДатаИзменения": "2024-01-01T00:00:00"})
    onec.clock.advance(hours=1)
    updated = onec.store.update(CALLS, stored["Ref_Key"], {"Описание": "x"})
    assert updated["Описание"] == "x"
    assert updated["DataVersion"] != stored["DataVersion"]
    assert updated["ДатаИзменения"] == onec.clock.now.isoformat()


def test_register_keys_are_dicts(onec: OneC) -> None:
    manager = str(uuid.uuid4())
    onec.store.put(
        "InformationRegister_ЗакрытиеОчередиНаКонсультанта",
        {"Дата": "2024-05-01T00:00:00", "Менеджер_Key": manager},
    )
    key = {"Дата": "2024-05-01T00:00:00", "Менеджер_Key": manager}
    onec.store.update("InformationRegister_ЗакрытиеОчередиНаКонсультанта", key, {"Закрыт": True})
    record = onec.store.get("InformationRegister_ЗакрытиеОчередиНаКонсультанта", key)
    assert record is not None
    assert record["Закрыт"] is True
    onec.store.delete("InformationRegister_ЗакрытиеОчередиНаКонсультанта", key)
    assert onec.store.get("InformationRegister_ЗакрытиеОчередиНаКонсультанта", key) is None


def test_python_api_refusals(onec: OneC) -> None:
    with pytest.raises(ODataError):
        onec.store.put("Catalog_Нет", {})
    with pytest.raises(ODataError):
        onec.store.put(CONTRACTORS, {"НетТакого": 1})
    key = onec.store.put(CONTRACTORS, {})["Ref_Key"]
    with pytest.raises(ODataError):
        onec.store.put(CONTRACTORS, {"Ref_Key": key})
    with pytest.raises(ODataError):
        onec.store.delete(CONTRACTORS, str(uuid.uuid4()))


def test_load_is_all_or_nothing(onec: OneC) -> None:
    key = str(uuid.uuid4())
    with pytest.raises(ODataError):
        onec.store.load({CONTRACTORS: [{"Ref_Key": key}, {"Ref_Key": key}]})
    assert onec.store.all(CONTRACTORS) == []


def test_load_of_ten_thousand_rows_and_a_paged_read(onec: OneC, client: httpx.Client) -> None:
    rows = [{"Description": f"Абонент {n}", "КодАбонентаClobus": n} for n in range(10_000)]
    started = time.perf_counter()
    onec.store.load({CONTRACTORS: rows})
    assert time.perf_counter() - started < 1.0
    seen: list[str] = []
    skip = 0
    while True:
        params = {"$top": "1000", "$skip": str(skip), "$orderby": "Ref_Key", "$select": "Ref_Key"}
        page = client.get(CONTRACTORS, params=params).json()["value"]
        seen += [item["Ref_Key"] for item in page]
        if len(page) < 1000:
            break
        skip += len(page)
    assert len(seen) == 10_000
    assert set(seen) == {record["Ref_Key"] for record in onec.store.all(CONTRACTORS)}
    assert seen == sorted(seen)


def test_separate_emulators_do_not_share_state() -> None:
    first = OneCEmulator(base_path="/a/odata/standard.odata", user="u", password="p")
    second = OneCEmulator(base_path="/b/odata/standard.odata", user="u", password="p")
    first.store.put(CONTRACTORS, {})
    assert second.store.all(CONTRACTORS) == []
    assert first.base_path == "/a/odata/standard.odata"


def test_an_aware_clock_is_read_as_local_wall_time() -> None:
    emulator = OneCEmulator(
        base_path="/x", user="u", password="p", clock=lambda: datetime(2024, 5, 1, 4, 0, tzinfo=UTC)
    )
    assert emulator.store.put(CALLS, {})["Date"] == "2024-05-01T09:00:00"
