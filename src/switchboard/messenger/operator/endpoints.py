"""The operator panel's JSON API, under `/api/messenger` (the staff's session cookie; changes
also need the `X-CSRF-Token` header), and its pages (`pages.py`).

An operator reads and answers only the conversations assigned to them; supervisors and
administrators every conversation, with the routing audit. Live events: `GET /stream/` (SSE of
the staff member's own channel, or of supervision for supervisors and administrators) and
`GET /events` (the same events by polling)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response

from switchboard.core.db.base import utcnow
from switchboard.core.errors import Conflict, error_responses
from switchboard.core.realtime.sse import event_stream, poll_events
from switchboard.core.routing import StrictQueryRoute
from switchboard.messenger.accounts.endpoints import ChangingStaff, CurrentStaff
from switchboard.messenger.accounts.repository import StaffRecord
from switchboard.messenger.attachments.service import Attachments
from switchboard.messenger.conversations import events as conversation_events
from switchboard.messenger.conversations import service as conversations
from switchboard.messenger.conversations.events import SUPERVISION, staff_channel
from switchboard.messenger.conversations.schemas import ConversationSummary, MessageView
from switchboard.messenger.conversations.views import AttachmentLinks
from switchboard.messenger.operator import service
from switchboard.messenger.operator.pages import pages
from switchboard.messenger.operator.schemas import (
    BranchView,
    ConversationDetail,
    EventsPage,
    Scope,
    SeenChange,
    StaffLoad,
    StaffMessage,
    Status,
    TransferRequest,
    TypingChange,
)
from switchboard.messenger.routing import service as routing_service
from switchboard.messenger.routing.service import RoutingError
from switchboard.messenger.routing.tasks import routing_of
from switchboard.runtime import Runtime, Session, runtime_of

PREFIX = "/api/messenger"

api = APIRouter(
    prefix=PREFIX,
    tags=["messenger: operator panel"],
    route_class=StrictQueryRoute,
    responses=error_responses(400, 401),
)


ConversationId = Annotated[int, Path(ge=1, le=2**63 - 1, description="A conversation's id")]
#: What every change of one conversation can answer besides success.
CHANGE_ERRORS = error_responses(403, 404, 409, 422)


def links(runtime: Runtime) -> AttachmentLinks:
    """The process's attachment store: it signs the links of the files in message views."""
    return runtime.extension(Attachments)


def own_channel(staff: StaffRecord) -> str:
    """Supervisors and administrators follow every conversation; an operator their own."""
    return SUPERVISION if service.oversees(staff) else staff_channel(staff.id)


@api.get(
    "/conversations",
    response_model=list[ConversationSummary],
    responses=error_responses(403),
    summary="Conversations: one's own, or everyone's",
    description=(
        "`scope=mine`: the conversations assigned to the signed-in staff member; `scope=all` "
        "(supervisors and administrators; 403 for operators): every conversation, unassigned "
        "ones too. `status` (repeatable) filters; default open and pending. The most recently "
        "updated first, at most 200, each with its unread count (the visitor's messages after "
        "the assignee last read it) and last message."
    ),
)
async def conversation_list(
    staff: CurrentStaff,
    session: Session,
    scope: Annotated[Scope, Query(description="`mine` or `all`")] = "mine",
    status: Annotated[
        list[Status] | None, Query(max_length=4, description="Statuses to show (repeatable)")
    ] = None,
) -> list[ConversationSummary]:
    return await service.conversations(session, staff, scope=scope, statuses=status)


@api.get(
    "/conversations/{conversation_id}",
    response_model=ConversationDetail,
    responses=error_responses(403, 404),
    summary="A conversation: its summary, its messages and (for supervisors) its routing audit",
    description=(
        "The messages after message `after` (0: from the start), oldest first, at most 200: "
        "ask again after the last one for more. `assignments` (supervisors and "
        "administrators; null for operators): every routing decision with the policy, the "
        "candidates and their loads, and why. Reading changes nothing (see `/open`, `/seen`). "
        "403 for an operator's request of a conversation assigned to someone else."
    ),
)
async def conversation_detail(
    request: Request,
    conversation_id: ConversationId,
    staff: CurrentStaff,
    session: Session,
    after: Annotated[int, Query(ge=0, le=2**63 - 1, description="A message id")] = 0,
) -> ConversationDetail:
    await service.readable(session, staff, conversation_id)
    return ConversationDetail(
        conversation=await service.summary(session, conversation_id),
        messages=await service.history(
            session, conversation_id, after, links(runtime_of(request)), now=utcnow()
        ),
        assignments=await service.audit(session, conversation_id)
        if service.oversees(staff)
        else None,
    )


