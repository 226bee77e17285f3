"""The operator panel's rules: who sees which conversations, the lists with unread counts,
transfers and the routing audit. Functions take the caller's session and never commit.

- An operator sees and answers only the conversations assigned to them; supervisors and
  administrators see every conversation (and the routing audit of each).
- Opening a conversation marks it opened by its assignee (no escalation by timeout from then
  on) and read.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.core.errors import Conflict, Forbidden, NotFound, Unprocessable
from switchboard.messenger.accounts.repository import StaffRecord
from switchboard.messenger.conversations import repository as conversations_repository
from switchboard.messenger.conversations import views
from switchboard.messenger.conversations.schemas import ConversationSummary, MessageView
from switchboard.messenger.operator import repository
from switchboard.messenger.operator.repository import Access
from switchboard.messenger.operator.schemas import (
    HISTORY_LIMIT,
    LIST_LIMIT,
    AssignmentView,
    BranchView,
    StaffLoad,
)
from switchboard.messenger.routing.service import RoutingError

#: Roles that see every conversation.
OVERSEERS = frozenset({"supervisor", "admin"})
ACTIVE = ("open", "pending")


def oversees(staff: StaffRecord) -> bool:
    return staff.role in OVERSEERS


def _named(row: dict[str, Any], prefix: str) -> dict[str, Any] | None:
    found = row.get(f"{prefix}_id")
    return None if found is None else {"id": found, "name": row.get(f"{prefix}_name")}


async def conversations(
    session: AsyncSession, staff: StaffRecord, *, scope: str, statuses: Sequence[str] | None
) -> list[ConversationSummary]:
    """`mine`: assigned to `staff`; `all`: everyone's (supervisors and administrators only)."""
    if scope == "all" and not oversees(staff):
        raise Forbidden(
            "scope_forbidden", "Only supervisors and administrators see every conversation."
        )
    rows = await repository.summaries(
        session,
        assignee_id=staff.id if scope == "mine" else None,
        statuses=list(statuses or ACTIVE),
        limit=LIST_LIMIT,
    )
    return [views.summary_of(row) for row in rows]


async def summary(session: AsyncSession, conversation_id: int) -> ConversationSummary:
    found = await views.conversation_summary(session, conversation_id)
    if found is None:
        raise NotFound("conversation_not_found", "There is no such conversation.")
    return found


async def readable(session: AsyncSession, staff: StaffRecord, conversation_id: int) -> Access:
    """The conversation if `staff` may read and answer it: 404 if none, 403 if not theirs."""
    found = await repository.access(session, conversation_id)
    if found is None:
        raise NotFound("conversation_not_found", "There is no such conversation.")
    if not oversees(staff) and found.assignee_id != staff.id:
        raise Forbidden(
            "conversation_forbidden", "This conversation is assigned to another operator."
        )
    return found


async def history(
    session: AsyncSession,
    conversation_id: int,
    after: int,
    links: views.AttachmentLinks | None,
    *,
    now: datetime,
) -> list[MessageView]:
    """The conversation's messages after message `after`, oldest first (files with fresh
    signed links)."""
    rows = await conversations_repository.messages_after(
        session, conversation_id, after, HISTORY_LIMIT
    )
    return [views.message_view(row, links, now=now) for row in rows]


async def audit(session: AsyncSession, conversation_id: int) -> list[AssignmentView]:
    return [
        AssignmentView.model_validate(
            {
                **row,
                "candidates": list(row["candidates"] or []),
                "branch": _named(row, "branch"),
                "from_staff": _named(row, "from_staff"),
                "to_staff": _named(row, "to_staff"),
                "actor": {"id": row["actor_staff_id"], "name": row["actor_name"]}
                if row["actor_staff_id"] is not None
                else None,
            }
        )
        for row in await repository.assignments(session, conversation_id)
    ]


async def staff_loads(session: AsyncSession) -> list[StaffLoad]:
    return [
        StaffLoad.model_validate({**row, "branch": _named(row, "branch")})
        for row in await repository.staff_loads(session)
    ]


async def branches(session: AsyncSession) -> list[BranchView]:
    return [BranchView.model_validate(row) for row in await repository.branches(session)]


def routing_problem(error: RoutingError) -> Exception:
    """The API's answer to a routing request that cannot be carried out."""
    if error.code == "conversation_not_found":
        return NotFound("conversation_not_found", "There is no such conversation.")
    if error.code == "branch_not_found":
        return Unprocessable("branch_not_found", "There is no such branch.")
    if error.code == "staff_not_assignable":
        return Unprocessable("staff_not_assignable", "This staff member cannot take conversations.")
    if error.code == "conversation_closed":
        return Conflict(
            "conversation_finished", "The conversation is resolved or closed; reopen it first."
        )
    return Conflict(error.code, "The conversation cannot be transferred now.")
