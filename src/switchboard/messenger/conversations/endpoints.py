"""The chat widget's JSON API, under `/api/widget`: a visitor's session (`bootstrap`), their
messages and the history of their conversation, typing, delivery and read marks, the rating,
the "leave a request" form, and the visitor's live events (an SSE stream, or polling). A visitor
proves who they are only with the token `bootstrap` gave them (the `X-Visitor-Token` header);
the stream and the poll, which a browser's EventSource cannot give headers, take the signed
read-only `stream_key` instead. An inbox limited to some sites refuses pages of others
(`Origin`)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, Response
from sse_starlette import EventSourceResponse

from switchboard.core.crypto import SecretBox
from switchboard.core.db.base import utcnow
from switchboard.core.errors import Forbidden, Unauthorized, error_responses
from switchboard.core.ratelimit import RateLimiter
from switchboard.core.realtime.sse import event_stream, poll_events
from switchboard.core.routing import StrictQueryRoute
from switchboard.messenger.attachments.service import Attachments
from switchboard.messenger.conversations import events, repository, service
from switchboard.messenger.conversations.schemas import (
    BootstrapAnswer,
    BootstrapRequest,
    ContactView,
    ConversationView,
    EventsAnswer,
    MessageRequest,
    MessagesAnswer,
    OfflineAnswer,
    OfflineRequest,
    PublicKey,
    RatingRequest,
    RatingView,
    SeenRequest,
    TypingRequest,
)
from switchboard.messenger.conversations.views import (
    AttachmentLinks,
    conversation_view,
    message_view,
)
from switchboard.messenger.routing.tasks import routing_of
from switchboard.messenger.settings import MessengerSettings
from switchboard.runtime import Runtime, Session, runtime_of

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


StreamKey = Annotated[
    str,
    Query(
        min_length=1,
        max_length=200,
        pattern=r"^[0-9a-fA-F.]+$",
        description="The `stream_key` bootstrap answered",
    ),
]
InboxKey = Annotated[PublicKey, Query(description="The widget's public key")]


def stream_signing_key(runtime: Runtime) -> bytes:
    """The key of visitors' stream keys, derived from SECRET_KEYS for this purpose alone."""
    secret = runtime.settings.secret_keys.get_secret_value()
    return SecretBox(secret).signing_key(service.STREAM_KEY_PURPOSE)


def links(runtime: Runtime) -> AttachmentLinks:
    """The process's attachment store, which signs the links in message views."""
    return runtime.extension(Attachments)


def messenger_settings(runtime: Runtime) -> MessengerSettings:
    return MessengerSettings.of(runtime.settings)


@router.post(
    "/bootstrap",
    response_model=BootstrapAnswer,
    responses=error_responses(401, 422),
    summary="Start or resume a visitor's session",
    description=(
        "Without `visitor_token`: a new visitor, whose token is answered only now (only its "
        "digest is kept). With it: that visitor (401 for a token we never issued; a new "
        "session means starting without one). Answers the visitor's latest conversation in "
        "this inbox, whether it is out of working hours now, the offline text, the widget's "
        "features and rating scale, and `stream_key`: a read-only key for the event stream "
        "and the poll (bound to this visitor and inbox, valid for a day; not the token). An "
        "inbox limited to some sites (`allowed_domains`) answers 403 to other pages (the "
        "`Origin` header)."
    ),
)
async def bootstrap(
    request: Request, body: BootstrapRequest, session: Session, origin: Origin = None
) -> BootstrapAnswer:
    runtime = runtime_of(request)
    found = await service.widget(session, body.inbox, origin)
    now = utcnow()
    result = await service.bootstrap(
        session,
        found,
        token=body.visitor_token,
        name=body.name,
        email=body.email,
        region=body.region,
        now=now,
    )
    offline = found.settings.offline
    hours = messenger_settings(runtime).messenger_stream_key_hours
    return BootstrapAnswer(
        visitor_token=result.token,
        stream_key=service.stream_key(
            stream_signing_key(runtime),
            result.contact.id,
            found.inbox.id,
            now=now,
            lifetime=timedelta(hours=hours),
        ),
        contact=ContactView(id=result.contact.id, name=result.contact.name),
        conversation=conversation_view(result.conversation),
        offline=result.offline,
        offline_message=offline.message if offline.enabled else None,
        features=found.settings.features,
        rating=RatingView(enabled=found.settings.rating.enabled, scale=found.settings.rating.scale),
    )


