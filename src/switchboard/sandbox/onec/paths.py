"""Resource paths: reading `Entity(keys)/segments` from a URL and writing canonical entity URLs."""

from __future__ import annotations

import re
from dataclasses import dataclass

from switchboard.sandbox.onec.entities import Edm, EntityDef, Property
from switchboard.sandbox.onec.errors import Code, ODataError, bad_url
from switchboard.sandbox.onec.filters import Literal, key_value, parse_key
from switchboard.sandbox.onec.store import Key
from switchboard.sandbox.onec.values import Record, Scalar

# A function of an entity set, e.g. `/SliceLast(Period=…,Condition='A/B eq 1')/`: its arguments
# run to the last parenthesis, since a condition may hold slashes, parentheses and quotes.
_FUNCTION = re.compile(r"/(?P<name>[^\W\d]\w*)(?:\((?P<arguments>.*)\))?/?", re.DOTALL)


@dataclass(frozen=True)
class ResourcePath:
    """`name`, the text inside its parentheses (None without a key), then the rest; or, for a
    function of the entity set (`SliceLast(…)`), the function's name and argument text."""

    name: str
    key_text: str | None
    segments: tuple[str, ...]
    function: str | None = None
    arguments: str | None = None


def split_resource(path: str, functions: tuple[str, ...] = ()) -> ResourcePath:
    """Split what follows the service root, e.g. `Document_X(guid'…')/Post()`. A set's function
    named in `functions` is read whole, so its arguments are not cut at their slashes."""
    cut = min((i for i in (path.find("("), path.find("/")) if i >= 0), default=len(path))
    name, rest = path[:cut], path[cut:]
    key_text: str | None = None
    if rest.startswith("/"):
        call = _FUNCTION.fullmatch(rest)
        if call is not None and call["name"] in functions:
            return ResourcePath(name, None, (), call["name"], call["arguments"])
    if rest.startswith("("):
        close = _closing_parenthesis(rest)
        key_text, rest = rest[1:close], rest[close + 1 :]
    if rest and not rest.startswith("/"):
        raise bad_url(f"unexpected {rest!r} after the resource name")
    segments = tuple(segment for segment in rest.split("/") if segment)
    return ResourcePath(name, key_text, segments)


def _closing_parenthesis(text: str) -> int:
    quoted = False
    for index, char in enumerate(text):
        if char == "'":
            quoted = not quoted  # a doubled '' inside a string toggles twice: still quoted
        elif char == ")" and not quoted:
            return index
    raise bad_url("the entity key has no closing parenthesis")


def resolve_key(entity: EntityDef, key_text: str) -> Key:
    """The record key named by `Entity(key_text)`."""
    try:
        parsed = parse_key(key_text)
    except ValueError as exc:
        raise bad_url(f"cannot read the key ({exc})") from None
    named: dict[str, Literal]
    if isinstance(parsed, Literal):
        if len(entity.key) != 1:
            raise ODataError(
                400,
                Code.KEY_ELEMENT_MISSING,
                f"Не хватает элемента ключа: нужны {', '.join(entity.key)}",
            )
        named = {entity.key[0]: parsed}
    else:
        named = parsed
    unknown = sorted(set(named) - set(entity.key))
    if unknown:
        raise bad_url(f"{', '.join(unknown)} is not a key of {entity.name}")
    values: list[Scalar] = []
    for name in entity.key:
        if name not in named:
            raise ODataError(400, Code.KEY_ELEMENT_MISSING, f"Не хватает элемента ключа: {name}")
        try:
            values.append(key_value(entity.require(name), named[name]))
        except ValueError as exc:
            raise bad_url(str(exc)) from None
    return str(values[0]) if entity.is_object else tuple(values)


def literal(prop: Property, value: Scalar) -> str:
    """`value` written as an OData URL literal of `prop`'s type."""
    if prop.type is Edm.GUID:
        return f"guid'{value}'"
    if prop.type is Edm.DATETIME:
        return f"datetime'{value}'"
    if prop.type is Edm.BOOLEAN:
        return "true" if value else "false"
    if prop.type is Edm.STRING:
        return "'" + str(value).replace("'", "''") + "'"
    return str(value)


def key_path(entity: EntityDef, record: Record) -> str:
    """The canonical path of a record: `Catalog_X(guid'…')`, `InformationRegister_X(Period=…,…)`."""
    if entity.is_object:
        return f"{entity.name}(guid'{record['Ref_Key']}')"
    parts = [f"{name}={literal(entity.require(name), record[name])}" for name in entity.key]
    return f"{entity.name}({','.join(parts)})"
