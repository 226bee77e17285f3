"""`$metadata` (EDMX, CSDL v3) and the service document, built from the entity registry."""

from __future__ import annotations

from switchboard.sandbox.onec.entities import EntityDef, EntityRegistry, Kind, Property
from switchboard.sandbox.onec.virtual import VIRTUAL_TABLES
from switchboard.sandbox.onec.xmltext import ATOM_NS, DECLARATION, METADATA_NS, element

EDMX_NS = "http://schemas.microsoft.com/ado/2007/06/edmx"
EDM_NS = "http://schemas.microsoft.com/ado/2009/11/edm"
APP_NS = "http://www.w3.org/2007/app"
NAMESPACE = "StandardODATA"


def edmx(registry: EntityRegistry) -> bytes:
    schema_parts: list[str] = []
    container: list[str] = []
    for entity in registry.values():
        schema_parts.append(_entity_type(entity))
        container.append(
            element("EntitySet", {"Name": entity.name, "EntityType": entity.type_name})
        )
        for tab in entity.tabular:
            columns = registry[f"{entity.name}_{tab.name}"].properties
            schema_parts.append(
                element(
                    "ComplexType",
                    {"Name": f"{entity.name}_{tab.name}_RowType"},
                    [_property(column) for column in columns],
                )
            )
        for navigation, reference in entity.navigations():
            association = f"{entity.name}_{navigation}"
            assert reference.target is not None
            schema_parts.append(_association(association, entity.name, reference.target))
            container.append(_association_set(association, entity.name, reference.target))
        if entity.kind is Kind.DOCUMENT:
            container += _posting_functions(entity)
        if entity.is_register and entity.periodic:
            container += _slice_functions(entity)
    schema_parts.append(
        element(
            "EntityContainer",
            {"Name": "EnterpriseV8", "m:IsDefaultEntityContainer": "true"},
            container,
        )
    )
    schema = element("Schema", {"xmlns": EDM_NS, "Namespace": NAMESPACE}, schema_parts)
    services = element(
        "edmx:DataServices",
        {"xmlns:m": METADATA_NS, "m:DataServiceVersion": "3.0"},
        [schema],
    )
    document = element("edmx:Edmx", {"xmlns:edmx": EDMX_NS, "Version": "1.0"}, [services])
    return (DECLARATION + document).encode()


def _entity_type(entity: EntityDef) -> str:
    key = element("Key", children=[element("PropertyRef", {"Name": name}) for name in entity.key])
    parts = [key]
    parts += [_property(prop, key=prop.name in entity.key) for prop in entity.properties]
    parts += [
        element(
            "Property",
            {
                "Name": tab.name,
                "Type": f"Collection({entity.row_type_name(tab.name)})",
                "Nullable": "false",
            },
        )
        for tab in entity.tabular
    ]
    parts += [
        element(
            "NavigationProperty",
            {
                "Name": navigation,
                "Relationship": f"{NAMESPACE}.{entity.name}_{navigation}",
                "FromRole": "Begin",
                "ToRole": "End",
            },
        )
        for navigation, _ in entity.navigations()
    ]
    return element("EntityType", {"Name": entity.name}, parts)


def _property(prop: Property, *, key: bool = False) -> str:
    attributes = {"Name": prop.name, "Type": prop.type.value}
    if key:
        attributes["Nullable"] = "false"
    return element("Property", attributes)


def _association(name: str, source: str, target: str) -> str:
    return element(
        "Association",
        {"Name": name},
        [
            element("End", {"Role": "Begin", "Type": f"{NAMESPACE}.{source}", "Multiplicity": "*"}),
            element(
                "End", {"Role": "End", "Type": f"{NAMESPACE}.{target}", "Multiplicity": "0..1"}
            ),
        ],
    )


def _association_set(name: str, source: str, target: str) -> str:
    return element(
        "AssociationSet",
        {"Name": name, "Association": f"{NAMESPACE}.{name}"},
        [
            element("End", {"Role": "Begin", "EntitySet": source}),
            element("End", {"Role": "End", "EntitySet": target}),
        ],
    )


def _posting_functions(entity: EntityDef) -> list[str]:
    binding = element("Parameter", {"Name": "bindingParameter", "Type": entity.type_name})
    mode = element("Parameter", {"Name": "PostingModeOperational", "Type": "Edm.Boolean"})
    common = {"IsBindable": "true", "IsSideEffecting": "true", "m:HttpMethod": "POST"}
    return [
        element("FunctionImport", {"Name": "Post", **common}, [binding, mode]),
        element("FunctionImport", {"Name": "Unpost", **common}, [binding]),
    ]


def _slice_functions(entity: EntityDef) -> list[str]:
    """The virtual tables of a periodic register, bound to its entity set (guide 17.4.9)."""
    collection = f"Collection({entity.type_name})"
    parameters = [
        element("Parameter", {"Name": "bindingParameter", "Type": collection}),
        element("Parameter", {"Name": "Period", "Type": "Edm.DateTime"}),
        element("Parameter", {"Name": "Condition", "Type": "Edm.String"}),
    ]
    attributes = {
        "ReturnType": collection,
        "EntitySet": entity.name,
        "IsBindable": "true",
        "IsSideEffecting": "false",
        "m:HttpMethod": "GET",
    }
    return [
        element("FunctionImport", {"Name": name, **attributes}, parameters)
        for name in VIRTUAL_TABLES
    ]


def service_document(registry: EntityRegistry, root: str) -> bytes:
    collections = [
        element("collection", {"href": name}, [element("atom:title", text=name)])
        for name in registry
    ]
    workspace = element("workspace", children=[element("atom:title", text="Default"), *collections])
    document = element(
        "service",
        {"xmlns": APP_NS, "xmlns:atom": ATOM_NS, "xml:base": root},
        [workspace],
    )
    return (DECLARATION + document).encode()
