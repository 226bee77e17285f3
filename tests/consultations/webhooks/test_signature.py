"""Who may post to /webhook/chatwoot: Chatwoot's signed deliveries are taken; unsigned, forged,
stale ones are refused with 401, logged as refused, and change nothing."""

from __future__ import annotations

import time
from typing import Any

import httpx
import orjson

from switchboard.consultations.models import Consultation
from switchboard.runtime import Runtime
from tests.consultations.webhooks.support import (
    WEBHOOK_PATH,
    Wired,
    add,
    consultation,
    consultations,
    signed_headers,
    webhook_log,
)


def _resolved(conversation_id: int) -> dict[str, Any]:
    return {
        "event": "conversation_status_changed",
        "id": conversation_id,
        "inbox_id": 1,
        "status": "resolved",
        "changed_attributes": None,
    }


async def test_the_emulators_signed_deliveries_are_taken(wired: Wired) -> None:
    conversation_id = await wired.open_conversation()
    deliveries = await wired.delivered()
    assert [d.event for d in deliveries] == ["contact_created", "conversation_created"]
    assert [d.status for d in deliveries] == [200, 200]
    created = deliveries[1]
    assert created.headers["X-Chatwoot-Signature"].startswith("sha256=")
    contact, row = await webhook_log(wired.runtime)
    assert contact.outcome == "event contact_created is not handled"
    assert row.signature_valid is True
    assert row.delivery_id == created.delivery_id
    assert row.event == "conversation_created"
    assert row.payload["id"] == conversation_id
    assert row.processed_at is not None


async def test_forged_unsigned_and_stale_deliveries_are_refused_and_change_nothing(
    wired: Wired,
) -> None:
    await add(wired.runtime, Consultation(cons_id="c-1", status="open", chatwoot_conversation_id=5))
    body = orjson.dumps(_resolved(5))

    unsigned = await wired.app.post(
        WEBHOOK_PATH, content=body, headers={"Content-Type": "application/json"}
    )
    forged = await wired.app.post(
        WEBHOOK_PATH, content=body, headers=signed_headers("not-the-secret", body)
    )
    tampered_headers = signed_headers(wired.secret, body)
    tampered = await wired.app.post(
        WEBHOOK_PATH, content=body.replace(b"resolved", b"pending "), headers=tampered_headers
    )
    stale = await wired.app.post(
        WEBHOOK_PATH,
        content=body,
        headers=signed_headers(wired.secret, body, timestamp=int(time.time()) - 301),
    )
    future = await wired.app.post(
        WEBHOOK_PATH,
        content=body,
        headers=signed_headers(wired.secret, body, timestamp=int(time.time()) + 3600),
    )
    garbled = await wired.app.post(
        WEBHOOK_PATH,
        content=body,
        headers={**signed_headers(wired.secret, body), "X-Chatwoot-Timestamp": "soon"},
    )

    answers = [unsigned, forged, tampered, stale, future, garbled]
    assert [a.status_code for a in answers] == [401] * 6
    assert [a.json()["error"] for a in answers] == [
        "webhook_signature_invalid",
        "webhook_signature_invalid",
        "webhook_signature_invalid",
        "webhook_stale",
        "webhook_stale",
        "webhook_signature_invalid",
    ]
    assert unsigned.json()["message"] == "Подпись вебхука отсутствует или не совпадает."
    row = await consultation(wired.runtime, conversation_id=5)
    assert row is not None
    assert row.status == "open"
    log = await webhook_log(wired.runtime)
    assert len(log) == 6
    assert {entry.signature_valid for entry in log} == {False}
    assert {entry.processed_at for entry in log} == {None}
    # A forged copy never takes the delivery id of the real delivery.
    assert {entry.delivery_id for entry in log} == {None}
    assert all(entry.outcome and entry.outcome.startswith("refused") for entry in log)
    assert log[0].payload == {"refused_body": body.decode(), "size": len(body)}


async def test_a_forged_copy_does_not_block_the_real_delivery_of_the_same_id(wired: Wired) -> None:
    await add(wired.runtime, Consultation(cons_id="c-1", status="open", chatwoot_conversation_id=5))
    body = orjson.dumps(_resolved(5))
    forged_headers = signed_headers("guess", body, delivery_id="d-1")
    forged = await wired.app.post(WEBHOOK_PATH, content=body, headers=forged_headers)
    real_headers = signed_headers(wired.secret, body, delivery_id="d-1")
    real = await wired.app.post(WEBHOOK_PATH, content=body, headers=real_headers)
    assert (forged.status_code, real.status_code) == (401, 200)
    assert real.json()["status"] == "processed"
    row = await consultation(wired.runtime, conversation_id=5)
    assert row is not None
    assert row.status == "resolved"


