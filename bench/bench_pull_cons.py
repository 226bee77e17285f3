"""pull_cons_cl of 50,000 changed consultation documents from the 1C emulator into PostgreSQL.

The emulator runs in a child process (a real HTTP server, so its work does not share this
process's interpreter lock with the ETL) and holds 50,000 `Document_ТелефонныйЗвонок` of 500
CLOBUS subscribers, shaped as the demo base's (closed ones with their КонсультацииИТС and
ВопросыИОтветы rows), changed over the last five days. Measured, each on an empty `cons` schema:

0. the emulator alone: the same pages as raw HTTP answers (no parsing);
1. the read side alone: the adapter pages through the same query (emulator + HTTP + mapping);
2. our side alone: the same pages, already in memory, stored by the ETL's service (one
   transaction per page with its cursor);
3. end to end: `pull_cons_cl` as `switchboard etl pull_cons_cl` runs it (first run: inserts);
4. a second run with nothing changed (every document read again, nothing written).

Each line also shows the CPU seconds this process and the emulator's process used: on a small
machine the run is bound by CPU, and the emulator (which filters and renders every page in
Python) takes the most. Target: end to end at least 3,000 documents per second.

`BENCH_PAGE_SIZE` (default 5,000) is the OData page (`ODATA_PAGE_SIZE`); `BENCH_DOCUMENTS` the
number of documents. With 1,000 a page
(the setting's default) the emulator alone serves about 1,800 documents/s: it filters and sorts
the whole set again for every `$skip` page, so fifty pages cost it about 26 CPU seconds, and no
consumer can go faster than that.
"""

from __future__ import annotations

import asyncio
import os
import random
import resource
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
from bench.common import PYTHON, bench_database, wait_until_up
from sqlalchemy import text

from switchboard.config import Settings
from switchboard.consultations.etl import service
from switchboard.consultations.etl.tasks import PULL_CONS
from switchboard.core.db import utcnow
from switchboard.core.logging import configure_logging
from switchboard.core.realtime import MemoryBus
from switchboard.domains import open_runtime
from switchboard.integrations.ports import ConsultationRecord
from switchboard.runtime import Runtime

DOCUMENTS = int(os.environ.get("BENCH_DOCUMENTS", "50000"))
PAGE_SIZE = int(os.environ.get("BENCH_PAGE_SIZE", "5000"))
SUBSCRIBERS = 500
MANAGERS = 40
TARGET = 3000.0
USER, PASSWORD, PATH = "odata", "odata-bench", "/cl/odata/standard.odata"
FOLDER = "7ccd31ca-887b-11eb-938b-00e04cd03b68"
EMPTY_REF = "00000000-0000-0000-0000-000000000000"
EMPTY_DATE = "0001-01-01T00:00:00"
RU, UZ = "15d38cda-1812-11ef-b824-c67597d01fa8", "15d38cdb-1812-11ef-b824-c67597d01fa8"
TASHKENT_OFFSET = timedelta(hours=5)


# --- the 1C base (built in the emulator's process) --------------------------------------------


def _local(moment: datetime) -> str:
    return (moment + TASHKENT_OFFSET).replace(tzinfo=None, microsecond=0).isoformat()


