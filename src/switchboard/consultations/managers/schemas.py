"""What the manager endpoints return: load, availability, queue place and expected wait."""

from __future__ import annotations

import uuid
from datetime import time
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue

Language = Literal["ru", "uz"]

MANAGER_EXAMPLE = "8d04ce3c-6360-11e9-dd92-fa163e8ba11d"
WAIT_EXAMPLE: dict[str, JsonValue] = {
    "queue_position": 5,
    "average_duration_minutes": 5,
    "estimated_wait_minutes_min": 20,
    "estimated_wait_minutes_max": 60,
    "estimated_wait_minutes": 60,
    "estimated_wait_hours": 1,
    "show_range": True,
    "text": "от 20 до 60 минут",
}


class WaitTimeRead(BaseModel):
    """The expected wait (seed 001): `before` = consultations ahead = position − 1; with the
    manager's 30-day average closing time under 15 minutes the wait is a range
    before × average … before × 15, otherwise one value before × average."""

    model_config = ConfigDict(json_schema_extra={"examples": [WAIT_EXAMPLE]})

    queue_position: int = Field(description="1-based place in the manager's queue")
    average_duration_minutes: int = Field(
        description="The manager's average closing time over the last 30 days (15 without data)"
    )
    estimated_wait_minutes_min: int
    estimated_wait_minutes_max: int
    estimated_wait_minutes: int = Field(description="The figure to show (the range's top)")
    estimated_wait_hours: int = Field(description="The same in whole hours (at least 1 if > 0)")
    show_range: bool = Field(description="Show «from min to max» rather than one value")
    text: str = Field(description="The wait as people read it, in the caller's language")


class ManagerLoadRead(BaseModel):
    """A consultant's queue against their limit now."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "manager_key": MANAGER_EXAMPLE,
                    "name": "Каримова Дилноза Рустамовна",
                    "department": "ИТС консультанты",
                    "queue_count": 3,
                    "con_limit": 10,
                    "load_percent": 30.0,
                    "available_slots": 7,
                    "start_hour": "09:00:00",
                    "end_hour": "18:00:00",
                    "languages": ["ru", "uz"],
                    "working_now": True,
                    "queue_closed_today": False,
                    "accepting": True,
                }
            ]
        }
    )

    manager_key: uuid.UUID = Field(description="Ref_Key of the 1C user")
    name: str | None
    department: str | None
    queue_count: int = Field(description="Open and pending consultations, 1C's included")
    con_limit: int | None = Field(description="At most this many in the queue (hard cap)")
    load_percent: float | None = Field(description="queue / limit × 100, at most 100")
    available_slots: int = Field(description="limit − queue, at least 0")
    start_hour: time | None = Field(description="Start of work, local time of the 1C base")
    end_hour: time | None = Field(description="End of work (before start: an overnight shift)")
    languages: list[Language]
    working_now: bool
    queue_closed_today: bool
    accepting: bool = Field(
        description="Takes new consultations now (active, working, queue open and not full)"
    )


class AvailableManagerRead(BaseModel):
    """A manager the automatic choice would consider now, with the wait of a new booking."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "manager_key": MANAGER_EXAMPLE,
                    "name": "Каримова Дилноза Рустамовна",
                    "queue_count": 4,
                    "con_limit": 10,
                    "load_percent": 40.0,
                    "available_slots": 6,
                    "wait": WAIT_EXAMPLE,
                }
            ]
        }
    )

    manager_key: uuid.UUID
    name: str | None
    queue_count: int
    con_limit: int
    load_percent: float
    available_slots: int
    wait: WaitTimeRead = Field(description="The wait of a consultation booked with them now")


class ManagerWaitRead(BaseModel):
    """The wait of a consultation booked with this manager now (behind the whole queue)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "manager_key": MANAGER_EXAMPLE,
                    "queue_count": 4,
                    "wait": WAIT_EXAMPLE,
                }
            ]
        }
    )

    manager_key: uuid.UUID
    queue_count: int = Field(description="Consultations in the queue now")
    wait: WaitTimeRead


class QueueInfoRead(BaseModel):
    """Where a consultation stands in its manager's queue."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "cons_id": "0b6f7c52-8d5e-4a35-9a51-0b3c8e6c7a10",
                    "manager_key": MANAGER_EXAMPLE,
                    "manager_name": "Каримова Дилноза Рустамовна",
                    "status": "open",
                    "in_queue": True,
                    "queue_count": 6,
                    "queue_position": 5,
                    "wait": WAIT_EXAMPLE,
                }
            ]
        }
    )

    cons_id: str
    manager_key: uuid.UUID | None
    manager_name: str | None
    status: str
    in_queue: bool = Field(description="Open or pending, not denied, with a manager")
    queue_count: int = Field(description="Consultations in the manager's queue now")
    queue_position: int | None = Field(description="1-based place; null when not in a queue")
    wait: WaitTimeRead | None = Field(description="null when not in a queue")
