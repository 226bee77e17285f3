"""Staff accounts of the messenger through the real database and the HTTP API: argon2 hashes,
logins that tell nobody which accounts exist, sessions kept as digests that expire and end at
logout, the CSRF token on every change, roles, and `switchboard messenger-staff`."""

from __future__ import annotations

import subprocess
from contextlib import AsyncExitStack
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher
from fastapi import Depends
from sqlalchemy import text

from switchboard.main import create_app
from switchboard.messenger.accounts import service
from switchboard.messenger.accounts.endpoints import SESSION_COOKIE, require_role
from switchboard.messenger.accounts.repository import StaffRecord
from switchboard.runtime import Runtime
from tests.messenger.support import World
from tests.servers import run_switchboard

PASSWORD = "correct horse battery staple"
AUTH = "/api/messenger/auth"


async def account(
    runtime: Runtime,
    login: str = "Anna@Example.com",
    *,
    role: str = "operator",
    password: str | None = PASSWORD,
    branch: str | None = None,
) -> StaffRecord:
    hashed = service.Passwords().hash_now(password) if password is not None else None
    async with runtime.database.transaction() as session:
        staff, created = await service.save_staff(
            session,
            login=login,
            name="Анна",
            role=role,
            branch_code=branch,
            password_hash=hashed,
        )
    assert created
    return staff


async def one(runtime: Runtime, sql: str, **params: Any) -> Any:
    return await World(runtime.database).one(sql, **params)


async def log_in(
    client: httpx.AsyncClient, login: str = "anna@example.com", password: str = PASSWORD
) -> httpx.Response:
    return await client.post(f"{AUTH}/login", json={"login": login, "password": password})


async def test_a_password_is_kept_as_an_argon2id_hash_never_in_clear(runtime: Runtime) -> None:
    staff = await account(runtime)
    stored = await one(
        runtime, "SELECT password_hash FROM messenger.staff WHERE id = :id", id=staff.id
    )
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored
    assert staff.login == "anna@example.com"  # logins are kept lower-case
    assert staff.password_hash == stored


