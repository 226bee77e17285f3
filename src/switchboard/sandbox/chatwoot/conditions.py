"""The filter DSL of `POST /contacts/filter` and `POST /conversations/filter` (FilterService).

Chatwoot turns each payload item into a SQL fragment followed by the item's `query_operator` and
runs the concatenation. The emulator keeps the consequences an independent client can see:

* refusals are 422 `{"error": ...}`: a `query_operator` other than AND/OR (checked on every item
  first), then per item in order an operator the attribute does not allow, blank `values`, and an
  attribute that is neither standard nor a custom attribute *defined* for that model;
* what breaks the SQL is a 500: a missing or dangling `query_operator`, a value PostgreSQL cannot
  cast (`"abc"` for an id, a malformed date, a number compared with text), a custom attribute of
  display type currency or percent (no SQL type), a custom `not_equal_to` that is not last;
* AND binds tighter than OR, NULL matches nothing (so `not_equal_to` skips rows without the
  attribute), and a custom `not_equal_to` also matches rows where the attribute is missing;
* custom attributes compare by their definition's type (text lower-cased, number, date, boolean)
  and only `values[0]` counts for them; contacts use only `values[0]` everywhere, conversations
  use the whole list for standard attributes until a custom attribute appears in the payload,
  after which a string value is cut down to its first, lower-cased item (Chatwoot keeps that
  state between items).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson

from switchboard.sandbox.chatwoot.errors import ServerError, could_not_create
from switchboard.sandbox.chatwoot.records import (
    PRIORITIES,
    STATUSES,
    Contact,
    Conversation,
    utcnow,
)
from switchboard.sandbox.chatwoot.rules import like_matches, present
from switchboard.sandbox.chatwoot.store import Store

EQUALITY = ("equal_to", "not_equal_to")
TEXT_MATCH = ("contains", "does_not_contain")
PRESENCE = ("is_present", "is_not_present")
DATES = ("is_greater_than", "is_less_than", "days_before")
ORDERING = ("is_greater_than", "is_less_than")

# A custom attribute's display type -> the SQL type its values are cast to (none for some).
SQL_TYPES = {
    "date": "date",
    "text": "text",
    "number": "numeric",
    "link": "text",
    "list": "text",
    "checkbox": "boolean",
}


@dataclass(frozen=True)
class Attribute:
    """One entry of Chatwoot's filter key table (lib/filters/filter_keys.yml)."""

    attribute_type: str  # "standard" or "additional_attributes"
    data_type: str
    operators: tuple[str, ...]


CONVERSATION_FILTERS: dict[str, Attribute] = {
    "status": Attribute("standard", "text", EQUALITY),
    "assignee_id": Attribute("standard", "text", (*EQUALITY, *PRESENCE)),
    "inbox_id": Attribute("standard", "text", (*EQUALITY, *PRESENCE)),
    "team_id": Attribute("standard", "number", (*EQUALITY, *PRESENCE)),
    "priority": Attribute("standard", "text", EQUALITY),
    "display_id": Attribute("standard", "Number", (*EQUALITY, *TEXT_MATCH)),
    "campaign_id": Attribute("standard", "Number", (*EQUALITY, *PRESENCE)),
    "labels": Attribute("standard", "labels", (*EQUALITY, *PRESENCE)),
    "browser_language": Attribute("additional_attributes", "text", EQUALITY),
    "conversation_language": Attribute("additional_attributes", "text", EQUALITY),
    "referer": Attribute("additional_attributes", "link", (*EQUALITY, *TEXT_MATCH)),
    "created_at": Attribute("standard", "date", DATES),
    "last_activity_at": Attribute("standard", "date", DATES),
    "mail_subject": Attribute("additional_attributes", "text", (*EQUALITY, *TEXT_MATCH)),
}

