"""From the PBX's `POST /dial` to RetailCRM's pop-up request, end to end.

`switchboard serve` (one process, which also runs the delivery service) and `switchboard
sandbox` (its own process; the RetailCRM emulator answers every request 20 ms late). An
enterprise with RetailCRM on; `--rate` incoming calls a second (each a new call: dial only) for
`--seconds`. For each call: the time from sending its dial to the moment the emulator received
the `telephony/call/event` for it (the emulator's request journal, same machine clock). Every
call must pop up exactly once. Target: p95 under 250 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs

import httpx
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import PYTHON, bench_database, free_port, process, wait_until_up

TOKEN = "bench-pbx-token"  # noqa: S105 - the bench enterprise's own token
API_KEY = "crm-sandbox-api-key"
TARGET_P95_MS = 250.0


def five_free_ports() -> int:
    while True:
        port = free_port()
        ok = True
        for n in range(1, 5):
            with socket.socket() as probe:
                try:
                    probe.bind(("127.0.0.1", port + n))
                except OSError:
                    ok = False
        if ok:
            return port


def add_enterprise(database_url: str, crm_url: str) -> None:
    from switchboard.core.crypto import SecretBox

    config = {
        "retailcrm": {
            "enabled": True,
            "domain": crm_url,
            "api_key_encrypted": SecretBox().encrypt(API_KEY),
            "user_extensions": {"19": "150", "18": "151"},
        }
    }
    with psycopg.connect(database_url, autocommit=True) as connection:
        connection.execute(
            "INSERT INTO telephony.enterprises (number, name, token_digest, integrations_config) "
            "VALUES ('0367', 'Bench', %s, %s)",
            (hashlib.sha256(TOKEN.encode()).hexdigest(), json.dumps(config)),
        )


def register_module(crm_url: str) -> None:
    module = {
        "code": "switchboard-telephony",
        "active": True,
        "name": "Switchboard",
        "clientId": "0367",
        "baseUrl": "https://switchboard.test",
        "logo": "https://switchboard.test/logo.svg",
        "integrations": {
            "telephony": {
                "makeCallUrl": "https://switchboard.test/retailcrm/make-call/x",
                "additionalCodes": [{"userId": 19, "code": "150"}, {"userId": 18, "code": "151"}],
            }
        },
    }
    answer = httpx.post(
        f"{crm_url}/api/v5/integration-modules/switchboard-telephony/edit",
        data={"integrationModule": json.dumps(module)},
        headers={"X-API-KEY": API_KEY},
        timeout=5,
    )
    answer.raise_for_status()


@contextlib.contextmanager
def retailcrm_sandbox(
    database_url: str, *, latency: float
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`switchboard sandbox` in its own process, its RetailCRM answering `latency` s late, and
    the bench enterprise using it: (RetailCRM's URL, the process)."""
    port = five_free_ports()
    crm_url = f"http://127.0.0.1:{port + 2}"
    with process(PYTHON, "-m", "switchboard", "sandbox", "--port", str(port), "--empty") as sandbox:
        wait_until_up(f"{crm_url}/__sandbox__/faults", sandbox)
        register_module(crm_url)
        add_enterprise(database_url, crm_url)
        httpx.post(
            f"{crm_url}/__sandbox__/faults", json={"path": "/api/*", "latency": latency}, timeout=5
        ).raise_for_status()
        yield crm_url, sandbox


async def play(api_url: str, rate: float, seconds: float) -> dict[str, float]:
    sent: dict[str, float] = {}
    async with httpx.AsyncClient(base_url=api_url, timeout=10) as client:

        async def one(n: int) -> None:
            unique_id = f"1796000000.{n}"
            body = {
                "Token": TOKEN,
                "UniqueId": unique_id,
                "CallType": 0,
                "Phone": f"37529{n % 10_000_000:07d}",
                "Extensions": ["150", "151"],
            }
            sent[unique_id] = time.time()
            answer = await client.post("/dial", json=body)
            answer.raise_for_status()

        tasks = []
        started = time.perf_counter()
        n = 0
        while time.perf_counter() - started < seconds:
            tasks.append(asyncio.create_task(one(n)))
            n += 1
            await asyncio.sleep(max(0.0, started + n / rate - time.perf_counter()))
        await asyncio.gather(*tasks)
    return sent


def arrivals(crm_url: str, expected: int) -> dict[str, list[float]]:
    deadline = time.monotonic() + 30
    while True:
        journal = httpx.get(f"{crm_url}/__sandbox__/requests", timeout=10).json()
        seen: dict[str, list[float]] = {}
        for entry in journal:
            if entry["path"] != "/api/v5/telephony/call/event":
                continue
            form = parse_qs(entry["body"])
            event = json.loads(form["event"][0])
            seen.setdefault(event["callExternalId"], []).append(entry["at"])
        if len(seen) >= expected or time.monotonic() > deadline:
            return seen
        time.sleep(0.5)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--seconds", type=float, default=15.0)
    options, _ = parser.parse_known_args()
    with (
        bench_database() as database_url,
        retailcrm_sandbox(database_url, latency=0.02) as (crm_url, _),
    ):
        api_port = free_port()
        env = {
            "DATABASE_URL": database_url,
            "LOAD_DICTS_ON_START": "false",
            "RATE_LIMIT_PER_MINUTE": "0",
            "LOG_LEVEL": "WARNING",
            "ACCESS_LOG": "errors",
            "REDIS_URL": "",
            "EVENT_BUS": "postgres",
        }
        with process(PYTHON, "-m", "switchboard", "serve", "--port", str(api_port), env=env) as api:
            api_url = f"http://127.0.0.1:{api_port}"
            wait_until_up(f"{api_url}/api/health", api)
            time.sleep(1.0)  # the cache's watcher and the delivery service start listening
            sent = asyncio.run(play(api_url, options.rate, options.seconds))
            seen = arrivals(crm_url, len(sent))
    latencies = sorted((min(seen[uid]) - at) * 1000 for uid, at in sent.items() if uid in seen)
    twice = sum(1 for times in seen.values() if len(times) > 1)
    missing = len(sent) - len(latencies)
    p50 = statistics.median(latencies) if latencies else float("nan")
    p95 = latencies[int(len(latencies) * 0.95)] if latencies else float("nan")
    p99 = latencies[int(len(latencies) * 0.99)] if latencies else float("nan")
    print(
        f"dial → RetailCRM call/event, {len(sent)} calls at {options.rate:g}/s, RetailCRM at 20 ms"
    )
    print(f"  p50 {p50:.1f} ms   p95 {p95:.1f} ms   p99 {p99:.1f} ms   max {latencies[-1]:.1f} ms")
    print(f"  popped up twice: {twice}   never: {missing}")
    met = missing == 0 and twice == 0 and p95 < TARGET_P95_MS
    print(f"  target p95 < {TARGET_P95_MS:.0f} ms, each call once: {'met' if met else 'NOT met'}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
