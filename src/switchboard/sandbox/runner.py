"""Start the emulators as real servers, filled with the demo data set."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import structlog

from switchboard.sandbox.demo_data import DemoData, build_demo_data
from switchboard.sandbox.demo_data.chatwoot import ATTRIBUTE_DEFINITIONS, chatwoot_contacts
from switchboard.sandbox.server import LoopServer

if TYPE_CHECKING:
    from switchboard.sandbox.asterisk import AmiEmulator
    from switchboard.sandbox.asterisk.recordings import PbxRecordings
    from switchboard.sandbox.chatwoot import ChatwootEmulator
    from switchboard.sandbox.onec import OneCEmulator
    from switchboard.sandbox.retailcrm import RetailCrmEmulator
    from switchboard.sandbox.telegram import TelegramEmulator

log = structlog.get_logger(__name__)

ONEC_PATH = "/cl/odata/standard.odata"
ONEC_USER = "odata"
ONEC_PASSWORD = "odata-sandbox"  # noqa: S105 - the emulator's own demo credential
CHATWOOT_TOKEN = "cw-sandbox-admin-token"  # noqa: S105
CHATWOOT_PLATFORM_TOKEN = "cw-sandbox-platform-token"  # noqa: S105
CHATWOOT_INBOX = "sandbox-site-inbox"
RETAILCRM_API_KEY = "crm-sandbox-api-key"
#: The demo's RetailCRM managers (user id → the internal number they get, seed 003's example).
RETAILCRM_MANAGERS = (
    (19, "Джулай", "Джуновый", "july@june.test", "150"),
    (18, "Анна", "Соколова", "anna@june.test", "151"),
    (16, "Борис", "Ковалёв", "boris@june.test", "152"),
    (22, "Вера", "Лисицына", "vera@june.test", None),
)


@dataclass
class Sandbox:
    onec: OneCEmulator
    chatwoot: ChatwootEmulator
    onec_server: LoopServer
    chatwoot_server: LoopServer
    retailcrm: RetailCrmEmulator | None = None
    retailcrm_server: LoopServer | None = None
    telegram: TelegramEmulator | None = None
    telegram_server: LoopServer | None = None
    ami: AmiEmulator | None = None
    ami_port: int | None = None
    pbx: PbxRecordings | None = None
    pbx_server: LoopServer | None = None
    host: str = "127.0.0.1"
    data: DemoData | None = None
    agents: dict[str, int] = field(default_factory=dict)

    @property
    def onec_root(self) -> str:
        return f"{self.onec_server.url}{ONEC_PATH}/"

    @property
    def chatwoot_url(self) -> str:
        return self.chatwoot_server.url

    def settings_overrides(self) -> dict[str, str]:
        """Environment variables that point the platform at these emulators."""
        return {
            "ODATA_BASEURL_CL": self.onec_root,
            "ODATA_USER": ONEC_USER,
            "ODATA_PASSWORD": ONEC_PASSWORD,
            "CHATWOOT_API_URL": self.chatwoot_url,
            "CHATWOOT_API_TOKEN": CHATWOOT_TOKEN,
            "CHATWOOT_ACCOUNT_ID": str(self.chatwoot.account_id),
            "CHATWOOT_INBOX_ID": str(self.chatwoot.inbox_id),
            "CHATWOOT_INBOX_IDENTIFIER": CHATWOOT_INBOX,
        }

    def describe(self) -> list[tuple[str, str]]:
        return [
            ("1C:ЦЛ OData (Basic odata / odata-sandbox)", self.onec_root),
            ("1C:ЦЛ $metadata", self.onec_root + "$metadata"),
            (
                "Chatwoot API (api_access_token cw-sandbox-admin-token)",
                self.chatwoot_url + "/api/v1/accounts/1/conversations",
            ),
            ("Chatwoot Public API", f"{self.chatwoot_url}/public/api/v1/inboxes/{CHATWOOT_INBOX}"),
            ("Fault injection (1C)", self.onec_server.url + "/__sandbox__/faults"),
            ("Fault injection (Chatwoot)", self.chatwoot_url + "/__sandbox__/faults"),
        ]

    def describe_telephony(self) -> list[tuple[str, str]]:
        """What a client needs to reach the telephony emulators."""
        from switchboard.sandbox.asterisk import DEFAULT_SECRET, DEFAULT_USER
        from switchboard.sandbox.telegram import demo as telegram_demo

        lines: list[tuple[str, str]] = []
        if self.retailcrm is not None and self.retailcrm_server is not None:
            lines += self.retailcrm.describe(self.retailcrm_server.url)
        if self.ami_port is not None:
            lines.append(
                (
                    f"Asterisk AMI (user {DEFAULT_USER}, secret {DEFAULT_SECRET})",
                    f"tcp://{self.host}:{self.ami_port}",
                )
            )
        if self.pbx_server is not None:
            lines.append(("PBX recordings (HTTP)", f"{self.pbx_server.url}/monitor/"))
        if self.telegram_server is not None:
            lines += telegram_demo.describe(self.telegram_server.url)
        return lines

    async def stop(self) -> None:
        if self.ami is not None:
            await self.ami.stop()
        for server in (self.pbx_server, self.telegram_server, self.retailcrm_server):
            if server is not None:
                await server.stop()
        await self.chatwoot_server.stop()
        await self.onec_server.stop()


def seed(sandbox: Sandbox, data: DemoData) -> None:
    sandbox.onec.store.load(data.onec)
    for agent in data.chatwoot_agents:
        user = sandbox.chatwoot.add_agent(
            agent["name"], agent["email"], custom_attributes={"cl_ref_key": agent["cl_ref_key"]}
        )
        sandbox.agents[agent["cl_ref_key"]] = int(user["id"])
    for team in data.chatwoot_teams:
        sandbox.chatwoot.add_team(team)
    for definition in ATTRIBUTE_DEFINITIONS:
        sandbox.chatwoot.define_attribute(
            definition.key,
            definition.display_name,
            model=definition.model,
            display_type=definition.display_type,
            description=definition.description,
        )
    for contact in chatwoot_contacts(data):
        sandbox.chatwoot.add_contact(
            contact.name,
            email=contact.email,
            phone_number=contact.phone_number,
            custom_attributes=contact.custom_attributes,
            additional_attributes=contact.additional_attributes,
        )
    sandbox.data = data


async def start_sandbox(
    *,
    host: str = "127.0.0.1",
    onec_port: int = 0,
    chatwoot_port: int = 0,
    retailcrm_port: int | None = None,
    telegram_port: int | None = None,
    ami_port: int | None = None,
    recordings_port: int | None = None,
    demo_data: bool = True,
) -> Sandbox:
    from switchboard.sandbox.chatwoot import ChatwootEmulator
    from switchboard.sandbox.onec import OneCEmulator

    onec = OneCEmulator(base_path=ONEC_PATH, user=ONEC_USER, password=ONEC_PASSWORD)
    chatwoot = ChatwootEmulator(
        api_access_token=CHATWOOT_TOKEN,
        platform_token=CHATWOOT_PLATFORM_TOKEN,
        inbox_identifier=CHATWOOT_INBOX,
    )
    onec_server = LoopServer(onec.app, host=host, port=onec_port)
    chatwoot_server = LoopServer(chatwoot.app, host=host, port=chatwoot_port)
    await onec_server.start()
    await chatwoot_server.start()
    sandbox = Sandbox(onec, chatwoot, onec_server, chatwoot_server, host=host)
    await _start_telephony(sandbox, retailcrm_port, telegram_port, ami_port, recordings_port)
    if demo_data:
        seed(sandbox, build_demo_data())
        seed_telephony(sandbox)
    return sandbox


async def _start_telephony(
    sandbox: Sandbox,
    retailcrm_port: int | None,
    telegram_port: int | None,
    ami_port: int | None,
    recordings_port: int | None,
) -> None:
    """RetailCRM, Telegram, Asterisk AMI and the PBX's recordings, each when given a port (0:
    any free one)."""
    from switchboard.sandbox.asterisk import AmiEmulator
    from switchboard.sandbox.asterisk.recordings import PbxRecordings
    from switchboard.sandbox.retailcrm import RetailCrmEmulator
    from switchboard.sandbox.telegram import TelegramEmulator

    host = sandbox.host
    if retailcrm_port is not None:
        sandbox.retailcrm = RetailCrmEmulator(api_key=RETAILCRM_API_KEY)
        sandbox.retailcrm_server = LoopServer(sandbox.retailcrm.app, host=host, port=retailcrm_port)
        await sandbox.retailcrm_server.start()
    if telegram_port is not None:
        sandbox.telegram = TelegramEmulator()
        sandbox.telegram_server = LoopServer(sandbox.telegram.app, host=host, port=telegram_port)
        await sandbox.telegram_server.start()
    if ami_port is not None:
        sandbox.ami = AmiEmulator(talk_seconds=None)
        sandbox.ami_port = await sandbox.ami.start(host, ami_port)
    if recordings_port is not None:
        sandbox.pbx = PbxRecordings()
        sandbox.pbx_server = LoopServer(sandbox.pbx.app, host=host, port=recordings_port)
        await sandbox.pbx_server.start()


def seed_telephony(sandbox: Sandbox) -> None:
    """The demo's RetailCRM account (its managers and customers who have one) and Telegram."""
    from switchboard.sandbox.telegram import demo as telegram_demo

    crm = sandbox.retailcrm
    if crm is not None:
        for user_id, first, last, email, _ in RETAILCRM_MANAGERS:
            crm.add_user(first, last, email, id=user_id)
        for index, phone in enumerate(DEMO_CUSTOMER_PHONES):
            manager = RETAILCRM_MANAGERS[index % 3][0]
            crm.add_customer(f"Клиент {index + 1}", phones=[f"+{phone}"], manager_id=manager)
    if sandbox.telegram is not None:
        telegram_demo.seed_demo(sandbox.telegram)


#: Customers of the demo's RetailCRM account; the call generator calls from these numbers too.
DEMO_CUSTOMER_PHONES = tuple(f"37529{n:07d}" for n in (1234567, 2345678, 3456789, 4567890))


async def run_sandbox_forever(*, host: str, port: int, demo_data: bool) -> None:
    sandbox = await start_sandbox(
        host=host,
        onec_port=port,
        chatwoot_port=port + 1,
        retailcrm_port=port + 2,
        telegram_port=port + 3,
        ami_port=port + 4,
        recordings_port=port + 5,
        demo_data=demo_data,
    )
    print("Switchboard sandbox is running (Ctrl+C stops it):")
    for name, url in [*sandbox.describe(), *sandbox.describe_telephony()]:
        print(f"  {name:<58} {url}")
    if sandbox.data is not None:
        print("  demo data:", sandbox.data.summary())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await sandbox.stop()
