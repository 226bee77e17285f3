"""Reading collections: every filter form the original client sends (inventory 2.1), the rest of
the guide's $filter grammar, $orderby, $select, $expand, paging and counts."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from .support import EMPTY_GUID, OneC, error_of, values

CONTRACTORS = "Catalog_Контрагенты"
CALLS = "Document_ТелефонныйЗвонок"


def names(response: httpx.Response, field: str = "Description") -> list[Any]:
    return [item[field] for item in values(response)]


@pytest.fixture
def folder(onec: OneC) -> str:
    key: str = onec.store.put(CONTRACTORS, {"Description": "CLOBUS", "IsFolder": True})["Ref_Key"]
    return key


@pytest.fixture
def contractors(onec: OneC, folder: str) -> list[dict[str, Any]]:
    rows = [
        {"Description": "Альфа", "ИНН": "301111111", "КодАбонентаClobus": 101, "Code": "000000010"},
        {"Description": "Бета", "ИНН": "302222222", "КодАбонентаClobus": 102, "Code": "000000020"},
        {"Description": "Гамма", "ИНН": "303333333", "КодАбонентаClobus": 103, "Code": "000000030"},
        {
            "Description": "O'Reilly",
            "ИНН": "304444444",
            "КодАбонентаClobus": 104,
            "Code": "000000040",
        },
    ]
    stored = [onec.store.put(CONTRACTORS, {**row, "Parent_Key": folder}) for row in rows]
    onec.store.update(CONTRACTORS, stored[1]["Ref_Key"], {"DeletionMark": True})
    return stored


def test_inn_and_deletion_mark(client: httpx.Client, contractors: list[dict[str, Any]]) -> None:
    flt = "ИНН eq '302222222' and DeletionMark eq false"
    assert names(client.get(CONTRACTORS, params={"$filter": flt})) == []
    flt = "ИНН eq '301111111' and DeletionMark eq false"
    assert names(client.get(CONTRACTORS, params={"$filter": flt})) == ["Альфа"]


def test_code_inn_parent_and_deletion_mark(
    client: httpx.Client, contractors: list[dict[str, Any]], folder: str
) -> None:
    flt = (
        "КодАбонентаClobus eq 103 and ИНН eq '303333333' "
        f"and Parent_Key eq guid'{folder}' and DeletionMark eq false"
    )
    params = {
        "$filter": flt,
        "$select": "Ref_Key,Description,ИНН,КодАбонентаClobus,Parent_Key,DeletionMark",
    }
    [item] = values(client.get(CONTRACTORS, params=params))
    assert item == {
        "Ref_Key": contractors[2]["Ref_Key"],
        "Description": "Гамма",
        "ИНН": "303333333",
        "КодАбонентаClobus": 103,
        "Parent_Key": folder,
        "DeletionMark": False,
    }


def test_a_number_property_is_not_a_string(
    client: httpx.Client, contractors: list[dict[str, Any]]
) -> None:
    response = client.get(CONTRACTORS, params={"$filter": "КодАбонентаClobus eq '103'"})
    assert response.status_code == 400
    assert error_of(response)[0] == "14"


def test_quotes_in_string_literals(client: httpx.Client, contractors: list[dict[str, Any]]) -> None:
    assert names(client.get(CONTRACTORS, params={"$filter": "Description eq 'O''Reilly'"})) == [
        "O'Reilly"
    ]


def test_strings_compare_without_case(
    client: httpx.Client, contractors: list[dict[str, Any]]
) -> None:
    assert names(client.get(CONTRACTORS, params={"$filter": "Description eq 'альфа'"})) == ["Альфа"]


def test_code_cursor(client: httpx.Client, contractors: list[dict[str, Any]]) -> None:
    params = {"$filter": "Code ge '000000020'", "$orderby": "Code asc", "$top": "2"}
    assert names(client.get(CONTRACTORS, params=params), "Code") == ["000000020", "000000030"]


def test_navigation_filter(
    onec: OneC, client: httpx.Client, contractors: list[dict[str, Any]], folder: str
) -> None:
    outsider = onec.store.put(CONTRACTORS, {"Description": "Чужой"})
    for contractor in (contractors[0], outsider):
        onec.store.put(
            CALLS, {"Абонент_Key": contractor["Ref_Key"], "Описание": contractor["Description"]}
        )
    onec.store.put(CALLS, {"Описание": "без абонента"})
    flt = f"Абонент/Parent_Key eq guid'{folder}'"
    assert names(client.get(CALLS, params={"$filter": flt}), "Описание") == ["Альфа"]
    # A missing referenced object reads as NULL: unknown, so not even `not` selects it.
    flt = f"not (Абонент/Parent_Key eq guid'{folder}')"
    assert names(client.get(CALLS, params={"$filter": flt}), "Описание") == ["Чужой"]
    flt = "Абонент/Description eq null"
    assert names(client.get(CALLS, params={"$filter": flt}), "Описание") == ["без абонента"]


def test_modified_since(onec: OneC, client: httpx.Client) -> None:
    onec.store.put(CALLS, {"Описание": "old", "ДатаИзменения": "2024-04-01T10:00:00"})
    onec.store.put(CALLS, {"Описание": "new", "ДатаИзменения": "2024-04-30T10:00:00"})
    params = {
        "$filter": "ДатаИзменения ge datetime'2024-04-30T10:00:00'",
        "$orderby": "ДатаИзменения asc",
    }
    assert names(client.get(CALLS, params=params), "Описание") == ["new"]
    params = {"$filter": "ДатаСоздания ge datetime'2024-05-01T00:00:00'"}
    assert len(values(client.get(CALLS, params=params))) == 2  # created "now" by the emulator clock


def test_register_period_and_date_cursors(onec: OneC, client: httpx.Client) -> None:
    register = "InformationRegister_РегистрацияДозвона"
    for period in ("2024-04-30T08:00:00", "2024-05-01T08:00:00", "2024-05-01T09:00:00"):
        onec.store.put(register, {"Period": period, "Менеджер_Key": str(uuid.uuid4())})
    params = {"$filter": "Period ge datetime'2024-05-01T00:00:00'", "$orderby": "Period asc"}
    assert names(client.get(register, params=params), "Period") == [
        "2024-05-01T08:00:00",
        "2024-05-01T09:00:00",
    ]
    closing = "InformationRegister_ЗакрытиеОчередиНаКонсультанта"
    manager = str(uuid.uuid4())
    onec.store.put(
        closing, {"Дата": "2024-05-02T00:00:00", "Менеджер_Key": manager, "Закрыт": True}
    )
    onec.store.put(
        closing, {"Дата": "2024-04-02T00:00:00", "Менеджер_Key": manager, "Закрыт": True}
    )
    params = {"$filter": "Дата ge datetime'2024-05-01T00:00:00'", "$orderby": "Дата asc"}
    assert names(client.get(closing, params=params), "Дата") == ["2024-05-02T00:00:00"]


def test_forty_ref_keys(onec: OneC, client: httpx.Client) -> None:
    keys = [onec.store.put(CALLS, {"Описание": str(n)})["Ref_Key"] for n in range(60)]
    wanted = keys[5:45]
    flt = " or ".join(f"Ref_Key eq guid'{key}'" for key in wanted)
    found = names(client.get(CALLS, params={"$filter": flt, "$select": "Ref_Key"}), "Ref_Key")
    assert sorted(found) == sorted(wanted)


def test_orderby_forms(onec: OneC, client: httpx.Client) -> None:
    register = "InformationRegister_ОценкаКонсультацийПоЗаявкам"
    managers = sorted(str(uuid.uuid4()) for _ in range(2))
    for manager in managers:
        for day in ("01", "02"):
            onec.store.put(register, {"Period": f"2024-05-{day}T12:00:00", "Менеджер_Key": manager})
    rows = values(client.get(register, params={"$orderby": "Менеджер_Key asc, Period desc"}))
    assert [(r["Менеджер_Key"], r["Period"][:10]) for r in rows] == [
        (managers[0], "2024-05-02"),
        (managers[0], "2024-05-01"),
        (managers[1], "2024-05-02"),
        (managers[1], "2024-05-01"),
    ]
    ordered = names(
        client.get(register, params={"$orderby": "Обращение_Key asc, Period"}), "Period"
    )
    assert ordered == sorted(ordered)


def test_orderby_navigation_and_unknown_property(
    onec: OneC, client: httpx.Client, contractors: list[dict[str, Any]]
) -> None:
    for contractor in contractors:
        onec.store.put(CALLS, {"Абонент_Key": contractor["Ref_Key"], "Описание": contractor["ИНН"]})
    found = names(client.get(CALLS, params={"$orderby": "Абонент/ИНН desc"}), "Описание")
    assert found == sorted(found, reverse=True)
    response = client.get(CALLS, params={"$orderby": "НетТакого asc"})
    assert response.status_code == 400
    assert error_of(response)[0] == "14"


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("substringof('ет', Description)", ["Бета"]),
        ("substringof('ет', Description) eq true", ["Бета"]),
        ("startswith(Description, 'Га')", ["Гамма"]),
        ("endswith(Description, 'фа')", ["Альфа"]),
        ("like(Description, 'Г%')", ["Гамма"]),
        ("substring(ИНН, 1, 3) eq '303'", ["Гамма"]),
        ("КодАбонентаClobus gt 101 and КодАбонентаClobus lt 104", ["Бета", "Гамма"]),
        ("КодАбонентаClobus add 1 eq 103", ["Бета"]),
        ("not (КодАбонентаClobus le 103)", ["O'Reilly"]),
        (
            "(Code eq '000000010' or Code eq '000000040') and DeletionMark eq false",
            ["Альфа", "O'Reilly"],
        ),
        ("DeletionMark", ["Бета"]),
        ("ДатаОкончанияПодписки eq datetime'0001-01-01T00:00:00' and IsFolder eq false", None),
    ],
)
def test_filter_grammar(
    client: httpx.Client,
    contractors: list[dict[str, Any]],
    condition: str,
    expected: list[str] | None,
) -> None:
    params = {"$filter": condition, "$orderby": "Code"}
    found = names(client.get(CONTRACTORS, params=params))
    assert found == (expected if expected is not None else ["Альфа", "Бета", "Гамма", "O'Reilly"])


def test_date_functions(onec: OneC, client: httpx.Client) -> None:
    onec.store.put(CALLS, {"Описание": "a", "ДатаКонсультации": "2024-02-29T15:45:00"})
    onec.store.put(CALLS, {"Описание": "b", "ДатаКонсультации": "2023-02-28T10:15:00"})
    for condition in (
        "year(ДатаКонсультации) eq 2024",
        "month(ДатаКонсультации) eq 2 and day(ДатаКонсультации) eq 29",
        "hour(ДатаКонсультации) eq 15 and minute(ДатаКонсультации) eq 45",
        "dayofweek(ДатаКонсультации) eq 4",  # Thursday; 1C counts Monday as 1
        "dateadd(ДатаКонсультации, 'day', 1) eq datetime'2024-03-01T15:45:00'",
    ):
        assert names(client.get(CALLS, params={"$filter": condition}), "Описание") == ["a"], (
            condition
        )


def test_tabular_lambdas(onec: OneC, client: httpx.Client) -> None:
    helper = str(uuid.uuid4())
    onec.store.put(
        CALLS, {"Описание": "with", "КонсультацииИТС": [{"ПомощьМенеджера_Key": helper}]}
    )
    onec.store.put(CALLS, {"Описание": "without"})
    flt = f"КонсультацииИТС/any(row: row/ПомощьМенеджера_Key eq guid'{helper}')"
    assert names(client.get(CALLS, params={"$filter": flt}), "Описание") == ["with"]
    assert names(client.get(CALLS, params={"$filter": "КонсультацииИТС/any()"}), "Описание") == [
        "with"
    ]


@pytest.mark.parametrize(
    "condition",
    [
        "Ref_Key eq",
        "Ref_Key eq guid'12'",
        "Ref_Key eq '8d04ce3c-6360-11e9-dd92-fa163e8ba11d'",
        "Description eq 5",
        "НетТакого eq 1",
        "startwith(Description, 'ООО') eq true",
        "tolower(Description) eq 'a'",
        "Description eq 'unterminated",
        "ДатаОкончанияПодписки ge datetime'2024-13-01T00:00:00'",
        "Description",
        "КонтактнаяИнформация eq 1",
        "(Description eq 'a'",
        "Description Eq 'a'",
    ],
)
def test_malformed_filters_are_refused(client: httpx.Client, condition: str) -> None:
    response = client.get(CONTRACTORS, params={"$filter": condition})
    assert response.status_code == 400, condition
    code, message = error_of(response)
    assert code == "14"
    assert message.startswith("Error parsing $filter query option")


def test_top_skip_and_default_key_order(onec: OneC, client: httpx.Client) -> None:
    keys = sorted(onec.store.put(CONTRACTORS, {"Description": str(n)})["Ref_Key"] for n in range(7))
    page = names(client.get(CONTRACTORS, params={"$skip": "2", "$top": "3"}), "Ref_Key")
    assert page == keys[2:5]
    assert names(client.get(CONTRACTORS, params={"$top": "0"})) == []
    response = client.get(CONTRACTORS, params={"$top": "-1"})
    assert (response.status_code, error_of(response)[0]) == (400, "14")


def test_select(client: httpx.Client, contractors: list[dict[str, Any]]) -> None:
    [item] = values(
        client.get(
            CONTRACTORS, params={"$filter": "Code eq '000000010'", "$select": "Ref_Key, Code"}
        )
    )
    assert item == {"Ref_Key": contractors[0]["Ref_Key"], "Code": "000000010"}
    [item] = values(
        client.get(CONTRACTORS, params={"$filter": "Code eq '000000010'", "$select": "*"})
    )
    assert "КонтактнаяИнформация" in item
    [item] = values(
        client.get(CONTRACTORS, params={"$filter": "Code eq '000000010'", "$select": "**"})
    )
    assert "КонтактнаяИнформация" not in item
    assert "ИНН" in item
    response = client.get(CONTRACTORS, params={"$select": "Ref_Key,НетТакого"})
    assert (response.status_code, error_of(response)[0]) == (400, "14")


def test_select_presentations(
    onec: OneC, client: httpx.Client, contractors: list[dict[str, Any]]
) -> None:
    onec.store.put(
        CALLS,
        {
            "Абонент_Key": contractors[0]["Ref_Key"],
            "Number": "ЦЛ00-000777",
            "Date": "2024-05-01T09:05:00",
        },
    )
    [item] = values(
        client.get(CALLS, params={"$select": "Number,Абонент____Presentation,Presentation"})
    )
    assert item["Абонент____Presentation"] == "Альфа"
    assert item["Presentation"] == "Телефонный звонок ЦЛ00-000777 от 01.05.2024 9:05:00"


def test_expand_reference(
    onec: OneC, client: httpx.Client, contractors: list[dict[str, Any]], folder: str
) -> None:
    onec.store.put(CALLS, {"Абонент_Key": contractors[0]["Ref_Key"]})
    onec.store.put(CALLS, {})
    params = {"$expand": "Абонент", "$orderby": "Абонент/Description"}
    rows = values(client.get(CALLS, params=params))
    assert [row["Абонент"] and row["Абонент"]["Description"] for row in rows] == [None, "Альфа"]
    params = {
        "$expand": "Абонент/Parent",
        "$select": "Number,Абонент/Description,Абонент/Parent/Description",
    }
    rows = values(
        client.get(CALLS, params={**params, "$filter": f"Абонент_Key ne guid'{EMPTY_GUID}'"})
    )
    assert rows[0]["Абонент"] == {"Description": "Альфа", "Parent": {"Description": "CLOBUS"}}
    response = client.get(CALLS, params={"$expand": "Описание"})
    assert (response.status_code, error_of(response)[0]) == (400, "14")


def test_expand_is_refused_on_a_single_entity(onec: OneC, client: httpx.Client) -> None:
    key = onec.store.put(CALLS, {})["Ref_Key"]
    response = client.get(f"{CALLS}(guid'{key}')", params={"$expand": "Абонент"})
    assert response.status_code == 400


def test_inlinecount_is_a_string_and_ignores_paging(
    client: httpx.Client, contractors: list[dict[str, Any]]
) -> None:
    body = client.get(
        CONTRACTORS, params={"$inlinecount": "allpages", "$filter": "DeletionMark eq false"}
    ).json()
    assert body["odata.count"] == "4"  # three live contractors and the folder
    assert len(body["value"]) == 4
    # Guide 17.4.6.2: with $inlinecount, 1C ignores $skip and $top.
    paged = client.get(
        CONTRACTORS, params={"$inlinecount": "allpages", "$top": "1", "$skip": "1"}
    ).json()
    assert paged["odata.count"] == "5"
    assert len(paged["value"]) == 5
    none = client.get(CONTRACTORS, params={"$inlinecount": "none", "$top": "1"}).json()
    assert "odata.count" not in none
    assert len(none["value"]) == 1


def test_inlinecount_can_page_as_some_platform_versions_do(
    onec: OneC, client: httpx.Client, contractors: list[dict[str, Any]]
) -> None:
    onec.emulator.inlinecount_ignores_paging = False
    params = {"$inlinecount": "allpages", "$orderby": "Code", "$top": "2", "$skip": "1"}
    paged = client.get(CONTRACTORS, params=params).json()
    # The page is cut by $skip/$top; the count is still of every matching record.
    assert paged["odata.count"] == "5"
    assert [item["Code"] for item in paged["value"]] == ["000000010", "000000020"]
    filtered = client.get(
        CONTRACTORS, params={**params, "$filter": "DeletionMark eq false", "$skip": "3"}
    ).json()
    assert filtered["odata.count"] == "4"
    assert [item["Code"] for item in filtered["value"]] == ["000000040"]
    beyond = client.get(CONTRACTORS, params={**params, "$skip": "10"}).json()
    assert (beyond["odata.count"], beyond["value"]) == ("5", [])
    # Without $inlinecount paging is the same in both modes; the count is simply absent.
    plain = client.get(CONTRACTORS, params={"$orderby": "Code", "$top": "2"}).json()
    assert "odata.count" not in plain
    assert len(plain["value"]) == 2
    # The switch is the store's: a reset (every test's fixture) restores the guide's behaviour.
    onec.store.reset()
    assert onec.emulator.inlinecount_ignores_paging is True


def test_inlinecount_switch_over_http(
    onec: OneC, client: httpx.Client, contractors: list[dict[str, Any]]
) -> None:
    settings = f"{onec.server.url}/__sandbox__/settings"
    assert httpx.get(settings).json() == {"inlinecount_ignores_paging": True}
    changed = httpx.patch(settings, json={"inlinecount_ignores_paging": False})
    assert changed.status_code == 200
    assert changed.json() == {"inlinecount_ignores_paging": False}
    assert onec.emulator.inlinecount_ignores_paging is False
    params = {"$inlinecount": "allpages", "$top": "1"}
    assert len(client.get(CONTRACTORS, params=params).json()["value"]) == 1
    for bad in ({"inlinecount_ignores_paging": "no"}, {"paging": True}, [True]):
        refused = httpx.patch(settings, json=bad)
        assert refused.status_code == 400, bad
        assert "error" in refused.json()
    assert onec.emulator.inlinecount_ignores_paging is False
    assert httpx.put(settings, json={}).status_code == 405
    assert httpx.post(f"{onec.server.url}/__sandbox__/reset").status_code == 200
    assert httpx.get(settings).json() == {"inlinecount_ignores_paging": True}
    # The reset also emptied the base, so the count is 0 now.
    assert client.get(CONTRACTORS, params=params).json()["odata.count"] == "0"


def test_count_segment(client: httpx.Client, contractors: list[dict[str, Any]]) -> None:
    response = client.get(f"{CONTRACTORS}/$count", params={"$filter": "КодАбонентаClobus ge 102"})
    assert response.status_code == 200
    assert response.text == "3"
    assert client.get(f"{CONTRACTORS}/$count").text == "5"


def test_tabular_section_entity_set(onec: OneC, client: httpx.Client) -> None:
    owner = onec.store.put(CALLS, {"ВопросыИОтветы": [{"Вопрос": "Q1"}, {"Вопрос": "Q2"}]})[
        "Ref_Key"
    ]
    rows = values(client.get(f"{CALLS}_ВопросыИОтветы", params={"$filter": "Вопрос eq 'Q2'"}))
    assert rows == [{"Ref_Key": owner, "LineNumber": "2", "Вопрос": "Q2", "Ответ": ""}]
    row = client.get(f"{CALLS}_ВопросыИОтветы(Ref_Key=guid'{owner}',LineNumber=1)").json()
    assert row["Вопрос"] == "Q1"
    response = client.post(f"{CALLS}_ВопросыИОтветы", json={"Вопрос": "Q3"})
    assert (response.status_code, error_of(response)[0]) == (400, "13")


def test_select_tabular_columns(onec: OneC, client: httpx.Client) -> None:
    onec.store.put(
        CONTRACTORS, {"КонтактнаяИнформация": [{"Тип": "Телефон", "НомерТелефона": "7"}]}
    )
    params = {"$select": "Ref_Key,КонтактнаяИнформация/НомерТелефона"}
    [item] = values(client.get(CONTRACTORS, params=params))
    assert item["КонтактнаяИнформация"] == [{"LineNumber": "1", "НомерТелефона": "7"}]


def test_json_metadata_levels(onec: OneC, client: httpx.Client) -> None:
    onec.store.put(CONTRACTORS, {"Description": "x"})
    bare = client.get(CONTRACTORS, params={"$format": "application/json;odata=nometadata"}).json()
    assert "odata.metadata" not in bare
    full = client.get(CONTRACTORS, params={"$format": "application/json;odata=fullmetadata"}).json()
    assert full["value"][0]["odata.type"] == f"StandardODATA.{CONTRACTORS}"


def test_tabular_rows_are_read_only(onec: OneC, client: httpx.Client) -> None:
    owner = onec.store.put(CALLS, {"ВопросыИОтветы": [{"Вопрос": "Q1"}]})["Ref_Key"]
    url = f"{CALLS}_ВопросыИОтветы(Ref_Key=guid'{owner}',LineNumber=1)"
    response = client.patch(url, json={"Вопрос": "Q2"})
    assert (response.status_code, error_of(response)[0]) == (405, "19")
    assert client.delete(url).status_code == 405
