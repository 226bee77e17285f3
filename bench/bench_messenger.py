"""The messenger in real time: a visitor's message to the operator's SSE stream, and idle streams.

`switchboard serve` (one API process, PostgreSQL bus) and `switchboard worker` (one worker
process: escalation jobs, routing of waiting chats) run on a scratch database with one inbox
open around the clock, one branch of 20 online operators and a supervisor.

1. Latency. 1,000 visitors bootstrap and each holds the widget's event stream
   (`/api/widget/stream/`); the supervisor holds the panel's stream (`/api/messenger/stream/`,
   every conversation). Visitors then send `--rate` (50) messages a second through
   `POST /api/widget/messages`, each from a random visitor; the time runs from just before the
   request is written to the moment the supervisor's stream brings that message
   (`message.created`, matched by its `client_id`). Every message must arrive exactly once, and
   each visitor's own stream must bring back each of their messages.
   Target: p50 under 30 ms, p99 under 150 ms.
2. Memory. `--idle` (5,000) more visitors each open one widget stream and leave it idle; the
   API's resident memory is read before and after. One operator message is then sent to one of
   them to show that the streams are alive. Target: under 200 MB more.
3. The widget. `widget.js` as served: its size (target under 40 KB uncompressed) and gzipped;
   with Chromium (Debian's `/usr/bin/chromium`), a page that embeds it is loaded 20 times and
   the launcher's first paint is timed from the moment the script arrived (its Resource Timing
   `responseEnd`) to the widget's `switchboard-chat:launcher` mark and to the next frame.
   Target: under 100 ms.

Run: `.venv/bin/python bench/bench_messenger.py [--widgets 1000] [--rate 50] [--seconds 20]
[--idle 5000]`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import random
import resource
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_events import Client, Progress, percentile, rss_mb, serve_env
from bench.common import PYTHON, bench_database, free_port, process, wait_until_up

INBOX = "bench-inbox"
SUPERVISOR = ("supervisor@bench.local", "bench-supervisor-password")
OPERATORS = 20
CONNECT_BATCH = 200
TARGET_P50_MS = 30.0
TARGET_P99_MS = 150.0
TARGET_IDLE_MB = 200.0


# --- a tiny keep-alive HTTP/1.1 client (JSON in, JSON out) ----------------------------------


class Http:
    """One keep-alive connection; requests on it run one at a time."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.lock = asyncio.Lock()

    async def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], Any]:
        """One request; a keep-alive connection the server closed meanwhile (its idle timeout)
        is opened again and the request sent once more (every request here is idempotent)."""
        async with self.lock:
            for attempt in (1, 2):
                reused = self.writer is not None
                try:
                    return await self._exchange(method, path, body, headers)
                except (asyncio.IncompleteReadError, ConnectionError):
                    self.close()
                    if not reused or attempt == 2:
                        raise
            raise AssertionError("unreachable")

    async def _exchange(
        self, method: str, path: str, body: Any, headers: dict[str, str] | None
    ) -> tuple[int, dict[str, str], Any]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        payload = orjson.dumps(body) if body is not None else b""
        lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{self.port}"]
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        if body is not None:
            lines += ["Content-Type: application/json", f"Content-Length: {len(payload)}"]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + payload)
        head = (await self.reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        status = int(head[9:12])
        fields: dict[str, str] = {}
        for line in head.split("\r\n")[1:]:
            name, _, value = line.partition(":")
            if name:
                fields.setdefault(name.strip().lower(), value.strip())
        raw = await self.reader.readexactly(int(fields.get("content-length", "0")))
        return status, fields, orjson.loads(raw) if raw else None

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def open_stream(
    port: int, path: str, progress: Progress, headers: dict[str, str] | None = None
) -> Client:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    extra = "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
    writer.write(
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: text/event-stream\r\n"
        f"{extra}\r\n".encode()
    )
    head = await reader.readuntil(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(f"{path}: {head.splitlines()[0].decode()}")
    client = Client(path, progress, reader, writer)
    client.task = asyncio.create_task(client.run())
    await asyncio.wait_for(client.opened.wait(), 30)
    return client


# --- the scene ------------------------------------------------------------------------------


async def seed(database_url: str) -> None:
    """The inbox, the branch, 20 online operators with room for every chat, the supervisor."""
    from sqlalchemy import text

    from switchboard.config import Settings
    from switchboard.domains import open_runtime
    from switchboard.messenger.accounts.service import Passwords, save_staff

    settings = Settings(database_url=database_url, load_dicts_on_start=False)
    async with open_runtime(settings) as runtime, runtime.database.transaction() as session:
        await session.execute(
            text("INSERT INTO messenger.branches (code, name) VALUES ('bench', 'Бенчмарк')")
        )
        await session.execute(
            text(
                "INSERT INTO messenger.inboxes (name, public_key, branch_id) "
                "SELECT 'Бенчмарк', :key, id FROM messenger.branches WHERE code = 'bench'"
            ),
            {"key": INBOX},
        )
        for n in range(OPERATORS):
            await save_staff(
                session,
                login=f"operator{n}@bench.local",
                name=f"Оператор {n}",
                role="operator",
                branch_code="bench",
                capacity=1000,
            )
        await save_staff(
            session,
            login=SUPERVISOR[0],
            name="Супервизор",
            role="supervisor",
            branch_code="bench",
            password_hash=Passwords().hash_now(SUPERVISOR[1]),
        )
        await session.execute(
            text("UPDATE messenger.staff SET status = 'online', last_seen_at = now()")
        )


@dataclass
class Visitor:
    token: str
    key: str
    http: Http


async def bootstrap_visitors(port: int, count: int, connections: int = 32) -> list[Visitor]:
    visitors: list[Visitor] = []
    pending = iter(range(count))

    async def one_connection() -> None:
        http = Http(port)
        for _ in pending:
            status, _, answer = await http.request(
                "POST", "/api/widget/bootstrap", {"inbox": INBOX}
            )
            if status != 200:
                raise RuntimeError(f"bootstrap answered {status}: {answer}")
            visitors.append(Visitor(answer["visitor_token"], answer["stream_key"], Http(port)))
        http.close()

    await asyncio.gather(*(one_connection() for _ in range(connections)))
    return visitors


async def visitor_streams(port: int, visitors: list[Visitor], progress: Progress) -> list[Client]:
    clients: list[Client] = []
    for start in range(0, len(visitors), CONNECT_BATCH):
        clients += await asyncio.gather(
            *(
                open_stream(port, f"/api/widget/stream/?inbox={INBOX}&key={visitor.key}", progress)
                for visitor in visitors[start : start + CONNECT_BATCH]
            )
        )
    return clients


async def supervisor_stream(port: int, progress: Progress) -> tuple[Client, Http, str]:
    http = Http(port)
    status, headers, answer = await http.request(
        "POST", "/api/messenger/auth/login", {"login": SUPERVISOR[0], "password": SUPERVISOR[1]}
    )
    if status != 200:
        raise RuntimeError(f"login answered {status}: {answer}")
    cookie = headers["set-cookie"].split(";", 1)[0]
    stream = await open_stream(port, "/api/messenger/stream/", progress, {"Cookie": cookie})
    return stream, http, cookie


# --- 1. latency -----------------------------------------------------------------------------


async def send_steadily(
    visitors: list[Visitor], rate: float, seconds: float
) -> tuple[dict[str, float], int, dict[str, float]]:
    """Messages at `rate` a second from random visitors; when each was sent, by client id."""
    sent: dict[str, float] = {}
    answered: dict[str, float] = {}
    errors = 0
    rng = random.Random(8)
    total = int(rate * seconds)
    started = time.monotonic()

    async def one(n: int) -> None:
        nonlocal errors
        await asyncio.sleep(max(0.0, started + n / rate - time.monotonic()))
        visitor = rng.choice(visitors)
        client_id = str(uuid.uuid4())
        sent[client_id] = time.monotonic()
        status, _, _ = await visitor.http.request(
            "POST",
            "/api/widget/messages",
            {"inbox": INBOX, "text": f"Сообщение {n}", "client_id": client_id},
            {"X-Visitor-Token": visitor.token},
        )
        answered[client_id] = time.monotonic() - sent[client_id]
        if status != 200:
            errors += 1
            del sent[client_id]

    await asyncio.gather(*(one(n) for n in range(total)))
    return sent, errors, answered


def arrivals(client: Client) -> dict[str, list[float]]:
    found: dict[str, list[float]] = {}
    for _, arrived, data in client.events:
        message = data.get("message") or {}
        if message.get("client_id"):
            found.setdefault(message["client_id"], []).append(arrived)
    return found


async def open_conversations(visitors: list[Visitor], at_once: int = 8) -> float:
    """Each visitor's first message (their conversation opens and is routed), before the
    measurement; the seconds it took."""
    pending = iter(visitors)
    started = time.monotonic()

    async def one_lane() -> None:
        for visitor in pending:
            status, _, answer = await visitor.http.request(
                "POST",
                "/api/widget/messages",
                {"inbox": INBOX, "text": "Здравствуйте!", "client_id": str(uuid.uuid4())},
                {"X-Visitor-Token": visitor.token},
            )
            if status != 200:
                raise RuntimeError(f"the first message answered {status}: {answer}")

    await asyncio.gather(*(one_lane() for _ in range(at_once)))
    return time.monotonic() - started


async def measure_latency(port: int, widgets: int, rate: float, seconds: float) -> dict[str, Any]:
    visitors = await bootstrap_visitors(port, widgets)
    opening = await open_conversations(visitors)
    progress = Progress()
    streams = await visitor_streams(port, visitors, progress)
    supervisor, http, _ = await supervisor_stream(port, Progress())
    # The load generator's own collections must not show as the server's latency.
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        sent, errors, answered = await send_steadily(visitors, rate, seconds)
        await asyncio.sleep(2.0)  # the last ones, and any duplicate
    finally:
        gc.enable()
        for client in [*streams, supervisor]:
            client.close()
        http.close()
        for visitor in visitors:
            visitor.http.close()
    seen = arrivals(supervisor)
    latencies = [(seen[cid][0] - at) * 1000 for cid, at in sent.items() if cid in seen]
    echoed: dict[str, int] = {}
    for stream in streams:
        for cid, times in arrivals(stream).items():
            echoed[cid] = echoed.get(cid, 0) + len(times)
    return {
        "answers": [seconds_ * 1000 for seconds_ in answered.values()],
        "opening": opening,
        "sent": len(sent),
        "errors": errors,
        "latencies": latencies,
        "missing": sum(1 for cid in sent if cid not in seen),
        "duplicates": sum(1 for times in seen.values() if len(times) > 1),
        "echo_missing": sum(1 for cid in sent if echoed.get(cid, 0) != 1),
    }


# --- 2. idle streams ------------------------------------------------------------------------


async def measure_idle(port: int, pid: int, idle: int) -> dict[str, float]:
    visitors = await bootstrap_visitors(port, idle)
    await asyncio.sleep(1.0)
    before = rss_mb(pid)
    progress = Progress()
    streams = await visitor_streams(port, visitors, progress)
    try:
        await asyncio.sleep(3.0)
        held = rss_mb(pid)
        # One of them writes; their stream (and only theirs) brings the message back.
        progress.expect(1)
        status, _, _ = await visitors[-1].http.request(
            "POST",
            "/api/widget/messages",
            {"inbox": INBOX, "text": "Есть кто?", "client_id": str(uuid.uuid4())},
            {"X-Visitor-Token": visitors[-1].token},
        )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(progress.done.wait(), 10)
        alive = sum(1 for stream in streams if stream.opened.is_set())
    finally:
        for stream in streams:
            stream.close()
        for visitor in visitors:
            visitor.http.close()
    return {
        "before": before,
        "held": held,
        "alive": alive,
        "answered": float(status),
        "echoed": float(len(streams[-1].events)),
    }


WIDGET_PAGE = """<!doctype html><html lang="ru"><head><meta charset="utf-8"></head><body>
<h1>Магазин</h1><script src="{api}/widget/widget.js" data-inbox="{inbox}" data-api="{api}"></script>
</body></html>"""

# The launcher is painted in the first frame after it is on the page: an animation frame
# callback runs just before that frame is drawn, a timer set there right after the paint.
WATCH_PAINT = """(() => {
    const mark = performance.mark.bind(performance);
    performance.mark = (name, options) => {
        if (name === "switchboard-chat:launcher") {
            requestAnimationFrame(() => setTimeout(() => { window.__painted = performance.now(); }));
        }
        return mark(name, options);
    };
})();"""

PAINT_TIMING = """() => {
    const script = performance.getEntriesByType("resource").find((e) =>
        e.name.includes("/widget/widget.js"));
    const mark = performance.getEntriesByName("switchboard-chat:launcher")[0];
    return [script.responseEnd, mark.startTime, window.__painted];
}"""


async def measure_widget(port: int) -> dict[str, Any]:
    """The script's size, and the launcher's paint in Chromium (None without Chromium)."""
    import gzip
    import shutil

    http = Http(port)
    try:
        body = await _raw_get(port, "/widget/widget.js")
    finally:
        http.close()
    found: dict[str, Any] = {"bytes": len(body), "gzip": len(gzip.compress(body)), "paint": None}
    chromium = shutil.which("chromium")
    if chromium is None:
        return found
    from playwright.async_api import async_playwright

    api = f"http://127.0.0.1:{port}"
    marks, paints = [], []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium)
        for _ in range(20):
            page = await browser.new_page()
            # The page comes from the API's own address (Chromium keeps other sites from
            # loading scripts from 127.0.0.1), answered by the browser itself.
            await page.route(
                f"{api}/bench-shop",
                lambda route: route.fulfill(
                    content_type="text/html", body=WIDGET_PAGE.format(api=api, inbox=INBOX)
                ),
            )
            await page.add_init_script(WATCH_PAINT)
            await page.goto(f"{api}/bench-shop")
            await page.wait_for_function("window.__painted !== undefined")
            arrived, marked, painted = await page.evaluate(PAINT_TIMING)
            marks.append(marked - arrived)
            paints.append(painted - arrived)
            await page.close()
        await browser.close()
    found["paint"] = (percentile(marks, 0.5), percentile(paints, 0.5), max(paints))
    return found


async def _raw_get(port: int, path: str) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
    answer = await reader.read()
    writer.close()
    return answer.split(b"\r\n\r\n", 1)[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--widgets", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=50.0, help="messages per second")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--idle", type=int, default=5000)
    options = parser.parse_args()
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # the children inherit it
    with bench_database() as database_url:
        env = serve_env(database_url)
        env.update({"RATE_LIMIT_PER_MINUTE": "0", "MESSENGER_ESCALATION_SECONDS": "240"})
        asyncio.run(seed(database_url))
        port = free_port()
        serve = (PYTHON, "-m", "switchboard", "serve", "--port", str(port))
        worker = (PYTHON, "-m", "switchboard", "worker", "--metrics-port", "0")
        with process(*serve, env=env) as api, process(*worker, env=env):
            wait_until_up(f"http://127.0.0.1:{port}/api/health", api)
            latency = asyncio.run(
                measure_latency(port, options.widgets, options.rate, options.seconds)
            )
            idle = asyncio.run(measure_idle(port, api.pid, options.idle))
            widget = asyncio.run(measure_widget(port))
    values = latency["latencies"]
    p50, p99 = percentile(values, 0.5), percentile(values, 0.99)
    print(
        f"{options.widgets} visitors opened their conversations first (each routed; 8 at a "
        f"time): {latency['opening']:.1f} s, {options.widgets / latency['opening']:.0f} a second"
    )
    print(
        f"widget → operator stream: {options.widgets} widgets connected, {options.rate:.0f} msg/s"
    )
    print(
        f"  sent {latency['sent']}   errors {latency['errors']}   missing {latency['missing']}"
        f"   duplicates {latency['duplicates']}   not echoed once to the sender {latency['echo_missing']}"
    )
    print(
        f"  p50 {p50:6.2f} ms   p90 {percentile(values, 0.9):6.2f} ms   p99 {p99:6.2f} ms"
        f"   max {max(values):6.2f} ms"
    )
    answers = latency["answers"]
    print(
        f"  the visitor's POST answered: p50 {percentile(answers, 0.5):6.2f} ms   "
        f"p99 {percentile(answers, 0.99):6.2f} ms"
    )
    extra = idle["held"] - idle["before"]
    print(f"{options.idle} idle widget streams on one API process")
    print(
        f"  RSS {idle['before']:.0f} MB → {idle['held']:.0f} MB (+{extra:.0f} MB, "
        f"{extra * 1024 / options.idle:.1f} KB each); streams alive {idle['alive']:.0f}; "
        f"a message from the last visitor answered {idle['answered']:.0f} and came back "
        f"on their stream: {idle['echoed'] >= 1}"
    )
    print(
        f"widget.js: {widget['bytes'] / 1024:.1f} KB ({widget['gzip'] / 1024:.1f} KB gzipped; "
        f"target < 40 KB)"
    )
    if widget["paint"] is None:
        print("  first paint: not measured (no Chromium; Debian: apt-get install chromium)")
    else:
        mark, paint, worst = widget["paint"]
        print(
            f"  launcher after the script arrived (median of 20 loads): on the page "
            f"{mark:.1f} ms, painted {paint:.1f} ms (worst {worst:.1f} ms; target < 100 ms)"
        )
    painted_in_time = widget["paint"] is None or widget["paint"][1] < 100
    met = (
        widget["bytes"] < 40 * 1024
        and painted_in_time
        and p50 < TARGET_P50_MS
        and p99 < TARGET_P99_MS
        and latency["errors"] == latency["missing"] == latency["duplicates"] == 0
        and extra < TARGET_IDLE_MB
    )
    print(
        f"targets p50 < {TARGET_P50_MS:.0f} ms, p99 < {TARGET_P99_MS:.0f} ms, "
        f"idle < {TARGET_IDLE_MB:.0f} MB: {'met' if met else 'NOT met'}"
    )
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
