"""What a client may write: request bodies (JSON or atom entries) checked against an entity.

A property the object does not have is ignored, as the guide says of POST, PUT and PATCH
(17.4.13.1.2-3), and so is a column a tabular section does not have. 1C refuses what it cannot
read: a body that is not a JSON object or an atom entry, a value that does not fit its property's
type, a tabular section that is not a list of rows, a value given to a navigation property. OData
annotations (`odata.metadata`, `Tab@odata.type`, …) are accepted and ignored, and
`Attr@odata.bind` sets the reference `Attr_Key` from an entity URI, as the guide describes for PUT.

The emulator's own Python API (test setup, demo data) is stricter: there an unknown name is a
mistake in the data, refused with code 10 instead of silently dropped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote
from xml.etree import ElementTree

import orjson

from switchboard.sandbox.onec.entities import LINE_NUMBER, EntityDef, TabularSection
from switchboard.sandbox.onec.errors import (
    Code,
    ODataError,
    bad_property_value,
    property_not_assigned,
    property_not_found,
)
from switchboard.sandbox.onec.values import EMPTY_GUID, BadValue, Record, coerce, empty_value

# property name -> stored value; a tabular section's name -> its complete list of rows
Changes = dict[str, Any]
Registry = Mapping[str, EntityDef]

DATA_NS = "{http://schemas.microsoft.com/ado/2007/08/dataservices}"
METADATA_NS = "{http://schemas.microsoft.com/ado/2007/08/dataservices/metadata}"
_BIND = re.compile(r"(?P<entity>[^/(]+)\((?:Ref_Key=)?guid'(?P<key>[0-9a-fA-F-]{36})'\)")


def bad_body(detail: str) -> ODataError:
    return ODataError(400, Code.BAD_REQUEST_FORMAT, f"Неверный формат запроса: {detail}")


def parse_body(content: bytes, content_type: str) -> dict[str, object]:
    """The body of a POST, PATCH or PUT as a property mapping, from JSON or an atom entry."""
    stripped = content.lstrip()
    if not stripped:
        raise bad_body("the request has no body")
    if "xml" in content_type or (not content_type and stripped.startswith(b"<")):
        return _atom_properties(content)
    try:
        parsed = orjson.loads(content)
    except orjson.JSONDecodeError as exc:
        raise bad_body(f"the body is not JSON ({exc})") from None
    if not isinstance(parsed, dict):
        raise bad_body("the body must be a JSON object")
    return parsed


def normalize(
    entity: EntityDef, raw: Mapping[str, object], registry: Registry, *, trusted: bool = False
) -> Changes:
    """Validated changes in stored form.

    `trusted` is the emulator's own Python API (test setup, demo data): it may also set what
    only the platform sets over HTTP (DataVersion, Posted, Predefined), and it is refused an
    unknown name that a client's request would have ignored.
    """
    changes: Changes = {}
    for name, value in raw.items():
        if name.startswith("odata."):
            continue
        if "@" in name:
            changes.update(_annotation(entity, name, value, trusted=trusted))
            continue
        tab = entity.tabular_section(name)
        if tab is not None:
            changes[name] = rows(entity, tab, value, registry, trusted=trusted)
            continue
        prop = entity.prop(name)
        if prop is None:
            if entity.navigation(name) is not None:
                raise property_not_assigned(
                    name, f"set the reference through {name}_Key or {name}@odata.bind"
                )
            if trusted:
                raise property_not_found(name)
            continue
        if not prop.writable and not trusted:
            continue
        try:
            changes[name] = coerce(prop, value)
        except BadValue as exc:
            raise bad_property_value(name, str(exc)) from None
    return changes


def _annotation(entity: EntityDef, name: str, value: object, *, trusted: bool) -> Changes:
    base, _, annotation = name.partition("@")
    if annotation == "odata.bind":
        reference = entity.navigation(base)
        if reference is not None:
            return {reference.name: _bound_key(base, reference.target, value)}
    # Annotations 1C itself writes (`@odata.type`, `@navigationLinkUrl`) may come back unchanged.
    elif annotation.startswith("odata.") or annotation == "navigationLinkUrl":
        return {}
    # A binding or an annotation of a property the object does not have: ignored like the
    # property itself would be.
    if trusted:
        raise property_not_found(name)
    return {}


def _bound_key(name: str, target: str | None, value: object) -> str:
    if not isinstance(value, str):
        raise bad_property_value(name, "an @odata.bind value must be an entity URI")
    match = _BIND.fullmatch(unquote(value.rsplit("/", 1)[-1]))
    if match is None or match["entity"] != target:
        raise bad_property_value(name, f"{value!r} is not a URI of a {target} entity")
    return match["key"].lower()


def rows(
    entity: EntityDef,
    tab: TabularSection,
    value: object,
    registry: Registry,
    *,
    trusted: bool = False,
) -> list[Record]:
    """A tabular section's complete new rows, numbered from 1 in the order sent."""
    if not isinstance(value, list):
        raise bad_property_value(tab.name, "a tabular section must be a list of rows")
    row_entity = registry[f"{entity.name}_{tab.name}"]
    template: Record = {"Ref_Key": EMPTY_GUID, LINE_NUMBER.name: 0}
    template.update({column.name: empty_value(column.type) for column in tab.columns})
    result: list[Record] = []
    for number, item in enumerate(value, start=1):
        if not isinstance(item, Mapping):
            raise bad_property_value(tab.name, "each row must be an object")
        row = dict(template)
        for name, cell in item.items():
            if name.startswith("odata.") or "@odata." in name:
                continue
            column = row_entity.prop(name)
            if column is None:
                if trusted:
                    raise property_not_found(f"{tab.name}/{name}")
                continue
            try:
                converted = coerce(column, cell)
            except BadValue as exc:
                raise bad_property_value(f"{tab.name}/{name}", str(exc)) from None
            # The owner's key and the row number are the platform's: rows are renumbered.
            if column.writable and column.name != LINE_NUMBER.name:
                row[name] = converted
        row[LINE_NUMBER.name] = number
        result.append(row)
    return result


# --- atom entries ------------------------------------------------------------------------------


def _atom_properties(content: bytes) -> dict[str, object]:
    head = content[:2048].lower()
    if b"<!doctype" in head or b"<!entity" in head:
        # No DTDs: entity expansion is the classic way to blow up an XML reader.
        raise bad_body("DTDs are not accepted")
    try:
        root = ElementTree.fromstring(content)  # noqa: S314 - DTDs refused above
    except ElementTree.ParseError as exc:
        raise bad_body(f"the body is not XML ({exc})") from None
    properties = root.find(f".//{METADATA_NS}properties")
    if properties is None:
        raise bad_body("an atom entry needs <m:properties>")
    return {_local(child.tag): _atom_value(child) for child in properties}


def _atom_value(element: ElementTree.Element) -> object:
    if element.get(f"{METADATA_NS}null") == "true":
        return None
    elements = list(element)
    if elements:
        return [{_local(cell.tag): _atom_value(cell) for cell in row} for row in elements]
    if element.get(f"{METADATA_NS}type", "").startswith("Collection("):
        return []
    return element.text or ""


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]
