"""`switchboard demo`: the whole platform on one machine, with nothing to install or configure.

The parent process holds the embedded PostgreSQL, the emulators and the API; a worker runs as a
child process (as in production, where workers are separate), talking to the API through the
PostgreSQL event bus. A worker that dies (a crash, a `kill -9`) is started again with backoff,
and the demo says so. Ctrl+C stops the worker, then the servers, then the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from switchboard.config import Settings, load_settings
from switchboard.consultations.clients.service import strip_counterparty_mask
from switchboard.consultations.settings import ConsultationSettings
from switchboard.core.crypto import SecretBox
from switchboard.core.db.base import utcnow
from switchboard.core.db.embedded import EmbeddedPostgres
from switchboard.core.db.migrate import upgrade_async
from switchboard.demo_site.app import SiteConfig, create_site
from switchboard.domains import open_runtime
from switchboard.integrations.onec.constants import CLOBUS_CLIENTS_FOLDER, ENTITY_CONTRACTORS
from switchboard.integrations.telegram.adapter import make_config as telegram_config
from switchboard.main import create_app, on_start
from switchboard.messenger.accounts import repository as accounts_repository
from switchboard.messenger.conversations import service as conversations
from switchboard.messenger.demo_data import DemoMessenger, build_demo_geoip, seed_messenger_demo
from switchboard.messenger.settings import MessengerSettings
from switchboard.ops.server import uvicorn_options
from switchboard.runtime import Runtime
from switchboard.sandbox.asterisk import DEFAULT_SECRET, DEFAULT_USER
from switchboard.sandbox.asterisk.calls import CallGenerator, CallPlayer
from switchboard.sandbox.messenger.visitors import Refused, VisitorSimulator
from switchboard.sandbox.runner import (
    CHATWOOT_INBOX,
    DEMO_CUSTOMER_PHONES,
    RETAILCRM_API_KEY,
    RETAILCRM_MANAGERS,
    Sandbox,
    start_sandbox,
)
from switchboard.sandbox.server import LoopServer
from switchboard.sandbox.telegram.demo import DEMO_BOT_TOKEN, DEMO_CALLS_CHAT_ID
from switchboard.telephony.actions.service import callback_key_digest
from switchboard.telephony.admin import service as telephony_admin

log = structlog.get_logger(__name__)

WORKER_STOP_SECONDS = 15


def _overrides(
    settings: Settings, sandbox: Sandbox, database_url: str, *, api_url: str
) -> dict[str, str]:
    overrides = {
        "ENV": "demo",
        # A fresh demo is useful at once: managers, their agents, clients, consultations.
        "SYNC_USERS_ON_START": "true",
        "PULL_ON_START": "true",
        # The demo base reaches months back; the first pull should show all of it.
        "ETL_INITIAL_FROM_DATE": (datetime.now(UTC).date() - timedelta(days=180)).isoformat(),
        "DATABASE_URL": database_url,
        "LOG_FORMAT": settings.log_format.value,
        **sandbox.settings_overrides(),
    }
    if not settings.allowed_origins:
        overrides["ALLOWED_ORIGINS"] = "*"
    if settings.redis_dsn() is None:
        overrides["EVENT_BUS"] = "postgres"
    if "ACCESS_LOG" not in os.environ:
        overrides["ACCESS_LOG"] = "all"  # in the demo, seeing each request is the point
    if settings.public_url is None:
        overrides["PUBLIC_URL"] = api_url  # the demo's recording and file links
    if not MessengerSettings.of(settings).geoip_database_path:
        # Visitors' regions from a small real MaxMind database (127.0.0.1: Екатеринбург).
        geoip = build_demo_geoip(settings.data_dir / "demo-geoip.mmdb")
        overrides["GEOIP_DATABASE_PATH"] = str(geoip)
    return overrides


async def _spawn_worker(env: dict[str, str], metrics_port: int) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "switchboard",
        "worker",
        "--metrics-port",
        str(metrics_port),
        env={**os.environ, **env},
    )


async def _stop_worker(process: asyncio.subprocess.Process) -> None:
    if process.returncode is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(process.wait(), timeout=WORKER_STOP_SECONDS)
    except TimeoutError:
        process.kill()
        await process.wait()


def _demo_customer(sandbox: Sandbox, prefix: str) -> dict[str, Any]:
    """A subscriber of the demo's 1C (an owner in our clients' folder) for the booking page to
    book as, the way a logged-in customer's site knows who they are."""
    records = sandbox.data.onec.get(ENTITY_CONTRACTORS, []) if sandbox.data else []
    for record in records:
        if record.get("IsFolder") or str(record.get("Parent_Key")) != str(CLOBUS_CLIENTS_FOLDER):
            continue
        contacts = {row.get("Тип"): row for row in record.get("КонтактнаяИнформация", [])}
        phone = contacts.get("Телефон", {})
        email = contacts.get("АдресЭлектроннойПочты", {})
        company = strip_counterparty_mask(record.get("Description"), prefix)
        return {
            "is_parent": True,
            "name": company,
            "company_name": company,
            "org_inn": record.get("ИНН") or None,
            "code_abonent": str(record.get("КодАбонентаClobus") or "") or None,
            "phone_number": phone.get("НомерТелефона") or phone.get("Представление") or None,
            "email": email.get("АдресЭП") or email.get("Представление") or None,
        }
    return {"is_parent": True, "name": "Демо-клиент"}


