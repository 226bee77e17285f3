"""Recordings end to end: the call generator's answered calls name their recording on the PBX
(the sandbox's web folder), the platform fetches it into its store (a folder, or an S3 bucket
served by moto), and RetailCRM and anyone holding the signed link can play it; the PBX being
down, refusing or serving something else, and forged or expired links."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import func, select, update

from switchboard.core.crypto import SecretBox
from switchboard.runtime import Runtime
from switchboard.sandbox.asterisk.calls import CallGenerator, CallScenario
from switchboard.sandbox.faults import Fault
from switchboard.sandbox.pytest_plugin import (
    RETAILCRM_API_KEY,
    RunningPbxRecordings,
    RunningRetailCrm,
)
from switchboard.telephony.models import Call, CallEvent, Delivery
from switchboard.telephony.records import service
from tests.telephony.support import (
    TOKEN,
    add_enterprise,
    register_module,
    retailcrm_config,
    settle,
)

WHEN = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
PUBLIC = "https://calls.switchboard.test"


def _generator(pbx: RunningPbxRecordings, seed: int = 11) -> CallGenerator:
    return CallGenerator(
        token=TOKEN, extensions=("150", "151", "152"), seed=seed, recordings_url=pbx.url
    )


async def _play(client: httpx.AsyncClient, scenario: CallScenario) -> None:
    for event in scenario.events:
        response = await client.post(event.path, json=event.payload)
        assert response.status_code == 200, response.text


async def _call(runtime: Runtime, unique_id: str) -> Call:
    async with runtime.database.transaction() as session:
        call = await session.scalar(select(Call).where(Call.unique_id == unique_id))
    assert call is not None
    return call


async def _fetches(runtime: Runtime) -> list[Delivery]:
    async with runtime.database.transaction() as session:
        return list(
            await session.scalars(
                select(Delivery).where(Delivery.integration == "recordings").order_by(Delivery.id)
            )
        )


def _local(url: str) -> str:
    """A link the platform gave out, as a path on the test client."""
    assert url.startswith(PUBLIC + "/recordings/"), url
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


@pytest.fixture
async def platform(
    runtime_factory: Any,
    client_factory: Any,
    retailcrm: RunningRetailCrm,
    tmp_path: Path,
) -> tuple[Runtime, httpx.AsyncClient]:
    runtime = await runtime_factory(PUBLIC_URL=PUBLIC, DATA_DIR=str(tmp_path), HTTP_MAX_ATTEMPTS=1)
    client = await client_factory(runtime)
    await add_enterprise(runtime, integrations=retailcrm_config(retailcrm.url, RETAILCRM_API_KEY))
    register_module(retailcrm.emulator)
    return runtime, client


async def test_an_answered_call_is_recorded_kept_and_played_from_the_crm_link(
    platform: tuple[Runtime, httpx.AsyncClient],
    retailcrm: RunningRetailCrm,
    pbx_recordings: RunningPbxRecordings,
    tmp_path: Path,
) -> None:
    runtime, client = platform
    scenario = _generator(pbx_recordings).scenario("incoming_answered", at=WHEN)
    await _play(client, scenario)
    await settle(runtime)

    call = await _call(runtime, scenario.unique_id)
    assert (call.direction, call.result) == ("in", "answered")
    assert call.answered_by == scenario.talked[-1]
    assert call.phone == "+" + scenario.phone.lstrip("+")
    assert call.talk_seconds == scenario.talk_seconds
    assert call.total_seconds == scenario.ring_seconds + scenario.talk_seconds + (
        scenario.events[1].at  # the greeting before the group rang
    )
    recording = pbx_recordings.emulator.recording(scenario.unique_id)
    assert (call.record_status, call.record_type, call.record_bytes) == (
        "stored",
        "audio/wav",
        len(recording),
    )
    stored = tmp_path / "recordings" / str(call.record_path)
    assert stored.read_bytes() == recording
    assert [f.status for f in await _fetches(runtime)] == ["done"]

    [uploaded] = retailcrm.emulator.store.uploaded_calls()
    link = uploaded.call["recordUrl"]
    assert str(call.record_id) in link
    opened = await client.get(_local(link))
    assert opened.status_code == 200
    assert opened.headers["content-type"] == "audio/wav"
    assert opened.content == recording
    part = await client.get(_local(link), headers={"Range": "bytes=0-43"})
    assert part.status_code == 206
    assert part.content == recording[:44]  # the WAV header: players seek with ranges

    await settle(runtime)  # nothing twice
    assert len(pbx_recordings.emulator.journal.matching("GET", "/monitor/*")) == 1


async def test_missed_and_internal_calls_have_records_without_recordings(
    platform: tuple[Runtime, httpx.AsyncClient], pbx_recordings: RunningPbxRecordings
) -> None:
    runtime, client = platform
    generator = _generator(pbx_recordings)
    missed = generator.scenario("incoming_missed", at=WHEN)
    busy = generator.scenario("incoming_busy", at=WHEN)
    await _play(client, missed)
    await _play(client, busy)
    await settle(runtime)
    assert (await _call(runtime, missed.unique_id)).result == "missed"
    assert (await _call(runtime, busy.unique_id)).result == "busy"
    for scenario in (missed, busy):
        call = await _call(runtime, scenario.unique_id)
        assert (call.record_id, call.talk_seconds) == (None, 0)
    assert await _fetches(runtime) == []


async def test_a_pbx_that_is_down_is_asked_again_and_a_link_opened_meanwhile_fetches_it(
    platform: tuple[Runtime, httpx.AsyncClient],
    retailcrm: RunningRetailCrm,
    pbx_recordings: RunningPbxRecordings,
) -> None:
    runtime, client = platform
    pbx = pbx_recordings.emulator
    pbx.faults.add(Fault(path="/monitor/*", status=503, retry_after=1))
    scenario = _generator(pbx_recordings).scenario("incoming_answered", at=WHEN)
    await _play(client, scenario)
    await settle(runtime)

    [fetch] = await _fetches(runtime)
    assert fetch.status == "pending"
    assert "503" in str(fetch.last_error)
    assert (await _call(runtime, scenario.unique_id)).record_status == "pending"
    # RetailCRM is not held back by the recording: it has the call and the link already.
    [uploaded] = retailcrm.emulator.store.uploaded_calls()
    link = _local(uploaded.call["recordUrl"])
    unavailable = await client.get(link)
    assert unavailable.status_code == 503
    assert unavailable.headers["retry-after"] == "1"

    pbx.faults.clear()
    opened = await client.get(link)
    assert opened.status_code == 200
    assert opened.content == pbx.recording(scenario.unique_id)
    async with runtime.database.transaction() as session:
        await session.execute(  # the retry is due now rather than after its backoff
            update(Delivery).where(Delivery.id == fetch.id).values(next_attempt_at=func.now())
        )
    await settle(runtime)
    [fetch] = await _fetches(runtime)
    assert fetch.status == "done"
    ok = [e for e in pbx.journal.matching("GET", "/monitor/*") if e.status == 200]
    assert len(ok) == 1  # fetched once: the retry found it stored


async def test_a_recording_the_pbx_does_not_have_or_that_is_no_audio_is_refused(
    platform: tuple[Runtime, httpx.AsyncClient],
    retailcrm: RunningRetailCrm,
    pbx_recordings: RunningPbxRecordings,
) -> None:
    runtime, client = platform
    generator = _generator(pbx_recordings)
    gone, disguised = (generator.scenario("incoming_answered", at=WHEN) for _ in range(2))
    pbx_recordings.emulator.forget(gone.unique_id)
    pbx_recordings.emulator.replace(
        disguised.unique_id, b"<!DOCTYPE html><html><body>Login required</body></html>"
    )
    await _play(client, gone)
    await _play(client, disguised)
    await settle(runtime)

    fetches = {f.unique_id: f for f in await _fetches(runtime)}
    assert fetches[gone.unique_id].status == "failed"
    assert fetches[disguised.unique_id].status == "failed"
    assert "no audio" in str(fetches[disguised.unique_id].last_error)
    assert (await _call(runtime, gone.unique_id)).record_status == "failed"
    uploads = retailcrm.emulator.store.uploaded_calls()
    links = {u.call["externalId"]: u.call["recordUrl"] for u in uploads}
    for scenario in (gone, disguised):
        answer = await client.get(_local(links[scenario.unique_id]))
        assert answer.status_code == 404
        assert answer.json()["error"] == "recording_not_found"


async def test_forged_expired_and_unknown_links_are_refused(
    platform: tuple[Runtime, httpx.AsyncClient],
    retailcrm: RunningRetailCrm,
    pbx_recordings: RunningPbxRecordings,
) -> None:
    runtime, client = platform
    scenario = _generator(pbx_recordings).scenario("incoming_answered", at=WHEN)
    await _play(client, scenario)
    await settle(runtime)
    [uploaded] = retailcrm.emulator.store.uploaded_calls()
    good = urlsplit(uploaded.call["recordUrl"])
    query = dict(part.split("=") for part in good.query.split("&"))
    record_id = good.path.rsplit("/", 1)[1]

    def ask(record: str, expires: Any, signature: str) -> Any:
        return client.get(
            f"/recordings/{record}", params={"expires": expires, "signature": signature}
        )

    later = int(query["expires"]) + 86400
    assert (await ask(record_id, later, query["signature"])).status_code == 403
    tampered = query["signature"][:-1] + ("0" if query["signature"][-1] != "0" else "1")
    refused = await ask(record_id, query["expires"], tampered)
    assert refused.status_code == 403
    assert refused.json()["message"] == "Ссылка на запись недействительна."
    other = str(uuid.uuid4())
    assert (await ask(other, query["expires"], query["signature"])).status_code == 403

    key = SecretBox().signing_key(service.LINK_PURPOSE)
    old = urlsplit(service.link(PUBLIC, key, record_id, days=1, now=time.time() - 3 * 86400))
    expired = await client.get(f"{old.path}?{old.query}")
    assert expired.status_code == 410
    assert expired.json()["error"] == "recording_link_expired"
    unknown = urlsplit(service.link(PUBLIC, key, other, days=1))
    assert (await client.get(f"{unknown.path}?{unknown.query}")).status_code == 404
    assert (await ask("not-a-uuid", 1, "x")).status_code == 422
    assert (await client.get(f"/recordings/{record_id}")).status_code == 422


async def test_a_download_event_brings_a_recording_later_and_recovers_a_lost_hangup(
    platform: tuple[Runtime, httpx.AsyncClient],
    retailcrm: RunningRetailCrm,
    pbx_recordings: RunningPbxRecordings,
) -> None:
    runtime, client = platform
    generator = _generator(pbx_recordings)
    # 1. The live hangup named no recording; the PBX's recovery later does.
    first = generator.scenario("incoming_answered", at=WHEN)
    hangup = dict(first.hangup.payload)
    record_url = hangup.pop("RecordUrl")
    for event in first.events[:-1]:
        assert (await client.post(event.path, json=event.payload)).status_code == 200
    assert (await client.post("/hangup", json=hangup)).status_code == 200
    await settle(runtime)
    assert (await client.post("/download", json={**hangup, "RecordUrl": record_url})).json() == {
        "status": "ok",
        "stored": True,
    }
    await settle(runtime)
    assert (await _call(runtime, first.unique_id)).record_status == "stored"
    uploads = [u for u in retailcrm.emulator.store.uploaded_calls()]
    assert [u.call["externalId"] for u in uploads] == [first.unique_id]  # not sent again

    # 2. The PBX never reported the call live: its recovery is the call's hangup.
    lost = generator.scenario("incoming_answered", at=WHEN)
    assert (await client.post("/download", json=lost.hangup.payload)).status_code == 200
    await settle(runtime)
    events = [r.event for r in retailcrm.emulator.store.call_events()]
    lost_events = [e["type"] for e in events if e["callExternalId"] == lost.unique_id]
    assert lost_events == ["in", "hangup"]  # a synthetic dial, then the hangup
    uploads = retailcrm.emulator.store.uploaded_calls()
    [recovered] = [u for u in uploads if u.call["externalId"] == lost.unique_id]
    assert "recordUrl" in recovered.call
    assert (await _call(runtime, lost.unique_id)).record_status == "stored"
    async with runtime.database.transaction() as session:
        sources = set(
            await session.scalars(
                select(CallEvent.data_source).where(CallEvent.unique_id == lost.unique_id)
            )
        )
    assert sources == {"download"}


async def test_a_hangup_without_its_arrival_time_is_dated_on_the_pbx_clock(
    platform: tuple[Runtime, httpx.AsyncClient],
    retailcrm: RunningRetailCrm,
    pbx_recordings: RunningPbxRecordings,
) -> None:
    runtime, client = platform
    missed = _generator(pbx_recordings).scenario("incoming_missed", at=WHEN)
    for event in missed.events:
        payload = {k: v for k, v in event.payload.items() if k != "DateReceived"}
        assert (await client.post(event.path, json=payload)).status_code == 200
    await settle(runtime)
    [uploaded] = retailcrm.emulator.store.uploaded_calls()
    call = await _call(runtime, missed.unique_id)
    assert call.started_at is not None
    minsk = call.started_at.astimezone(ZoneInfo("Europe/Minsk"))
    assert uploaded.call["date"] == minsk.strftime("%Y-%m-%d %H:%M:%S")


# --- S3-compatible storage ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


async def test_recordings_kept_in_an_s3_bucket_are_served_by_a_short_presigned_redirect(
    runtime_factory: Any,
    client_factory: Any,
    retailcrm: RunningRetailCrm,
    pbx_recordings: RunningPbxRecordings,
    s3_endpoint: str,
) -> None:
    import boto3

    bucket = f"recordings-{uuid.uuid4().hex[:8]}"
    s3 = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name="us-east-1",
        aws_access_key_id="sandbox",
        aws_secret_access_key="sandbox-secret",
    )
    s3.create_bucket(Bucket=bucket)
    runtime = await runtime_factory(
        PUBLIC_URL=PUBLIC,
        RECORDINGS_STORAGE="s3",
        RECORDINGS_S3_ENDPOINT=s3_endpoint,
        RECORDINGS_S3_BUCKET=bucket,
        RECORDINGS_S3_ACCESS_KEY="sandbox",
        RECORDINGS_S3_SECRET_KEY="sandbox-secret",
    )
    client = await client_factory(runtime)
    await add_enterprise(runtime, integrations=retailcrm_config(retailcrm.url, RETAILCRM_API_KEY))
    register_module(retailcrm.emulator)
    scenario = _generator(pbx_recordings, seed=5).scenario("outgoing_answered", at=WHEN)
    await _play(client, scenario)
    await settle(runtime)

    call = await _call(runtime, scenario.unique_id)
    assert call.record_status == "stored"
    kept = await asyncio.to_thread(s3.get_object, Bucket=bucket, Key=call.record_path)
    recording = pbx_recordings.emulator.recording(scenario.unique_id)
    assert kept["Body"].read() == recording
    assert kept["ContentType"] == "audio/wav"

    [uploaded] = retailcrm.emulator.store.uploaded_calls()
    answer = await client.get(_local(uploaded.call["recordUrl"]))
    assert answer.status_code == 307
    presigned = answer.headers["location"]
    assert presigned.startswith(s3_endpoint)
    assert "X-Amz-Expires=300" in presigned
    async with httpx.AsyncClient() as outside:
        played = await outside.get(presigned)
    assert played.status_code == 200
    assert played.content == recording


async def test_a_recording_stored_meanwhile_stays_stored_when_the_dispatcher_saves_the_call(
    runtime: Runtime,
) -> None:
    """The dispatcher and the fetcher write the same row: the dispatcher read the call while
    its recording was pending, the fetcher stored it, then the dispatcher saves its copy."""
    from switchboard.telephony.records import repository
    from switchboard.telephony.records.schemas import CallRecord

    await add_enterprise(runtime)
    copy = CallRecord(
        enterprise_number="0367",
        unique_id="1796000000.1",
        started_at=datetime.now(UTC),
        record_id=uuid.uuid4(),
        record_source="http://pbx.test/monitor/1796000000.1.wav",
        record_status="pending",
    )
    async with runtime.database.transaction() as session:
        await repository.save_records(session, [copy])
    call = await _call(runtime, copy.unique_id)
    async with runtime.database.transaction() as session:
        await repository.mark_stored(
            session, call.id, key="k.wav", content_type="audio/wav", size=9
        )
    copy.result = "answered"
    async with runtime.database.transaction() as session:
        await repository.save_records(session, [copy])
    call = await _call(runtime, copy.unique_id)
    assert (call.result, call.record_status, call.record_path) == ("answered", "stored", "k.wav")


async def test_an_api_process_can_leave_delivery_to_other_processes(
    runtime_factory: Any,
    client_factory: Any,
    retailcrm: RunningRetailCrm,
    pbx_recordings: RunningPbxRecordings,
) -> None:
    """TELEPHONY_DELIVERY_IN_API=false: the API only takes events; a delivery service
    elsewhere (here: a pass of it) plans and sends them."""
    runtime = await runtime_factory(PUBLIC_URL=PUBLIC, TELEPHONY_DELIVERY_IN_API="false")
    client = await client_factory(runtime)
    await add_enterprise(runtime, integrations=retailcrm_config(retailcrm.url, RETAILCRM_API_KEY))
    register_module(retailcrm.emulator)
    scenario = _generator(pbx_recordings).scenario("incoming_answered", at=WHEN)
    await _play(client, scenario)
    await asyncio.sleep(1.5)  # longer than the delivery service's poll: nothing happens
    async with runtime.database.transaction() as session:
        planned = await session.scalar(select(func.count()).select_from(Delivery))
    assert planned == 0
    assert retailcrm.emulator.store.uploaded_calls() == []
    await settle(runtime)
    assert len(retailcrm.emulator.store.uploaded_calls()) == 1
