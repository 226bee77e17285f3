"""The emulated account: users, customers, integration modules and what telephony sent.

Everything sits behind one re-entrant lock, because tests read the store (and add users) from
their own thread while the server writes from another. Accessors take the lock and hand out
copies, so a reader never sees a record change under it.
"""

from __future__ import annotations

import copy
import itertools
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

JsonDict = dict[str, Any]

DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"


def now() -> datetime:
    return datetime.now(UTC)


def crm_datetime(moment: datetime) -> str:
    """RetailCRM's `Y-m-d H:i:s`."""
    return moment.strftime(DATETIME_FORMAT)


def digits(phone: str) -> str:
    return "".join(char for char in phone if char.isdigit())


def same_phone(left: str, right: str) -> bool:
    """Numbers match on their last ten digits, or nine when one is that short (an Uzbek national
    number): `+7 916 123-45-67`, `89161234567` and `9161234567` are one phone, and so are
    `+998 90 123 45 67` and `901234567`, as a CRM's phone search finds them. Shorter numbers
    (extensions) match only exactly."""
    a, b = digits(left), digits(right)
    width = min(10, len(a), len(b))
    if width < 9:
        return bool(a) and a == b
    return a[-width:] == b[-width:]


@dataclass
class User:
    id: int
    email: str
    first_name: str
    last_name: str | None = None
    patronymic: str | None = None
    position: str | None = None
    phone: str | None = None
    status: str = "free"
    online: bool = True
    active: bool = True
    is_admin: bool = False
    is_manager: bool = True
    groups: list[JsonDict] = field(default_factory=list)
    created_at: datetime = field(default_factory=now)

    def as_json(self) -> JsonDict:
        """The user as `GET /users` shows it (fields RetailCRM leaves out when empty, left out)."""
        data: JsonDict = {
            "id": self.id,
            "createdAt": crm_datetime(self.created_at),
            "active": self.active,
            "email": self.email,
            "firstName": self.first_name,
            "lastName": self.last_name,
            "patronymic": self.patronymic,
            "position": self.position,
            "phone": self.phone,
            "status": self.status,
            "online": self.online,
            "isAdmin": self.is_admin,
            "isManager": self.is_manager,
            "groups": copy.deepcopy(self.groups),
        }
        return {key: value for key, value in data.items() if value is not None}


@dataclass
class Customer:
    id: int
    first_name: str
    last_name: str | None = None
    patronymic: str | None = None
    email: str | None = None
    phones: list[str] = field(default_factory=list)
    manager_id: int | None = None
    external_id: str | None = None
    site: str | None = None
    created_at: datetime = field(default_factory=now)

    def as_json(self) -> JsonDict:
        data: JsonDict = {
            "type": "customer",
            "id": self.id,
            "externalId": self.external_id,
            "createdAt": crm_datetime(self.created_at),
            "site": self.site,
            "firstName": self.first_name,
            "lastName": self.last_name,
            "patronymic": self.patronymic,
            "email": self.email,
            "phones": [{"number": number} for number in self.phones],
            "managerId": self.manager_id,
        }
        return {key: value for key, value in data.items() if value is not None}

    def has_phone(self, phone: str) -> bool:
        return any(same_phone(number, phone) for number in self.phones)


@dataclass(frozen=True)
class ReceivedCallEvent:
    """One accepted `telephony/call/event`: the event as sent (normalised), who sent it, when."""

    event: JsonDict
    client_id: str | None
    module_code: str
    received_at: datetime


@dataclass(frozen=True)
class UploadedCall:
    """One call stored by `telephony/calls/upload` (duplicates are never stored)."""

    call: JsonDict
    client_id: str | None
    module_code: str
    received_at: datetime


@dataclass(frozen=True)
class SentCallback:
    """A request the emulator made to the integrator, as RetailCRM would (makeCallUrl, ...)."""

    kind: str
    url: str
    query: dict[str, str]
    status: int | None
    body: str
    error: str | None
    sent_at: datetime

    def as_json(self) -> JsonDict:
        return {
            "kind": self.kind,
            "url": self.url,
            "query": dict(self.query),
            "status": self.status,
            "body": self.body,
            "error": self.error,
            "sentAt": self.sent_at.isoformat(),
        }


# -- the telephony part of a module ---------------------------------------------------------


def telephony_of(module: JsonDict) -> JsonDict | None:
    integrations = module.get("integrations")
    if not isinstance(integrations, dict):
        return None
    telephony = integrations.get("telephony")
    return telephony if isinstance(telephony, dict) else None


def telephony_enabled(module: JsonDict) -> bool:
    """A module counts for telephony while it is active, not frozen and declares telephony."""
    return (
        module.get("active", True) is True
        and module.get("freeze", False) is not True
        and telephony_of(module) is not None
    )


def additional_codes(module: JsonDict) -> dict[int, str]:
    """userId -> the extension code the module registered for that user."""
    telephony = telephony_of(module) or {}
    codes: dict[int, str] = {}
    for entry in telephony.get("additionalCodes") or []:
        codes[int(entry["userId"])] = str(entry["code"])
    return codes


