"""Responses in 1C's two formats: JSON (OData v3 "JSON light") and atom-xml, the default.

JSON follows the guide's listings: a collection is `{"odata.metadata": "<root>/$metadata#Set",
"value": [...]}` with `"odata.count"` as a string when asked; a single entity is its properties
plus `"odata.metadata": "…#Set/@Element"`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from switchboard.sandbox.onec.entities import EntityDef
from switchboard.sandbox.onec.errors import Code, ODataError
from switchboard.sandbox.onec.query import PRESENTATION, Expanded
from switchboard.sandbox.onec.xmltext import (
    ATOM_NS,
    DATA_NS,
    DECLARATION,
    METADATA_NS,
    RELATED,
    SCHEME,
    element,
)

JSON_TYPE = "application/json;charset=utf-8"
FEED_TYPE = "application/atom+xml;type=feed;charset=utf-8"
ENTRY_TYPE = "application/atom+xml;type=entry;charset=utf-8"
XML_TYPE = "application/xml;charset=utf-8"
NAMESPACES = {"xmlns": ATOM_NS, "xmlns:d": DATA_NS, "xmlns:m": METADATA_NS}

Item = dict[str, Any]


@dataclass(frozen=True)
class Format:
    json: bool
    # JSON only: "minimal" (1C's default), "none" or "full" (`application/json;odata=…`).
    metadata: str = "minimal"


ATOM = Format(json=False)


def negotiate(format_option: str | None, accept: str | None) -> Format:
    """`$format` wins; else `Accept: application/json`; else atom, 1C's default."""
    if format_option is None:
        return Format(json=True) if accept and "application/json" in accept else ATOM
    value = format_option.strip().lower()
    if value in ("atom", "xml", "application/atom+xml", "application/xml"):
        return ATOM
    if value == "json" or value.startswith("application/json"):
        level = value.partition("odata=")[2].split(";")[0] or "minimalmetadata"
        levels = {"minimalmetadata": "minimal", "nometadata": "none", "fullmetadata": "full"}
        if level in levels:
            return Format(json=True, metadata=levels[level])
    raise ODataError(
        400,
        Code.FORMAT_NOT_SUPPORTED,
        f"Запрошенный тип представления не поддерживается: {format_option}",
    )


def lenient(format_option: str | None, accept: str | None) -> Format:
    """The format for an error: what the client asked for, if it asked for something known."""
    try:
        return negotiate(format_option, accept)
    except ODataError:
        return negotiate(None, accept)