_TEXT_CI = "text_case_insensitive"
CONTACT_FILTERS: dict[str, Attribute] = {
    "name": Attribute("standard", "text_case_insensitive", (*EQUALITY, *TEXT_MATCH)),
    "phone_number": Attribute("standard", "text", (*EQUALITY, *TEXT_MATCH, "starts_with")),
    "email": Attribute("standard", "text_case_insensitive", (*EQUALITY, *TEXT_MATCH)),
    "identifier": Attribute("standard", "text_case_insensitive", EQUALITY),
    "country_code": Attribute("additional_attributes", _TEXT_CI, EQUALITY),
    "city": Attribute("additional_attributes", _TEXT_CI, (*EQUALITY, *TEXT_MATCH)),
    "company": Attribute("additional_attributes", _TEXT_CI, (*EQUALITY, *TEXT_MATCH)),
    "labels": Attribute("standard", "labels", (*EQUALITY, *PRESENCE)),
    "created_at": Attribute("standard", "date", DATES),
    "last_activity_at": Attribute("standard", "date", DATES),
    "blocked": Attribute("standard", "boolean", EQUALITY),
}

# The SQL type of each standard column that is not text.
_CONVERSATION_COLUMN_TYPES = {
    "status": "integer",
    "priority": "integer",
    "assignee_id": "integer",
    "inbox_id": "integer",
    "team_id": "integer",
    "display_id": "integer",
    "campaign_id": "integer",
}
_CONTACT_COLUMN_TYPES = {"blocked": "boolean"}

Row = Any  # a Contact or a Conversation
Predicate = Callable[[Row], bool]
Getter = Callable[[Row], Any]


@dataclass(frozen=True)
class Token:
    """One condition of the WHERE clause and the operator written after it."""

    predicate: Predicate
    operator: str | None


# -- casting, as PostgreSQL does it ------------------------------------------------------------

_INTEGER = re.compile(r"\s*[+-]?\d+\s*")
_TRUE = {"t", "true", "y", "yes", "on", "1"}
_FALSE = {"f", "false", "n", "no", "off", "0"}


def _fail(reason: str) -> ServerError:
    return ServerError(f"PG error in the filter query: {reason}")


def cast_text(raw: str, sql_type: str) -> Any:
    """A text value (a quoted literal or a JSON field) cast to `sql_type`, or a 500."""
    if sql_type == "text":
        return raw
    if sql_type == "integer":
        if not _INTEGER.fullmatch(raw):
            raise _fail(f"invalid input syntax for type bigint: {raw!r}")
        return int(raw)
    if sql_type == "numeric":
        try:
            number = Decimal(raw.strip())
        except InvalidOperation:
            raise _fail(f"invalid input syntax for type numeric: {raw!r}") from None
        if not number.is_finite():
            raise _fail(f"invalid input syntax for type numeric: {raw!r}")
        return number
    if sql_type == "boolean":
        word = raw.strip().lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
        raise _fail(f"invalid input syntax for type boolean: {raw!r}")
    if sql_type == "date":
        return _parse_date(raw)
    raise _fail(f"unknown type {sql_type}")


def _parse_date(raw: str) -> date:
    text = raw.strip()
    head, rest = text[:10], text[10:]
    try:
        day = date.fromisoformat(head)
    except ValueError:
        raise _fail(f"invalid input syntax for type date: {raw!r}") from None
    if rest and rest[0] not in "T ":
        raise _fail(f"invalid input syntax for type date: {raw!r}")
    return day


def literal(value: Any, sql_type: str) -> Any:
    """A bound parameter compared with a column of `sql_type`; None is NULL."""
    if value is None:
        return None
    if isinstance(value, (list, dict)):
        raise ServerError("TypeError: can't quote a nested value")
    if isinstance(value, bool):
        if sql_type != "boolean":
            raise _fail(f"operator does not exist: {sql_type} = boolean")
        return value
    if isinstance(value, (int, float)):
        if sql_type == "integer" and isinstance(value, int):
            return value
        if sql_type in ("integer", "numeric"):
            return Decimal(str(value))
        raise _fail(f"operator does not exist: {sql_type} = numeric")
    return cast_text(str(value), sql_type)


