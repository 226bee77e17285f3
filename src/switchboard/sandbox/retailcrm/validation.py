"""The entity checks of the telephony methods and the integration module, as RetailCRM makes them.

Field sets and enumerations are the PHP client's models (PROTOCOLS.md 3.2-3.4). A failed check is
answered 400 "Errors in the entity format" with one message per field path (`phone`,
`calls[0].date`, `integrations.telephony.makeCallUrl`). The checks return the entity normalised
to what the models declare (`codes` as strings, `userIds` as integers); fields the models do not
know are dropped, as a deserialiser that maps onto those models drops them.

Inferred, not confirmed in stored sources: a call must name `code` or `userId`; a module needs
`name`, `clientId` and `baseUrl`; the SVG rule looks at the logo URL's extension (RetailCRM itself
may fetch the image).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlparse

from switchboard.sandbox.retailcrm.errors import (
    BLANK,
    LOGO_NOT_SVG,
    NOT_A_CHOICE,
    NOT_A_DATETIME,
    NOT_A_URL,
    NOT_VALID,
    ErrorDetails,
    entity_format,
)
from switchboard.sandbox.retailcrm.params import integer
from switchboard.sandbox.retailcrm.store import DATETIME_FORMAT, JsonDict

EVENT_TYPES = ("in", "out", "hangup")
HANGUP_STATUSES = ("answered", "busy", "cancel", "failed", "no answered")
CALL_TYPES = ("in", "out")
CALL_RESULTS = ("answered", "busy", "failed", "no answer", "not allowed", "unknown")
USER_STATUSES = ("free", "busy", "dinner", "break")
MAX_CALLS_PER_UPLOAD = 50
NEED_CODE_OR_USER = "One of code or userId must be set."
TOO_MANY_CALLS = f"This collection should contain {MAX_CALLS_PER_UPLOAD} elements or less."

_MODULE_STRINGS = ("integrationCode", "name", "logo", "clientId", "baseUrl", "accountUrl")
_MODULE_FLAGS = ("active", "freeze", "native")
_TELEPHONY_URLS = ("makeCallUrl", "changeUserStatusUrl")
_TELEPHONY_FLAGS = (
    "allowEdit",
    "inputEventSupported",
    "outputEventSupported",
    "hangupEventSupported",
)


class Checker:
    """Collects field errors and the normalised entity, one field at a time."""

    def __init__(self, source: JsonDict, prefix: str = "") -> None:
        self.source = source
        self.prefix = prefix
        self.errors: ErrorDetails = {}
        self.result: JsonDict = {}

    def path(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def fail(self, name: str, message: str) -> None:
        self.errors.setdefault(self.path(name), message)

    def present(self, name: str) -> bool:
        return self.source.get(name) is not None

    def string(self, name: str, *, required: bool = False) -> str | None:
        value = self.source.get(name)
        if value is None or value == "":
            if required:
                self.fail(name, BLANK)
            return None
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            self.fail(name, NOT_VALID)
            return None
        self.result[name] = str(value)
        return str(value)

    def choice(self, name: str, choices: tuple[str, ...], *, required: bool = False) -> None:
        value = self.string(name, required=required)
        if value is not None and value not in choices:
            self.result.pop(name, None)
            self.fail(name, NOT_A_CHOICE)

    def url(self, name: str, *, required: bool = False) -> str | None:
        value = self.string(name, required=required)
        if value is not None and not is_url(value):
            self.result.pop(name, None)
            self.fail(name, NOT_A_URL)
            return None
        return value

    def count(self, name: str) -> None:
        """A non-negative integer (seconds)."""
        if not self.present(name):
            return
        value = integer(self.source[name])
        if value is None or value < 0:
            self.fail(name, NOT_VALID)
        else:
            self.result[name] = value

    def flag(self, name: str) -> None:
        if not self.present(name):
            return
        value = self.source[name]
        if isinstance(value, bool):
            self.result[name] = value
        else:
            self.fail(name, NOT_VALID)

    def datetime(self, name: str, *, required: bool = False) -> None:
        value = self.string(name, required=required)
        if value is None:
            return
        try:
            datetime.strptime(value, DATETIME_FORMAT)  # noqa: DTZ007 - a wall-clock text check
        except ValueError:
            self.result.pop(name, None)
            self.fail(name, NOT_A_DATETIME)

    def list_of(self, name: str, convert: Any) -> None:
        """A list whose every item `convert` turns into the model's type (None: refused)."""
        if not self.present(name):
            return
        value = self.source[name]
        if not isinstance(value, list):
            self.fail(name, NOT_VALID)
            return
        items = []
        for index, item in enumerate(value):
            converted = convert(item)
            if converted is None:
                self.fail(f"{name}[{index}]", NOT_VALID)
            else:
                items.append(converted)
        self.result[name] = items

    def object(self, name: str) -> None:
        if not self.present(name):
            return
        if isinstance(self.source[name], dict):
            self.result[name] = self.source[name]
        else:
            self.fail(name, NOT_VALID)


def is_url(value: str) -> bool:
    parsed = urlparse(value)
    return parsed.scheme in ("http", "https") and bool(parsed.netloc)


def _code(item: object) -> str | None:
    if isinstance(item, bool) or not isinstance(item, str | int) or item == "":
        return None
    return str(item)


def _raise_if_failed(errors: ErrorDetails) -> None:
    if errors:
        raise entity_format(errors)


# -- telephony ------------------------------------------------------------------------------


