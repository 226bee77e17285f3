"""Transport, formats, shapes and errors, as PROTOCOLS.md section 2 and guide 17.4 state them."""

from __future__ import annotations

from urllib.parse import quote

import httpx

from .support import PASSWORD, USER, OneC, error_of, parse_xml, values

ATOM = "{http://www.w3.org/2005/Atom}"
EDM = "{http://schemas.microsoft.com/ado/2009/11/edm}"
METADATA = "{http://schemas.microsoft.com/ado/2007/08/dataservices/metadata}"
DATA = "{http://schemas.microsoft.com/ado/2007/08/dataservices}"


def test_requests_without_credentials_are_refused(onec: OneC) -> None:
    response = httpx.get(f"{onec.root}/Catalog_Контрагенты?$format=json")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Basic")
    assert error_of(response)[0] == "20"


def test_wrong_password_is_refused_everywhere(onec: OneC) -> None:
    for path in ("/", "/$metadata", "/Catalog_Контрагенты", "/Catalog_Нет"):
        response = httpx.get(onec.root + path, auth=(USER, "wrong"), params={"$format": "json"})
        assert response.status_code == 401, path
        assert response.headers["WWW-Authenticate"].startswith("Basic")


def test_right_credentials_are_served(client: httpx.Client) -> None:
    assert client.get("Catalog_Контрагенты").status_code == 200


def test_default_format_is_atom(onec: OneC, raw_client: httpx.Client) -> None:
    onec.store.put("Catalog_Контрагенты", {"Description": "ООО Ромашка"})
    response = raw_client.get("Catalog_Контрагенты")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/atom+xml")
    feed = parse_xml(response.content)
    assert feed.tag == f"{ATOM}feed"
    entries = feed.findall(f"{ATOM}entry")
    assert len(entries) == 1
    props = entries[0].find(f"{ATOM}content/{METADATA}properties")
    assert props is not None
    assert props.findtext(f"{DATA}Description") == "ООО Ромашка"
    assert props.findtext(f"{DATA}DeletionMark") == "false"


def test_json_by_format_option_or_accept_header(onec: OneC, raw_client: httpx.Client) -> None:
    by_option = raw_client.get("Catalog_Контрагенты", params={"$format": "json"})
    by_header = raw_client.get("Catalog_Контрагенты", headers={"Accept": "application/json"})
    for response in (by_option, by_header):
        assert response.headers["content-type"].startswith("application/json")
        assert response.json()["value"] == []
    explicit_atom = raw_client.get(
        "Catalog_Контрагенты", params={"$format": "atom"}, headers={"Accept": "application/json"}
    )
    assert explicit_atom.headers["content-type"].startswith("application/atom+xml")


def test_unknown_format_is_refused(client: httpx.Client) -> None:
    response = client.get("Catalog_Контрагенты", params={"$format": "csv"})
    assert response.status_code == 400
    assert error_of(response)[0] == "3"


def test_collection_shape(onec: OneC, client: httpx.Client) -> None:
    onec.store.put("Catalog_Контрагенты", {"Description": "ООО", "КодАбонентаClobus": 42})
    body = client.get("Catalog_Контрагенты").json()
    assert body["odata.metadata"] == f"{onec.root}/$metadata#Catalog_Контрагенты"
    assert "odata.count" not in body
    [item] = body["value"]
    assert item["КодАбонентаClobus"] == 42
    assert item["DeletionMark"] is False
    assert item["ДатаНачалаПодписки"] == "0001-01-01T00:00:00"
    assert item["Тариф_Key"] == "00000000-0000-0000-0000-000000000000"
    assert item["КонтактнаяИнформация"] == []
    assert {"Ref_Key", "DataVersion", "Code", "Parent_Key", "IsFolder"} <= set(item)


def test_single_entity_shape(onec: OneC, client: httpx.Client) -> None:
    stored = onec.store.put(
        "Catalog_Пользователи",
        {
            "Description": "Иванов",
            "КонтактнаяИнформация": [{"Тип": "Телефон", "НомерТелефона": "1"}],
        },
    )
    key = stored["Ref_Key"]
    body = client.get(f"Catalog_Пользователи(guid'{key}')").json()
    assert body["odata.metadata"] == f"{onec.root}/$metadata#Catalog_Пользователи/@Element"
    assert body["Ref_Key"] == key
    assert body["Description"] == "Иванов"
    [row] = body["КонтактнаяИнформация"]
    assert row["Ref_Key"] == key
    assert row["LineNumber"] == "1"
    assert row["НомерТелефона"] == "1"


def test_single_entity_in_atom(onec: OneC, raw_client: httpx.Client) -> None:
    key = onec.store.put("Catalog_ВидыПОДляКонсультаций", {"Description": "1С:УТ"})["Ref_Key"]
    response = raw_client.get(f"Catalog_ВидыПОДляКонсультаций(guid'{key}')")
    assert response.headers["content-type"].startswith("application/atom+xml")
    entry = parse_xml(response.content)
    assert entry.tag == f"{ATOM}entry"
    assert entry.findtext(f"{ATOM}id", "").endswith(f"Catalog_ВидыПОДляКонсультаций(guid'{key}')")


