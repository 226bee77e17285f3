"""Files in conversations: what may be uploaded, where it is kept, and the signed links that
serve it.

- The type is found from the content (puremagic, and a look inside ZIP containers), never from
  the name or the browser's claim: pictures (PNG, JPEG, GIF, WebP), PDF, UTF-8 text and office
  documents without macros. Anything else — a program, an archive, HTML or SVG however it is
  named — is refused (415) with what it really is.
- A file is kept under a random key in the messenger's store (`core.storage`: a folder or an
  S3 bucket); its name is only shown (and offered when saving it), never used as a path.
- A download link is `/api/widget/attachments/{id}?expires=…&signature=…`: an HMAC under a key
  derived for this purpose alone, valid for MESSENGER_ATTACHMENT_LINK_HOURS (rounded up to the
  hour, so a file keeps one URL — and the browser's cache — for an hour). Whoever has the link
  may open it, as in any messenger; a visitor never gets the link of another's file.
- It belongs to its uploader (a contact or a staff member) until a message of theirs takes it.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import math
import unicodedata
import uuid
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Self
from urllib.parse import quote

import puremagic
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.core.crypto import SecretBox
from switchboard.core.errors import ApiError, TooManyRequests
from switchboard.core.storage import BlobStore, FolderStore, S3Store
from switchboard.messenger.attachments import repository
from switchboard.messenger.attachments.repository import AttachmentRecord
from switchboard.messenger.attachments.schemas import NAME_LIMIT, AttachmentView
from switchboard.messenger.attachments.settings import AttachmentSettings

if TYPE_CHECKING:
    from switchboard.runtime import Runtime

#: The signing key's purpose (`SecretBox.signing_key`): an attachment's link and nothing else.
LINK_PURPOSE = "messenger.attachment-link"
#: Where the download endpoint is (links are made here, the router serves it).
DOWNLOAD_PATH = "/api/widget/attachments"
#: Bytes of the file's start that puremagic looks at.
HEAD_BYTES = 64 * 1024


#: A file no message took within this long is deleted (`tasks.sweep`).
UNCLAIMED_HOURS = 24
#: Files one sweep deletes at most (the next run takes the rest).
SWEEP_BATCH = 500
#: Files a visitor may upload per hour (an anonymous visitor must not fill the store).
VISITOR_UPLOADS_PER_HOUR = 60


class PayloadTooLarge(ApiError):
    status_code = 413


class UnsupportedMediaType(ApiError):
    status_code = 415


# --- what may be uploaded ----------------------------------------------------------------------


@dataclass(frozen=True)
class Kind:
    content_type: str
    #: The extensions a file of this kind may keep when saved; the first is added otherwise.
    extensions: tuple[str, ...]

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")

    @property
    def inline(self) -> bool:
        """Opened in the browser (pictures, PDF); the rest is saved."""
        return self.is_image or self.content_type == "application/pdf"


_OOXML = "application/vnd.openxmlformats-officedocument"
_ODF = "application/vnd.oasis.opendocument"
KINDS: dict[str, Kind] = {
    kind.content_type: kind
    for kind in (
        Kind("image/png", (".png",)),
        Kind("image/jpeg", (".jpg", ".jpeg", ".jpe", ".jfif")),
        Kind("image/gif", (".gif",)),
        Kind("image/webp", (".webp",)),
        Kind("application/pdf", (".pdf",)),
        Kind("text/plain", (".txt", ".log", ".csv", ".md")),
        Kind(f"{_OOXML}.wordprocessingml.document", (".docx",)),
        Kind(f"{_OOXML}.spreadsheetml.sheet", (".xlsx",)),
        Kind(f"{_OOXML}.presentationml.presentation", (".pptx",)),
        Kind(f"{_ODF}.text", (".odt",)),
        Kind(f"{_ODF}.spreadsheet", (".ods",)),
        Kind(f"{_ODF}.presentation", (".odp",)),
    )
}
#: What puremagic may name that is accepted as it is.
_BINARY = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf"})
#: The main part of an Office Open XML document → its type, and the name when it has macros.
_OOXML_PARTS = {
    "word/document.xml": (f"{_OOXML}.wordprocessingml.document", "DOCM"),
    "xl/workbook.xml": (f"{_OOXML}.spreadsheetml.sheet", "XLSM"),
    "ppt/presentation.xml": (f"{_OOXML}.presentationml.presentation", "PPTM"),
}
#: Programs named plainly (puremagic knows many rarer formats with the same first bytes).
_PROGRAMS = ((b"MZ", "EXE"), (b"\x7fELF", "ELF"), (b"\xcf\xfa\xed\xfe", "Mach-O"))
_MARKUP_NAMES = {"text/html": "HTML", "image/svg+xml": "SVG", "application/xml": "XML"}


class Refused(Exception):
    """The content is not a kind that may be sent; `found` names what it is (None: unknown)."""

    def __init__(self, found: str | None) -> None:
        super().__init__(found or "unknown")
        self.found = found


def sniff(path: Path) -> Kind:
    """The kind of the file at `path`, from its content alone (`Refused` otherwise). Blocking:
    run it in a thread."""
    with path.open("rb") as file:
        head = file.read(HEAD_BYTES)
    if head.startswith(b"PK\x03\x04"):
        return _container(path)
    for signature, name in _PROGRAMS:
        if head.startswith(signature) and b"\x00" in head[:64]:  # not text that starts so
            raise Refused(name)
    match = _magic(head)
    if match is None:
        return _text(path, otherwise=None)
    content_type, name = match
    if content_type in _BINARY:
        return KINDS[content_type]
    if content_type in _MARKUP_NAMES:
        raise Refused(_MARKUP_NAMES[content_type])
    if content_type and not content_type.startswith("text/"):
        raise Refused(name)
    # Text as puremagic sees it, or a kind it has no type for (a BOM, an ELF program …).
    return _text(path, otherwise=None if content_type else name)


def _magic(head: bytes) -> tuple[str, str] | None:
    """puremagic's most confident (type, name) of these bytes, if it knows them."""
    if not head:
        return None
    try:
        matches = puremagic.magic_string(head)
    except (puremagic.PureError, ValueError):
        return None
    if not matches:
        return None
    # The most confident match that has a type, else the most confident (puremagic's order).
    best = next((match for match in matches if match.mime_type), matches[0])
    name = best.extension.lstrip(".").upper() or best.name.split(" ")[0]
    return best.mime_type, name


