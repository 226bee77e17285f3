"""The shapes of the messenger's JSON settings: an inbox's `settings`, working hours.

Working hours (an inbox's `schedule`, an operator's personal `schedule`)::

    {"time_zone": "Asia/Yekaterinburg",
     "weekly": {"mon": [["09:00", "18:00"]], "sat": [["10:00", "14:00"]]},
     "holidays": ["2027-01-01"]}

Intervals are local times, the end excluded (`24:00` is the end of the day; a night shift is two
intervals, one on each day). No `weekly` at all means every hour of every day; a day missing
from a non-empty `weekly` is a day off. Holidays are whole local days off.
"""

from __future__ import annotations

from datetime import date
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def minutes_of(clock: str) -> int:
    """`HH:MM` as minutes since midnight; `24:00` is 1440."""
    hours, sep, minutes = clock.partition(":")
    if not sep or not (hours.isdigit() and minutes.isdigit()) or len(minutes) != 2:
        raise ValueError(f"time {clock!r} is not HH:MM")
    value = int(hours) * 60 + int(minutes)
    if int(minutes) > 59 or value > 24 * 60:
        raise ValueError(f"time {clock!r} is out of range")
    return value


class Schedule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    time_zone: str = "UTC"
    weekly: dict[str, list[tuple[str, str]]] = Field(default_factory=dict)
    holidays: list[date] = Field(default_factory=list)

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @field_validator("weekly")
    @classmethod
    def _valid_week(
        cls, value: dict[str, list[tuple[str, str]]]
    ) -> dict[str, list[tuple[str, str]]]:
        for day, intervals in value.items():
            if day not in WEEKDAYS:
                raise ValueError(f"unknown weekday {day!r} (one of {', '.join(WEEKDAYS)})")
            for start, end in intervals:
                if minutes_of(start) >= minutes_of(end):
                    raise ValueError(f"{day}: {start}–{end} ends before it starts")
        return value


class OfflineSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    #: Shown to visitors out of working hours (Russian, as people read it).
    message: str = "Сейчас никого нет. Оставьте сообщение — мы ответим в рабочее время."


class RatingSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    #: 5: stars 1–5; 10: a net promoter score 0–10.
    scale: Literal[5, 10] = 5


class FeatureFlags(BaseModel):
    model_config = ConfigDict(extra="forbid")

    attachments: bool = True
    typing: bool = True
    read_receipts: bool = True
    #: Live events over Server-Sent Events; off: the widget polls `/api/widget/events`.
    sse: bool = True


class InboxSettings(BaseModel):
    """An inbox's `settings` column."""

    model_config = ConfigDict(extra="forbid")

    schedule: Schedule = Field(default_factory=Schedule)
    offline: OfflineSettings = Field(default_factory=OfflineSettings)
    rating: RatingSettings = Field(default_factory=RatingSettings)
    features: FeatureFlags = Field(default_factory=FeatureFlags)
    #: Sites (host names) the widget may run on; empty: any.
    allowed_domains: list[str] = Field(default_factory=list)
