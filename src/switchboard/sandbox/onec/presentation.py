"""Presentations: the text 1C shows for an object or a value (`$select=X____Presentation`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from switchboard.sandbox.onec.entities import EntityDef, Kind, Property
from switchboard.sandbox.onec.values import Record, date_presentation, scalar_presentation

Lookup = Callable[[str, str], Record | None]


def object_presentation(entity: EntityDef, record: Record) -> str:
    """A catalog item shows its Description; a document "<synonym> <number> от <date>"."""
    if entity.kind is Kind.DOCUMENT:
        return f"{entity.synonym} {record['Number']} от {date_presentation(record['Date'])}"
    if entity.kind is Kind.CATALOG:
        return str(record["Description"])
    return entity.synonym or entity.name


def value_presentation(
    prop: Property, record: Record, lookup: Lookup, registry: Mapping[str, EntityDef]
) -> str:
    value = record.get(prop.name)
    if prop.target is not None and isinstance(value, str):
        target = lookup(prop.target, value)
        return "" if target is None else object_presentation(registry[prop.target], target)
    return scalar_presentation(prop.type, value)
