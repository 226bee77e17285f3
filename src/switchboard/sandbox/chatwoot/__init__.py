"""A protocol-faithful, stateful Chatwoot (v4.x) emulator.

    emu = ChatwootEmulator(api_access_token="cw-admin-token", inbox_identifier="sandbox-inbox")
    with BackgroundServer(emu.app) as server:
        ...  # Public, Application, Platform APIs and webhooks at server.url

Where real Chatwoot ignores, rejects or quietly transforms a request, so does the emulator:
PATCH on a conversation changes only `priority`, the public conversation create keeps only
`custom_attributes`, the contacts index has no lookup parameters, and so on (see the modules).
The helpers (`agent_reply`, `set_status`, ...) act as a person in the Chatwoot UI would and fire
the same webhooks as the API. State is guarded by one lock, so tests may call them from their own
thread while the server runs in another.
"""

from __future__ import annotations

import hashlib
import hmac

from starlette.types import ASGIApp

from switchboard.sandbox.chatwoot import (
    attributes,
    contacts,
    conversations,
    messages,
    people,
    views,
)
from switchboard.sandbox.chatwoot.app import build_app
from switchboard.sandbox.chatwoot.engine import Engine
from switchboard.sandbox.chatwoot.errors import chatwoot_fault_body, found
from switchboard.sandbox.chatwoot.messages import Sender
from switchboard.sandbox.chatwoot.operations import Actor
from switchboard.sandbox.chatwoot.records import (
    API_CHANNEL,
    INCOMING,
    OUTGOING,
    Conversation,
    Inbox,
    JsonDict,
    new_token,
)
from switchboard.sandbox.chatwoot.store import Seed, Store
from switchboard.sandbox.chatwoot.webhooks import (
    DeliverySettings,
    WebhookDelivery,
    WebhookDispatcher,
    sign,
)
from switchboard.sandbox.faults import FaultInjector, RequestJournal, SandboxMiddleware

__all__ = ["ChatwootEmulator", "WebhookDelivery", "sign"]

ADMIN_ID = 1  # the seeded administrator, whose token is `api_access_token`
# The emulator's own demo credentials, not secrets.
DEFAULT_API_TOKEN = "cw-admin-token"  # noqa: S105
DEFAULT_PLATFORM_TOKEN = "cw-platform-token"  # noqa: S105
DEFAULT_BOT_TOKEN = "cw-bot-token"  # noqa: S105
DEFAULT_HMAC_TOKEN = "cw-inbox-hmac"  # noqa: S105