def json_text(value: Any) -> str | None:
    """`jsonb ->> 'key'`: strings as they are, other JSON as its text, null as NULL."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return orjson.dumps(value).decode()


def ruby_index(values: Any) -> Any:
    """`values[0]`: a list's first item, a string's first character, nil for the rest."""
    if isinstance(values, (list, str)):
        return values[0] if values else None
    if isinstance(values, dict):
        return None  # Hash#[](0)
    if isinstance(values, int) and not isinstance(values, bool):
        return values & 1  # Integer#[] reads a bit
    raise ServerError("NoMethodError: undefined method `[]'")


def ruby_string(value: Any) -> str:
    """Ruby's `to_s`, which an interpolated value goes through."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_ruby_inspect(item) for item in value) + "]"
    return str(value)


def _ruby_inspect(value: Any) -> str:
    if value is None:
        return "nil"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return ruby_string(value)


def _downcase(value: Any) -> str:
    if not isinstance(value, str):
        raise ServerError(f"NoMethodError: undefined method `downcase' for {value!r}")
    return value.lower()


def _strip(value: Any) -> str:
    if not isinstance(value, str):
        raise ServerError(f"NoMethodError: undefined method `strip' for {value!r}")
    return value.strip()


# -- the service -------------------------------------------------------------------------------


