"""An emulator of 1C:ЦЛ's standard OData interface (OData v3), stateful and strict.

It serves the configuration in `entities.CONFIGURATION` the way a 1C:Enterprise base publishes it:
atom by default and JSON on request, 1C's error envelope and codes, its `$filter` dialect, its
business refusals (three consultations per subscriber per day) — and never accepts what a real
base would refuse.

    emu = OneCEmulator(base_path="/cl/odata/standard.odata", user="odata", password="secret")
    with BackgroundServer(emu.app) as server:
        emu.store.put("Catalog_Контрагенты", {"Description": "ООО Ромашка", "ИНН": "301234567"})
        httpx.get(f"{server.url}/cl/odata/standard.odata/Catalog_Контрагенты?$format=json",
                  auth=("odata", "secret"))

Where 1C versions differ, the emulator has a switch: `emu.inlinecount_ignores_paging` (also
`GET/PATCH /__sandbox__/settings`), restored by `emu.store.reset()`.
"""

from __future__ import annotations

from datetime import datetime

from starlette.types import ASGIApp

from switchboard.sandbox.faults import FaultInjector, RequestJournal, SandboxMiddleware
from switchboard.sandbox.onec.app import ODataApp
from switchboard.sandbox.onec.controls import SettingsControl
from switchboard.sandbox.onec.entities import ENTITIES, EntityDef, EntityRegistry, Kind
from switchboard.sandbox.onec.errors import ODataError, fault_body
from switchboard.sandbox.onec.rules import DEFAULT_RULES, DailyLimit, Rules
from switchboard.sandbox.onec.store import Store
from switchboard.sandbox.onec.values import TASHKENT, Clock, tashkent_now

__all__ = [
    "ENTITIES",
    "DailyLimit",
    "EntityDef",
    "EntityRegistry",
    "Kind",
    "ODataError",
    "OneCEmulator",
    "Store",
]


class OneCEmulator:
    """The emulator: a store, the OData app over it, and the sandbox's faults and journal."""

    def __init__(
        self,
        base_path: str,
        user: str,
        password: str,
        clock: Clock | None = None,
        *,
        entities: EntityRegistry = ENTITIES,
        rules: Rules | None = None,
        inlinecount_ignores_paging: bool = True,
    ) -> None:
        self.base_path = "/" + base_path.strip("/")
        self.entities = entities
        self.store = Store(
            entities,
            clock=_local_clock(clock),
            rules=DEFAULT_RULES if rules is None else rules,
            inlinecount_ignores_paging=inlinecount_ignores_paging,
        )
        self.faults = FaultInjector()
        self.journal = RequestJournal()
        self.odata = ODataApp(self.store, base_path=self.base_path, user=user, password=password)
        sandbox = SandboxMiddleware(
            self.odata,
            faults=self.faults,
            journal=self.journal,
            error_body=fault_body,
            reset=self.store.reset,
        )
        self.app: ASGIApp = SettingsControl(sandbox, self.store)

    @property
    def inlinecount_ignores_paging(self) -> bool:
        """`$inlinecount=allpages` with `$skip`/`$top`. True (the default) is the guide's
        17.4.6.2: paging is ignored, the whole filtered set comes back with its count. False is
        how some platform versions answer: the page is cut by `$skip`/`$top`, `odata.count` is
        still the size of the whole filtered set. `store.reset()` restores the default."""
        return self.store.inlinecount_ignores_paging

    @inlinecount_ignores_paging.setter
    def inlinecount_ignores_paging(self, value: bool) -> None:
        self.store.inlinecount_ignores_paging = value


def _local_clock(clock: Clock | None) -> Clock:
    """The emulator's clock as naive local wall time, whole seconds (1C's Дата)."""
    if clock is None:
        return tashkent_now

    def now() -> datetime:
        moment = clock()
        if moment.tzinfo is not None:
            moment = moment.astimezone(TASHKENT).replace(tzinfo=None)
        return moment.replace(microsecond=0)

    return now