@api.post(
    "/conversations/{conversation_id}/open",
    response_model=ConversationSummary,
    responses=error_responses(403, 404),
    summary="Open a conversation: stops its escalation timer and marks it read",
    description=(
        "The assignee's first open stops the escalation for good (no reassignment by "
        "timeout from then on); whoever opens it has read the visitor's messages so far "
        "(read ticks for the visitor; the unread count moves only for the assignee)."
    ),
)
async def open_conversation(
    request: Request, conversation_id: ConversationId, staff: ChangingStaff, session: Session
) -> ConversationSummary:
    await service.readable(session, staff, conversation_id)
    return await conversations.open_conversation(
        session, runtime_of(request).bus, conversation_id, staff.id, now=utcnow()
    )


@api.post(
    "/conversations/{conversation_id}/messages",
    response_model=MessageView,
    responses=CHANGE_ERRORS,
    summary="Answer in a conversation",
    description=(
        "The text as typed (shown as a small safe Markdown) and files this staff member "
        "uploaded (`attachments`: ids; 422 for files of others or sent already). Sending the "
        "same `client_id` again answers the stored message and stores nothing. 409 for a "
        "resolved or closed conversation (reopen it first)."
    ),
)
async def send_message(
    request: Request,
    conversation_id: ConversationId,
    body: StaffMessage,
    staff: ChangingStaff,
    session: Session,
) -> MessageView:
    await service.readable(session, staff, conversation_id)
    return await conversations.post_staff_message(
        session,
        runtime_of(request).bus,
        conversation_id,
        staff,
        text=body.text,
        client_id=body.client_id,
        attachment_ids=body.attachments,
        now=utcnow(),
        links=links(runtime_of(request)),
    )


@api.post(
    "/conversations/{conversation_id}/typing",
    status_code=204,
    responses=error_responses(403, 404),
    summary="The staff member is typing (or stopped)",
    description="Shown to the visitor (and supervisors) at once; nothing is stored.",
)
async def typing(
    request: Request,
    conversation_id: ConversationId,
    body: TypingChange,
    staff: ChangingStaff,
    session: Session,
) -> Response:
    await service.readable(session, staff, conversation_id)
    found = await conversations.conversation(session, conversation_id)
    await conversations.typing(
        runtime_of(request).bus, found, author_kind="staff", name=staff.name, typing=body.typing
    )
    return Response(status_code=204)


@api.post(
    "/conversations/{conversation_id}/seen",
    status_code=204,
    responses=error_responses(403, 404, 422),
    summary="The panel received or showed the visitor's messages up to an id",
    description=(
        "`delivered_up_to`: the panel got them (one tick for the visitor); `read_up_to`: "
        "the staff member saw them (two ticks; also the assignee's unread count)."
    ),
)
async def seen(
    request: Request,
    conversation_id: ConversationId,
    body: SeenChange,
    staff: ChangingStaff,
    session: Session,
) -> Response:
    await service.readable(session, staff, conversation_id)
    await conversations.mark_seen(
        session,
        runtime_of(request).bus,
        conversation_id,
        reader="staff",
        delivered_up_to=body.delivered_up_to,
        read_up_to=body.read_up_to,
        now=utcnow(),
        staff_id=staff.id,
    )
    return Response(status_code=204)


async def _status(
    request: Request,
    session: Session,
    staff: StaffRecord,
    conversation_id: int,
    to: conversations.Target,
) -> ConversationSummary:
    await service.readable(session, staff, conversation_id)
    return await conversations.change_status(
        session,
        runtime_of(request).bus,
        conversation_id,
        to=to,
        actor_staff_id=staff.id,
        now=utcnow(),
    )


@api.post(
    "/conversations/{conversation_id}/resolve",
    response_model=ConversationSummary,
    responses=CHANGE_ERRORS,
    summary="Mark a conversation resolved",
    description=(
        "Frees the assignee's capacity; the visitor may rate it, and their next message "
        "starts a new conversation. 409 for a closed one."
    ),
)
async def resolve(
    request: Request, conversation_id: ConversationId, staff: ChangingStaff, session: Session
) -> ConversationSummary:
    return await _status(request, session, staff, conversation_id, "resolved")


@api.post(
    "/conversations/{conversation_id}/close",
    response_model=ConversationSummary,
    responses=CHANGE_ERRORS,
    summary="Close a conversation",
    description="As resolving, for a conversation that needs no answer (spam, a mistake).",
)
async def close(
    request: Request, conversation_id: ConversationId, staff: ChangingStaff, session: Session
) -> ConversationSummary:
    return await _status(request, session, staff, conversation_id, "closed")


