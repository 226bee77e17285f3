"""Keeping `cons.users` in step with the accounting system's users (seed 001 `pull_users_cl`)."""

from __future__ import annotations

from dataclasses import dataclass

import structlog
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert

from switchboard.consultations.models import Manager
from switchboard.core.db import Database
from switchboard.integrations.ports import StaffMember, StaffSource

log = structlog.get_logger(__name__)


@dataclass
class StaffSyncReport:
    received: int = 0
    inserted: int = 0
    updated: int = 0
    skipped: int = 0


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


async def sync_staff(source: StaffSource, database: Database) -> StaffSyncReport:
    """Active users become managers; users that are deleted, invalid or service accounts are not
    added, and managers who became so keep their row with the flag (their history stays)."""
    report = StaffSyncReport()
    async for page in source.staff():
        report.received += len(page)
        async with database.transaction() as session:
            known = set(
                await session.scalars(
                    select(Manager.cl_ref_key).where(
                        Manager.cl_ref_key.in_([member.ref_key for member in page])
                    )
                )
            )
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
            if rows:
                statement = insert(Manager).values(rows)
                await session.execute(
                    statement.on_conflict_do_update(
                        index_elements=[Manager.cl_ref_key],
                        set_={
                            name: statement.excluded[name]
                            for name in rows[0]
                            if name != "cl_ref_key"
                        }
                        | {"updated_at": func.now()},
                    )
                )
    log.info("staff synced", **report.__dict__)
    return report
