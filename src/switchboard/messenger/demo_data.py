"""The messenger's demo data (issue 8 item 8): two branches, regions of Russian cities with
their rules, the default branch, one inbox «Сайт» for the demo site open around the clock, demo
staff with known passwords, and a small real GeoIP database (MaxMind City format) so that a
local visitor is placed in Екатеринбург.

`seed_messenger_demo` can run any number of times: what exists is brought back to the demo's
values (the inbox keeps its public key), nothing is doubled.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.messenger.accounts import service as accounts
from switchboard.messenger.admin import repository, service
from switchboard.messenger.admin.repository import DEFAULT_BRANCH
from switchboard.messenger.schemas import InboxSettings

INBOX_NAME = "Сайт"

#: code → name
BRANCHES = {"ekb": "Екатеринбург", "msk": "Москва"}
DEFAULT_BRANCH_CODE = "msk"

#: ISO 3166-2 code → (name, the branch of its visitors)
REGIONS: dict[str, tuple[str, str]] = {
    "RU-SVE": ("Свердловская область", "ekb"),
    "RU-CHE": ("Челябинская область", "ekb"),
    "RU-TYU": ("Тюменская область", "ekb"),
    "RU-KGN": ("Курганская область", "ekb"),
    "RU-PER": ("Пермский край", "ekb"),
    "RU-BA": ("Республика Башкортостан", "ekb"),
    "RU-KHM": ("Ханты-Мансийский автономный округ — Югра", "ekb"),
    "RU-YAN": ("Ямало-Ненецкий автономный округ", "ekb"),
    "RU-MOW": ("Москва", "msk"),
    "RU-MOS": ("Московская область", "msk"),
    "RU-SPE": ("Санкт-Петербург", "msk"),
    "RU-LEN": ("Ленинградская область", "msk"),
    "RU-TA": ("Республика Татарстан", "msk"),
    "RU-NIZ": ("Нижегородская область", "msk"),
}


@dataclass(frozen=True)
class DemoLogin:
    login: str
    password: str
    name: str
    role: str
    branch: str | None


#: The demo's staff: two operators in each branch, a supervisor and an administrator.
STAFF = (
    DemoLogin("operator@demo.local", "demo-operator", "Анна Смирнова", "operator", "ekb"),
    DemoLogin("ivan@demo.local", "demo-operator", "Иван Петров", "operator", "ekb"),
    DemoLogin("maria@demo.local", "demo-operator", "Мария Иванова", "operator", "msk"),
    DemoLogin("petr@demo.local", "demo-operator", "Пётр Соколов", "operator", "msk"),
    DemoLogin("supervisor@demo.local", "demo-supervisor", "Ольга Кузнецова", "supervisor", "ekb"),
    DemoLogin("admin@demo.local", "demo-admin", "Администратор", "admin", None),
)

#: Networks of the demo's GeoIP database → (country, subdivision, city). 127.0.0.0/8 and ::1
#: are the demo's own visitors (Екатеринбург); the rest are ranges reserved for documentation
#: and tests (RFC 5737, RFC 3849, RFC 2544) that no real visitor has.
GEOIP_NETWORKS: dict[str, tuple[str, str | None, str]] = {
    "127.0.0.0/8": ("RU", "SVE", "Екатеринбург"),
    "::1/128": ("RU", "SVE", "Екатеринбург"),
    "198.51.100.0/24": ("RU", "MOW", "Москва"),
    "203.0.113.0/24": ("RU", "SPE", "Санкт-Петербург"),
    "192.0.2.0/24": ("RU", "CHE", "Челябинск"),
    "198.18.0.0/15": ("RU", "TYU", "Тюмень"),
    "2001:db8::/32": ("RU", "MOW", "Москва"),
}
_COUNTRIES = {"RU": ("Russia", "Россия")}


@dataclass(frozen=True)
class DemoMessenger:
    inbox_id: int
    public_key: str
    embed_code: str
    branches: dict[str, int]
    staff: tuple[DemoLogin, ...]

    def login_of(self, role: str) -> DemoLogin:
        """The first demo login of `role` (for the demo's banner)."""
        return next(person for person in self.staff if person.role == role)


def demo_settings(allowed_domains: Sequence[str]) -> dict[str, Any]:
    """The demo inbox's settings: open around the clock (Екатеринбург's time), offline text,
    stars, every feature, the demo site only."""
    settings = InboxSettings.model_validate(
        {
            "schedule": {"time_zone": "Asia/Yekaterinburg", "weekly": {}, "holidays": []},
            "allowed_domains": list(allowed_domains),
        }
    )
    return service.checked_settings(settings)


def site_hosts(site_url: str | None) -> list[str]:
    """The demo site's host names (a local demo is opened as localhost or 127.0.0.1)."""
    hosts = ["localhost", "127.0.0.1"]
    host = urlsplit(site_url).hostname if site_url else None
    if host and host not in hosts:
        hosts.insert(0, host)
    return hosts


async def _branches(session: AsyncSession) -> dict[str, int]:
    ids = {}
    for code, name in BRANCHES.items():
        found = await repository.branch_by_code(session, code)
        if found is None:
            created = await repository.insert_branch(session, code=code, name=name)
            assert created is not None
            ids[code] = created
        else:
            await repository.update_branch(session, found.id, code=code, name=name)
            ids[code] = found.id
    return ids


async def _regions(session: AsyncSession, branches: dict[str, int]) -> None:
    for code, (name, branch) in REGIONS.items():
        found = await repository.region_by_code(session, code)
        if found is None:
            region_id = await repository.insert_region(session, code=code, name=name)
            assert region_id is not None
        else:
            region_id = found.id
            await repository.update_region(session, region_id, code=code, name=name)
        if (
            await repository.same_rule(
                session, region_id=region_id, branch_id=branches[branch], inbox_id=None
            )
            is None
        ):
            await repository.insert_rule(
                session,
                region_id=region_id,
                branch_id=branches[branch],
                inbox_id=None,
                priority=100,
                active=True,
            )


async def _inbox(session: AsyncSession, settings: dict[str, Any]) -> tuple[int, str]:
    found = await repository.inbox_by_name(session, INBOX_NAME)
    if found is None:
        key = service.new_public_key()
        created = await repository.insert_inbox(
            session, name=INBOX_NAME, public_key=key, branch_id=None, active=True, settings=settings
        )
        return created, key
    await repository.update_inbox(
        session, found.id, name=INBOX_NAME, branch_id=None, active=True, settings=settings
    )
    return found.id, found.public_key


async def _staff(session: AsyncSession, passwords: accounts.Passwords) -> None:
    for person in STAFF:
        await accounts.save_staff(
            session,
            login=person.login,
            name=person.name,
            role=person.role,
            branch_code=person.branch,
            capacity=5,
            password_hash=await passwords.hash(person.password),
        )


async def seed_messenger_demo(
    session: AsyncSession,
    *,
    api_url: str,
    site_url: str | None = None,
    passwords: accounts.Passwords | None = None,
) -> DemoMessenger:
    """Write the messenger's demo data (in the caller's transaction) and say how to use it:
    the inbox's public key and embed code for `api_url`, the demo logins and passwords.
    `site_url`: the demo site's address (its host is allowed to show the widget)."""
    branches = await _branches(session)
    await _regions(session, branches)
    await repository.set_preference(session, DEFAULT_BRANCH, branches[DEFAULT_BRANCH_CODE])
    inbox_id, key = await _inbox(session, demo_settings(site_hosts(site_url)))
    await _staff(session, passwords or accounts.Passwords())
    return DemoMessenger(
        inbox_id=inbox_id,
        public_key=key,
        embed_code=service.embed_code(api_url, key),
        branches=branches,
        staff=STAFF,
    )


def build_demo_geoip(path: Path | str) -> Path:
    """Write a small real MaxMind City database (`GeoLite2-City` format, read by `geoip2`'s
    `city()`) with `GEOIP_NETWORKS`: point `GEOIP_DATABASE_PATH` at it. Needs `mmdb-writer`
    (the sandbox extra)."""
    from mmdb_writer import MMDBWriter
    from netaddr import IPSet

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    writer = MMDBWriter(
        ip_version=6,
        ipv4_compatible=True,
        database_type="GeoLite2-City",
        languages=["en", "ru"],
        description={
            "en": "Switchboard demo: regions of Russian cities for test addresses",
            "ru": "Демо Switchboard: регионы городов России для тестовых адресов",
        },
    )
    for network, (country, subdivision, city) in GEOIP_NETWORKS.items():
        english, russian = _COUNTRIES[country]
        record: dict[str, Any] = {
            "country": {"iso_code": country, "names": {"en": english, "ru": russian}},
            "city": {"names": {"ru": city}},
        }
        if subdivision:
            name = REGIONS.get(f"{country}-{subdivision}", (city, ""))[0]
            record["subdivisions"] = [{"iso_code": subdivision, "names": {"ru": name}}]
        writer.insert_network(IPSet([network]), record)
    writer.to_db_file(str(target))
    return target
