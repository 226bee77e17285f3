"""What the operator API reads and answers (the panel's JSON, under `/api/messenger`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from switchboard.messenger.conversations.schemas import (
    ClientId,
    ConversationSummary,
    MessageView,
    Named,
    storable,
)

#: Conversations a list answers at most (the most recently updated first).
LIST_LIMIT = 200
#: Messages of a conversation answered per request (after `after`).
HISTORY_LIMIT = 200
MAX_TEXT = 4000
MAX_ATTACHMENTS = 10

Status = Literal["open", "pending", "resolved", "closed"]
Scope = Literal["mine", "all"]
DbId = Annotated[int, Field(ge=1, le=2**63 - 1)]
StaffText = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=MAX_TEXT), AfterValidator(storable)
]


class AssignmentView(BaseModel):
    """One routing decision (the audit): who got it, by which policy, among whom, why."""

    id: int
    at: datetime
    reason: str
    policy: str
    branch: Named | None
    from_staff: Named | None
    to_staff: Named | None
    actor: Named | None
    branch_source: str | None
    candidates: list[dict[str, Any]]
    explanation: str


class ConversationDetail(BaseModel):
    conversation: ConversationSummary
    messages: list[MessageView] = Field(description="After `after`, oldest first (at most 200)")
    assignments: list[AssignmentView] | None = Field(
        description="The routing audit, newest last: supervisors and administrators only "
        "(null for operators)"
    )


class StaffMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: StaffText = Field("", description="As typed; shown as safe Markdown")
    client_id: ClientId = Field(description="The panel's own id of this message: sent once")
    attachments: list[DbId] = Field(
        default_factory=list,
        max_length=MAX_ATTACHMENTS,
        description="Ids of files this staff member uploaded (`POST /api/messenger/attachments`)",
    )

    @model_validator(mode="after")
    def _not_empty(self) -> Self:
        if not self.text and not self.attachments:
            raise ValueError("a message needs text or an attachment")
        return self


class TypingChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    typing: bool = True


class SeenChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    delivered_up_to: DbId | None = Field(None, description="The visitor's messages up to this id")
    read_up_to: DbId | None = Field(None, description="The visitor's messages up to this id")


class TransferRequest(BaseModel):
    """Exactly one of: `branch_id` (its first free operator) or `staff_id` (a named one)."""

    model_config = ConfigDict(extra="forbid")

    branch_id: DbId | None = None
    staff_id: DbId | None = None

    @model_validator(mode="after")
    def _one_target(self) -> Self:
        if (self.branch_id is None) == (self.staff_id is None):
            raise ValueError("give either branch_id or staff_id")
        return self


class StaffLoad(BaseModel):
    """A staff member who can take conversations, for a manual transfer."""

    id: int
    name: str
    role: Literal["operator", "supervisor"]
    branch: Named | None
    status: Literal["online", "away", "busy", "offline"]
    capacity: int
    load: int = Field(description="Their open and pending conversations")


class BranchView(BaseModel):
    id: int
    code: str
    name: str
    online: int = Field(description="Operators online in it now")


class EventsPage(BaseModel):
    events: list[dict[str, Any]]
    last_event_id: str
