"""Files for the attachment tests, made here byte by byte (no image library needed), and the
requests that upload them."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from collections.abc import AsyncIterator
from typing import Any

import httpx

WIDGET = "/api/widget"
MESSENGER = "/api/messenger"


def png(width: int = 2, height: int = 2, *, padding: int = 0) -> bytes:
    """A valid RGB PNG (`padding`: an ancillary chunk of that many bytes, to make it large)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\xff\x80\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    extra = chunk(b"tEXt", b"c\x00" + b"x" * padding) if padding else b""
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + extra
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64
GIF = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x01" + b"\x00" * 20
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 \x18\x00\x00\x00" + b"\x00" * 24
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 56


def office(kind: str, *, macros: bool = False) -> bytes:
    """A minimal DOCX/XLSX (`word`, `xl`) or ODT (`odt`) container, or a plain ZIP (`zip`)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        if kind == "odt":
            archive.writestr("mimetype", "application/vnd.oasis.opendocument.text")
            archive.writestr("content.xml", "<office:document-content/>")
        elif kind in ("word", "xl"):
            archive.writestr("[Content_Types].xml", "<Types/>")
            main = "word/document.xml" if kind == "word" else "xl/workbook.xml"
            archive.writestr(main, "<document/>")
            if macros:
                archive.writestr(f"{kind}/vbaProject.bin", b"\xd0\xcf\x11\xe0")
        else:
            archive.writestr("readme.txt", "hello")
    return buffer.getvalue()


async def upload_as_visitor(
    client: httpx.AsyncClient,
    key: str,
    token: str | None,
    content: bytes,
    name: str = "file.png",
    *,
    claimed_type: str = "image/png",
) -> httpx.Response:
    headers = {"X-Visitor-Token": token} if token else {}
    return await client.post(
        f"{WIDGET}/attachments",
        data={"inbox": key},
        files={"file": (name, content, claimed_type)},
        headers=headers,
    )


async def upload_as_staff(
    client: httpx.AsyncClient, csrf: str | None, content: bytes, name: str = "file.png"
) -> httpx.Response:
    headers = {"X-CSRF-Token": csrf} if csrf else {}
    return await client.post(
        f"{MESSENGER}/attachments",
        files={"file": (name, content, "application/octet-stream")},
        headers=headers,
    )


def streamed_form(
    fields: dict[str, str], name: str, chunks: AsyncIterator[bytes] | Any
) -> tuple[str, AsyncIterator[bytes]]:
    """A multipart body sent chunked, without Content-Length: (content type, body)."""
    boundary = "sb-test-boundary-7e3f"

    async def body() -> AsyncIterator[bytes]:
        for field, value in fields.items():
            yield (
                f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"\r\n\r\n{value}\r\n'
            ).encode()
        yield (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="{name}"\r\nContent-Type: application/octet-stream\r\n\r\n'
        ).encode()
        async for chunk in chunks:
            yield chunk
        yield f"\r\n--{boundary}--\r\n".encode()

    return f"multipart/form-data; boundary={boundary}", body()


def local(url: str) -> str:
    """A link's path and query (the test client talks to the app directly)."""
    parsed = httpx.URL(url)
    return parsed.raw_path.decode()