def test_percent_encoded_entity_names_are_decoded(onec: OneC) -> None:
    onec.store.put("Catalog_КатегорииВопросов", {"Description": "Учёт"})
    url = f"{onec.root}/{quote('Catalog_КатегорииВопросов')}?%24format=json"
    response = httpx.get(url, auth=(USER, PASSWORD))
    assert [item["Description"] for item in values(response)] == ["Учёт"]


def test_service_document_lists_the_entity_sets(raw_client: httpx.Client) -> None:
    response = raw_client.get("")
    assert response.status_code == 200
    service = parse_xml(response.content)
    hrefs = {c.get("href") for c in service.iter("{http://www.w3.org/2007/app}collection")}
    assert {"Catalog_Контрагенты", "Document_ТелефонныйЗвонок"} <= hrefs


def test_metadata_is_edmx_listing_every_entity_type(raw_client: httpx.Client) -> None:
    response = raw_client.get("$metadata")
    assert response.status_code == 200
    document = parse_xml(response.content)
    types = {element.get("Name"): element for element in document.iter(f"{EDM}EntityType")}
    expected = {
        "Catalog_ВидыПОДляКонсультаций",
        "Catalog_РазделыПОДляКонсультаций",
        "Catalog_КатегорииВопросов",
        "Catalog_ВопросыНаКонсультацию",
        "Catalog_БазаЗнанийДляКонсультаций",
        "Catalog_ПомехиДляКонсультаций",
        "Catalog_Пользователи",
        "Catalog_Контрагенты",
        "Document_ТелефонныйЗвонок",
        "InformationRegister_РегистрацияПереносаКонсультации",
        "InformationRegister_ОценкаКонсультацийПоЗаявкам",
        "InformationRegister_РегистрацияДозвона",
        "InformationRegister_ЗакрытиеОчередиНаКонсультанта",
    }
    assert expected <= set(types)
    contractor = types["Catalog_Контрагенты"]
    properties = {p.get("Name"): p.get("Type") for p in contractor.iter(f"{EDM}Property")}
    assert properties["КодАбонентаClobus"] == "Edm.Int64"
    assert properties["Parent_Key"] == "Edm.Guid"
    assert properties["ДатаОкончанияПодписки"] == "Edm.DateTime"
    navigation = {
        n.get("Name") for n in types["Document_ТелефонныйЗвонок"].iter(f"{EDM}NavigationProperty")
    }
    assert {"Абонент", "Менеджер", "Автор"} <= navigation
    register = types["InformationRegister_ОценкаКонсультацийПоЗаявкам"]
    keys = [ref.get("Name") for ref in register.iter(f"{EDM}PropertyRef")]
    assert keys == ["Period", "Обращение_Key", "Контрагент_Key", "Менеджер_Key", "НомерВопроса"]


def test_metadata_as_json_is_not_supported(client: httpx.Client) -> None:
    response = client.get("$metadata", params={"$format": "json"})
    assert response.status_code == 400


def test_unknown_entity_set(client: httpx.Client) -> None:
    response = client.get("Catalog_Поставщики")
    assert response.status_code == 404
    assert error_of(response) == ("8", '"Catalog_Поставщики" entity is not found')


def test_unknown_instance(client: httpx.Client) -> None:
    response = client.get("Catalog_Контрагенты(guid'88d54406-36a1-11e9-8bb2-642737df2049')")
    assert response.status_code == 404
    assert error_of(response)[0] == "9"


def test_malformed_key_is_a_bad_url(client: httpx.Client) -> None:
    response = client.get("Catalog_Контрагенты(guid'not-a-guid')")
    assert response.status_code == 400
    assert error_of(response)[0] == "6"


def test_unknown_query_option_is_not_supported(client: httpx.Client) -> None:
    response = client.get(
        "Catalog_Контрагенты", params={"$select": "Description", "$expan": "Parent"}
    )
    assert response.status_code == 400
    assert error_of(response) == ("0", "The $expan parameter is not supported")


def test_parameters_without_dollar_are_not_options(client: httpx.Client) -> None:
    assert client.get("Catalog_Контрагенты", params={"allowedOnly": "true"}).status_code == 200


def test_errors_follow_the_negotiated_format(raw_client: httpx.Client) -> None:
    response = raw_client.get("Catalog_Нет")
    assert response.status_code == 404
    error = parse_xml(response.content)
    assert error.tag == f"{METADATA}error"
    assert error.findtext(f"{METADATA}code") == "8"


def test_method_not_allowed_on_a_collection(client: httpx.Client) -> None:
    response = client.delete("Catalog_Контрагенты")
    assert response.status_code == 405
    assert error_of(response)[0] == "19"


def test_paths_outside_the_service_root(onec: OneC) -> None:
    response = httpx.get(
        onec.server.url + "/other", auth=(USER, PASSWORD), params={"$format": "json"}
    )
    assert response.status_code == 404


def test_property_read_through_the_entity_url(onec: OneC, client: httpx.Client) -> None:
    folder = onec.store.put("Catalog_Контрагенты", {"Description": "CLOBUS", "IsFolder": True})
    item = onec.store.put(
        "Catalog_Контрагенты", {"Description": "ООО", "Parent_Key": folder["Ref_Key"]}
    )
    response = client.get(f"Catalog_Контрагенты(guid'{item['Ref_Key']}')/Parent/Description")
    assert response.status_code == 200
    assert response.json()["value"] == "CLOBUS"
