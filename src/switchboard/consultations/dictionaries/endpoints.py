"""`/api/dicts/*`: the reference catalogs for the booking form, served from a 30-minute cache."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request
from sse_starlette import EventSourceResponse
from starlette.responses import Response

from switchboard.consultations.dictionaries import schemas, service
from switchboard.core.auth import require_front_auth
from switchboard.core.cache import cached_response
from switchboard.core.params import only_filters
from switchboard.core.realtime.sse import event_stream, poll_events
from switchboard.runtime import Runtime, runtime_dependency

router = APIRouter(
    prefix="/api/dicts", tags=["dictionaries"], dependencies=[Depends(require_front_auth)]
)

# An Annotated alias, not a shared `Query(...)` instance: FastAPI fills a Query's alias with the
# first parameter name it meets, so a shared instance would read the wrong query parameter.
GuidFilter = Annotated[uuid.UUID | None, Query(description="Ref_Key of the 1C element (a GUID)")]
LanguageFilter = Annotated[schemas.Language | None, Query(description="ru or uz")]


async def _serve(
    runtime: Runtime, key: str, load: Callable[[], Awaitable[bytes]], if_none_match: str | None
) -> Response:
    rendered = await runtime.dictionary_cache.get_or_load(key, load)
    return cached_response(rendered, if_none_match)


def _listing(model: type[object]) -> dict[int | str, dict[str, object]]:
    return {200: {"model": list[model]}}  # type: ignore[valid-type]


@router.get(
    "/po-types",
    responses=_listing(schemas.POTypeReadSimple),
    dependencies=[Depends(only_filters())],
    summary="Kinds of software",
)
async def po_types(
    runtime: Runtime = Depends(runtime_dependency),
    if_none_match: str | None = Header(None),
) -> Response:
    return await _serve(
        runtime, "po-types", lambda: service.po_types(runtime.database), if_none_match
    )


@router.get(
    "/po-sections",
    responses=_listing(schemas.POSectionRead),
    dependencies=[Depends(only_filters("owner_key"))],
    summary="Sections of a kind of software",
)
async def po_sections(
    owner_key: GuidFilter = None,
    runtime: Runtime = Depends(runtime_dependency),
    if_none_match: str | None = Header(None),
) -> Response:
    return await _serve(
        runtime,
        f"po-sections:{owner_key}",
        lambda: service.po_sections(runtime.database, owner_key),
        if_none_match,
    )


@router.get(
    "/online-question/categories",
    responses=_listing(schemas.OnlineQuestionCategoryRead),
    dependencies=[Depends(only_filters("language"))],
    summary="Question categories",
)
async def question_categories(
    language: LanguageFilter = None,
    runtime: Runtime = Depends(runtime_dependency),
    if_none_match: str | None = Header(None),
) -> Response:
    return await _serve(
        runtime,
        f"categories:{language}",
        lambda: service.question_categories(runtime.database, language),
        if_none_match,
    )


@router.get(
    "/online-questions",
    responses=_listing(schemas.OnlineQuestionRead),
    dependencies=[Depends(only_filters("language", "category_key"))],
    summary="Questions a client can pick",
)
async def questions(
    language: LanguageFilter = None,
    category_key: GuidFilter = None,
    runtime: Runtime = Depends(runtime_dependency),
    if_none_match: str | None = Header(None),
) -> Response:
    return await _serve(
        runtime,
        f"questions:{language}:{category_key}",
        lambda: service.questions(runtime.database, language, category_key),
        if_none_match,
    )


@router.get(
    "/knowledge-base",
    responses=_listing(schemas.KnowledgeBaseEntry),
    dependencies=[Depends(only_filters("po_type_key", "po_section_key"))],
    summary="Knowledge base",
)
async def knowledge_base(
    po_type_key: GuidFilter = None,
    po_section_key: GuidFilter = None,
    runtime: Runtime = Depends(runtime_dependency),
    if_none_match: str | None = Header(None),
) -> Response:
    return await _serve(
        runtime,
        f"knowledge-base:{po_type_key}:{po_section_key}",
        lambda: service.knowledge_base(runtime.database, po_type_key, po_section_key),
        if_none_match,
    )


@router.get(
    "/interference",
    responses=_listing(schemas.ConsultationInterferenceRead),
    dependencies=[Depends(only_filters())],
    summary="What can get in the way of a consultation",
)
async def interference(
    runtime: Runtime = Depends(runtime_dependency),
    if_none_match: str | None = Header(None),
) -> Response:
    return await _serve(
        runtime, "interference", lambda: service.interference(runtime.database), if_none_match
    )


@router.get(
    "/events",
    response_class=EventSourceResponse,
    dependencies=[Depends(only_filters("last_event_id"))],
    summary="Server-Sent Events: `dictionaries.changed` whenever a load changes a catalog",
)
async def events(request: Request, runtime: Runtime = Depends(runtime_dependency)) -> Response:
    return event_stream(
        request,
        runtime.bus,
        service.CHANNEL,
        heartbeat_seconds=runtime.settings.sse_heartbeat_seconds,
        max_lifetime_seconds=runtime.settings.sse_max_lifetime_seconds,
    )


@router.get(
    "/events/poll",
    dependencies=[Depends(only_filters("after"))],
    summary="Poll fallback for /events: the events after `after` (an event id)",
)
async def poll(
    after: str | None = Query(None, description="id of the last event received"),
    runtime: Runtime = Depends(runtime_dependency),
) -> dict[str, object]:
    return await poll_events(runtime.bus, service.CHANNEL, after)
