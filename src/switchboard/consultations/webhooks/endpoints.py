"""`POST /webhook/chatwoot`: what people do in Chatwoot, brought into our database.

Not a front-end route: Chatwoot authenticates with the webhook's signature, not the front
secret. The endpoint owns three short transactions so that the log row outlives a failure:

1. the delivery is stored in `log.webhook_log` (once per `X-Chatwoot-Delivery`) and committed;
2. it is processed under a lock of that row, and marked processed in the same transaction, so a
   redelivery (even a concurrent one) is processed at most once;
3. if processing failed, the failure is written on the row in a transaction of its own, and the
   error answer (5xx) makes Chatwoot deliver again, which processes it then.
"""

from __future__ import annotations

import re
import time
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Header, Request
from sqlalchemy.exc import SQLAlchemyError

from switchboard.consultations.settings import ConsultationSettings
from switchboard.consultations.webhooks import service
from switchboard.consultations.webhooks.schemas import ChatwootWebhookBody, WebhookAck
from switchboard.core.db.base import utcnow
from switchboard.core.errors import (
    ApiError,
    BadRequest,
    ErrorBody,
    Unauthorized,
    error_responses,
    excerpt,
)
from switchboard.core.settings import Environment
from switchboard.integrations.chatwoot.settings import ChatwootSettings
from switchboard.runtime import Runtime, runtime_of

log = structlog.get_logger(__name__)

router = APIRouter(tags=["webhooks"])

#: Chatwoot's payloads are a few kilobytes; a message is at most 150,000 characters.
MAX_BODY_BYTES = 1024 * 1024
#: What a delivery id must look like to be used for deduplication (Chatwoot sends a UUID).
DELIVERY_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")

_REFUSALS = {
    "webhook_signature_invalid": "The webhook signature is missing or does not match.",
    "webhook_stale": "The webhook was signed too long ago; it may be a replay.",
    "webhook_unsigned": "Unsigned webhooks are not accepted; configure the webhook secret.",
}


class PayloadTooLarge(ApiError):
    status_code = 413


class UnprocessableWebhook(ApiError):
    status_code = 422


def _responses() -> dict[int | str, dict[str, Any]]:
    responses = error_responses(400, 401, 422, 503)
    responses[413] = {"model": ErrorBody, "description": "The body is larger than 1 MiB"}
    return responses


_REQUEST_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": ChatwootWebhookBody.model_json_schema()}},
    }
}


@router.post(
    "/webhook/chatwoot",
    response_model=WebhookAck,
    summary="Chatwoot webhook: conversations, assignments and messages",
    description=(
        "Chatwoot posts its account webhook events here. With `CHATWOOT_WEBHOOK_SECRET` set, "
        "every delivery must carry `X-Chatwoot-Signature: sha256=<hex HMAC-SHA256 of "
        '"<X-Chatwoot-Timestamp>.<raw body>">` signed at most '
        "`CHATWOOT_WEBHOOK_TOLERANCE_SECONDS` ago (401 otherwise); without the secret, "
        "deliveries are taken unchecked except with `ENV=prod`. Every delivery is stored in "
        "`log.webhook_log`; one `X-Chatwoot-Delivery` id is processed once (a redelivery "
        "answers `duplicate`).\n\n"
        "Events: `conversation_created` (a conversation of our inbox we do not know becomes a "
        "consultation), `conversation_updated` / `conversation_status_changed` (status, "
        "assignee → 1C manager, custom attributes), `message_created` (stored in "
        "`cons.q_and_a`; private notes are not), `message_updated` and typing events "
        "(accepted, logged). Dot names (`conversation.updated`) are accepted; other events "
        "answer `ignored`."
    ),
    responses=_responses(),
    openapi_extra=_REQUEST_BODY,
)
async def chatwoot_webhook(
    request: Request,
    x_chatwoot_signature: Annotated[
        str | None, Header(description="sha256=<hex>; required when a secret is configured")
    ] = None,
    x_chatwoot_timestamp: Annotated[
        str | None, Header(description="Unix seconds the delivery was signed at")
    ] = None,
    x_chatwoot_delivery: Annotated[
        str | None, Header(description="The delivery's id, the same on every retry")
    ] = None,
) -> WebhookAck:
    runtime = runtime_of(request)
    body = await _read_body(request)
    delivery_id = _delivery_id(x_chatwoot_delivery)
    try:
        signature_valid = service.check_signature(
            _policy(runtime),
            signature=x_chatwoot_signature,
            timestamp=x_chatwoot_timestamp,
            body=body,
            now=time.time(),
        )
    except service.Refused as refusal:
        await _log_refusal(runtime, body, refusal.reason, x_chatwoot_delivery, valid=False)
        raise Unauthorized(refusal.code, _REFUSALS[refusal.code]) from None
    try:
        payload = service.decode(body)
        event = service.event_name(payload)
    except service.Malformed as problem:
        reason = f"rejected: {problem}"
        await _log_refusal(runtime, body, reason, x_chatwoot_delivery, valid=signature_valid)
        raise BadRequest(
            "webhook_malformed",
            "The webhook body is not a JSON object with an event name: {reason}.",
            reason=str(problem),
        ) from None
    signature = x_chatwoot_signature if signature_valid else None
    return await _receive(
        runtime,
        event,
        payload=payload,
        delivery_id=delivery_id,
        signature_valid=signature_valid,
        signature=signature,
    )