class ChatwootEmulator:
    def __init__(
        self,
        *,
        account_id: int = 1,
        account_name: str = "Clobus",
        inbox_id: int = 1,
        inbox_name: str = "Сайт",
        inbox_identifier: str = "sandbox-inbox",
        api_access_token: str = DEFAULT_API_TOKEN,
        platform_token: str = DEFAULT_PLATFORM_TOKEN,
        bot_token: str = DEFAULT_BOT_TOKEN,
        hmac_token: str = DEFAULT_HMAC_TOKEN,
        hmac_mandatory: bool = False,
        inbox_webhook_url: str | None = None,
        admin_name: str = "Sandbox Admin",
        admin_email: str = "admin@sandbox.test",
        sign_webhooks: bool = True,
        webhook_timeout: float = 5.0,
        webhook_retries: int = 3,
        webhook_backoff: float = 0.5,
    ) -> None:
        self.account_id = account_id
        self.inbox_id = inbox_id
        self.inbox_identifier = inbox_identifier
        self.api_access_token = api_access_token
        self.platform_token = platform_token
        self.bot_token = bot_token
        self.hmac_token = hmac_token
        self.store = Store(
            Seed(
                account_id=account_id,
                account_name=account_name,
                inbox_id=inbox_id,
                inbox_name=inbox_name,
                inbox_identifier=inbox_identifier,
                hmac_token=hmac_token,
                hmac_mandatory=hmac_mandatory,
                inbox_webhook_url=inbox_webhook_url,
                admin_name=admin_name,
                admin_email=admin_email,
                api_access_token=api_access_token,
                platform_token=platform_token,
                bot_token=bot_token,
            )
        )
        settings = DeliverySettings(
            timeout=webhook_timeout, retries=webhook_retries, backoff=webhook_backoff
        )
        self.webhooks = WebhookDispatcher(
            self.store, sign_webhooks=sign_webhooks, settings=settings
        )
        self.engine = Engine(self.store, self.webhooks)
        self.faults = FaultInjector()
        self.journal = RequestJournal()
        self.app: ASGIApp = SandboxMiddleware(
            build_app(self.engine),
            faults=self.faults,
            journal=self.journal,
            error_body=chatwoot_fault_body,
            reset=self.reset,
        )

    # -- state -----------------------------------------------------------------------------

    def reset(self) -> None:
        """Back to the seed: one account, its API inbox, the admin; no contacts or webhooks."""
        self.store.reset()
        self.webhooks.reset()

    @property
    def sign_webhooks(self) -> bool:
        """True emulates Chatwoot >= 4.11.2 (signed deliveries), False <= 4.11.1."""
        return self.webhooks.sign_webhooks

    @sign_webhooks.setter
    def sign_webhooks(self, value: bool) -> None:
        self.webhooks.sign_webhooks = value

    @property
    def deliveries(self) -> list[WebhookDelivery]:
        """Every webhook delivery attempt so far, in order."""
        return self.webhooks.deliveries

    async def drain_webhooks(self, timeout: float = 5) -> None:
        """Wait until every queued delivery (retries included) is done; TimeoutError if not."""
        await self.webhooks.drain(timeout)

    def wait_for_webhooks(self, timeout: float = 5) -> None:
        """`drain_webhooks` for sync code; never call it from the server's own event loop."""
        self.webhooks.wait(timeout)

    def identifier_hash(self, identifier: str) -> str:
        """The `identifier_hash` a site computes for the Public API's identity check."""
        return hmac.new(self.hmac_token.encode(), identifier.encode(), hashlib.sha256).hexdigest()

    # -- people in the UI ------------------------------------------------------------------

    def add_agent(
        self,
        name: str,
        email: str,
        role: str = "agent",
        custom_attributes: JsonDict | None = None,
    ) -> JsonDict:
        """An administrator invites an agent and adds them to the sandbox inbox."""
        with self.engine.operation(Actor("user", ADMIN_ID)) as op:
            user = people.find_or_create_user(
                op.store, name=name, email=email, custom_attributes=custom_attributes
            )
            if custom_attributes:
                user.custom_attributes = {**user.custom_attributes, **custom_attributes}
            membership = op.store.account_user(self.account_id, user.id)
            if membership is None:
                membership = people.add_membership(
                    op.store, self.account_id, user, role=role, inviter_id=ADMIN_ID
                )
            inbox = op.store.inbox(self.account_id, self.inbox_id)
            if inbox is not None and user.id not in inbox.member_ids:
                inbox.member_ids.append(user.id)
            return {
                "id": user.id,
                "name": user.name,
                "email": user.email,
                "role": membership.role,
                "access_token": user.access_token,
                "custom_attributes": dict(user.custom_attributes),
            }

    def add_inbox(self, name: str, channel_type: str = API_CHANNEL) -> JsonDict:
        """Another inbox in the account (e.g. "Channel::WebWidget", where incoming messages
        cannot be posted through the Application API); the admin is its member."""
        with self.engine.operation(Actor("user", ADMIN_ID)) as op:
            store = op.store
            inbox_id = store.inboxes.next_id()
            inbox = store.inboxes.add(
                Inbox(
                    id=inbox_id,
                    account_id=self.account_id,
                    name=name,
                    channel_id=inbox_id,  # each inbox has its own channel row
                    identifier=new_token(),
                    hmac_token=new_token(),
                    channel_type=channel_type,
                    member_ids=[ADMIN_ID],
                )
            )
            return views.inbox(inbox, admin=True)

    def define_attribute(
        self,
        key: str,
        display_name: str,
        *,
        model: str = "contact_attribute",
        display_type: str = "text",
        description: str | None = None,
    ) -> JsonDict:
        """An administrator defines a custom attribute (Settings → Custom attributes)."""
        values = {
            "attribute_key": key,
            "attribute_display_name": display_name,
            "attribute_model": model,
            "attribute_display_type": display_type,
            "attribute_description": description,
        }
        with self.engine.operation(Actor("user", ADMIN_ID)) as op:
            row = attributes.create(op.store, self.account_id, values)
            return views.custom_attribute_definition(row)

    def add_contact(
        self,
        name: str,
        *,
        email: str | None = None,
        phone_number: str | None = None,
        identifier: str | None = None,
        custom_attributes: JsonDict | None = None,
        additional_attributes: JsonDict | None = None,
    ) -> JsonDict:
        """A contact created in the UI, reachable in the sandbox inbox (`contact_created` fires)."""
        values: JsonDict = {
            "name": name,
            "email": email.lower() if email else None,
            "phone_number": phone_number,
            "identifier": identifier,
            "custom_attributes": custom_attributes or {},
            "additional_attributes": additional_attributes or {},
        }
        with self.engine.operation(Actor("user", ADMIN_ID)) as op:
            contact = contacts.add_contact(op, self.account_id, values)
            inbox = op.store.inbox(self.account_id, self.inbox_id)
            if inbox is not None:
                contacts.add_contact_inbox(op, contact, inbox, None)
            return views.contact(op.store, contact, with_contact_inboxes=True)

    def add_team(self, name: str) -> JsonDict:
        with self.engine.operation(Actor("user", ADMIN_ID)) as op:
            team = people.save_team(op.store, self.account_id, None, {"name": name})
            return views.team_record(team)

    def agent_reply(
        self, conversation_id: int, content: str, user_id: int | None = None, private: bool = False
    ) -> JsonDict:
        """An agent's outgoing reply (or private note) in the conversation with that display id."""
        author = user_id or ADMIN_ID
        with self.engine.operation(Actor("user", author)) as op:
            conv = self._conversation(conversation_id)
            message = messages.create(
                op,
                conv,
                message_type=OUTGOING,
                content=content,
                sender=Sender("User", author),
                private=private,
            )
            return views.message(op.store, message)

    def contact_message(self, conversation_id: int, content: str) -> JsonDict:
        """The contact writes in (an incoming message), as from the site's chat widget."""
        with self.engine.operation(Actor.system()) as op:
            conv = self._conversation(conversation_id)
            message = messages.create(
                op,
                conv,
                message_type=INCOMING,
                content=content,
                sender=Sender("Contact", conv.contact_id),
            )
            return views.message(op.store, message)

    def set_status(self, conversation_id: int, status: str, user_id: int | None = None) -> JsonDict:
        """An agent picks a status in the UI (toggle_status with an explicit status)."""
        with self.engine.operation(Actor("user", user_id or ADMIN_ID)) as op:
            conv = self._conversation(conversation_id)
            conversations.toggle_status(op, conv, status, None)
            return views.conversation(op.store, conv)

    def assign(
        self, conversation_id: int, assignee_id: int | None = None, team_id: int | None = None
    ) -> JsonDict:
        """Assign a team and/or an agent; with neither, the agent is unassigned."""
        with self.engine.operation(Actor("user", ADMIN_ID)) as op:
            conv = self._conversation(conversation_id)
            if team_id is not None:
                conversations.assign_team(op, conv, team_id)
            if assignee_id is not None or team_id is None:
                conversations.assign_agent(op, conv, assignee_id)
            return views.conversation(op.store, conv)

    def _conversation(self, display_id: int) -> Conversation:
        return found(
            self.store.conversation_by_display_id(self.account_id, display_id),
            f"no conversation with display_id {display_id}",
        )

    def __repr__(self) -> str:
        return f"ChatwootEmulator(account_id={self.account_id}, inbox={self.inbox_identifier!r})"
