"""Virtual tables of periodic information registers: `SliceLast` and `SliceFirst` (guide 17.4.4,
17.4.9, 17.4.13.1.1).

    InformationRegister_X/SliceLast()
    InformationRegister_X/SliceLast(Period=datetime'2024-05-01T00:00:00',Condition='Dim_Key eq …')
    InformationRegister_X/SliceFirst(Period=datetime'…')
    InformationRegister_X/SliceLast?Condition=Dim_Key eq guid'…'

As in 1C's query language (СрезПоследних / СрезПервых), a slice keeps one record per combination
of dimensions: the latest one at or before `Period` (SliceLast) or the earliest one at or after
it (SliceFirst); without `Period`, the latest or earliest of all. `Condition` is applied to the
register's records before the slice is taken — so `Condition=Цена gt 0` gives the last record
with a price, while `$filter=Цена gt 0` after the slice drops the combinations whose last record
has none. The query options (`$filter`, `$select`, `$orderby`, `$top`, `$skip`, `$inlinecount`,
`$expand`) then work on the slice as on any collection.

The guide writes a quoted condition without doubling the quotes inside it
(`Condition='Валюта_Key eq guid'value''`), clients also send it doubled as OData strings are, or
unquoted (`Condition=Статус eq 'Студент'`); all three are read, and so are the parameters given
positionally in the query language's order (`SliceLast(datetime'…', Статус eq 'Студент')`).
A register that is not periodic has no such tables: 1C answers "method not found" (code 6).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from switchboard.sandbox.onec.entities import EntityDef
from switchboard.sandbox.onec.errors import Code, ODataError, bad_url
from switchboard.sandbox.onec.filters import Lookup, Predicate, Registry, Scope, compile_filter
from switchboard.sandbox.onec.values import BadValue, Record, canonical_datetime

SLICE_LAST = "SliceLast"
SLICE_FIRST = "SliceFirst"
VIRTUAL_TABLES = (SLICE_LAST, SLICE_FIRST)
PARAMETERS = ("Period", "Condition")
CONDITION_OPTION = "Condition"

# `Name=` at the start of the argument list or after a comma.
_NAMED = re.compile(r"(?:^|,)\s*(?P<name>[^\W\d]\w*)\s*=")
_QUOTED_PERIOD = re.compile(r"(?:datetime)?'(?P<text>[^']*)'")


@dataclass(frozen=True)
class SliceCall:
    """A parsed call of a slice: which one, at what moment, under what condition."""

    latest: bool
    period: str | None = None
    # The condition's possible readings, tried in order (see `_condition_readings`).
    condition: tuple[str, ...] = ()


def method_not_found(name: str) -> ODataError:
    return ODataError(400, Code.BAD_URL, f"Метод не найден: {name}")


def parse_call(
    entity: EntityDef,
    function: str,
    arguments: str | None,
    query: Sequence[tuple[str, str]],
) -> SliceCall:
    """The slice named by the URL, or the error 1C answers.

    Parameters come from the parentheses (`SliceLast(Period=…,Condition=…)`) or, in the guide's
    other form, from the query string (`SliceLast?Condition=…`); the parentheses win.
    """
    if function not in VIRTUAL_TABLES or not (entity.is_register and entity.periodic):
        raise method_not_found(function)
    named = _from_query(query)
    named.update(_arguments(function, arguments or ""))
    period_text = named.get("Period")
    condition = named.get("Condition")
    return SliceCall(
        latest=function == SLICE_LAST,
        period=_period(function, period_text) if period_text else None,
        condition=_condition_readings(condition) if condition and condition.strip() else (),
    )


def slice_records(
    records: Sequence[Record],
    entity: EntityDef,
    call: SliceCall,
    *,
    registry: Registry,
    lookup: Lookup,
) -> list[Record]:
    """One record per combination of dimensions, in the register's key order."""
    accept = _condition(entity, call.condition, registry)
    dimensions = [name for name in entity.key if name != "Period"]
    chosen: dict[tuple[object, ...], Record] = {}
    for record in records:
        period: str = record["Period"]
        if call.period is not None and (
            period > call.period if call.latest else period < call.period
        ):
            continue
        if accept is not None and not accept(Scope(record, lookup)):
            continue
        group = tuple(record[name] for name in dimensions)
        current = chosen.get(group)
        if current is None or (
            period > current["Period"] if call.latest else period < current["Period"]
        ):
            chosen[group] = record
    order = {id(record): index for index, record in enumerate(records)}
    return sorted(chosen.values(), key=lambda record: order[id(record)])


# --- parameters --------------------------------------------------------------------------------


def _from_query(query: Sequence[tuple[str, str]]) -> dict[str, str]:
    return {name: value for name, value in query if name in PARAMETERS}


def _arguments(function: str, text: str) -> dict[str, str]:
    """`Period=…,Condition=…` split at each `Name=`. Unnamed values before the first name are
    positional, in the query language's order: `SliceLast(datetime'…', Condition)`."""
    matches = list(_NAMED.finditer(text))
    named: dict[str, str] = {}
    leading = text[: matches[0].start()] if matches else text
    period, _, condition = leading.partition(",")
    for name, value in zip(PARAMETERS, (period, condition), strict=True):
        if value.strip():
            named[name] = value.strip()
    for index, match in enumerate(matches):
        name = match["name"]
        if name not in PARAMETERS:
            raise bad_url(
                f"{function} has no parameter {name}; its parameters are Period, Condition"
            )
        if name in named:
            raise bad_url(f"the parameter {name} of {function} is given twice")
        end = matches[index + 1].start() if index + 1 < len(matches) else len(text)
        named[name] = text[match.end() : end].strip()
    return named


def _period(function: str, text: str) -> str:
    """`datetime'…'`, or the quoted text of a date as some clients send it."""
    quoted = _QUOTED_PERIOD.fullmatch(text.strip())
    if quoted is None:
        raise bad_url(f"the Period of {function} must be a datetime'YYYY-MM-DDTHH:MM:SS' literal")
    try:
        return canonical_datetime(quoted["text"])
    except BadValue as exc:
        raise bad_url(f"the Period of {function}: {exc}") from None


def _condition_readings(text: str) -> tuple[str, ...]:
    """What a condition may mean: unquoted it is itself; quoted, the text inside the quotes —
    read first as an OData string with doubled quotes when every quote inside is doubled, and
    otherwise (or if that does not parse) as the guide writes it, quotes left as they are."""
    text = text.strip()
    if len(text) < 2 or not (text.startswith("'") and text.endswith("'")):
        return (text,)
    inner = text[1:-1]
    if "''" in inner and "'" not in inner.replace("''", ""):
        return (inner.replace("''", "'"), inner)
    return (inner,)


def _condition(
    entity: EntityDef, readings: tuple[str, ...], registry: Registry
) -> Callable[[Scope], bool] | None:
    if not readings:
        return None
    first_error: ODataError | None = None
    for reading in readings:
        try:
            predicate: Predicate = compile_filter(
                reading, entity, registry, option=CONDITION_OPTION
            )
        except ODataError as exc:
            first_error = first_error or exc
            continue
        return predicate
    assert first_error is not None
    raise first_error