class FilterQuery:
    """FilterService for one model; `rows` returns the matching ones in the base order."""

    entity = ""
    attribute_model = ""
    filters: dict[str, Attribute] = {}
    column_types: dict[str, str] = {}

    def __init__(self, store: Store, account_id: int) -> None:
        self.store = store
        self.account_id = account_id
        self.custom_seen = False

    # Hooks that differ per model.
    def filter_values(self, key: str, item: dict[str, Any]) -> Any:
        raise NotImplementedError

    def equality_is_list(self) -> bool:
        raise NotImplementedError

    def standard_value(self, row: Row, key: str) -> Any:
        raise NotImplementedError

    def labels(self, row: Row) -> list[str]:
        raise NotImplementedError

    def custom_attributes(self, row: Row) -> dict[str, Any] | None:
        raise NotImplementedError

    # The pipeline.
    def select(self, payload: Any, rows: Iterable[Row]) -> list[Row]:
        if not isinstance(payload, list):
            raise ServerError("NoMethodError: undefined method `each' for the payload")
        for item in payload:
            _check_query_operator(item)
        tokens: list[Token] = []
        for item in payload:
            tokens.extend(self._condition(item))
        _check_syntax(tokens)
        return [row for row in rows if _evaluate(tokens, row)]

    def _condition(self, raw: Any) -> list[Token]:
        if not isinstance(raw, dict):
            raise ServerError("TypeError: a filter condition is not an object")
        item = dict(raw)  # days_before rewrites the item, as Chatwoot does
        key = item.get("attribute_key")
        operator = item.get("filter_operator")
        spec = self.filters.get(key) if isinstance(key, str) else None
        if spec is not None and operator not in spec.operators:
            raise could_not_create(
                f"Invalid operator. The allowed operators for {key} "
                f"are [{','.join(spec.operators)}]."
            )
        if operator not in PRESENCE and not present(item.get("values")):
            raise could_not_create(
                f"Invalid value. The values provided for {ruby_string(key)} are invalid"
            )
        if spec is None:
            return self._custom_condition(item)
        assert isinstance(key, str)
        return self._standard_condition(key, spec, item)

    def _invalid_attribute(self, key: Any) -> Exception:
        return could_not_create(
            f"Invalid attribute key - [{ruby_string(key)}]. The key should be one of "
            f"[{','.join(self.filters)}] or a custom attribute defined in the account."
        )

    # -- standard attributes --------------------------------------------------------------

    def _standard_condition(self, key: str, spec: Attribute, item: dict[str, Any]) -> list[Token]:
        operator = str(item.get("filter_operator"))
        query_operator = _query_operator(item)
        if spec.data_type == "labels":
            return [Token(self._labels_predicate(key, operator, item), query_operator)]
        if spec.data_type == "date" and spec.attribute_type == "standard":
            value, literal_type = self._ordering_literal(key, item)
            if (literal_type or "") + "date" != "date":
                raise _fail("syntax error in a date condition")
            predicate = self._ordering(self._date_column(key), "date", item, value)
            return [Token(predicate, query_operator)]
        column, sql_type = self._standard_column(key, spec)
        return [Token(self._predicate(key, column, sql_type, item), query_operator)]

    def _standard_column(self, key: str, spec: Attribute) -> tuple[Getter, str]:
        lower = spec.data_type == "text_case_insensitive"
        if spec.attribute_type == "additional_attributes":

            def additional(row: Row) -> Any:
                value = json_text(row.additional_attributes.get(key))
                return value.lower() if lower and value is not None else value

            return additional, "text"
        sql_type = self.column_types.get(key, "text")

        def standard(row: Row) -> Any:
            value = self.standard_value(row, key)
            return value.lower() if lower and isinstance(value, str) else value

        return standard, sql_type

    def _date_column(self, key: str) -> Getter:
        def column(row: Row) -> date | None:
            moment = getattr(row, key)
            return moment.date() if moment is not None else None

        return column

    def _labels_predicate(self, key: str, operator: str, item: dict[str, Any]) -> Predicate:
        if operator in PRESENCE:
            wanted_present = operator == "is_present"
            return lambda row: bool(self.labels(row)) is wanted_present
        raw = self.filter_values(key, item)
        names = raw if isinstance(raw, list) else [raw]
        wanted = {literal(name, "text") for name in names} - {None}
        if operator == "equal_to":
            return lambda row: bool(wanted & set(self.labels(row)))
        return lambda row: not wanted & set(self.labels(row))

    # -- custom attributes ----------------------------------------------------------------

    def _custom_condition(self, item: dict[str, Any]) -> list[Token]:
        key = item.get("attribute_key")
        self.custom_seen = True
        definition = self.store.attribute_definition_by_key(
            self.account_id, self.attribute_model, key if isinstance(key, str) else None
        )
        operator = item.get("filter_operator")
        # Chatwoot works the value out before it looks the attribute up.
        if operator in ORDERING or operator == "days_before":
            self._ordering_literal(key, item)
        elif operator in TEXT_MATCH:
            _ilike_patterns(item.get("values"))
        elif operator not in PRESENCE:
            self.filter_values(str(key), item)
        if definition is None:
            raise self._invalid_attribute(key)
        assert isinstance(key, str)
        sql_type = SQL_TYPES.get(str(definition.attribute_display_type))
        query_operator = _query_operator(item)
        if sql_type is None:
            raise _fail("syntax error: a custom attribute type without a SQL type")

        def column(row: Row) -> Any:
            raw = json_text((self.custom_attributes(row) or {}).get(key))
            if raw is None:
                return None
            return cast_text(raw.lower() if sql_type == "text" else raw, sql_type)

        predicate = self._predicate(key, column, sql_type, item)
        if item.get("filter_operator") != "not_equal_to":
            return [Token(predicate, query_operator)]
        if query_operator is not None:
            raise _fail("syntax error at or near OR")  # "... NOT IN (...) AND  OR ... IS NULL"
        return [Token(predicate, "OR"), Token(lambda row: column(row) is None, None)]

    # -- operators ------------------------------------------------------------------------

    def _predicate(
        self, key: str, column: Getter, sql_type: str, item: dict[str, Any]
    ) -> Predicate:
        operator = item.get("filter_operator")
        if operator in EQUALITY:
            return self._equality(key, column, sql_type, item, negate=operator == "not_equal_to")
        if operator in TEXT_MATCH:
            if sql_type != "text":
                raise _fail(f"operator does not exist: {sql_type} ~~* text")
            patterns = _ilike_patterns(item.get("values"))
            return _ilike(column, patterns, negate=operator == "does_not_contain")
        if operator in PRESENCE:
            wanted_present = operator == "is_present"
            return lambda row: (column(row) is not None) is wanted_present
        if operator in ORDERING or operator == "days_before":
            value, literal_type = self._ordering_literal(key, item)
            if literal_type is None:
                raise _fail("syntax error: a literal cast to no type")
            if literal_type != sql_type:
                raise _fail(f"operator does not exist: {sql_type} > {literal_type}")
            return self._ordering(column, sql_type, item, value)
        # Any other operator is `= :value` with the values' Ruby string.
        wanted = literal(ruby_string(self.filter_values(key, item)), sql_type)
        return lambda row: (value := column(row)) is not None and value == wanted

    def _equality(
        self, key: str, column: Getter, sql_type: str, item: dict[str, Any], *, negate: bool
    ) -> Predicate:
        raw = self.filter_values(key, item)
        if self.equality_is_list():
            items = raw if isinstance(raw, list) else [raw]
            wanted = [literal(value, sql_type) for value in items]
        else:
            if isinstance(raw, (list, dict)):
                raise _fail("syntax error: a list where one value belongs")
            wanted = [literal(raw, sql_type)]
        known = [value for value in wanted if value is not None]
        has_null = len(known) < len(wanted) or not wanted

        def matches(row: Row) -> bool:
            value = column(row)
            if value is None:
                return False
            if negate:
                return not has_null and value not in known
            return value in known

        return matches

    def _ordering_literal(self, key: Any, item: dict[str, Any]) -> tuple[Any, str | None]:
        """`lt_gt_filter_values`: the value (days_before turned into a date) and its cast type."""
        if item.get("filter_operator") == "days_before":
            days = _ruby_to_i(ruby_index(item.get("values")))
            limit = utcnow().date() - timedelta(days=days)
            item["values"] = [limit.isoformat()]
            item["filter_operator"] = "is_less_than"
        model = item.get("custom_attribute_type")
        model = model if present(model) else self.attribute_model
        definition = self.store.attribute_definition_by_key(
            self.account_id, str(model), key if isinstance(key, str) else None
        )
        display_type = definition.attribute_display_type if definition else None
        value = ruby_string(ruby_index(item.get("values")))
        if "'" in value:
            raise _fail("syntax error: a quote in an interpolated value")
        return value, SQL_TYPES.get(str(display_type)) if display_type else None

    def _ordering(
        self, column: Getter, sql_type: str, item: dict[str, Any], value: str
    ) -> Predicate:
        limit = cast_text(value, sql_type)
        greater = item.get("filter_operator") == "is_greater_than"

        def compare(row: Row) -> bool:
            current = column(row)
            if current is None:
                return False
            return bool(current > limit if greater else current < limit)

        return compare


