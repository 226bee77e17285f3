"""Fetching recordings from PBXs into the store, durably: a hangup that names its recording
plans a `fetch` for the delivery service (`Recorder`, a consumer of call events like a CRM's
adapter), which retries with backoff while the PBX is down and gives up when it refuses the file.
A link opened before that happened fetches the file on the spot (`fetch_now`)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

import structlog

from switchboard.core.crypto import SecretBox
from switchboard.core.http.errors import PeerRejected
from switchboard.integrations.asterisk.client import TARGET, PbxRecordingsClient
from switchboard.integrations.crm import CallFacts, Planned
from switchboard.telephony.models import Call
from switchboard.telephony.records import repository, service
from switchboard.telephony.records.storage import FolderStore, RecordingStore, S3Store
from switchboard.telephony.settings import TelephonySettings

if TYPE_CHECKING:
    from switchboard.runtime import Runtime

log = structlog.get_logger(__name__)

NAME = "recordings"
FETCH = "fetch"


def make_store(settings: TelephonySettings, data_dir: Path) -> RecordingStore:
    if settings.recordings_storage == "s3":
        return S3Store(
            bucket=settings.recordings_s3_bucket,
            endpoint_url=(
                str(settings.recordings_s3_endpoint) if settings.recordings_s3_endpoint else None
            ),
            region=settings.recordings_s3_region,
            access_key=settings.recordings_s3_access_key,
            secret_key=settings.recordings_s3_secret_key.get_secret_value(),
            target="recordings:s3",
        )
    return FolderStore(settings.recordings_dir or data_dir / "recordings")


class Recordings:
    """This process's recording store, PBX client and link signer
    (`runtime.extension(Recordings)`)."""

    def __init__(
        self,
        *,
        store: RecordingStore,
        base_url: str,
        signing_key: bytes,
        link_days: int,
        max_bytes: int,
        scratch: Path,
        timeout: float,
    ) -> None:
        self.store = store
        self.base_url = base_url.rstrip("/")
        self.signing_key = signing_key
        self.link_days = link_days
        self.max_bytes = max_bytes
        self.scratch = scratch
        self.client = PbxRecordingsClient(timeout=timeout)

    @classmethod
    def create(cls, runtime: Runtime) -> Self:
        settings = TelephonySettings.of(runtime.settings)
        core = runtime.settings
        base_url = (
            str(core.public_url) if core.public_url else f"http://{core.app_host}:{core.app_port}"
        )
        return cls(
            store=make_store(settings, core.data_dir),
            base_url=base_url,
            signing_key=SecretBox(core.secret_keys.get_secret_value()).signing_key(
                service.LINK_PURPOSE
            ),
            link_days=settings.recordings_link_days,
            max_bytes=settings.recordings_max_bytes,
            scratch=core.data_dir / "recordings-partial",
            timeout=settings.recordings_fetch_timeout_seconds,
        )

    def link(self, record_id: uuid.UUID) -> str:
        return service.link(self.base_url, self.signing_key, str(record_id), days=self.link_days)

    async def aclose(self) -> None:
        await self.client.aclose()


async def fetch_now(runtime: Runtime, call: Call) -> None:
    """Fetch the call's recording from its PBX into the store and record that (or why not)."""
    recordings = runtime.extension(Recordings)
    if not call.record_source or call.record_id is None:
        raise PeerRejected(TARGET, "the call names no recording")
    try:
        fetched = await recordings.client.fetch(
            call.record_source, recordings.scratch, max_bytes=recordings.max_bytes
        )
    except PeerRejected as error:
        async with runtime.database.transaction() as session:
            await repository.mark_failed(session, call.id, str(error))
        raise
    key = service.storage_key(call, fetched.extension)
    try:
        await recordings.store.save(key, fetched.path, fetched.content_type)
    finally:
        await asyncio.to_thread(fetched.path.unlink, missing_ok=True)
    async with runtime.database.transaction() as session:
        await repository.mark_stored(
            session, call.id, key=key, content_type=fetched.content_type, size=fetched.size
        )
    call.record_path, call.record_type, call.record_status = key, fetched.content_type, "stored"
    log.info("recording stored", call=call.unique_id, size=fetched.size)


class Recorder:
    """The `recordings` consumer of call events: always on, whatever the enterprise enabled."""

    name = NAME
    always_enabled = True

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def plan(self, facts: CallFacts, config: Mapping[str, Any]) -> list[Planned]:
        if facts.event_type not in ("hangup", "download") or FETCH in facts.planned:
            return []
        source = service.recording_source(facts.raw)
        return [Planned(FETCH, {"source": source, "unique_id": facts.unique_id})] if source else []

    async def deliver(
        self,
        enterprise_number: str,
        config: Mapping[str, Any],
        planned: Planned,
        earlier: Mapping[str, Mapping[str, Any]],
    ) -> Mapping[str, Any]:
        unique_id = str(planned.payload["unique_id"])
        async with self.runtime.database.transaction() as session:
            call = await repository.call_of(session, enterprise_number, unique_id)
        if call is None:
            raise PeerRejected(TARGET, "the call has no record")
        if call.record_status != "stored":
            await fetch_now(self.runtime, call)
        return {"key": call.record_path, "type": call.record_type}