async def test_login_sets_an_httponly_lax_cookie_and_keeps_only_digests(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    await World(runtime.database).branch("ekb")
    staff = await account(runtime, branch="ekb")
    answer = await log_in(client, login="  ANNA@example.com ")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["staff"].pop("last_seen_at") is not None
    assert body["staff"] == {
        "id": staff.id,
        "login": "anna@example.com",
        "name": "Анна",
        "role": "operator",
        "branch": "ekb",
        "capacity": 5,
        "status": "online",  # signing in starts the shift
    }
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Path=/" in cookie
    assert "Max-Age=43200" in cookie  # MESSENGER_SESSION_HOURS=12
    token = client.cookies[SESSION_COOKIE]
    row = await World(runtime.database).one(
        "SELECT row_to_json(x)::text FROM messenger.staff_sessions x WHERE staff_id = :id",
        id=staff.id,
    )
    assert service.digest(token) in row
    assert service.digest(body["csrf_token"]) in row
    assert token not in row
    assert body["csrf_token"] not in row


async def test_a_wrong_password_an_unknown_login_and_a_disabled_account_get_one_answer(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    await account(runtime)
    await account(runtime, "nopass@example.com", password=None)
    disabled = await account(runtime, "gone@example.com")
    await one(
        runtime,
        "UPDATE messenger.staff SET active = false WHERE id = :id RETURNING id",
        id=disabled.id,
    )
    answers = [
        await log_in(client, password="wrong password"),
        await log_in(client, login="nobody@example.com"),
        await log_in(client, login="no\x00body"),
        await log_in(client, login="nopass@example.com"),
        await log_in(client, login="gone@example.com"),
    ]
    assert {answer.status_code for answer in answers} == {401}
    assert {answer.text for answer in answers} == {answers[0].text}
    assert answers[0].json()["error"] == "bad_credentials"
    assert all(SESSION_COOKIE not in answer.headers.get("set-cookie", "") for answer in answers)
    assert await one(runtime, "SELECT count(*) FROM messenger.staff_sessions") == 0
    english = await client.post(
        f"{AUTH}/login",
        json={"login": "nobody@example.com", "password": "x"},
        headers={"Accept-Language": "en"},
    )
    russian = await client.post(
        f"{AUTH}/login",
        json={"login": "nobody@example.com", "password": "x"},
        headers={"Accept-Language": "ru"},
    )
    assert english.json()["message"] == "Wrong login or password."
    assert russian.json()["message"] == "Неверный логин или пароль."


async def test_a_hash_of_older_parameters_is_replaced_at_login(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    staff = await account(runtime, password=None)
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    await one(
        runtime,
        "UPDATE messenger.staff SET password_hash = :h WHERE id = :id RETURNING id",
        h=weak,
        id=staff.id,
    )
    assert (await log_in(client)).status_code == 200
    stored = await one(
        runtime, "SELECT password_hash FROM messenger.staff WHERE id = :id", id=staff.id
    )
    assert stored != weak
    assert not PasswordHasher().check_needs_rehash(stored)
    client.cookies.clear()
    assert (await log_in(client)).status_code == 200  # the new hash checks out too


async def test_me_needs_a_live_session(runtime: Runtime, client: httpx.AsyncClient) -> None:
    staff = await account(runtime)
    refused = await client.get(f"{AUTH}/me")
    assert refused.status_code == 401
    assert refused.json()["error"] == "login_required"
    client.cookies.set(SESSION_COOKIE, "forged")
    assert (await client.get(f"{AUTH}/me")).status_code == 401
    client.cookies.clear()
    await log_in(client)
    me = await client.get(f"{AUTH}/me")
    assert me.status_code == 200
    assert me.json()["id"] == staff.id
    await one(
        runtime,
        "UPDATE messenger.staff_sessions SET expires_at = now() - interval '1 second' "
        "WHERE staff_id = :id RETURNING id",
        id=staff.id,
    )
    assert (await client.get(f"{AUTH}/me")).status_code == 401


async def test_a_disabled_account_loses_its_sessions(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    staff = await account(runtime)
    await log_in(client)
    await one(
        runtime,
        "UPDATE messenger.staff SET active = false WHERE id = :id RETURNING id",
        id=staff.id,
    )
    assert (await client.get(f"{AUTH}/me")).status_code == 401


async def test_logout_needs_the_csrf_token_and_ends_the_session(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    await account(runtime)
    assert (await client.post(f"{AUTH}/logout")).status_code == 401  # not signed in
    csrf = (await log_in(client)).json()["csrf_token"]
    token = client.cookies[SESSION_COOKIE]
    missing = await client.post(f"{AUTH}/logout")
    assert missing.status_code == 403
    assert missing.json()["error"] == "csrf"
    wrong = await client.post(f"{AUTH}/logout", headers={"X-CSRF-Token": csrf + "x"})
    assert wrong.status_code == 403
    assert (await client.get(f"{AUTH}/me")).status_code == 200  # still signed in
    done = await client.post(f"{AUTH}/logout", headers={"X-CSRF-Token": csrf})
    assert done.status_code == 204
    assert SESSION_COOKIE not in client.cookies
    # The old cookie, kept by someone, opens nothing any more.
    client.cookies.set(SESSION_COOKIE, token)
    assert (await client.get(f"{AUTH}/me")).status_code == 401
    assert await one(runtime, "SELECT count(*) FROM messenger.staff_sessions") == 0


async def test_a_csrf_token_belongs_to_its_own_session(
    runtime: Runtime, client: httpx.AsyncClient, client_factory: Any
) -> None:
    await account(runtime)
    await log_in(client)
    other = await client_factory(runtime)
    other_csrf = (await log_in(other)).json()["csrf_token"]
    answer = await client.put(
        f"{AUTH}/me/status", json={"status": "online"}, headers={"X-CSRF-Token": other_csrf}
    )
    assert answer.status_code == 403


async def test_staff_set_their_own_status_with_the_csrf_token(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    await account(runtime)
    csrf = (await log_in(client)).json()["csrf_token"]
    without = await client.put(f"{AUTH}/me/status", json={"status": "away"})
    assert without.status_code == 403
    changed = await client.put(
        f"{AUTH}/me/status", json={"status": "away"}, headers={"X-CSRF-Token": csrf}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["status"] == "away"
    assert changed.json()["last_seen_at"] is not None
    assert (await client.get(f"{AUTH}/me")).json()["status"] == "away"
    offline = await client.put(
        f"{AUTH}/me/status", json={"status": "offline"}, headers={"X-CSRF-Token": csrf}
    )
    assert offline.status_code == 422
    client.cookies.clear()
    signed_out = await client.put(
        f"{AUTH}/me/status", json={"status": "busy"}, headers={"X-CSRF-Token": csrf}
    )
    assert signed_out.status_code == 401


async def _route_waiting_jobs(runtime: Runtime) -> list[dict[str, Any]]:
    return await runtime.jobs.connector.execute_query_all_async(
        "SELECT status::text AS status FROM procrastinate_jobs "
        "WHERE task_name = 'messenger.route_waiting'"
    )


async def test_an_operator_signing_in_goes_online_and_a_supervisor_does_not(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    """An operator signs in to work: online, and the chats that waited are offered at once.
    A supervisor or an administrator is never routed chats, so their status stays as it was."""
    await account(runtime, "boss@example.com", role="supervisor")
    boss = await log_in(client, login="boss@example.com")
    assert boss.json()["staff"]["status"] == "offline"
    assert await _route_waiting_jobs(runtime) == []
    client.cookies.clear()

    await account(runtime)
    anna = await log_in(client)
    assert anna.json()["staff"]["status"] == "online"
    assert (await client.get(f"{AUTH}/me")).json()["status"] == "online"
    assert await _route_waiting_jobs(runtime) == [{"status": "todo"}]


async def test_going_online_offers_the_waiting_chats_at_once(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    await account(runtime)
    csrf = (await log_in(client)).json()["csrf_token"]
    await client.put(f"{AUTH}/me/status", json={"status": "away"}, headers={"X-CSRF-Token": csrf})
    await runtime.jobs.connector.execute_query_async(
        "DELETE FROM procrastinate_jobs WHERE task_name = 'messenger.route_waiting'"
    )
    changed = await client.put(
        f"{AUTH}/me/status", json={"status": "online"}, headers={"X-CSRF-Token": csrf}
    )
    assert changed.status_code == 200, changed.text
    queued = await runtime.jobs.connector.execute_query_all_async(
        "SELECT scheduled_at > now() AS later, status::text AS status FROM procrastinate_jobs "
        "WHERE task_name = 'messenger.route_waiting'"
    )
    assert queued == [{"later": True, "status": "todo"}]
    # Going online again while it waits queues nothing more (one run does it all).
    await client.put(f"{AUTH}/me/status", json={"status": "online"}, headers={"X-CSRF-Token": csrf})
    again = await runtime.jobs.connector.execute_query_all_async(
        "SELECT count(*) AS n FROM procrastinate_jobs WHERE task_name = 'messenger.route_waiting'"
    )
    assert again == [{"n": 1}]


async def test_staff_whose_panel_went_silent_are_set_offline(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    """A closed browser must not keep an operator "online" for routing: the panel's heartbeat
    keeps them present; two minutes of silence and the presence job signs them off."""
    from types import SimpleNamespace
    from typing import cast

    from procrastinate import JobContext

    from switchboard.core.jobs import RUNTIME_KEY
    from switchboard.messenger.accounts import tasks

    present = await account(runtime)
    gone = await account(runtime, "boris@example.com")
    csrf = (await log_in(client)).json()["csrf_token"]
    await client.put(f"{AUTH}/me/status", json={"status": "online"}, headers={"X-CSRF-Token": csrf})
    async with runtime.database.transaction() as session:
        await session.execute(
            text(
                "UPDATE messenger.staff SET status = 'busy', "
                "last_seen_at = now() - interval '3 minutes' WHERE id = :id"
            ),
            {"id": gone.id},
        )
        await session.execute(
            text(
                "UPDATE messenger.staff SET last_seen_at = now() - interval '3 minutes' "
                "WHERE id = :id"
            ),
            {"id": present.id},
        )
    beat = await client.post(f"{AUTH}/me/heartbeat", headers={"X-CSRF-Token": csrf})
    assert beat.status_code == 200, beat.text
    assert (await client.post(f"{AUTH}/me/heartbeat")).status_code == 403  # no CSRF token

    context = cast(JobContext, SimpleNamespace(additional_context={RUNTIME_KEY: runtime}))
    assert await tasks.presence.func(context) == {"offline": 1}
    statuses = await one(
        runtime,
        "SELECT json_object_agg(login, status) FROM messenger.staff",
    )
    assert statuses == {"anna@example.com": "online", "boris@example.com": "offline"}
    assert await tasks.presence.func(context) == {"offline": 0}


async def test_require_role_lets_in_only_the_roles_named(runtime: Runtime) -> None:
    app = create_app(runtime.settings, runtime=runtime)

    @app.get("/test/supervising")
    async def supervising(
        staff: StaffRecord = Depends(require_role("supervisor", "admin")),  # noqa: B008
    ) -> dict[str, str]:
        return {"role": staff.role}

    @app.post("/test/administering")
    async def administering(
        staff: StaffRecord = Depends(require_role("admin", change=True)),  # noqa: B008
    ) -> dict[str, str]:
        return {"role": staff.role}

    await account(runtime, "op@example.com", role="operator")
    await account(runtime, "sup@example.com", role="supervisor")
    await account(runtime, "adm@example.com", role="admin")
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(app.router.lifespan_context(app))

        async def signed_in(login: str) -> tuple[httpx.AsyncClient, dict[str, str]]:
            http = await stack.enter_async_context(
                httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=app), base_url="http://testserver"
                )
            )
            answer = await log_in(http, login)
            assert answer.status_code == 200
            return http, {"X-CSRF-Token": answer.json()["csrf_token"]}

        anonymous = await stack.enter_async_context(
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
        )
        assert (await anonymous.get("/test/supervising")).status_code == 401
        operator, operator_csrf = await signed_in("op@example.com")
        supervisor, supervisor_csrf = await signed_in("sup@example.com")
        admin, admin_csrf = await signed_in("adm@example.com")
        refused = await operator.get("/test/supervising")
        assert refused.status_code == 403
        assert refused.json()["error"] == "role"
        assert (await supervisor.get("/test/supervising")).json() == {"role": "supervisor"}
        assert (await admin.get("/test/supervising")).json() == {"role": "admin"}
        assert (
            await supervisor.post("/test/administering", headers=supervisor_csrf)
        ).status_code == 403
        assert (await admin.post("/test/administering")).status_code == 403  # no CSRF token
        assert (await admin.post("/test/administering", headers=admin_csrf)).json() == {
            "role": "admin"
        }
        assert operator_csrf


async def test_changing_an_account_keeps_what_is_not_given(runtime: Runtime) -> None:
    world = World(runtime.database)
    await world.branch("ekb")
    await account(runtime, branch="ekb")
    async with runtime.database.transaction() as session:
        staff, created = await service.save_staff(
            session, login="anna@example.com", name="Анна К.", role="supervisor", capacity=8
        )
    assert not created
    assert (staff.name, staff.role, staff.branch_code, staff.capacity) == (
        "Анна К.",
        "supervisor",
        "ekb",
        8,
    )
    assert staff.password_hash is not None  # the password stays too


# --- the command line --------------------------------------------------------------------------


def run(database_url: str, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return run_switchboard(database_url, "messenger-staff", *args, stdin=stdin)


async def test_the_command_creates_an_account_that_can_log_in(
    runtime: Runtime, client: httpx.AsyncClient, clean_database: str
) -> None:
    await World(runtime.database).branch("ekb")
    created = run(
        clean_database,
        "Olga@Example.com",
        "--name",
        "Ольга",
        "--role",
        "supervisor",
        "--branch",
        "ekb",
        "--capacity",
        "7",
        "--password-prompt",
        stdin=f"{PASSWORD}\n{PASSWORD}\n",
    )
    assert created.returncode == 0, created.stderr
    assert "staff olga@example.com (Ольга): supervisor, branch ekb, capacity 7 created" in (
        created.stdout
    )
    assert "password set" in created.stdout
    assert PASSWORD not in created.stdout + created.stderr
    answer = await log_in(client, "olga@example.com")
    assert answer.status_code == 200, answer.text
    assert answer.json()["staff"]["role"] == "supervisor"
    changed = run(clean_database, "olga@example.com", "--name", "Ольга", "--role", "admin")
    assert changed.returncode == 0, changed.stderr
    assert "admin, branch ekb, capacity 7 changed" in changed.stdout
    assert (await log_in(client, "olga@example.com")).status_code == 200  # password kept


@pytest.mark.parametrize(
    ("args", "stdin", "error"),
    [
        (("a@example.com", "--name", "A", "--role", "boss"), "", "--role 'boss': one of"),
        (("a@example.com", "--name", " ", "--role", "admin"), "", "--name is empty"),
        (
            ("a@example.com", "--name", "A", "--role", "admin", "--capacity", "-1"),
            "",
            "--capacity: a whole number from 0 to 1000",
        ),
        (
            ("a@example.com", "--name", "A", "--role", "admin", "--password-prompt"),
            "short\nshort\n",
            "the password needs 8 to 1024 characters",
        ),
        (
            ("a@example.com", "--name", "A", "--role", "admin", "--branch", "nowhere"),
            "",
            "No branch nowhere.",
        ),
        (("a b", "--name", "A", "--role", "admin"), "", "A login is 3-254 letters"),
    ],
)
async def test_the_command_refuses_bad_input_in_one_line(
    runtime: Runtime, clean_database: str, args: tuple[str, ...], stdin: str, error: str
) -> None:
    result = run(clean_database, *args, stdin=stdin)
    assert result.returncode == 2, result.stdout + result.stderr
    assert error in result.stderr
    # One line of ours (a pipe without a terminal adds getpass's warnings before it).
    ours = [line for line in result.stderr.splitlines() if line.startswith("switchboard:")]
    assert len(ours) == 1, result.stderr
    assert result.stderr.strip().splitlines()[-1] == ours[0]
    assert await one(runtime, "SELECT count(*) FROM messenger.staff") == 0
