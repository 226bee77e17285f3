"""A booking answers as soon as Chatwoot and 1C have answered; their ids are written right after
(the response's background task). A server killed in between loses nothing and makes nothing
twice: the tasks are still leased to it, and once the lease runs out the worker's second run
finds the conversation and the document instead of making new ones."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from switchboard.consultations.booking.service import CREATE_IN_ONEC
from switchboard.runtime import Runtime
from switchboard.sandbox.pytest_plugin import RunningChatwoot, RunningOneC
from tests.consultations.booking.support import (
    accounting,
    add_manager,
    book,
    conversations,
    documents,
    messages,
    outbox,
    owner,
    row,
    settings,
    settle,
)
from tests.servers import free_port, platform_env, switchboard_process, wait_until_up

pytestmark = pytest.mark.slow

PHONE_CALLS = "*/Document_ТелефонныйЗвонок"


async def test_a_server_killed_after_answering_leaves_the_rest_to_the_worker_and_nothing_twice(
    onec: RunningOneC,
    chatwoot: RunningChatwoot,
    runtime_factory: Any,
    clean_database: str,
    tmp_path: Path,
) -> None:
    values = settings(onec, chatwoot)
    runtime: Runtime = await runtime_factory(**values)
    await add_manager(runtime, chatwoot, "Камола Юсупова")
    port = free_port()
    env = platform_env(clean_database, **{name: str(value) for name, value in values.items()})
    with switchboard_process(
        "serve", "--port", str(port), env=env, log=tmp_path / "serve.log"
    ) as api:
        base = f"http://127.0.0.1:{port}"
        await asyncio.to_thread(wait_until_up, base + "/api/health", api)
        # Writing 1C's answer (it queues the client's info message) waits behind this lock, so
        # the server is killed after its answer and before that write, every time.
        async with await psycopg.AsyncConnection.connect(clean_database) as blocker:
            await blocker.execute("LOCK TABLE log.notification_log IN EXCLUSIVE MODE")
            async with httpx.AsyncClient(base_url=base, timeout=20) as client:
                response = await book(client, {"client": owner(7), "consultation": accounting()})
            assert response.status_code == 201, response.text
            answer = response.json()
            assert answer["number"] is not None
            assert answer["chatwoot_conversation_id"] is not None
            api.kill()
            await asyncio.to_thread(api.wait)
            await blocker.rollback()

    stored = await row(runtime, answer["cons_id"])
    assert stored is not None
    assert stored.number is None  # 1C's answer never reached the database …
    [creation] = [task for task in await outbox(runtime) if task.operation == CREATE_IN_ONEC]
    assert creation.status == "pending"  # … and its task is still the dead server's (leased)

    await settle(runtime)  # the lease ran out: the worker takes the task
    await settle(runtime)  # and a second pass changes nothing

    [document] = documents(onec)
    assert document["Number"] == answer["number"]
    assert str(document["Ref_Key"]) == answer["cl_ref_key"]
    stored = await row(runtime, answer["cons_id"])
    assert stored is not None
    assert stored.number == answer["number"]
    assert stored.chatwoot_conversation_id == answer["chatwoot_conversation_id"]
    [conversation] = conversations(chatwoot)
    assert conversation.display_id == answer["chatwoot_conversation_id"]
    [info] = messages(chatwoot, conversation)  # the info message, once
    assert answer["number"] in info
    assert len(onec.emulator.journal.matching("POST", PHONE_CALLS)) == 2  # the second met the key
    assert all(task.status == "done" for task in await outbox(runtime))