def _container(path: Path) -> Kind:
    """A ZIP file: an Office Open XML or OpenDocument file without macros, or refused."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if "mimetype" in names:
                with archive.open("mimetype") as entry:
                    declared = entry.read(100).decode("ascii", "replace").strip()
                if declared in KINDS and declared.startswith(_ODF):
                    return KINDS[declared]
                raise Refused("ZIP")
            for part, (content_type, with_macros) in _OOXML_PARTS.items():
                if part in names and "[Content_Types].xml" in names:
                    if any(name.lower().endswith("vbaproject.bin") for name in names):
                        raise Refused(with_macros)
                    return KINDS[content_type]
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, RuntimeError):
        raise Refused("ZIP") from None
    raise Refused("ZIP")


def _text(path: Path, *, otherwise: str | None) -> Kind:
    """UTF-8 text without control characters; markup (HTML, SVG, XML) is refused, however it
    is named, and so is anything that is not text (as `otherwise` when puremagic named it)."""
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Refused(otherwise) from None
    if any(ord(ch) < 32 and ch not in "\t\n\r\f" for ch in text) or "\x7f" in text:
        raise Refused(otherwise)
    start = text.lstrip()[:4096].lower()
    if start.startswith("<"):
        if "<svg" in start:
            raise Refused("SVG")
        is_xml = start.startswith("<?xml") and "<html" not in start
        raise Refused("XML" if is_xml else "HTML")
    return KINDS["text/plain"]


def refusal(error: Refused) -> UnsupportedMediaType:
    if error.found is None:
        return UnsupportedMediaType(
            "attachment_type_unknown",
            "This file is not a picture, a PDF, text or an office document, so it cannot be sent.",
        )
    return UnsupportedMediaType(
        "attachment_type_refused",
        "Files of this kind cannot be sent: this one is {found}. Allowed are pictures (PNG, "
        "JPEG, GIF, WebP), PDF, text and office documents (DOCX, XLSX, PPTX, ODT, ODS, ODP).",
        found=error.found,
    )


def too_large(max_bytes: int) -> PayloadTooLarge:
    megabytes = max_bytes / (1024 * 1024)
    shown = f"{megabytes:.0f}" if megabytes >= 10 or megabytes.is_integer() else f"{megabytes:.1f}"
    return PayloadTooLarge(
        "attachment_too_large",
        "The file is larger than {limit} MB; send a smaller one.",
        limit=shown,
    )


# --- names ----------------------------------------------------------------------------------


def clean_name(raw: str | None) -> str:
    """The name to show: its last path part, printable characters only (no direction marks that
    disguise an extension), at most NAME_LIMIT characters with its extension kept."""
    name = unicodedata.normalize("NFC", (raw or "").replace("\\", "/").rsplit("/", 1)[-1])
    name = "".join(ch for ch in name if ch.isprintable()).strip()
    if not name.strip("."):
        return "файл"
    if len(name) > NAME_LIMIT:
        stem, dot, extension = name.rpartition(".")
        if dot and 0 < len(extension) <= 10:
            name = stem[: NAME_LIMIT - len(extension) - 1] + "." + extension
        else:
            name = name[:NAME_LIMIT]
    return name


def saved_name(name: str, kind: Kind) -> str:
    """The name a download offers: the shown one, with the extension of its real kind added
    when it claims another (`photo.html` that is a PNG saves as `photo.html.png`)."""
    suffix = Path(name).suffix.lower()
    return name if suffix in kind.extensions else name + kind.extensions[0]


def content_disposition(name: str, *, inline: bool) -> str:
    """RFC 6266: an ASCII `filename` fallback and the real name as UTF-8 `filename*`."""
    fallback = "".join(
        ch if ch.isascii() and (ch.isalnum() or ch in "._- ()") else "_" for ch in name
    )
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def kind_of(content_type: str) -> Kind:
    return KINDS.get(content_type, Kind(content_type, ("",)))


# --- signed links ----------------------------------------------------------------------------


def signature(key: bytes, attachment_id: int, expires: int) -> str:
    message = f"attachment:{attachment_id}:{expires}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


LinkState = Literal["valid", "forged", "expired"]


def check_link(
    key: bytes, attachment_id: int, expires: int, given: str, *, now: datetime
) -> LinkState:
    """Forged before expired: an altered expiry is a forgery, not an old link."""
    expected = signature(key, attachment_id, expires).encode()
    if not hmac.compare_digest(expected, given.lower().encode()):
        return "forged"
    if expires < now.timestamp():
        return "expired"
    return "valid"


# --- the store, the links and the views (one per process) --------------------------------------


def make_store(settings: AttachmentSettings, data_dir: Path) -> BlobStore:
    if settings.messenger_attachments_storage == "s3":
        endpoint = settings.messenger_attachments_s3_endpoint
        return S3Store(
            bucket=settings.messenger_attachments_s3_bucket,
            endpoint_url=str(endpoint) if endpoint else None,
            region=settings.messenger_attachments_s3_region,
            access_key=settings.messenger_attachments_s3_access_key,
            secret_key=settings.messenger_attachments_s3_secret_key.get_secret_value(),
            target="attachments:s3",
        )
    return FolderStore(settings.messenger_attachments_dir or data_dir / "attachments")


@dataclass(frozen=True)
class Stored:
    """An upload kept in the store, not yet recorded."""

    key: str
    name: str
    kind: Kind
    size: int


class Attachments:
    """This process's attachment store, limits and link signer
    (`runtime.extension(Attachments)`)."""

    def __init__(
        self,
        *,
        store: BlobStore,
        signing_key: bytes,
        base_url: str,
        max_bytes: int,
        link_hours: int,
        scratch: Path,
    ) -> None:
        self.store = store
        self.signing_key = signing_key
        #: The public address the links start with ("" keeps them relative to this host).
        self.base_url = base_url.rstrip("/")
        self.max_bytes = max_bytes
        self.link_hours = link_hours
        #: Where uploads are written while they arrive.
        self.scratch = scratch

    @classmethod
    def create(cls, runtime: Runtime) -> Self:
        core = runtime.settings
        settings = AttachmentSettings.of(core)
        return cls(
            store=make_store(settings, core.data_dir),
            signing_key=SecretBox(core.secret_keys.get_secret_value()).signing_key(LINK_PURPOSE),
            base_url=str(core.public_url) if core.public_url else "",
            max_bytes=settings.messenger_attachment_max_bytes,
            link_hours=settings.messenger_attachment_link_hours,
            scratch=core.data_dir / "attachments-partial",
        )

    def expires(self, now: datetime) -> int:
        """The link's expiry: `link_hours` from now, rounded up to the next whole hour."""
        until = (now + timedelta(hours=self.link_hours)).timestamp()
        return math.ceil(until / 3600) * 3600

    def url(self, attachment_id: int, now: datetime) -> str:
        expires = self.expires(now)
        query = f"expires={expires}&signature={signature(self.signing_key, attachment_id, expires)}"
        return f"{self.base_url}{DOWNLOAD_PATH}/{attachment_id}?{query}"

    def check(self, attachment_id: int, expires: int, given: str, now: datetime) -> LinkState:
        return check_link(self.signing_key, attachment_id, expires, given, now=now)

    def views(
        self, items: Iterable[AttachmentRecord | Mapping[str, Any]], now: datetime
    ) -> list[AttachmentView]:
        """Views with fresh signed links, of rows or of the snapshots messages keep
        (`{id, name, content_type, bytes}`)."""
        return [self.view(item, now) for item in items]

    def view(self, item: AttachmentRecord | Mapping[str, Any], now: datetime) -> AttachmentView:
        if isinstance(item, AttachmentRecord):
            attachment_id, name = item.id, item.file_name
            content_type, size = item.content_type, item.bytes
        else:
            attachment_id = int(item["id"])
            name = str(item.get("name") or item.get("file_name") or "")
            content_type = str(item.get("content_type") or "application/octet-stream")
            size = int(item.get("bytes") or 0)
        return AttachmentView(
            id=attachment_id,
            name=name,
            content_type=content_type,
            bytes=size,
            url=self.url(attachment_id, now),
            is_image=content_type in KINDS and KINDS[content_type].is_image,
        )

    async def keep(self, upload: Path, name: str | None, size: int, now: datetime) -> Stored:
        """Check the uploaded file's kind (415) and keep it in the store under a new key."""
        try:
            kind = await asyncio.to_thread(sniff, upload)
        except Refused as error:
            raise refusal(error) from None
        key = f"attachments/{now:%Y/%m}/{uuid.uuid4().hex}{kind.extensions[0]}"
        await self.store.save(key, upload, kind.content_type)
        return Stored(key=key, name=clean_name(name), kind=kind, size=size)


