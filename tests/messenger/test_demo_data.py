"""The messenger's demo data through the real database: seeding twice changes nothing the
second time, the demo logins sign in, the demo inbox is open around the clock for the demo
site; and the demo's small real GeoIP database places test addresses in their regions, so
routing sends a local visitor to Екатеринбург and a Moscow one to Москва."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from switchboard.messenger.accounts import service as accounts
from switchboard.messenger.demo_data import (
    BRANCHES,
    GEOIP_NETWORKS,
    REGIONS,
    STAFF,
    build_demo_geoip,
    seed_messenger_demo,
)
from switchboard.messenger.routing import policy
from switchboard.messenger.routing.geoip import GeoIpLocator
from switchboard.messenger.routing.service import assign_new
from switchboard.runtime import Runtime
from tests.messenger.support import T0, World, minutes, routing

COUNTS = {
    "branches": len(BRANCHES),
    "regions": len(REGIONS),
    "region_rules": len(REGIONS),
    "inboxes": 1,
    "staff": len(STAFF),
    "preferences": 1,
}


COUNTING = """
    SELECT json_build_object(
        'branches', (SELECT count(*) FROM messenger.branches),
        'regions', (SELECT count(*) FROM messenger.regions),
        'region_rules', (SELECT count(*) FROM messenger.region_rules),
        'inboxes', (SELECT count(*) FROM messenger.inboxes),
        'staff', (SELECT count(*) FROM messenger.staff),
        'preferences', (SELECT count(*) FROM messenger.preferences))
"""


async def counts(world: World) -> dict[str, int]:
    found: dict[str, int] = await world.one(COUNTING)
    return found


async def test_seeding_twice_is_the_same_data_and_the_demo_logins_sign_in(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    world = World(runtime.database)
    passwords = accounts.Passwords()
    async with runtime.database.transaction() as session:
        first = await seed_messenger_demo(
            session,
            api_url="http://127.0.0.1:8000/",
            site_url="http://demo.local:8001",
            passwords=passwords,
        )
    assert await counts(world) == COUNTS
    async with runtime.database.transaction() as session:
        second = await seed_messenger_demo(
            session,
            api_url="http://127.0.0.1:8000",
            site_url="http://demo.local:8001",
            passwords=passwords,
        )
    assert await counts(world) == COUNTS
    assert (second.inbox_id, second.public_key) == (first.inbox_id, first.public_key)
    assert second.branches == first.branches
    assert first.embed_code == (
        '<script src="http://127.0.0.1:8000/widget/widget-loader.js" '
        f'data-inbox="{first.public_key}" data-api="http://127.0.0.1:8000" async></script>'
    )

    default = await world.one(
        "SELECT value FROM messenger.preferences WHERE key = 'default_branch'"
    )
    assert default == first.branches["msk"]
    rules = await world.one(
        "SELECT count(*) FROM messenger.region_rules x JOIN messenger.regions r "
        "ON r.id = x.region_id WHERE r.code = 'RU-SVE' AND x.branch_id = :b",
        b=first.branches["ekb"],
    )
    assert rules == 1
    per_branch = {
        code: await world.one(
            "SELECT count(*) FROM messenger.staff WHERE branch_id = :b AND role = 'operator'",
            b=branch,
        )
        for code, branch in first.branches.items()
    }
    assert per_branch == {"ekb": 2, "msk": 2}

    settings = await world.one(
        "SELECT settings FROM messenger.inboxes WHERE id = :i", i=first.inbox_id
    )
    assert settings["allowed_domains"] == ["demo.local", "localhost", "127.0.0.1"]
    for hour in range(0, 24 * 7, 5):  # around the clock, every day
        assert policy.schedule_state(settings["schedule"], T0 + minutes(60 * hour)) == (True, None)

    for role in ("operator", "supervisor", "admin"):
        person = first.login_of(role)
        answer = await client.post(
            "/api/messenger/auth/login", json={"login": person.login, "password": person.password}
        )
        assert answer.status_code == 200, (role, answer.text)
        assert answer.json()["staff"]["role"] == role
    assert first.login_of("operator").login == "operator@demo.local"
    site = {"Origin": "http://demo.local:8001"}
    bootstrap = await client.post(
        "/api/widget/bootstrap", json={"inbox": first.public_key}, headers=site
    )
    assert bootstrap.status_code == 200, bootstrap.text


def test_the_demo_geoip_database_places_test_addresses_in_their_regions(tmp_path: Path) -> None:
    path = build_demo_geoip(tmp_path / "geo" / "demo-city.mmdb")
    assert path.exists()
    locator = GeoIpLocator(str(path))
    expected = {
        "127.0.0.1": "RU-SVE",
        "127.200.3.4": "RU-SVE",
        "::1": "RU-SVE",
        "198.51.100.23": "RU-MOW",
        "203.0.113.250": "RU-SPE",
        "192.0.2.7": "RU-CHE",
        "198.19.255.1": "RU-TYU",
        "2001:db8::42": "RU-MOW",
    }
    for ip, region in expected.items():
        assert locator.regions(ip) == [region, "RU"], ip
    assert locator.regions("8.8.8.8") == []
    assert locator.regions("10.1.2.3") == []
    # Every region of the database is one the demo has a rule for.
    assert {f"{c}-{s}" for c, s, _ in GEOIP_NETWORKS.values()} <= set(REGIONS)


@pytest.mark.parametrize(
    ("ip", "branch"), [("127.0.0.1", "ekb"), ("198.51.100.7", "msk"), ("203.0.113.9", "msk")]
)
async def test_routing_on_the_demo_data_sends_visitors_to_their_region_s_branch(
    runtime: Runtime, tmp_path: Path, ip: str, branch: str
) -> None:
    world = World(runtime.database)
    async with runtime.database.transaction() as session:
        demo = await seed_messenger_demo(session, api_url="http://127.0.0.1:8000")
    locator = GeoIpLocator(str(build_demo_geoip(tmp_path / "demo.mmdb")))
    contact = await world.one(
        "INSERT INTO messenger.contacts (token_digest) VALUES ('t') RETURNING id"
    )
    conversation = await world.one(
        "INSERT INTO messenger.conversations (inbox_id, contact_id) VALUES (:i, :c) RETURNING id",
        i=demo.inbox_id,
        c=contact,
    )
    async with runtime.database.transaction() as session:
        outcome = await assign_new(session, routing(locator=locator), conversation, now=T0, ip=ip)
    assert outcome.branch_id == demo.branches[branch], outcome
