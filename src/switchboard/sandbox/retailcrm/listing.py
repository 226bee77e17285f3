"""List methods' shared rules: `limit`/`page`, the `filter[...]` array, the pagination envelope.

`limit` is one of 20, 50, 100 (default 20) and `page` counts from 1; anything else is refused with
"Errors in the input parameters". A `filter` that is not an array is ignored: the official Python
client sends `filter=None` when it has no filters, and real accounts answer that normally.
Unknown filter keys are refused, so a misspelt filter shows up in tests instead of silently
matching everything.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any, TypeVar

from switchboard.sandbox.retailcrm.errors import (
    EXTRA_FIELDS,
    NOT_A_CHOICE,
    NOT_A_DATE,
    NOT_VALID,
    ErrorDetails,
    input_parameters,
)
from switchboard.sandbox.retailcrm.http import Call
from switchboard.sandbox.retailcrm.params import flag, integer

T = TypeVar("T")
LIMITS = (20, 50, 100)

Predicate = Callable[[T], bool]
#: A filter key -> (its raw value, the errors to add to) -> the predicate, or None when refused.
FilterRule = Callable[[Any, ErrorDetails, str], "Predicate[Any] | None"]


def page_request(call: Call) -> tuple[int, int]:
    errors: ErrorDetails = {}
    limit = integer(call.params.get("limit", "20"))
    if limit is None or limit not in LIMITS:
        errors["limit"] = NOT_A_CHOICE
    page = integer(call.params.get("page", "1"))
    if page is None or page < 1:
        errors["page"] = NOT_VALID
    if errors or limit is None or page is None:
        raise input_parameters(errors)
    return limit, page


def paginate(items: Sequence[T], limit: int, page: int) -> tuple[list[T], dict[str, int]]:
    start = (page - 1) * limit
    pagination = {
        "limit": limit,
        "totalCount": len(items),
        "currentPage": page,
        "totalPageCount": math.ceil(len(items) / limit),
    }
    return list(items[start : start + limit]), pagination


def apply_filters(call: Call, items: list[T], rules: dict[str, FilterRule]) -> list[T]:
    """`items` that pass every `filter[key]` sent, each read by its rule."""
    sent = call.params.get("filter")
    if not isinstance(sent, dict):
        return items
    errors: ErrorDetails = {}
    predicates: list[Predicate[T]] = []
    for key, value in sent.items():
        rule = rules.get(key)
        if rule is None:
            errors["filter"] = EXTRA_FIELDS
            continue
        predicate = rule(value, errors, key)
        if predicate is not None:
            predicates.append(predicate)
    if errors:
        raise input_parameters(errors)
    return [item for item in items if all(predicate(item) for predicate in predicates)]


# -- rules ------------------------------------------------------------------------------------


def flag_rule(read: Callable[[Any], bool]) -> FilterRule:
    def rule(value: Any, errors: ErrorDetails, key: str) -> Predicate[Any] | None:
        wanted = flag(value)
        if wanted is None:
            errors[key] = NOT_A_CHOICE
            return None
        return lambda item: read(item) == wanted

    return rule


def choice_rule(read: Callable[[Any], str], choices: tuple[str, ...]) -> FilterRule:
    def rule(value: Any, errors: ErrorDetails, key: str) -> Predicate[Any] | None:
        if value not in choices:
            errors[key] = NOT_A_CHOICE
            return None
        return lambda item: read(item) == value

    return rule


def text_rule(matches: Callable[[Any, str], bool]) -> FilterRule:
    def rule(value: Any, errors: ErrorDetails, key: str) -> Predicate[Any] | None:
        if not isinstance(value, str):
            errors[key] = NOT_VALID
            return None
        if value == "":
            return None
        return lambda item: matches(item, value)

    return rule


def any_of_rule(read: Callable[[Any], Any], convert: Callable[[str], Any] = str) -> FilterRule:
    """`filter[key][]=a&filter[key][]=b`: items whose value is one of those sent."""

    def rule(value: Any, errors: ErrorDetails, key: str) -> Predicate[Any] | None:
        values = value if isinstance(value, list) else [value]
        try:
            wanted = {convert(item) for item in values}
        except (TypeError, ValueError):
            errors[key] = NOT_VALID
            return None
        return lambda item: read(item) in wanted

    return rule


def date_rule(read: Callable[[Any], datetime], *, until: bool) -> FilterRule:
    """`createdAtFrom` / `createdAtTo` (`Y-m-d`, both ends included)."""

    def rule(value: Any, errors: ErrorDetails, key: str) -> Predicate[Any] | None:
        try:
            bound = date.fromisoformat(value) if isinstance(value, str) else None
        except ValueError:
            bound = None
        if bound is None:
            errors[key] = NOT_A_DATE
            return None
        if until:
            return lambda item: read(item).date() <= bound
        return lambda item: read(item).date() >= bound

    return rule
