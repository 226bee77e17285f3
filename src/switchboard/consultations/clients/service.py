"""Clients: owners of a subscription and their users (seed 001, «Владельцы и пользователи
абонента»).

An owner (`is_parent`) holds the subscription: its INN and subscriber code are unique among
owners, and it is the counterparty in 1C. A user belongs to one owner and inherits the owner's
INN, code, company and location; it never exists in 1C. A request is matched to a known client
by `client_id`, then `client_id_hash`, then the hash of its e-mail, phone and INN, and — only
for an owner — by subscriber code, then INN; a user is never matched by the code it inherits,
so an owner can have any number of users.

Everything here runs in the caller's transaction and raises `ApiError`s for the caller's
mistakes before anything is written; the changes owed to Chatwoot and 1C are queued in the
outbox in the same transaction (`enqueue_client_sync`).
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from switchboard.consultations.clients import repository
from switchboard.consultations.clients.schemas import ClientCreate, ClientRead
from switchboard.consultations.models import Client
from switchboard.consultations.settings import ConsultationSettings
from switchboard.consultations.sync.service import enqueue
from switchboard.core.auth import TelegramUser
from switchboard.core.errors import ApiError, BadRequest
from switchboard.core.jobs import Tally
from switchboard.integrations.ports import ContactCard, CounterpartyCard, CounterpartyRecord

log = structlog.get_logger(__name__)

SITE = "SITE"
TELEGRAM = "TELEGRAM"
SYNC_CONTACT = "chatwoot.sync_contact"
SAVE_OWNER = "onec.save_owner"


class ClientNotFound(ApiError):
    status_code = 404


class ClientForbidden(ApiError):
    status_code = 403


class ClientConflict(ApiError):
    status_code = 409


@dataclass(frozen=True)
class ClientOutcome:
    client: Client
    #: The client itself when it is an owner, else its owner.
    owner: Client
    created: bool


# --- names and hashes ----------------------------------------------------------------------------


def counterparty_title(
    prefix: str, name: str | None, code_abonent: str | None, inn: str | None
) -> str:
    """An owner's name in 1C (and a consultation's `АбонентПредставление`):
    `{prefix} {company or name} {code} ({inn})`; missing parts are left out."""
    title = " ".join(part for part in (prefix.strip(), (name or "").strip(), code_abonent) if part)
    return f"{title} ({inn})" if inn else title


def strip_counterparty_mask(company_name: str | None, prefix: str) -> str | None:
    """The company name without 1C's mask `<prefix> <name> <code> (<inn>)`: fronts copy the
    name from 1C, and a masked name would be masked again (repeatedly, as it was)."""
    mask = re.compile(rf"^{re.escape(prefix.strip())}\s+(?P<name>.+?)\s+\d+\s+\(\d+\)$", re.I)
    name = company_name
    while name and (match := mask.match(name)):
        name = match["name"].strip()
    return name or None


def identity_hash(email: str | None, phone_number: str | None, inn: str | None) -> str | None:
    """md5 of the sorted parts `email:<lower>`, `phone:<digits>`, `inn:<inn>` joined by `|`;
    None when there is none of them (never a random hash that matches nobody)."""
    parts = []
    if email:
        parts.append(f"email:{email.lower()}")
    if phone_number:
        parts.append("phone:" + re.sub(r"\D", "", phone_number))
    if inn:
        parts.append(f"inn:{inn}")
    if not parts:
        return None
    return hashlib.md5("|".join(sorted(parts)).encode(), usedforsecurity=False).hexdigest()


# --- the request, checked before anything is looked up or written -------------------------------


@dataclass(frozen=True)
class _Request:
    """A `ClientCreate` with its role settled: the owner it names (for a user), the INN and
    code it ends up with, the company name without 1C's mask and its identity hash."""

    data: ClientCreate
    parent: Client | None
    inn: str | None
    code: str | None
    company_name: str | None
    computed_hash: str | None

    @property
    def wants_owner(self) -> bool:
        return self.parent is None

    def lock_keys(self) -> list[str]:
        keys = [
            f"client:id:{self.data.client_id}" if self.data.client_id else None,
            f"client:hash:{self.data.client_id_hash}" if self.data.client_id_hash else None,
            f"client:hash:{self.computed_hash}" if self.computed_hash else None,
        ]
        if self.wants_owner:
            keys += [f"client:inn:{self.inn}", f"client:code:{self.code}"]
        return [key for key in keys if key]