class Renderer:
    def __init__(self, root: str, fmt: Format, updated: str) -> None:
        self.root = root  # the service root, without a trailing slash
        self.fmt = fmt
        self.updated = updated

    # --- entry points --------------------------------------------------------------------------

    def collection(
        self, entity: EntityDef, items: Sequence[tuple[str, Item]], count: int | None
    ) -> tuple[bytes, str]:
        if self.fmt.json:
            document: dict[str, Any] = self._metadata(f"#{entity.name}")
            if count is not None:
                document["odata.count"] = str(count)
            document["value"] = [self._json_item(entity, path, item) for path, item in items]
            return _dumps(document), JSON_TYPE
        children = [
            element("id", text=f"{self.root}/{entity.name}"),
            element("title", {"type": "text"}, text=entity.name),
            element("updated", text=self.updated),
            element("author"),
            element("link", {"rel": "self", "href": entity.name, "title": entity.name}),
            *(self._entry(entity, path, item) for path, item in items),
        ]
        if count is not None:
            children.append(element("m:count", text=str(count)))
        feed = element("feed", {**NAMESPACES, "xml:base": self.root + "/"}, children)
        return (DECLARATION + feed).encode(), FEED_TYPE

    def entity(self, entity: EntityDef, path: str, item: Item) -> tuple[bytes, str]:
        if self.fmt.json:
            document = self._metadata(f"#{entity.name}/@Element")
            document.update(self._json_item(entity, path, item, top=True))
            return _dumps(document), JSON_TYPE
        entry = self._entry(entity, path, item, namespaces=True)
        return (DECLARATION + entry).encode(), ENTRY_TYPE

    def value(self, name: str, type_name: str, value: Any) -> tuple[bytes, str]:
        """A single property read through the entity's URL (`Catalog_X(guid'…')/Description`)."""
        if self.fmt.json:
            document = self._metadata(f"#{type_name}")
            document["value"] = value
            return _dumps(document), JSON_TYPE
        namespaces = {"xmlns:d": DATA_NS, "xmlns:m": METADATA_NS}
        row_type = type_name.removeprefix("Collection(").removesuffix(")")
        body = _property_xml(name, value, row_type, namespaces)
        return (DECLARATION + body).encode(), XML_TYPE

    # --- JSON ----------------------------------------------------------------------------------

    def _metadata(self, fragment: str) -> dict[str, Any]:
        if self.fmt.metadata == "none":
            return {}
        return {"odata.metadata": f"{self.root}/$metadata{fragment}"}

    def _json_item(self, entity: EntityDef, path: str, item: Item, *, top: bool = False) -> Item:
        result: Item = {}
        if self.fmt.metadata == "full":
            result["odata.type"] = entity.type_name
            result["odata.id"] = f"{self.root}/{path}"
            result["odata.editLink"] = path
        for name, value in item.items():
            if isinstance(value, Expanded):
                result[name] = self._json_item(value.entity, value.path, value.item)
            else:
                result[name] = value
        return result

    # --- atom ----------------------------------------------------------------------------------

    def _entry(self, entity: EntityDef, path: str, item: Item, *, namespaces: bool = False) -> str:
        children = [
            element("id", text=f"{self.root}/{path}"),
            element("category", {"term": entity.type_name, "scheme": SCHEME}),
            element("title", {"type": "text"}),
            element("updated", text=self.updated),
            element("author"),
            element("summary"),
        ]
        for navigation, _ in entity.navigations():
            inline: list[str] = []
            if navigation in item:
                related = item[navigation]
                inner = (
                    [self._entry(related.entity, related.path, related.item)]
                    if isinstance(related, Expanded)
                    else []
                )
                inline = [element("m:inline", children=inner)]
            link = {
                "rel": RELATED + navigation,
                "href": f"{path}/{navigation}",
                "type": "application/atom+xml;type=entry",
                "title": navigation,
            }
            children.append(element("link", link, inline))
        children.append(element("link", {"rel": "edit", "href": path, "title": "edit link"}))
        properties = [
            _property_xml(name, value, _row_type(entity, name))
            for name, value in item.items()
            if entity.navigation(name) is None
        ]
        content = element(
            "content", {"type": "application/xml"}, [element("m:properties", children=properties)]
        )
        children.append(content)
        attributes = {**NAMESPACES, "xml:base": self.root + "/"} if namespaces else {}
        return element("entry", attributes, children)


def _row_type(entity: EntityDef, name: str) -> str | None:
    if entity.tabular_section(name) is None or name.endswith(PRESENTATION):
        return None
    return entity.row_type_name(name)


def _property_xml(
    name: str, value: Any, row_type: str | None, namespaces: dict[str, str] | None = None
) -> str:
    tag = f"d:{name}"
    extra = namespaces or {}
    if isinstance(value, list):
        rows = [
            element(
                "d:element",
                {"m:type": row_type or ""},
                [_property_xml(column, cell, None) for column, cell in row.items()],
            )
            for row in value
        ]
        return element(tag, {**extra, "m:type": f"Collection({row_type})"}, rows)
    if value is None:
        return element(tag, {**extra, "m:null": "true"})
    if isinstance(value, bool):
        return element(tag, extra, text="true" if value else "false")
    return element(tag, extra, text=str(value))


def _dumps(document: Any) -> bytes:
    return orjson.dumps(document)
