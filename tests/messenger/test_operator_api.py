"""The operator panel's JSON API through the real database and app: who sees which
conversations (403 for the others'), unread counts, opening (stops the escalation timer and
marks read), answering, status changes, transfers with their audit, the staff and branch lists,
the live events of one's own channel, and the panel's pages."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

import httpx

from switchboard.core.db.base import utcnow
from switchboard.messenger.accounts import service as accounts
from switchboard.messenger.routing import service as routing_service
from switchboard.messenger.routing.tasks import routing_of
from switchboard.runtime import Runtime
from tests.messenger.support import World, public_key

API = "/api/messenger"
PASSWORD = "operator password 1"


class Desk:
    """A branch-bound inbox with staff who can sign in."""

    def __init__(self, runtime: Runtime, client_factory: Any) -> None:
        self.runtime = runtime
        self.world = World(runtime.database)
        self.client_factory = client_factory
        self.branches: dict[str, int] = {}
        self.staff: dict[str, int] = {}
        self.key = ""
        self.visitor: httpx.AsyncClient | None = None
        self.stream_keys: dict[int, str] = {}

    async def branch(self, code: str) -> int:
        self.branches[code] = await self.world.branch(code)
        return self.branches[code]

    async def person(
        self,
        login: str,
        *,
        role: str = "operator",
        branch: str | None = None,
        status: str = "online",
    ) -> int:
        hashed = accounts.Passwords().hash_now(PASSWORD)
        async with self.runtime.database.transaction() as session:
            staff, _ = await accounts.save_staff(
                session,
                login=f"{login}@example.com",
                name=login.capitalize(),
                role=role,
                branch_code=branch,
                password_hash=hashed,
            )
            await accounts.set_own_status(session, staff.id, status)
        self.staff[login] = staff.id
        return staff.id

    async def inbox(self, branch: str) -> str:
        self.key = await public_key(
            self.world, await self.world.inbox(branch=self.branches[branch])
        )
        self.visitor = await self.client_factory(self.runtime)
        return self.key

    async def chat(self, text: str = "Здравствуйте!") -> tuple[int, str]:
        """A new visitor writes: (their conversation, their token)."""
        assert self.visitor is not None
        started = await self.visitor.post("/api/widget/bootstrap", json={"inbox": self.key})
        assert started.status_code == 200, started.text
        token = started.json()["visitor_token"]
        answer = await self.write(token, text)
        conversation: int = answer["conversation"]["id"]
        self.stream_keys[conversation] = started.json()["stream_key"]
        return conversation, token

    async def write(self, token: str, text: str) -> dict[str, Any]:
        assert self.visitor is not None
        sent = await self.visitor.post(
            "/api/widget/messages",
            json={"inbox": self.key, "text": text, "client_id": secrets.token_hex(8)},
            headers={"X-Visitor-Token": token},
        )
        assert sent.status_code == 200, sent.text
        body: dict[str, Any] = sent.json()
        return body

    async def sign_in(self, login: str) -> httpx.AsyncClient:
        client: httpx.AsyncClient = await self.client_factory(self.runtime)
        answer = await client.post(
            f"{API}/auth/login", json={"login": f"{login}@example.com", "password": PASSWORD}
        )
        assert answer.status_code == 200, answer.text
        client.headers["X-CSRF-Token"] = answer.json()["csrf_token"]
        return client

    async def assignee(self, conversation: int) -> int | None:
        row = await self.world.conversation_row(conversation)
        found = row["assignee_id"]
        return None if found is None else int(found)


async def desk_with_two_operators(runtime: Runtime, client_factory: Any) -> Desk:
    desk = Desk(runtime, client_factory)
    await desk.branch("ekb")
    await desk.person("anna", branch="ekb")
    await desk.person("boris", branch="ekb")
    await desk.person("sveta", role="supervisor", branch="ekb", status="offline")
    await desk.inbox("ekb")
    return desk


async def two_chats(desk: Desk) -> dict[str, int]:
    """One conversation for each operator (routing takes turns): {operator: conversation}."""
    first, _ = await desk.chat("Первый вопрос")
    second, _ = await desk.chat("Второй вопрос")
    by_assignee = {await desk.assignee(first): first, await desk.assignee(second): second}
    assert set(by_assignee) == {desk.staff["anna"], desk.staff["boris"]}
    return {name: by_assignee[desk.staff[name]] for name in ("anna", "boris")}


async def test_an_operator_sees_only_their_conversations_a_supervisor_every_one(
    runtime: Runtime, client_factory: Any
) -> None:
    desk = await desk_with_two_operators(runtime, client_factory)
    chats = await two_chats(desk)
    anna = await desk.sign_in("anna")

    mine = (await anna.get(f"{API}/conversations")).json()
    assert [item["id"] for item in mine] == [chats["anna"]]
    assert mine[0]["assignee"]["name"] == "Anna"
    assert mine[0]["unread"] == 1
    assert mine[0]["last_message"]["direction"] == "in"

    everything = await anna.get(f"{API}/conversations", params={"scope": "all"})
    assert everything.status_code == 403
    assert everything.json()["error"] == "scope_forbidden"
    others = chats["boris"]
    for method, path, body in (
        ("GET", f"/conversations/{others}", None),
        ("POST", f"/conversations/{others}/open", None),
        ("POST", f"/conversations/{others}/messages", {"text": "Я тут", "client_id": "x1"}),
        ("POST", f"/conversations/{others}/resolve", None),
        ("POST", f"/conversations/{others}/transfer", {"staff_id": desk.staff["anna"]}),
        ("POST", f"/conversations/{others}/seen", {"read_up_to": 1}),
        ("POST", f"/conversations/{others}/typing", {"typing": True}),
    ):
        answer = await anna.request(method, f"{API}{path}", json=body)
        assert answer.status_code == 403, (path, answer.text)
        assert answer.json()["error"] == "conversation_forbidden"
    assert (
        await desk.world.one("SELECT count(*) FROM messenger.messages WHERE direction = 'out'") == 0
    )
    assert (await anna.get(f"{API}/conversations/999999")).status_code == 404

    mine_detail = (await anna.get(f"{API}/conversations/{chats['anna']}")).json()
    assert mine_detail["assignments"] is None  # the audit is for supervisors
    assert [m["text"] for m in mine_detail["messages"]] == ["Первый вопрос"]

    sveta = await desk.sign_in("sveta")
    listed = (await sveta.get(f"{API}/conversations", params={"scope": "all"})).json()
    assert {item["id"] for item in listed} == set(chats.values())
    assert (await sveta.get(f"{API}/conversations")).json() == []  # none assigned to her
    detail = (await sveta.get(f"{API}/conversations/{others}")).json()
    [audit] = detail["assignments"]
    assert audit["reason"] == "new"
    assert audit["policy"] == "least_loaded_round_robin"
    assert audit["to_staff"]["name"] == "Boris"
    assert {c["name"] for c in audit["candidates"]} == {"Anna", "Boris"}
    assert audit["explanation"]

    # Without a login: 401; a change without the CSRF token: 403.
    stranger = await client_factory(runtime)
    assert (await stranger.get(f"{API}/conversations")).status_code == 401
    del anna.headers["X-CSRF-Token"]
    refused = await anna.post(f"{API}/conversations/{chats['anna']}/open")
    assert refused.status_code == 403
    assert refused.json()["error"] == "csrf"


async def test_opening_stops_the_escalation_timer_and_marks_the_messages_read(
    runtime: Runtime, client_factory: Any
) -> None:
    desk = await desk_with_two_operators(runtime, client_factory)
    chats = await two_chats(desk)
    conversation = chats["anna"]
    anna = await desk.sign_in("anna")
    sveta = await desk.sign_in("sveta")

    # A supervisor looking at it does not stop the assignee's timer.
    assert (await sveta.post(f"{API}/conversations/{conversation}/open")).status_code == 200
    assert (await desk.world.conversation_row(conversation))["assignee_opened_at"] is None

    opened = await anna.post(f"{API}/conversations/{conversation}/open")
    assert opened.status_code == 200, opened.text
    assert opened.json()["unread"] == 0
    assert opened.json()["assignee_opened_at"] is not None
    row = await desk.world.conversation_row(conversation)
    assert row["assignee_opened_at"] is not None
    assert await desk.world.one(
        "SELECT bool_and(read_at IS NOT NULL) FROM messenger.messages "
        "WHERE conversation_id = :c AND direction = 'in'",
        c=conversation,
    )

    # Long after the deadline, escalation leaves it with her.
    async with runtime.database.transaction() as session:
        outcome = await routing_service.escalate(
            session,
            routing_of(runtime),
            conversation,
            expected_staff_id=desk.staff["anna"],
            expected_assigned_at=row["assignee_assigned_at"],
            now=utcnow() + timedelta(hours=1),
        )
    assert outcome.result == "opened"
    assert await desk.assignee(conversation) == desk.staff["anna"]

    # Boris never opened his: it escalates (to Anna, the only other operator).
    boris_row = await desk.world.conversation_row(chats["boris"])
    async with runtime.database.transaction() as session:
        escalated = await routing_service.escalate(
            session,
            routing_of(runtime),
            chats["boris"],
            expected_staff_id=desk.staff["boris"],
            expected_assigned_at=boris_row["assignee_assigned_at"],
            now=utcnow() + timedelta(hours=1),
        )
    assert escalated.result == "assigned"
    assert await desk.assignee(chats["boris"]) == desk.staff["anna"]

    # Unread counts: the escalated chat's message is unread for Anna, her own one is read.
    listed = {item["id"]: item for item in (await anna.get(f"{API}/conversations")).json()}
    assert listed[conversation]["unread"] == 0
    assert listed[chats["boris"]]["unread"] == 1


async def test_unread_counts_follow_the_visitors_messages_and_the_seen_marks(
    runtime: Runtime, client_factory: Any
) -> None:
    desk = Desk(runtime, client_factory)
    await desk.branch("ekb")
    await desk.person("anna", branch="ekb")
    await desk.inbox("ekb")
    conversation, token = await desk.chat("Раз")
    await desk.write(token, "Два")
    anna = await desk.sign_in("anna")
    [item] = (await anna.get(f"{API}/conversations")).json()
    assert item["unread"] == 2
    assert item["last_message"]["text"] == "Два"

    messages = (await anna.get(f"{API}/conversations/{conversation}")).json()["messages"]
    first = messages[0]["id"]
    seen = await anna.post(f"{API}/conversations/{conversation}/seen", json={"read_up_to": first})
    assert seen.status_code == 204, seen.text
    [item] = (await anna.get(f"{API}/conversations")).json()
    assert item["unread"] == 1

    await desk.write(token, "Три")
    [item] = (await anna.get(f"{API}/conversations")).json()
    assert item["unread"] == 2

    later = await anna.get(f"{API}/conversations/{conversation}", params={"after": first})
    assert [m["text"] for m in later.json()["messages"]] == ["Два", "Три"]
    bad = await anna.post(f"{API}/conversations/{conversation}/seen", json={"read_up_to": 0})
    assert bad.status_code == 422


async def test_an_answer_is_stored_once_shown_safely_and_heard_on_the_operators_channel(
    runtime: Runtime, client_factory: Any
) -> None:
    desk = Desk(runtime, client_factory)
    await desk.branch("ekb")
    await desk.person("anna", branch="ekb")
    await desk.inbox("ekb")
    anna = await desk.sign_in("anna")
    head = (await anna.get(f"{API}/events")).json()
    assert head["events"] == []
    conversation, _ = await desk.chat("<b>Помогите</b>")

    polled = (await anna.get(f"{API}/events", params={"after": head["last_event_id"]})).json()
    types = [event["type"] for event in polled["events"]]
    assert "message.created" in types
    created = next(e for e in polled["events"] if e["type"] == "message.created")
    assert created["data"]["message"]["text"] == "<b>Помогите</b>"
    assert "<b>" not in created["data"]["message"]["html"]

    body = {"text": "**Здравствуйте!** Чем помочь?", "client_id": "answer-1"}
    answer = await anna.post(f"{API}/conversations/{conversation}/messages", json=body)
    assert answer.status_code == 200, answer.text
    message = answer.json()
    assert message["direction"] == "out"
    assert message["author_kind"] == "staff"
    assert message["author_name"] == "Anna"
    assert "<strong>Здравствуйте!</strong>" in message["html"]
    again = await anna.post(f"{API}/conversations/{conversation}/messages", json=body)
    assert again.json()["id"] == message["id"]
    assert (
        await desk.world.one(
            "SELECT count(*) FROM messenger.messages WHERE conversation_id = :c AND "
            "direction = 'out' AND staff_id = :s",
            c=conversation,
            s=desk.staff["anna"],
        )
        == 1
    )
    # Answering counts as opening: no escalation any more.
    assert (await desk.world.conversation_row(conversation))["assignee_opened_at"] is not None

    for empty in ({"text": "   ", "client_id": "e1"}, {"client_id": "e2"}):
        refused = await anna.post(f"{API}/conversations/{conversation}/messages", json=empty)
        assert refused.status_code == 422

    # The visitor's widget hears the operator typing (and the answer).
    assert desk.visitor is not None
    key = desk.stream_keys[conversation]
    start = await desk.visitor.get("/api/widget/events", params={"inbox": desk.key, "key": key})
    typing = await anna.post(f"{API}/conversations/{conversation}/typing", json={"typing": True})
    assert typing.status_code == 204
    heard = await desk.visitor.get(
        "/api/widget/events",
        params={"inbox": desk.key, "key": key, "after": start.json()["last_event_id"]},
    )
    [typed] = [e["data"] for e in heard.json()["events"] if e["type"] == "typing.changed"]
    assert typed == {
        "conversation_id": conversation,
        "author_kind": "staff",
        "name": "Anna",
        "typing": True,
    }

    # Resolve, then no answer until reopened; close; reopen.
    resolved = await anna.post(f"{API}/conversations/{conversation}/resolve")
    assert resolved.json()["status"] == "resolved"
    late = await anna.post(
        f"{API}/conversations/{conversation}/messages", json={"text": "Ещё", "client_id": "a2"}
    )
    assert late.status_code == 409
    reopened = await anna.post(f"{API}/conversations/{conversation}/reopen")
    assert reopened.json()["status"] == "open"
    closed = await anna.post(f"{API}/conversations/{conversation}/close")
    assert closed.json()["status"] == "closed"
    assert (await anna.get(f"{API}/conversations")).json() == []
    listed = (await anna.get(f"{API}/conversations", params={"status": "closed"})).json()
    assert [item["id"] for item in listed] == [conversation]

    polled = (await anna.get(f"{API}/events", params={"after": head["last_event_id"]})).json()
    changes = [e["data"]["change"] for e in polled["events"] if e["type"] == "conversation.changed"]
    assert {"resolved", "reopened", "closed"} <= set(changes)
    assert any(e["type"] == "typing.changed" for e in polled["events"]) is False  # not echoed


async def test_transfer_to_a_branchs_first_free_operator_or_to_a_named_one(
    runtime: Runtime, client_factory: Any
) -> None:
    desk = Desk(runtime, client_factory)
    await desk.branch("ekb")
    await desk.branch("msk")
    await desk.branch("spb")
    await desk.person("anna", branch="ekb")
    await desk.person("ivan", branch="msk")
    await desk.person("petr", branch="msk", status="away")
    await desk.person("oleg", branch="spb", status="busy")
    await desk.person("sveta", role="supervisor", branch="ekb", status="offline")
    await desk.inbox("ekb")
    conversation, _ = await desk.chat()
    anna = await desk.sign_in("anna")
    sveta = await desk.sign_in("sveta")
    watched = (await sveta.get(f"{API}/events")).json()["last_event_id"]

    branches = (await anna.get(f"{API}/branches")).json()
    assert {b["code"]: b["online"] for b in branches} == {"ekb": 1, "msk": 1, "spb": 0}
    staff = {s["name"]: s for s in (await anna.get(f"{API}/staff")).json()}
    assert staff["Anna"]["load"] == 1
    assert staff["Petr"]["status"] == "away"
    assert staff["Ivan"]["branch"]["id"] == desk.branches["msk"]
    assert staff["Sveta"]["role"] == "supervisor"

    url = f"{API}/conversations/{conversation}/transfer"
    nobody = await anna.post(url, json={"branch_id": desk.branches["spb"]})
    assert nobody.status_code == 409
    assert nobody.json()["error"] == "no_free_operator"
    for wrong in ({}, {"branch_id": 1, "staff_id": 1}, {"branch_id": 0}):
        assert (await anna.post(url, json=wrong)).status_code == 422
    unknown = await anna.post(url, json={"branch_id": 999999})
    assert unknown.status_code == 422
    assert unknown.json()["error"] == "branch_not_found"
    assert await desk.assignee(conversation) == desk.staff["anna"]

    moved = await anna.post(url, json={"branch_id": desk.branches["msk"]})
    assert moved.status_code == 200, moved.text
    assert moved.json()["assignee"]["name"] == "Ivan"  # Petr is away
    assert moved.json()["branch"]["id"] == desk.branches["msk"]
    # Anna no longer sees it.
    assert (await anna.get(f"{API}/conversations/{conversation}")).status_code == 403

    # Supervision heard of it, with the new assignee in the summary.
    heard = (await sveta.get(f"{API}/events", params={"after": watched})).json()["events"]
    [transferred] = [
        e["data"]
        for e in heard
        if e["type"] == "conversation.changed" and e["data"]["change"] == "transferred"
    ]
    assert transferred["conversation"]["assignee"]["name"] == "Ivan"

    by_hand = await sveta.post(url, json={"staff_id": desk.staff["petr"]})
    assert by_hand.status_code == 200, by_hand.text
    assert by_hand.json()["assignee"]["name"] == "Petr"  # a person decided: away or not
    admin_target = await sveta.post(url, json={"staff_id": 999999})
    assert admin_target.status_code == 422

    audit = (await sveta.get(f"{API}/conversations/{conversation}")).json()["assignments"]
    assert [a["reason"] for a in audit] == ["new", "transfer_branch", "transfer_manual"]
    assert audit[1]["actor"]["name"] == "Anna"
    assert audit[1]["from_staff"]["name"] == "Anna"
    assert audit[2]["actor"]["name"] == "Sveta"
    assert audit[2]["policy"] == "manual"

    ivan = await desk.sign_in("ivan")
    assert (await ivan.get(f"{API}/conversations")).json() == []
    petr = await desk.sign_in("petr")
    assert [c["id"] for c in (await petr.get(f"{API}/conversations")).json()] == [conversation]

    await sveta.post(f"{API}/conversations/{conversation}/resolve")
    finished = await sveta.post(url, json={"staff_id": desk.staff["anna"]})
    assert finished.status_code == 409
    assert finished.json()["error"] == "conversation_finished"


async def test_the_panel_pages_ask_for_a_login_and_serve_their_own_assets(
    runtime: Runtime, client_factory: Any
) -> None:
    desk = Desk(runtime, client_factory)
    await desk.person("anna")
    stranger = await client_factory(runtime)
    answer = await stranger.get("/messenger/")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/messenger/login"
    login = await stranger.get("/messenger/login")
    assert login.status_code == 200
    assert "Войти" in login.text

    anna = await desk.sign_in("anna")
    panel = await anna.get("/messenger/")
    assert panel.status_code == 200
    assert "Диалоги" in panel.text
    assert f'data-staff-id="{desk.staff["anna"]}"' in panel.text
    for name in ("panel.js", "api.js", "live.js", "login.js", "panel.css", "logo.svg"):
        asset = await stranger.get(f"/messenger/static/{name}")
        assert asset.status_code == 200, name
    sound = await stranger.get("/messenger/static/notify.wav")
    assert sound.content[:4] == b"RIFF"
    assert sound.headers["content-type"] == "audio/wav"
    assert len(sound.content) < 16_000
    assert (await stranger.get("/messenger/static/../pages.py")).status_code == 404
    assert "/messenger/admin/" not in panel.text  # the settings are for administrators

    await desk.person("olga", role="admin", status="offline")
    olga = await desk.sign_in("olga")
    admin_panel = await olga.get("/messenger/")
    assert 'href="/messenger/admin/"' in admin_panel.text
    assert 'id="scope"' in admin_panel.text  # «Все» / «Мои»