def _site(
    settings: Settings, sandbox: Sandbox, api_url: str, messenger_inbox: str | None = None
) -> SiteConfig:
    return SiteConfig(
        messenger_inbox=messenger_inbox,
        api_url=api_url,
        chatwoot_url=sandbox.chatwoot_url,
        inbox_identifier=CHATWOOT_INBOX,
        max_future_days=ConsultationSettings.of(settings).max_future_consultation_days,
        front_secret=settings.front_secret.get_secret_value() or None,
        client=_demo_customer(sandbox, ConsultationSettings.of(settings).onec_client_name_prefix),
    )


def _banner(
    host: str,
    port: int,
    sandbox: Sandbox,
    settings: Settings,
    *,
    worker_port: int,
    site_port: int,
    messenger: DemoMessenger | None = None,
) -> str:
    base = f"http://{host}:{port}"
    pages: list[tuple[str, str]] = [
        ("Booking page (a customer's website)", f"http://{host}:{site_port}/"),
        ("Shop with the chat widget (a customer's website)", f"http://{host}:{site_port}/shop"),
        ("Messenger: operator panel", f"{base}/messenger/"),
        ("Messenger: admin pages", f"{base}/messenger/admin/"),
        ("API documentation (Swagger UI)", f"{base}/docs"),
        ("API documentation (ReDoc)", f"{base}/redoc"),
        ("Health", f"{base}/api/health"),
        ("Health of the database", f"{base}/api/health/db"),
        ("Health of external systems", f"{base}/api/health/dependencies"),
        ("Metrics (API)", f"{base}/metrics"),
        ("Metrics (worker)", f"http://{host}:{worker_port}/metrics"),
        ("Dictionaries: kinds of software", f"{base}/api/dicts/po-types"),
        ("Dictionaries: sections", f"{base}/api/dicts/po-sections"),
        (
            "Dictionaries: question categories",
            f"{base}/api/dicts/online-question/categories?language=ru",
        ),
        ("Dictionaries: questions", f"{base}/api/dicts/online-questions?language=uz"),
        ("Dictionaries: knowledge base", f"{base}/api/dicts/knowledge-base"),
        ("Dictionaries: interference", f"{base}/api/dicts/interference"),
        ("Dictionaries: live changes (SSE)", f"{base}/api/dicts/events"),
        *sandbox.describe(),
        (f"Telephony: the PBX's events (Token {DEMO_PBX_TOKEN})", f"{base}/dial"),
        ("Telephony: gateway stats (OPS_TOKEN when set)", f"{base}/gateway/stats"),
        *sandbox.describe_telephony(),
    ]
    width = max(len(name) for name, _ in pages)
    lines = ["", "Switchboard demo is running. Ctrl+C stops everything.", ""]
    lines += [f"  {name:<{width}}  {url}" for name, url in pages]
    lines.append("")
    if not settings.front_auth_enabled():
        lines.append("  Front-end auth is off (FRONT_SECRET is empty), as in development.")
    else:
        lines.append("  Front-end auth is on: send X-Front-Secret or Authorization: Bearer.")
    if messenger is not None:
        lines.append("  Messenger demo logins (login / password):")
        for role, title in (
            ("operator", "operator"),
            ("supervisor", "supervisor"),
            ("admin", "admin"),
        ):
            person = messenger.login_of(role)
            lines.append(f"    {title:<11} {person.login} / {person.password}")
    lines.append(f"  Data lives in {settings.data_dir.resolve()}")
    return "\n".join(lines) + "\n"


