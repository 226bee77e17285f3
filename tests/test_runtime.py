"""The request's unit of work: the `Session` dependency commits when the endpoint returns and
rolls back when it raises, before the answer is sent."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import APIRouter
from sqlalchemy import select, text

from switchboard import domains
from switchboard.core.db.system import SyncState
from switchboard.core.errors import BadRequest
from switchboard.core.module import DomainModule
from switchboard.runtime import Runtime, Session


@pytest.fixture
def writing_domain(monkeypatch: pytest.MonkeyPatch) -> None:
    router = APIRouter()

    @router.post("/api/probe/{name}")
    async def write(name: str, session: Session, fail: bool = False) -> dict[str, str]:
        session.add(SyncState(entity_name=name))
        await session.flush()
        if fail:
            raise BadRequest("refused", "Refused after writing.")
        return {"written": name}

    monkeypatch.setattr(
        domains, "DOMAINS", [*domains.DOMAINS, DomainModule(name="probe", routers=(router,))]
    )


async def _names(runtime: Runtime) -> list[str]:
    async with runtime.database.transaction() as session:
        return list(await session.scalars(select(SyncState.entity_name)))


async def test_an_endpoint_that_returns_has_committed_before_its_answer(
    writing_domain: None, runtime: Runtime, client_factory: Any
) -> None:
    client = await client_factory(runtime)
    answer = await client.post("/api/probe/kept")
    assert answer.status_code == 200
    assert await _names(runtime) == ["kept"]


async def test_an_endpoint_that_raises_leaves_nothing(
    writing_domain: None, runtime: Runtime, client_factory: Any
) -> None:
    client = await client_factory(runtime)
    answer = await client.post("/api/probe/dropped", params={"fail": "true"})
    assert answer.status_code == 400
    assert answer.json()["error"] == "refused"
    assert await _names(runtime) == []


PROBE_TRIGGER = """
CREATE FUNCTION sys.probe_refuse_late() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.entity_name = 'late' THEN RAISE EXCEPTION 'refused at commit'; END IF;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER probe_refuse_late AFTER INSERT ON sys.sync_state
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION sys.probe_refuse_late();
"""


async def test_a_commit_that_fails_is_the_callers_error_not_a_silent_loss(
    writing_domain: None, runtime: Runtime, client_factory: Any
) -> None:
    # A deferred check fails only at COMMIT, after the endpoint returned: the client must not be
    # told "written".
    async with runtime.database.transaction() as session:
        await session.execute(text(PROBE_TRIGGER))
    client = await client_factory(runtime)
    try:
        answer = await client.post("/api/probe/late")
    finally:
        async with runtime.database.transaction() as session:
            await session.execute(
                text(
                    "DROP TRIGGER probe_refuse_late ON sys.sync_state; "
                    "DROP FUNCTION sys.probe_refuse_late()"
                )
            )
    assert answer.status_code == 500
    assert answer.json()["error"] == "internal_error"
    assert "written" not in answer.text
    assert await _names(runtime) == []
