"""`/api/clients/*`: the booking form's clients — owners of a subscription and their users."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response

from switchboard.consultations.clients import service
from switchboard.consultations.clients.schemas import (
    CODE_PATTERN,
    HASH_PATTERN,
    ClientCreate,
    ClientRead,
)
from switchboard.consultations.sync.tasks import carry_out
from switchboard.core.errors import error_responses
from switchboard.core.routing import FrontRoute
from switchboard.runtime import Session, runtime_of

router = APIRouter(prefix="/api/clients", tags=["clients"], route_class=FrontRoute)

#: How long `POST /api/clients` waits for Chatwoot and 1C to take the client before it answers
#: (so the answer usually carries the contact's ids); what is not done by then the worker does.
SYNC_WAIT_SECONDS = 3.0
#: The request keeps its own outbox tasks this long; the worker takes them only after that.
TASK_LEASE_SECONDS = 30.0

ClientId = Annotated[
    uuid.UUID,
    Path(
        description="The client's `client_id` (a GUID)",
        examples=["3f0e4c8a-6a1b-4d7e-9d51-2b8f1f3c0a11"],
    ),
]
ClientHash = Annotated[
    str,
    Path(
        max_length=128,
        pattern=HASH_PATTERN,
        description="The client's `client_id_hash`",
        examples=["0c6e5c4e3c1f8f0f2b3f7f0a8c1d2e3f"],
    ),
]
SubscriberCode = Annotated[
    str,
    Path(
        max_length=18,
        pattern=CODE_PATTERN,
        description="Код абонента (digits)",
        examples=["100234"],
    ),
]

_READ_ERRORS = error_responses(404)


@router.post(
    "",
    response_model=ClientRead,
    responses={
        201: {"model": ClientRead, "description": "A new client was created"},
        **error_responses(403, 404, 409),
    },
    summary="Find or create a client (owner or user of a subscriber)",
    description=(
        "Finds the client by `client_id`, then `client_id_hash`, then the hash of its e-mail, "
        "phone and INN, and — for an owner only — by subscriber code, then INN; updates what "
        "the request gives, or creates the client (201). An **owner** (`is_parent=true`, no "
        "`parent_id`) needs an INN (9 digits for a company, 14 for a person) and a subscriber "
        "code, both unique among owners (409 otherwise). A **user** (`parent_id` = the owner's "
        "`client_id`) inherits the owner's INN, code, company and location: a different INN or "
        "code is 400, another company name 403; the owner must exist (404) and be an owner "
        "(400). An owner cannot become a user (403). `company_name` loses 1C's mask "
        "`<prefix> <name> <code> (<inn>)`. `subscriberId` is accepted for `code_abonent`.\n\n"
        "In the same transaction the client's Chatwoot contact and the owner's 1C counterparty "
        "are queued (outbox); the answer waits a few seconds for them, so `source_id`, "
        "`chatwoot_pubsub_token` and `cl_ref_key` are usually filled. A refused request writes "
        "nothing."
    ),
)
async def find_or_create(request: Request, response: Response, body: ClientCreate) -> ClientRead:
    runtime = runtime_of(request)
    async with runtime.database.transaction() as session:
        outcome = await service.find_or_create_client(session, body, settings=runtime.settings)
        task_ids = await service.enqueue_client_sync(
            session,
            outcome.client,
            outcome.owner,
            settings=runtime.settings,
            lease_seconds=TASK_LEASE_SECONDS,
        )
        answer = service.client_read(outcome.client, outcome.owner)
    if task_ids:
        # After the commit: the peers' ids, when they answer in time, are in the answer.
        await carry_out(runtime, task_ids, timeout=SYNC_WAIT_SECONDS)
        async with runtime.database.transaction() as session:
            answer = await service.get_client(session, answer.client_id)
    response.status_code = 201 if outcome.created else 200
    return answer


@router.get(
    "/by-hash/{client_hash}",
    response_model=ClientRead,
    responses=_READ_ERRORS,
    summary="A client by its hash",
    description=(
        "The client whose `client_id_hash` this is (the front end keeps it to find the client "
        "again). A user shows its owner's company, INN, subscriber code and location."
    ),
)
async def by_hash(client_hash: ClientHash, session: Session) -> ClientRead:
    return await service.get_client_by_hash(session, client_hash)


@router.get(
    "/by-subscriber/{code_abonent}",
    response_model=ClientRead,
    responses=_READ_ERRORS,
    summary="The owner of a subscriber code",
    description=(
        "The owner (`is_parent=true`) with this subscriber code — the oldest, should there be "
        "several (a warning is logged). When only a user holds the code, its owner. Used by the "
        "front end to restore a client it lost."
    ),
)
async def by_subscriber(code_abonent: SubscriberCode, session: Session) -> ClientRead:
    return await service.get_owner_by_subscriber(session, code_abonent)


@router.get(
    "/{client_id}",
    response_model=ClientRead,
    responses=_READ_ERRORS,
    summary="A client",
    description=(
        "The client with this `client_id`. A user (`is_parent=false`) shows its owner's "
        "company, INN, subscriber code, region, city and country."
    ),
)
async def get_client(client_id: ClientId, session: Session) -> ClientRead:
    return await service.get_client(session, client_id)
