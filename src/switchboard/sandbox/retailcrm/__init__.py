"""A protocol-faithful RetailCRM API v5 emulator for the telephony integration.

    crm = RetailCrmEmulator(api_key="crm-key")
    manager = crm.add_user("Анна", "Иванова", "anna@example.test")
    crm.add_customer("Пётр", "Сидоров", phones=["+79161234567"], manager_id=manager["id"])
    with BackgroundServer(crm.app) as server:
        client = retailcrm.v5(server.url, "crm-key")       # the official client, unchanged
        ...
        crm.store.call_events()                              # what telephony sent

Over HTTP, under `/api/v5/` (key in `X-API-KEY` or an `apiKey` parameter; POST bodies
urlencoded, objects as JSON strings in one field):
    POST telephony/call/event                 event=<json>, clientId
    POST telephony/calls/upload               calls=<json array ≤ 50>, clientId
    GET  telephony/manager                    phone, details, ignoreStatus
    GET  integration-modules/{code}
    POST integration-modules/{code}/edit      integrationModule=<json>
    GET  users, users/{id};  POST users/{id}/status
    GET  customers, customers/{externalId}
and the sandbox's own controls: POST /__sandbox__/make-call, POST /__sandbox__/user-status,
GET /__sandbox__/callbacks (RetailCRM calling the integrator, see callbacks.py), plus faults,
the request journal and reset under /__sandbox__/ as every emulator has.

`demo.seed_demo(crm)` fills the account with managers and customers for the demo.

One account with one API key. More than `rate_limit_per_second` requests in a second from a key
are refused with 503 (`telephony_rate_limit_per_second` for `/telephony/*`; 0 turns a limit off).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from starlette.types import ASGIApp

from switchboard.sandbox.faults import FaultInjector, RequestJournal
from switchboard.sandbox.retailcrm.app import build_app
from switchboard.sandbox.retailcrm.callbacks import (
    prepare_make_call,
    prepare_user_status,
    send,
    send_blocking,
)
from switchboard.sandbox.retailcrm.ratelimit import RateLimiter
from switchboard.sandbox.retailcrm.store import (
    Customer,
    JsonDict,
    ReceivedCallEvent,
    SentCallback,
    Store,
    UploadedCall,
    User,
)

__all__ = [
    "ReceivedCallEvent",
    "RetailCrmEmulator",
    "SentCallback",
    "Store",
    "UploadedCall",
]

# The emulator's own demo credential, not a secret.
DEFAULT_API_KEY = "crm-sandbox-api-key"


class RetailCrmEmulator:
    def __init__(
        self,
        *,
        api_key: str = DEFAULT_API_KEY,
        rate_limit_per_second: int = 10,
        telephony_rate_limit_per_second: int = 40,
        callback_timeout: float = 10.0,
    ) -> None:
        self.api_key = api_key
        self.callback_timeout = callback_timeout
        self.store = Store()
        self.limiter = RateLimiter(rate_limit_per_second, telephony_rate_limit_per_second)
        self.faults = FaultInjector()
        self.journal = RequestJournal()
        self.app: ASGIApp = build_app(self)

    def reset(self) -> None:
        """An empty account and fresh rate budgets (faults and the journal are cleared apart,
        or all at once by `POST /__sandbox__/reset`)."""
        self.store.reset()
        self.limiter.reset()

    # -- the account, as its administrator fills it ----------------------------------------

    def add_user(
        self,
        first_name: str,
        last_name: str | None,
        email: str,
        *,
        id: int | None = None,
        patronymic: str | None = None,
        phone: str | None = None,
        position: str | None = None,
        status: str = "free",
        online: bool = True,
        active: bool = True,
        is_manager: bool = True,
        is_admin: bool = False,
        groups: Iterable[JsonDict] = (),
    ) -> JsonDict:
        """A user (a manager by default), as `GET /users/{id}` shows it."""
        user = User(
            id=id or 0,
            email=email,
            first_name=first_name,
            last_name=last_name,
            patronymic=patronymic,
            position=position,
            phone=phone,
            status=status,
            online=online,
            active=active,
            is_admin=is_admin,
            is_manager=is_manager,
            groups=[dict(group) for group in groups],
        )
        return self.store.add_user(user).as_json()

    def add_customer(
        self,
        first_name: str,
        last_name: str | None = None,
        *,
        phones: Iterable[str] = (),
        manager_id: int | None = None,
        email: str | None = None,
        patronymic: str | None = None,
        external_id: str | None = None,
        site: str | None = None,
        id: int | None = None,
    ) -> JsonDict:
        """A customer, as `GET /customers` shows it; `manager_id` makes that user responsible."""
        customer = Customer(
            id=id or 0,
            first_name=first_name,
            last_name=last_name,
            patronymic=patronymic,
            email=email,
            phones=list(phones),
            manager_id=manager_id,
            external_id=external_id,
            site=site,
        )
        return self.store.add_customer(customer).as_json()

    def set_module(self, code: str, module: JsonDict) -> None:
        """Registers a module directly (no validation), as if the integrator had sent it."""
        self.store.save_module(code, {"active": True, **module, "code": code})

    # -- RetailCRM calling the integrator ----------------------------------------------------

    def make_call(
        self,
        user_id: int,
        phone: str,
        *,
        code: str | None = None,
        external_phone: str | None = None,
        site: str | None = None,
        module_code: str | None = None,
    ) -> SentCallback:
        """A user clicks `phone` in the CRM: GET makeCallUrl, from the caller's thread (never
        from the event loop the server runs in; use `make_call_async` there)."""
        outgoing = prepare_make_call(
            self.store,
            user_id,
            phone,
            code=code,
            external_phone=external_phone,
            site=site,
            module_code=module_code,
        )
        return send_blocking(self.store, outgoing, timeout=self.callback_timeout)

    async def make_call_async(self, user_id: int, phone: str, **options: Any) -> SentCallback:
        outgoing = prepare_make_call(self.store, user_id, phone, **options)
        return await send(self.store, outgoing, timeout=self.callback_timeout)

    def change_user_status(
        self, user_id: int, status: str, *, module_code: str | None = None
    ) -> SentCallback | None:
        """A user switches status in the CRM: stored, and GET changeUserStatusUrl when the
        telephony module has one (None when it has not)."""
        outgoing = prepare_user_status(self.store, user_id, status, module_code=module_code)
        if outgoing is None:
            return None
        return send_blocking(self.store, outgoing, timeout=self.callback_timeout)

    # -- the demo banner -------------------------------------------------------------------

    def describe(self, base_url: str) -> list[tuple[str, str]]:
        return [
            (f"RetailCRM API v5 (X-API-KEY {self.api_key})", f"{base_url}/api/v5/users"),
            ("RetailCRM click-to-call (POST JSON)", f"{base_url}/__sandbox__/make-call"),
            ("Fault injection (RetailCRM)", f"{base_url}/__sandbox__/faults"),
        ]