def _key(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def base(count: int) -> dict[str, list[dict[str, Any]]]:
    rng = random.Random(2026)
    subscribers = [_key(rng) for _ in range(SUBSCRIBERS)]
    managers = [_key(rng) for _ in range(MANAGERS)]
    now = datetime.now(UTC)
    documents = []
    for number in range(count):
        changed = now - timedelta(days=5) + timedelta(seconds=number * 5 * 86400 / count)
        created = changed - timedelta(hours=rng.randint(1, 48))
        start = created + timedelta(hours=rng.randint(1, 72))
        closed = rng.random() < 0.6
        end = start + timedelta(minutes=rng.randint(10, 50)) if closed else None
        manager = rng.choice(managers)
        documents.append(
            {
                "Ref_Key": _key(rng),
                "Number": f"ЦЛ00-{number + 1:06d}",
                "Date": _local(created),
                "DeletionMark": rng.random() < 0.02,
                "Posted": closed,
                "Описание": "Не получается закрыть месяц: ошибка при расчёте себестоимости",
                "ВидОбращения": "КонсультацияИТС" if closed else "ВОчередьНаКонсультацию",
                "Входящий": True,
                "ДатаСоздания": _local(created),
                "ДатаИзменения": _local(changed),
                "ДатаКонсультации": _local(start),
                "Конец": _local(end) if end else EMPTY_DATE,
                "ЗакрытоБезКонсультации": rng.random() < 0.05,
                "Абонент_Key": rng.choice(subscribers),
                "Автор_Key": manager,
                "Менеджер_Key": manager,
                "Ответственный_Key": manager,
                "Тема": "Консультация по ведению учёта",
                "Вопрос": "",
                "Язык_Key": RU if rng.random() < 0.7 else UZ,
                "КатегорияВопроса_Key": EMPTY_REF,
                "ВопросНаКонсультацию_Key": EMPTY_REF,
                "СпособСвязи": "ПоСайту",
                "АбонентКакСвязаться": "+998 90 123-45-67 / Алишер / SITE",
                "АбонентПредставление": "Clobus ООО Ромашка 1001 (301234567)",
                "Важность": "Обычная",
                "Комментарий": "Создано из Clobus.uz\nКатегория вопроса: Закрытие месяца",
                "КонсультацииИТС": [
                    {
                        "LineNumber": str(line),
                        "ВидПО_Key": EMPTY_REF,
                        "РазделПО_Key": EMPTY_REF,
                        "НаличиеПомех_Key": EMPTY_REF,
                        "ПомощьМенеджера_Key": EMPTY_REF,
                        "ПовторноеОбращение": False,
                        "Вопрос": "Как закрыть месяц?",
                        "Ответ": "Документ «Закрытие месяца», затем проверка себестоимости.",
                    }
                    for line in range(1, (rng.choice((1, 1, 1, 2)) if closed else 0) + 1)
                ],
                "ВопросыИОтветы": (
                    [{"LineNumber": "1", "Вопрос": "Где отчёт?", "Ответ": "Отчёты → ОСВ"}]
                    if closed and rng.random() < 0.5
                    else []
                ),
            }
        )
    return {
        "Catalog_Контрагенты": [
            {"Ref_Key": key, "Description": f"Clobus ООО {n}", "Parent_Key": FOLDER}
            for n, key in enumerate(subscribers)
        ],
        "Document_ТелефонныйЗвонок": documents,
    }


def serve_emulator(count: int) -> None:
    """The child process: build the base, serve it, print the root URL, wait for stdin to close."""
    from switchboard.sandbox.onec import OneCEmulator
    from switchboard.sandbox.server import BackgroundServer

    emulator = OneCEmulator(base_path=PATH, user=USER, password=PASSWORD)
    emulator.store.load(base(count))
    with BackgroundServer(emulator.app) as server:
        print(f"{server.url}{PATH}/", flush=True)
        sys.stdin.read()


# --- the measurements --------------------------------------------------------------------------


def bench_settings(database_url: str, root: str) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        ENV="test",
        LOG_LEVEL="WARNING",
        EVENT_BUS="memory",
        DATABASE_URL=database_url,
        REDIS_URL="",
        ODATA_BASEURL_CL=root,
        ODATA_USER=USER,
        ODATA_PASSWORD=PASSWORD,
        ODATA_PAGE_SIZE=PAGE_SIZE,
        ODATA_DOCUMENT_PAGE_SIZE=PAGE_SIZE,
        HTTP_TIMEOUT_SECONDS=120,
        ETL_INITIAL_FROM_DATE=(utcnow() - timedelta(days=30)).date().isoformat(),
    )


async def empty(runtime: Runtime) -> None:
    async with runtime.database.transaction() as session:
        await session.execute(
            text("TRUNCATE cons.cons, cons.q_and_a, cons.status_history, sys.sync_state CASCADE")
        )


async def read_side(runtime: Runtime) -> tuple[float, list[list[ConsultationRecord]]]:
    accounting = runtime.adapters.accounting
    assert accounting is not None
    started = time.perf_counter()
    pages = [
        page async for page in accounting.consultations_changed_since(utcnow() - timedelta(days=30))
    ]
    return time.perf_counter() - started, pages


async def our_side(runtime: Runtime, pages: list[list[ConsultationRecord]]) -> float:
    started = time.perf_counter()
    for page in pages:
        async with runtime.database.transaction() as session:
            await service.store_consultations(session, page)
            cursor = service.cursor_after((r.changed_at for r in page), utcnow())
            await service.advance_cursor(session, service.CONSULTATIONS, cursor)
    return time.perf_counter() - started


