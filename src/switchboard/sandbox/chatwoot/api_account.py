"""Application API account setup: agents, teams, labels, inboxes, inbox members and webhooks.

Writes here are for administrators only (Pundit); an agent's token gets 401 "You are not
authorized to do this action". Inbox membership is managed through `/inbox_members` with an
`inbox_id` in the body; Chatwoot has no `/inboxes/{id}/members` route.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from switchboard.sandbox.chatwoot import people, views
from switchboard.sandbox.chatwoot.errors import (
    ParameterMissing,
    RecordInvalid,
    RecordNotFound,
    found,
)
from switchboard.sandbox.chatwoot.http import Call, head_ok, json_response, route
from switchboard.sandbox.chatwoot.records import (
    AccountUser,
    Inbox,
    JsonDict,
    Label,
    Team,
    User,
    Webhook,
)
from switchboard.sandbox.chatwoot.rules import cast_int
from switchboard.sandbox.chatwoot.store import Store

ACCOUNT = "/api/v1/accounts/{account_id}"


def _agents_json(store: Store, account_id: int, user_ids: list[int]) -> list[JsonDict]:
    return [
        views.agent(user, membership)
        for user, membership in store.agents(account_id)
        if user.id in user_ids
    ]


def _ids(raw: Any) -> list[int]:
    items = raw if isinstance(raw, list) else [raw] if raw is not None else []
    return [value for value in (cast_int(item) for item in items) if value is not None]


# -- agents ----------------------------------------------------------------------------------


def list_agents(call: Call) -> Response:
    with call.store.locked() as store:
        return json_response([views.agent(u, m) for u, m in store.agents(call.account_id)])


def create_agent(call: Call) -> Response:
    """AgentBuilder: an existing user (by email) joins the account, a new one is created."""
    call.require_admin()
    values = call.require("agent")
    with call.engine.operation(call.actor) as op:
        user = people.find_or_create_user(
            op.store, name=values.get("name"), email=values.get("email")
        )
        membership = people.add_membership(
            op.store,
            call.account_id,
            user,
            role=values.get("role"),
            availability=values.get("availability"),
            auto_offline=values.get("auto_offline"),
            inviter_id=call.viewer_id,
        )
        return json_response(views.agent(user, membership))


def _agent(call: Call) -> tuple[User, AccountUser]:
    membership = call.store.account_user(call.account_id, call.int_param("agent_id"))
    user = call.store.user(membership.user_id) if membership else None
    if membership is None or user is None:
        raise RecordNotFound("agent")
    return user, membership


def update_agent(call: Call) -> Response:
    call.require_admin()
    values = call.require("agent")
    with call.engine.operation(call.actor):
        user, membership = _agent(call)
        if values.get("name"):
            user.name = str(values["name"])
        people.apply_membership(
            membership,
            role=values.get("role"),
            availability=values.get("availability"),
            auto_offline=values.get("auto_offline"),
        )
        return json_response(views.agent(user, membership))


def delete_agent(call: Call) -> Response:
    call.require_admin()
    with call.engine.operation(call.actor) as op:
        _, membership = _agent(call)
        op.store.account_users.remove(membership.id)
    return head_ok()


# -- teams -----------------------------------------------------------------------------------


def _team(call: Call) -> Team:
    return found(call.store.team(call.account_id, call.int_param("team_id")), "team")


def list_teams(call: Call) -> Response:
    with call.store.locked() as store:
        return json_response(
            [views.team(t, call.viewer_id) for t in store.teams_of(call.account_id)]
        )


def show_team(call: Call) -> Response:
    with call.store.locked():
        return json_response(views.team(_team(call), call.viewer_id))


def create_team(call: Call) -> Response:
    call.require_admin()
    values = call.require("team")
    with call.engine.operation(call.actor) as op:
        team = people.save_team(op.store, call.account_id, None, values)
        return json_response(views.team(team, call.viewer_id))


def update_team(call: Call) -> Response:
    call.require_admin()
    values = call.require("team")
    with call.engine.operation(call.actor) as op:
        team = people.save_team(op.store, call.account_id, _team(call), values)
        return json_response(views.team(team, call.viewer_id))


def delete_team(call: Call) -> Response:
    call.require_admin()
    with call.engine.operation(call.actor) as op:
        team = _team(call)
        for conv in op.store.conversations_of(call.account_id):
            if conv.team_id == team.id:
                conv.team_id = None  # `has_many :conversations, dependent: :nullify`
        op.store.teams.remove(team.id)
    return head_ok()


def list_team_members(call: Call) -> Response:
    with call.store.locked() as store:
        team = _team(call)
        return json_response(_agents_json(store, call.account_id, team.member_ids))


def _members(call: Call) -> list[int]:
    wanted = _ids(call.params.get("user_ids"))
    known = {user.id for user, _ in call.store.agents(call.account_id)}
    if any(user_id not in known for user_id in wanted):
        raise RecordInvalid([("user", "User must exist")])
    return wanted


def add_team_members(call: Call) -> Response:
    call.require_admin()
    with call.engine.operation(call.actor) as op:
        team = _team(call)
        added = [user_id for user_id in _members(call) if user_id not in team.member_ids]
        team.member_ids.extend(added)
        return json_response(_agents_json(op.store, call.account_id, added))


def replace_team_members(call: Call) -> Response:
    call.require_admin()
    with call.engine.operation(call.actor) as op:
        team = _team(call)
        team.member_ids = list(dict.fromkeys(_members(call)))
        return json_response(_agents_json(op.store, call.account_id, team.member_ids))


def remove_team_members(call: Call) -> Response:
    call.require_admin()
    with call.engine.operation(call.actor):
        team = _team(call)
        gone = set(_ids(call.params.get("user_ids")))
        team.member_ids = [user_id for user_id in team.member_ids if user_id not in gone]
    return head_ok()


# -- labels ----------------------------------------------------------------------------------


def _label(call: Call) -> Label:
    label = call.store.labels.get(call.int_param("label_id"))
    if label is None or label.account_id != call.account_id:
        raise RecordNotFound("label")
    return label


def list_labels(call: Call) -> Response:
    with call.store.locked() as store:
        return json_response(
            {"payload": [views.label(row) for row in store.labels_of(call.account_id)]}
        )


def show_label(call: Call) -> Response:
    with call.store.locked():
        return json_response(views.label(_label(call)))


def create_label(call: Call) -> Response:
    call.require_admin()
    values = call.require("label")
    with call.engine.operation(call.actor) as op:
        return json_response(
            views.label(people.save_label(op.store, call.account_id, None, values))
        )


def update_label(call: Call) -> Response:
    call.require_admin()
    values = call.require("label")
    with call.engine.operation(call.actor) as op:
        label = people.save_label(op.store, call.account_id, _label(call), values)
        return json_response(views.label(label))


def delete_label(call: Call) -> Response:
    call.require_admin()
    with call.engine.operation(call.actor) as op:
        op.store.labels.remove(_label(call).id)
    return head_ok()


# -- inboxes and their members ---------------------------------------------------------------


def _inbox(call: Call, name: str = "inbox_id") -> Inbox:
    return found(call.store.inbox(call.account_id, cast_int(call.params.get(name))), "inbox")


def list_inboxes(call: Call) -> Response:
    with call.store.locked() as store:
        inboxes = [
            inbox
            for inbox in store.inboxes_of(call.account_id)
            if call.is_admin or call.viewer_id in inbox.member_ids
        ]
        return json_response({"payload": [views.inbox(i, admin=call.is_admin) for i in inboxes]})


def show_inbox(call: Call) -> Response:
    with call.store.locked():
        return json_response(views.inbox(_inbox(call), admin=call.is_admin))


def _inbox_members_payload(call: Call, inbox: Inbox) -> Response:
    return json_response({"payload": _agents_json(call.store, call.account_id, inbox.member_ids)})


def show_inbox_members(call: Call) -> Response:
    with call.store.locked():
        return _inbox_members_payload(call, _inbox(call))


def add_inbox_members(call: Call) -> Response:
    call.require_admin()
    with call.engine.operation(call.actor):
        inbox = _inbox(call)
        for user_id in _members(call):
            if user_id not in inbox.member_ids:
                inbox.member_ids.append(user_id)
        return _inbox_members_payload(call, inbox)


def replace_inbox_members(call: Call) -> Response:
    call.require_admin()
    with call.engine.operation(call.actor):
        inbox = _inbox(call)
        inbox.member_ids = list(dict.fromkeys(_members(call)))
        return _inbox_members_payload(call, inbox)


def remove_inbox_members(call: Call) -> Response:
    call.require_admin()
    with call.engine.operation(call.actor):
        inbox = _inbox(call)
        gone = set(_ids(call.params.get("user_ids")))
        inbox.member_ids = [user_id for user_id in inbox.member_ids if user_id not in gone]
    return head_ok()


# -- webhooks --------------------------------------------------------------------------------

WEBHOOK_ATTRIBUTES = ("url", "subscriptions", "name", "inbox_id")


def _webhook_values(call: Call) -> JsonDict:
    """`params.require(:webhook).permit(:inbox_id, :name, :url, subscriptions: [])`."""
    nested = call.params.get("webhook")
    source = nested if isinstance(nested, dict) and nested else call.params
    values = {key: source[key] for key in WEBHOOK_ATTRIBUTES if key in source}
    if not values:
        raise ParameterMissing("webhook")
    if "subscriptions" in values and not isinstance(values["subscriptions"], list):
        del values["subscriptions"]  # not a permitted array: dropped like an unpermitted param
    if "inbox_id" in values:
        values["inbox_id"] = cast_int(values["inbox_id"])
    return values


def _webhook_json(call: Call, webhook: Webhook) -> JsonDict:
    return views.webhook(webhook, call.store, with_secret=call.engine.sign_webhooks)


def list_webhooks(call: Call) -> Response:
    call.require_admin()
    with call.store.locked() as store:
        hooks = [_webhook_json(call, hook) for hook in store.webhooks_of(call.account_id)]
        return json_response({"payload": {"webhooks": hooks}})


def create_webhook(call: Call) -> Response:
    call.require_admin()
    values = _webhook_values(call)
    with call.engine.operation(call.actor) as op:
        webhook = people.save_webhook(op.store, call.account_id, None, values)
        return json_response({"payload": {"webhook": _webhook_json(call, webhook)}})


def _webhook(call: Call) -> Webhook:
    return found(call.store.webhook(call.account_id, call.int_param("webhook_id")), "webhook")


def update_webhook(call: Call) -> Response:
    call.require_admin()
    values = _webhook_values(call)
    with call.engine.operation(call.actor) as op:
        webhook = people.save_webhook(op.store, call.account_id, _webhook(call), values)
        return json_response({"payload": {"webhook": _webhook_json(call, webhook)}})


def delete_webhook(call: Call) -> Response:
    call.require_admin()
    with call.engine.operation(call.actor) as op:
        op.store.webhooks.remove(_webhook(call).id)
    return head_ok()


ROUTES: list[Route] = [
    route("application", ACCOUNT + "/agents", list_agents, ["GET"]),
    route("application", ACCOUNT + "/agents", create_agent, ["POST"]),
    route("application", ACCOUNT + "/agents/{agent_id}", update_agent, ["PATCH", "PUT"]),
    route("application", ACCOUNT + "/agents/{agent_id}", delete_agent, ["DELETE"]),
    route("application", ACCOUNT + "/teams", list_teams, ["GET"]),
    route("application", ACCOUNT + "/teams", create_team, ["POST"]),
    route("application", ACCOUNT + "/teams/{team_id}", show_team, ["GET"]),
    route("application", ACCOUNT + "/teams/{team_id}", update_team, ["PATCH", "PUT"]),
    route("application", ACCOUNT + "/teams/{team_id}", delete_team, ["DELETE"]),
    route("application", ACCOUNT + "/teams/{team_id}/team_members", list_team_members, ["GET"]),
    route("application", ACCOUNT + "/teams/{team_id}/team_members", add_team_members, ["POST"]),
    route(
        "application", ACCOUNT + "/teams/{team_id}/team_members", replace_team_members, ["PATCH"]
    ),
    route(
        "application", ACCOUNT + "/teams/{team_id}/team_members", remove_team_members, ["DELETE"]
    ),
    route("application", ACCOUNT + "/labels", list_labels, ["GET"]),
    route("application", ACCOUNT + "/labels", create_label, ["POST"]),
    route("application", ACCOUNT + "/labels/{label_id}", show_label, ["GET"]),
    route("application", ACCOUNT + "/labels/{label_id}", update_label, ["PATCH", "PUT"]),
    route("application", ACCOUNT + "/labels/{label_id}", delete_label, ["DELETE"]),
    route("application", ACCOUNT + "/inboxes", list_inboxes, ["GET"]),
    route("application", ACCOUNT + "/inboxes/{inbox_id}", show_inbox, ["GET"]),
    route("application", ACCOUNT + "/inbox_members", add_inbox_members, ["POST"]),
    route("application", ACCOUNT + "/inbox_members", replace_inbox_members, ["PATCH"]),
    route("application", ACCOUNT + "/inbox_members", remove_inbox_members, ["DELETE"]),
    route("application", ACCOUNT + "/inbox_members/{inbox_id}", show_inbox_members, ["GET"]),
    route("application", ACCOUNT + "/webhooks", list_webhooks, ["GET"]),
    route("application", ACCOUNT + "/webhooks", create_webhook, ["POST"]),
    route("application", ACCOUNT + "/webhooks/{webhook_id}", update_webhook, ["PATCH", "PUT"]),
    route("application", ACCOUNT + "/webhooks/{webhook_id}", delete_webhook, ["DELETE"]),
]
