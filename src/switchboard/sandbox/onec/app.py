"""The HTTP face of the emulator: 1C's standard OData interface under one base path.

URL forms (guide 17.4.2, 17.4.8, 17.4.13):
    {base}/                                   service document (atom)
    {base}/$metadata                          EDMX
    {base}/Catalog_X                          GET list, POST create
    {base}/Catalog_X/$count                   GET a bare number
    {base}/Catalog_X(guid'…')                 GET, PATCH, PUT, DELETE
    {base}/Catalog_X(guid'…')/Prop[/…]        GET one property (or follow a reference)
    {base}/Document_X(guid'…')/Post[()]       POST: post (also /Unpost)
    {base}/InformationRegister_X(Period=datetime'…',Dim_Key=guid'…')   a register record
    {base}/Document_X_Tab[(Ref_Key=…,LineNumber=1)]                    tabular rows, read-only
    {base}/InformationRegister_X/SliceLast(Period=datetime'…',Condition='…')   virtual tables
                                                  (also SliceFirst; see virtual.py)
Everything needs HTTP Basic credentials.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import parse_qsl

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from switchboard.sandbox.onec.bodies import parse_body
from switchboard.sandbox.onec.entities import EntityDef, Kind
from switchboard.sandbox.onec.errors import (
    Code,
    ODataError,
    entity_type_not_found,
    instance_not_found,
    json_envelope,
    method_forbidden,
    xml_envelope,
)
from switchboard.sandbox.onec.metadata import edmx, service_document
from switchboard.sandbox.onec.paths import key_path, resolve_key, split_resource
from switchboard.sandbox.onec.query import (
    Projector,
    QueryOptions,
    Shape,
    build_shape,
    full_shape,
    matching,
    read_options,
    run_query,
    wire_value,
)
from switchboard.sandbox.onec.render import (
    JSON_TYPE,
    XML_TYPE,
    Format,
    Renderer,
    lenient,
    negotiate,
)
from switchboard.sandbox.onec.store import Key, Store
from switchboard.sandbox.onec.values import Record, format_datetime
from switchboard.sandbox.onec.virtual import VIRTUAL_TABLES, parse_call, slice_records

ACTIONS = {"Post": True, "Post()": True, "Unpost": False, "Unpost()": False}
LOAD_MODE_HEADER = "1c_odata-dataloadmode"
REALM = 'Basic realm="1C:Enterprise"'


@dataclass
class Exchange:
    """One request, with what every handler needs from it."""

    request: Request
    params: list[tuple[str, str]]
    root: str

    @property
    def method(self) -> str:
        return self.request.method

    @property
    def accept(self) -> str | None:
        return self.request.headers.get("accept")

    @property
    def load_mode(self) -> bool:
        return self.request.headers.get(LOAD_MODE_HEADER, "").strip().lower() == "true"

    @property
    def if_match(self) -> str | None:
        return self.request.headers.get("if-match")

    def option(self, name: str) -> str | None:
        values = [value for key, value in self.params if key == name]
        return values[-1] if values else None

    def options(self) -> tuple[QueryOptions, Format]:
        options = read_options(self.params)
        return options, negotiate(options.format, self.accept)

    async def body(self) -> dict[str, object]:
        return parse_body(await self.request.body(), self.request.headers.get("content-type", ""))


class ODataApp:
    def __init__(self, store: Store, *, base_path: str, user: str, password: str) -> None:
        self.store = store
        self.registry = store.registry
        self.base_path = "/" + base_path.strip("/")
        self._user = user.encode()
        self._password = password.encode()
        self._edmx = edmx(self.registry)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        response = await self.respond(Request(scope, receive))
        response.headers["DataServiceVersion"] = "3.0"
        await response(scope, receive, send)

    async def respond(self, request: Request) -> Response:
        query = request.scope.get("query_string", b"").decode("utf-8", "replace")
        params = parse_qsl(query, keep_blank_values=True)
        exchange = Exchange(request, params, self._root(request))
        try:
            self._authenticate(request)
            return await self._route(exchange)
        except ODataError as error:
            return self._error(error, lenient(exchange.option("$format"), exchange.accept))

    # --- plumbing ------------------------------------------------------------------------------

    def _root(self, request: Request) -> str:
        host = request.headers.get("host") or f"{request.url.hostname}:{request.url.port}"
        return f"{request.url.scheme}://{host}{self.base_path}"

    def _authenticate(self, request: Request) -> None:
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        user = password = b""
        if scheme.lower() == "basic":
            try:
                user, _, password = base64.b64decode(encoded.strip(), validate=True).partition(b":")
            except (binascii.Error, ValueError):
                user = password = b""
        valid_user = hmac.compare_digest(user, self._user)
        valid_password = hmac.compare_digest(password, self._password)
        if not (valid_user and valid_password):
            raise ODataError(
                401,
                Code.ACCESS_DENIED,
                "Ошибка аутентификации: неверное имя пользователя или пароль",
            )

    @staticmethod
    def _error(error: ODataError, fmt: Format) -> Response:
        if fmt.json:
            body, media_type = json_envelope(error.code, error.message), JSON_TYPE
        else:
            body, media_type = xml_envelope(error.code, error.message), XML_TYPE
        headers = {"WWW-Authenticate": REALM} if error.status == 401 else None
        return Response(body, error.status, headers=headers, media_type=media_type)

    def _renderer(self, exchange: Exchange, fmt: Format) -> Renderer:
        return Renderer(exchange.root, fmt, format_datetime(self.store.clock()))

    # --- routing -------------------------------------------------------------------------------

    async def _route(self, exchange: Exchange) -> Response:
        path: str = exchange.request.scope["path"]
        if path != self.base_path and not path.startswith(self.base_path + "/"):
            raise ODataError(404, Code.BAD_URL, f"Неверный URL: {path}")
        rest = path[len(self.base_path) :].lstrip("/")
        if not rest:
            return self._service_document(exchange)
        if rest == "$metadata":
            return self._metadata(exchange)
        resource = split_resource(rest, VIRTUAL_TABLES)
        entity = self.registry.get(resource.name)
        if entity is None:
            raise entity_type_not_found(resource.name)
        if resource.function is not None:
            self._only(exchange, "GET")
            return self._virtual_table(exchange, entity, resource.function, resource.arguments)
        if resource.key_text is None:
            return await self._collection_route(exchange, entity, resource.segments)
        key = resolve_key(entity, resource.key_text)
        if not resource.segments:
            return await self._entity_route(exchange, entity, key)
        if len(resource.segments) == 1 and (
            resource.segments[0] in ACTIONS or exchange.method == "POST"
        ):
            return self._action(exchange, entity, key, resource.segments[0])
        return self._property(exchange, entity, key, resource.segments)

    def _service_document(self, exchange: Exchange) -> Response:
        self._only(exchange, "GET")
        _, fmt = exchange.options()
        if fmt.json:
            names = [{"name": name, "url": name} for name in self.registry]
            document = {"odata.metadata": f"{exchange.root}/$metadata", "value": names}
            return Response(_json(document), media_type=JSON_TYPE)
        body = service_document(self.registry, exchange.root)
        return Response(body, media_type="application/atomsvc+xml;charset=utf-8")

    def _metadata(self, exchange: Exchange) -> Response:
        self._only(exchange, "GET")
        options = read_options(exchange.params)
        if options.format is not None and negotiate(options.format, None).json:
            # The guide (17.4.7): the full description is not available as JSON.
            raise ODataError(
                400,
                Code.FORMAT_NOT_SUPPORTED,
                "Описание метаданных в формате json не поддерживается",
            )
        return Response(self._edmx, media_type=XML_TYPE)

    async def _collection_route(
        self, exchange: Exchange, entity: EntityDef, segments: Sequence[str]
    ) -> Response:
        if not segments:
            if exchange.method == "GET":
                return self._list(exchange, entity)
            if exchange.method == "POST":
                return await self._create(exchange, entity)
            raise method_forbidden(exchange.method)
        if list(segments) == ["$count"]:
            self._only(exchange, "GET")
            return self._count(exchange, entity)
        raise ODataError(400, Code.BAD_URL, f"Метод не найден: {'/'.join(segments)}")

    async def _entity_route(self, exchange: Exchange, entity: EntityDef, key: Key) -> Response:
        method = exchange.method
        if method == "GET":
            return self._read(exchange, entity, key)
        if method in ("PATCH", "PUT"):
            return await self._update(exchange, entity, key)
        if method == "DELETE":
            read_options(exchange.params)
            self.store.remove(entity, key, if_match=exchange.if_match)
            return Response(status_code=204)
        raise method_forbidden(method)

    @staticmethod
    def _only(exchange: Exchange, method: str) -> None:
        if exchange.method != method:
            raise method_forbidden(exchange.method)

    # --- handlers ------------------------------------------------------------------------------

    def _list(
        self, exchange: Exchange, entity: EntityDef, records: list[Record] | None = None
    ) -> Response:
        """A collection: the entity set's records, or the given ones (a virtual table)."""
        options, fmt = exchange.options()
        shape = build_shape(entity, options.select, options.expand, self.registry)
        if records is None:
            records = self.store.records(entity.name)
        page = run_query(
            records,
            entity,
            options,
            registry=self.registry,
            lookup=self.store.lookup,
            inlinecount_ignores_paging=self.store.inlinecount_ignores_paging,
        )
        projector = Projector(self.registry, self.store.lookup)
        items = [
            (key_path(entity, record), projector.project(entity, record, shape))
            for record in page.records
        ]
        body, media_type = self._renderer(exchange, fmt).collection(entity, items, page.count)
        return Response(body, media_type=media_type)

    def _virtual_table(
        self, exchange: Exchange, entity: EntityDef, function: str, arguments: str | None
    ) -> Response:
        """`SliceLast` / `SliceFirst` of a periodic register, then the usual query options."""
        call = parse_call(entity, function, arguments, exchange.params)
        sliced = slice_records(
            self.store.records(entity.name),
            entity,
            call,
            registry=self.registry,
            lookup=self.store.lookup,
        )
        return self._list(exchange, entity, sliced)

    def _count(self, exchange: Exchange, entity: EntityDef) -> Response:
        options, _ = exchange.options()
        records = self.store.records(entity.name)
        selected = matching(
            records, entity, options.filter, registry=self.registry, lookup=self.store.lookup
        )
        return Response(str(len(selected)), media_type="text/plain;charset=utf-8")

    def _read(self, exchange: Exchange, entity: EntityDef, key: Key) -> Response:
        options, fmt = exchange.options()
        if options.expand is not None:
            # Guide 17.4.6.4: no $expand when reading a single entity.
            raise ODataError(
                400, Code.NOT_SUPPORTED, "Параметр $expand не поддерживается для одиночной сущности"
            )
        record = self.store.find(entity, key)
        if record is None:
            raise instance_not_found()
        shape = build_shape(entity, options.select, None, self.registry)
        return self._entity_response(exchange, fmt, entity, record, shape=shape)

    async def _create(self, exchange: Exchange, entity: EntityDef) -> Response:
        _, fmt = exchange.options()
        body = await exchange.body()
        record = self.store.create(entity, body, load_mode=exchange.load_mode)
        response = self._entity_response(exchange, fmt, entity, record, status=201)
        location = f"{exchange.root}/{key_path(entity, record)}"
        # Entity names are Cyrillic: the header carries them as UTF-8, like 1C's own listing.
        response.raw_headers.append((b"location", location.encode()))
        return response

    async def _update(self, exchange: Exchange, entity: EntityDef, key: Key) -> Response:
        _, fmt = exchange.options()
        body = await exchange.body()
        change = self.store.patch if exchange.method == "PATCH" else self.store.replace
        record = change(entity, key, body, if_match=exchange.if_match, load_mode=exchange.load_mode)
        return self._entity_response(exchange, fmt, entity, record)

    def _action(self, exchange: Exchange, entity: EntityDef, key: Key, action: str) -> Response:
        self._only(exchange, "POST")
        if entity.kind is not Kind.DOCUMENT or action not in ACTIONS:
            raise ODataError(400, Code.BAD_URL, f"Метод не найден: {action}")
        mode = exchange.option("PostingModeOperational")
        if mode is not None and mode not in ("true", "false"):
            raise ODataError(
                400, Code.BAD_PROPERTY_VALUE, f"Неверное значение PostingModeOperational: {mode}"
            )
        self.store.post(entity, key, posted=ACTIONS[action], load_mode=exchange.load_mode)
        return Response(status_code=200)

    def _property(
        self, exchange: Exchange, entity: EntityDef, key: Key, segments: Sequence[str]
    ) -> Response:
        """`Entity(key)/Prop` or `Entity(key)/Ref/Prop`: one value, read "through the dot"."""
        self._only(exchange, "GET")
        _, fmt = exchange.options()
        record = self.store.find(entity, key)
        if record is None:
            raise instance_not_found()
        renderer = self._renderer(exchange, fmt)
        for position, name in enumerate(segments):
            last = position == len(segments) - 1
            prop = entity.prop(name)
            if prop is not None and last:
                value = wire_value(prop, record[name])
                body, media_type = renderer.value(name, prop.type.value, value)
                return Response(body, media_type=media_type)
            if entity.tabular_section(name) is not None and last:
                only_rows = Shape(fields=[], sections={name: None})
                rows = Projector(self.registry, self.store.lookup).project(
                    entity, record, only_rows
                )[name]
                body, media_type = renderer.value(
                    name, f"Collection({entity.row_type_name(name)})", rows
                )
                return Response(body, media_type=media_type)
            reference = entity.navigation(name)
            if reference is None or reference.target is None:
                raise ODataError(
                    404, Code.PROPERTY_NOT_FOUND, f"Запрошенное свойство не найдено: {name}"
                )
            target = self.store.lookup(reference.target, str(record[reference.name]))
            if target is None:
                raise instance_not_found()
            entity, record = self.registry[reference.target], target
        return self._entity_response(exchange, fmt, entity, record)

    def _entity_response(
        self,
        exchange: Exchange,
        fmt: Format,
        entity: EntityDef,
        record: Record,
        *,
        status: int = 200,
        shape: Shape | None = None,
    ) -> Response:
        shape = shape or full_shape(entity)
        item = Projector(self.registry, self.store.lookup).project(entity, record, shape)
        body, media_type = self._renderer(exchange, fmt).entity(
            entity, key_path(entity, record), item
        )
        return Response(body, status, media_type=media_type)


def _json(document: object) -> bytes:
    return orjson.dumps(document)


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
