"""The emulators as pytest fixtures: `onec`, `chatwoot`, the OpenID issuer `openid` and
`retailcrm`.

Each emulator runs as a real HTTP server for the whole test session (so timeouts, dropped
connections and retries behave as on a network) and is reset before every test that uses it.
Enable with `pytest_plugins = ["switchboard.sandbox.pytest_plugin"]`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest

from switchboard.sandbox.runner import (
    CHATWOOT_INBOX,
    CHATWOOT_PLATFORM_TOKEN,
    CHATWOOT_TOKEN,
    ONEC_PASSWORD,
    ONEC_PATH,
    ONEC_USER,
)
from switchboard.sandbox.server import BackgroundServer

if TYPE_CHECKING:
    from switchboard.sandbox.asterisk import AmiEmulator, BackgroundAmi
    from switchboard.sandbox.asterisk.recordings import PbxRecordings
    from switchboard.sandbox.chatwoot import ChatwootEmulator
    from switchboard.sandbox.onec import OneCEmulator
    from switchboard.sandbox.openid import OpenIdIssuer
    from switchboard.sandbox.retailcrm import RetailCrmEmulator
    from switchboard.sandbox.telegram import TelegramEmulator


@dataclass
class RunningOneC:
    emulator: OneCEmulator
    server: BackgroundServer

    @property
    def root(self) -> str:
        return f"{self.server.url}{ONEC_PATH}/"

    @property
    def auth(self) -> tuple[str, str]:
        return ONEC_USER, ONEC_PASSWORD

    def settings(self) -> dict[str, str]:
        return {
            "ODATA_BASEURL_CL": self.root,
            "ODATA_USER": ONEC_USER,
            "ODATA_PASSWORD": ONEC_PASSWORD,
        }

    def reset(self) -> None:
        self.emulator.store.reset()
        self.emulator.faults.clear()
        self.emulator.journal.clear()


@dataclass
class RunningChatwoot:
    emulator: ChatwootEmulator
    server: BackgroundServer

    @property
    def url(self) -> str:
        return self.server.url

    def settings(self) -> dict[str, str]:
        return {
            "CHATWOOT_API_URL": self.url,
            "CHATWOOT_API_TOKEN": CHATWOOT_TOKEN,
            "CHATWOOT_ACCOUNT_ID": str(self.emulator.account_id),
            "CHATWOOT_INBOX_ID": str(self.emulator.inbox_id),
            "CHATWOOT_INBOX_IDENTIFIER": CHATWOOT_INBOX,
        }

    def reset(self) -> None:
        self.emulator.reset()
        self.emulator.faults.clear()
        self.emulator.journal.clear()


@pytest.fixture(scope="session")
def onec_server() -> Iterator[RunningOneC]:
    from switchboard.sandbox.onec import OneCEmulator

    emulator = OneCEmulator(base_path=ONEC_PATH, user=ONEC_USER, password=ONEC_PASSWORD)
    with BackgroundServer(emulator.app) as server:
        yield RunningOneC(emulator, server)


@pytest.fixture
def onec(onec_server: RunningOneC) -> RunningOneC:
    """The 1C OData emulator, empty, with no faults."""
    onec_server.reset()
    return onec_server


@pytest.fixture(scope="session")
def chatwoot_server() -> Iterator[RunningChatwoot]:
    from switchboard.sandbox.chatwoot import ChatwootEmulator

    emulator = ChatwootEmulator(
        api_access_token=CHATWOOT_TOKEN,
        platform_token=CHATWOOT_PLATFORM_TOKEN,
        inbox_identifier=CHATWOOT_INBOX,
    )
    with BackgroundServer(emulator.app) as server:
        yield RunningChatwoot(emulator, server)


@pytest.fixture
def chatwoot(chatwoot_server: RunningChatwoot) -> RunningChatwoot:
    """The Chatwoot emulator in its initial state, with no faults."""
    chatwoot_server.reset()
    return chatwoot_server


@dataclass
class RunningOpenId:
    issuer: OpenIdIssuer
    server: BackgroundServer

    @property
    def url(self) -> str:
        return self.server.url

    def settings(self) -> dict[str, str]:
        return {"OPENID_ISSUER": self.url, "OPENID_AUDIENCE": self.issuer.audience}

    def reset(self) -> None:
        self.issuer.reset()
        self.issuer.faults.clear()
        self.issuer.journal.clear()


@pytest.fixture(scope="session")
def openid_server() -> Iterator[RunningOpenId]:
    from switchboard.sandbox.openid import OpenIdIssuer

    issuer = OpenIdIssuer()
    with BackgroundServer(issuer.app) as server:
        issuer.url = server.url
        yield RunningOpenId(issuer, server)


@pytest.fixture
def openid(openid_server: RunningOpenId) -> RunningOpenId:
    """The sandbox OpenID issuer with one fresh key, no faults, an empty journal."""
    openid_server.reset()
    return openid_server


RETAILCRM_API_KEY = "crm-sandbox-api-key"


@dataclass
class RunningRetailCrm:
    emulator: RetailCrmEmulator
    server: BackgroundServer

    @property
    def url(self) -> str:
        return self.server.url

    def reset(self) -> None:
        self.emulator.reset()
        self.emulator.faults.clear()
        self.emulator.journal.clear()
        # Off unless a test turns it on (a test of the limit sets its own).
        self.emulator.limiter.per_second = 0
        self.emulator.limiter.telephony_per_second = 0


@pytest.fixture(scope="session")
def retailcrm_server() -> Iterator[RunningRetailCrm]:
    from switchboard.sandbox.retailcrm import RetailCrmEmulator

    emulator = RetailCrmEmulator(api_key=RETAILCRM_API_KEY, callback_timeout=5)
    with BackgroundServer(emulator.app) as server:
        yield RunningRetailCrm(emulator, server)


@pytest.fixture
def retailcrm(retailcrm_server: RunningRetailCrm) -> RunningRetailCrm:
    """The RetailCRM v5 emulator: an empty account, no faults, no rate limit."""
    retailcrm_server.reset()
    return retailcrm_server


@dataclass
class RunningAmi:
    emulator: AmiEmulator
    runner: BackgroundAmi

    @property
    def host(self) -> str:
        return self.runner.host

    @property
    def port(self) -> int:
        return self.runner.port


@pytest.fixture(scope="session")
def asterisk_ami_server() -> Iterator[RunningAmi]:
    from switchboard.sandbox.asterisk import AmiEmulator, BackgroundAmi

    emulator = AmiEmulator(originate_delay=0.03, talk_seconds=0.1)
    with BackgroundAmi(emulator) as runner:
        yield RunningAmi(emulator, runner)


@pytest.fixture
def asterisk_ami(asterisk_ami_server: RunningAmi) -> RunningAmi:
    """The Asterisk AMI emulator (TCP; user `switchboard`, secret `ami-sandbox`), reset."""
    asterisk_ami_server.emulator.reset()
    return asterisk_ami_server


@dataclass
class RunningPbxRecordings:
    emulator: PbxRecordings
    url: str

    def url_for(self, unique_id: str) -> str:
        from switchboard.sandbox.asterisk.recordings import recording_url

        return recording_url(self.url, unique_id)


@pytest.fixture(scope="session")
def pbx_recordings_server() -> Iterator[RunningPbxRecordings]:
    from switchboard.sandbox.asterisk.recordings import PbxRecordings

    emulator = PbxRecordings()
    with BackgroundServer(emulator.app) as server:
        yield RunningPbxRecordings(emulator, server.url)


@pytest.fixture
def pbx_recordings(pbx_recordings_server: RunningPbxRecordings) -> RunningPbxRecordings:
    """The PBX's web folder of recordings (`/monitor/<UniqueId>.wav`), no faults, reset."""
    pbx_recordings_server.emulator.reset()
    return pbx_recordings_server


@dataclass
class RunningTelegram:
    emulator: TelegramEmulator
    url: str


@pytest.fixture(scope="session")
def telegram_api_server() -> Iterator[RunningTelegram]:
    from switchboard.sandbox.telegram import TelegramEmulator

    emulator = TelegramEmulator()
    with BackgroundServer(emulator.app) as server:
        yield RunningTelegram(emulator, server.url)


@pytest.fixture
def telegram_api(telegram_api_server: RunningTelegram) -> RunningTelegram:
    """The Telegram Bot API emulator with no bots or chats, no faults, an empty journal and
    flood limits far above what a test sends (a test that wants a 429 injects it)."""
    emulator = telegram_api_server.emulator
    emulator.reset()
    emulator.faults.clear()
    emulator.journal.clear()
    emulator.limits.group_chat_per_minute = 10_000
    emulator.limits.bot_per_second = 10_000
    return telegram_api_server
