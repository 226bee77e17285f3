"""An enterprise ready for its admin page: RetailCRM connected, internal numbers, a password."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import update

from switchboard.runtime import Runtime
from switchboard.sandbox.pytest_plugin import RETAILCRM_API_KEY, RunningRetailCrm
from switchboard.telephony.admin import access
from switchboard.telephony.admin.service import set_internal_phones
from switchboard.telephony.models import Enterprise
from tests.telephony.support import add_enterprise, retailcrm_config

PASSWORD = "correct horse battery staple"
NUMBERS = (("150", "Джулай Джуновый"), ("151", None), ("152", None), ("153", None))


async def admin_enterprise(
    runtime: Runtime, retailcrm: RunningRetailCrm, *, extensions: dict[str, str] | None = None
) -> None:
    config = retailcrm_config(retailcrm.url, RETAILCRM_API_KEY)
    if extensions is not None:
        config["retailcrm"]["user_extensions"] = extensions
    await add_enterprise(runtime, integrations=config)
    async with runtime.database.transaction() as session:
        await set_internal_phones(session, number="0367", phones=NUMBERS)
        await session.execute(
            update(Enterprise)
            .where(Enterprise.number == "0367")
            .values(admin_password_hash=access.hash_password(PASSWORD))
        )


async def signed_in(client: httpx.AsyncClient) -> str:
    """Sign in with the password; the page's CSRF token."""
    login = await client.post(
        "/retailcrm-admin/login", data={"enterprise_number": "0367", "password": PASSWORD}
    )
    assert login.status_code == 303, login.text
    page = await client.get("/retailcrm-admin/", params={"enterprise_number": "0367"})
    assert page.status_code == 200
    marker = 'data-csrf="'
    start = page.text.index(marker) + len(marker)
    return page.text[start : page.text.index('"', start)]


def headers(csrf: str) -> dict[str, Any]:
    return {"X-CSRF-Token": csrf}