def _check_role(data: ClientCreate) -> None:
    if data.is_parent is True and data.parent_id is not None:
        raise BadRequest(
            "owner_with_parent", "An owner of a subscriber (is_parent=true) cannot have parent_id."
        )
    if data.is_parent is False and data.parent_id is None:
        raise BadRequest(
            "user_without_parent",
            "A user of a subscriber (is_parent=false) needs parent_id: the owner's client_id.",
        )


async def _load_parent(session: AsyncSession, parent_id: uuid.UUID) -> Client:
    parent = await repository.by_id(session, parent_id)
    if parent is None:
        raise ClientNotFound("owner_not_found", "The owner named in parent_id is not found.")
    if not parent.is_parent:
        raise BadRequest(
            "parent_not_owner",
            "The client named in parent_id is a user, not an owner; users belong to an owner.",
        )
    if not parent.org_inn or not parent.code_abonent:
        raise BadRequest(
            "owner_incomplete",
            "The owner has no INN or subscriber code yet, so it cannot have users.",
        )
    return parent


def _owner_identity(data: ClientCreate) -> tuple[str, str]:
    if not data.org_inn:
        raise BadRequest(
            "inn_required",
            "An owner of a subscriber needs an INN (org_inn): 9 digits for a company, 14 for a "
            "person.",
        )
    if not data.code_abonent:
        raise BadRequest(
            "code_abonent_required", "An owner of a subscriber needs a subscriber code."
        )
    return data.org_inn, data.code_abonent


def _inherited_identity(data: ClientCreate, parent: Client) -> tuple[str | None, str | None]:
    if data.org_inn and data.org_inn != parent.org_inn:
        raise BadRequest(
            "inn_differs_from_owner",
            "The INN differs from the owner's: a user of a subscriber inherits the owner's INN.",
        )
    if data.code_abonent and data.code_abonent != parent.code_abonent:
        raise BadRequest(
            "code_differs_from_owner",
            "The subscriber code differs from the owner's: a user inherits the owner's code.",
        )
    company = data.company_name
    if company and company != parent.company_name:
        raise ClientForbidden(
            "user_company_change",
            "A user of a subscriber cannot change the company name; it is the owner's.",
        )
    return parent.org_inn, parent.code_abonent


async def _named_client(session: AsyncSession, data: ClientCreate) -> Client | None:
    if data.client_id is not None and (found := await repository.by_id(session, data.client_id)):
        return found
    return await repository.by_hash(session, data.client_id_hash) if data.client_id_hash else None


def _with_known(data: ClientCreate, known: Client) -> ClientCreate:
    """A request about a known client leaves out what does not change: its role (when neither
    `is_parent` nor `parent_id` is given) and an owner's INN and code."""
    changes: dict[str, object] = {}
    if data.is_parent is None and data.parent_id is None:
        changes["parent_id"] = known.parent_id
    if known.is_parent and data.wants_owner and changes.get("parent_id") is None:
        changes["org_inn"] = data.org_inn or known.org_inn
        changes["code_abonent"] = data.code_abonent or known.code_abonent
    return data.model_copy(update=changes)


async def _settle(session: AsyncSession, data: ClientCreate, prefix: str) -> _Request:
    _check_role(data)
    known = await _named_client(session, data)
    if known is not None:
        data = _with_known(data, known)
    stripped = data.model_copy(
        update={"company_name": strip_counterparty_mask(data.company_name, prefix)}
    )
    parent = None
    if not data.wants_owner and data.parent_id is not None:
        parent = await _load_parent(session, data.parent_id)
    identity: tuple[str | None, str | None] = (
        _owner_identity(stripped) if parent is None else _inherited_identity(stripped, parent)
    )
    inn, code = identity
    return _Request(
        data=stripped,
        parent=parent,
        inn=inn,
        code=code,
        company_name=stripped.company_name if parent is None else None,
        computed_hash=identity_hash(data.email, data.phone_number, inn),
    )


# --- matching a known client ---------------------------------------------------------------------


