"""The wire side of 1C: OData requests and the reading of 1C's answers and error envelopes."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Collection, Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import orjson

from switchboard.core.http import HttpKit, ServiceClient
from switchboard.core.http.client import classify_status
from switchboard.core.http.errors import (
    IntegrationError,
    PeerBusinessError,
    PeerRejected,
    PeerUnavailable,
)
from switchboard.integrations.onec import odata
from switchboard.integrations.onec.constants import DATETIME_PROPERTIES

TARGET = "onec"
Record = dict[str, Any]
DEFAULT_TIMEZONE = "Asia/Tashkent"
#: 1C's code for "an entity with this key already exists" (guide 17.4.10).
KEY_EXISTS_CODE = "15"


class KeyExists(PeerRejected):
    """1C already holds an object or register record with the key a POST gave: a repeat of a
    create that landed before, when the key was chosen by us."""


def odata_error(body: bytes) -> tuple[str | None, str | None]:
    """(code, message) of a 1C error envelope, or (None, None) when the body is not one."""
    try:
        envelope = orjson.loads(body).get("odata.error") or {}
    except (orjson.JSONDecodeError, AttributeError):
        return None, None
    message = envelope.get("message")
    text = message.get("value") if isinstance(message, dict) else message
    return envelope.get("code"), text


def classify_onec(target: str, response: httpx.Response) -> IntegrationError | None:
    """1C reports business refusals (a failed BeforeWrite, a limit) as 500 with code -1: that is a
    definite "no", not a server in trouble, so it is neither retried nor counted by the breaker."""
    if response.status_code < 400:
        return None
    code, message = odata_error(response.content)
    if code == KEY_EXISTS_CODE:
        # A definite answer whatever the status a platform version gives it: never retried.
        return KeyExists(
            target,
            f"key exists: [{code}] {message}",
            status_code=response.status_code,
            body=response.text,
        )
    if response.status_code == 500 and code == "-1":
        return PeerBusinessError(
            target, message or "business rule refused", status_code=500, body=response.text
        )
    error = classify_status(target, response)
    if error is not None and message:
        error.message = f"{error.message}: [{code}] {message}"
    return error


class OneCClient:
    """Reads and writes 1C objects; knows OData, not our domain.

    1C's datetimes carry no zone: they are wall-clock time of the base's zone (`ODATA_TIMEZONE`).
    Every record read has the datetime properties of its entity (`DATETIME_PROPERTIES`) as aware
    UTC datetimes; every body written has its datetimes in 1C's zone; filters take
    `client.datetime_literal(moment)`.
    """

    def __init__(
        self,
        service: ServiceClient,
        *,
        page_size: int = 1000,
        zone: ZoneInfo | None = None,
        datetime_properties: Mapping[str, Collection[str]] = DATETIME_PROPERTIES,
    ) -> None:
        self.service = service
        self.page_size = page_size
        self.zone = zone or ZoneInfo(DEFAULT_TIMEZONE)
        self.datetime_properties = datetime_properties

    @classmethod
    def connect(
        cls,
        kit: HttpKit,
        base_url: str,
        user: str,
        password: str,
        *,
        page_size: int = 1000,
        timezone: str = DEFAULT_TIMEZONE,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> OneCClient:
        service = kit.client(
            TARGET,
            base_url,
            auth=(user, password),
            headers={"Accept": "application/json"},
            secrets=[password],
            classify=classify_onec,
            transport=transport,
        )
        return cls(service, page_size=page_size, zone=ZoneInfo(timezone))

    async def aclose(self) -> None:
        await self.service.aclose()

    async def _get(self, path: str, options: Mapping[str, str | int | None], **request: Any) -> Any:
        query = odata.query_string({**options, "$format": "json"})
        response = await self.service.request("GET", f"{path}?{query}", **request)
        return _json(response)

    def datetime_literal(self, moment: datetime) -> str:
        """An aware datetime as a `$filter` literal in 1C's zone."""
        return odata.datetime_literal(moment, self.zone)

    def _read(self, entity: str, record: Mapping[str, Any]) -> Record:
        names = self.datetime_properties.get(entity)
        return odata.read_moments(record, names, self.zone) if names else dict(record)

    def _body(self, entity: str, record: Mapping[str, Any]) -> Any:
        names = self.datetime_properties.get(entity, ())
        return odata.to_wire(odata.clear_empty_moments(record, names), self.zone)

    async def query(
        self,
        entity: str,
        *,
        filter: str | None = None,
        select: str | None = None,
        orderby: str | None = None,
        top: int | None = None,
        skip: int | None = None,
        table: str | None = None,
    ) -> list[Record]:
        """Records of `entity`, or of its virtual table `table` (`SliceLast()`) when given."""
        path = odata.resource(entity) if table is None else odata.virtual_table(entity, table)
        body = await self._get(
            path,
            {"$filter": filter, "$select": select, "$orderby": orderby, "$top": top, "$skip": skip},
        )
        return [self._read(entity, record) for record in body.get("value", [])]

    async def pages(
        self,
        entity: str,
        *,
        filter: str | None = None,
        select: str | None = None,
        orderby: str = "Ref_Key",
        table: str | None = None,
        page_size: int | None = None,
    ) -> AsyncIterator[list[Record]]:
        """All matching records, a page at a time, in a stable order.

        A server that ignores `$skip`/`$top` (as some 1C versions do next to `$inlinecount`)
        answers more than a page: that answer is the whole set, cut here into pages.
        """
        size = page_size or self.page_size
        skip = 0
        while True:
            page = await self.query(
                entity,
                filter=filter,
                select=select,
                orderby=orderby,
                top=size,
                skip=skip,
                table=table,
            )
            if len(page) > size:
                for start in range(0, len(page), size):
                    yield page[start : start + size]
                return
            if page:
                yield page
            if len(page) < size:
                return
            skip += len(page)

    async def get(self, entity: str, key: uuid.UUID | str) -> Record:
        return self._read(entity, await self._get(odata.resource(entity, key), {}))

    async def create(self, entity: str, record: Record, *, idempotent: bool = False) -> Record:
        """POST a new object or register record. `idempotent` when its key is in `record`
        (a `Ref_Key` we chose, a register's Period and dimensions): a repeat then meets
        `KeyExists` instead of making a second one, so the kit may send it again after a
        timeout or a 5xx."""
        path = odata.resource(entity) + "?$format=json"
        response = await self.service.request(
            "POST", path, json=self._body(entity, record), idempotent=idempotent
        )
        return self._read(entity, _json(response))

    async def update(
        self, entity: str, key: uuid.UUID | str, changes: Record, *, data_version: str | None = None
    ) -> Record:
        path = odata.resource(entity, key) + "?$format=json"
        headers = {"If-Match": data_version} if data_version else None
        # PATCH with the same body gives the same result: safe to repeat after a timeout.
        response = await self.service.request(
            "PATCH", path, json=self._body(entity, changes), headers=headers, idempotent=True
        )
        return self._read(entity, _json(response))

    async def delete(self, entity: str, key: uuid.UUID | str) -> None:
        await self.service.request("DELETE", odata.resource(entity, key))

    async def ping(self, timeout: float = 5.0) -> None:
        """One cheap authenticated read, for health checks (no retries)."""
        await self._get(
            odata.resource("Catalog_ВидыПОДляКонсультаций"),
            {"$top": 1, "$select": "Ref_Key"},
            timeout=timeout,
            max_attempts=1,
        )


def _json(response: httpx.Response) -> Any:
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError:
        raise PeerUnavailable(
            TARGET, "answered with something that is not JSON", status_code=response.status_code
        ) from None
