"""GET /api/dicts/po-types from the cache, against a bare FastAPI endpoint returning a constant.

Both run as a single uvicorn process on this machine and are measured alternately with the same
load generator (32 keep-alive connections). The platform runs with its full request pipeline
(request id, rate limiter, metrics, front-auth check, JSON logs with the default access log,
which records failed and slow requests; `BENCH_ACCESS_LOG=all` measures a line per request).
To cut noise on a small machine, the servers are pinned to CPU 0 and the load generator to
CPU 1 when the machine has two or more CPUs, and rounds alternate between the two servers.
Target: the platform reaches at least 60 % of the bare endpoint's requests per second.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import PYTHON, bench_database, free_port, process, wait_until_up
from bench.loadgen import LoadResult, measure

TARGET = 0.60


def pin_cpus(*servers: int) -> None:
    """Servers on CPU 0, this load generator on CPU 1: each side gets a whole core."""
    if len(os.sched_getaffinity(0)) < 2:
        return
    for pid in servers:
        os.sched_setaffinity(pid, {0})
    os.sched_setaffinity(0, {1})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=5)
    options, _ = parser.parse_known_args()

    with bench_database() as database_url:
        sandbox_port, api_port, bare_port = free_port(), free_port(), free_port()
        with process(
            PYTHON, "-m", "switchboard", "sandbox", "--port", str(sandbox_port)
        ) as sandbox:
            wait_until_up(f"http://127.0.0.1:{sandbox_port}/__sandbox__/faults", sandbox)
            env = {
                "DATABASE_URL": database_url,
                "ODATA_BASEURL_CL": f"http://127.0.0.1:{sandbox_port}/cl/odata/standard.odata/",
                "ODATA_USER": "odata",
                "ODATA_PASSWORD": "odata-sandbox",
                "LOAD_DICTS_ON_START": "false",
                "RATE_LIMIT_PER_MINUTE": "1000000000",
                "LOG_FORMAT": "json",
                "LOG_LEVEL": "INFO",
                "ACCESS_LOG": os.environ.get("BENCH_ACCESS_LOG", "errors"),
                "REDIS_URL": "",
            }
            loaded = subprocess.run(
                [PYTHON, "-m", "switchboard", "etl", "load_dicts"],
                env={**os.environ, **env},
                capture_output=True,
                text=True,
                check=False,
            )
            if loaded.returncode != 0:
                print(loaded.stdout, loaded.stderr, file=sys.stderr)
                return 2
            with (
                process(
                    PYTHON, "-m", "switchboard", "serve", "--port", str(api_port), env=env
                ) as api,
                process(
                    PYTHON,
                    "-m",
                    "uvicorn",
                    "bench.bare_app:app",
                    "--port",
                    str(bare_port),
                    "--log-level",
                    "warning",
                    "--no-access-log",
                ) as yardstick,
            ):
                wait_until_up(f"http://127.0.0.1:{api_port}/api/dicts/po-types", api)
                wait_until_up(f"http://127.0.0.1:{bare_port}/constant", yardstick)
                pin_cpus(api.pid, yardstick.pid)
                baseline: list[LoadResult] = []
                ours: list[LoadResult] = []
                for _ in range(options.rounds):
                    baseline.append(
                        measure("127.0.0.1", bare_port, "/constant", seconds=options.seconds)
                    )
                    ours.append(
                        measure(
                            "127.0.0.1", api_port, "/api/dicts/po-types", seconds=options.seconds
                        )
                    )
    bare_rps = statistics.median(r.rps for r in baseline)
    ours_rps = statistics.median(r.rps for r in ours)
    ratio = ours_rps / bare_rps
    print("GET /api/dicts/po-types (cached) vs bare FastAPI constant endpoint")
    print(
        f"  bare FastAPI      {bare_rps:9.0f} req/s   p50 {baseline[-1].percentile(0.5):6.2f} ms   p99 {baseline[-1].percentile(0.99):6.2f} ms"
    )
    print(
        f"  /api/dicts/…      {ours_rps:9.0f} req/s   p50 {ours[-1].percentile(0.5):6.2f} ms   p99 {ours[-1].percentile(0.99):6.2f} ms"
    )
    print(
        f"  ratio             {ratio:9.1%}   (target ≥ {TARGET:.0%}: {'met' if ratio >= TARGET else 'NOT met'})"
    )
    print(
        f"  errors            {sum(r.errors for r in ours)} (platform), {sum(r.errors for r in baseline)} (bare)"
    )
    return 0 if ratio >= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