async def _find(session: AsyncSession, request: _Request) -> Client | None:
    data = request.data
    if data.client_id is not None and (found := await repository.by_id(session, data.client_id)):
        return found
    for client_hash in (data.client_id_hash, request.computed_hash):
        if client_hash and (found := await repository.by_hash(session, client_hash)):
            return found
    if not request.wants_owner:
        return None  # a user is never matched by the INN or code it inherits
    if found := await repository.owner_by_code(session, request.code or ""):
        return found
    found = await repository.owner_by_inn(session, request.inn or "")
    if found is not None and found.code_abonent not in (None, request.code):
        raise ClientConflict(
            "inn_taken",
            "An owner with this INN is already registered with another subscriber code.",
        )
    return found


async def _check_owner_unique(session: AsyncSession, client: Client, request: _Request) -> None:
    """The INN and code an owner takes must not be another owner's (409, nothing written)."""
    by_inn = await repository.owner_by_inn(session, request.inn or "")
    if by_inn is not None and by_inn is not client:
        if by_inn.code_abonent not in (None, request.code):
            raise ClientConflict(
                "inn_taken",
                "An owner with this INN is already registered with another subscriber code.",
            )
        raise ClientConflict("inn_taken", "Another owner is already registered with this INN.")
    by_code = await repository.owner_by_code(session, request.code or "")
    if by_code is not None and by_code is not client:
        raise ClientConflict(
            "code_abonent_taken", "This subscriber code already belongs to another owner."
        )


async def _take_role(session: AsyncSession, client: Client, request: _Request) -> None:
    """Make a found client the owner or user the request describes, or refuse (403)."""
    parent = request.parent
    if parent is None:
        kept = (client.org_inn, client.code_abonent) == (request.inn, request.code)
        if client.is_parent and kept:
            return  # an owner keeping its INN and code: the unique indexes keep them its own
        # A user may become an owner (with its own INN and code); the checks follow.
        client.is_parent, client.parent_id = True, None
        await _check_owner_unique(session, client, request)
        client.org_inn, client.code_abonent = request.inn, request.code
        return
    if client.is_parent:
        # Only a provisional client (a Telegram user with no subscription and no users yet)
        # may join an owner as its user.
        if (
            client.org_inn
            or client.code_abonent
            or client is parent
            or await repository.has_users(session, client.client_id)
        ):
            raise ClientForbidden(
                "owner_cannot_become_user", "An owner of a subscriber cannot become a user."
            )
        client.is_parent, client.parent_id = False, parent.client_id
        return
    if client.parent_id != parent.client_id:
        raise ClientForbidden(
            "user_inn_change",
            "A user of a subscriber cannot change the INN (move to another owner).",
        )


_PERSONAL_FIELDS = ("email", "phone_number", "name", "contact_name", "partner")
_LOCATION_FIELDS = ("region", "city", "country")


async def _update(session: AsyncSession, client: Client, request: _Request) -> None:
    await _take_role(session, client, request)
    data = request.data
    fields = _PERSONAL_FIELDS + (_LOCATION_FIELDS if request.wants_owner else ())
    for name in fields:
        value = getattr(data, name)
        if value is not None:
            setattr(client, name, value)
    if request.wants_owner and request.company_name:
        client.company_name = request.company_name
    if client.client_id_hash is None:
        candidate = data.client_id_hash or request.computed_hash
        if candidate and await repository.by_hash(session, candidate) is None:
            client.client_id_hash = candidate


def _new_client(request: _Request) -> Client:
    data = request.data
    owner = request.wants_owner
    return Client(
        client_id=data.client_id or uuid.uuid4(),
        client_id_hash=data.client_id_hash or request.computed_hash,
        is_parent=owner,
        parent_id=None if request.parent is None else request.parent.client_id,
        name=data.name,
        contact_name=data.contact_name,
        company_name=request.company_name,
        email=data.email,
        phone_number=data.phone_number,
        org_inn=request.inn if owner else None,
        code_abonent=request.code if owner else None,
        partner=data.partner,
        region=data.region if owner else None,
        city=data.city if owner else None,
        country=data.country if owner else None,
        source=data.source or SITE,
    )


async def _save(session: AsyncSession, client: Client) -> None:
    try:
        await repository.save(session, client)
    except repository.DuplicateIdentity as error:
        log.warning("client identity taken concurrently", constraint=str(error))
        raise ClientConflict(
            "client_conflict",
            "Another request saved a client with the same data at the same time; try again.",
        ) from error


