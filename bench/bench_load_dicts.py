"""load_dicts of 10,000 catalog rows from the 1C emulator into PostgreSQL.

The emulator runs as a real HTTP server (in a thread of this process) holding 10,000 elements of
`Catalog_ПомехиДляКонсультаций` and a few of each other catalog; the ETL pages through OData
(1,000 per page), maps, and upserts each page in its own transaction. Measured: a first load
(all inserts), a second load (nothing changed), and a load after 10 % of the rows changed.
Target: the first load takes under 5 seconds.
"""

from __future__ import annotations

import asyncio
import os
import random
import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import bench_database

from switchboard.config import Settings
from switchboard.consultations.dictionaries.tasks import run_load_dicts
from switchboard.core.logging import configure_logging
from switchboard.core.realtime import MemoryBus
from switchboard.domains import open_runtime
from switchboard.runtime import Runtime
from switchboard.sandbox.onec import OneCEmulator
from switchboard.sandbox.server import BackgroundServer

ROWS = 10_000
TARGET_SECONDS = 5.0
ENTITY = "Catalog_ПомехиДляКонсультаций"


def rows(count: int) -> list[dict[str, Any]]:
    generator = random.Random(7)
    return [
        {
            "Ref_Key": str(uuid.UUID(int=generator.getrandbits(128), version=4)),
            "Code": f"{n:09d}",
            "Description": f"Помеха для консультации № {n}",
            "DeletionMark": False,
        }
        for n in range(count)
    ]


def bench_settings(database_url: str, root: str) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        ENV="test",
        LOG_LEVEL="WARNING",
        EVENT_BUS="memory",
        DATABASE_URL=database_url,
        ODATA_BASEURL_CL=root,
        ODATA_USER="odata",
        ODATA_PASSWORD="odata-bench",
        ODATA_PAGE_SIZE=1000,
        REDIS_URL="",
    )


async def timed(runtime: Runtime) -> tuple[float, dict[str, Any]]:
    started = time.perf_counter()
    report = await run_load_dicts(runtime)
    return time.perf_counter() - started, report


async def run(database_url: str, root: str) -> list[tuple[str, float, int]]:
    settings = bench_settings(database_url, root)
    results = []
    async with open_runtime(settings, database_url=database_url, bus=MemoryBus()) as runtime:
        seconds, report = await timed(runtime)
        results.append(("first load (insert)", seconds, _rows(report)))
        seconds, report = await timed(runtime)
        results.append(("second load (no change)", seconds, _rows(report)))
        return results


def _rows(report: dict[str, Any]) -> int:
    return sum(c["received"] for c in report["catalogs"])


def main() -> int:
    configure_logging(level=os.environ.get("BENCH_LOG_LEVEL", "WARNING"))
    emulator = OneCEmulator(
        base_path="/cl/odata/standard.odata", user="odata", password="odata-bench"
    )
    emulator.store.load({ENTITY: rows(ROWS)})
    with bench_database() as database_url, BackgroundServer(emulator.app) as server:
        root = f"{server.url}/cl/odata/standard.odata/"
        results = asyncio.run(run(database_url, root))
        changed = emulator.store.all(ENTITY)[: ROWS // 10]
        for record in changed:
            emulator.store.update(
                ENTITY, record["Ref_Key"], {"Description": record["Description"] + " (изм.)"}
            )
        results += asyncio.run(_changed_run(database_url, root))
    print(f"load_dicts of {ROWS:,} catalog rows from the 1C emulator into PostgreSQL")
    for name, seconds, count in results:
        print(f"  {name:<28} {seconds:6.2f} s   {count / seconds:9.0f} rows/s   ({count:,} rows)")
    first = results[0][1]
    print(
        f"  target: first load < {TARGET_SECONDS:.0f} s: {'met' if first < TARGET_SECONDS else 'NOT met'}"
    )
    return 0 if first < TARGET_SECONDS else 1


async def _changed_run(database_url: str, root: str) -> list[tuple[str, float, int]]:
    settings = bench_settings(database_url, root)
    async with open_runtime(settings, database_url=database_url, bus=MemoryBus()) as runtime:
        seconds, report = await timed(runtime)
        return [("load after 10 % changed", seconds, _rows(report))]


if __name__ == "__main__":
    sys.exit(main())
