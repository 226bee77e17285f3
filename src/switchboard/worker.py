"""The table of contents of background work, read from the domains."""

from __future__ import annotations

import procrastinate

from switchboard import domains

BLUEPRINTS: list[procrastinate.Blueprint] = domains.blueprints()

#: ETL jobs by the name `switchboard etl <name>` knows them: (the job, its foreground runner).
ETL_JOBS = domains.etl_jobs()
