"""1C's datetimes carry no zone: the client reads them as aware UTC and writes them in 1C's zone.

Against the 1C emulator, across a date boundary: 1C local 2026-01-01T02:00 in Asia/Tashkent
(UTC+5) is 2025-12-31T21:00Z.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from switchboard.integrations.onec.adapter import OneCAdapter
from switchboard.integrations.onec.client import OneCClient
from switchboard.runtime import Runtime
from switchboard.sandbox.pytest_plugin import RunningOneC

CALL = "Document_ТелефонныйЗвонок"
NEW_YEAR_IN_TASHKENT = datetime(2025, 12, 31, 21, 0, tzinfo=UTC)


async def _client(runtime_factory: Any, onec: RunningOneC, zone: str) -> OneCClient:
    runtime: Runtime = await runtime_factory(**onec.settings(), ODATA_TIMEZONE=zone)
    adapter = runtime.adapters.reference_source
    assert isinstance(adapter, OneCAdapter)
    return adapter.client


async def test_a_moment_is_written_as_1c_local_time_and_read_back_as_the_same_instant(
    onec: RunningOneC, runtime_factory: Any
) -> None:
    client = await _client(runtime_factory, onec, "Asia/Tashkent")
    created = await client.create(
        CALL, {"Описание": "звонок", "ДатаКонсультации": NEW_YEAR_IN_TASHKENT}
    )

    stored = onec.emulator.store.get(CALL, created["Ref_Key"])
    assert stored is not None
    assert stored["ДатаКонсультации"] == "2026-01-01T02:00:00"  # what 1C keeps: local, no zone
    assert created["ДатаКонсультации"] == NEW_YEAR_IN_TASHKENT
    assert created["ДатаКонсультации"].tzinfo is UTC
    assert created["Конец"] is None  # 1C's empty date

    read = await client.get(CALL, created["Ref_Key"])
    assert read["ДатаКонсультации"] == NEW_YEAR_IN_TASHKENT
    assert read["ДатаКонсультации"].date() == date(2025, 12, 31)  # the UTC day, not 1C's


async def test_records_written_in_1c_are_read_in_utc(
    onec: RunningOneC, runtime_factory: Any
) -> None:
    onec.emulator.store.put(CALL, {"Описание": "из 1С", "ДатаКонсультации": "2026-01-01T02:00:00"})
    client = await _client(runtime_factory, onec, "Asia/Tashkent")
    (record,) = await client.query(CALL, select="Ref_Key,ДатаКонсультации,Конец")
    assert record["ДатаКонсультации"] == NEW_YEAR_IN_TASHKENT
    assert record["Конец"] is None


async def test_filters_compare_in_1c_local_time(onec: RunningOneC, runtime_factory: Any) -> None:
    onec.emulator.store.put(CALL, {"Описание": "из 1С", "ДатаКонсультации": "2026-01-01T02:00:00"})
    client = await _client(runtime_factory, onec, "Asia/Tashkent")

    async def from_(moment: datetime) -> int:
        found = await client.query(
            CALL, filter=f"ДатаКонсультации ge {client.datetime_literal(moment)}", select="Ref_Key"
        )
        return len(found)

    assert client.datetime_literal(NEW_YEAR_IN_TASHKENT) == "datetime'2026-01-01T02:00:00'"
    assert await from_(NEW_YEAR_IN_TASHKENT) == 1
    assert await from_(NEW_YEAR_IN_TASHKENT + timedelta(seconds=1)) == 0


async def test_clearing_a_moment_writes_1c_empty_date(
    onec: RunningOneC, runtime_factory: Any
) -> None:
    client = await _client(runtime_factory, onec, "Asia/Tashkent")
    created = await client.create(
        CALL, {"Описание": "звонок", "Конец": NEW_YEAR_IN_TASHKENT + timedelta(hours=1)}
    )
    assert onec.emulator.store.get(CALL, created["Ref_Key"])["Конец"] == "2026-01-01T03:00:00"
    updated = await client.update(CALL, created["Ref_Key"], {"Конец": None})
    assert updated["Конец"] is None
    assert onec.emulator.store.get(CALL, created["Ref_Key"])["Конец"] == "0001-01-01T00:00:00"


async def test_the_zone_comes_from_odata_timezone(onec: RunningOneC, runtime_factory: Any) -> None:
    client = await _client(runtime_factory, onec, "Europe/Moscow")
    assert client.zone == ZoneInfo("Europe/Moscow")
    created = await client.create(
        CALL, {"Описание": "звонок", "ДатаКонсультации": NEW_YEAR_IN_TASHKENT}
    )
    # 21:00Z is midnight in Moscow (UTC+3): the new year there too, but three hours later.
    assert onec.emulator.store.get(CALL, created["Ref_Key"])["ДатаКонсультации"] == (
        "2026-01-01T00:00:00"
    )
    assert created["ДатаКонсультации"] == NEW_YEAR_IN_TASHKENT


async def test_a_naive_datetime_is_refused_before_anything_is_sent(
    onec: RunningOneC, runtime_factory: Any
) -> None:
    client = await _client(runtime_factory, onec, "Asia/Tashkent")
    with pytest.raises(ValueError, match="naive"):
        await client.create(CALL, {"ДатаКонсультации": datetime(2026, 1, 1, 2, 0)})  # noqa: DTZ001
    assert onec.emulator.journal.matching("POST", "*") == []
