"""The messenger's admin: the JSON API under `/api/messenger/admin` and the Russian pages under
`/messenger/admin/` (inboxes with their embed code, branches and the default branch, regions and
region → branch rules, staff accounts).

Administrators change everything (the session cookie and the `X-CSRF-Token` header of their
login); supervisors may read. A password is written here, never read back, nor its hash.
"""

from __future__ import annotations

from collections.abc import Awaitable
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Cookie, Depends, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates

from switchboard.core.errors import NotFound, Unauthorized, error_responses
from switchboard.core.routing import StrictQueryRoute
from switchboard.messenger.accounts import service as accounts
from switchboard.messenger.accounts.endpoints import (
    SESSION_COOKIE,
    changing_session,
    require_role,
)
from switchboard.messenger.accounts.repository import SessionRecord, StaffRecord
from switchboard.messenger.admin import repository, service
from switchboard.messenger.admin.repository import (
    BranchRow,
    InboxRow,
    RegionRow,
    RuleRow,
    StaffRow,
)
from switchboard.messenger.admin.schemas import (
    BranchChange,
    BranchRef,
    BranchView,
    InboxChange,
    InboxRef,
    InboxView,
    PasswordChange,
    PreferencesChange,
    PreferencesView,
    RegionChange,
    RegionRef,
    RegionView,
    RuleChange,
    RuleView,
    StaffAdminView,
    StaffChange,
    StaffCreate,
)
from switchboard.messenger.schemas import Schedule
from switchboard.messenger.settings import MessengerSettings
from switchboard.runtime import Session, runtime_of

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
PREFIX = "/api/messenger/admin"
PAGES = "/messenger/admin"
#: Who may read the settings, and who may change them.
READERS = ("admin", "supervisor")

api = APIRouter(
    prefix=PREFIX,
    tags=["messenger: admin"],
    route_class=StrictQueryRoute,
    responses=error_responses(401, 403),
)
pages = APIRouter(prefix=PAGES, include_in_schema=False)

Reader = Annotated[StaffRecord, Depends(require_role(*READERS))]
Admin = Annotated[StaffRecord, Depends(require_role("admin", change=True))]
Id = Annotated[int, PathParam(ge=1, le=2**62)]

_CHANGE = error_responses(404, 409, 422)


def api_url(request: Request) -> str:
    """How sites reach this API (`PUBLIC_URL`, else the address this request came to)."""
    configured = runtime_of(request).settings.public_url
    return str(configured).rstrip("/") if configured else str(request.base_url).rstrip("/")


def _setting_code(request: Request) -> str:
    return MessengerSettings.of(runtime_of(request).settings).messenger_default_branch


def _branch_ref(id_: int | None, code: str | None, name: str | None) -> BranchRef | None:
    if id_ is None or code is None or name is None:
        return None
    return BranchRef(id=id_, code=code, name=name)


