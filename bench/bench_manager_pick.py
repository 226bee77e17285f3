"""The automatic choice of a manager with 500 managers and 200,000 consultations in the database.

Data (seeded, generated in PostgreSQL, then vacuumed as autovacuum would): 500 consultants with
limits 5–20, a third without working hours, the others on day or overnight shifts (local time of
Asia/Tashkent), 40 % with 1–3 skills of 30 question categories, the rest universal, Russian
and/or Uzbek; 20 queues closed today; 200,000 consultations over 90 days, about 2 % of them
waiting (open/pending), the rest finished, cancelled or denied, a third of them other
subscribers' rows from 1C (`cl_all_`).

Measured, through `service.pick_manager` as the booking flow calls it:
1. one pick at a time, each in its own transaction (rolled back, so the data stays the same),
   with a question category and a language in 80 % of the picks;
2. 2 processes (as two API processes would, one per CPU of the development machine) booking one
   consultation after another at the same time — pick, insert, commit — 2,000 bookings in all;
   afterwards no manager may have been pushed past their limit.
Target: p99 of a pick (1.) under 15 ms. `BENCH_PLAN=1` also prints the candidates query's plan.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import random
import statistics
import sys
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg
from bench.common import bench_database

from switchboard.config import Settings
from switchboard.consultations.managers import repository, service
from switchboard.consultations.managers.repository import CandidateFilter
from switchboard.consultations.managers.service import SelectionRules
from switchboard.consultations.models import ACCOUNTING, Consultation
from switchboard.core.db.base import utcnow
from switchboard.core.logging import configure_logging
from switchboard.core.realtime import MemoryBus
from switchboard.domains import open_runtime
from switchboard.runtime import Runtime

MANAGERS = 500
CONSULTATIONS = 200_000
CATEGORIES = 30
SEQUENTIAL_PICKS = 2_000
BOOKING_PROCESSES = 2
CONCURRENT_BOOKINGS = 2_000
TARGET_P99_MS = 15.0

SEED_SQL = """
SELECT setseed(0.42);
CREATE TEMP TABLE bench_categories AS
  SELECT gen_random_uuid() AS key, n FROM generate_series(1, %(categories)s) AS n;
INSERT INTO dict.online_question_cat (ref_key, description, language)
  SELECT key, 'Категория ' || n, CASE WHEN n %% 3 = 0 THEN 'uz' ELSE 'ru' END
  FROM bench_categories;
INSERT INTO cons.users (account_id, cl_ref_key, description, email, con_limit, start_hour, end_hour, ru, uz,
                        department)
  SELECT gen_random_uuid(), gen_random_uuid(), 'Менеджер ' || n, 'm' || n || '@example.uz',
         5 + (random() * 15)::int,
         CASE WHEN n %% 3 = 0 THEN NULL WHEN n %% 7 = 0 THEN time '20:00' ELSE time '08:00' END,
         CASE WHEN n %% 3 = 0 THEN NULL WHEN n %% 7 = 0 THEN time '04:00' ELSE time '20:00' END,
         n %% 5 <> 0, n %% 2 = 0, 'ИТС консультанты'
  FROM generate_series(1, %(managers)s) AS n;
CREATE TEMP TABLE bench_managers AS
  SELECT cl_ref_key AS key, row_number() OVER (ORDER BY cl_ref_key) AS n, con_limit
  FROM cons.users;
INSERT INTO cons.users_skill (user_key, category_key)
  SELECT DISTINCT m.key, c.key
  FROM bench_managers m
  CROSS JOIN LATERAL generate_series(1, 1 + (m.n %% 3)::int) AS s
  JOIN bench_categories c ON c.n = 1 + ((m.n * 7 + s * 11) %% %(categories)s)
  WHERE m.n %% 5 < 2;
INSERT INTO cons.queue_closing (period, manager_key)
  SELECT (now() AT TIME ZONE 'Asia/Tashkent')::date, key FROM bench_managers WHERE n <= 20;
INSERT INTO cons.cons (cons_id, manager, status, denied, consultation_type, lang, create_date,
                       start_date, end_date)
  SELECT CASE WHEN g.i %% 3 = 0 THEN 'cl_all_' ELSE '' END || gen_random_uuid(),
         m.key,
         CASE WHEN g.r < 0.02 THEN (ARRAY['open', 'pending'])[1 + (g.i %% 2)]
              WHEN g.r < 0.06 THEN 'cancelled'
              ELSE (ARRAY['resolved', 'closed'])[1 + (g.i %% 2)] END,
         g.r BETWEEN 0.06 AND 0.065,
         %(accounting)s,
         CASE WHEN g.i %% 4 = 0 THEN 'uz' ELSE 'ru' END,
         g.created, g.created + interval '10 minutes',
         CASE WHEN g.r >= 0.06 THEN g.created + make_interval(mins => 15 + (g.i %% 40)) END
  FROM (
    SELECT i, random() AS r, 1 + (i %% %(managers)s) AS manager_n,
           now() - make_interval(secs => random() * 90 * 86400) AS created
    FROM generate_series(1, %(consultations)s) AS i
  ) AS g
  JOIN bench_managers m ON m.n = g.manager_n;