def external_phone_for(module: JsonDict, site: str | None) -> str | None:
    """The module's external phone for a site, or the first one when no site is named."""
    telephony = telephony_of(module) or {}
    for entry in telephony.get("externalPhones") or []:
        if site is None or entry.get("siteCode") == site:
            return str(entry["externalPhone"])
    return None


class Store:
    def __init__(self) -> None:
        self._lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        """An empty account: no users, customers, modules, events, calls or callbacks."""
        with self._lock:
            self._users: dict[int, User] = {}
            self._customers: dict[int, Customer] = {}
            self._modules: dict[str, JsonDict] = {}
            self._events: list[ReceivedCallEvent] = []
            self._calls: list[UploadedCall] = []
            self._call_ids: set[str] = set()
            self._callbacks: list[SentCallback] = []
            self._user_ids = itertools.count(1)
            self._customer_ids = itertools.count(1)

    # -- users -----------------------------------------------------------------------------

    def add_user(self, user: User | None = None, **fields: Any) -> User:
        """Adds `user` (or one built from `fields`; id 0 or missing: the next free id)."""
        with self._lock:
            if user is None:
                user = User(id=fields.pop("id", None) or 0, **fields)
            if not user.id:
                user.id = self._next_free(self._user_ids, self._users)
            self._users[user.id] = user
            return copy.deepcopy(user)

    def user_records(self) -> list[User]:
        with self._lock:
            return [copy.deepcopy(self._users[key]) for key in sorted(self._users)]

    def user_record(self, user_id: int) -> User | None:
        with self._lock:
            user = self._users.get(user_id)
            return copy.deepcopy(user) if user else None

    def users(self) -> list[JsonDict]:
        return [user.as_json() for user in self.user_records()]

    def user(self, user_id: int) -> JsonDict | None:
        user = self.user_record(user_id)
        return user.as_json() if user else None

    def set_user_status(self, user_id: int, status: str) -> bool:
        with self._lock:
            user = self._users.get(user_id)
            if user is None:
                return False
            user.status = status
            return True

    # -- customers -------------------------------------------------------------------------

    def add_customer(self, customer: Customer) -> Customer:
        with self._lock:
            if not customer.id:
                customer.id = self._next_free(self._customer_ids, self._customers)
            self._customers[customer.id] = customer
            return copy.deepcopy(customer)

    def customer_records(self) -> list[Customer]:
        with self._lock:
            return [copy.deepcopy(self._customers[key]) for key in sorted(self._customers)]

    def customers(self) -> list[JsonDict]:
        return [customer.as_json() for customer in self.customer_records()]

    # -- integration modules ---------------------------------------------------------------

    def module(self, code: str) -> JsonDict | None:
        with self._lock:
            module = self._modules.get(code)
            return copy.deepcopy(module) if module is not None else None

    def modules(self) -> list[JsonDict]:
        with self._lock:
            return [copy.deepcopy(module) for module in self._modules.values()]

    def save_module(self, code: str, module: JsonDict) -> bool:
        """Stores the module under `code`; True when it is new."""
        with self._lock:
            created = code not in self._modules
            self._modules[code] = copy.deepcopy(module)
            return created

    def telephony_module(self, client_id: str | None = None) -> JsonDict | None:
        """The active telephony module (the one with that `clientId`, when one is named)."""
        for module in self.modules():
            if not telephony_enabled(module):
                continue
            if client_id is None or module.get("clientId") == client_id:
                return module
        return None

    # -- what telephony sent ---------------------------------------------------------------

    def record_call_event(
        self, event: JsonDict, client_id: str | None, module_code: str
    ) -> ReceivedCallEvent:
        received = ReceivedCallEvent(copy.deepcopy(event), client_id, module_code, now())
        with self._lock:
            self._events.append(received)
        return received

    def store_calls(
        self, calls: list[JsonDict], client_id: str | None, module_code: str
    ) -> tuple[int, list[str]]:
        """Stores the calls whose `externalId` is new; (how many stored, the duplicate ids)."""
        stored, duplicates = 0, []
        received_at = now()
        with self._lock:
            for call in calls:
                external_id = call.get("externalId")
                if external_id is not None and external_id in self._call_ids:
                    duplicates.append(external_id)
                    continue
                if external_id is not None:
                    self._call_ids.add(external_id)
                owner = call.get("clientId") or client_id
                self._calls.append(
                    UploadedCall(copy.deepcopy(call), owner, module_code, received_at)
                )
                stored += 1
        return stored, duplicates

    def call_events(self) -> list[ReceivedCallEvent]:
        with self._lock:
            return copy.deepcopy(self._events)

    def uploaded_calls(self) -> list[UploadedCall]:
        with self._lock:
            return copy.deepcopy(self._calls)

    def record_callback(self, callback: SentCallback) -> None:
        with self._lock:
            self._callbacks.append(callback)

    def callbacks(self) -> list[SentCallback]:
        with self._lock:
            return list(self._callbacks)

    # -- ids -------------------------------------------------------------------------------

    @staticmethod
    def _next_free(ids: itertools.count[int], taken: dict[int, Any]) -> int:
        while True:
            candidate = next(ids)
            if candidate not in taken:
                return candidate
