"""Request parameters as RetailCRM (PHP) reads them.

PHP turns `filter[active]=1&filter[groups][]=a` into nested arrays, so the emulator does the same
for the query string and the `application/x-www-form-urlencoded` body. A JSON-carrying POST
parameter (`event`, `calls`, `integrationModule`) must be one string: sent as `name[key]=...` it
arrives as an array, which Symfony refuses as "a non-scalar value".

Booleans come as text. The official Python client sends Python's `str(True)` ("True"), the PHP
client "1"/"0"; Symfony's checkbox-like filters accept both spellings, and so does `flag()`.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.requests import Request

from switchboard.sandbox.retailcrm.errors import (
    NOT_VALID,
    entity_format,
    missing_parameter,
    non_scalar_parameter,
)

Params = dict[str, Any]

_KEY_PARTS = re.compile(r"\[([^\]]*)\]")
_TRUE = {"1", "true", "on", "yes"}
_FALSE = {"0", "false", "off", "no", ""}
FORM_TYPE = "application/x-www-form-urlencoded"


def php_params(pairs: list[tuple[str, str]]) -> Params:
    """`a[b][]=x` pairs as PHP's nested arrays (lists for `[]`, dicts for named keys)."""
    params: Params = {}
    for key, value in pairs:
        _assign(params, key, value)
    return params


def _assign(params: Params, key: str, value: str) -> None:
    base = key.split("[", 1)[0]
    if not base:
        return
    parts = [base, *_KEY_PARTS.findall(key[len(base) :])]
    target: Any = params
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        if isinstance(target, list):
            if not last:
                return  # `a[][b]` lists of arrays: nothing the emulator's methods take
            target.append(value)
            return
        if last:
            target[part] = value
            return
        wanted: type = list if parts[index + 1] == "" else dict
        if not isinstance(target.get(part), wanted):
            target[part] = wanted()
        target = target[part]


def query_params(request: Request) -> Params:
    return php_params(parse_qsl(request.url.query, keep_blank_values=True))


async def body_params(request: Request) -> Params:
    """The POST parameters. Only the urlencoded form is read: what every official client sends."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in ("", FORM_TYPE):
        return {}
    raw = await request.body()
    return php_params(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))


def text(params: Params, name: str) -> str | None:
    """One scalar parameter; an array where a string belongs is refused as Symfony does."""
    value = params.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise non_scalar_parameter(name)
    return value


def required_text(params: Params, name: str) -> str:
    value = text(params, name)
    if value is None or value == "":
        raise missing_parameter(name)
    return value


def json_parameter(params: Params, name: str) -> Any:
    """A parameter that carries JSON (`event=<json>`): missing, non-scalar or unreadable refused."""
    raw = required_text(params, name)
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise entity_format({name: NOT_VALID}) from None


def flag(value: object) -> bool | None:
    """A boolean query value ("1", "true", "True", "0", ...); None when it is not one."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
    return None


def integer(value: object) -> int | None:
    """An integer from JSON or a query string; None when it is not one (booleans are not)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        return int(value)
    return None
