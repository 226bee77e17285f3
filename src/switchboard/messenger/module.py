"""The messenger domain (issue 8, seed 004), as the platform sees it."""

from __future__ import annotations

from switchboard.core.module import DomainModule
from switchboard.messenger.accounts import endpoints as accounts
from switchboard.messenger.accounts import tasks as presence
from switchboard.messenger.admin import endpoints as admin
from switchboard.messenger.attachments import endpoints as attachments
from switchboard.messenger.attachments import tasks as attachment_tasks
from switchboard.messenger.conversations import endpoints as conversations
from switchboard.messenger.operator import endpoints as operator
from switchboard.messenger.routing import tasks as routing
from switchboard.messenger.settings import MessengerSettings
from switchboard.messenger.widget import endpoints as widget_scripts

MODULE = DomainModule(
    name="messenger",
    schemas=("messenger",),
    models=("switchboard.messenger.models",),
    routers=(
        accounts.router,
        conversations.router,
        operator.router,
        widget_scripts.router,
        admin.router,
        attachments.router,
    ),
    blueprints=(routing.blueprint, presence.blueprint, attachment_tasks.blueprint),
    settings=MessengerSettings,
    # The widget and its API run on customers' websites.
    public_paths=("/api/widget", "/widget/"),
)