def _query_operator(item: dict[str, Any]) -> str | None:
    operator = item.get("query_operator")
    return str(operator).upper() if operator else None


def _check_query_operator(item: Any) -> None:
    if isinstance(item, str):
        return  # `"text"['query_operator']` is nil in Ruby
    if not isinstance(item, dict):
        raise ServerError("TypeError: a filter condition is not an object")
    operator = item.get("query_operator")
    if operator is None or operator == "":
        return
    if not isinstance(operator, str):
        raise ServerError("NoMethodError: undefined method `empty?'")
    if operator.upper() not in ("AND", "OR"):
        raise could_not_create('Query operator must be either "AND" or "OR".')


def _check_syntax(tokens: list[Token]) -> None:
    """Every condition but the last needs an operator after it, and the last must have none."""
    if not tokens:
        return
    if any(token.operator is None for token in tokens[:-1]) or tokens[-1].operator is not None:
        raise _fail("syntax error in the filter query")


def _evaluate(tokens: list[Token], row: Row) -> bool:
    """`c0 op0 c1 op1 ...` with AND binding tighter than OR; no condition keeps every row."""
    if not tokens:
        return True
    groups: list[list[Predicate]] = [[]]
    for token in tokens:
        groups[-1].append(token.predicate)
        if token.operator == "OR":
            groups.append([])
    return any(all(predicate(row) for predicate in group) for group in groups)


