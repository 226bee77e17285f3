"""RetailCRM's click-to-call (`makeCallUrl`) and the dialplan's smart redirect (seed 003)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Request
from pydantic import BaseModel, Field

from switchboard.core.crypto import SecretBox
from switchboard.core.errors import ApiError, BadRequest, Unauthorized, error_responses
from switchboard.core.http.errors import IntegrationError, PeerRejected
from switchboard.integrations.asterisk import ami
from switchboard.integrations.retailcrm.adapter import RetailCrm
from switchboard.runtime import Runtime, runtime_of
from switchboard.telephony.actions import repository, service
from switchboard.telephony.delivery.tasks import Crms
from switchboard.telephony.gateway.tasks import Gateway
from switchboard.telephony.models import IntegrationLog

router = APIRouter(tags=["telephony: actions"])

#: How long the smart redirect waits for RetailCRM before letting the dialplan route the call.
REDIRECT_WAIT_SECONDS = 1.5


class CallStarted(BaseModel):
    success: bool = True
    #: `answered`: the manager picked up and the customer is being dialled; `ringing`: the
    #: manager's phone is still ringing.
    state: str = Field(examples=["answered"])
    extension: str = Field(examples=["150"])


class PbxUnavailable(ApiError):
    status_code = 503


async def _log(runtime: Runtime, **fields: Any) -> None:
    """Every click-to-call lands in the integration log, refused or not (its own commit)."""
    async with runtime.database.transaction() as session:
        session.add(
            IntegrationLog(integration_type=service.RETAILCRM, event_type="make_call", **fields)
        )


#: No control characters (PostgreSQL text cannot hold NUL; the request is logged).
PRINTABLE = r"^[^\x00-\x1f\x7f]*$"


@router.get(
    "/retailcrm/make-call/{key}",
    response_model=CallStarted,
    responses=error_responses(400, 401, 409, 422, 503),
    summary="Click-to-call from RetailCRM (its makeCallUrl)",
    description=(
        "RetailCRM calls this when a manager clicks a phone number. The link carries a key of "
        "its own (registered with the module; 401 otherwise), so knowing an enterprise's "
        "number is not enough to make its PBX dial. The extension is `code` when given, else "
        "the one mapped to `userId` (400 `No extension configured for user N`). The PBX rings "
        "the manager's extension, then dials `phone` (Asterisk AMI Originate; 409 when the "
        "extension does not answer or click-to-call is not set up, 503 when the PBX is "
        "unreachable)."
    ),
)
async def make_call(
    request: Request,
    *,
    key: Annotated[str, Path(min_length=16, max_length=128)],
    client_id: Annotated[
        str, Query(alias="clientId", min_length=1, max_length=64, pattern=PRINTABLE)
    ],
    phone: Annotated[str, Query(min_length=2, max_length=32, pattern=PRINTABLE)],
    user_id: Annotated[int | None, Query(alias="userId", ge=0, le=2**31)] = None,
    code: Annotated[str | None, Query(max_length=10, pattern=r"^\d*$")] = None,
    external_phone: Annotated[
        str | None, Query(alias="externalPhone", max_length=32, pattern=PRINTABLE)
    ] = None,
) -> CallStarted:
    runtime = runtime_of(request)
    async with runtime.database.transaction() as session:
        enterprise = await repository.enterprise(session, client_id)
    config = service.check_callback_key(enterprise, key)
    assert enterprise is not None
    asked = {"userId": user_id, "code": code, "phone": phone, "externalPhone": external_phone}
    base = {"enterprise_number": enterprise.number, "request_data": asked}
    try:
        extension = service.extension_for(config, user_id, code)
        secrets = SecretBox(runtime.settings.secret_keys.get_secret_value())
        access = service.ami_access(enterprise, secrets)
    except ApiError as refusal:  # a setting is missing: the admin sees it in the log
        await _log(runtime, **base, status="error", error_message=refusal.code)
        raise
    asked["code"] = extension
    try:
        started = await ami.originate(access, extension=extension, phone=phone)
    except ValueError as error:
        await _log(runtime, **base, status="error", error_message=str(error))
        raise BadRequest("invalid_phone", "{reason}.", reason=str(error)) from None
    except PeerRejected as error:
        await _log(runtime, **base, status="error", error_message=str(error))
        raise service.CallNotConnected(
            "call_not_connected", "The call was not connected: {reason}.", reason=str(error)
        ) from None
    except IntegrationError as error:
        await _log(runtime, **base, status="error", error_message=str(error))
        raise PbxUnavailable("pbx_unavailable", "The PBX cannot be reached; try again.") from None
    await _log(runtime, **base, status="success", response_data={"state": started.state})
    return CallStarted(state=started.state, extension=extension)


class Redirect(BaseModel):
    #: The internal number to send the call to; null: the dialplan's own route.
    extension: str | None = Field(examples=["150"])
    manager_id: int | None = Field(None, examples=[19])


@router.get(
    "/api/smart-redirect",
    response_model=Redirect,
    responses=error_responses(400, 401, 422),
    summary="Where an incoming call goes (the dialplan asks)",
    description=(
        "The PBX's dialplan asks, with its `Token` header, where an incoming call from `phone` "
        "should ring: the extension of the customer's responsible manager in RetailCRM. When "
        "RetailCRM does not know, is off or slow (1.5 s), the answer is `extension: null` and "
        "the dialplan routes the call as usual."
    ),
)
async def smart_redirect(
    request: Request,
    phone: Annotated[str, Query(min_length=2, max_length=32)],
    token: Annotated[str, Header(alias="Token", min_length=1, max_length=200)],
) -> Redirect:
    runtime = runtime_of(request)
    entry = await runtime.extension(Gateway).cache.by_token(token)
    if entry is None or not entry.active:
        raise Unauthorized("unknown_token", "Unknown PBX token.")
    crm = runtime.extension(Crms).adapters.get(service.RETAILCRM)
    if not entry.enabled(service.RETAILCRM) or not isinstance(crm, RetailCrm):
        return Redirect(extension=None)
    config = entry.config.get(service.RETAILCRM) or {}
    try:
        async with asyncio.timeout(REDIRECT_WAIT_SECONDS):
            extension, manager = await crm.responsible_extension(entry.number, config, phone)
    except (IntegrationError, TimeoutError):
        return Redirect(extension=None)
    return Redirect(extension=extension, manager_id=manager)
