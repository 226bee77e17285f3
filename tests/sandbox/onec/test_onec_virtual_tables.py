"""Virtual tables of periodic information registers: SliceLast and SliceFirst (guide 17.4.4,
17.4.9, 17.4.13.1.1), with their Period and Condition parameters and the usual query options."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from .support import OneC, error_of, parse_xml, values

SETTINGS = "InformationRegister_СписокКонсультантовДляЗаявок"
USERS = "Catalog_Пользователи"
LANGUAGES = "InformationRegister_ЯзыкиПользователей"
EDM = "{http://schemas.microsoft.com/ado/2009/11/edm}"


@pytest.fixture
def managers(onec: OneC) -> tuple[str, str]:
    """Two consultants whose limits changed over time:
    Иванова 5 (Jan) → 7 (Mar) → 9 (Jun); Петров 3 (Feb) → 0 (Apr)."""
    ivanova = onec.store.put(USERS, {"Description": "Иванова"})["Ref_Key"]
    petrov = onec.store.put(USERS, {"Description": "Петров"})["Ref_Key"]
    history = [
        (ivanova, "2024-01-01T00:00:00", 5),
        (ivanova, "2024-03-01T00:00:00", 7),
        (ivanova, "2024-06-01T00:00:00", 9),
        (petrov, "2024-02-01T00:00:00", 3),
        (petrov, "2024-04-01T00:00:00", 0),
    ]
    for manager, period, limit in history:
        onec.store.put(
            SETTINGS, {"Period": period, "Менеджер_Key": manager, "ЛимитКонсультаций": limit}
        )
    return ivanova, petrov


def limits(response: httpx.Response) -> dict[str, tuple[str, int]]:
    """Менеджер_Key -> (Period, ЛимитКонсультаций) of each row; one row per manager."""
    rows = values(response)
    result = {row["Менеджер_Key"]: (row["Period"], row["ЛимитКонсультаций"]) for row in rows}
    assert len(result) == len(rows), "a slice has one row per combination of dimensions"
    return result


def test_slice_last_takes_the_latest_record_per_dimensions(
    client: httpx.Client, managers: tuple[str, str]
) -> None:
    ivanova, petrov = managers
    response = client.get(f"{SETTINGS}/SliceLast()")
    assert response.json()["odata.metadata"].endswith(f"$metadata#{SETTINGS}")
    assert limits(response) == {
        ivanova: ("2024-06-01T00:00:00", 9),
        petrov: ("2024-04-01T00:00:00", 0),
    }
    # The whole record comes back, as from the register itself.
    row = values(response)[0]
    assert set(row) == {
        "Period",
        "Менеджер_Key",
        "ЛимитКонсультаций",
        "ВремяРаботыНачало",
        "ВремяРаботыКонец",
    }


def test_slice_last_at_a_moment_includes_that_moment(
    client: httpx.Client, managers: tuple[str, str]
) -> None:
    ivanova, petrov = managers
    at_march = client.get(f"{SETTINGS}/SliceLast(Period=datetime'2024-03-01T00:00:00')")
    assert limits(at_march) == {
        ivanova: ("2024-03-01T00:00:00", 7),
        petrov: ("2024-02-01T00:00:00", 3),
    }
    just_before = client.get(f"{SETTINGS}/SliceLast(Period=datetime'2024-02-29T23:59:59')")
    assert limits(just_before) == {
        ivanova: ("2024-01-01T00:00:00", 5),
        petrov: ("2024-02-01T00:00:00", 3),
    }
    before_everything = client.get(f"{SETTINGS}/SliceLast(Period=datetime'2023-12-31T00:00:00')")
    assert values(before_everything) == []


def test_slice_first_takes_the_earliest_record_at_or_after_the_moment(
    client: httpx.Client, managers: tuple[str, str]
) -> None:
    ivanova, petrov = managers
    assert limits(client.get(f"{SETTINGS}/SliceFirst()")) == {
        ivanova: ("2024-01-01T00:00:00", 5),
        petrov: ("2024-02-01T00:00:00", 3),
    }
    from_march = client.get(f"{SETTINGS}/SliceFirst(Period=datetime'2024-03-01T00:00:00')")
    assert limits(from_march) == {
        ivanova: ("2024-03-01T00:00:00", 7),
        petrov: ("2024-04-01T00:00:00", 0),
    }
    after_everything = client.get(f"{SETTINGS}/SliceFirst(Period=datetime'2024-07-01T00:00:00')")
    assert values(after_everything) == []


@pytest.mark.parametrize(
    "call",
    [
        # The guide's own spelling (17.4.9): the quotes inside the condition are not doubled.
        "SliceLast(Period=datetime'2024-03-01T00:00:00',Condition='Менеджер_Key eq guid'{m}'')",
        # An OData string literal with doubled quotes.
        "SliceLast(Period=datetime'2024-03-01T00:00:00',Condition='Менеджер_Key eq guid''{m}''')",
        # Unquoted, parameters in the other order, spaces around them.
        "SliceLast( Condition=Менеджер_Key eq guid'{m}' , Period=datetime'2024-03-01T00:00:00')",
        # The period as a quoted date, and positionally.
        "SliceLast(Period='2024-03-01T00:00:00',Condition='Менеджер_Key eq guid'{m}'')",
        "SliceLast(datetime'2024-03-01T00:00:00',Condition=Менеджер_Key eq guid'{m}')",
        "SliceLast(datetime'2024-03-01T00:00:00', Менеджер_Key eq guid'{m}')",
    ],
)
def test_condition_and_period_spellings(
    client: httpx.Client, managers: tuple[str, str], call: str
) -> None:
    ivanova, _ = managers
    response = client.get(f"{SETTINGS}/{call.format(m=ivanova)}")
    assert limits(response) == {ivanova: ("2024-03-01T00:00:00", 7)}


def test_parameters_in_the_query_string(client: httpx.Client, managers: tuple[str, str]) -> None:
    # Guide 17.4.13.1.1 writes `…/SliceLast?Condition=…`, without parentheses.
    ivanova, petrov = managers
    response = client.get(
        f"{SETTINGS}/SliceLast", params={"Condition": f"Менеджер_Key eq guid'{petrov}'"}
    )
    assert limits(response) == {petrov: ("2024-04-01T00:00:00", 0)}
    dated = client.get(
        f"{SETTINGS}/SliceFirst",
        params={"Period": "datetime'2024-02-15T00:00:00'", "$format": "json"},
    )
    assert limits(dated) == {
        ivanova: ("2024-03-01T00:00:00", 7),
        petrov: ("2024-04-01T00:00:00", 0),
    }
    # A leading empty parameter and a trailing slash, as clients write them.
    assert (
        len(values(client.get(f"{SETTINGS}/SliceLast(,Condition='ЛимитКонсультаций gt 6')/"))) == 1
    )


def test_condition_through_a_reference(client: httpx.Client, managers: tuple[str, str]) -> None:
    # The guide's example filters by a property of the referenced object (`Валюта/…`); the slash
    # sits inside the function's parentheses in the URL path.
    _, petrov = managers
    response = client.get(f"{SETTINGS}/SliceLast(Condition='Менеджер/Description eq 'Петров'')")
    assert limits(response) == {petrov: ("2024-04-01T00:00:00", 0)}


def test_condition_is_applied_before_the_slice_and_filter_after_it(
    client: httpx.Client, managers: tuple[str, str]
) -> None:
    ivanova, petrov = managers
    condition = client.get(f"{SETTINGS}/SliceLast(Condition='ЛимитКонсультаций gt 0')")
    # Петров's latest record with a limit is the February one.
    assert limits(condition) == {
        ivanova: ("2024-06-01T00:00:00", 9),
        petrov: ("2024-02-01T00:00:00", 3),
    }
    filtered = client.get(f"{SETTINGS}/SliceLast()", params={"$filter": "ЛимитКонсультаций gt 0"})
    # His latest record has none, so $filter drops him.
    assert limits(filtered) == {ivanova: ("2024-06-01T00:00:00", 9)}


def test_query_options_on_a_slice(
    onec: OneC, client: httpx.Client, managers: tuple[str, str]
) -> None:
    ivanova, petrov = managers
    params = {
        "$select": "Менеджер_Key,ЛимитКонсультаций,Менеджер/Description",
        "$expand": "Менеджер",
        "$orderby": "ЛимитКонсультаций desc",
        "$inlinecount": "allpages",
    }
    body: dict[str, Any] = client.get(f"{SETTINGS}/SliceLast()", params=params).json()
    assert body["odata.count"] == "2"
    assert body["value"] == [
        {"Менеджер_Key": ivanova, "ЛимитКонсультаций": 9, "Менеджер": {"Description": "Иванова"}},
        {"Менеджер_Key": petrov, "ЛимитКонсультаций": 0, "Менеджер": {"Description": "Петров"}},
    ]
    paged = client.get(
        f"{SETTINGS}/SliceFirst()", params={"$orderby": "ЛимитКонсультаций", "$top": "1"}
    )
    assert limits(paged) == {petrov: ("2024-02-01T00:00:00", 3)}
    onec.emulator.inlinecount_ignores_paging = False
    counted = client.get(
        f"{SETTINGS}/SliceFirst()", params={"$inlinecount": "allpages", "$skip": "1"}
    ).json()
    assert (counted["odata.count"], len(counted["value"])) == ("2", 1)


def test_a_slice_in_atom(raw_client: httpx.Client, managers: tuple[str, str]) -> None:
    response = raw_client.get(f"{SETTINGS}/SliceLast(Period=datetime'2024-03-01T00:00:00')")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/atom+xml;type=feed")
    feed = parse_xml(response.content)
    assert len(feed.findall("{http://www.w3.org/2005/Atom}entry")) == 2


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        # Not periodic: 1C has no slices for it.
        (f"{LANGUAGES}/SliceLast()", 400, "6"),
        (f"{LANGUAGES}/SliceFirst(Condition='Язык_Key eq null')", 400, "6"),
        (f"{USERS}/SliceLast()", 400, "6"),
        (f"{SETTINGS}/SliceMiddle()", 400, "6"),
        (f"{SETTINGS}/SliceLast(Moment=datetime'2024-01-01T00:00:00')", 400, "6"),
        (f"{SETTINGS}/SliceLast(Period=datetime'2024-13-01T00:00:00')", 400, "6"),
        (f"{SETTINGS}/SliceLast(Period=2024-01-01)", 400, "6"),
        (f"{SETTINGS}/SliceLast(Period='x',Period='y')", 400, "6"),
        (f"{SETTINGS}/SliceLast(Condition='НетТакого eq 1')", 400, "14"),
        (f"{SETTINGS}/SliceLast(Condition='ЛимитКонсультаций')", 400, "14"),
        (f"{SETTINGS}/SliceLast()/$count", 400, "6"),
        (f"{SETTINGS}/SliceLast()?$expan=Менеджер", 400, "0"),
    ],
)
def test_what_1c_refuses(
    client: httpx.Client, managers: tuple[str, str], path: str, status: int, code: str
) -> None:
    response = client.get(path)
    assert (response.status_code, error_of(response)[0]) == (status, code), response.text


def test_the_non_periodic_refusal_says_method_not_found(client: httpx.Client) -> None:
    response = client.get(f"{LANGUAGES}/SliceLast()")
    assert error_of(response) == ("6", "Метод не найден: SliceLast")


def test_slices_are_read_only(client: httpx.Client, managers: tuple[str, str]) -> None:
    response = client.post(f"{SETTINGS}/SliceLast()", json={})
    assert (response.status_code, error_of(response)[0]) == (405, "19")


def test_metadata_binds_slices_to_periodic_registers_only(raw_client: httpx.Client) -> None:
    root = parse_xml(raw_client.get("$metadata").content)
    bound = {
        (function.get("Name"), function.get("EntitySet"))
        for function in root.iter(f"{EDM}FunctionImport")
        if function.get("Name", "").startswith("Slice")
    }
    periodic = {
        "InformationRegister_РегистрацияПереносаКонсультации",
        "InformationRegister_ОценкаКонсультацийПоЗаявкам",
        "InformationRegister_РегистрацияДозвона",
        SETTINGS,
    }
    assert bound == {(name, entity) for name in ("SliceLast", "SliceFirst") for entity in periodic}
