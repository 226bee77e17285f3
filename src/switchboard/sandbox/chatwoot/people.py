"""Users (agents), their account memberships, teams, labels and webhooks: the account's setup."""

from __future__ import annotations

from typing import Any

from switchboard.sandbox.chatwoot.errors import RecordInvalid
from switchboard.sandbox.chatwoot.records import (
    ALLOWED_WEBHOOK_EVENTS,
    DEFAULT_WEBHOOK_SUBSCRIPTIONS,
    ROLES,
    AccountUser,
    JsonDict,
    Label,
    Team,
    User,
    Webhook,
    utcnow,
)
from switchboard.sandbox.chatwoot.rules import (
    cast_bool,
    enum_value,
    present,
    valid_email,
    valid_label_title,
    valid_webhook_url,
)
from switchboard.sandbox.chatwoot.store import Store

AVAILABILITY = ("online", "offline", "busy")
BLANK = "must not be blank"


def user_errors(name: Any, email: Any) -> list[tuple[str, str]]:
    errors: list[tuple[str, str]] = []
    if not present(email):
        errors.append(("email", "Email can't be blank"))
    elif not valid_email(str(email)):
        errors.append(("email", "Email is invalid"))
    if not present(name):
        errors.append(("name", "Name can't be blank"))
    return errors


def find_or_create_user(
    store: Store,
    *,
    name: Any,
    email: Any,
    display_name: Any = None,
    custom_attributes: JsonDict | None = None,
    password: Any = None,
    check_password: bool = False,
) -> User:
    """`User.from_email(email) || User.create!(...)`: a known email is reused untouched.

    AgentBuilder makes up a password; the Platform API must be given one (`check_password`).
    """
    existing = store.user_by_email(str(email)) if present(email) else None
    if existing is not None:
        return existing
    errors = user_errors(name, email)
    if check_password and (password is None or password == ""):
        errors.append(("password", "Password can't be blank"))
    elif check_password and len(str(password)) < 6:
        errors.append(("password", "Password is too short (minimum is 6 characters)"))
    if errors:
        raise RecordInvalid(errors)
    return store.users.add(
        User(
            id=store.users.next_id(),
            name=str(name),
            email=str(email).lower(),
            display_name=str(display_name) if present(display_name) else None,
            custom_attributes=dict(custom_attributes or {}),
        )
    )


def add_membership(
    store: Store,
    account_id: int,
    user: User,
    *,
    role: Any = None,
    availability: Any = None,
    auto_offline: Any = None,
    inviter_id: int | None = None,
) -> AccountUser:
    """`AccountUser.create!`: a second membership in the same account is a validation error."""
    if store.account_user(account_id, user.id) is not None:
        raise RecordInvalid([("user_id", "User has already been taken")])
    membership = AccountUser(
        id=store.account_users.next_id(),
        account_id=account_id,
        user_id=user.id,
        inviter_id=inviter_id,
    )
    apply_membership(membership, role=role, availability=availability, auto_offline=auto_offline)
    return store.account_users.add(membership)


def apply_membership(
    membership: AccountUser, *, role: Any = None, availability: Any = None, auto_offline: Any = None
) -> None:
    if role is not None:
        membership.role = enum_value("role", role, ROLES)
    if availability is not None:
        membership.availability = enum_value("availability", availability, AVAILABILITY)
    if auto_offline is not None:
        membership.auto_offline = bool(cast_bool(auto_offline))
    membership.updated_at = utcnow()


# -- teams and labels ------------------------------------------------------------------------


def save_team(store: Store, account_id: int, team: Team | None, values: JsonDict) -> Team:
    """Team names are lower-cased before validation, as the model does."""
    name = values.get("name", team.name if team else None)
    name = str(name).lower() if present(name) else None
    if name is None:
        raise RecordInvalid([("name", f"Name {BLANK}")])
    clash = store.teams.first(
        lambda row: row.account_id == account_id and row.name == name and row is not team
    )
    if clash is not None:
        raise RecordInvalid([("name", "Name has already been taken")])
    if team is None:
        team = store.teams.add(Team(id=store.teams.next_id(), account_id=account_id, name=name))
    team.name = name
    if "description" in values:
        team.description = values["description"]
    if "allow_auto_assign" in values:
        team.allow_auto_assign = bool(cast_bool(values["allow_auto_assign"]))
    team.updated_at = utcnow()
    return team


def save_label(store: Store, account_id: int, label: Label | None, values: JsonDict) -> Label:
    title = values.get("title", label.title if label else None)
    title = str(title).lower() if present(title) else None
    errors: list[tuple[str, str]] = []
    if title is None:
        errors.append(("title", f"Title {BLANK}"))
    else:
        if not valid_label_title(title):
            errors.append(("title", "Title is invalid"))
        clash = store.labels.first(
            lambda row: row.account_id == account_id and row.title == title and row is not label
        )
        if clash is not None:
            errors.append(("title", "Title has already been taken"))
    if errors or title is None:
        raise RecordInvalid(errors)
    if label is None:
        label = store.labels.add(
            Label(id=store.labels.next_id(), account_id=account_id, title=title)
        )
    label.title = title
    for key in ("description", "color"):
        if key in values:
            setattr(label, key, values[key])
    if "show_on_sidebar" in values:
        label.show_on_sidebar = cast_bool(values["show_on_sidebar"])
    label.updated_at = utcnow()
    return label


# -- webhooks --------------------------------------------------------------------------------


def save_webhook(
    store: Store, account_id: int, webhook: Webhook | None, values: JsonDict
) -> Webhook:
    """Webhook validations: an http(s) URL unique in the account, known subscriptions."""
    url = values.get("url", webhook.url if webhook else None)
    subscriptions = values.get(
        "subscriptions", webhook.subscriptions if webhook else list(DEFAULT_WEBHOOK_SUBSCRIPTIONS)
    )
    errors: list[tuple[str, str]] = []
    clash = store.webhooks.first(
        lambda row: row.account_id == account_id and row.url == url and row is not webhook
    )
    if clash is not None:
        errors.append(("url", "Url has already been taken"))
    if not valid_webhook_url(url):
        errors.append(("url", "Url is invalid"))
    if not _valid_subscriptions(subscriptions):
        errors.append(("subscriptions", "Subscriptions Invalid events"))
    if errors:
        raise RecordInvalid(errors)
    if webhook is None:
        webhook = store.webhooks.add(
            Webhook(
                id=store.webhooks.next_id(), account_id=account_id, url=str(url), subscriptions=[]
            )
        )
    webhook.url = str(url)
    webhook.subscriptions = list(subscriptions)
    if "name" in values:
        webhook.name = values["name"]
    if "inbox_id" in values:
        webhook.inbox_id = values["inbox_id"]
    webhook.updated_at = utcnow()
    return webhook


def _valid_subscriptions(subscriptions: Any) -> bool:
    if not isinstance(subscriptions, list) or not subscriptions:
        return False
    return all(name in ALLOWED_WEBHOOK_EVENTS for name in subscriptions)
