"""Admin views of the outbox, its failures and the ETL jobs' state."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

TaskStatus = Literal["pending", "done", "failed", "cancelled"]


class OutboxTaskRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    operation: str = Field(examples=["onec.create_consultation"])
    target: str = Field(examples=["onec"])
    cons_id: str | None
    status: TaskStatus
    attempts: int = Field(description="Attempts made so far")
    next_attempt_at: datetime = Field(description="When a pending task is tried next")
    last_error: str | None = Field(description="What the peer answered last time, if it failed")
    payload: dict[str, Any]
    result: dict[str, Any] | None
    created_at: datetime
    done_at: datetime | None


class OutboxPage(BaseModel):
    total: int
    counts: dict[str, int] = Field(description="Tasks of the whole outbox by status")
    items: list[OutboxTaskRead]


class FailureRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    task_id: int
    operation: str
    target: str
    attempt: int
    error_kind: str = Field(examples=["PeerUnavailable"])
    status_code: int | None
    message: str
    will_retry: bool = Field(description="False: the task waits for a person (retry or cancel)")
    created_at: datetime


class FailurePage(BaseModel):
    total: int
    items: list[FailureRead]


class RetryOutcome(BaseModel):
    task: OutboxTaskRead
    outcome: Literal["done", "pending", "failed", "skipped", "gone"] = Field(
        description="What this attempt came to: done, or still pending (retried later), or failed"
    )
    error: str | None = None


class EtlRunRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    status: str = Field(examples=["ok"])
    started_at: datetime
    finished_at: datetime | None
    rows: int | None
    error: str | None


class EtlJobState(BaseModel):
    job: str = Field(examples=["pull_cons_cl"])
    last_run: EtlRunRead | None
    last_success: EtlRunRead | None
    failures_last_24h: int


class SyncCursor(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    entity_name: str = Field(examples=["cons"])
    last_synced_at: datetime | None
    last_synced_key: str | None
    updated_at: datetime


class EtlState(BaseModel):
    jobs: list[EtlJobState]
    cursors: list[SyncCursor]


class EtlRunQueued(BaseModel):
    job: str
    queued: bool = Field(description="False when a copy of the job was already waiting")
