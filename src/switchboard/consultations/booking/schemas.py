"""What the consultation endpoints take and return (seed 001's field names)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from switchboard.consultations.clients.schemas import ClientCreate
from switchboard.consultations.models import ACCOUNTING, TECH_SUPPORT

Status = Literal["new", "open", "pending", "resolved", "closed", "cancelled"]
Language = Literal["ru", "uz"]
Source = Literal["SITE", "TELEGRAM", "CALL_CENTER"]
#: A consultation id: our own bookings are a uuid4, rows that came from 1C `cl_<Ref_Key>` or
#: `cl_all_<Ref_Key>`.
CONS_ID_PATTERN = (
    r"^(cl_all_|cl_)?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)


def _canonical_type(value: Any) -> Any:
    """'учета' and 'учёта' are the same type; people (and old fronts) write both."""
    if isinstance(value, str):
        spelled = " ".join(value.split())
        if spelled.lower() == ACCOUNTING.lower().replace("ё", "е"):
            return ACCOUNTING
        return spelled
    return value


ConsultationType = Annotated[
    Literal["Техническая поддержка", "Консультация по ведению учёта"],
    BeforeValidator(_canonical_type),
    Field(
        description=f"`{TECH_SUPPORT}` (the chat team, no 1C document) or `{ACCOUNTING}` "
        "(a consultant, a 1C document, at most 3 a day per subscriber)"
    ),
]

GUID_EXAMPLE = "8d04ce3c-6360-11e9-dd92-fa163e8ba11d"


class ConsultationFields(BaseModel):
    """The consultation part of a booking."""

    model_config = ConfigDict(extra="forbid")

    consultation_type: ConsultationType
    start_date: datetime | None = Field(
        None,
        description="When the client wants the consultation. Without a zone it is the local time "
        "of the 1C base (ODATA_TIMEZONE). Omitted: as soon as possible. It may not lie in the "
        "past (a few minutes of clock skew are forgiven) nor beyond MAX_FUTURE_CONSULTATION_DAYS; "
        "technical support outside its working hours moves to the next working time.",
        examples=["2026-12-01T10:00:00+05:00"],
    )
    comment: str | None = Field(None, max_length=4000, examples=["Не проводится выписка банка"])
    lang: Language = Field("ru", description="The language of the consultation and its messages")
    po_type_key: uuid.UUID | None = Field(None, description="Kind of software (dict po-types)")
    po_section_key: uuid.UUID | None = Field(
        None, description="Section of that software (dict po-sections)"
    )
    category_key: uuid.UUID | None = Field(
        None, description="Question category (dict online-question/categories)"
    )
    question_key: uuid.UUID | None = Field(
        None, description="Question (dict online-questions); must belong to `category_key`"
    )
    topic: str | None = Field(None, max_length=500, examples=["Банковская выписка"])
    source: Source = Field("SITE", description="Where the booking comes from")
    importance: int | None = Field(
        None, ge=1, le=3, description="1 low, 2 normal, 3 high (1C `Важность`)"
    )


class ConsultationWithClient(BaseModel):
    """A booking by a client who may be new: the client is found or created first."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "client": {
                        "email": "aziza@example.uz",
                        "phone_number": "+998901234567",
                        "name": "Азиза Каримова",
                        "company_name": "ООО Бахор",
                        "org_inn": "305123456",
                        "code_abonent": "10245",
                        "is_parent": True,
                    },
                    "consultation": {
                        "consultation_type": ACCOUNTING,
                        "start_date": "2026-12-01T10:00:00+05:00",
                        "comment": "Не проводится выписка банка",
                        "lang": "ru",
                        "category_key": GUID_EXAMPLE,
                        "source": "SITE",
                    },
                }
            ]
        },
    )

    client: ClientCreate
    consultation: ConsultationFields


class ConsultationCreate(ConsultationFields):
    """A booking by a known client."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "client_id": "0b6f1c9e-2d1a-4d8e-9a51-7c2f0e4b9a10",
                    "consultation_type": TECH_SUPPORT,
                    "comment": "Не открывается база",
                    "lang": "uz",
                    "source": "TELEGRAM",
                }
            ]
        },
    )

    client_id: uuid.UUID = Field(description="The client (POST /api/clients gives it)")


class ConsultationUpdate(BaseModel):
    """Fields of a consultation that may change; absent fields stay as they are."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"status": "pending", "comment": "Перезвонить после 15:00"}]
        },
    )

    status: Status | None = Field(
        None, description="new, open, pending, resolved or closed (cancel has its own endpoint)"
    )
    start_date: datetime | None = Field(None, description="Checked like the booking's date")
    end_date: datetime | None = None
    comment: str | None = Field(None, max_length=4000)
    importance: int | None = Field(None, ge=1, le=3)
    topic: str | None = Field(None, max_length=500)


class ManagerRef(BaseModel):
    manager_key: uuid.UUID
    name: str | None = Field(None, examples=["Алишер Каримов"])


