"""Files in conversations through the real app and database: uploads by visitors and staff, the
type found from the content (disguised files refused), the size limit while the upload streams,
signed download links, and the files of messages loaded in one query."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from switchboard.core.db.base import utcnow
from switchboard.messenger.accounts import service as accounts
from switchboard.messenger.attachments import service
from switchboard.messenger.attachments.service import Attachments, Refused
from switchboard.runtime import Runtime
from tests.messenger.attachments_support import (
    ELF,
    EXE,
    GIF,
    HTML,
    JPEG,
    PDF,
    SVG,
    WEBP,
    WIDGET,
    local,
    office,
    png,
    streamed_form,
    upload_as_staff,
    upload_as_visitor,
)
from tests.messenger.support import World, public_key

PASSWORD = "correct horse battery staple"
MIB = 1024 * 1024


@pytest.fixture
async def app(
    runtime_factory: Any, client_factory: Any, tmp_path: Path
) -> tuple[Runtime, httpx.AsyncClient]:
    runtime: Runtime = await runtime_factory(DATA_DIR=str(tmp_path))
    client: httpx.AsyncClient = await client_factory(runtime)
    return runtime, client


async def visitor(client: httpx.AsyncClient, key: str) -> str:
    answer = await client.post(f"{WIDGET}/bootstrap", json={"inbox": key})
    assert answer.status_code == 200, answer.text
    return str(answer.json()["visitor_token"])


async def widget_inbox(runtime: Runtime, **settings: Any) -> tuple[int, str]:
    world = World(runtime.database)
    inbox = await world.inbox(settings=settings or None)
    return inbox, await public_key(world, inbox)


def stored_files(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file()]


async def count(runtime: Runtime) -> int:
    return int(await World(runtime.database).one("SELECT count(*) FROM messenger.attachments"))


# --- visitors' uploads -------------------------------------------------------------------------


async def test_a_visitor_uploads_a_png_and_opens_it_by_its_signed_link(
    app: tuple[Runtime, httpx.AsyncClient], tmp_path: Path
) -> None:
    runtime, client = app
    _, key = await widget_inbox(runtime)
    token = await visitor(client, key)
    picture = png(3, 2)

    answer = await upload_as_visitor(client, key, token, picture, "Скриншот 1.png")
    assert answer.status_code == 201, answer.text
    view = answer.json()
    assert view["name"] == "Скриншот 1.png"
    assert view["content_type"] == "image/png"
    assert view["bytes"] == len(picture)
    assert view["is_image"] is True
    assert view["url"].startswith(f"/api/widget/attachments/{view['id']}?expires=")

    row = await World(runtime.database).one(
        "SELECT row_to_json(a) FROM messenger.attachments a WHERE id = :i", i=view["id"]
    )
    contact = await World(runtime.database).one("SELECT max(id) FROM messenger.contacts")
    assert row["contact_id"] == contact
    assert row["staff_id"] is None
    assert row["message_id"] is None
    assert "Скриншот" not in row["storage_key"]  # the name is never a path
    [kept] = stored_files(tmp_path / "attachments")
    assert kept.read_bytes() == picture
    assert not stored_files(tmp_path / "attachments-partial")

    opened = await client.get(local(view["url"]))
    assert opened.status_code == 200
    assert opened.content == picture
    assert opened.headers["content-type"] == "image/png"
    assert opened.headers["x-content-type-options"] == "nosniff"
    assert opened.headers["content-disposition"] == (
        "inline; filename=\"________ 1.png\"; filename*=UTF-8''"
        "%D0%A1%D0%BA%D1%80%D0%B8%D0%BD%D1%88%D0%BE%D1%82%201.png"
    )
    assert opened.headers["cache-control"].startswith("private")
    assert "sandbox" in opened.headers["content-security-policy"]
    # The widget on a customer's site shows it with <img src>: no credentials needed.
    assert "set-cookie" not in opened.headers


async def test_other_accepted_kinds_are_named_by_their_content(
    app: tuple[Runtime, httpx.AsyncClient],
) -> None:
    runtime, client = app
    _, key = await widget_inbox(runtime)
    token = await visitor(client, key)
    cases = [
        (JPEG, "photo.jpg", "image/jpeg", True),
        (GIF, "anim.gif", "image/gif", True),
        (WEBP, "pic.webp", "image/webp", True),
        (PDF, "договор.pdf", "application/pdf", False),
        ("Привет! Счёт №5\n".encode(), "заметка.txt", "text/plain", False),
        (office("word"), "письмо.docx", f"{service._OOXML}.wordprocessingml.document", False),
        (office("xl"), "table.xlsx", f"{service._OOXML}.spreadsheetml.sheet", False),
        (office("odt"), "text.odt", "application/vnd.oasis.opendocument.text", False),
    ]
    for content, name, content_type, is_image in cases:
        answer = await upload_as_visitor(
            client, key, token, content, name, claimed_type="application/x-whatever"
        )
        assert answer.status_code == 201, (name, answer.text)
        assert (answer.json()["content_type"], answer.json()["is_image"]) == (
            content_type,
            is_image,
        )

    text = await upload_as_visitor(client, key, token, b"plain words", "notes.html")
    opened = await client.get(local(text.json()["url"]))
    assert opened.headers["content-type"] == "text/plain; charset=utf-8"
    # Saved, not opened; and under a name a browser will not take for a page.
    assert opened.headers["content-disposition"].startswith('attachment; filename="notes.html.txt"')
    pdf = await upload_as_visitor(client, key, token, PDF, "a.pdf")
    opened = await client.get(local(pdf.json()["url"]))
    assert opened.headers["content-disposition"].startswith('inline; filename="a.pdf"')
    assert "content-security-policy" not in opened.headers  # the browser's PDF viewer works


@pytest.mark.parametrize(
    ("content", "name", "found"),
    [
        (HTML, "cat.png", "HTML"),
        (SVG, "logo.png", "SVG"),
        (b"  <div onclick=alert(1)>hi</div>", "note.txt", "HTML"),
        (EXE, "photo.jpg", "EXE"),
        (ELF, "scan.pdf", "ELF"),
        (office("zip"), "doc.docx", "ZIP"),
        (office("word", macros=True), "invoice.docx", "DOCM"),
    ],
)
async def test_a_disguised_file_is_refused_naming_what_it_is(
    app: tuple[Runtime, httpx.AsyncClient],
    tmp_path: Path,
    content: bytes,
    name: str,
    found: str,
) -> None:
    runtime, client = app
    _, key = await widget_inbox(runtime)
    token = await visitor(client, key)
    answer = await upload_as_visitor(client, key, token, content, name)
    assert answer.status_code == 415, answer.text
    body = answer.json()
    assert body["error"] == "attachment_type_refused"
    assert found in body["message"]
    assert await count(runtime) == 0
    assert not stored_files(tmp_path)


async def test_unknown_binary_content_is_refused(
    app: tuple[Runtime, httpx.AsyncClient], tmp_path: Path
) -> None:
    runtime, client = app
    _, key = await widget_inbox(runtime)
    token = await visitor(client, key)
    answer = await upload_as_visitor(client, key, token, bytes(range(256)) * 4, "x.png")
    assert answer.status_code == 415
    assert answer.json()["error"] == "attachment_type_unknown"
    assert await count(runtime) == 0


async def test_an_oversized_file_is_refused_and_nothing_is_kept(
    app: tuple[Runtime, httpx.AsyncClient], tmp_path: Path
) -> None:
    runtime, client = app
    _, key = await widget_inbox(runtime)
    token = await visitor(client, key)
    big = png(padding=10 * MIB)
    answer = await upload_as_visitor(client, key, token, big, "big.png")
    assert answer.status_code == 413, answer.text
    assert answer.json()["error"] == "attachment_too_large"
    assert " 10 " in answer.json()["message"]  # the limit, in MB whatever the language
    assert await count(runtime) == 0
    assert not stored_files(tmp_path)

    # Sent without a length, the upload is read only until it passes the limit.
    sent = 0

    async def endless() -> AsyncIterator[bytes]:
        nonlocal sent
        yield png()[:16]
        while sent < 40 * MIB:
            sent += MIB
            yield b"\x00" * MIB

    content_type, body = streamed_form({"inbox": key}, "huge.png", endless())
    answer = await client.post(
        f"{WIDGET}/attachments",
        content=body,
        headers={"Content-Type": content_type, "X-Visitor-Token": token},
    )
    assert answer.status_code == 413
    assert sent <= 12 * MIB  # stopped reading soon after 10 MiB
    assert await count(runtime) == 0
    assert not stored_files(tmp_path)

    exactly = png(padding=10 * MIB - len(png()) - 64)
    assert len(exactly) <= 10 * MIB
    assert (await upload_as_visitor(client, key, token, exactly, "fits.png")).status_code == 201


async def test_attachments_turned_off_in_the_inbox_are_refused(
    app: tuple[Runtime, httpx.AsyncClient], tmp_path: Path
) -> None:
    runtime, client = app
    _, key = await widget_inbox(runtime, features={"attachments": False})
    token = await visitor(client, key)
    answer = await upload_as_visitor(client, key, token, png(), "a.png")
    assert answer.status_code == 403
    assert answer.json()["error"] == "attachments_disabled"
    assert await count(runtime) == 0
    assert not stored_files(tmp_path)

    # `inbox` comes before the file: the refusal comes before the file is read.
    sent = 0

    async def slow_file() -> AsyncIterator[bytes]:
        nonlocal sent
        while sent < 8 * MIB:
            sent += 256 * 1024
            yield b"\x00" * (256 * 1024)

    content_type, body = streamed_form({"inbox": key}, "a.png", slow_file())
    answer = await client.post(
        f"{WIDGET}/attachments",
        content=body,
        headers={"Content-Type": content_type, "X-Visitor-Token": token},
    )
    assert answer.status_code == 403
    assert sent <= MIB


async def test_bad_uploads_get_clear_answers(
    app: tuple[Runtime, httpx.AsyncClient], tmp_path: Path
) -> None:
    runtime, client = app
    _, key = await widget_inbox(runtime)
    token = await visitor(client, key)
    headers = {"X-Visitor-Token": token}

    no_token = await upload_as_visitor(client, key, None, png())
    assert (no_token.status_code, no_token.json()["error"]) == (401, "visitor_token_required")
    forged = await upload_as_visitor(client, key, "forged", png())
    assert (forged.status_code, forged.json()["error"]) == (401, "visitor_unknown")
    unknown_inbox = await upload_as_visitor(client, "nope", token, png())
    assert (unknown_inbox.status_code, unknown_inbox.json()["error"]) == (404, "inbox_not_found")
    as_json = await client.post(f"{WIDGET}/attachments", json={"inbox": key}, headers=headers)
    assert (as_json.status_code, as_json.json()["error"]) == (400, "upload_malformed")
    no_file = await client.post(
        f"{WIDGET}/attachments", data={"inbox": key}, files={"other": ("x", b"x")}, headers=headers
    )
    assert (no_file.status_code, no_file.json()["error"]) == (422, "upload_fields")
    only_inbox = await client.post(
        f"{WIDGET}/attachments",
        content=f'--b\r\nContent-Disposition: form-data; name="inbox"\r\n\r\n{key}\r\n--b--\r\n',
        headers={**headers, "Content-Type": "multipart/form-data; boundary=b"},
    )
    assert (only_inbox.status_code, only_inbox.json()["error"]) == (422, "attachment_missing")
    empty = await upload_as_visitor(client, key, token, b"", "empty.png")
    assert (empty.status_code, empty.json()["error"]) == (422, "attachment_empty")
    no_inbox = await client.post(
        f"{WIDGET}/attachments", files={"file": ("a.png", png())}, headers=headers
    )
    assert (no_inbox.status_code, no_inbox.json()["error"]) == (422, "inbox_required")
    cut = await client.post(
        f"{WIDGET}/attachments",
        content=b'--b\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\nabc',
        headers={**headers, "Content-Type": "multipart/form-data; boundary=b"},
    )
    assert (cut.status_code, cut.json()["error"]) == (400, "upload_malformed")
    assert await count(runtime) == 0
    assert not stored_files(tmp_path)


# --- staff uploads ------------------------------------------------------------------------------


async def test_staff_upload_needs_the_session_and_its_csrf_token(
    app: tuple[Runtime, httpx.AsyncClient],
) -> None:
    runtime, client = app
    async with runtime.database.transaction() as session:
        staff, _ = await accounts.save_staff(
            session,
            login="anna@example.com",
            name="Анна",
            role="operator",
            branch_code=None,
            password_hash=accounts.Passwords().hash_now(PASSWORD),
        )
    anonymous = await upload_as_staff(client, None, png())
    assert anonymous.status_code == 401
    login = await client.post(
        "/api/messenger/auth/login", json={"login": "anna@example.com", "password": PASSWORD}
    )
    csrf = login.json()["csrf_token"]
    no_csrf = await upload_as_staff(client, None, png())
    assert (no_csrf.status_code, no_csrf.json()["error"]) == (403, "csrf")
    assert await count(runtime) == 0

    answer = await upload_as_staff(client, csrf, "Прайс на декабрь\n".encode(), "прайс.txt")
    assert answer.status_code == 201, answer.text
    view = answer.json()
    assert (view["content_type"], view["is_image"]) == ("text/plain", False)
    owner = await World(runtime.database).one(
        "SELECT staff_id FROM messenger.attachments WHERE id = :i", i=view["id"]
    )
    assert owner == staff.id
    opened = await client.get(local(view["url"]))
    assert opened.status_code == 200
    assert opened.content.decode() == "Прайс на декабрь\n"
    assert opened.headers["content-disposition"].startswith("attachment;")

    disguised = await upload_as_staff(client, csrf, HTML, "page.png")
    assert disguised.status_code == 415


# --- links --------------------------------------------------------------------------------------


async def test_forged_expired_and_unknown_links(app: tuple[Runtime, httpx.AsyncClient]) -> None:
    runtime, client = app
    _, key = await widget_inbox(runtime)
    token = await visitor(client, key)
    view = (await upload_as_visitor(client, key, token, png(), "a.png")).json()
    path, query = local(view["url"]).split("?")
    params = {name: values[0] for name, values in parse_qs(query).items()}

    good = await client.get(path, params=params)
    assert good.status_code == 200
    altered = await client.get(path, params={**params, "signature": "0" * 64})
    assert (altered.status_code, altered.json()["error"]) == (403, "attachment_link_invalid")
    longer = await client.get(path, params={**params, "expires": int(params["expires"]) + 3600})
    assert longer.status_code == 403

    attachments = runtime.extension(Attachments)
    old = attachments.url(view["id"], utcnow() - timedelta(hours=attachments.link_hours + 2))
    expired = await client.get(local(old))
    assert (expired.status_code, expired.json()["error"]) == (410, "attachment_link_expired")

    missing = attachments.url(view["id"] + 1000, utcnow())
    unknown = await client.get(local(missing))
    assert (unknown.status_code, unknown.json()["error"]) == (404, "attachment_not_found")
    wrong = await client.get(path, params={**params, "surprise": "1"})
    assert wrong.status_code == 400


async def test_one_visitors_link_never_opens_another_visitors_file(
    app: tuple[Runtime, httpx.AsyncClient], client_factory: Any
) -> None:
    runtime, first = app
    second = await client_factory(runtime)
    _, key = await widget_inbox(runtime)
    anna, boris = await visitor(first, key), await visitor(second, key)
    hers = (await upload_as_visitor(first, key, anna, png(), "anna.png")).json()
    his = (await upload_as_visitor(second, key, boris, JPEG, "boris.jpg")).json()

    # Boris's link with the id of Anna's file: refused.
    query = urlsplit(his["url"]).query
    stolen = await second.get(f"{WIDGET}/attachments/{hers['id']}?{query}")
    assert stolen.status_code == 403
    # Boris cannot send Anna's file in his message (the message takes only his own uploads).
    sent = await second.post(
        f"{WIDGET}/messages",
        json={"inbox": key, "text": "look", "client_id": "b-1", "attachments": [hers["id"]]},
        headers={"X-Visitor-Token": boris},
    )
    assert sent.status_code == 422, sent.text
    owner = await World(runtime.database).one(
        "SELECT message_id FROM messenger.attachments WHERE id = :i", i=hers["id"]
    )
    assert owner is None


async def test_the_link_stays_the_same_within_the_hour_and_views_come_from_snapshots(
    app: tuple[Runtime, httpx.AsyncClient],
) -> None:
    runtime, _ = app
    attachments = runtime.extension(Attachments)
    now = utcnow().replace(minute=0, second=1, microsecond=0)
    assert attachments.url(7, now) == attachments.url(7, now + timedelta(minutes=58))
    expires = int(parse_qs(urlsplit(attachments.url(7, now)).query)["expires"][0])
    assert expires % 3600 == 0
    assert expires - now.timestamp() >= attachments.link_hours * 3600

    snapshot = [
        {"id": 7, "name": "a.png", "content_type": "image/png", "bytes": 10},
        {"id": 8, "name": "b.pdf", "content_type": "application/pdf", "bytes": 20},
    ]
    views = service.attachment_views(attachments, snapshot, now)
    assert [(v.id, v.name, v.is_image, v.bytes) for v in views] == [
        (7, "a.png", True, 10),
        (8, "b.pdf", False, 20),
    ]
    assert views[0].url == attachments.url(7, now)


async def test_the_files_of_many_messages_in_one_query(
    app: tuple[Runtime, httpx.AsyncClient],
) -> None:
    runtime, client = app
    inbox, key = await widget_inbox(runtime)
    token = await visitor(client, key)
    ids = [
        (await upload_as_visitor(client, key, token, png(), f"{n}.png")).json()["id"]
        for n in range(3)
    ]
    world = World(runtime.database)
    conversation = await world.conversation(inbox)
    messages = [
        await world.one(
            "INSERT INTO messenger.messages (conversation_id, direction, author_kind, body) "
            "VALUES (:c, 'in', 'contact', 'x') RETURNING id",
            c=conversation,
        )
        for _ in range(3)
    ]
    await world.one(
        "UPDATE messenger.attachments SET message_id = CASE WHEN id = ANY(:first) THEN "
        "CAST(:m1 AS bigint) ELSE CAST(:m2 AS bigint) END WHERE id = ANY(:all) RETURNING 1",
        first=ids[:2],
        m1=messages[0],
        m2=messages[1],
        all=ids,
    )
    async with runtime.database.transaction() as session:
        found = await service.of_messages(session, messages)
    assert {message: [row.id for row in rows] for message, rows in found.items()} == {
        messages[0]: ids[:2],
        messages[1]: ids[2:],
    }
    async with runtime.database.transaction() as session:
        assert await service.of_messages(session, []) == {}


# --- names and kinds (the functions behind the endpoints) ----------------------------------------


def test_names_are_shown_clean_and_saved_with_their_real_extension() -> None:
    assert service.clean_name("C:\\Users\\me\\photo.png") == "photo.png"
    assert service.clean_name("../../etc/passwd") == "passwd"
    # A right-to-left override would show "photo_gnp.exe" as "photo_exe.png".
    assert service.clean_name("photo_\u202egnp.exe") == "photo_gnp.exe"
    assert service.clean_name("") == "файл"
    assert service.clean_name("...") == "файл"
    long = service.clean_name("я" * 500 + ".pdf")
    assert len(long) == 200
    assert long.endswith(".pdf")
    png_kind = service.KINDS["image/png"]
    assert service.saved_name("photo.html", png_kind) == "photo.html.png"
    assert service.saved_name("photo.PNG", png_kind) == "photo.PNG"
    assert service.content_disposition('a"b;c.png', inline=True) == (
        "inline; filename=\"a_b_c.png\"; filename*=UTF-8''a%22b%3Bc.png"
    )


def test_sniffing_looks_at_the_content_only(tmp_path: Path) -> None:
    def kind(content: bytes) -> str:
        path = tmp_path / "sample.bin"
        path.write_bytes(content)
        return service.sniff(path).content_type

    assert kind(png()) == "image/png"
    assert kind("\ufeffтекст в UTF-8 с BOM".encode()) == "text/plain"
    assert kind(office("odt")) == "application/vnd.oasis.opendocument.text"
    for refused in (b"<?xml version='1.0'?><x/>", "текст".encode("cp1251"), b"a\x00b", HTML):
        with pytest.raises(Refused):
            kind(refused)


async def test_a_visitor_uploads_at_most_sixty_files_an_hour(
    app: tuple[Runtime, httpx.AsyncClient],
) -> None:
    runtime, client = app
    _, key = await widget_inbox(runtime)
    token = await visitor(client, key)
    world = World(runtime.database)
    contact = await world.one("SELECT max(id) FROM messenger.contacts")
    await world.one(
        "INSERT INTO messenger.attachments (contact_id, file_name, content_type, bytes, "
        "storage_key, created_at) SELECT :c, 'a.png', 'image/png', 1, 'k' || n, "
        "now() - interval '30 minutes' FROM generate_series(1, :n) n RETURNING 1",
        c=contact,
        n=service.VISITOR_UPLOADS_PER_HOUR,
    )
    refused = await upload_as_visitor(client, key, token, png(), "one-more.png")
    assert (refused.status_code, refused.json()["error"]) == (429, "attachment_quota")
    assert 1700 <= int(refused.headers["retry-after"]) <= 1801
    await world.one(
        "UPDATE messenger.attachments SET created_at = now() - interval '2 hours' RETURNING 1"
    )
    assert (await upload_as_visitor(client, key, token, png(), "later.png")).status_code == 201


async def test_files_never_sent_are_swept_after_a_day(
    app: tuple[Runtime, httpx.AsyncClient], tmp_path: Path
) -> None:
    from types import SimpleNamespace
    from typing import cast

    from procrastinate import JobContext

    from switchboard.core.jobs import RUNTIME_KEY
    from switchboard.messenger.attachments import tasks

    runtime, client = app
    inbox, key = await widget_inbox(runtime)
    token = await visitor(client, key)
    old, sent, fresh = [
        (await upload_as_visitor(client, key, token, png(), f"{n}.png")).json()["id"]
        for n in range(3)
    ]
    world = World(runtime.database)
    conversation = await world.conversation(inbox)
    message = await world.one(
        "INSERT INTO messenger.messages (conversation_id, direction, author_kind, body) "
        "VALUES (:c, 'in', 'contact', 'x') RETURNING id",
        c=conversation,
    )
    await world.one(
        "UPDATE messenger.attachments SET created_at = now() - interval '25 hours', "
        "message_id = CASE WHEN id = :sent THEN CAST(:m AS bigint) END "
        "WHERE id IN (:old, :sent) RETURNING 1",
        old=old,
        sent=sent,
        m=message,
    )
    assert len(stored_files(tmp_path / "attachments")) == 3

    context = cast(JobContext, SimpleNamespace(additional_context={RUNTIME_KEY: runtime}))
    assert await tasks.sweep.func(context) == {"deleted": 1, "left_in_store": 0}
    left = await world.one("SELECT array_agg(id ORDER BY id) FROM messenger.attachments")
    assert left == [sent, fresh]
    assert len(stored_files(tmp_path / "attachments")) == 2
    assert await tasks.sweep.func(context) == {"deleted": 0, "left_in_store": 0}
