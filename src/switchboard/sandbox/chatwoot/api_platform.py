"""The Platform API (`/platform/api/v1/...`), authenticated by a platform app's token.

A platform app sees only the users and accounts it is permitted on (PlatformAppPermissible):
creating a user grants it, and creating a user with a known email reuses that user untouched.
"""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.responses import Response
from starlette.routing import Route

from switchboard.sandbox.chatwoot import people, views
from switchboard.sandbox.chatwoot.errors import RecordInvalid, found, unauthorized
from switchboard.sandbox.chatwoot.http import Call, head_ok, json_response, route
from switchboard.sandbox.chatwoot.records import Account, User, new_token
from switchboard.sandbox.chatwoot.rules import cast_int, present, valid_email

BASE = "/platform/api/v1"
NON_PERMISSIBLE = "Non permissible resource"


def _user(call: Call) -> User:
    """`User.find(params[:id])`, then the permissible check."""
    user = found(call.store.user(call.int_param("user_id")), "user")
    assert call.platform_app is not None
    if user.id not in call.platform_app.permissible_users:
        raise unauthorized(NON_PERMISSIBLE)
    return user


def _account(call: Call) -> Account:
    account = found(call.store.account(call.int_param("account_id")), "account")
    assert call.platform_app is not None
    if account.id not in call.platform_app.permissible_accounts:
        raise unauthorized(NON_PERMISSIBLE)
    return account


def create_user(call: Call) -> Response:
    params = call.params
    attributes = params.get("custom_attributes")
    with call.engine.operation(call.actor) as op:
        user = people.find_or_create_user(
            op.store,
            name=params.get("name"),
            email=params.get("email"),
            display_name=params.get("display_name"),
            custom_attributes=attributes if isinstance(attributes, dict) else None,
            password=params.get("password"),
            check_password=True,
        )
        assert call.platform_app is not None
        call.platform_app.permissible_users.add(user.id)
        return json_response(views.platform_user(op.store, user))


def show_user(call: Call) -> Response:
    with call.store.locked() as store:
        return json_response(views.platform_user(store, _user(call)))


def update_user(call: Call) -> Response:
    """Assigns the given fields; custom attributes are merged into the old ones."""
    params = call.params
    with call.engine.operation(call.actor) as op:
        user = _user(call)
        email = params.get("email")
        if present(email):
            if not valid_email(str(email)):
                raise RecordInvalid([("email", "Email is invalid")])
            other = op.store.user_by_email(str(email))
            if other is not None and other.id != user.id:
                raise RecordInvalid([("email", "Email has already been taken")])
            user.email = str(email).lower()
        if present(params.get("name")):
            user.name = str(params["name"])
        if "display_name" in params:
            user.display_name = params["display_name"] or None
        attributes = params.get("custom_attributes")
        if isinstance(attributes, dict):
            user.custom_attributes = {**user.custom_attributes, **attributes}
        return json_response(views.platform_user(op.store, user))


def delete_user(call: Call) -> Response:
    with call.engine.operation(call.actor) as op:
        user = _user(call)
        for membership in op.store.account_users_of(user.id):
            op.store.account_users.remove(membership.id)
        op.store.users.remove(user.id)
    return head_ok()


def login(call: Call) -> Response:
    with call.store.locked():
        user = _user(call)
        query = urlencode({"email": user.email, "sso_auth_token": new_token(32)})
        return json_response({"url": f"{call.base_url}/app/login?{query}"})


def token(call: Call) -> Response:
    with call.store.locked():
        user = _user(call)
        summary = {
            "id": user.id,
            "name": user.name,
            "display_name": user.display_name,
            "email": user.email,
            "pubsub_token": user.pubsub_token,
        }
        return json_response({"access_token": user.access_token, "expiry": None, "user": summary})


def list_account_users(call: Call) -> Response:
    with call.store.locked() as store:
        account = _account(call)
        rows = store.account_users.where(lambda row: row.account_id == account.id)
        return json_response([views.account_user_record(row) for row in rows])


def add_account_user(call: Call) -> Response:
    """`account_users.find_or_initialize_by(user_id:).update!(role:)`."""
    with call.engine.operation(call.actor) as op:
        account = _account(call)
        user = op.store.user(cast_int(call.params.get("user_id")))
        if user is None:
            raise RecordInvalid([("user", "User must exist")])
        membership = op.store.account_user(account.id, user.id)
        if membership is None:
            membership = people.add_membership(
                op.store, account.id, user, role=call.params.get("role")
            )
        else:
            people.apply_membership(membership, role=call.params.get("role"))
        return json_response(views.account_user_record(membership))


def remove_account_user(call: Call) -> Response:
    with call.engine.operation(call.actor) as op:
        account = _account(call)
        user_id = cast_int(call.params.get("user_id"))
        membership = op.store.account_user(account.id, user_id) if user_id is not None else None
        if membership is not None:
            op.store.account_users.remove(membership.id)
    return head_ok()


ROUTES: list[Route] = [
    route("platform", BASE + "/users", create_user, ["POST"]),
    route("platform", BASE + "/users/{user_id}", show_user, ["GET"]),
    route("platform", BASE + "/users/{user_id}", update_user, ["PATCH", "PUT"]),
    route("platform", BASE + "/users/{user_id}", delete_user, ["DELETE"]),
    route("platform", BASE + "/users/{user_id}/login", login, ["GET"]),
    route("platform", BASE + "/users/{user_id}/token", token, ["POST"]),
    route("platform", BASE + "/accounts/{account_id}/account_users", list_account_users, ["GET"]),
    route("platform", BASE + "/accounts/{account_id}/account_users", add_account_user, ["POST"]),
    route(
        "platform", BASE + "/accounts/{account_id}/account_users", remove_account_user, ["DELETE"]
    ),
]