def emulator_alone(root: str) -> None:
    """The same pages as raw HTTP answers (no parsing, no mapping): the emulator's own time."""
    since = (utcnow() + TASHKENT_OFFSET - timedelta(days=30)).replace(tzinfo=None)
    condition = (
        f"ДатаИзменения ge datetime'{since.isoformat(timespec='seconds')}'"
        f" and Абонент/Parent_Key eq guid'{FOLDER}'"
    )
    with httpx.Client(auth=(USER, PASSWORD), timeout=300) as client:
        for skip in range(0, DOCUMENTS + 1, PAGE_SIZE):
            client.get(
                root + "Document_ТелефонныйЗвонок",
                params={
                    "$filter": condition,
                    "$orderby": "ДатаИзменения asc, Ref_Key asc",
                    "$top": PAGE_SIZE,
                    "$skip": skip,
                    "$format": "json",
                },
            ).raise_for_status()


def cpu_seconds(pid: int | None = None) -> float:
    """CPU time (user + system) of this process, or of process `pid`, so far."""
    if pid is None:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


Result = tuple[str, float, int, float, float]
Step = Callable[[], Awaitable[int]]


async def run(database_url: str, root: str, emulator_pid: int) -> list[Result]:
    settings = bench_settings(database_url, root)
    results: list[Result] = []

    async def measured(name: str, step: Step) -> None:
        ours, theirs, started = cpu_seconds(), cpu_seconds(emulator_pid), time.perf_counter()
        count = await step()
        seconds = time.perf_counter() - started
        used = (cpu_seconds() - ours, cpu_seconds(emulator_pid) - theirs)
        results.append((name, seconds, count, *used))

    async with open_runtime(settings, database_url=database_url, bus=MemoryBus()) as runtime:
        pages: list[list[ConsultationRecord]] = []

        async def raw() -> int:
            await asyncio.to_thread(emulator_alone, root)
            return DOCUMENTS

        async def read() -> int:
            pages.extend((await read_side(runtime))[1])
            return sum(len(page) for page in pages)

        async def store() -> int:
            await our_side(runtime, pages)
            return sum(len(page) for page in pages)

        async def pull() -> int:
            return int((await PULL_CONS.run(runtime))["received"])

        await measured("emulator alone (HTTP, no parsing)", raw)
        await measured("read side: emulator + adapter", read)
        await empty(runtime)
        await measured("our side: store pages", store)
        await empty(runtime)
        await measured("end to end, first run (inserts)", pull)
        await measured("end to end, second run (no change)", pull)
    return results


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--serve-emulator":
        serve_emulator(int(sys.argv[2]))
        return 0
    configure_logging(level=os.environ.get("BENCH_LOG_LEVEL", "WARNING"))
    child = subprocess.Popen(
        [PYTHON, __file__, "--serve-emulator", str(DOCUMENTS)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        assert child.stdout is not None
        root = child.stdout.readline().decode().strip()
        if not root:
            raise RuntimeError("the emulator process did not start")
        wait_until_up(root.replace(PATH + "/", "/__sandbox__/settings"), child)
        with bench_database() as database_url:
            results = asyncio.run(run(database_url, root, child.pid))
    finally:
        if child.stdin is not None:
            child.stdin.close()
        child.wait(timeout=30)
    print(
        f"pull_cons_cl of {DOCUMENTS:,} changed documents from the 1C emulator into PostgreSQL"
        f" ({PAGE_SIZE:,} per OData page; emulator in its own process)"
    )
    print(f"  {'':<36} {'wall':>8} {'docs/s':>8}   CPU s: {'ours':>5} {'emulator':>8}")
    for name, seconds, count, ours, theirs in results:
        print(
            f"  {name:<36} {seconds:7.2f}s {count / seconds:8.0f}"
            f"          {ours:5.1f} {theirs:8.1f}   ({count:,} documents)"
        )
    print(f"  machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the end")
    end_to_end = results[3][2] / results[3][1]
    verdict = "met" if end_to_end >= TARGET else "NOT met"
    print(f"  target: end to end >= {TARGET:,.0f} docs/s: {verdict}")
    return 0 if end_to_end >= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