class QueueInfo(BaseModel):
    """Where the consultation stands in its manager's queue."""

    position: int = Field(description="1 = next in line", examples=[3])
    before: int = Field(description="Consultations ahead of this one", examples=[2])
    wait_minutes_min: int | None = Field(None, examples=[20])
    wait_minutes_max: int | None = Field(None, examples=[30])
    wait_text: str | None = Field(None, examples=["от 20 до 30 минут"])


class ConsultationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    cons_id: str = Field(examples=["1f0c3a52-8f7e-4d59-9a77-2b1d8f6c0e41"])
    cl_ref_key: uuid.UUID | None = Field(
        description="The 1C document (`Document_ТелефонныйЗвонок`), once 1C has recorded it"
    )
    number: str | None = Field(description="The 1C document's number", examples=["ЦЛ00012345"])
    client_id: uuid.UUID | None
    client_key: uuid.UUID | None = Field(description="The owner's 1C counterparty")
    status: Status
    consultation_type: str | None
    manager_key: uuid.UUID | None
    manager_name: str | None
    create_date: datetime | None
    start_date: datetime | None
    end_date: datetime | None
    denied: bool = Field(description="Closed without a consultation (cancelled)")
    source: str | None
    lang: str | None
    topic: str | None
    comment: str | None
    importance: int | None
    po_type_key: uuid.UUID | None
    po_section_key: uuid.UUID | None
    category_key: uuid.UUID | None
    question_key: uuid.UUID | None
    chatwoot_conversation_id: int | None
    chatwoot_source_id: str | None
    created_at: datetime
    updated_at: datetime


class ChatwootWidget(BaseModel):
    """What the website's chat needs to join the consultation's conversation."""

    base_url: str | None = Field(examples=["https://chat.example.uz"])
    account_id: int | None
    inbox_id: int | None
    inbox_identifier: str | None = Field(description="For Chatwoot's public (client) API")
    conversation_id: int | None
    source_id: str | None = Field(description="The contact's id in the inbox")
    pubsub_token: str | None = Field(description="The contact's real-time token")


class ConsultationResponse(BaseModel):
    """The booking's answer. Ids of Chatwoot and 1C are null when they did not answer in time;
    the platform keeps retrying and fills them in (read the consultation again)."""

    cons_id: str
    client_id: uuid.UUID | None
    cl_ref_key: uuid.UUID | None
    number: str | None
    status: Status
    start_date: datetime | None
    manager: ManagerRef | None
    queue: QueueInfo | None
    chatwoot_conversation_id: int | None
    chatwoot_source_id: str | None
    chatwoot_pubsub_token: str | None
    chatwoot_account_id: int | None
    chatwoot_inbox_identifier: str | None
    chatwoot: ChatwootWidget
    message: str = Field(description="For the client, in the consultation's language")
    consultation: ConsultationRead


class ConsultationPage(BaseModel):
    total: int
    skip: int
    limit: int
    items: list[ConsultationRead]


class CallRead(BaseModel):
    period: datetime = Field(description="When the manager called")
    manager_key: uuid.UUID
    manager_name: str | None
    client_key: uuid.UUID | None


class RedateCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"new_date": "2026-12-02T11:00:00+05:00", "comment": "Клиент попросил"}]
        },
    )

    new_date: datetime = Field(description="Checked like the booking's date")
    comment: str | None = Field(None, max_length=1000)
    manager_key: uuid.UUID | None = Field(
        None, description="Who moved it (a 1C user's GUID); default: the consultation's manager"
    )


class RedateRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    period: datetime = Field(description="When it was moved")
    old_date: datetime | None
    new_date: datetime | None
    manager_key: uuid.UUID | None
    comment: str | None


class RatingAnswerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question_number: int = Field(ge=1, le=100, examples=[1])
    rating: int = Field(ge=1, le=5, description="1 (bad) … 5 (excellent)", examples=[5])
    question: str | None = Field(None, max_length=500, examples=["Насколько полезной была помощь?"])
    comment: str | None = Field(None, max_length=2000)


class RatingRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"answers": [{"question_number": 1, "rating": 5, "comment": "Спасибо!"}]}]
        },
    )

    answers: list[RatingAnswerIn] = Field(min_length=1, max_length=20)
    manager_key: uuid.UUID | None = Field(
        None, description="The manager rated (a 1C user's GUID); default: the consultation's"
    )


class RatingAnswerRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    question_number: int
    rating: int
    question: str | None
    comment: str | None
    manager_key: uuid.UUID
    rating_date: datetime | None


class RatingSummary(BaseModel):
    average: float | None = Field(description="Mean of the answers' ratings", examples=[4.5])
    count: int
    answers: list[RatingAnswerRead]


HistoryKind = Literal["status", "redate", "rating", "call"]


class HistoryEvent(BaseModel):
    at: datetime
    kind: HistoryKind
    details: dict[str, Any] = Field(
        examples=[{"old_status": "open", "new_status": "resolved", "source": "chatwoot"}]
    )


class ConsultationHistory(BaseModel):
    cons_id: str
    events: list[HistoryEvent] = Field(description="Oldest first")