def check_call_event(value: Any) -> JsonDict:
    """`event` of `telephony/call/event`, normalised (PHP CallEvent)."""
    if not isinstance(value, dict):
        raise entity_format({"event": NOT_VALID})
    check = Checker(value)
    check.string("phone", required=True)
    check.choice("type", EVENT_TYPES, required=True)
    check.list_of("codes", _code)
    check.list_of("userIds", integer)
    check.choice("hangupStatus", HANGUP_STATUSES)
    for name in ("site", "externalPhone", "callExternalId"):
        check.string(name)
    check.object("webAnalyticsData")
    _raise_if_failed(check.errors)
    return check.result


def check_calls(value: Any) -> list[JsonDict]:
    """`calls` of `telephony/calls/upload`: a list of at most 50 calls (PHP Call), all valid or
    none stored."""
    if not isinstance(value, list):
        raise entity_format({"calls": NOT_VALID})
    if len(value) > MAX_CALLS_PER_UPLOAD:
        raise entity_format({"calls": TOO_MANY_CALLS})
    errors: ErrorDetails = {}
    calls = []
    for index, call in enumerate(value):
        if not isinstance(call, dict):
            errors[f"calls[{index}]"] = NOT_VALID
            continue
        checked, call_errors = _check_call(call, f"calls[{index}].")
        errors.update(call_errors)
        calls.append(checked)
    _raise_if_failed(errors)
    return calls


def _check_call(call: JsonDict, prefix: str) -> tuple[JsonDict, ErrorDetails]:
    check = Checker(call, prefix)
    check.datetime("date", required=True)
    check.choice("type", CALL_TYPES, required=True)
    check.string("phone", required=True)
    code = check.string("code")
    if check.present("userId"):
        user_id = integer(call["userId"])
        if user_id is None:
            check.fail("userId", NOT_VALID)
        else:
            check.result["userId"] = user_id
    elif code is None:
        check.fail("code", NEED_CODE_OR_USER)
    check.choice("result", CALL_RESULTS)
    check.count("duration")
    check.count("durationWaiting")
    check.url("recordUrl")
    for name in ("externalId", "externalPhone", "site", "clientId"):
        check.string(name)
    check.object("source")
    return check.result, check.errors


# -- integration module ---------------------------------------------------------------------


def check_module(code: str, sent: Any, existing: JsonDict | None) -> JsonDict:
    """The module after an `edit` of `existing` (None: a new one) with the fields `sent`."""
    if not isinstance(sent, dict):
        raise entity_format({"integrationModule": NOT_VALID})
    check = Checker(sent)
    if check.present("code") and sent["code"] != code:
        check.fail("code", NOT_VALID)
    for name in _MODULE_STRINGS:
        check.string(name)
    for name in _MODULE_FLAGS:
        check.flag(name)
    check.list_of("availableCountries", _code)
    check.object("actions")
    integrations = _check_integrations(sent, check)
    _raise_if_failed(check.errors)

    module: JsonDict = {"active": True, **(existing or {}), **check.result, "code": code}
    module.setdefault("integrationCode", code)
    if integrations is not None:
        merged = dict((existing or {}).get("integrations") or {})
        merged.update(integrations)
        module["integrations"] = merged
    _check_complete(module)
    return module


def _check_complete(module: JsonDict) -> None:
    """What a module must have once the edit applies (new or old fields alike)."""
    errors: ErrorDetails = {}
    for name in ("name", "clientId", "baseUrl"):
        if not module.get(name):
            errors[name] = BLANK
    for name in ("baseUrl", "accountUrl"):
        if module.get(name) and not is_url(module[name]):
            errors[name] = NOT_A_URL
    logo = module.get("logo")
    if logo and not (is_url(logo) and urlparse(logo).path.lower().endswith(".svg")):
        errors["logo"] = LOGO_NOT_SVG
    _raise_if_failed(errors)


def _check_integrations(sent: JsonDict, check: Checker) -> JsonDict | None:
    if not check.present("integrations"):
        return None
    integrations = sent["integrations"]
    if not isinstance(integrations, dict):
        check.fail("integrations", NOT_VALID)
        return None
    checked = dict(integrations)
    telephony = integrations.get("telephony")
    if telephony is not None:
        if isinstance(telephony, dict):
            checked["telephony"] = _check_telephony(telephony, check)
        else:
            check.fail("integrations.telephony", NOT_VALID)
    return checked


def _check_telephony(telephony: JsonDict, outer: Checker) -> JsonDict:
    """`integrations.telephony` (PHP TelephonyConfiguration)."""
    check = Checker(telephony, "integrations.telephony.")
    for name in _TELEPHONY_URLS:
        check.url(name)
    for name in _TELEPHONY_FLAGS:
        check.flag(name)
    check.list_of("additionalCodes", _additional_code)
    check.list_of("externalPhones", _external_phone)
    outer.errors.update(check.errors)
    return check.result


def _additional_code(item: object) -> JsonDict | None:
    if not isinstance(item, dict):
        return None
    user_id = integer(item.get("userId"))
    code = _code(item.get("code"))
    if user_id is None or code is None:
        return None
    return {"userId": user_id, "code": code}


def _external_phone(item: object) -> JsonDict | None:
    """`{"siteCode", "externalPhone"}`: plain strings are refused (PROTOCOLS.md 3.4)."""
    if not isinstance(item, dict):
        return None
    site, phone = item.get("siteCode"), item.get("externalPhone")
    if not isinstance(site, str) or not site or not isinstance(phone, str) or not phone:
        return None
    return {"siteCode": site, "externalPhone": phone}
