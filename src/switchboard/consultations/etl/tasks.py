"""Scheduled ETL jobs that pull consultations and their registers from 1C (issue 6)."""

from __future__ import annotations

import procrastinate

from switchboard.core.jobs import EtlJob

blueprint = procrastinate.Blueprint()

ETL_JOBS: list[EtlJob] = []
