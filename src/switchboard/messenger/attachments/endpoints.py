"""Uploading and downloading files of conversations.

- `POST /api/widget/attachments` (a visitor: `X-Visitor-Token`; multipart `inbox`, `file`) and
  `POST /api/messenger/attachments` (a staff member: session cookie and `X-CSRF-Token`;
  multipart `file`) answer the file's `AttachmentView`; a message takes it by id.
- `GET /api/widget/attachments/{id}?expires=…&signature=…` serves it behind its signed link.

The upload is read as a stream, straight to a scratch file: reading stops as soon as the file
passes MESSENGER_ATTACHMENT_MAX_BYTES (413, nothing kept), and no database connection is held
while it arrives. The widget sends `inbox` before the file, so an inbox without attachments is
refused (403) before the file is read.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path as FilePath
from typing import IO, Annotated, Any

from fastapi import APIRouter, Cookie, Header, Path, Query, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect

from switchboard.core.db.base import utcnow
from switchboard.core.errors import (
    BadRequest,
    ErrorBody,
    Forbidden,
    Gone,
    NotFound,
    Unprocessable,
    error_responses,
)
from switchboard.core.routing import StrictQueryRoute
from switchboard.messenger.accounts import endpoints as accounts
from switchboard.messenger.attachments import service
from switchboard.messenger.attachments.schemas import AttachmentView, upload_body
from switchboard.messenger.attachments.service import Attachments
from switchboard.messenger.conversations import service as conversations
from switchboard.runtime import Runtime, runtime_of

#: Room for the form's other fields and part headers besides the file itself.
FORM_OVERHEAD = 64 * 1024
#: The longest value of a form field other than the file.
FIELD_LIMIT = 1024
#: Parts a form may have (`inbox`, `file`).
PARTS_LIMIT = 4
_PUBLIC_KEY_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")

_UPLOAD_ERRORS: dict[int | str, dict[str, Any]] = {
    413: {"model": ErrorBody, "description": "The file is larger than the limit"},
    415: {"model": ErrorBody, "description": "The file's content is not a kind that may be sent"},
}

widget = APIRouter(
    prefix="/api/widget", tags=["messenger: attachments"], route_class=StrictQueryRoute
)
staff = APIRouter(
    prefix="/api/messenger", tags=["messenger: attachments"], route_class=StrictQueryRoute
)

VisitorToken = Annotated[
    str | None,
    Header(alias="X-Visitor-Token", max_length=200, description="The token `bootstrap` answered"),
]
Origin = Annotated[str | None, Header(include_in_schema=False)]
SessionCookie = Annotated[
    str | None,
    Cookie(alias=accounts.SESSION_COOKIE, max_length=200, description="The login's session"),
]
CsrfToken = Annotated[
    str | None,
    Header(alias=accounts.CSRF_HEADER, max_length=200, description="The login's CSRF token"),
]


# --- reading a multipart upload as it arrives ----------------------------------------------------


def _malformed() -> BadRequest:
    return BadRequest(
        "upload_malformed", "The upload is malformed; send the file as multipart/form-data."
    )


@dataclass
class _Form:
    """What the multipart parser found so far (its callbacks are synchronous: the file's bytes
    wait in `pending` until the reading loop writes them out)."""

    max_bytes: int
    #: The fields besides `file` this form may have.
    allowed: frozenset[str] = frozenset()
    fields: dict[str, str] = field(default_factory=dict)
    file_seen: bool = False
    file_name: str | None = None
    size: int = 0
    pending: bytearray = field(default_factory=bytearray)
    too_large: bool = False
    problem: str | None = None
    ended: bool = False
    parts: int = 0
    _headers: dict[str, bytes] = field(default_factory=dict)
    _header_name: bytearray = field(default_factory=bytearray)
    _header_value: bytearray = field(default_factory=bytearray)
    _part: str | None = None  # "file", a field's name, or None (skipped)
    _value: bytearray = field(default_factory=bytearray)

    def parser(self, boundary: bytes) -> MultipartParser:
        return MultipartParser(
            boundary,
            {
                "on_part_begin": self._part_begin,
                "on_header_field": self._header_field,
                "on_header_value": self._header_value_data,
                "on_header_end": self._header_end,
                "on_headers_finished": self._headers_finished,
                "on_part_data": self._part_data,
                "on_part_end": self._part_end,
                "on_end": self._end,
            },
        )

    def _part_begin(self) -> None:
        self.parts += 1
        if self.parts > PARTS_LIMIT:
            self.problem = self.problem or "parts"
        self._headers, self._part, self._value = {}, None, bytearray()

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def _header_value_data(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _header_end(self) -> None:
        name = self._header_name.decode("latin-1").strip().lower()
        self._headers[name] = bytes(self._header_value)
        self._header_name, self._header_value = bytearray(), bytearray()

    def _headers_finished(self) -> None:
        _, params = parse_options_header(self._headers.get("content-disposition", b""))
        name = params.get(b"name", b"").decode("utf-8", "replace")
        if name == "file":
            if self.file_seen:
                self.problem = self.problem or "two files"
                return
            self.file_seen = True
            self._part = "file"
            raw = params.get(b"filename")
            self.file_name = raw.decode("utf-8", "replace") if raw is not None else None
        elif name in self.allowed and name not in self.fields:
            self._part = name
        else:
            self.problem = self.problem or "field"

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._part == "file":
            self.size += end - start
            if self.size > self.max_bytes:
                self.too_large = True
            else:
                self.pending += data[start:end]
        elif self._part is not None:
            self._value += data[start:end]
            if len(self._value) > FIELD_LIMIT:
                self.problem = self.problem or "field too long"
                self._part = None

    def _part_end(self) -> None:
        if self._part not in (None, "file"):
            self.fields[self._part] = self._value.decode("utf-8", "replace").strip()
        self._part = None

    def _end(self) -> None:
        self.ended = True


@dataclass
class Received:
    path: FilePath
    name: str | None
    size: int
    fields: dict[str, str]


class _Scratch:
    """The scratch file an upload is written to, opened with its first bytes."""

    def __init__(self, folder: FilePath) -> None:
        self.folder = folder
        self.path: FilePath | None = None
        self._file: IO[bytes] | None = None

    def _open(self) -> IO[bytes]:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.path = self.folder / f"{uuid.uuid4().hex}.upload"
        return self.path.open("xb")

    async def write(self, data: bytes) -> None:
        if self._file is None:
            self._file = await asyncio.to_thread(self._open)
        await asyncio.to_thread(self._file.write, data)

    async def close(self) -> None:
        if self._file is not None:
            await asyncio.to_thread(self._file.close)
            self._file = None

    async def discard(self) -> None:
        await self.close()
        if self.path is not None:
            await asyncio.to_thread(self.path.unlink, missing_ok=True)


def _boundary(request: Request, max_bytes: int) -> bytes:
    media_type, params = parse_options_header(request.headers.get("content-type"))
    boundary = params.get(b"boundary")
    if media_type != b"multipart/form-data" or not boundary or len(boundary) > 200:
        raise _malformed()
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes + FORM_OVERHEAD:
        raise service.too_large(max_bytes)
    return boundary


FieldCheck = Callable[[str, str], Awaitable[None]]


async def _read(
    request: Request, form: _Form, scratch: _Scratch, on_field: FieldCheck | None
) -> None:
    """Feed the body to the parser as it arrives, writing the file out and checking each field
    once it is complete; stops at the first problem."""
    parser = form.parser(_boundary(request, form.max_bytes))
    checked: set[str] = set()
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > form.max_bytes + FORM_OVERHEAD:
            raise service.too_large(form.max_bytes)
        try:
            parser.write(chunk)
        except MultipartParseError:
            raise _malformed() from None
        if form.too_large:
            raise service.too_large(form.max_bytes)
        if form.problem:
            raise Unprocessable(
                "upload_fields",
                "The upload may only have the fields {fields}, each once.",
                fields=", ".join([*sorted(form.allowed), "file"]),
            )
        for name, value in list(form.fields.items()):
            if name not in checked and on_field is not None:
                checked.add(name)
                await on_field(name, value)
        if form.pending:
            data, form.pending = bytes(form.pending), bytearray()
            await scratch.write(data)
    try:
        parser.finalize()
    except MultipartParseError:
        raise _malformed() from None
    if not form.ended:
        raise _malformed()


async def receive(
    request: Request,
    attachments: Attachments,
    *,
    fields: frozenset[str] = frozenset(),
    on_field: FieldCheck | None = None,
) -> Received:
    """The uploaded file, written to a scratch file (the caller removes it), and the form's
    other fields; `on_field` checks each field as soon as it is complete, before more of the
    file is read. 413 past the limit, 400/422 for a malformed form or one without a file."""
    form = _Form(max_bytes=attachments.max_bytes, allowed=fields)
    scratch = _Scratch(attachments.scratch)
    try:
        await _read(request, form, scratch, on_field)
        if not form.file_seen:
            raise Unprocessable("attachment_missing", "Choose a file to send.")
        await scratch.close()
        if form.size == 0 or scratch.path is None:
            raise Unprocessable("attachment_empty", "The file is empty.")
    except ClientDisconnect:
        await scratch.discard()
        raise _malformed() from None
    except BaseException:
        await scratch.discard()
        raise
    return Received(path=scratch.path, name=form.file_name, size=form.size, fields=form.fields)


async def _keep(
    runtime: Runtime,
    received: Received,
    *,
    contact_id: int | None = None,
    staff_id: int | None = None,
) -> AttachmentView:
    """Check the received file, keep it and record it; the scratch file is removed whatever
    happens."""
    attachments = runtime.extension(Attachments)
    now = utcnow()
    try:
        stored = await attachments.keep(received.path, received.name, received.size, now)
    finally:
        await asyncio.to_thread(received.path.unlink, missing_ok=True)
    try:
        async with runtime.database.transaction() as session:
            record = await service.record(session, stored, contact_id=contact_id, staff_id=staff_id)
    except BaseException:
        await attachments.store.delete(stored.key)
        raise
    return attachments.view(record, now)


# --- the endpoints -----------------------------------------------------------------------------


@widget.post(
    "/attachments",
    status_code=201,
    response_model=AttachmentView,
    responses={**error_responses(401, 403, 404, 422, 429), **_UPLOAD_ERRORS},
    openapi_extra=upload_body(with_inbox=True),
    summary="Upload a visitor's file",
    description=(
        "A file for the visitor's next message (`attachments` of `POST /messages` takes its "
        "id). Multipart form: `inbox` (the widget's public key, before the file) and `file`. "
        "The type is found from the content: pictures (PNG, JPEG, GIF, WebP), PDF, UTF-8 "
        "text and office documents without macros (DOCX, XLSX, PPTX, ODT, ODS, ODP); anything "
        "else, HTML or SVG included whatever its name, is refused (415). Larger than "
        "MESSENGER_ATTACHMENT_MAX_BYTES (10 MiB by default): 413, nothing kept. 401 without "
        "a known `X-Visitor-Token`; 403 when the inbox turned attachments off or is limited to "
        "other sites; 429 past 60 files an hour. The answer's `url` "
        "is a signed link that expires."
    ),
)
async def upload_visitor_file(
    request: Request, token: VisitorToken = None, origin: Origin = None
) -> AttachmentView:
    runtime = runtime_of(request)
    async with runtime.database.transaction() as session:
        contact = await conversations.visitor(session, token)
        await service.check_visitor_quota(session, contact.id, utcnow())

    async def check(name: str, value: str) -> None:
        if name != "inbox":
            return
        if not 1 <= len(value) <= 100 or not set(value) <= _PUBLIC_KEY_CHARS:
            raise Unprocessable("inbox_invalid", "The inbox field is not a widget's key.")
        async with runtime.database.transaction() as session:
            found = await conversations.widget(session, value, origin)
        if not found.settings.features.attachments:
            raise Forbidden("attachments_disabled", "Files cannot be sent in this chat.")

    received = await receive(
        request, runtime.extension(Attachments), fields=frozenset({"inbox"}), on_field=check
    )
    if "inbox" not in received.fields:
        await asyncio.to_thread(received.path.unlink, missing_ok=True)
        raise Unprocessable("inbox_required", "The inbox field is required.")
    return await _keep(runtime, received, contact_id=contact.id)


@staff.post(
    "/attachments",
    status_code=201,
    response_model=AttachmentView,
    responses={**error_responses(401, 403, 422), **_UPLOAD_ERRORS},
    openapi_extra=upload_body(with_inbox=False),
    summary="Upload a staff member's file",
    description=(
        "A file for the staff member's next message in a conversation (its `attachments` "
        "take the id). Multipart form with one field, `file`; the session cookie and the "
        "`X-CSRF-Token` header are required (401, 403). The same kinds and size limit as the "
        "widget's uploads (415, 413)."
    ),
)
async def upload_staff_file(
    request: Request, token: SessionCookie = None, csrf_token: CsrfToken = None
) -> AttachmentView:
    runtime = runtime_of(request)
    async with runtime.database.transaction() as session:
        signed_in = await accounts.changing_session(
            await accounts.staff_session(session, token), csrf_token
        )
        member = await accounts.changing_staff(signed_in)
    received = await receive(request, runtime.extension(Attachments))
    return await _keep(runtime, received, staff_id=member.id)


@widget.get(
    "/attachments/{attachment_id}",
    response_class=Response,
    responses={
        200: {
            "description": "The file, with the type found from its content",
            "content": {content_type: {} for content_type in service.KINDS},
        },
        307: {"description": "The store serves it (a presigned URL, 5 minutes)"},
        **error_responses(403, 404, 410, 422),
    },
    summary="Download a file of a conversation (signed link)",
    description=(
        "The file behind the `url` of its `AttachmentView`: signed (403 when altered), "
        "expiring (410; listing the messages again gives fresh links), 404 when there is no "
        "such file. Pictures and PDF open in the browser, the rest is saved; the type is the "
        "one found from the content and is never sniffed again (`nosniff`)."
    ),
)
async def download_file(
    request: Request,
    attachment_id: Annotated[int, Path(ge=1, le=2**63 - 1, description="The file's id")],
    expires: Annotated[int, Query(ge=0, le=2**40, description="Unix time the link expires")],
    signature: Annotated[str, Query(min_length=1, max_length=128)],
) -> Response:
    runtime = runtime_of(request)
    attachments = runtime.extension(Attachments)
    state = attachments.check(attachment_id, expires, signature, utcnow())
    if state == "forged":
        raise Forbidden("attachment_link_invalid", "This file link is not valid.")
    if state == "expired":
        raise Gone("attachment_link_expired", "This file link has expired; open the chat again.")
    async with runtime.database.transaction() as session:
        record = await service.attachment(session, attachment_id)
    if record is None:
        raise NotFound("attachment_not_found", "There is no such file.")
    kind = service.kind_of(record.content_type)
    name = service.saved_name(record.file_name, kind)
    disposition = service.content_disposition(name, inline=kind.inline)
    where = await attachments.store.locate(
        record.storage_key, filename=name, content_type=kind.content_type, disposition=disposition
    )
    if where is None:
        raise NotFound("attachment_not_found", "There is no such file.")
    if isinstance(where, str):
        return RedirectResponse(where, status_code=307)
    headers = {
        "Content-Disposition": disposition,
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, max-age=3600",
        # The widget shows pictures on customers' sites.
        "Cross-Origin-Resource-Policy": "cross-origin",
    }
    if kind.content_type != "application/pdf":  # a sandbox would stop the browser's PDF viewer
        headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return FileResponse(where, media_type=kind.content_type, headers=headers)


router = APIRouter()
router.include_router(widget)
router.include_router(staff)
