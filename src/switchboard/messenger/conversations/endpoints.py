"""The chat widget's JSON API, under `/api/widget`: a visitor's session (`bootstrap`), their
messages and the history of their conversation. A visitor proves who they are only with the
token `bootstrap` gave them (the `X-Visitor-Token` header); an inbox limited to some sites
refuses pages of others (`Origin`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request

from switchboard.core.db.base import utcnow
from switchboard.core.errors import error_responses
from switchboard.core.ratelimit import RateLimiter
from switchboard.core.routing import StrictQueryRoute
from switchboard.messenger.conversations import service
from switchboard.messenger.conversations.repository import ConversationRow, MessageRow
from switchboard.messenger.conversations.schemas import (
    BootstrapAnswer,
    BootstrapRequest,
    ContactView,
    ConversationView,
    MessageRequest,
    MessagesAnswer,
    MessageView,
    PublicKey,
)
from switchboard.messenger.routing.tasks import routing_of
from switchboard.runtime import Session, runtime_of

PREFIX = "/api/widget"
VISITOR_HEADER = "X-Visitor-Token"

router = APIRouter(
    prefix=PREFIX,
    tags=["messenger: widget"],
    route_class=StrictQueryRoute,
    responses=error_responses(400, 403, 404),
)

VisitorToken = Annotated[
    str | None,
    Header(alias=VISITOR_HEADER, max_length=200, description="The token `bootstrap` answered"),
]
Origin = Annotated[str | None, Header(include_in_schema=False)]


def client_ip(request: Request) -> str | None:
    """The visitor's address as the platform trusts it (`X-Forwarded-For` only from
    `TRUSTED_PROXIES`), for their region."""
    limiter: RateLimiter = request.app.state.rate_limiter
    peer = request.client.host if request.client else None
    key = limiter.client_key(peer, request.headers.get("x-forwarded-for"))
    return None if key == "unknown" else key


def conversation_view(row: ConversationRow | None) -> ConversationView | None:
    if row is None:
        return None
    return ConversationView.model_validate({"id": row.id, "status": row.status})


def message_view(row: MessageRow) -> MessageView:
    return MessageView.model_validate(
        {
            "id": row.id,
            "conversation_id": row.conversation_id,
            "direction": row.direction,
            "author_kind": row.author_kind,
            "text": row.body,
            "client_id": row.client_id,
            "created_at": row.created_at,
            "delivered_at": row.delivered_at,
        }
    )


@router.post(
    "/bootstrap",
    response_model=BootstrapAnswer,
    responses=error_responses(401, 422),
    summary="Start or resume a visitor's session",
    description=(
        "Without `visitor_token`: a new visitor, whose token is answered only now (only its "
        "digest is kept). With it: that visitor (401 for a token we never issued; a new "
        "session means starting without one). Answers the visitor's latest conversation in "
        "this inbox, whether it is out of working hours now, the offline text and the "
        "widget's features. An inbox limited to some sites (`allowed_domains`) answers 403 "
        "to other pages (the `Origin` header)."
    ),
)
async def bootstrap(
    request: Request, body: BootstrapRequest, session: Session, origin: Origin = None
) -> BootstrapAnswer:
    found = await service.widget(session, body.inbox, origin)
    result = await service.bootstrap(
        session,
        found,
        token=body.visitor_token,
        name=body.name,
        email=body.email,
        region=body.region,
        now=utcnow(),
    )
    offline = found.settings.offline
    return BootstrapAnswer(
        visitor_token=result.token,
        contact=ContactView(id=result.contact.id, name=result.contact.name),
        conversation=conversation_view(result.conversation),
        offline=result.offline,
        offline_message=offline.message if offline.enabled else None,
        features=found.settings.features,
    )


@router.post(
    "/messages",
    response_model=MessagesAnswer,
    responses=error_responses(401, 422),
    summary="Send the visitor's message",
    description=(
        "Stores the text as typed (stripped). The first message, or the first after the "
        "last conversation was resolved or closed, opens a conversation and routes it to an "
        "operator; out of working hours it waits and the inbox's offline text is added once "
        "as an automatic message (also answered). Sending the same `client_id` again answers "
        "the stored message and stores nothing."
    ),
)
async def send_message(
    request: Request,
    body: MessageRequest,
    session: Session,
    token: VisitorToken = None,
    origin: Origin = None,
) -> MessagesAnswer:
    runtime = runtime_of(request)
    found = await service.widget(session, body.inbox, origin)
    contact = await service.visitor(session, token, lock=True)
    sent = await service.send(
        session,
        routing_of(runtime),
        runtime.bus,
        found,
        contact,
        text=body.text,
        client_id=body.client_id,
        now=utcnow(),
        ip=client_ip(request),
    )
    return MessagesAnswer(
        conversation=conversation_view(sent.conversation),
        messages=[message_view(message) for message in sent.messages],
    )


@router.get(
    "/messages",
    response_model=MessagesAnswer,
    responses=error_responses(401, 422),
    summary="The messages of the visitor's conversation after one of them",
    description=(
        "The visitor's latest conversation in this inbox and its messages after message "
        "`after` (0: from the start), oldest first, at most 100: the history, and the poll "
        "when the event stream is unavailable."
    ),
)
async def messages(
    session: Session,
    inbox: Annotated[PublicKey, Query(description="The widget's public key")],
    after: Annotated[int, Query(ge=0, le=2**63 - 1, description="A message id")] = 0,
    token: VisitorToken = None,
    origin: Origin = None,
) -> MessagesAnswer:
    found = await service.widget(session, inbox, origin)
    contact = await service.visitor(session, token)
    current, rows = await service.history(session, found, contact, after)
    return MessagesAnswer(
        conversation=conversation_view(current),
        messages=[message_view(row) for row in rows],
    )
