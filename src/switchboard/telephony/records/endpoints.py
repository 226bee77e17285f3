"""`GET /recordings/{id}`: a call's recording behind the platform's signed, expiring link (the
`recordUrl` RetailCRM and the Telegram message carry)."""

from __future__ import annotations

import uuid
from pathlib import Path as FilePath
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from switchboard.core.errors import Forbidden, Gone, NotFound, error_responses
from switchboard.core.http.errors import PeerNotFound
from switchboard.runtime import runtime_of
from switchboard.telephony.records import repository, service
from switchboard.telephony.records.tasks import Recordings, fetch_now

router = APIRouter(tags=["telephony: recordings"])


@router.get(
    "/recordings/{record_id}",
    response_class=Response,
    responses={
        200: {
            "description": "The recording (audio, streamed; ranges supported)",
            "content": {"audio/wav": {}, "audio/mpeg": {}, "audio/ogg": {}},
        },
        307: {"description": "The recording's store serves it (a presigned URL, 5 minutes)"},
        **error_responses(400, 403, 404, 410, 422, 502, 503, 504),
    },
    summary="A call's recording (signed link)",
    description=(
        "Opens the recording of a call through the link the platform gave the CRM and the "
        "chats. The link is signed (403 when altered) and expires after RECORDINGS_LINK_DAYS "
        "(410). A recording the PBX has not handed over yet is fetched on the spot (503 while "
        "the PBX is unreachable, 502 when it refuses); 404 when the PBX has none."
    ),
)
async def recording(
    request: Request,
    record_id: Annotated[uuid.UUID, Path(description="The recording's id from the link")],
    expires: Annotated[int, Query(ge=0, le=2**40, description="Unix time the link expires")],
    signature: Annotated[str, Query(min_length=1, max_length=128)],
) -> Response:
    runtime = runtime_of(request)
    recordings = runtime.extension(Recordings)
    state = service.check_link(recordings.signing_key, str(record_id), expires, signature)
    if state == "forged":
        raise Forbidden("recording_link_invalid", "This recording link is not valid.")
    if state == "expired":
        raise Gone("recording_link_expired", "This recording link has expired.")
    async with runtime.database.transaction() as session:
        call = await repository.by_record(session, record_id)
    if call is None or call.record_status == "failed":
        raise NotFound("recording_not_found", "There is no such recording.")
    if call.record_status != "stored":
        try:
            await fetch_now(runtime, call)
        except PeerNotFound:
            raise NotFound("recording_not_found", "There is no such recording.") from None
    filename = f"{call.unique_id}{FilePath(call.record_path or '').suffix}"
    content_type = call.record_type or "application/octet-stream"
    where = await recordings.store.locate(
        call.record_path or "", filename=filename, content_type=content_type
    )
    if where is None:
        raise NotFound("recording_not_found", "There is no such recording.")
    if isinstance(where, str):
        return RedirectResponse(where, status_code=307)
    return FileResponse(
        where,
        media_type=content_type,
        filename=filename,
        content_disposition_type="inline",
        headers={"Cache-Control": "private, max-age=3600"},
    )
