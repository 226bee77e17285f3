"""The messenger's admin API and pages through the real database and app: who may read and who
may change (anonymous 401, operator 403, supervisor reads, admin changes with the CSRF token),
inboxes with their settings checked field by field and their embed code and public key,
branches, regions and rules with duplicates refused (409) and branches in use kept, the default
branch, staff accounts whose passwords are argon2 hashes never shown."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from switchboard.messenger.accounts import service as accounts
from switchboard.messenger.routing import repository as routing_repository
from switchboard.runtime import Runtime
from tests.messenger.support import World

ADMIN = "/api/messenger/admin"
AUTH = "/api/messenger/auth"
PASSWORD = "correct horse battery staple"


async def account(runtime: Runtime, login: str, role: str, *, branch: str | None = None) -> int:
    async with runtime.database.transaction() as session:
        staff, _ = await accounts.save_staff(
            session,
            login=login,
            name=login.split("@", maxsplit=1)[0].title(),
            role=role,
            branch_code=branch,
            password_hash=accounts.Passwords().hash_now(PASSWORD),
        )
    return staff.id


async def signed_in(
    runtime: Runtime, client_factory: Any, login: str, role: str
) -> httpx.AsyncClient:
    """A client signed in as a new staff member of `role`, sending the login's CSRF token."""
    await account(runtime, login, role)
    client: httpx.AsyncClient = await client_factory(runtime)
    answer = await client.post(f"{AUTH}/login", json={"login": login, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    client.headers["X-CSRF-Token"] = answer.json()["csrf_token"]
    return client


@pytest.fixture
async def admin(runtime: Runtime, client_factory: Any) -> httpx.AsyncClient:
    return await signed_in(runtime, client_factory, "boss@example.com", "admin")


def fields(answer: httpx.Response) -> list[str]:
    assert answer.status_code == 422, answer.text
    return [detail["field"] for detail in answer.json()["details"]]


SETTINGS: dict[str, Any] = {
    "schedule": {
        "time_zone": "Asia/Yekaterinburg",
        "weekly": {"mon": [["09:00", "13:00"], ["14:00", "18:00"]], "sat": [["10:00", "14:00"]]},
        "holidays": ["2027-01-01", "2027-01-02"],
    },
    "offline": {"enabled": True, "message": "  Мы ответим утром.  "},
    "rating": {"enabled": True, "scale": 10},
    "features": {"attachments": False, "typing": True, "read_receipts": True},
    "allowed_domains": ["https://Shop.Example.ru/catalog", "*.пример.рф", "shop.example.ru"],
}


async def test_anonymous_is_401_an_operator_403_a_supervisor_reads_and_csrf_guards_changes(
    runtime: Runtime, client: httpx.AsyncClient, client_factory: Any, admin: httpx.AsyncClient
) -> None:
    anonymous = await client.get(f"{ADMIN}/inboxes")
    assert anonymous.status_code == 401
    assert anonymous.json()["error"] == "login_required"
    assert (
        await client.post(f"{ADMIN}/branches", json={"code": "x", "name": "X"})
    ).status_code == 401

    operator = await signed_in(runtime, client_factory, "op@example.com", "operator")
    for path in ("inboxes", "branches", "regions", "rules", "staff", "preferences"):
        refused = await operator.get(f"{ADMIN}/{path}")
        assert refused.status_code == 403, path
        assert refused.json()["error"] == "role"
    assert (
        await operator.post(f"{ADMIN}/branches", json={"code": "x", "name": "X"})
    ).status_code == 403

    supervisor = await signed_in(runtime, client_factory, "sv@example.com", "supervisor")
    for path in ("inboxes", "branches", "regions", "rules", "staff", "preferences"):
        assert (await supervisor.get(f"{ADMIN}/{path}")).status_code == 200, path
    changing = await supervisor.post(f"{ADMIN}/branches", json={"code": "x", "name": "X"})
    assert changing.status_code == 403
    assert changing.json()["error"] == "role"

    token = admin.headers.pop("X-CSRF-Token")
    forged = await admin.post(f"{ADMIN}/branches", json={"code": "x", "name": "X"})
    assert forged.status_code == 403
    assert forged.json()["error"] == "csrf"
    admin.headers["X-CSRF-Token"] = token
    made = await admin.post(f"{ADMIN}/branches", json={"code": "x", "name": "X"})
    assert made.status_code == 201, made.text
    assert await World(runtime.database).one("SELECT count(*) FROM messenger.branches") == 1


async def test_an_inbox_is_created_with_checked_settings_an_embed_code_and_a_new_key_on_demand(
    runtime: Runtime, client: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    branch = (await admin.post(f"{ADMIN}/branches", json={"code": "ekb", "name": "Екб"})).json()
    created = await admin.post(
        f"{ADMIN}/inboxes", json={"name": " Сайт ", "branch_id": branch["id"], "settings": SETTINGS}
    )
    assert created.status_code == 201, created.text
    inbox = created.json()
    assert inbox["name"] == "Сайт"
    assert inbox["branch"] == {"id": branch["id"], "code": "ekb", "name": "Екб"}
    assert inbox["active"] is True
    assert len(inbox["public_key"]) >= 20
    settings = inbox["settings"]
    assert settings["allowed_domains"] == ["shop.example.ru", "*.xn--e1afmkfd.xn--p1ai"]
    assert settings["offline"]["message"] == "Мы ответим утром."
    assert settings["rating"] == {"enabled": True, "scale": 10}
    assert settings["features"]["attachments"] is False
    assert settings["schedule"]["weekly"]["mon"] == [["09:00", "13:00"], ["14:00", "18:00"]]
    assert settings["schedule"]["holidays"] == ["2027-01-01", "2027-01-02"]
    key = inbox["public_key"]
    assert inbox["embed_code"] == (
        f'<script src="http://testserver/widget/widget-loader.js" data-inbox="{key}" '
        'data-api="http://testserver" async></script>'
    )
    stored = await World(runtime.database).one(
        "SELECT settings FROM messenger.inboxes WHERE id = :i", i=inbox["id"]
    )
    assert stored["allowed_domains"] == ["shop.example.ru", "*.xn--e1afmkfd.xn--p1ai"]

    # The widget follows the settings: only the allowed site may use it.
    site = {"Origin": "https://shop.example.ru"}
    assert (
        await client.post("/api/widget/bootstrap", json={"inbox": key}, headers=site)
    ).status_code == 200
    other = await client.post(
        "/api/widget/bootstrap", json={"inbox": key}, headers={"Origin": "https://evil.example"}
    )
    assert other.status_code == 403

    change: dict[str, Any] = {"name": "Сайт 2", "branch_id": None, "active": False, "settings": {}}
    updated = (await admin.put(f"{ADMIN}/inboxes/{inbox['id']}", json=change)).json()
    assert updated["name"] == "Сайт 2"
    assert updated["branch"] is None
    assert updated["active"] is False
    assert updated["public_key"] == key
    assert updated["settings"]["allowed_domains"] == []
    assert updated["settings"]["rating"]["scale"] == 5

    renewed = await admin.post(f"{ADMIN}/inboxes/{inbox['id']}/regenerate-key")
    assert renewed.status_code == 200
    new_key = renewed.json()["public_key"]
    assert new_key != key
    assert f'data-inbox="{new_key}"' in renewed.json()["embed_code"]
    assert (await admin.get(f"{ADMIN}/inboxes/{inbox['id']}")).json()["public_key"] == new_key

    listed = (await admin.get(f"{ADMIN}/inboxes")).json()
    assert [item["id"] for item in listed] == [inbox["id"]]
    assert (await admin.delete(f"{ADMIN}/inboxes/{inbox['id']}")).status_code == 204
    missing = await admin.get(f"{ADMIN}/inboxes/{inbox['id']}")
    assert missing.status_code == 404
    assert missing.json()["error"] == "inbox_not_found"


async def test_bad_inbox_settings_are_422_naming_the_field(
    runtime: Runtime, admin: httpx.AsyncClient
) -> None:
    def inbox(**settings: Any) -> dict[str, Any]:
        return {"name": "Сайт", "settings": settings}

    cases: list[tuple[dict[str, Any], str]] = [
        (inbox(schedule={"time_zone": "Mars/Olympus"}), "settings.schedule.time_zone"),
        (inbox(schedule={"weekly": {"mon": [["18:00", "09:00"]]}}), "settings.schedule.weekly"),
        (inbox(schedule={"weekly": {"funday": [["09:00", "18:00"]]}}), "settings.schedule.weekly"),
        (inbox(schedule={"holidays": ["someday"]}), "settings.schedule.holidays.0"),
        (inbox(rating={"scale": 7}), "settings.rating.scale"),
        (inbox(features={"teleport": True}), "settings.features.teleport"),
        (inbox(allowed_domains=["not a host"]), "settings.allowed_domains.0"),
        (inbox(allowed_domains=["ok.ru", "bad_host!.ru"]), "settings.allowed_domains.1"),
        (inbox(offline={"enabled": True, "message": "x" * 1001}), "settings.offline.message"),
        (inbox(offline={"enabled": True, "message": "   "}), "settings.offline.message"),
        (inbox(offline={"enabled": True, "message": "a\x00b"}), "settings.offline.message"),
        ({"name": "   "}, "name"),
        ({"name": "a\x00b"}, "name"),
        ({"name": "Сайт", "branch_id": 999}, "branch_id"),
        ({"name": "Сайт", "extra": 1}, "extra"),
    ]
    for body, field in cases:
        answer = await admin.post(f"{ADMIN}/inboxes", json=body)
        assert any(name.startswith(field) for name in fields(answer)), (body, answer.text)
    english = await admin.post(
        f"{ADMIN}/inboxes",
        json=inbox(rating={"scale": 5}, allowed_domains=["http://"]),
        headers={"Accept-Language": "en"},
    )
    assert english.json()["message"] == (
        "Field settings.allowed_domains.0: not a site's host name "
        "(such as shop.example.ru or *.example.ru)."
    )
    assert english.json()["details"][0]["message"] == english.json()["message"]
    # Russian by default, in the message and in the field's detail alike.
    russian = await admin.post(f"{ADMIN}/inboxes", json=inbox(offline={"message": "  "}))
    [detail] = russian.json()["details"]
    assert detail == {
        "field": "settings.offline.message",
        "in": "body",
        "message": "Поле settings.offline.message: напишите сообщение для нерабочего времени.",
    }
    assert russian.json()["message"] == detail["message"]
    assert await World(runtime.database).one("SELECT count(*) FROM messenger.inboxes") == 0


async def test_branches_regions_and_rules_refuse_duplicates_and_a_branch_in_use_stays(
    runtime: Runtime, admin: httpx.AsyncClient
) -> None:
    world = World(runtime.database)
    ekb = await admin.post(f"{ADMIN}/branches", json={"code": " EKB ", "name": "Екатеринбург"})
    assert ekb.status_code == 201
    ekb_id = ekb.json()["id"]
    assert ekb.json() == {
        "id": ekb_id,
        "code": "ekb",
        "name": "Екатеринбург",
        "staff": 0,
        "is_default": False,
    }
    again = await admin.post(f"{ADMIN}/branches", json={"code": "ekb", "name": "Другой"})
    assert again.status_code == 409
    assert again.json()["error"] == "branch_exists"
    assert "ekb" in again.json()["message"]
    assert fields(await admin.post(f"{ADMIN}/branches", json={"code": "е к б", "name": "x"})) == [
        "code"
    ]
    msk_id = (await admin.post(f"{ADMIN}/branches", json={"code": "msk", "name": "Москва"})).json()[
        "id"
    ]
    renamed = await admin.put(f"{ADMIN}/branches/{msk_id}", json={"code": "ekb", "name": "Москва"})
    assert renamed.status_code == 409
    renamed = await admin.put(f"{ADMIN}/branches/{msk_id}", json={"code": "mow", "name": "Москва"})
    assert renamed.json()["code"] == "mow"

    sve = await admin.post(f"{ADMIN}/regions", json={"code": "ru-sve", "name": "Свердловская обл."})
    assert sve.status_code == 201
    assert sve.json()["code"] == "RU-SVE"
    assert (
        await admin.post(f"{ADMIN}/regions", json={"code": "RU-SVE", "name": "x"})
    ).status_code == 409
    assert fields(
        await admin.post(f"{ADMIN}/regions", json={"code": "Sverdlovsk", "name": "x"})
    ) == ["code"]
    kz = (await admin.post(f"{ADMIN}/regions", json={"code": "KZ", "name": "Казахстан"})).json()

    rule = {"region_id": sve.json()["id"], "branch_id": ekb_id, "priority": 10}
    made = await admin.post(f"{ADMIN}/rules", json=rule)
    assert made.status_code == 201, made.text
    assert made.json()["region"]["code"] == "RU-SVE"
    assert made.json()["branch"]["code"] == "ekb"
    assert made.json()["inbox"] is None
    assert (await admin.post(f"{ADMIN}/rules", json=rule)).status_code == 409
    assert fields(await admin.post(f"{ADMIN}/rules", json={**rule, "region_id": 999})) == [
        "region_id"
    ]
    assert fields(await admin.post(f"{ADMIN}/rules", json={**rule, "inbox_id": 999})) == [
        "inbox_id"
    ]
    moved = await admin.put(
        f"{ADMIN}/rules/{made.json()['id']}", json={**rule, "region_id": kz["id"], "active": False}
    )
    assert moved.json()["region"]["code"] == "KZ"
    assert moved.json()["active"] is False
    listed = (await admin.get(f"{ADMIN}/regions")).json()
    assert {(r["code"], r["rules"]) for r in listed} == {("RU-SVE", 0), ("KZ", 1)}

    # A branch with a rule, a staff member or the default branch's role is not deleted.
    in_use = await admin.delete(f"{ADMIN}/branches/{ekb_id}")
    assert in_use.status_code == 409
    assert in_use.json()["error"] == "branch_in_use"
    assert "правил регионов — 1" in in_use.json()["message"]
    assert (await admin.delete(f"{ADMIN}/rules/{made.json()['id']}")).status_code == 204
    await world.operator(ekb_id, "anna")
    assert (await admin.delete(f"{ADMIN}/branches/{ekb_id}")).status_code == 409
    await world.one("DELETE FROM messenger.staff WHERE login = 'anna@example.com' RETURNING 1")
    assert (
        await admin.put(f"{ADMIN}/preferences", json={"default_branch_id": ekb_id})
    ).status_code == 200
    default = await admin.delete(f"{ADMIN}/branches/{ekb_id}")
    assert default.status_code == 409
    assert default.json()["error"] == "branch_is_default"
    await admin.put(f"{ADMIN}/preferences", json={"default_branch_id": None})
    assert (await admin.delete(f"{ADMIN}/branches/{ekb_id}")).status_code == 204
    assert (await admin.delete(f"{ADMIN}/branches/{ekb_id}")).status_code == 404
    assert (await admin.delete(f"{ADMIN}/regions/{kz['id']}")).status_code == 204
    assert await world.one("SELECT count(*) FROM messenger.region_rules") == 0


async def test_the_default_branch_preference_wins_over_the_setting(
    runtime_factory: Any, client_factory: Any
) -> None:
    runtime = await runtime_factory(MESSENGER_DEFAULT_BRANCH="ekb")
    admin = await signed_in(runtime, client_factory, "boss@example.com", "admin")
    ekb = (await admin.post(f"{ADMIN}/branches", json={"code": "ekb", "name": "Екб"})).json()
    msk = (await admin.post(f"{ADMIN}/branches", json={"code": "msk", "name": "Мск"})).json()
    first = (await admin.get(f"{ADMIN}/preferences")).json()
    assert first == {
        "default_branch": {"id": ekb["id"], "code": "ekb", "name": "Екб"},
        "default_branch_source": "setting",
    }
    chosen = (await admin.put(f"{ADMIN}/preferences", json={"default_branch_id": msk["id"]})).json()
    assert chosen["default_branch"]["code"] == "msk"
    assert chosen["default_branch_source"] == "preference"
    stored = await World(runtime.database).one(
        "SELECT value FROM messenger.preferences WHERE key = 'default_branch'"
    )
    assert stored == msk["id"]
    async with runtime.database.transaction() as session:  # what routing reads first
        assert await routing_repository.preferred_default_branch(session) == msk["id"]
    branches = {b["code"]: b["is_default"] for b in (await admin.get(f"{ADMIN}/branches")).json()}
    assert branches == {"ekb": False, "msk": True}
    assert fields(await admin.put(f"{ADMIN}/preferences", json={"default_branch_id": 999})) == [
        "default_branch_id"
    ]
    back = (await admin.put(f"{ADMIN}/preferences", json={"default_branch_id": None})).json()
    assert back["default_branch_source"] == "setting"
    async with runtime.database.transaction() as session:
        assert await routing_repository.preferred_default_branch(session) is None


async def test_staff_accounts_passwords_roles_and_hours_never_showing_a_hash(
    runtime: Runtime, client_factory: Any, admin: httpx.AsyncClient
) -> None:
    world = World(runtime.database)
    ekb = (await admin.post(f"{ADMIN}/branches", json={"code": "ekb", "name": "Екб"})).json()
    body = {
        "login": " Nina@Example.com ",
        "name": "Нина",
        "role": "operator",
        "branch_id": ekb["id"],
        "capacity": 3,
        "password": "nina-password",
        "schedule": {"time_zone": "Asia/Yekaterinburg", "weekly": {"mon": [["09:00", "18:00"]]}},
    }
    created = await admin.post(f"{ADMIN}/staff", json=body)
    assert created.status_code == 201, created.text
    nina = created.json()
    assert nina["login"] == "nina@example.com"
    assert nina["has_password"] is True
    assert nina["branch"]["code"] == "ekb"
    assert nina["schedule"]["weekly"] == {"mon": [["09:00", "18:00"]]}
    assert "password" not in nina
    assert "argon2" not in (await admin.get(f"{ADMIN}/staff")).text
    stored = await world.one(
        "SELECT password_hash FROM messenger.staff WHERE id = :i", i=nina["id"]
    )
    assert stored.startswith("$argon2id$")

    duplicate = await admin.post(f"{ADMIN}/staff", json={**body, "login": "NINA@example.com"})
    assert duplicate.status_code == 409
    assert duplicate.json()["error"] == "login_exists"
    assert fields(await admin.post(f"{ADMIN}/staff", json={**body, "login": "a b"})) == ["login"]
    assert fields(
        await admin.post(f"{ADMIN}/staff", json={**body, "login": "x@y.z", "password": "short"})
    ) == ["password"]
    assert fields(
        await admin.post(f"{ADMIN}/staff", json={**body, "login": "x@y.z", "capacity": -1})
    ) == ["capacity"]
    assert fields(
        await admin.post(f"{ADMIN}/staff", json={**body, "login": "x@y.z", "role": "king"})
    ) == ["role"]
    bad_hours = {**body, "login": "x@y.z", "schedule": {"weekly": {"mon": [["25:00", "26:00"]]}}}
    assert fields(await admin.post(f"{ADMIN}/staff", json=bad_hours))[0].startswith("schedule")

    nina_client: httpx.AsyncClient = await client_factory(runtime)
    login = await nina_client.post(
        f"{AUTH}/login", json={"login": "nina@example.com", "password": "nina-password"}
    )
    assert login.status_code == 200
    assert (await nina_client.get(f"{AUTH}/me")).status_code == 200

    change = {
        "name": "Нина С.",
        "role": "supervisor",
        "branch_id": None,
        "capacity": 8,
        "schedule": None,
    }
    changed = (await admin.put(f"{ADMIN}/staff/{nina['id']}", json=change)).json()
    assert (changed["name"], changed["role"], changed["branch"], changed["capacity"]) == (
        "Нина С.",
        "supervisor",
        None,
        8,
    )
    assert changed["schedule"] is None
    assert await world.one("SELECT schedule FROM messenger.staff WHERE id = :i", i=nina["id"]) == {}

    # A new password ends the account's logins; the new one works, the old one not.
    assert (
        await admin.put(f"{ADMIN}/staff/{nina['id']}/password", json={"password": "new-secret-1"})
    ).status_code == 200
    assert (await nina_client.get(f"{AUTH}/me")).status_code == 401
    old = await nina_client.post(
        f"{AUTH}/login", json={"login": "nina@example.com", "password": "nina-password"}
    )
    assert old.status_code == 401
    new = await nina_client.post(
        f"{AUTH}/login", json={"login": "nina@example.com", "password": "new-secret-1"}
    )
    assert new.status_code == 200
    # Switched off: the logins end and the status goes offline.
    off = (await admin.put(f"{ADMIN}/staff/{nina['id']}", json={**change, "active": False})).json()
    assert off["active"] is False
    assert off["status"] == "offline"
    assert (await nina_client.get(f"{AUTH}/me")).status_code == 401

    # The administrator keeps their own access, and their own login survives their new password.
    me = (await admin.get(f"{AUTH}/me")).json()
    mine = {"name": "Босс", "role": "operator", "capacity": 1}
    refused = await admin.put(f"{ADMIN}/staff/{me['id']}", json=mine)
    assert refused.status_code == 409
    assert refused.json()["error"] == "own_admin_access"
    refused = await admin.put(
        f"{ADMIN}/staff/{me['id']}", json={**mine, "role": "admin", "active": False}
    )
    assert refused.status_code == 409
    assert (
        await admin.put(f"{ADMIN}/staff/{me['id']}/password", json={"password": "boss-secret-2"})
    ).status_code == 200
    assert (await admin.get(f"{AUTH}/me")).status_code == 200
    assert (await admin.get(f"{ADMIN}/staff/999")).status_code == 404


async def test_the_pages_ask_to_sign_in_refuse_operators_and_show_admins_their_sections(
    runtime: Runtime, client: httpx.AsyncClient, client_factory: Any, admin: httpx.AsyncClient
) -> None:
    anonymous = await client.get("/messenger/admin/")
    assert anonymous.status_code == 200
    assert 'id="login-form"' in anonymous.text
    operator = await signed_in(runtime, client_factory, "op@example.com", "operator")
    refused = await operator.get("/messenger/admin/staff")
    assert refused.status_code == 403
    assert "администраторам" in refused.text
    supervisor = await signed_in(runtime, client_factory, "sv@example.com", "supervisor")
    read_only = await supervisor.get("/messenger/admin/")
    assert 'data-can-change="false"' in read_only.text
    for path, heading in (
        ("", "Каналы (виджеты чата на сайтах)"),
        ("branches", "Филиал по умолчанию"),
        ("regions", "Правила: регион → филиал"),
        ("staff", "Сотрудники"),
    ):
        page = await admin.get(f"/messenger/admin/{path}")
        assert page.status_code == 200, path
        assert heading in page.text
        assert 'data-can-change="true"' in page.text
    script = await client.get("/messenger/admin/static/inboxes.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert (await client.get("/messenger/admin/static/secret.py")).status_code == 404
