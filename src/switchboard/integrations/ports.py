"""What business code needs from external systems, in our own types.

A port is a typed Protocol; each external system that can fill it has an adapter. Business code
takes a port, so a second accounting system or chat backend is one more adapter, not a rewrite.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Collection, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Protocol

from switchboard.core.http.errors import PeerBusinessError


class ReferenceCatalog(enum.StrEnum):
    """The reference catalogs behind the booking form (seed 001's dictionaries)."""

    PO_TYPES = "po_types"
    PO_SECTIONS = "po_sections"
    QUESTION_CATEGORIES = "question_categories"
    QUESTIONS = "questions"
    KNOWLEDGE_BASE = "knowledge_base"
    INTERFERENCE = "interference"


@dataclass(frozen=True, slots=True)
class CatalogItem:
    """One element of a reference catalog; `fields` holds the catalog's own attributes under
    our column names (`owner_key`, `language`, …)."""

    ref_key: uuid.UUID
    code: str | None
    description: str
    deletion_mark: bool
    fields: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StaffMember:
    """A person in the accounting system who may consult clients."""

    ref_key: uuid.UUID
    code: str | None
    name: str
    email: str | None
    deletion_mark: bool
    invalid: bool
    service_account: bool

    @property
    def active(self) -> bool:
        return not (self.deletion_mark or self.invalid or self.service_account)


class ReferenceSource(Protocol):
    """Where the reference catalogs come from (1C)."""

    def catalog(self, catalog: ReferenceCatalog) -> AsyncIterator[list[CatalogItem]]:
        """Every element, a page at a time; elements the platform must not show are omitted."""

    async def catalog_keys(self, catalog: ReferenceCatalog) -> set[uuid.UUID]:
        """The keys of every element `catalog` yields now, read at once (not paged)."""

    async def catalog_items(
        self, catalog: ReferenceCatalog, keys: Collection[uuid.UUID]
    ) -> list[CatalogItem]:
        """The elements with these keys that `catalog` yields now (absent ones are left out)."""


class StaffSource(Protocol):
    def staff(self) -> AsyncIterator[list[StaffMember]]:
        """Every user of the accounting system, a page at a time."""


class HealthCheck(Protocol):
    name: str

    async def ping(self) -> None:
        """Raise an IntegrationError when the system cannot serve us."""


# --- consultations: what the booking flow, the ETL and the webhooks need from 1C and Chatwoot ---


class DailyLimitReached(PeerBusinessError):
    """The accounting system refused a consultation: the subscriber's daily limit is used up."""


@dataclass(frozen=True, slots=True)
class CounterpartyCard:
    """An owner client as the accounting system should know it (a 1C `Контрагент`)."""

    inn: str
    code_abonent: str | None
    #: The counterparty's name in 1C: `{prefix} {company or name} {code} ({inn})`.
    title: str
    phone_number: str | None = None
    email: str | None = None
    country: str | None = None
    region: str | None = None
    city: str | None = None
    #: Set to update a known counterparty; None creates one.
    ref_key: uuid.UUID | None = None


@dataclass(frozen=True, slots=True)
class Counterparty:
    ref_key: uuid.UUID
    inn: str | None
    code_abonent: str | None
    parent_key: uuid.UUID | None
    deletion_mark: bool


@dataclass(frozen=True, slots=True)
class CounterpartyRecord:
    """A counterparty of our clients' folder as the accounting system holds it (read by the
    clients ETL). Empty values of the accounting system are None; `inn` is digits only."""

    ref_key: uuid.UUID
    inn: str | None
    #: The subscriber code without leading zeros; None when the system holds none (0).
    code_abonent: str | None
    #: The counterparty's name, masked as `{prefix} {company or name} {code} ({inn})` as a rule.
    title: str
    parent_key: uuid.UUID | None
    deletion_mark: bool
    #: As the system holds them (the phone's digits or its presentation); not normalised.
    phone_number: str | None = None
    email: str | None = None
    country: str | None = None
    region: str | None = None
    city: str | None = None
    #: The subscription (`Подписка`), its first and last day (the system's calendar), its plan.
    subscription: str | None = None
    subscription_start: date | None = None
    subscription_end: date | None = None
    tariff_key: uuid.UUID | None = None
    tariff_period_key: uuid.UUID | None = None


@dataclass(frozen=True, slots=True)
class QuestionLine:
    """One row of a consultation's questions and answers (1C tabular sections)."""

    line_number: int
    question: str | None
    answer: str | None
    po_type_key: uuid.UUID | None = None
    po_section_key: uuid.UUID | None = None
    interference_key: uuid.UUID | None = None
    manager_help_key: uuid.UUID | None = None
    repeat_request: bool = False


@dataclass(frozen=True, slots=True)
class ConsultationDocument:
    """A consultation as the accounting system records it (1C `Document_ТелефонныйЗвонок`).

    `ref_key` is chosen by us before the first attempt, so creating it again after a lost answer
    finds the same document instead of making a second one.
    """

    ref_key: uuid.UUID
    subscriber_key: uuid.UUID
    manager_key: uuid.UUID | None
    scheduled_at: datetime
    created_at: datetime
    subject: str
    description: str
    comment: str
    subscriber_title: str
    contact_how: str
    #: SITE, TELEGRAM or CALL_CENTER.
    channel: str
    language: str | None = None
    category_key: uuid.UUID | None = None
    question_key: uuid.UUID | None = None
    importance: int | None = None
    author_key: uuid.UUID | None = None


@dataclass(frozen=True, slots=True)
class ConsultationChanges:
    """What may change on a recorded consultation; None leaves a field as it is."""

    manager_key: uuid.UUID | None = None
    scheduled_at: datetime | None = None
    ended_at: datetime | None = None
    description: str | None = None
    #: One of our statuses (new/open/pending/resolved/closed/cancelled).
    status: str | None = None


@dataclass(frozen=True, slots=True)
class ConsultationRecord:
    """A consultation as read back from the accounting system."""

    ref_key: uuid.UUID
    number: str | None
    subscriber_key: uuid.UUID | None
    manager_key: uuid.UUID | None
    author_key: uuid.UUID | None
    created_at: datetime | None
    changed_at: datetime | None
    scheduled_at: datetime | None
    ended_at: datetime | None
    #: Our status derived from 1C's fields: cancelled / closed / open / pending / new.
    status: str
    closed_without_consultation: bool
    deletion_mark: bool
    subject: str | None = None
    description: str | None = None
    language: str | None = None
    category_key: uuid.UUID | None = None
    question_key: uuid.UUID | None = None
    questions: tuple[QuestionLine, ...] = ()


@dataclass(frozen=True, slots=True)
class RedateRecord:
    """A consultation moved to another date (`РегистрацияПереносаКонсультации`)."""

    period: datetime
    document_key: uuid.UUID
    subscriber_key: uuid.UUID | None
    manager_key: uuid.UUID | None
    old_date: datetime | None
    new_date: datetime | None
    comment: str | None = None


@dataclass(frozen=True, slots=True)
class RatingRecord:
    """One answer of a client's rating (`ОценкаКонсультацийПоЗаявкам`)."""

    period: datetime
    document_key: uuid.UUID
    counterparty_key: uuid.UUID | None
    manager_key: uuid.UUID
    question_number: int
    rating: int
    question: str | None = None
    comment: str | None = None
    sent_to_base: bool = False
    #: `ДатаОценки`; None where 1C holds its empty date (old records).
    rated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class CallRecord:
    """A manager's attempt to reach the client (`РегистрацияДозвона`)."""

    period: datetime
    document_key: uuid.UUID
    subscriber_key: uuid.UUID | None
    manager_key: uuid.UUID


@dataclass(frozen=True, slots=True)
class QueueClosingRecord:
    """A manager's queue closed (or reopened) for one day (`ЗакрытиеОчередиНаКонсультанта`)."""

    day: date
    manager_key: uuid.UUID
    closed: bool


@dataclass(frozen=True, slots=True)
class ConsultantProfile:
    """What the accounting system says about a consultant beyond the user catalog."""

    manager_key: uuid.UUID
    limit: int | None
    #: Working hours: local times of the accounting system's zone (`ODATA_TIMEZONE`).
    start_hour: time | None
    end_hour: time | None
    #: One of `departments` (the first by name) for callers that keep one.
    department: str | None
    languages: frozenset[str]
    category_keys: frozenset[uuid.UUID]
    #: Every department the consultant belongs to (1C allows several).
    departments: frozenset[str] = frozenset()


class AccountingSystem(Protocol):
    """Consultations in the accounting system (1C:ЦЛ). Writes are safe to repeat."""

    async def find_counterparty(self, *, inn: str, code_abonent: str | None) -> Counterparty | None:
        """The live counterparty with this INN (and code, when given) in our clients' folder."""

    async def save_counterparty(self, card: CounterpartyCard) -> Counterparty:
        """Create the counterparty (in our clients' folder), or update `card.ref_key`'s."""

    def counterparties(self) -> AsyncGenerator[list[CounterpartyRecord], None]:
        """Every counterparty of our clients' folder (deletion-marked ones too, flagged), a page
        at a time, oldest code first."""

    async def create_consultation(self, document: ConsultationDocument) -> ConsultationRecord:
        """Record a new consultation; DailyLimitReached when the base refuses (limit)."""

    async def update_consultation(
        self, ref_key: uuid.UUID, changes: ConsultationChanges
    ) -> ConsultationRecord: ...

    async def delete_consultation(self, ref_key: uuid.UUID) -> None:
        """Mark the document deleted (frees its place in the daily limit); absent is fine."""

    async def consultation(self, ref_key: uuid.UUID) -> ConsultationRecord | None: ...

    async def record_redate(self, redate: RedateRecord) -> None: ...

    async def record_rating(self, rating: RatingRecord) -> None: ...

    def consultations_changed_since(
        self, since: datetime, *, only_our_clients: bool = True
    ) -> AsyncGenerator[list[ConsultationRecord], None]:
        """Consultations changed at or after `since`, ordered by change time then key."""

    async def consultations_by_keys(
        self, keys: Collection[uuid.UUID]
    ) -> list[ConsultationRecord]: ...

    def redates_since(self, since: datetime) -> AsyncGenerator[list[RedateRecord], None]: ...

    def ratings_since(self, since: datetime) -> AsyncGenerator[list[RatingRecord], None]: ...

    def calls_since(self, since: datetime) -> AsyncGenerator[list[CallRecord], None]: ...

    async def queue_closings(self, day: date) -> list[QueueClosingRecord]: ...

    async def consultant_profiles(self) -> list[ConsultantProfile]: ...


@dataclass(frozen=True, slots=True)
class ContactCard:
    """A client as the chat should know it (a Chatwoot contact)."""

    #: Our client id: the contact's identifier.
    identifier: str
    name: str
    email: str | None = None
    phone_number: str | None = None
    #: Contact custom attributes: code_abonent, inn_pinfl, client_type, region, country.
    attributes: Mapping[str, object] = field(default_factory=dict)
    #: Contact additional attributes: city, country, country_code, company_name.
    additional: Mapping[str, object] = field(default_factory=dict)
    #: The contact's id in the website inbox when we already hold one (`clients.source_id`):
    #: `ensure_contact` then keeps it, so the widget's session and history stay the same.
    source_id: str | None = None


@dataclass(frozen=True, slots=True)
class ChatContact:
    contact_id: int | None
    #: The contact's id in the website inbox (the widget connects with it).
    source_id: str
    pubsub_token: str | None


@dataclass(frozen=True, slots=True)
class ChatConversation:
    conversation_id: int
    status: str
    assignee_id: int | None = None


@dataclass(frozen=True, slots=True)
class ChatAgent:
    agent_id: int
    name: str
    email: str | None
    manager_key: uuid.UUID | None


class ChatDesk(Protocol):
    """Conversations with clients in the chat system (Chatwoot). Writes are safe to repeat."""

    async def ensure_contact(self, card: ContactCard) -> ChatContact:
        """The contact for `card.identifier` in the website inbox, created when missing."""

    async def update_contact(self, contact_id: int, card: ContactCard) -> None: ...

    async def open_conversation(
        self,
        contact: ChatContact,
        *,
        reference: str,
        attributes: Mapping[str, object],
        first_attempt: bool = False,
    ) -> ChatConversation:
        """A conversation for our consultation `reference`; the existing one when it was opened
        before (so a retry after a lost answer opens no second one). `first_attempt` says no
        attempt was made before for this reference: there is nothing to look for."""

    async def assign(
        self, conversation_id: int, *, agent_id: int | None = None, team_id: int | None = None
    ) -> None: ...

    async def set_status(self, conversation_id: int, status: str) -> None:
        """open / pending / resolved (Chatwoot's toggle_status)."""

    async def set_attributes(self, conversation_id: int, attributes: Mapping[str, object]) -> None:
        """Merge conversation custom attributes."""

    async def add_labels(self, conversation_id: int, labels: Collection[str]) -> None: ...

    async def post_message(self, conversation_id: int, text: str, *, reference: str) -> int:
        """A message the client sees (outgoing, not private); posted once per `reference`."""

    async def delete_conversation(self, conversation_id: int) -> None: ...

    async def team_id(self, name: str) -> int | None: ...

    async def agents(self) -> list[ChatAgent]: ...

    async def create_agent(self, *, name: str, email: str, manager_key: uuid.UUID) -> ChatAgent: ...

    async def add_inbox_member(self, agent_id: int) -> None: ...