@router.post(
    "/messages",
    response_model=MessagesAnswer,
    responses=error_responses(401, 422),
    summary="Send the visitor's message",
    description=(
        "Stores the text as typed (stripped) with the files the visitor uploaded for it "
        "(`attachments`: ids from `POST /attachments`; 422 for files of others or sent "
        "already). The first message, or the first after the last conversation was resolved "
        "or closed, opens a conversation and routes it to an operator; out of working hours "
        "it waits and the inbox's offline text is added once as an automatic message (also "
        "answered). Sending the same `client_id` again answers the stored message and stores "
        "nothing. The operator and the visitor's other tabs get `message.created` live."
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
    found, contact = await service.widget_visitor(session, body.inbox, origin, token, lock=True)
    sent = await service.send(
        session,
        routing_of(runtime),
        runtime.bus,
        found,
        contact,
        text=body.text,
        client_id=body.client_id,
        attachment_ids=body.attachments,
        now=utcnow(),
        ip=client_ip(request),
        links=links(runtime),
    )
    return MessagesAnswer(
        conversation=conversation_view(sent.conversation),
        messages=[message_view(message, links(runtime)) for message in sent.messages],
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
    request: Request,
    session: Session,
    *,
    inbox: InboxKey,
    after: Annotated[int, Query(ge=0, le=2**63 - 1, description="A message id")] = 0,
    token: VisitorToken = None,
    origin: Origin = None,
) -> MessagesAnswer:
    found, contact = await service.widget_visitor(session, inbox, origin, token)
    current, rows = await service.history(session, found, contact, after)
    signer, now = links(runtime_of(request)), utcnow()
    return MessagesAnswer(
        conversation=conversation_view(current),
        messages=[message_view(row, signer, now=now) for row in rows],
    )


async def _stream_channel(
    request: Request, session: Session, inbox: str, key: str, origin: str | None
) -> tuple[service.Widget, str]:
    runtime = runtime_of(request)
    found = await service.widget(session, inbox, origin)
    contact_id = service.stream_contact(
        stream_signing_key(runtime), key, found.inbox.id, now=utcnow()
    )
    if await repository.contact_by_id(session, contact_id) is None:
        raise Unauthorized("visitor_unknown", "Unknown visitor; start again without a token.")
    return found, events.visitor_channel(contact_id)


@router.get(
    "/stream/",
    response_class=EventSourceResponse,
    responses=error_responses(400, 401, 403, 404, 422),
    summary="The visitor's live events (Server-Sent Events)",
    description=(
        "`message.created`, `messages.seen`, `typing` (the operator's) and "
        "`conversation.changed` (status, rating) of every conversation of the visitor, as "
        "Server-Sent Events. Opened with `key` (bootstrap's `stream_key`; 401 when it is "
        "forged, of another inbox, or expired). Resumes exactly after `Last-Event-ID` (or "
        "`last_event_id`); the stream ends after a while and the browser reconnects on its "
        "own. 403 when the inbox has switched SSE off (`features.sse`): poll `/events` then."
    ),
)
async def stream(
    request: Request,
    session: Session,
    *,
    inbox: InboxKey,
    key: StreamKey,
    last_event_id: Annotated[
        str | None,
        Query(max_length=40, description="Resume after this event (or send Last-Event-ID)"),
    ] = None,
    origin: Origin = None,
) -> Response:
    runtime = runtime_of(request)
    found, channel = await _stream_channel(request, session, inbox, key, origin)
    if not found.settings.features.sse:
        raise Forbidden(
            "sse_disabled", "Live events are switched off for this chat; poll for them instead."
        )
    settings = messenger_settings(runtime)
    return await event_stream(
        request,
        runtime.bus,
        channel,
        heartbeat_seconds=settings.messenger_sse_heartbeat_seconds,
        max_lifetime_seconds=settings.messenger_sse_lifetime_seconds,
    )


@router.get(
    "/events",
    response_model=EventsAnswer,
    responses=error_responses(400, 401, 403, 404, 422),
    summary="The visitor's events after one of them (the poll fallback of the stream)",
    description=(
        "The events of `/stream/` after event `after` (at most 500), and the id to ask from "
        "next time; without `after`, none and the current position. For browsers or networks "
        "where the stream does not work, or inboxes that switched it off."
    ),
)
async def poll(
    request: Request,
    session: Session,
    *,
    inbox: InboxKey,
    key: StreamKey,
    after: Annotated[
        str | None, Query(max_length=40, description="The id of the last event received")
    ] = None,
    origin: Origin = None,
) -> dict[str, Any]:
    _, channel = await _stream_channel(request, session, inbox, key, origin)
    return await poll_events(runtime_of(request).bus, channel, after)


@router.post(
    "/typing",
    status_code=204,
    response_class=Response,
    responses=error_responses(401, 422),
    summary="The visitor is typing (or stopped)",
    description=(
        "Tells the operator of the visitor's active conversation (and supervisors) live; "
        "nothing is stored. Without an active conversation, or with typing switched off for "
        "the inbox, nothing happens."
    ),
)
async def visitor_typing(
    request: Request,
    body: TypingRequest,
    session: Session,
    token: VisitorToken = None,
    origin: Origin = None,
) -> Response:
    found, contact = await service.widget_visitor(session, body.inbox, origin, token)
    current = await repository.latest_conversation(session, contact.id, found.inbox.id)
    if found.settings.features.typing and current is not None and current.status in service.ACTIVE:
        await service.typing(
            runtime_of(request).bus,
            current,
            author_kind="contact",
            name=contact.name,
            typing=body.typing,
        )
    return Response(status_code=204)


@router.post(
    "/seen",
    status_code=204,
    response_class=Response,
    responses=error_responses(401, 404, 422),
    summary="The widget received or showed the operator's messages",
    description=(
        "Marks the operator's messages of a conversation of the visitor delivered up to "
        "`delivered_up_to` (one tick) and read up to `read_up_to` (two ticks; read implies "
        "delivered); the operator sees the ticks live (`messages.seen`). 404 for a "
        "conversation that is not the visitor's."
    ),
)
async def seen(
    request: Request,
    body: SeenRequest,
    session: Session,
    token: VisitorToken = None,
    origin: Origin = None,
) -> Response:
    found, contact = await service.widget_visitor(session, body.inbox, origin, token)
    await service.visitor_conversation(session, found, contact, body.conversation_id)
    await service.mark_seen(
        session,
        runtime_of(request).bus,
        body.conversation_id,
        reader="contact",
        delivered_up_to=body.delivered_up_to,
        read_up_to=body.read_up_to,
        now=utcnow(),
    )
    return Response(status_code=204)


@router.post(
    "/rating",
    response_model=ConversationView,
    responses=error_responses(401, 403, 404, 409, 422),
    summary="The visitor rates a finished conversation",
    description=(
        "Once per conversation (409 after), only when it is resolved or closed (409 before), "
        "on the inbox's scale: stars 1–5 or a net promoter score 0–10 (422 outside it); 403 "
        "when the inbox does not ask for ratings. An optional comment is kept with it."
    ),
)
async def rating(
    request: Request,
    body: RatingRequest,
    session: Session,
    token: VisitorToken = None,
    origin: Origin = None,
) -> ConversationView:
    found, contact = await service.widget_visitor(session, body.inbox, origin, token)
    rated = await service.rate(
        session,
        runtime_of(request).bus,
        found,
        contact,
        body.conversation_id,
        score=body.score,
        comment=body.comment,
        now=utcnow(),
    )
    view = conversation_view(rated)
    assert view is not None
    return view


@router.post(
    "/offline-request",
    response_model=OfflineAnswer,
    responses=error_responses(401, 422),
    summary="Leave a request out of working hours",
    description=(
        "The visitor's name, a phone number or an e-mail address (at least one) and their "
        "question. The contact keeps the name and the ways to reach them; the question is a "
        "message of the visitor's active conversation, or of a new one that waits (`pending`) "
        "and is routed to an operator when working hours begin."
    ),
)
async def offline_request(
    request: Request,
    body: OfflineRequest,
    session: Session,
    token: VisitorToken = None,
    origin: Origin = None,
) -> OfflineAnswer:
    runtime = runtime_of(request)
    found, contact = await service.widget_visitor(session, body.inbox, origin, token, lock=True)
    sent = await service.offline_request(
        session,
        routing_of(runtime),
        runtime.bus,
        found,
        contact,
        name=body.name,
        phone=body.phone,
        email=body.email,
        text=body.text,
        now=utcnow(),
        ip=client_ip(request),
        links=links(runtime),
    )
    view = conversation_view(sent.conversation)
    assert view is not None
    return OfflineAnswer(
        conversation=view,
        messages=[message_view(message, links(runtime)) for message in sent.messages],
    )