#: The demo enterprise of seed 003: June, number 0367, and its PBX's token.
DEMO_ENTERPRISE = "0367"
DEMO_PBX_TOKEN = "demo-0367"  # noqa: S105 - the demo PBX's own token
DEMO_INTERNAL_PHONES = (
    ("150", "Джулай Джуновый"),
    ("151", "Анна Соколова"),
    ("152", "Борис Ковалёв"),
    ("153", None),
    ("154", None),
    ("155", None),
)


async def seed_telephony_demo(runtime: Runtime, sandbox: Sandbox, *, api_url: str) -> None:
    """Enterprise 0367 with RetailCRM on (managers 19 → 150, 18 → 151, 16 → 152), its AMI
    access, and the telephony module registered in the RetailCRM emulator as the admin page
    registers it."""
    if sandbox.retailcrm is None or sandbox.retailcrm_server is None:
        return
    box = SecretBox(runtime.settings.secret_keys.get_secret_value())
    extensions = {str(user): code for user, _, _, _, code in RETAILCRM_MANAGERS if code}
    async with runtime.database.transaction() as session:
        await telephony_admin.save_enterprise(
            session, runtime.bus, number=DEMO_ENTERPRISE, name="June", token=DEMO_PBX_TOKEN
        )
        await telephony_admin.set_internal_phones(
            session, number=DEMO_ENTERPRISE, phones=DEMO_INTERNAL_PHONES
        )
        # A new click-to-call key each start: the emulator starts empty and gets the module anew.
        callback_key = telephony_admin.new_callback_key()
        await telephony_admin.set_retailcrm(
            session,
            runtime.bus,
            box,
            number=DEMO_ENTERPRISE,
            changes={
                "enabled": True,
                "domain": sandbox.retailcrm_server.url,
                "user_extensions": extensions,
                "callback_key_digest": callback_key_digest(callback_key),
            },
            api_key=RETAILCRM_API_KEY,
        )
        if sandbox.telegram_server is not None:
            await telephony_admin.set_integration(
                session,
                runtime.bus,
                number=DEMO_ENTERPRISE,
                name="telegram",
                config=telegram_config(
                    box,
                    bot_token=DEMO_BOT_TOKEN,
                    chat_ids=[DEMO_CALLS_CHAT_ID],
                    api_url=sandbox.telegram_server.url,
                ),
            )
        if sandbox.ami_port is not None:
            await telephony_admin.set_ami(
                session,
                runtime.bus,
                box,
                number=DEMO_ENTERPRISE,
                host=sandbox.host,
                port=sandbox.ami_port,
                username=DEFAULT_USER,
                secret=DEFAULT_SECRET,
            )
    if sandbox.retailcrm is not None:
        sandbox.retailcrm.set_module(
            "switchboard-telephony",
            {
                "name": "Switchboard",
                "clientId": DEMO_ENTERPRISE,
                "baseUrl": api_url,
                "integrations": {
                    "telephony": {
                        "makeCallUrl": f"{api_url}/retailcrm/make-call/{callback_key}",
                        "additionalCodes": [
                            {"userId": int(user), "code": code} for user, code in extensions.items()
                        ],
                    }
                },
            },
        )