async def find_or_create_client(
    session: AsyncSession, data: ClientCreate, *, settings: object
) -> ClientOutcome:
    """The client `data` describes, found or created, with its owner (in the caller's
    transaction). Raises `ApiError`s (400/403/404/409) before writing anything."""
    prefix = ConsultationSettings.of(settings).onec_client_name_prefix
    request = await _settle(session, data, prefix)
    await repository.lock_identities(session, request.lock_keys())
    # Nothing reaches the database before every check passed; then all of it at once.
    with session.no_autoflush:
        client = await _find(session, request)
        created = client is None
        if client is None:
            client = _new_client(request)
        else:
            await _update(session, client, request)
    await _save(session, client)
    owner = request.parent or client
    return ClientOutcome(client=client, owner=owner, created=created)


# --- reading ---------------------------------------------------------------------------------


async def owner_of(session: AsyncSession, client: Client) -> Client:
    """The client itself when it is an owner, else its owner."""
    if client.parent_id is None:
        return client
    owner = await repository.by_id(session, client.parent_id)
    if owner is None:  # the foreign key forbids it; a clear answer all the same
        raise ClientNotFound("owner_not_found", "The owner of this client is not found.")
    return owner


def client_read(client: Client, owner: Client) -> ClientRead:
    """The client as the API shows it: a user with its owner's company, INN, code and
    location."""
    read = ClientRead.model_validate(client)
    if client.parent_id is None:
        return read
    return read.model_copy(
        update={
            "company_name": owner.company_name,
            "org_inn": owner.org_inn,
            "code_abonent": owner.code_abonent,
            "region": owner.region,
            "city": owner.city,
            "country": owner.country,
        }
    )


async def get_client(session: AsyncSession, client_id: uuid.UUID) -> ClientRead:
    client = await repository.by_id(session, client_id)
    if client is None:
        raise ClientNotFound("client_not_found", "Client not found.")
    return client_read(client, await owner_of(session, client))


async def get_client_by_hash(session: AsyncSession, client_hash: str) -> ClientRead:
    client = await repository.by_hash(session, client_hash)
    if client is None:
        raise ClientNotFound("client_not_found", "Client not found.")
    return client_read(client, await owner_of(session, client))


async def get_owner_by_subscriber(session: AsyncSession, code_abonent: str) -> ClientRead:
    """The oldest owner with this subscriber code; else the owner of a user holding it."""
    code = code_abonent.lstrip("0") or "0"
    owners = await repository.oldest_owners_with_code(session, code)
    if len(owners) > 1:
        # Ids only: the code and the owners' data are personal.
        log.warning(
            "several owners share a subscriber code; the oldest wins",
            chosen=str(owners[0].client_id),
            other=str(owners[1].client_id),
        )
    if owners:
        return client_read(owners[0], owners[0])
    user = await repository.oldest_user_with_code(session, code)
    if user is None:
        raise ClientNotFound("subscriber_not_found", "No client has this subscriber code.")
    owner = await owner_of(session, user)
    return client_read(owner, owner)


# --- Telegram Mini App ---------------------------------------------------------------------------


def _printable(value: str | None) -> str | None:
    cleaned = re.sub(r"[\x00-\x1f\x7f]", "", value or "").strip()
    return cleaned[:255] or None


async def client_for_telegram(
    session: AsyncSession, telegram_user: TelegramUser, *, settings: object
) -> Client:
    """The client of a (verified) Telegram user: found by `telegram_user_id`, or created as a
    client of source TELEGRAM (an owner with no subscription yet, which may later become an
    owner with INN and code, or join an owner as its user). `settings` is taken for the same
    contract as the other entry points."""
    await repository.lock_identities(session, [f"client:telegram:{telegram_user.id}"])
    client = await repository.by_telegram_user(session, telegram_user.id)
    if client is not None:
        return client
    full_name = " ".join(
        part for part in (telegram_user.first_name, telegram_user.last_name) if part
    )
    username = _printable(telegram_user.username)
    client = Client(
        client_id=uuid.uuid4(),
        is_parent=True,
        name=_printable(full_name) or username,
        contact_name=f"@{username}" if username else None,
        source=TELEGRAM,
        telegram_user_id=telegram_user.id,
    )
    await _save(session, client)
    return client


