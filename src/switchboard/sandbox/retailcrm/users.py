"""The account's users (the managers telephony rings).

    GET  /api/v5/users?filter[active]=1&filter[status]=free&filter[isManager]=1&limit=20&page=1
    GET  /api/v5/users/{id}
    POST /api/v5/users/{id}/status    form: status=free|busy|dinner|break

Filter keys (PHP ApiUserFilter): email, status, online, active, isManager, isPosManager, isAdmin,
groups (group codes), createdAtFrom, createdAtTo. Changing a status through the API does not call
the module's `changeUserStatusUrl` here (the sandbox control `/__sandbox__/user-status` does, as a
person switching status in the CRM would); stored sources do not say whether the API call does.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from switchboard.sandbox.retailcrm.errors import (
    NOT_A_CHOICE,
    ErrorDetails,
    entity_format,
    not_found,
)
from switchboard.sandbox.retailcrm.http import Call, api_route, success
from switchboard.sandbox.retailcrm.listing import (
    FilterRule,
    Predicate,
    apply_filters,
    choice_rule,
    date_rule,
    flag_rule,
    page_request,
    paginate,
    text_rule,
)
from switchboard.sandbox.retailcrm.params import required_text
from switchboard.sandbox.retailcrm.store import User
from switchboard.sandbox.retailcrm.validation import USER_STATUSES


def _in_groups(value: Any, errors: ErrorDetails, key: str) -> Predicate[User] | None:
    """`filter[groups][]=manager`: users in any of those groups (by group code)."""
    wanted = {str(item) for item in (value if isinstance(value, list) else [value])}
    return lambda user: any(str(group.get("code")) in wanted for group in user.groups)


USER_FILTERS: dict[str, FilterRule] = {
    "email": text_rule(lambda user, email: user.email.lower() == email.lower()),
    "status": choice_rule(lambda user: user.status, USER_STATUSES),
    "online": flag_rule(lambda user: user.online),
    "active": flag_rule(lambda user: user.active),
    "isManager": flag_rule(lambda user: user.is_manager),
    "isPosManager": flag_rule(lambda user: False),  # the sandbox has no POS managers
    "isAdmin": flag_rule(lambda user: user.is_admin),
    "groups": _in_groups,
    "createdAtFrom": date_rule(lambda user: user.created_at, until=False),
    "createdAtTo": date_rule(lambda user: user.created_at, until=True),
}


def users(call: Call) -> Response:
    limit, page = page_request(call)
    matching = apply_filters(call, call.store.user_records(), USER_FILTERS)
    shown, pagination = paginate(matching, limit, page)
    return success(pagination=pagination, users=[user.as_json() for user in shown])


def user(call: Call) -> Response:
    found = call.store.user(call.path_param("id"))
    if found is None:
        raise not_found()
    return success(user=found)


def user_status(call: Call) -> Response:
    user_id: int = call.path_param("id")
    status = required_text(call.params, "status")
    if call.store.user(user_id) is None:
        raise not_found()
    if status not in USER_STATUSES:
        raise entity_format({"status": NOT_A_CHOICE})
    call.store.set_user_status(user_id, status)
    return success()


ROUTES: list[Route] = [
    api_route("/users", users, "GET"),
    api_route("/users/{id:int}", user, "GET"),
    api_route("/users/{id:int}/status", user_status, "POST"),
]