async def play_demo_calls(
    api_url: str, *, per_minute: float = 4, recordings_url: str | None = None
) -> None:
    """A few realistic calls a minute into the demo PBX's events, so the CRM and the stats
    show life; answered calls name their recording on the PBX (`recordings_url`)."""
    generator = CallGenerator(
        token=DEMO_PBX_TOKEN,
        extensions=tuple(phone for phone, _ in DEMO_INTERNAL_PHONES[:3]),
        known_phones=DEMO_CUSTOMER_PHONES,
        known_share=0.5,
        recordings_url=recordings_url,
    )
    async with CallPlayer(api_url, DEMO_PBX_TOKEN, generator=generator, speed=0.2) as player:
        await player.run_forever(per_minute)


#: The demo's scripted chat: what the visitor writes, what the operator answers, the follow-up.
DEMO_CHAT = (
    "Здравствуйте! Хочу заказать Да Хун Пао с доставкой в Екатеринбург. Когда привезёте?",
    "Здравствуйте! Доставим **завтра** до 18:00, курьером. Оформить заказ можно здесь: "
    "https://shop.example/cart — или продиктуйте адрес, я оформлю сам.",
    "Спасибо! Адрес: ул. Малышева, 51. Оплата картой курьеру.",
)


async def seed_messenger(runtime: Runtime, *, api_url: str, site_url: str) -> DemoMessenger:
    """The messenger's demo data; the first demo operator is at work (online), so the demo's
    own chats reach her until the presence job sees that nobody opened her panel."""
    async with runtime.database.transaction() as session:
        messenger = await seed_messenger_demo(session, api_url=api_url, site_url=site_url)
        operator = await accounts_repository.staff_by_login(
            session, messenger.login_of("operator").login
        )
        if operator is not None:
            await accounts_repository.set_status(session, operator.id, "online")
    return messenger


async def play_demo_chat(
    runtime: Runtime, api_url: str, messenger: DemoMessenger, *, site_url: str
) -> None:
    """A visitor of the demo shop asks, the operator routing chose answers (Markdown), the
    visitor answers back: the panel has a live conversation at once."""
    try:
        await _demo_chat(runtime, api_url, messenger, site_url)
    except Refused as exc:
        log.warning("the demo's scripted chat did not happen", reason=str(exc))


async def _demo_chat(
    runtime: Runtime, api_url: str, messenger: DemoMessenger, site_url: str
) -> None:
    async with VisitorSimulator(api_url, messenger.public_key, speed=0, origin=site_url) as visitor:
        token, conversation_id = await visitor.write(DEMO_CHAT[:1])
        async with runtime.database.transaction() as session:
            chat = await conversations.conversation(session, conversation_id)
            if chat.assignee_id is None:
                return
            staff = await accounts_repository.staff_by_id(session, chat.assignee_id)
            await conversations.post_staff_message(
                session,
                runtime.bus,
                conversation_id,
                staff,
                text=DEMO_CHAT[1],
                client_id="demo-chat-answer",
                now=utcnow(),
            )
        await visitor.http.post(
            f"{api_url}/api/widget/messages",
            headers={"X-Visitor-Token": token},
            json={"inbox": messenger.public_key, "text": DEMO_CHAT[2], "client_id": "demo-chat-2"},
        )