async def _receive(
    runtime: Runtime,
    event: str,
    *,
    payload: dict[str, Any],
    delivery_id: str | None,
    signature_valid: bool | None,
    signature: str | None,
) -> WebhookAck:
    async with runtime.database.transaction() as session:
        stored = await service.record_delivery(
            session,
            event=event,
            delivery_id=delivery_id,
            payload=payload,
            signature_valid=signature_valid,
            signature=signature,
        )
    if stored.processed:
        return WebhookAck(status="duplicate", event=event, outcome="processed before")
    try:
        record = service.parse(event, payload)
    except service.InvalidPayload as invalid:
        async with runtime.database.transaction() as session:
            await service.finish(session, stored.log_id, invalid.describe(), processed=False)
        raise UnprocessableWebhook(
            "webhook_invalid_payload",
            "The {event} event does not have the shape Chatwoot gives it.",
            event=excerpt(event),
            details=_field_errors(invalid),
        ) from None
    context = service.Context(
        inbox_id=ChatwootSettings.of(runtime.settings).chatwoot_inbox_id,
        delivery_id=delivery_id,
        now=utcnow(),
    )
    return await _process(runtime, stored.log_id, event, record, context)


async def _process(
    runtime: Runtime,
    log_id: int,
    event: str,
    record: service.Record,
    context: service.Context,
) -> WebhookAck:
    try:
        async with runtime.database.transaction() as session:
            if not await service.claim(session, log_id):
                return WebhookAck(status="duplicate", event=event, outcome="processed before")
            outcome = await service.process(session, event, record, context)
            await service.finish(session, log_id, outcome.text, processed=True)
    except SQLAlchemyError as failure:
        await _note_failure(runtime, log_id, failure)
        raise
    status = "processed" if outcome.processed else "ignored"
    return WebhookAck(status=status, event=event, outcome=outcome.text)


async def _note_failure(runtime: Runtime, log_id: int, failure: SQLAlchemyError) -> None:
    """Write why processing failed on the (committed) log row; it stays unprocessed, so the
    redelivery that the error answer asks for is processed."""
    cause = getattr(failure, "orig", None) or failure  # the driver's words, not SQLAlchemy's
    reason = f"failed: {type(failure).__name__}: {excerpt(str(cause), 300)}"
    try:
        async with runtime.database.transaction() as session:
            await service.finish(session, log_id, reason, processed=False)
    except SQLAlchemyError as second:  # the database is gone too: the error answer says so
        log.warning("webhook failure not recorded", log_id=log_id, error=type(second).__name__)
    log.warning("webhook processing failed", log_id=log_id, reason=reason)


async def _log_refusal(
    runtime: Runtime, body: bytes, reason: str, claimed_delivery: str | None, *, valid: bool | None
) -> None:
    """A delivery not taken is logged without its delivery id (a forged copy must not take the
    id of the real one) and with an excerpt of its body, never parsed or processed."""
    if claimed_delivery:
        reason = f"{reason} (delivery {excerpt(claimed_delivery, 64)})"
    async with runtime.database.transaction() as session:
        await service.record_delivery(
            session,
            event=None,
            delivery_id=None,
            payload=service.refused_body(body),
            signature_valid=valid,
            outcome=reason,
        )


def _policy(runtime: Runtime) -> service.SignaturePolicy:
    settings = runtime.settings
    chatwoot = ChatwootSettings.of(settings)
    consultations = ConsultationSettings.of(settings)
    return service.SignaturePolicy(
        secret=chatwoot.chatwoot_webhook_secret.get_secret_value(),
        tolerance_seconds=consultations.chatwoot_webhook_tolerance_seconds,
        unsigned_allowed=settings.env is not Environment.PROD
        or consultations.chatwoot_webhook_allow_unsigned,
    )


def _delivery_id(header: str | None) -> str | None:
    if header is None or not DELIVERY_ID.fullmatch(header.strip()):
        return None
    return header.strip()


async def _read_body(request: Request) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise _too_large()
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise _too_large()
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large() -> PayloadTooLarge:
    return PayloadTooLarge(
        "payload_too_large", "The webhook body is larger than {limit} bytes.", limit=MAX_BODY_BYTES
    )


def _field_errors(invalid: service.InvalidPayload) -> list[dict[str, Any]]:
    return [
        {
            "field": excerpt(".".join(str(part) for part in error["loc"]) or "body", 80),
            "in": "body",
            "message": excerpt(str(error.get("msg", "Invalid value.")), 200),
            "type": error.get("type"),
        }
        for error in invalid.errors[:20]
    ]
