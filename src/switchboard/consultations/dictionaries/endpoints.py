"""`/api/dicts/*`: the reference catalogs for the booking form, served from a 30-minute cache."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession
from sse_starlette import EventSourceResponse
from starlette.responses import Response

from switchboard.consultations.dictionaries import schemas, service
from switchboard.consultations.dictionaries.cache import DictionaryCache
from switchboard.core.cache import cached_response
from switchboard.core.realtime.sse import event_stream, poll_events
from switchboard.core.routing import FrontRoute
from switchboard.runtime import runtime_of

router = APIRouter(prefix="/api/dicts", tags=["dictionaries"], route_class=FrontRoute)
# Annotated aliases, not shared `Query(...)` instances: FastAPI fills a Query's alias with the
# first parameter name it meets, so a shared instance would read the wrong query parameter.
GuidFilter = Annotated[uuid.UUID | None, Query(description="Ref_Key of the 1C element (a GUID)")]
LanguageFilter = Annotated[schemas.Language | None, Query(description="ru or uz")]


async def _serve(
    request: Request, key: str, load: Callable[[AsyncSession], Awaitable[bytes]]
) -> Response:
    """The cached answer under `key`, read from the database on a miss.

    The transaction is opened here, on a miss only, rather than by a session dependency: a cache
    hit then costs no session at all.
    """
    runtime = runtime_of(request)

    async def read() -> bytes:
        async with runtime.database.transaction() as session:
            return await load(session)

    rendered = await runtime.extension(DictionaryCache).get_or_load(key, read)
    return cached_response(rendered, request.headers.get("if-none-match"))


def _listing(model: type[object]) -> dict[int | str, dict[str, object]]:
    return {200: {"model": list[model]}}  # type: ignore[valid-type]


@router.get("/po-types", responses=_listing(schemas.POTypeReadSimple), summary="Kinds of software")
async def po_types(request: Request) -> Response:
    return await _serve(request, "po-types", service.po_types)


@router.get(
    "/po-sections",
    responses=_listing(schemas.POSectionRead),
    summary="Sections of a kind of software",
)
async def po_sections(request: Request, owner_key: GuidFilter = None) -> Response:
    return await _serve(
        request,
        f"po-sections:{owner_key}",
        lambda session: service.po_sections(session, owner_key),
    )


@router.get(
    "/online-question/categories",
    responses=_listing(schemas.OnlineQuestionCategoryRead),
    summary="Question categories",
)
async def question_categories(request: Request, language: LanguageFilter = None) -> Response:
    return await _serve(
        request,
        f"categories:{language}",
        lambda session: service.question_categories(session, language),
    )


@router.get(
    "/online-questions",
    responses=_listing(schemas.OnlineQuestionRead),
    summary="Questions a client can pick",
)
async def questions(
    request: Request,
    language: LanguageFilter = None,
    category_key: GuidFilter = None,
) -> Response:
    return await _serve(
        request,
        f"questions:{language}:{category_key}",
        lambda session: service.questions(session, language, category_key),
    )


@router.get(
    "/knowledge-base",
    responses=_listing(schemas.KnowledgeBaseEntry),
    summary="Knowledge base",
)
async def knowledge_base(
    request: Request,
    po_type_key: GuidFilter = None,
    po_section_key: GuidFilter = None,
) -> Response:
    return await _serve(
        request,
        f"knowledge-base:{po_type_key}:{po_section_key}",
        lambda session: service.knowledge_base(session, po_type_key, po_section_key),
    )


@router.get(
    "/interference",
    responses=_listing(schemas.ConsultationInterferenceRead),
    summary="What can get in the way of a consultation",
)
async def interference(request: Request) -> Response:
    return await _serve(request, "interference", service.interference)


@router.get(
    "/events",
    response_class=EventSourceResponse,
    summary="Server-Sent Events: `dictionaries.changed` whenever a load changes a catalog",
)
async def events(
    request: Request,
    last_event_id: Annotated[
        str | None, Query(description="resume after this event (or send Last-Event-ID)")
    ] = None,
) -> Response:
    runtime = runtime_of(request)
    return await event_stream(
        request,
        runtime.bus,
        service.CHANNEL,
        heartbeat_seconds=runtime.settings.sse_heartbeat_seconds,
        max_lifetime_seconds=runtime.settings.sse_max_lifetime_seconds,
    )


@router.get(
    "/events/poll",
    summary="Poll fallback for /events: the events after `after` (an event id)",
)
async def poll(
    request: Request,
    after: Annotated[str | None, Query(description="id of the last event received")] = None,
) -> dict[str, object]:
    return await poll_events(runtime_of(request).bus, service.CHANNEL, after)