def attachment_views(
    attachments: Attachments,
    items: Iterable[AttachmentRecord | Mapping[str, Any]],
    now: datetime,
) -> list[AttachmentView]:
    """Views of these files (rows, or the snapshots messages keep) with signed links."""
    return attachments.views(items, now)


async def record(
    session: AsyncSession, stored: Stored, *, contact_id: int | None, staff_id: int | None
) -> AttachmentRecord:
    """The uploaded file's row, belonging to its uploader until a message takes it."""
    return await repository.insert(
        session,
        contact_id=contact_id,
        staff_id=staff_id,
        file_name=stored.name,
        content_type=stored.kind.content_type,
        size=stored.size,
        storage_key=stored.key,
    )


async def check_visitor_quota(session: AsyncSession, contact_id: int, now: datetime) -> None:
    """429 (with Retry-After) once the visitor uploaded VISITOR_UPLOADS_PER_HOUR files within
    the last hour."""
    hour = timedelta(hours=1)
    uploaded, first = await repository.recent_uploads(session, contact_id, now - hour)
    if uploaded < VISITOR_UPLOADS_PER_HOUR:
        return
    wait = max(1, math.ceil(((first or now) + hour - now).total_seconds()))
    raise TooManyRequests(
        "attachment_quota",
        "Too many files in an hour; try again later.",
        headers={"Retry-After": str(wait)},
    )


async def attachment(session: AsyncSession, attachment_id: int) -> AttachmentRecord | None:
    return await repository.by_id(session, attachment_id)


async def of_messages(
    session: AsyncSession, message_ids: list[int]
) -> dict[int, list[AttachmentRecord]]:
    """The files of these messages, by message id (one query)."""
    return await repository.of_messages(session, message_ids)


async def forget_unclaimed(session: AsyncSession, now: datetime) -> list[str]:
    """Delete the rows of files no message took within UNCLAIMED_HOURS; their storage keys
    (the caller deletes those from the store once this transaction is committed)."""
    before = now - timedelta(hours=UNCLAIMED_HOURS)
    return await repository.delete_unclaimed(session, before, SWEEP_BATCH)
