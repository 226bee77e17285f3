"""POST /api/consultations/create with both emulators answering in 20 ms, 20 clients at once.

`switchboard serve` (one uvicorn process, full request pipeline) books consultations on
accounting — each a Chatwoot conversation and a 1C document, created side by side right after the
booking's commit — against the sandbox (`switchboard sandbox`, its own process) whose every answer
is delayed 20 ms by an injected fault (latency). 20 clients of this process (keep-alive
connections) each start a booking every `--interval` seconds (1 s: 20 bookings a second in all);
a request is a returning client (found by its data, its Chatwoot contact and 1C counterparty known)
booking a free slot (3 a day per subscriber, days spread over a year). Then the same with clients
that are new each time (contact and counterparty created in the same request), and a saturation
phase where each client books again as soon as it is answered (the throughput of one process).

The rest of each booking (team, agent, labels, the info message, attributes) is the worker's; it
runs on other machines in production, and with `--worker` beside the API here (on a 2-vCPU
machine it then takes CPU from the API).

Targets (returning clients, paced): p50 < 80 ms, p99 < 200 ms, no errors.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import socket
import statistics
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import PYTHON, bench_database, free_port, process, wait_until_up

CONCURRENCY = 20
LATENCY_SECONDS = 0.020
TARGET_P50_MS = 80.0
TARGET_P99_MS = 200.0
TASHKENT = ZoneInfo("Asia/Tashkent")
ACCOUNTING = "Консультация по ведению учёта"


def owner(n: int, run: str) -> dict[str, Any]:
    return {
        "email": f"bench{n}.{run}@firma.uz",
        "phone_number": f"+99893{n:07d}",
        "name": f"Клиент {n}",
        "company_name": f"ООО Бенч {n}",
        "org_inn": f"{400000000 + n}",
        "code_abonent": f"{500000 + n}",
        "is_parent": True,
    }


def slots(owners: int) -> Iterator[tuple[int, datetime]]:
    """(owner, moment): three a day per owner (the daily limit), day after day."""
    today = datetime.now(TASHKENT).date()
    for day in range(1, 365):
        date = today + timedelta(days=day)
        for hour in (10, 12, 15):
            for n in range(owners):
                yield n, datetime(date.year, date.month, date.day, hour, tzinfo=TASHKENT)


def booking(client: dict[str, Any], moment: datetime) -> dict[str, Any]:
    return {
        "client": client,
        "consultation": {
            "consultation_type": ACCOUNTING,
            "start_date": moment.isoformat(),
            "comment": "Не проводится выписка банка",
            "lang": "ru",
            "source": "SITE",
        },
    }


@dataclass
class Phase:
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    synced: int = 0
    seconds: float = 0.0

    def percentile(self, fraction: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))] * 1000

    @property
    def errors(self) -> int:
        return sum(count for status, count in self.statuses.items() if status != 201)


async def measure(
    base_url: str,
    bodies: Iterator[dict[str, Any]],
    *,
    seconds: float,
    concurrency: int,
    interval: float | None,
) -> Phase:
    """`concurrency` clients book until `seconds` pass, each starting a booking every
    `interval` seconds (or, with None, as soon as its last one is answered)."""
    phase = Phase()
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=30) as client:

        async def one_client(offset: float) -> None:
            next_start = time.perf_counter() + offset
            while True:
                now = time.perf_counter()
                if interval is None:
                    next_start = now
                elif next_start > now:
                    await asyncio.sleep(next_start - now)
                if next_start >= deadline:
                    return
                next_start += interval or 0.0
                started = time.perf_counter()
                response = await client.post("/api/consultations/create", json=next(bodies))
                elapsed = time.perf_counter() - started
                phase.statuses[response.status_code] += 1
                if response.status_code == 201:
                    phase.latencies.append(elapsed)
                    answer = response.json()
                    if answer["number"] and answer["chatwoot_conversation_id"]:
                        phase.synced += 1

        started = time.perf_counter()
        # Paced clients start spread over one interval, as people do.
        offsets = [(interval or 0.0) * n / concurrency for n in range(concurrency)]
        await asyncio.gather(*(one_client(offset) for offset in offsets))
        phase.seconds = time.perf_counter() - started
    return phase


async def create_owners(base_url: str, owners: list[dict[str, Any]]) -> None:
    """The returning clients, known to Chatwoot and 1C before the measurement."""
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        for start in range(0, len(owners), 10):
            answers = await asyncio.gather(
                *(client.post("/api/clients", json=body) for body in owners[start : start + 10])
            )
            for answer in answers:
                if answer.status_code not in (200, 201) or not answer.json()["cl_ref_key"]:
                    raise RuntimeError(f"client not set up: {answer.status_code} {answer.text}")


def add_managers(database_url: str, count: int) -> None:
    """Consultants working around the clock with room for every booking of the run."""
    with psycopg.connect(database_url, autocommit=True) as connection:
        for n in range(count):
            connection.execute(
                "INSERT INTO cons.users (account_id, cl_ref_key, description, con_limit, ru, uz) "
                "VALUES (%s, %s, %s, 100000, true, true)",
                (uuid.uuid4(), uuid.uuid4(), f"Консультант {n}"),
            )


def pair_of_ports() -> int:
    """A free port whose next one is free too (the sandbox's Chatwoot listens there)."""
    while True:
        port = free_port()
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port


def add_latency(sandbox_port: int) -> None:
    for port in (sandbox_port, sandbox_port + 1):
        response = httpx.post(
            f"http://127.0.0.1:{port}/__sandbox__/faults",
            json={"path": "*", "latency": LATENCY_SECONDS},
            timeout=5,
        )
        response.raise_for_status()


def report(title: str, phase: Phase) -> None:
    rps = len(phase.latencies) / phase.seconds if phase.seconds else 0.0
    mean = statistics.fmean(phase.latencies) * 1000 if phase.latencies else 0.0
    print(title)
    print(
        f"  bookings {len(phase.latencies):6d} in {phase.seconds:5.1f} s ({rps:6.1f}/s)   "
        f"answered with both ids {phase.synced}"
    )
    print(
        f"  p50 {phase.percentile(0.5):7.1f} ms   p90 {phase.percentile(0.9):7.1f} ms   "
        f"p99 {phase.percentile(0.99):7.1f} ms   max {phase.percentile(1.0):7.1f} ms   "
        f"mean {mean:7.1f} ms"
    )
    print(f"  statuses {dict(phase.statuses)}")


def pin_cpus(*, api: int, others: list[int]) -> None:
    """The API on CPU 0; the emulators and this load generator on CPU 1, so the API's figures are
    its own and not the emulators' (as in bench_dicts_api.py). PostgreSQL is not pinned."""
    if len(os.sched_getaffinity(0)) < 2:
        return
    os.sched_setaffinity(api, {0})
    for pid in [*others, os.getpid()]:
        os.sched_setaffinity(pid, {1})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--new-client-seconds", type=float, default=8.0)
    parser.add_argument("--saturation-seconds", type=float, default=8.0)
    parser.add_argument(
        "--interval", type=float, default=1.0, help="seconds between one client's bookings"
    )
    parser.add_argument("--owners", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=CONCURRENCY)
    parser.add_argument("--worker", action="store_true", help="run a worker beside the API")
    options, _ = parser.parse_known_args()
    run = uuid.uuid4().hex[:6]

    with bench_database() as database_url:
        sandbox_port, api_port = pair_of_ports(), free_port()
        with process(
            PYTHON, "-m", "switchboard", "sandbox", "--port", str(sandbox_port), "--empty"
        ) as sandbox:
            wait_until_up(f"http://127.0.0.1:{sandbox_port}/__sandbox__/faults", sandbox)
            wait_until_up(f"http://127.0.0.1:{sandbox_port + 1}/__sandbox__/faults", sandbox)
            env = {
                "DATABASE_URL": database_url,
                "ODATA_BASEURL_CL": f"http://127.0.0.1:{sandbox_port}/cl/odata/standard.odata/",
                "ODATA_USER": "odata",
                "ODATA_PASSWORD": "odata-sandbox",
                "CHATWOOT_API_URL": f"http://127.0.0.1:{sandbox_port + 1}",
                "CHATWOOT_API_TOKEN": "cw-sandbox-admin-token",
                "CHATWOOT_ACCOUNT_ID": "1",
                "CHATWOOT_INBOX_ID": "1",
                "CHATWOOT_INBOX_IDENTIFIER": "sandbox-site-inbox",
                "LOAD_DICTS_ON_START": "false",
                "MAX_FUTURE_CONSULTATION_DAYS": "365",
                "RATE_LIMIT_PER_MINUTE": "0",
                "RATE_LIMIT_CREATE_PER_MINUTE": "0",
                "LOG_FORMAT": "json",
                "LOG_LEVEL": "WARNING",
                "ACCESS_LOG": "errors",
                "REDIS_URL": "",
                "DB_POOL_SIZE": "30",
            }
            with process(
                PYTHON, "-m", "switchboard", "serve", "--port", str(api_port), env=env
            ) as api:
                base_url = f"http://127.0.0.1:{api_port}"
                wait_until_up(f"{base_url}/api/health", api)
                pin_cpus(api=api.pid, others=[sandbox.pid])
                add_managers(database_url, 10)
                returning = [owner(n, run) for n in range(options.owners)]
                asyncio.run(create_owners(base_url, returning))
                add_latency(sandbox_port)
                worker = (
                    process(PYTHON, "-m", "switchboard", "worker", env=env)
                    if options.worker
                    else None
                )
                with worker or contextlib.nullcontext():
                    phases = run_phases(base_url, returning, run, options)
    print(
        f"POST /api/consultations/create, {options.concurrency} clients, both emulators "
        f"answering in {LATENCY_SECONDS * 1000:.0f} ms"
        f"{', a worker beside' if options.worker else ''}"
    )
    paced, fresh, saturated = phases
    each = f"each booking every {options.interval:g} s"
    report(f"returning clients, {each} (contact and counterparty known)", paced)
    report(f"new clients, {each} (contact and counterparty created in the request)", fresh)
    report("returning clients, each booking again as soon as answered (saturation)", saturated)
    met = (
        paced.errors == 0
        and paced.percentile(0.5) < TARGET_P50_MS
        and paced.percentile(0.99) < TARGET_P99_MS
    )
    print(
        f"  target (returning clients, paced) p50 < {TARGET_P50_MS:.0f} ms, "
        f"p99 < {TARGET_P99_MS:.0f} ms, no errors: {'met' if met else 'NOT met'}"
    )
    return 0 if met else 1


def run_phases(
    base_url: str, returning: list[dict[str, Any]], run: str, options: argparse.Namespace
) -> tuple[Phase, Phase, Phase]:
    free_slots = (booking(returning[n], moment) for n, moment in slots(len(returning)))
    fresh_owners = (owner(100_000 + n, run) for n in itertools.count())
    new_clients = (
        booking(body, moment) for body, (_, moment) in zip(fresh_owners, slots(1), strict=False)
    )

    def phase(bodies: Iterator[dict[str, Any]], seconds: float, interval: float | None) -> Phase:
        return asyncio.run(
            measure(
                base_url,
                bodies,
                seconds=seconds,
                concurrency=options.concurrency,
                interval=interval,
            )
        )

    phase(free_slots, 2.0, options.interval)  # warm-up
    paced = phase(free_slots, options.seconds, options.interval)
    fresh = phase(new_clients, options.new_client_seconds, options.interval)
    saturated = phase(free_slots, options.saturation_seconds, None)
    return paced, fresh, saturated


if __name__ == "__main__":
    sys.exit(main())