async def attach_telegram_user(
    session: AsyncSession, client: Client, telegram_user: TelegramUser
) -> bool:
    """Link a verified Telegram user to the client a Mini App booking is for, when neither is
    linked yet (a Telegram user is one client's; a client keeps the Telegram user it has)."""
    await repository.lock_identities(session, [f"client:telegram:{telegram_user.id}"])
    if client.telegram_user_id is not None:
        return client.telegram_user_id == telegram_user.id
    if await repository.by_telegram_user(session, telegram_user.id) is not None:
        return False
    await repository.set_telegram_user(session, client.client_id, telegram_user.id)
    # Known in this session without a flush that would expire the row's other attributes.
    set_committed_value(client, "telegram_user_id", telegram_user.id)
    return True


# --- what Chatwoot and 1C should know -----------------------------------------------------------

_COUNTRY_CODES = {
    "узбекистан": "UZ",
    "uzbekistan": "UZ",
    "o'zbekiston": "UZ",
    "oʻzbekiston": "UZ",
    "россия": "RU",
    "russia": "RU",
    "казахстан": "KZ",
    "kazakhstan": "KZ",
    "кыргызстан": "KG",
    "киргизия": "KG",
    "kyrgyzstan": "KG",
    "таджикистан": "TJ",
    "tajikistan": "TJ",
    "туркменистан": "TM",
    "turkmenistan": "TM",
}


def country_code(country: str | None) -> str | None:
    """ISO code of a country named in Russian, Uzbek or English (or given as a code)."""
    if not country:
        return None
    name = country.strip()
    if len(name) == 2 and name.isalpha() and name.isascii():
        return name.upper()
    return _COUNTRY_CODES.get(name.lower())


def contact_card(client: Client, owner: Client) -> ContactCard:
    """The Chatwoot contact of a client: its own name, e-mail and phone (a user never gets its
    owner's, which would merge the two contacts), the subscription's attributes."""
    view = client_read(client, owner)
    attributes: dict[str, object] = {
        "code_abonent": view.code_abonent or "",
        "inn_pinfl": view.org_inn or "",
        "client_type": "owner" if client.parent_id is None else "user",
    }
    attributes.update(
        {key: getattr(view, key) for key in ("region", "country") if getattr(view, key)}
    )
    additional = {
        "city": view.city,
        "country": view.country,
        "country_code": country_code(view.country),
        "company_name": view.company_name,
    }
    name = view.name or view.contact_name or view.company_name or view.email or view.phone_number
    return ContactCard(
        identifier=str(client.client_id),
        name=name or str(client.client_id),
        email=client.email,
        phone_number=client.phone_number,
        attributes=attributes,
        additional={key: value for key, value in additional.items() if value},
    )


def counterparty_card(owner: Client, prefix: str) -> CounterpartyCard | None:
    """The 1C counterparty of an owner with an INN and a subscriber code (else None: a user
    or an owner without a subscription has none)."""
    if owner.parent_id is not None or not owner.org_inn or not owner.code_abonent:
        return None
    name = owner.company_name or owner.name
    return CounterpartyCard(
        inn=owner.org_inn,
        code_abonent=owner.code_abonent,
        title=counterparty_title(prefix, name, owner.code_abonent, owner.org_inn),
        phone_number=owner.phone_number,
        email=owner.email,
        country=owner.country,
        region=owner.region,
        city=owner.city,
    )