async def test_a_replayed_delivery_is_refused_once_its_timestamp_is_old(wired: Wired) -> None:
    await wired.open_conversation()
    (delivery,) = [d for d in await wired.delivered() if d.event == "conversation_created"]
    signed_at = int(delivery.headers["X-Chatwoot-Timestamp"])
    body = delivery.body
    # The captured request, sent again later with its own signature and timestamp.
    replay_headers = {k: v for k, v in delivery.headers.items() if k.startswith("X-")}
    replay_headers["X-Chatwoot-Timestamp"] = str(signed_at - 600)
    replayed = await wired.app.post(WEBHOOK_PATH, content=body, headers=replay_headers)
    assert replayed.status_code == 401  # the signature covers the timestamp: it cannot be moved
    stale_headers = signed_headers(wired.secret, body, timestamp=signed_at - 600)
    stale = await wired.app.post(WEBHOOK_PATH, content=body, headers=stale_headers)
    assert stale.json()["error"] == "webhook_stale"
    assert len(await consultations(wired.runtime)) == 1


async def test_an_unsigning_chatwoot_is_refused_when_a_secret_is_set(wired: Wired) -> None:
    wired.chatwoot.emulator.sign_webhooks = False  # Chatwoot 4.11.1 and older
    try:
        await wired.open_conversation()
        deliveries = await wired.delivered()
    finally:
        wired.chatwoot.emulator.sign_webhooks = True
    assert [d.status for d in deliveries] == [401, 401]  # contact_created, conversation_created
    assert "X-Chatwoot-Signature" not in deliveries[1].headers
    assert await consultations(wired.runtime) == []


async def test_without_a_secret_development_takes_unsigned_deliveries(
    unsigned: httpx.AsyncClient, unsigned_runtime: Runtime
) -> None:
    await add(
        unsigned_runtime, Consultation(cons_id="c-1", status="open", chatwoot_conversation_id=5)
    )
    answer = await unsigned.post(WEBHOOK_PATH, json=_resolved(5))
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "processed"
    (entry,) = await webhook_log(unsigned_runtime)
    assert entry.signature_valid is None


async def test_production_without_a_secret_refuses_unless_told_chatwoot_cannot_sign(
    runtime_factory: Any, client_factory: Any
) -> None:
    production = {
        "ENV": "prod",
        "FRONT_SECRET": "f" * 32,
        "METRICS_TOKEN": "m" * 32,
        "ALLOWED_ORIGINS": "https://site.example.uz",
        "SECRET_KEYS": "LEAxRghxYsSJGUYF8MwfJ6IkY6RAChrRZ3jFagk-JOA=",
    }
    strict = await client_factory(await runtime_factory(**production))
    refused = await strict.post(WEBHOOK_PATH, json=_resolved(5))
    assert refused.status_code == 401
    assert refused.json()["error"] == "webhook_unsigned"
    lenient_runtime = await runtime_factory(**production, CHATWOOT_WEBHOOK_ALLOW_UNSIGNED="true")
    lenient = await client_factory(lenient_runtime)
    taken = await lenient.post(WEBHOOK_PATH, json=_resolved(5))
    assert taken.status_code == 200
    assert taken.json()["status"] == "ignored"  # no such conversation here


async def test_a_captured_delivery_replayed_under_a_new_delivery_id_is_not_processed_again(
    wired: Wired,
) -> None:
    await add(wired.runtime, Consultation(cons_id="c-1", status="open", chatwoot_conversation_id=5))
    body = orjson.dumps(_resolved(5))
    headers = signed_headers(wired.secret, body, delivery_id="d-1")
    first = await wired.app.post(WEBHOOK_PATH, content=body, headers=headers)
    assert first.json()["status"] == "processed"
    # Within the timestamp's window, the same signed request with another delivery id.
    replay = await wired.app.post(
        WEBHOOK_PATH, content=body, headers={**headers, "X-Chatwoot-Delivery": "d-2"}
    )
    assert replay.status_code == 200
    assert replay.json()["status"] == "duplicate"