-- As autovacuum leaves a table in steady use: statistics and the visibility map (index-only
-- scans of the queue index need no heap visits).
VACUUM ANALYZE cons.users; VACUUM ANALYZE cons.cons; VACUUM ANALYZE cons.users_skill;
VACUUM ANALYZE cons.queue_closing;
"""


def seed(database_url: str) -> list[uuid.UUID]:
    with psycopg.connect(database_url, autocommit=True) as connection:
        parameters = {
            "categories": CATEGORIES,
            "managers": MANAGERS,
            "consultations": CONSULTATIONS,
            "accounting": ACCOUNTING,
        }
        for statement in filter(str.strip, SEED_SQL.split(";")):
            connection.execute(statement, parameters)
        rows = connection.execute("SELECT ref_key FROM dict.online_question_cat").fetchall()
        counts = connection.execute(
            "SELECT (SELECT count(*) FROM cons.users), (SELECT count(*) FROM cons.cons),"
            " (SELECT count(*) FROM cons.cons WHERE status IN ('open','pending') AND NOT denied)"
        ).fetchone()
    assert counts is not None
    print(f"  data: {counts[0]:,} managers, {counts[1]:,} consultations, {counts[2]:,} waiting")
    return [row[0] for row in rows]


def bench_settings(database_url: str) -> Settings:
    return Settings(
        _env_file=None,
        ENV="test",
        LOG_LEVEL="WARNING",
        EVENT_BUS="memory",
        DATABASE_URL=database_url,
        REDIS_URL="",
        ODATA_TIMEZONE="Asia/Tashkent",
        DB_POOL_SIZE=4,
    )


def request(rng: random.Random, categories: list[uuid.UUID]) -> dict[str, Any]:
    if rng.random() < 0.8:
        return {"category_key": rng.choice(categories), "language": rng.choice(("ru", "uz"))}
    return {"category_key": None, "language": None}


async def one_pick(
    runtime: Runtime, rules: SelectionRules, rng: random.Random, asked: dict[str, Any]
) -> tuple[float, bool]:
    async with runtime.database.sessionmaker() as session:
        started = time.perf_counter()
        chosen = await service.pick_manager(
            session,
            po_section_key=None,
            po_type_key=None,
            consultation_type=ACCOUNTING,
            now=utcnow(),
            rng=rng,
            rules=rules,
            **asked,
        )
        elapsed = time.perf_counter() - started
        await session.rollback()
    return elapsed, chosen is not None


async def sequential(
    runtime: Runtime, rules: SelectionRules, categories: list[uuid.UUID]
) -> tuple[list[float], int]:
    rng = random.Random(1)
    for _ in range(50):  # warm the pool and the plans
        await one_pick(runtime, rules, rng, request(rng, categories))
    timings, found = [], 0
    for _ in range(SEQUENTIAL_PICKS):
        elapsed, picked = await one_pick(runtime, rules, rng, request(rng, categories))
        timings.append(elapsed)
        found += picked
    return timings, found


async def book(runtime: Runtime, rules: SelectionRules, rng: random.Random) -> float | None:
    """One booking as the booking flow makes it: pick and insert in one transaction; the time
    of the pick, or None when nobody had room."""
    async with runtime.database.transaction() as session:
        started = time.perf_counter()
        chosen = await service.pick_manager(
            session,
            category_key=None,
            language=None,
            po_section_key=None,
            po_type_key=None,
            consultation_type=ACCOUNTING,
            now=utcnow(),
            rng=rng,
            rules=rules,
        )
        elapsed = time.perf_counter() - started
        if chosen is None:
            return None
        session.add(
            Consultation(
                cons_id=str(uuid.uuid4()),
                manager=chosen.manager_key,
                status="open",
                consultation_type=ACCOUNTING,
                create_date=utcnow(),
            )
        )
    return elapsed


async def _booking_process(database_url: str, number: int, start_at: float) -> list[float]:
    settings = bench_settings(database_url)
    rules = SelectionRules.from_settings(settings)
    rng = random.Random(100 + number)
    timings: list[float] = []
    async with open_runtime(settings, database_url=database_url, bus=MemoryBus()) as runtime:
        await asyncio.sleep(max(0.0, start_at - time.time()))
        for _ in range(CONCURRENT_BOOKINGS // BOOKING_PROCESSES):
            elapsed = await book(runtime, rules, rng)
            if elapsed is None:
                break
            timings.append(elapsed)
    return timings


def booking_process(database_url: str, number: int, start_at: float) -> list[float]:
    """A process of its own, as an API process would be: books one consultation after another."""
    configure_logging(level="WARNING")
    return asyncio.run(_booking_process(database_url, number, start_at))


def concurrent(database_url: str) -> tuple[list[float], float]:
    start_at = time.time() + 5  # every process is up and connected by then
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(BOOKING_PROCESSES, mp_context=context) as pool:
        futures = [
            pool.submit(booking_process, database_url, n, start_at)
            for n in range(BOOKING_PROCESSES)
        ]
        results = [future.result() for future in futures]
    seconds = time.time() - start_at
    return [t for timings in results for t in timings], seconds


async def queues(runtime: Runtime) -> dict[uuid.UUID, tuple[int, int]]:
    """Each active manager's (queue, limit)."""
    async with runtime.database.transaction() as session:
        rows = await repository.managers_load(session, utcnow().date())
    return {row.key: (row.queued, row.con_limit or 0) for row in rows}


