"""Reading a collection: query options, selection, order, paging and the shape of each entity.

The pipeline is 1C's: `$filter`, then `$orderby` (the key when absent, so paging is stable), then
`$skip`, then `$top`. `$inlinecount=allpages` counts the filtered set; as the guide says of 1C
(17.4.6.2) it also makes 1C ignore `$skip` and `$top`, so the whole filtered set comes back. Some
platform versions page anyway; `run_query(..., inlinecount_ignores_paging=False)` answers as they
do: the page cut by `$skip`/`$top`, the count still of the whole filtered set.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from switchboard.sandbox.onec.entities import EntityDef, Property
from switchboard.sandbox.onec.errors import Code, ODataError, query_option_error
from switchboard.sandbox.onec.filters import Lookup, Scope, compile_filter, compile_orderby
from switchboard.sandbox.onec.paths import key_path
from switchboard.sandbox.onec.presentation import object_presentation, value_presentation
from switchboard.sandbox.onec.values import Record

Registry = Mapping[str, EntityDef]

SUPPORTED_OPTIONS = frozenset(
    {"$filter", "$select", "$expand", "$orderby", "$top", "$skip", "$inlinecount", "$format"}
)
# The guide writes access filtering both as `allowedOnly` and as `$allowedOnly`.
IGNORED_OPTIONS = frozenset({"$allowedOnly"})
PRESENTATION = "____Presentation"


@dataclass(frozen=True)
class QueryOptions:
    filter: str | None = None
    select: str | None = None
    expand: str | None = None
    orderby: str | None = None
    top: int | None = None
    skip: int | None = None
    inlinecount: bool = False
    format: str | None = None


def read_options(params: Sequence[tuple[str, str]]) -> QueryOptions:
    """The `$` options of a request. An option 1C does not know is refused with code 0."""
    seen: dict[str, str] = {}
    for name, value in params:
        if not name.startswith("$") or name in IGNORED_OPTIONS:
            continue
        if name not in SUPPORTED_OPTIONS:
            raise ODataError(400, Code.NOT_SUPPORTED, f"The {name} parameter is not supported")
        if name in seen:
            raise query_option_error(name, "the option is given more than once")
        seen[name] = value
    return QueryOptions(
        filter=_text(seen.get("$filter")),
        select=_text(seen.get("$select")),
        expand=_text(seen.get("$expand")),
        orderby=_text(seen.get("$orderby")),
        top=_count_option("$top", seen.get("$top")),
        skip=_count_option("$skip", seen.get("$skip")),
        inlinecount=_inlinecount(seen.get("$inlinecount")),
        format=seen.get("$format"),
    )


def _text(value: str | None) -> str | None:
    return value if value is not None and value.strip() else None


def _count_option(name: str, value: str | None) -> int | None:
    if value is None:
        return None
    if not value.strip().isdigit():
        raise query_option_error(name, f"{value!r} is not a non-negative integer")
    return int(value)


def _inlinecount(value: str | None) -> bool:
    if value is None or value == "none":
        return False
    if value == "allpages":
        return True
    raise query_option_error("$inlinecount", f"{value!r} is neither allpages nor none")


@dataclass(frozen=True)
class Page:
    records: list[Record]
    count: int | None


def run_query(
    records: list[Record],
    entity: EntityDef,
    options: QueryOptions,
    *,
    registry: Registry,
    lookup: Lookup,
    inlinecount_ignores_paging: bool = True,
) -> Page:
    """Filter, order and page `records` (given in key order)."""
    selected = matching(records, entity, options.filter, registry=registry, lookup=lookup)
    if options.orderby:
        # Stable sorts from the last key to the first; ties keep key order.
        for sort_key in reversed(compile_orderby(options.orderby, entity, registry)):
            _sort(selected, sort_key.evaluate, lookup, descending=sort_key.descending)
    count = len(selected) if options.inlinecount else None
    if options.inlinecount and inlinecount_ignores_paging:
        return Page(selected, count)
    start = options.skip or 0
    end = None if options.top is None else start + options.top
    return Page(selected[start:end], count)


def _sort(
    records: list[Record], evaluate: Callable[[Scope], Any], lookup: Lookup, *, descending: bool
) -> None:
    def key(record: Record) -> Any:
        return evaluate(Scope(record, lookup))

    records.sort(key=key, reverse=descending)


def matching(
    records: list[Record],
    entity: EntityDef,
    condition: str | None,
    *,
    registry: Registry,
    lookup: Lookup,
) -> list[Record]:
    if condition is None:
        return list(records)
    predicate = compile_filter(condition, entity, registry)
    return [record for record in records if predicate(Scope(record, lookup))]


# --- $select and $expand -----------------------------------------------------------------------


@dataclass
class Shape:
    """Which parts of an entity a response carries."""

    fields: list[str]
    # section name -> selected columns (None: all of them)
    sections: dict[str, list[str] | None]
    # property (or navigation) names whose presentation is asked for; "" is the object's own
    presentations: list[str] = field(default_factory=list)
    expand: dict[str, Shape] = field(default_factory=dict)


ExpandTree = dict[str, "ExpandTree"]


def full_shape(entity: EntityDef) -> Shape:
    return Shape(
        fields=[prop.name for prop in entity.properties],
        sections={tab.name: None for tab in entity.tabular},
    )


def build_shape(
    entity: EntityDef, select: str | None, expand: str | None, registry: Registry
) -> Shape:
    tree = _expand_tree(entity, expand, registry) if expand else {}
    items = [item.strip() for item in select.split(",")] if select else []
    return _shape(entity, [item for item in items if item], tree, registry)


def _expand_tree(entity: EntityDef, expand: str, registry: Registry) -> ExpandTree:
    tree: ExpandTree = {}
    for item in expand.split(","):
        path = [part.strip() for part in item.split("/")]
        _add_expand_path(entity, path, tree, registry)
    return tree


def _add_expand_path(
    entity: EntityDef, path: list[str], tree: ExpandTree, registry: Registry
) -> None:
    head, rest = path[0], path[1:]
    names = [name for name, _ in entity.navigations()] if head == "*" else [head]
    for name in names:
        reference = entity.navigation(name)
        if reference is None or reference.target is None:
            raise query_option_error(
                "$expand", f"{name} is not a navigation property of {entity.name}"
            )
        subtree = tree.setdefault(name, {})
        if rest:
            _add_expand_path(registry[reference.target], rest, subtree, registry)


def _shape(entity: EntityDef, items: list[str], tree: ExpandTree, registry: Registry) -> Shape:
    star = not items or "*" in items
    # `**`: every property but no tabular section, whatever else is listed (guide 17.4.8).
    double_star = "**" in items and not star
    shape = full_shape(entity) if star else Shape(fields=[], sections={})
    if double_star:
        shape.fields = [prop.name for prop in entity.properties]
    nested: dict[str, list[str]] = {}
    for item in items:
        if item in ("*", "**"):
            continue
        if "/" in item:
            _select_part(entity, item, shape, tree, nested)
        else:
            _select_name(entity, item, shape, tree, nested)
    if double_star:
        shape.sections = {}
    for name, subtree in tree.items():
        if star or double_star or name in nested:
            _, target = entity.follow(name)
            shape.expand[name] = _shape(registry[target], nested.get(name, []), subtree, registry)
    chosen = set(shape.fields)
    shape.fields = [prop.name for prop in entity.properties if prop.name in chosen]
    return shape


def _attribute(entity: EntityDef, name: str) -> Property | None:
    """A property by its attribute name: `Абонент` names `Абонент_Key`."""
    return entity.prop(name) or entity.prop(name + "_Key")


def _select_name(
    entity: EntityDef, name: str, shape: Shape, tree: ExpandTree, nested: dict[str, list[str]]
) -> None:
    if name == "Presentation":
        shape.presentations.append("")
    elif name == "*" + PRESENTATION:
        shape.presentations += [prop.name.removesuffix("_Key") for prop in entity.properties]
    elif name.endswith(PRESENTATION):
        base = name.removesuffix(PRESENTATION)
        if _attribute(entity, base) is None:
            raise query_option_error("$select", f"property {base} not found in {entity.name}")
        shape.presentations.append(base)
    elif entity.prop(name) is not None:
        shape.fields.append(name)
    elif entity.tabular_section(name) is not None:
        shape.sections.setdefault(name, None)
    elif entity.navigation(name) is not None:
        if name in tree:
            nested.setdefault(name, [])
    else:
        raise query_option_error("$select", f"property {name} not found in {entity.name}")


def _select_part(
    entity: EntityDef, item: str, shape: Shape, tree: ExpandTree, nested: dict[str, list[str]]
) -> None:
    """`Tab/Column` (a tabular section's columns) or `Nav/…` (a part of an expanded entity)."""
    head, _, rest = item.partition("/")
    tab = entity.tabular_section(head)
    if tab is not None:
        known = {"Ref_Key", "LineNumber", *(column.name for column in tab.columns)}
        if rest in ("*", "**"):
            shape.sections[head] = None
            return
        if rest not in known:
            raise query_option_error("$select", f"property {head}/{rest} not found")
        columns = shape.sections.get(head, [])
        if columns is not None:
            shape.sections[head] = [*columns, rest]
        return
    if head in tree:
        nested.setdefault(head, []).append(rest)
        return
    raise query_option_error(
        "$select", f"{head}/{rest}: {head} is neither a tabular section nor expanded"
    )


# --- projection --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Expanded:
    """A related entity placed inside its referrer by `$expand`."""

    entity: EntityDef
    path: str
    item: dict[str, Any]


class Projector:
    """Turns stored records into response objects of a given shape."""

    def __init__(self, registry: Registry, lookup: Lookup) -> None:
        self.registry = registry
        self.lookup = lookup

    def project(self, entity: EntityDef, record: Record, shape: Shape) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in shape.fields:
            out[name] = wire_value(entity.require(name), record[name])
        for base in shape.presentations:
            out[(base + PRESENTATION) if base else "Presentation"] = self._presentation(
                entity, record, base
            )
        for name, columns in shape.sections.items():
            out[name] = [self._row(entity, name, row, columns) for row in record[name]]
        for name, sub_shape in shape.expand.items():
            reference, target_name = entity.follow(name)
            target = self.lookup(target_name, str(record[reference.name]))
            if target is None:
                out[name] = None
                continue
            target_entity = self.registry[target_name]
            out[name] = Expanded(
                target_entity,
                key_path(target_entity, target),
                self.project(target_entity, target, sub_shape),
            )
        return out

    def _row(
        self, entity: EntityDef, section: str, row: Record, columns: list[str] | None
    ) -> dict[str, Any]:
        row_entity = self.registry[f"{entity.name}_{section}"]
        names = [p.name for p in row_entity.properties]
        if columns is not None:
            names = [name for name in names if name in columns or name == "LineNumber"]
        result: dict[str, Any] = {}
        for name in names:
            result[name] = wire_value(row_entity.require(name), row[name])
        return result

    def _presentation(self, entity: EntityDef, record: Record, base: str) -> str:
        if not base:
            return object_presentation(entity, record)
        prop = _attribute(entity, base) or entity.require(base)
        return value_presentation(prop, record, self.lookup, self.registry)


def wire_value(prop: Property, value: Any) -> Any:
    return str(value) if prop.json_text and value is not None else value
