"""The staff's login to the messenger, under `/api/messenger/auth`, and the dependencies every
messenger endpoint for staff uses: `current_staff` (a live session), `changing_staff` (and its
CSRF token) and `require_role(...)`.

The session is an HttpOnly, SameSite=Lax cookie; changes also need the `X-CSRF-Token` header
with the token the login answered (a page of another site can send the cookie, not the token).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, Cookie, Depends, Header, Request, Response

from switchboard.core.errors import Forbidden, error_responses
from switchboard.core.jobs import defer_unless_queued
from switchboard.core.routing import StrictQueryRoute
from switchboard.messenger.accounts import service
from switchboard.messenger.accounts.repository import SessionRecord, StaffRecord
from switchboard.messenger.accounts.schemas import (
    LoginAnswer,
    LoginRequest,
    StaffView,
    StatusChange,
)
from switchboard.messenger.routing.tasks import route_waiting
from switchboard.messenger.settings import MessengerSettings
from switchboard.runtime import Runtime, Session, runtime_of

PREFIX = "/api/messenger/auth"
SESSION_COOKIE = "sb_messenger_session"
CSRF_HEADER = "X-CSRF-Token"

router = APIRouter(
    prefix=PREFIX,
    tags=["messenger: staff login"],
    route_class=StrictQueryRoute,
    responses=error_responses(400, 401),
)


async def staff_session(
    session: Session,
    token: Annotated[
        str | None,
        Cookie(alias=SESSION_COOKIE, max_length=200, description="The login's session"),
    ] = None,
) -> SessionRecord:
    return await service.signed_in(session, token)


async def changing_session(
    record: Annotated[SessionRecord, Depends(staff_session)],
    csrf_token: Annotated[
        str | None,
        Header(alias=CSRF_HEADER, max_length=200, description="The login's CSRF token"),
    ] = None,
) -> SessionRecord:
    if not service.csrf_matches(record, csrf_token):
        raise Forbidden("csrf", "The page is out of date; reload it and sign in again.")
    return record


async def current_staff(record: Annotated[SessionRecord, Depends(staff_session)]) -> StaffRecord:
    """The signed-in staff member (401 without a live session)."""
    return record.staff


async def changing_staff(
    record: Annotated[SessionRecord, Depends(changing_session)],
) -> StaffRecord:
    """The signed-in staff member of a change: the session and its CSRF token (403 without)."""
    return record.staff


CurrentStaff = Annotated[StaffRecord, Depends(current_staff)]
ChangingStaff = Annotated[StaffRecord, Depends(changing_staff)]


def require_role(*roles: str, change: bool = False) -> Callable[..., Awaitable[StaffRecord]]:
    """A dependency: the signed-in staff member if their role is one of `roles` (else 403);
    `change=True` also requires the CSRF token. Use as `Depends(require_role("admin"))`."""
    allowed = frozenset(roles)

    def check(staff: StaffRecord) -> StaffRecord:
        if staff.role not in allowed:
            raise Forbidden("role", "Your role does not allow this.")
        return staff

    if change:

        async def changing(staff: ChangingStaff) -> StaffRecord:
            return check(staff)

        return changing

    async def reading(staff: CurrentStaff) -> StaffRecord:
        return check(staff)

    return reading


def staff_view(staff: StaffRecord) -> StaffView:
    return StaffView.model_validate(
        {
            "id": staff.id,
            "login": staff.login,
            "name": staff.name,
            "role": staff.role,
            "branch": staff.branch_code,
            "capacity": staff.capacity,
            "status": staff.status,
            "last_seen_at": staff.last_seen_at,
        }
    )


@router.post(
    "/login",
    response_model=LoginAnswer,
    summary="Sign in: a session cookie and the CSRF token",
    description=(
        "Checks the login and password. Sets the session cookie (`sb_messenger_session`, "
        "HttpOnly, SameSite=Lax, for `MESSENGER_SESSION_HOURS`) and answers the staff member "
        "and the CSRF token for the `X-CSRF-Token` header of later changes. Any wrong login "
        "or password, or a disabled account, is the same 401."
    ),
)
async def login(
    request: Request, response: Response, body: LoginRequest, session: Session
) -> LoginAnswer:
    runtime = runtime_of(request)
    hours = MessengerSettings.of(runtime.settings).messenger_session_hours
    logged_in = await service.log_in(
        session,
        runtime.extension(service.Passwords),
        login=body.login,
        password=body.password,
        session_hours=hours,
    )
    if logged_in.came_online:
        await offer_waiting_chats(runtime)
    response.set_cookie(
        SESSION_COOKIE,
        logged_in.token,
        max_age=hours * 3600,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )
    return LoginAnswer(staff=staff_view(logged_in.staff), csrf_token=logged_in.csrf_token)


@router.post(
    "/logout",
    status_code=204,
    responses=error_responses(403),
    summary="Sign out: the session ends everywhere it was used",
)
async def logout(
    record: Annotated[SessionRecord, Depends(changing_session)], session: Session
) -> Response:
    await service.log_out(session, record)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/me", response_model=StaffView, summary="The signed-in staff member")
async def me(staff: CurrentStaff) -> StaffView:
    return staff_view(staff)


@router.put(
    "/me/status",
    response_model=StaffView,
    responses=error_responses(403),
    summary="Set one's own status: online, away or busy",
    description=(
        "Routing gives new conversations only to operators who are online; going online "
        "offers the chats that waited for someone at once."
    ),
)
async def set_status(
    request: Request, body: StatusChange, staff: ChangingStaff, session: Session
) -> StaffView:
    changed = await service.set_own_status(session, staff.id, body.status)
    if body.status == "online":
        await offer_waiting_chats(runtime_of(request))
    return staff_view(changed)


async def offer_waiting_chats(runtime: Runtime) -> None:
    """Chats that waited while nobody was at work are offered at once, not at the next minute's
    run (a second from now: after the change that brought someone online has committed)."""
    await defer_unless_queued(runtime.jobs, route_waiting, schedule_in={"seconds": 1})


@router.post(
    "/me/heartbeat",
    response_model=StaffView,
    responses=error_responses(403),
    summary="Report that one's panel is open",
    description=(
        "The operator panel calls this every 30 seconds. Staff at work (online, away, busy) "
        "not heard from for two minutes are set offline, so routing gives nothing to someone "
        "who closed the browser."
    ),
)
async def heartbeat(staff: ChangingStaff, session: Session) -> StaffView:
    return staff_view(await service.heartbeat(session, staff.id))
