"""Keeping `cons.users` in step with the accounting system's users (seed 001 `pull_users_cl`)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.consultations.managers import repository
from switchboard.integrations.ports import StaffMember


@dataclass
class StaffSyncReport:
    received: int = 0
    inserted: int = 0
    updated: int = 0
    skipped: int = 0

    def add(self, other: StaffSyncReport) -> None:
        self.received += other.received
        self.inserted += other.inserted
        self.updated += other.updated
        self.skipped += other.skipped


def _values(member: StaffMember) -> dict[str, object]:
    return {
        "cl_ref_key": member.ref_key,
        "code": member.code,
        "description": member.name,
        "email": member.email,
        "deletion_mark": member.deletion_mark,
        "invalid": member.invalid,
        "service_account": member.service_account,
    }


async def apply_staff_page(session: AsyncSession, page: list[StaffMember]) -> StaffSyncReport:
    """Active users become managers; users that are deleted, invalid or service accounts are not
    added, and managers who became so keep their row with the flag (their history stays)."""
    report = StaffSyncReport(received=len(page))
    known = await repository.known_ref_keys(session, [member.ref_key for member in page])
    rows = []
    for member in page:
        if member.ref_key in known:
            report.updated += 1
        elif member.active:
            report.inserted += 1
        else:
            report.skipped += 1
            continue
        rows.append(_values(member))
    await repository.upsert(session, rows)
    return report
