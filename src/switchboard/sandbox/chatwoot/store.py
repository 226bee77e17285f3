"""The emulator's state: one account, its inbox, users, contacts, conversations and webhooks.

Everything sits behind one re-entrant lock, because tests call the emulator's helpers from their
own thread while the server handles requests in another. Accessors take the lock themselves and
return live records (treat them as read-only) in new lists; the changes go through `actions.py`,
which holds the lock for a whole operation so no one sees half of it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from switchboard.sandbox.chatwoot.records import (
    API_CHANNEL,
    Account,
    AccountUser,
    AgentBot,
    Attachment,
    Contact,
    ContactInbox,
    Conversation,
    CustomAttributeDefinition,
    Inbox,
    Label,
    Message,
    PlatformApp,
    Team,
    User,
    Webhook,
)


class HasId(Protocol):
    id: int


RowT = TypeVar("RowT", bound=HasId)


class Table(Generic[RowT]):
    """Rows of one kind by id, with the id sequence of a database table."""

    def __init__(self, first_id: int = 1) -> None:
        self.rows: dict[int, RowT] = {}
        self._next = first_id

    def next_id(self) -> int:
        value = self._next
        self._next += 1
        return value

    def add(self, row: RowT) -> RowT:
        self.rows[row.id] = row
        self._next = max(self._next, row.id + 1)
        return row

    def get(self, row_id: int | None) -> RowT | None:
        return None if row_id is None else self.rows.get(row_id)

    def remove(self, row_id: int) -> None:
        self.rows.pop(row_id, None)

    def all(self) -> list[RowT]:
        return [self.rows[key] for key in sorted(self.rows)]

    def where(self, predicate: Callable[[RowT], bool]) -> list[RowT]:
        return [row for row in self.all() if predicate(row)]

    def first(self, predicate: Callable[[RowT], bool]) -> RowT | None:
        return next((row for row in self.all() if predicate(row)), None)


@dataclass(frozen=True)
class Seed:
    """What `reset()` rebuilds: the account, its API inbox, the admin, the bot and the tokens."""

    account_id: int
    account_name: str
    inbox_id: int
    inbox_name: str
    inbox_identifier: str
    hmac_token: str
    hmac_mandatory: bool
    inbox_webhook_url: str | None
    admin_name: str
    admin_email: str
    api_access_token: str
    platform_token: str
    bot_token: str


class Store:
    def __init__(self, seed: Seed) -> None:
        self.seed = seed
        self.lock = threading.RLock()
        self.reset()

    @contextmanager
    def locked(self) -> Iterator[Store]:
        with self.lock:
            yield self

    def reset(self) -> None:
        with self.lock:
            self._empty_tables()
            self._plant(self.seed)

    def _empty_tables(self) -> None:
        self.accounts: Table[Account] = Table()
        self.users: Table[User] = Table()
        self.account_users: Table[AccountUser] = Table()
        self.bots: Table[AgentBot] = Table()
        self.platform_apps: Table[PlatformApp] = Table()
        self.teams: Table[Team] = Table()
        self.labels: Table[Label] = Table()
        self.inboxes: Table[Inbox] = Table()
        self.contacts: Table[Contact] = Table()
        self.contact_inboxes: Table[ContactInbox] = Table()
        self.conversations: Table[Conversation] = Table()
        self.messages: Table[Message] = Table()
        self.attachments: Table[Attachment] = Table()
        self.webhooks: Table[Webhook] = Table()
        self.attribute_definitions: Table[CustomAttributeDefinition] = Table()
        self.display_ids: dict[int, int] = {}

    def _plant(self, seed: Seed) -> None:
        account = self.accounts.add(Account(id=seed.account_id, name=seed.account_name))
        admin = self.users.add(
            User(
                id=1,
                name=seed.admin_name,
                email=seed.admin_email,
                access_token=seed.api_access_token,
            )
        )
        self.account_users.add(
            AccountUser(id=1, account_id=account.id, user_id=admin.id, role="administrator")
        )
        self.inboxes.add(
            Inbox(
                id=seed.inbox_id,
                account_id=account.id,
                name=seed.inbox_name,
                channel_id=1,
                identifier=seed.inbox_identifier,
                hmac_token=seed.hmac_token,
                hmac_mandatory=seed.hmac_mandatory,
                webhook_url=seed.inbox_webhook_url,
                member_ids=[admin.id],
            )
        )
        self.bots.add(
            AgentBot(id=1, name="Sandbox Bot", account_id=account.id, access_token=seed.bot_token)
        )
        # The platform app may manage the seeded account, as if a super admin had granted it.
        self.platform_apps.add(
            PlatformApp(
                id=1,
                name="Sandbox Platform App",
                access_token=seed.platform_token,
                permissible_accounts={account.id},
            )
        )

    # -- accounts, users, bots -------------------------------------------------------------

    def account(self, account_id: int) -> Account | None:
        with self.lock:
            return self.accounts.get(account_id)

    def user(self, user_id: int | None) -> User | None:
        with self.lock:
            return self.users.get(user_id)

    def user_by_email(self, email: str | None) -> User | None:
        if not email:
            return None
        wanted = email.lower()
        with self.lock:
            return self.users.first(lambda user: user.email.lower() == wanted)

    def user_by_token(self, token: str) -> User | None:
        with self.lock:
            return self.users.first(lambda user: user.access_token == token)

    def bot_by_token(self, token: str) -> AgentBot | None:
        with self.lock:
            return self.bots.first(lambda bot: bot.access_token == token)

    def platform_app_by_token(self, token: str) -> PlatformApp | None:
        with self.lock:
            return self.platform_apps.first(lambda app: app.access_token == token)

    def account_user(self, account_id: int, user_id: int) -> AccountUser | None:
        with self.lock:
            return self.account_users.first(
                lambda row: row.account_id == account_id and row.user_id == user_id
            )

    def account_users_of(self, user_id: int) -> list[AccountUser]:
        with self.lock:
            return self.account_users.where(lambda row: row.user_id == user_id)

    def agents(self, account_id: int) -> list[tuple[User, AccountUser]]:
        """The account's users with their membership, ordered like `order_by_full_name`."""
        with self.lock:
            pairs = []
            for row in self.account_users.where(lambda row: row.account_id == account_id):
                user = self.users.get(row.user_id)
                if user is not None:
                    pairs.append((user, row))
            return sorted(pairs, key=lambda pair: (pair[0].name.lower(), pair[0].id))

    # -- teams, labels, inboxes, webhooks ---------------------------------------------------

    def team(self, account_id: int, team_id: int | None) -> Team | None:
        with self.lock:
            team = self.teams.get(team_id)
            return team if team is not None and team.account_id == account_id else None

    def teams_of(self, account_id: int) -> list[Team]:
        with self.lock:
            return self.teams.where(lambda team: team.account_id == account_id)

    def labels_of(self, account_id: int) -> list[Label]:
        with self.lock:
            return self.labels.where(lambda label: label.account_id == account_id)

    def inbox(self, account_id: int, inbox_id: int | None) -> Inbox | None:
        with self.lock:
            inbox = self.inboxes.get(inbox_id)
            return inbox if inbox is not None and inbox.account_id == account_id else None

    def inboxes_of(self, account_id: int) -> list[Inbox]:
        with self.lock:
            return self.inboxes.where(lambda inbox: inbox.account_id == account_id)

    def inbox_by_identifier(self, identifier: str) -> Inbox | None:
        """`Channel::Api.find_by(identifier:)`: only API inboxes are reachable by identifier."""
        with self.lock:
            return self.inboxes.first(
                lambda inbox: inbox.identifier == identifier and inbox.channel_type == API_CHANNEL
            )

    def webhook(self, account_id: int, webhook_id: int) -> Webhook | None:
        with self.lock:
            webhook = self.webhooks.get(webhook_id)
            return webhook if webhook is not None and webhook.account_id == account_id else None

    def webhooks_of(self, account_id: int) -> list[Webhook]:
        with self.lock:
            return self.webhooks.where(lambda webhook: webhook.account_id == account_id)

    # -- custom attribute definitions -------------------------------------------------------

    def attribute_definition(
        self, account_id: int, definition_id: int | None
    ) -> CustomAttributeDefinition | None:
        with self.lock:
            row = self.attribute_definitions.get(definition_id)
            return row if row is not None and row.account_id == account_id else None

    def attribute_definitions_of(self, account_id: int) -> list[CustomAttributeDefinition]:
        with self.lock:
            return self.attribute_definitions.where(lambda row: row.account_id == account_id)

    def attribute_definition_by_key(
        self, account_id: int, model: str, key: str | None
    ) -> CustomAttributeDefinition | None:
        """`custom_attribute_definitions.where(attribute_model:).find_by(attribute_key:)`."""
        with self.lock:
            return self.attribute_definitions.first(
                lambda row: (
                    row.account_id == account_id
                    and row.attribute_model == model
                    and row.attribute_key == key
                )
            )

    # -- contacts ---------------------------------------------------------------------------

    def contact(self, account_id: int, contact_id: int | None) -> Contact | None:
        with self.lock:
            contact = self.contacts.get(contact_id)
            return contact if contact is not None and contact.account_id == account_id else None

    def contacts_of(self, account_id: int) -> list[Contact]:
        with self.lock:
            return self.contacts.where(lambda contact: contact.account_id == account_id)

    def contact_by(self, account_id: int, attribute: str, value: str | None) -> Contact | None:
        """The account's contact whose `attribute` equals `value` (email ignores case)."""
        if not value:
            return None
        if attribute == "email":
            value = value.lower()
        with self.lock:
            for contact in self.contacts_of(account_id):
                current = getattr(contact, attribute)
                if attribute == "email" and current:
                    current = current.lower()
                if current == value:
                    return contact
            return None

    def contact_inbox(self, contact_inbox_id: int | None) -> ContactInbox | None:
        with self.lock:
            return self.contact_inboxes.get(contact_inbox_id)

    def contact_inbox_by_source(self, inbox_id: int, source_id: str) -> ContactInbox | None:
        with self.lock:
            return self.contact_inboxes.first(
                lambda row: row.inbox_id == inbox_id and row.source_id == source_id
            )

    def contact_inboxes_of(self, contact_id: int) -> list[ContactInbox]:
        with self.lock:
            return self.contact_inboxes.where(lambda row: row.contact_id == contact_id)

    # -- conversations and messages ----------------------------------------------------------

    def next_display_id(self, account_id: int) -> int:
        with self.lock:
            value = self.display_ids.get(account_id, 0) + 1
            self.display_ids[account_id] = value
            return value

    def conversation(self, conversation_id: int) -> Conversation | None:
        with self.lock:
            return self.conversations.get(conversation_id)

    def conversation_by_display_id(self, account_id: int, display_id: int) -> Conversation | None:
        with self.lock:
            return self.conversations.first(
                lambda conv: conv.account_id == account_id and conv.display_id == display_id
            )

    def conversations_of(self, account_id: int) -> list[Conversation]:
        with self.lock:
            return self.conversations.where(lambda conv: conv.account_id == account_id)

    def conversations_of_contact(self, contact_id: int) -> list[Conversation]:
        with self.lock:
            return self.conversations.where(lambda conv: conv.contact_id == contact_id)

    def message(self, message_id: int) -> Message | None:
        with self.lock:
            return self.messages.get(message_id)

    def messages_of(self, conversation_id: int) -> list[Message]:
        with self.lock:
            return self.messages.where(lambda message: message.conversation_id == conversation_id)

    def attachment_by_key(self, key: str) -> Attachment | None:
        with self.lock:
            return self.attachments.first(lambda attachment: attachment.key == key)