def _ilike_patterns(values: Any) -> list[str]:
    if isinstance(values, list):
        return [f"%{_strip(item)}%" for item in values]
    return [f"%{_strip(values)}%"]


def _ilike(column: Getter, patterns: list[str], *, negate: bool) -> Predicate:
    def matches(row: Row) -> bool:
        value = column(row)
        if value is None:
            return False
        hits = [like_matches(value, pattern, case_insensitive=True) for pattern in patterns]
        return not any(hits) if negate else any(hits)

    return matches


def _ruby_to_i(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, bool):
        raise ServerError("NoMethodError: undefined method `to_i'")
    if isinstance(value, (int, float)):
        return int(value)
    if isinstance(value, str):
        match = re.match(r"\s*([+-]?\d+)", value)
        return int(match.group(1)) if match else 0
    raise ServerError("NoMethodError: undefined method `to_i'")


# -- the two models ----------------------------------------------------------------------------


class ContactFilter(FilterQuery):
    """Contacts::FilterService: only `values[0]` counts, compared with `=` / `!=`."""

    entity = "contact"
    attribute_model = "contact_attribute"
    filters = CONTACT_FILTERS
    column_types = _CONTACT_COLUMN_TYPES

    def filter_values(self, key: str, item: dict[str, Any]) -> Any:
        current = ruby_index(item.get("values"))
        if key == "phone_number":
            if current is None:
                return "+"
            if not isinstance(current, str):
                raise ServerError("NoMethodError: undefined method `delete'")
            return "+" + current.replace("+", "")
        if key == "country_code":
            return _downcase(current)
        return current.lower() if isinstance(current, str) else current

    def equality_is_list(self) -> bool:
        return False

    def standard_value(self, row: Contact, key: str) -> Any:
        return getattr(row, key)

    def labels(self, row: Contact) -> list[str]:
        return []  # contact labels are not emulated

    def custom_attributes(self, row: Contact) -> dict[str, Any] | None:
        return row.custom_attributes


class ConversationFilter(FilterQuery):
    """Conversations::FilterService: lists with IN / NOT IN, statuses and priorities by name."""

    entity = "conversation"
    attribute_model = "conversation_attribute"
    filters = CONVERSATION_FILTERS
    column_types = _CONVERSATION_COLUMN_TYPES

    def filter_values(self, key: str, item: dict[str, Any]) -> Any:
        values = item.get("values")
        if key in ("status", "priority"):
            return _enum_values(values, STATUSES if key == "status" else PRIORITIES, key)
        first = ruby_index(values)
        if self.custom_seen and isinstance(first, str):
            return first.lower() if isinstance(values, list) else _downcase(values)
        return values

    def equality_is_list(self) -> bool:
        return True

    def standard_value(self, row: Conversation, key: str) -> Any:
        if key == "status":
            return STATUSES[row.status]
        if key == "priority":
            return PRIORITIES.get(row.priority) if row.priority else None
        if key == "campaign_id":
            return None  # campaigns are not emulated
        return getattr(row, key)

    def labels(self, row: Conversation) -> list[str]:
        return list(row.label_list)

    def custom_attributes(self, row: Conversation) -> dict[str, Any] | None:
        return row.custom_attributes


def _enum_values(values: Any, mapping: dict[str, int], key: str) -> list[int | None]:
    """`values.map { Conversation.statuses[x.to_sym] }`; "all" means every status."""
    if not isinstance(values, list):
        raise ServerError("NoMethodError: undefined method `map'")
    if key == "status" and "all" in values:
        return list(mapping.values())
    names = []
    for value in values:
        if not isinstance(value, str):
            raise ServerError("NoMethodError: undefined method `to_sym'")
        names.append(mapping.get(value))
    return names
