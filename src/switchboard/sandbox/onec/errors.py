"""1C's OData error envelope and its internal error codes (guide 17.4.10).

Every refusal inside the emulator is an `ODataError`; the app turns it into the envelope in the
format the client asked for. The codes are 1C's own, as strings, so a client written against a real
base reads the same codes here.
"""

from __future__ import annotations

from xml.sax.saxutils import escape

import orjson

METADATA_NS = "http://schemas.microsoft.com/ado/2007/08/dataservices/metadata"


class Code:
    """1C's internal error codes (17.4.10) plus "-1" for business-logic exceptions."""

    BUSINESS = "-1"
    NOT_SUPPORTED = "0"
    NOT_PARSED = "1"
    BAD_REQUEST_FORMAT = "2"
    FORMAT_NOT_SUPPORTED = "3"
    BAD_PROPERTY_VALUE = "4"
    REQUIRED_PROPERTY_MISSING = "5"
    BAD_URL = "6"
    KEY_ELEMENT_MISSING = "7"
    ENTITY_TYPE_NOT_FOUND = "8"
    INSTANCE_NOT_FOUND = "9"
    PROPERTY_NOT_FOUND = "10"
    METHOD_NOT_FOUND = "11"
    TABULAR_ROW_CREATION = "13"
    QUERY_OPTION_PARSE = "14"
    KEY_EXISTS = "15"
    PROPERTY_NOT_ASSIGNED = "16"
    METHOD_FORBIDDEN = "19"
    ACCESS_DENIED = "20"


class ODataError(Exception):
    """A refusal with 1C's internal code, the HTTP status and a message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def __repr__(self) -> str:
        return f"ODataError({self.status}, {self.code!r}, {self.message!r})"


def entity_type_not_found(name: str) -> ODataError:
    # The wording is the one a real base answers with (1C book listing 1.124).
    return ODataError(404, Code.ENTITY_TYPE_NOT_FOUND, f'"{name}" entity is not found')


def instance_not_found() -> ODataError:
    return ODataError(404, Code.INSTANCE_NOT_FOUND, "Entity instance not found")


def query_option_error(option: str, detail: str) -> ODataError:
    return ODataError(
        400, Code.QUERY_OPTION_PARSE, f"Error parsing {option} query option: {detail}"
    )


def bad_url(detail: str) -> ODataError:
    return ODataError(400, Code.BAD_URL, f"Неверный URL: {detail}")


def method_forbidden(method: str) -> ODataError:
    return ODataError(
        405,
        Code.METHOD_FORBIDDEN,
        f"Использованный HTTP-метод {method} запрещен в данном контексте",
    )


def property_not_found(name: str) -> ODataError:
    return ODataError(400, Code.PROPERTY_NOT_FOUND, f"Запрошенное свойство не найдено: {name}")


def property_not_assigned(name: str, detail: str) -> ODataError:
    return ODataError(
        400, Code.PROPERTY_NOT_ASSIGNED, f"Не удалось присвоить свойство {name}: {detail}"
    )


def bad_property_value(name: str, detail: str) -> ODataError:
    return ODataError(400, Code.BAD_PROPERTY_VALUE, f"Неверное значение свойства {name}: {detail}")


def business_error(message: str) -> ODataError:
    """An exception raised by the configuration's own code (BeforeWrite, posting): HTTP 500, -1."""
    return ODataError(500, Code.BUSINESS, message)


def code_for_status(status: int) -> str:
    """The code an envelope carries when only the HTTP status is known (injected faults).

    A 5xx never gets "-1": that code means "the configuration said no", which clients must not
    retry, while an injected 5xx stands for a server in trouble.
    """
    return {
        400: Code.BAD_REQUEST_FORMAT,
        401: Code.ACCESS_DENIED,
        403: Code.ACCESS_DENIED,
        404: Code.BAD_URL,
        405: Code.METHOD_FORBIDDEN,
    }.get(status, Code.NOT_SUPPORTED)


def json_envelope(code: str, message: str) -> bytes:
    return orjson.dumps(
        {"odata.error": {"code": code, "message": {"lang": "ru", "value": message}}}
    )


def xml_envelope(code: str, message: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<m:error xmlns:m="{METADATA_NS}">'
        f"<m:code>{escape(code)}</m:code>"
        f'<m:message xml:lang="ru">{escape(message)}</m:message>'
        "</m:error>"
    ).encode()


def fault_body(status: int) -> tuple[bytes, str]:
    """The body of an injected fault: the JSON envelope, as the sandbox middleware expects."""
    return (
        json_envelope(code_for_status(status), f"Injected fault: HTTP {status}"),
        "application/json;charset=utf-8",
    )