def inbox_view(row: InboxRow, api: str) -> InboxView:
    return InboxView(
        id=row.id,
        name=row.name,
        public_key=row.public_key,
        branch=_branch_ref(row.branch_id, row.branch_code, row.branch_name),
        active=row.active,
        settings=service.stored_settings(row.settings),
        embed_code=service.embed_code(api, row.public_key),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def branch_view(row: BranchRow, default_id: int | None) -> BranchView:
    return BranchView(
        id=row.id, code=row.code, name=row.name, staff=row.staff, is_default=row.id == default_id
    )


def region_view(row: RegionRow) -> RegionView:
    return RegionView(**vars(row))


def rule_view(row: RuleRow) -> RuleView:
    return RuleView(
        id=row.id,
        region=RegionRef(id=row.region_id, code=row.region_code, name=row.region_name),
        branch=BranchRef(id=row.branch_id, code=row.branch_code, name=row.branch_name),
        inbox=InboxRef(id=row.inbox_id, name=row.inbox_name)
        if row.inbox_id is not None and row.inbox_name is not None
        else None,
        priority=row.priority,
        active=row.active,
    )


def staff_view(row: StaffRow) -> StaffAdminView:
    schedule: Schedule | None = None
    if row.schedule:
        try:
            schedule = Schedule.model_validate(row.schedule)
        except ValueError:
            schedule = None
    return StaffAdminView(
        id=row.id,
        login=row.login,
        name=row.name,
        role=row.role,
        branch=_branch_ref(row.branch_id, row.branch_code, row.branch_name),
        capacity=row.capacity,
        schedule=schedule,
        active=row.active,
        status=row.status,
        has_password=row.has_password,
        last_seen_at=row.last_seen_at,
    )


async def _default_id(request: Request, session: Any) -> int | None:
    found, _ = await service.default_branch(session, _setting_code(request))
    return found.id if found is not None else None


async def _branch_view_now(request: Request, session: Any, row: BranchRow) -> BranchView:
    """One branch as answered after a change (`is_default` as it is now)."""
    return branch_view(row, await _default_id(request, session))


async def _deleted(deletion: Awaitable[None]) -> Response:
    """Run a delete of the service and answer 204 No Content."""
    await deletion
    return Response(status_code=204)


# --- inboxes ----------------------------------------------------------------------------------


@api.get(
    "/inboxes",
    response_model=list[InboxView],
    summary="The inboxes (chat widgets) with their settings and embed code",
    description="Every inbox, active or not, by name. Supervisors may read.",
)
async def list_inboxes(request: Request, who: Reader, session: Session) -> list[InboxView]:
    api = api_url(request)
    return [inbox_view(row, api) for row in await repository.inboxes(session)]


@api.post(
    "/inboxes",
    status_code=201,
    response_model=InboxView,
    responses=_CHANGE,
    summary="Create an inbox (a new chat widget with a new public key)",
    description=(
        "`settings` is checked as a whole: working hours (time zone, weekly hours, holidays), "
        "the offline message, the rating (scale 5: stars; 10: NPS 0-10), features and the "
        "sites it may run on (host names; `*.example.ru` for any subdomain). 422 names the "
        "field that does not fit."
    ),
)
async def create_inbox(
    request: Request, body: InboxChange, who: Admin, session: Session
) -> InboxView:
    return inbox_view(await service.create_inbox(session, body), api_url(request))


@api.get(
    "/inboxes/{inbox_id}",
    response_model=InboxView,
    responses=error_responses(404),
    summary="One inbox",
    description="The inbox with its settings, public key and embed code. Supervisors may read.",
)
async def get_inbox(request: Request, inbox_id: Id, who: Reader, session: Session) -> InboxView:
    return inbox_view(await service.inbox(session, inbox_id), api_url(request))


@api.put(
    "/inboxes/{inbox_id}",
    response_model=InboxView,
    responses=_CHANGE,
    summary="Change an inbox (its name, branch, whether it is on, its settings)",
    description=(
        "The whole inbox as it should be (the public key stays). New conversations follow "
        "the new settings at once. 422 names the field that does not fit."
    ),
)
async def update_inbox(
    request: Request, inbox_id: Id, body: InboxChange, who: Admin, session: Session
) -> InboxView:
    return inbox_view(await service.update_inbox(session, inbox_id, body), api_url(request))


@api.post(
    "/inboxes/{inbox_id}/regenerate-key",
    response_model=InboxView,
    responses=error_responses(404),
    summary="Give the inbox a new public key (the old snippet stops working)",
    description="Sites must paste the new embed code; visitors of the old one get 404.",
)
async def regenerate_key(request: Request, inbox_id: Id, who: Admin, session: Session) -> InboxView:
    return inbox_view(await service.regenerate_key(session, inbox_id), api_url(request))


@api.delete(
    "/inboxes/{inbox_id}",
    status_code=204,
    responses=error_responses(404, 409),
    summary="Delete an inbox that never had a conversation",
    description="An inbox with conversations answers 409: switch it off instead.",
)
async def delete_inbox(inbox_id: Id, who: Admin, session: Session) -> Response:
    return await _deleted(service.delete_inbox(session, inbox_id))


# --- branches and the default branch ----------------------------------------------------------


@api.get(
    "/branches",
    response_model=list[BranchView],
    summary="The branches, with their staff counts and which is the default",
    description="Every branch by name; `is_default` marks where unmatched visitors go now.",
)
async def list_branches(request: Request, who: Reader, session: Session) -> list[BranchView]:
    default = await _default_id(request, session)
    return [branch_view(row, default) for row in await repository.branches(session)]


@api.post(
    "/branches",
    status_code=201,
    response_model=BranchView,
    responses=_CHANGE,
    summary="Create a branch",
    description="409 when another branch has the code.",
)
async def create_branch(
    request: Request, body: BranchChange, who: Admin, session: Session
) -> BranchView:
    row = await service.create_branch(session, body)
    return await _branch_view_now(request, session, row)


@api.put(
    "/branches/{branch_id}",
    response_model=BranchView,
    responses=_CHANGE,
    summary="Change a branch's code and name",
    description="409 when another branch has the code.",
)
async def update_branch(
    request: Request, branch_id: Id, body: BranchChange, who: Admin, session: Session
) -> BranchView:
    row = await service.update_branch(session, branch_id, body)
    return await _branch_view_now(request, session, row)


@api.delete(
    "/branches/{branch_id}",
    status_code=204,
    responses=error_responses(404, 409),
    summary="Delete a branch nothing uses",
    description=(
        "409 while the branch is the default one or still has staff, inboxes, region rules "
        "or open conversations (the message counts each)."
    ),
)
async def delete_branch(branch_id: Id, who: Admin, session: Session) -> Response:
    return await _deleted(service.delete_branch(session, branch_id))


async def _preferences(request: Request, session: Any) -> PreferencesView:
    found, source = await service.default_branch(session, _setting_code(request))
    return PreferencesView(
        default_branch=_branch_ref(found.id, found.code, found.name) if found else None,
        default_branch_source=source,
    )


@api.get(
    "/preferences",
    response_model=PreferencesView,
    summary="Messenger-wide settings: the default branch",
    description=(
        "The branch of visitors whose region is unknown or matches no rule: the one chosen "
        "here, else the environment's `MESSENGER_DEFAULT_BRANCH`."
    ),
)
async def get_preferences(request: Request, who: Reader, session: Session) -> PreferencesView:
    return await _preferences(request, session)


@api.put(
    "/preferences",
    response_model=PreferencesView,
    responses=error_responses(422),
    summary="Choose the default branch",
    description="`default_branch_id: null` goes back to `MESSENGER_DEFAULT_BRANCH`.",
)
async def put_preferences(
    request: Request, body: PreferencesChange, who: Admin, session: Session
) -> PreferencesView:
    await service.set_default_branch(session, body)
    return await _preferences(request, session)


# --- regions and rules ------------------------------------------------------------------------


@api.get(
    "/regions",
    response_model=list[RegionView],
    summary="The regions (ISO 3166 codes as a MaxMind City database names them)",
    description="Every region by code, with how many rules send its visitors to a branch.",
)
async def list_regions(who: Reader, session: Session) -> list[RegionView]:
    return [region_view(row) for row in await repository.regions(session)]


@api.post(
    "/regions",
    status_code=201,
    response_model=RegionView,
    responses=_CHANGE,
    summary="Create a region",
    description="`code`: `RU-SVE` (a subdivision) or `KZ` (a country); 409 when it exists.",
)
async def create_region(body: RegionChange, who: Admin, session: Session) -> RegionView:
    return region_view(await service.create_region(session, body))


@api.put(
    "/regions/{region_id}",
    response_model=RegionView,
    responses=_CHANGE,
    summary="Change a region's code and name",
    description="409 when another region has the code.",
)
async def update_region(
    region_id: Id, body: RegionChange, who: Admin, session: Session
) -> RegionView:
    return region_view(await service.update_region(session, region_id, body))


@api.delete(
    "/regions/{region_id}",
    status_code=204,
    responses=error_responses(404),
    summary="Delete a region and its rules",
    description="Its visitors then go to the default branch.",
)
async def delete_region(region_id: Id, who: Admin, session: Session) -> Response:
    return await _deleted(service.delete_region(session, region_id))


@api.get(
    "/rules",
    response_model=list[RuleView],
    summary="Region → branch rules",
    description=(
        "A visitor of a region goes to the branch of its first active rule: the lowest "
        "priority first, an inbox's own rule before the rules of every inbox."
    ),
)
async def list_rules(who: Reader, session: Session) -> list[RuleView]:
    return [rule_view(row) for row in await repository.rules(session)]


@api.post(
    "/rules",
    status_code=201,
    response_model=RuleView,
    responses=_CHANGE,
    summary="Create a region → branch rule",
    description="422 names an unknown region, branch or inbox; 409 for the same rule twice.",
)
async def create_rule(body: RuleChange, who: Admin, session: Session) -> RuleView:
    return rule_view(await service.create_rule(session, body))


@api.put(
    "/rules/{rule_id}",
    response_model=RuleView,
    responses=_CHANGE,
    summary="Change a rule",
    description="The whole rule as it should be; 422 names an unknown region, branch or inbox.",
)
async def update_rule(rule_id: Id, body: RuleChange, who: Admin, session: Session) -> RuleView:
    return rule_view(await service.update_rule(session, rule_id, body))


@api.delete(
    "/rules/{rule_id}",
    status_code=204,
    responses=error_responses(404),
    summary="Delete a rule",
    description="Visitors of its region then follow the region's other rules or the default.",
)
async def delete_rule(rule_id: Id, who: Admin, session: Session) -> Response:
    return await _deleted(service.delete_rule(session, rule_id))


# --- staff ------------------------------------------------------------------------------------


@api.get(
    "/staff",
    response_model=list[StaffAdminView],
    summary="Staff accounts: operators, supervisors, administrators",
    description="Never a password or its hash: `has_password` says whether one is set.",
)
async def list_staff(who: Reader, session: Session) -> list[StaffAdminView]:
    return [staff_view(row) for row in await repository.staff_list(session)]


@api.post(
    "/staff",
    status_code=201,
    response_model=StaffAdminView,
    responses=_CHANGE,
    summary="Create a staff account",
    description=(
        "The login is kept lower-case; 409 when it is taken. The password (8 characters or "
        "more) is kept as an argon2id hash; without one the account cannot sign in yet."
    ),
)
async def create_staff(
    request: Request, body: StaffCreate, who: Admin, session: Session
) -> StaffAdminView:
    passwords = runtime_of(request).extension(accounts.Passwords)
    return staff_view(await service.create_staff(session, passwords, body))


@api.get(
    "/staff/{staff_id}",
    response_model=StaffAdminView,
    responses=error_responses(404),
    summary="One staff account",
    description="Never a password or its hash: `has_password` says whether one is set.",
)
async def get_staff(staff_id: Id, who: Reader, session: Session) -> StaffAdminView:
    return staff_view(await service.staff(session, staff_id))


@api.put(
    "/staff/{staff_id}",
    response_model=StaffAdminView,
    responses=_CHANGE,
    summary="Change a staff account (name, role, branch, capacity, hours, on or off)",
    description=(
        "Switching an account off ends its logins. Administrators cannot take away their own "
        "administrator role or switch themselves off (409)."
    ),
)
async def update_staff(
    staff_id: Id, body: StaffChange, who: Admin, session: Session
) -> StaffAdminView:
    return staff_view(await service.update_staff(session, staff_id, body, actor_id=who.id))


@api.put(
    "/staff/{staff_id}/password",
    response_model=StaffAdminView,
    responses=error_responses(404, 422),
    summary="Set a staff member's password",
    description="The account's other logins end (the administrator's own current one stays).",
    dependencies=[Depends(require_role("admin", change=True))],
)
async def set_password(
    request: Request,
    staff_id: Id,
    body: PasswordChange,
    record: Annotated[SessionRecord, Depends(changing_session)],
    session: Session,
) -> StaffAdminView:
    passwords = runtime_of(request).extension(accounts.Passwords)
    row = await service.set_password(
        session, passwords, staff_id, body.password, keep_session=record.id
    )
    return staff_view(row)


# --- the pages --------------------------------------------------------------------------------

_SECTIONS = {
    "": ("inboxes.html", "Каналы"),
    "branches": ("branches.html", "Филиалы"),
    "regions": ("regions.html", "Регионы и правила"),
    "staff": ("staff.html", "Сотрудники"),
}


async def _page(request: Request, section: str, token: str | None, session: Any) -> Response:
    template, title = _SECTIONS[section]
    try:
        record = await accounts.signed_in(session, token)
    except Unauthorized:
        return templates.TemplateResponse(
            request, "login.html", {"title": "Вход", "error": None, "section": section}
        )
    staff = record.staff
    if staff.role not in READERS:
        return templates.TemplateResponse(
            request,
            "login.html",
            {
                "title": "Нет доступа",
                "error": "Настройки доступны администраторам и супервизорам.",
                "section": section,
            },
            status_code=403,
        )
    return templates.TemplateResponse(
        request,
        template,
        {
            "title": title,
            "section": section,
            "sections": _SECTIONS,
            "staff": staff,
            "can_change": staff.role == "admin",
        },
    )


SessionToken = Annotated[str | None, Cookie(alias=SESSION_COOKIE, max_length=200)]


@pages.get("/", response_class=HTMLResponse)
async def inboxes_page(request: Request, session: Session, token: SessionToken = None) -> Response:
    return await _page(request, "", token, session)


@pages.get("/branches", response_class=HTMLResponse)
async def branches_page(request: Request, session: Session, token: SessionToken = None) -> Response:
    return await _page(request, "branches", token, session)


@pages.get("/regions", response_class=HTMLResponse)
async def regions_page(request: Request, session: Session, token: SessionToken = None) -> Response:
    return await _page(request, "regions", token, session)


@pages.get("/staff", response_class=HTMLResponse)
async def staff_page(request: Request, session: Session, token: SessionToken = None) -> Response:
    return await _page(request, "staff", token, session)


_STATIC = {
    "admin.css": "text/css; charset=utf-8",
    "common.js": "text/javascript; charset=utf-8",
    "login.js": "text/javascript; charset=utf-8",
    "inboxes.js": "text/javascript; charset=utf-8",
    "branches.js": "text/javascript; charset=utf-8",
    "regions.js": "text/javascript; charset=utf-8",
    "staff.js": "text/javascript; charset=utf-8",
    "schedule.js": "text/javascript; charset=utf-8",
}


@pages.get("/static/{name}")
async def static_file(name: str) -> Response:
    """The pages' own assets (no third-party host: the pages work offline)."""
    media_type = _STATIC.get(name)
    if media_type is None:
        raise NotFound("not_found", "Not found.")
    return Response(
        (HERE / "static" / name).read_bytes(),
        media_type=media_type,
        headers={"Cache-Control": "no-cache"},
    )


#: The admin's API and pages, for the messenger's module.
router = APIRouter()
router.include_router(api)
router.include_router(pages)