def pushed_past_limit(
    before: dict[uuid.UUID, tuple[int, int]], after: dict[uuid.UUID, tuple[int, int]]
) -> int:
    """Managers whose queue grew beyond their limit (some start above it: 1C assigns freely)."""
    return sum(
        1 for key, (queued, limit) in after.items() if queued > before[key][0] and queued > limit
    )


async def plan(runtime: Runtime, rules: SelectionRules, category: uuid.UUID) -> str:
    local = rules.local(utcnow())
    async with runtime.database.sessionmaker() as session:
        statement, parameters = repository.candidates_statement(
            CandidateFilter(
                local_time=local.time(),
                local_day=local.date(),
                category_key=category,
                language="ru",
            )
        )
        compiled = statement.params(parameters).compile(
            dialect=runtime.database.engine.dialect, compile_kwargs={"literal_binds": True}
        )
        connection = await session.connection()
        result = await connection.exec_driver_sql(f"EXPLAIN (ANALYZE, SUMMARY) {compiled}")
        lines = [str(row[0]) for row in result]
        await session.rollback()
    return "\n".join(lines)


def percentiles(timings: list[float]) -> str:
    ms = sorted(t * 1000 for t in timings)
    q = statistics.quantiles(ms, n=100, method="inclusive")
    return f"p50 {q[49]:.2f} ms, p95 {q[94]:.2f} ms, p99 {q[98]:.2f} ms, max {ms[-1]:.2f} ms"


def p99(timings: list[float]) -> float:
    return statistics.quantiles([t * 1000 for t in timings], n=100, method="inclusive")[98]


async def run(database_url: str, categories: list[uuid.UUID]) -> int:
    settings = bench_settings(database_url)
    rules = SelectionRules.from_settings(settings)
    async with open_runtime(settings, database_url=database_url, bus=MemoryBus()) as runtime:
        timings, found = await sequential(runtime, rules, categories)
        print(f"  one at a time, {len(timings):,} picks ({found:,} found a manager):")
        print(f"    {percentiles(timings)}")
        before = await queues(runtime)
        booked, seconds = await asyncio.to_thread(concurrent, database_url)
        after = await queues(runtime)
        added = sum(after[k][0] - before[k][0] for k in after)
        print(
            f"  {BOOKING_PROCESSES} processes booking at once (pick + insert + commit), "
            f"{added:,} booked in {seconds:.1f} s:"
        )
        print(f"    {percentiles(booked)}")
        print(f"  managers pushed past their limit: {pushed_past_limit(before, after)}")
        if os.environ.get("BENCH_PLAN"):
            print(await plan(runtime, rules, categories[0]))
        worst = p99(timings)
    # The target is the latency of a pick; the concurrent run shows the lock at work (and,
    # on a small machine, processes sharing the CPUs).
    met = worst < TARGET_P99_MS
    print(f"  target: p99 < {TARGET_P99_MS:.0f} ms: {'met' if met else 'NOT met'}")
    return 0 if met else 1


def main() -> int:
    configure_logging(level=os.environ.get("BENCH_LOG_LEVEL", "WARNING"))
    print(f"manager pick with {MANAGERS} managers and {CONSULTATIONS:,} consultations")
    with bench_database() as database_url:
        started = time.perf_counter()
        categories = seed(database_url)
        print(f"  seeded in {time.perf_counter() - started:.1f} s")
        return asyncio.run(run(database_url, categories))


if __name__ == "__main__":
    sys.exit(main())