def digest(card: ContactCard | CounterpartyCard) -> str:
    """A fingerprint of what a peer is sent, to know whether it has it already."""
    content = json.dumps(asdict(card), sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(content.encode()).hexdigest()


def contact_is_current(client: Client, card: ContactCard) -> bool:
    return client.source_id is not None and client.chatwoot_synced_digest == digest(card)


def counterparty_is_current(owner: Client, card: CounterpartyCard) -> bool:
    return owner.cl_ref_key is not None and owner.onec_synced_digest == digest(card)


def _order_key(target: str, client: Client) -> str:
    return f"{target}:client:{client.client_id}"


async def _enqueue(
    session: AsyncSession,
    operation: str,
    client: Client,
    payload: Mapping[str, object],
    lease_seconds: float | None,
) -> int | None:
    order_key = _order_key(operation.partition(".")[0], client)
    if await repository.hold_waiting_task(session, operation, order_key) is not None:
        return None  # a queued task will read this change when it runs
    return await enqueue(
        session,
        operation,
        {"client_id": str(client.client_id), **payload},
        order_key=order_key,
        lease_seconds=lease_seconds,
    )


async def enqueue_client_sync(
    session: AsyncSession,
    client: Client,
    owner: Client,
    *,
    settings: object,
    lease_seconds: float | None = None,
) -> list[int]:
    """Queue, in the caller's transaction, what Chatwoot and 1C do not have yet: the client's
    contact, the owner's counterparty (owners with INN and code), and — when an owner changed —
    its users' contacts (they show the owner's INN and code). Returns the new tasks' ids (for
    `sync.tasks.carry_out`); `lease_seconds` reserves them for the caller for that long."""
    prefix = ConsultationSettings.of(settings).onec_client_name_prefix
    ids: list[int | None] = []
    if not contact_is_current(client, contact_card(client, owner)):
        ids.append(await _enqueue(session, SYNC_CONTACT, client, {}, lease_seconds))
    card = counterparty_card(owner, prefix)
    if card is not None and not counterparty_is_current(owner, card):
        payload = {"name_prefix": prefix}
        ids.append(await _enqueue(session, SAVE_OWNER, owner, payload, lease_seconds))
    if client.client_id == owner.client_id:
        for user in await repository.users_of(session, owner.client_id):
            if not contact_is_current(user, contact_card(user, owner)):
                ids.append(await _enqueue(session, SYNC_CONTACT, user, {}, lease_seconds))
    return [task_id for task_id in ids if task_id is not None]


# --- owners from 1C: the clients ETL -------------------------------------------------------------

ONEC = "ONEC"
#: The order keys of owners' 1C changes, as `_order_key("onec", owner)` makes them.
_ONEC_ORDER_PREFIX = "onec:client:"
#: How often a page is planned again when a request saved a clashing owner meanwhile.
_PLAN_ATTEMPTS = 3
_EMAIL_SHAPE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
#: What 1C decides of an owner (the card we would send it) and what only 1C knows.
_CARD_COLUMNS = (
    "org_inn",
    "code_abonent",
    "company_name",
    "email",
    "phone_number",
    "country",
    "region",
    "city",
)
_LINK_COLUMNS = ("cl_ref_key", "parent_key")
_SUBSCRIPTION_COLUMNS = ("subs_id", "subs_start", "subs_end", "tariff_id", "tariffperiod_id")


@dataclass
class OwnersFromOneCReport(Tally):
    """What a page (or a run) of the clients ETL did."""

    rows: int = 0
    inserted: int = 0
    updated: int = 0
    #: Consultations that got their owner (`client_id` was empty).
    linked: int = 0
    #: Counterparties left as they are: their code, INN or key belongs to another client.
    conflicts: int = 0
    #: Deletion-marked in 1C: never inserted, never matched; an owner linked to one is kept.
    deleted_in_onec: int = 0
    #: Owners with a Chatwoot contact whose change from 1C was queued for it.
    chat_updates: int = 0


def onec_phone(value: str | None) -> str | None:
    """A phone as 1C holds it (`998901234567`, `+998 90 123 45 67`) as the API keeps phones:
    `+` and 9 to 15 digits; None when it has not that many."""
    digits = re.sub(r"\D", "", value or "")
    return "+" + digits if 9 <= len(digits) <= 15 else None


def onec_email(value: str | None) -> str | None:
    """The first address of 1C's field (which may list several); None when there is none."""
    for part in re.split(r"[\s,;]+", value or ""):
        if _EMAIL_SHAPE.match(part):
            return part
    return None


def _from_onec(record: CounterpartyRecord, prefix: str) -> dict[str, Any]:
    """The record's values under our column names (None where 1C holds nothing)."""
    return {
        "cl_ref_key": record.ref_key,
        "parent_key": record.parent_key,
        "org_inn": record.inn,
        "code_abonent": record.code_abonent,
        "company_name": strip_counterparty_mask(record.title, prefix),
        "email": onec_email(record.email),
        "phone_number": onec_phone(record.phone_number),
        "country": record.country,
        "region": record.region,
        "city": record.city,
        "subs_id": record.subscription,
        "subs_start": record.subscription_start,
        "subs_end": record.subscription_end,
        "tariff_id": record.tariff_key,
        "tariffperiod_id": record.tariff_period_key,
    }


def _synced_digest(values: Mapping[str, Any], name: str | None, prefix: str) -> str | None:
    """The digest of the counterparty card these values make (1C holds it: it sent them)."""
    owner = Client(name=name, **{column: values[column] for column in _CARD_COLUMNS})
    card = counterparty_card(owner, prefix)
    return digest(card) if card is not None else None


class _Claims:
    """Which client holds each 1C key, owner code and owner INN — as read, then as planned."""

    def __init__(self, rows: list[Mapping[str, Any]]) -> None:
        self.rows = {row["client_id"]: row for row in rows}
        self.keys = {row["cl_ref_key"]: row["client_id"] for row in rows if row["cl_ref_key"]}
        owners = [row for row in rows if row["is_parent"]]
        self.codes = {
            row["code_abonent"]: row["client_id"] for row in owners if row["code_abonent"]
        }
        self.inns = {row["org_inn"]: row["client_id"] for row in owners if row["org_inn"]}
        #: Clients an earlier counterparty of the page became.
        self.taken: set[uuid.UUID] = set()

    def _free(self, client_id: uuid.UUID) -> Mapping[str, Any] | None:
        return self.rows.get(client_id) if client_id not in self.taken else None

    def holder(self, record: CounterpartyRecord) -> tuple[Mapping[str, Any] | None, str | None]:
        """(the client this counterparty is, or None for a new owner; why not, if it clashes).
        By 1C key; else an owner with its code, else with its INN — one not linked to another
        counterparty (and, by INN, without a different code). What an earlier counterparty of
        the page took is taken."""
        if (by_key := self.keys.get(record.ref_key)) is not None:
            row = self._free(by_key)
            return (row, None) if row and row["is_parent"] else (None, "key held by another")
        if record.code_abonent and (by_code := self.codes.get(record.code_abonent)):
            row = self._free(by_code)
            return (row, None) if row and row["cl_ref_key"] is None else (None, "code of another")
        if record.inn and (by_inn := self.inns.get(record.inn)):
            row = self._free(by_inn)
            if (
                row
                and row["cl_ref_key"] is None
                and None in (row["code_abonent"], record.code_abonent)
            ):
                return row, None
            return None, "inn of another"
        return None, None

    def clash(self, client_id: uuid.UUID, values: Mapping[str, Any]) -> str | None:
        """Why `client_id` cannot take these values' code or INN, if it cannot."""
        code, inn = values["code_abonent"], values["org_inn"]
        if code and self.codes.get(code, client_id) != client_id:
            return "code of another"
        if inn and self.inns.get(inn, client_id) != client_id:
            return "inn of another"
        return None

    def take(self, client_id: uuid.UUID, values: Mapping[str, Any]) -> None:
        # What a client held stays held for this page too: no statement can then meet a
        # unique index half-way (codes swapped between two owners wait for a person).
        self.taken.add(client_id)
        self.keys[values["cl_ref_key"]] = client_id
        if values["code_abonent"]:
            self.codes[values["code_abonent"]] = client_id
        if values["org_inn"]:
            self.inns[values["org_inn"]] = client_id


def _merged(row: Mapping[str, Any], incoming: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    """An owner's row after 1C's record: link and subscription as 1C has them; the card's
    values from 1C where it has them (1C's empty value never erases ours) — unless a change
    of ours is still on its way to 1C, which then keeps the card as it is."""
    values = {name: row[name] for name, _ in repository.ETL_OWNER_COLUMNS}
    values.update({name: incoming[name] for name in _LINK_COLUMNS + _SUBSCRIPTION_COLUMNS})
    if not row["change_pending"]:
        values.update({name: incoming[name] for name in _CARD_COLUMNS if incoming[name]})
        values["onec_synced_digest"] = (
            _synced_digest(values, row["name"], prefix) or row["onec_synced_digest"]
        )
    return values


@dataclass
class _Plan:
    inserts: list[dict[str, Any]]
    updates: list[dict[str, Any]]
    #: Owners known to Chatwoot whose card changes.
    chat_known: set[uuid.UUID]
    conflicts: int = 0
    deleted: int = 0


def _plan(records: list[CounterpartyRecord], rows: list[Mapping[str, Any]], prefix: str) -> _Plan:
    claims = _Claims(rows)
    plan = _Plan(inserts=[], updates=[], chat_known=set())
    seen: set[uuid.UUID] = set()
    for record in records:
        if record.ref_key in seen:
            continue
        seen.add(record.ref_key)
        if record.deletion_mark:
            plan.deleted += 1
            continue
        incoming = _from_onec(record, prefix)
        row, refused = claims.holder(record)
        if refused is None:
            if row is None:
                client_id = uuid.uuid4()
                values = incoming | {"onec_synced_digest": _synced_digest(incoming, None, prefix)}
            else:
                client_id, values = row["client_id"], _merged(row, incoming, prefix)
            refused = claims.clash(client_id, values)
        if refused is not None:
            plan.conflicts += 1
            log.warning(
                "1C counterparty clashes with another client; left as it is",
                ref_key=str(record.ref_key),
                reason=refused,
            )
            continue
        claims.take(client_id, values)
        if row is None:
            plan.inserts.append({"client_id": client_id, **values})
        elif any(values[name] != row[name] for name in values):
            plan.updates.append({"client_id": client_id, **values})
            if row["source_id"] is not None and any(
                values[name] != row[name] for name in _CARD_COLUMNS
            ):
                plan.chat_known.add(client_id)
    return plan


async def _read_and_plan(
    session: AsyncSession, records: list[CounterpartyRecord], prefix: str
) -> _Plan:
    rows = await repository.rows_for_counterparties(
        session,
        keys=sorted({record.ref_key for record in records}),
        codes=sorted({record.code_abonent for record in records if record.code_abonent}),
        inns=sorted({record.inn for record in records if record.inn}),
        pending_operation=SAVE_OWNER,
        order_prefix=_ONEC_ORDER_PREFIX,
    )
    return _plan(records, rows, prefix)


async def _write_page(
    session: AsyncSession, records: list[CounterpartyRecord], prefix: str
) -> tuple[_Plan, set[uuid.UUID], set[uuid.UUID]]:
    """Plan the page from the rows it touches and write it: (the plan, inserted ids, updated
    ids). A request that saved a clashing owner meanwhile makes the page planned again."""
    attempt = 1
    while True:
        plan = await _read_and_plan(session, records, prefix)
        try:
            inserted, updated = await repository.write_owners(
                session, inserts=plan.inserts, updates=plan.updates, source=ONEC
            )
        except repository.DuplicateIdentity as error:
            if attempt >= _PLAN_ATTEMPTS:
                raise
            attempt += 1
            log.info("an owner was saved meanwhile; planning the page again", constraint=str(error))
            continue
        return plan, inserted, updated


async def store_counterparties(
    session: AsyncSession, records: list[CounterpartyRecord], *, settings: object
) -> OwnersFromOneCReport:
    """A page of 1C's counterparties (our clients' folder) as owners, in the caller's
    transaction: each matched by 1C key, else by code, else by INN (then linked to its
    counterparty), else inserted (source ONEC); only changed rows are written, two statements
    per page. Then the page's consultations that have no client get their owner.

    No 1C sync is queued (the owner is 1C's: its digest records what 1C holds), and Chatwoot
    only for owners that already have a contact there (the others get one when they book)."""
    prefix = ConsultationSettings.of(settings).onec_client_name_prefix
    plan, inserted, updated = await _write_page(session, records, prefix)
    report = OwnersFromOneCReport(
        rows=len(records),
        inserted=len(inserted),
        updated=len(updated),
        # New owners a request saved first (same code or INN) wait for the next run's match.
        conflicts=plan.conflicts + len(plan.inserts) - len(inserted),
        deleted_in_onec=plan.deleted,
    )
    for owner in await repository.fresh_clients(session, plan.chat_known & updated):
        if await enqueue_client_sync(session, owner, owner, settings=settings):
            report.chat_updates += 1
    report.linked = await repository.link_consultations(
        session, sorted({record.ref_key for record in records})
    )
    return report
