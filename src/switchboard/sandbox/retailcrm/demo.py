"""A small demo account: managers, a few inactive or busy, and customers whose manager is known.

    crm = RetailCrmEmulator(api_key=...)
    account = seed_demo(crm)        # or seed_demo(crm, managers=[(first, last, email), ...])
    account.summary()               # {"users": 6, "customers": 30}

The integration module is not seeded: the platform registers its own, as it would with a real
account. Names and phones come from the demo data's generators, so the same seed gives the same
account.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from switchboard.sandbox.demo_data import names
from switchboard.sandbox.retailcrm.store import JsonDict

if TYPE_CHECKING:
    from switchboard.sandbox.retailcrm import RetailCrmEmulator

DEMO_DOMAIN = "clobus.uz"
MANAGER_GROUP = {"id": 1, "name": "Менеджеры", "code": "manager"}
#: The statuses the demo's managers start in, in turn (most of them free).
STATUS_CYCLE = ("free", "free", "busy", "free", "dinner", "free")


@dataclass
class DemoAccount:
    users: list[JsonDict] = field(default_factory=list)
    customers: list[JsonDict] = field(default_factory=list)

    def summary(self) -> dict[str, int]:
        return {"users": len(self.users), "customers": len(self.customers)}


def _generated_managers(rng: random.Random, count: int) -> list[tuple[str, str, str]]:
    people = [names.person(rng) for _ in range(count)]
    return [
        (who.name, who.surname, f"{names.slug(who.name)}.{names.slug(who.surname)}@{DEMO_DOMAIN}")
        for who in people
    ]


def seed_demo(
    crm: RetailCrmEmulator,
    *,
    managers: Iterable[tuple[str, str, str]] | None = None,
    manager_count: int = 6,
    customers: int = 30,
    seed: int = 2026,
) -> DemoAccount:
    """Adds managers (given as (first name, last name, email), else invented) and customers;
    the last manager is inactive, and every fifth customer has no manager."""
    rng = random.Random(seed)
    account = DemoAccount()
    staff = list(managers) if managers is not None else _generated_managers(rng, manager_count)
    for index, (first, last, email) in enumerate(staff):
        account.users.append(
            crm.add_user(
                first,
                last,
                email,
                status=STATUS_CYCLE[index % len(STATUS_CYCLE)],
                active=index < len(staff) - 1 or len(staff) == 1,
                groups=[MANAGER_GROUP],
            )
        )
    active = [user["id"] for user in account.users if user["active"]]
    for index in range(customers):
        who = names.person(rng)
        phone = names.phone(rng)
        manager_id = active[index % len(active)] if active and index % 5 else None
        account.customers.append(
            crm.add_customer(
                who.name,
                who.surname,
                patronymic=who.patronymic,
                phones=[phone.presentation],
                manager_id=manager_id,
                email=names.person_email(rng, who),
            )
        )
    return account
