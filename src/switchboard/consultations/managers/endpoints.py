"""`/api/managers/*`: managers' load, who can take a consultation now, queue place and wait."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request

from switchboard.consultations.managers import schemas, service
from switchboard.consultations.managers.service import (
    AvailableManager,
    LoadFigures,
    SelectionRules,
    WaitEstimate,
)
from switchboard.core.db.base import utcnow
from switchboard.core.errors import ApiError, error_responses, excerpt, request_locale
from switchboard.core.routing import FrontRoute
from switchboard.runtime import RuntimeDep, Session

router = APIRouter(prefix="/api/managers", tags=["managers"], route_class=FrontRoute)


class NotFound(ApiError):
    status_code = 404


ManagerKey = Annotated[
    uuid.UUID,
    Path(
        description="Ref_Key of the manager (a 1C user), a GUID",
        examples=[schemas.MANAGER_EXAMPLE],
    ),
]
ConsultationId = Annotated[
    str,
    Path(
        min_length=1,
        max_length=64,
        description="The consultation's `cons_id`",
        examples=["0b6f7c52-8d5e-4a35-9a51-0b3c8e6c7a10"],
    ),
]
GuidFilter = Annotated[uuid.UUID | None, Query(description="Ref_Key of the 1C element (a GUID)")]
LanguageFilter = Annotated[
    schemas.Language | None,
    Query(description="The consultation's language: the manager must speak it (ru or uz)"),
]


def _wait(wait: WaitEstimate, locale: str) -> schemas.WaitTimeRead:
    return schemas.WaitTimeRead(
        queue_position=wait.queue_position,
        average_duration_minutes=wait.average_minutes,
        estimated_wait_minutes_min=wait.estimated_wait_minutes_min,
        estimated_wait_minutes_max=wait.estimated_wait_minutes_max,
        estimated_wait_minutes=wait.estimated_wait_minutes,
        estimated_wait_hours=wait.estimated_wait_hours,
        show_range=wait.show_range,
        text=service.wait_text(wait, locale),
    )


def _load(figures: LoadFigures) -> schemas.ManagerLoadRead:
    row = figures.manager
    return schemas.ManagerLoadRead(
        manager_key=row.key,
        name=row.name,
        department=row.department,
        queue_count=row.queued,
        con_limit=row.con_limit,
        load_percent=figures.load_percent,
        available_slots=figures.available_slots,
        start_hour=row.start_hour,
        end_hour=row.end_hour,
        languages=[lang for lang, speaks in (("ru", row.ru), ("uz", row.uz)) if speaks],
        working_now=figures.working_now,
        queue_closed_today=row.closed_today,
        accepting=figures.accepting,
    )


def _available(manager: AvailableManager, locale: str) -> schemas.AvailableManagerRead:
    candidate = manager.candidate
    return schemas.AvailableManagerRead(
        manager_key=candidate.key,
        name=candidate.name,
        queue_count=candidate.queued,
        con_limit=candidate.con_limit,
        load_percent=manager.load_percent,
        available_slots=candidate.con_limit - candidate.queued,
        wait=_wait(manager.wait, locale),
    )


def _manager_not_found(key: uuid.UUID) -> NotFound:
    return NotFound("manager_not_found", "Manager {key} is not found.", key=str(key))


@router.get(
    "/load",
    response_model=list[schemas.ManagerLoadRead],
    summary="Load of every consultant",
    description=(
        "Every active consultant (a live 1C user with a positive consultation limit): the queue "
        "(open and pending consultations, not denied, 1C's included) against the limit, working "
        "hours in the 1C base's local time, whether they work now, whether their queue is closed "
        "today, and whether they take new consultations now. Least loaded first."
    ),
)
async def all_loads(session: Session, runtime: RuntimeDep) -> list[schemas.ManagerLoadRead]:
    rules = SelectionRules.from_settings(runtime.settings)
    figures = await service.managers_load(session, now=utcnow(), rules=rules)
    return [_load(f) for f in figures]


@router.get(
    "/available",
    response_model=list[schemas.AvailableManagerRead],
    summary="Managers who can take a consultation now",
    description=(
        "The managers the automatic choice would consider for a consultation booked now: "
        "active, working now (local hours of the 1C base, overnight shifts included), queue "
        "open today and below the limit, skilled in `category_key` (managers without skills "
        "are universal), speaking `language` (or else the category's language). Each with the "
        "wait a consultation booked with them now would have. Least loaded first. "
        "`po_type_key` and `po_section_key` are accepted for the booking form; they do not narrow "
        "the list, since 1C keeps managers' skills per question category."
    ),
)
async def available(
    *,
    request: Request,
    session: Session,
    runtime: RuntimeDep,
    po_section_key: GuidFilter = None,
    po_type_key: GuidFilter = None,
    category_key: GuidFilter = None,
    language: LanguageFilter = None,
) -> list[schemas.AvailableManagerRead]:
    managers = await service.available_managers(
        session,
        category_key=category_key,
        language=language,
        po_section_key=po_section_key,
        po_type_key=po_type_key,
        now=utcnow(),
        rules=SelectionRules.from_settings(runtime.settings),
    )
    locale = request_locale(request)
    return [_available(manager, locale) for manager in managers]


@router.get(
    "/{manager_key}/load",
    response_model=schemas.ManagerLoadRead,
    responses=error_responses(404),
    summary="Load of one manager",
    description=(
        "The queue of one manager against their limit, as in `/api/managers/load`; also for a "
        "manager who takes no consultations now (`accepting` says so). 404 for a key that is "
        "no manager."
    ),
)
async def one_load(
    manager_key: ManagerKey, session: Session, runtime: RuntimeDep
) -> schemas.ManagerLoadRead:
    rules = SelectionRules.from_settings(runtime.settings)
    figures = await service.manager_load(session, manager_key, now=utcnow(), rules=rules)
    if figures is None:
        raise _manager_not_found(manager_key)
    return _load(figures)


@router.get(
    "/{manager_key}/wait-time",
    response_model=schemas.ManagerWaitRead,
    responses=error_responses(404),
    summary="Expected wait with a manager",
    description=(
        "The wait of a consultation booked with this manager now: it would be last in the "
        "queue, so the consultations ahead are the whole queue. From the manager's average "
        "closing time over the last 30 days (15 minutes without data); under 15 minutes the "
        "wait is a range up to 15 minutes per consultation ahead («от 20 до 60 минут»)."
    ),
)
async def manager_wait(
    request: Request, manager_key: ManagerKey, session: Session, runtime: RuntimeDep
) -> schemas.ManagerWaitRead:
    rules = SelectionRules.from_settings(runtime.settings)
    found = await service.wait_for_new(session, manager_key, now=utcnow(), rules=rules)
    if found is None:
        raise _manager_not_found(manager_key)
    return schemas.ManagerWaitRead(
        manager_key=manager_key,
        queue_count=found.queue_length,
        wait=_wait(found.wait, request_locale(request)),
    )


@router.get(
    "/consultations/{cons_id}/queue-info",
    response_model=schemas.QueueInfoRead,
    responses=error_responses(404),
    summary="A consultation's place in the queue",
    description=(
        "Where the consultation stands in its manager's queue (ordered by creation time) and "
        "its expected wait: the consultations ahead of it times the manager's average closing "
        "time. A consultation that is not waiting (finished, cancelled, denied, or without a "
        "manager) has `in_queue` false and no position. 404 for an unknown `cons_id`."
    ),
)
async def queue_info(
    request: Request, cons_id: ConsultationId, session: Session
) -> schemas.QueueInfoRead:
    info = await service.queue_info(session, cons_id, utcnow())
    if info is None:
        raise NotFound(
            "consultation_not_found", "No consultation {cons_id}.", cons_id=excerpt(cons_id)
        )
    consultation = info.consultation
    return schemas.QueueInfoRead(
        cons_id=consultation.cons_id,
        manager_key=consultation.manager,
        manager_name=consultation.manager_name,
        status=consultation.status,
        in_queue=info.queue_position is not None,
        queue_count=consultation.queue_length,
        queue_position=info.queue_position,
        wait=_wait(info.wait, request_locale(request)) if info.wait is not None else None,
    )