@api.post(
    "/conversations/{conversation_id}/reopen",
    response_model=ConversationSummary,
    responses=CHANGE_ERRORS,
    summary="Reopen a resolved or closed conversation",
    description=(
        "It goes back to its assignee (pending when it has none). 409 when the visitor has "
        "started a newer conversation since."
    ),
)
async def reopen(
    request: Request, conversation_id: ConversationId, staff: ChangingStaff, session: Session
) -> ConversationSummary:
    return await _status(request, session, staff, conversation_id, "open")


@api.get(
    "/staff",
    response_model=list[StaffLoad],
    summary="Staff who can take conversations, for a manual transfer",
    description=(
        "Every active operator and supervisor of every branch, with their status, capacity "
        "and load (open and pending conversations)."
    ),
)
async def staff_list(staff: CurrentStaff, session: Session) -> list[StaffLoad]:
    return await service.staff_loads(session)


@api.get(
    "/branches",
    response_model=list[BranchView],
    summary="Branches, for a transfer to the first free operator of one",
    description="Every branch with the number of its operators online now.",
)
async def branch_list(staff: CurrentStaff, session: Session) -> list[BranchView]:
    return await service.branches(session)


@api.post(
    "/conversations/{conversation_id}/transfer",
    response_model=ConversationSummary,
    responses=error_responses(403, 404, 409, 422),
    summary="Transfer a conversation to a branch's first free operator or to a named one",
    description=(
        "`branch_id`: the operator routing would choose in that branch now (online, within "
        "their hours and capacity, least loaded; not the current assignee); 409 "
        "`no_free_operator` when nobody there is free (nothing changes). `staff_id`: that "
        "operator or supervisor, whatever their status and load. Either way the new assignee "
        "has the usual time to open it, and the routing audit records who transferred it. "
        "Resolved and closed conversations are not transferred (409)."
    ),
)
async def transfer(
    request: Request,
    conversation_id: ConversationId,
    body: TransferRequest,
    staff: ChangingStaff,
    session: Session,
) -> ConversationSummary:
    await service.readable(session, staff, conversation_id)
    routing = routing_of(runtime_of(request))
    try:
        if body.branch_id is not None:
            outcome = await routing_service.transfer_to_branch(
                session, routing, conversation_id, body.branch_id, actor_id=staff.id, now=utcnow()
            )
        else:
            assert body.staff_id is not None
            outcome = await routing_service.transfer_to_operator(
                session, routing, conversation_id, body.staff_id, actor_id=staff.id, now=utcnow()
            )
    except RoutingError as error:
        raise service.routing_problem(error) from None
    if outcome.result == "no_operator":
        raise Conflict("no_free_operator", "Nobody in this branch is free to take it now.")
    await conversation_events.flush(session)
    return await service.summary(session, conversation_id)


@api.get(
    "/stream/",
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "The event stream"},
        **error_responses(400),
    },
    summary="Live events of the panel (Server-Sent Events)",
    description=(
        "`message.created`, `messages.seen`, `typing.changed` and `conversation.changed` of the "
        "conversations the staff member may see: an operator's own, every conversation for "
        "supervisors and administrators. Resumes after `Last-Event-ID` (or `last_event_id`); "
        "the stream ends now and then and the browser reconnects. `GET /events` serves the "
        "same events by polling."
    ),
)
async def stream(
    request: Request,
    staff: CurrentStaff,
    last_event_id: Annotated[
        str | None, Query(max_length=40, description="Resume after this event id")
    ] = None,
) -> Response:
    runtime = runtime_of(request)
    return await event_stream(
        request,
        runtime.bus,
        own_channel(staff),
        heartbeat_seconds=runtime.settings.sse_heartbeat_seconds,
        max_lifetime_seconds=runtime.settings.sse_max_lifetime_seconds,
    )


@api.get(
    "/events",
    response_model=EventsPage,
    summary="Live events of the panel by polling",
    description=(
        "The events `GET /stream/` would send, after event `after`, and the id to ask from "
        "next time; without `after`, none and the current position. 400 `invalid_event_id` "
        "for an id the server does not know (start again without `after`)."
    ),
)
async def events(
    request: Request,
    staff: CurrentStaff,
    after: Annotated[str | None, Query(max_length=40, description="The last event id seen")] = None,
) -> EventsPage:
    page = await poll_events(runtime_of(request).bus, own_channel(staff), after)
    return EventsPage.model_validate(page)


router = APIRouter()
router.include_router(api)
router.include_router(pages)