def port_is_free(host: str, port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def pick_port(host: str, preferred: int) -> int:
    """`preferred` when it is free, else any free port (the banner shows which)."""
    if port_is_free(host, preferred):
        return preferred
    with socket.socket() as probe:
        probe.bind((host, 0))
        chosen: int = probe.getsockname()[1]
    log.warning("port busy, using another", wanted=preferred, using=chosen)
    return chosen


def _stop_on_signals() -> asyncio.Event:
    """An event set by Ctrl+C or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    return stop


async def run_demo(settings: Settings, *, host: str = "127.0.0.1", port: int = 8000) -> int:
    stop = _stop_on_signals()

    if not port_is_free(host, port):
        print(
            f"switchboard: port {port} on {host} is in use; choose another with --port",
            file=sys.stderr,
        )
        return 2
    (
        onec_port,
        chatwoot_port,
        site_port,
        retailcrm_port,
        telegram_port,
        ami_port,
        recordings_port,
        worker_port,
    ) = (pick_port(host, port + n) for n in (1, 2, 3, 4, 5, 6, 7, 9))
    embedded: EmbeddedPostgres | None = None
    database_url = settings.configured_database_url()
    if database_url is None:
        embedded = EmbeddedPostgres(settings.data_dir / "postgres")
        database_url = await asyncio.to_thread(embedded.start)
    sandbox: Sandbox | None = None
    workers: ChildSupervisor | None = None
    server: LoopServer | None = None
    site: LoopServer | None = None
    try:
        await upgrade_async(database_url)
        sandbox = await start_sandbox(
            host=host,
            onec_port=onec_port,
            chatwoot_port=chatwoot_port,
            retailcrm_port=retailcrm_port,
            telegram_port=telegram_port,
            ami_port=ami_port,
            recordings_port=recordings_port,
        )
        overrides = _overrides(settings, sandbox, database_url, api_url=f"http://{host}:{port}")
        demo_settings = load_settings(**overrides)
        api_url, site_url = f"http://{host}:{port}", f"http://{host}:{site_port}"
        async with open_runtime(demo_settings, database_url=database_url) as runtime:
            messenger = await seed_messenger(runtime, api_url=api_url, site_url=site_url)
            server = LoopServer(
                create_app(demo_settings, runtime=runtime),
                host=host,
                port=port,
                options=uvicorn_options(demo_settings),
            )
            await server.start()
            site = LoopServer(
                create_site(_site(demo_settings, sandbox, api_url, messenger.public_key)),
                host=host,
                port=site_port,
            )
            await site.start()
            await on_start(runtime)
            await seed_telephony_demo(runtime, sandbox, api_url=api_url)
            await play_demo_chat(runtime, api_url, messenger, site_url=site_url)
            calls = asyncio.create_task(
                play_demo_calls(
                    f"http://{host}:{port}",
                    recordings_url=sandbox.pbx_server.url if sandbox.pbx_server else None,
                )
            )
            workers = ChildSupervisor(lambda: _spawn_worker(overrides, worker_port))
            supervising = asyncio.create_task(workers.run(stop))
            print(
                _banner(
                    host,
                    port,
                    sandbox,
                    demo_settings,
                    worker_port=worker_port,
                    site_port=site_port,
                    messenger=messenger,
                ),
                flush=True,
            )
            # Until Ctrl+C; a worker that dies meanwhile is started again.
            await supervising
            calls.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await calls
            if workers.process is not None:
                await _stop_worker(workers.process)
            await site.stop()
            await server.stop()
        return 0
    finally:
        if workers is not None and workers.process is not None:
            await _stop_worker(workers.process)
        if sandbox is not None:
            await sandbox.stop()
        if embedded is not None:
            embedded.stop()


@dataclass
class ChildSupervisor:
    """Keeps a child process running until `stop`: one that dies on its own (a crash, a
    `kill -9`) is started again after a pause that grows while it keeps dying."""

    spawn: Callable[[], Awaitable[asyncio.subprocess.Process]]
    name: str = "worker"
    initial_delay: float = 1.0
    max_delay: float = 30.0
    #: A child that lived this long was healthy: its next restart is quick again.
    healthy_after: float = 60.0
    process: asyncio.subprocess.Process | None = None
    restarts: int = 0

    async def run(self, stop: asyncio.Event) -> None:
        delay = self.initial_delay
        while not stop.is_set():
            started = time.monotonic()
            self.process = await self.spawn()
            await _first_of(stop.wait(), self.process.wait())
            if stop.is_set():
                return
            if time.monotonic() - started >= self.healthy_after:
                delay = self.initial_delay
            log.error(
                f"the {self.name} exited unexpectedly; restarting it",
                code=self.process.returncode,
                restart_in_seconds=delay,
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=delay)
            delay = min(self.max_delay, delay * 2)
            self.restarts += 1


async def _first_of(*waits: Coroutine[Any, Any, Any]) -> None:
    tasks = [asyncio.ensure_future(wait) for wait in waits]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
