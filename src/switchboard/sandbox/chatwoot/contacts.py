"""Contacts: validation, the Application API's create/update, and the Public API's identity rules.

The Public API never refuses a known person: it reuses the contact found by identifier, then
email, then phone (ContactInboxWithContactBuilder) and gives it a fresh contact_inbox, and an
identify call that names another contact's email or phone merges the two (ContactIdentifyAction).
"""

from __future__ import annotations

import secrets
from typing import Any

from switchboard.sandbox.chatwoot import conversations
from switchboard.sandbox.chatwoot.errors import ParameterMissing, RecordInvalid, ServerError
from switchboard.sandbox.chatwoot.operations import (
    CONTACT_COLUMNS,
    Operation,
    emit_contact_created,
    save_contact,
    snapshot,
)
from switchboard.sandbox.chatwoot.records import (
    Contact,
    ContactInbox,
    Inbox,
    JsonDict,
    new_uuid,
    utcnow,
)
from switchboard.sandbox.chatwoot.rules import (
    cast_bool,
    haiku_name,
    present,
    valid_email,
    valid_phone,
)
from switchboard.sandbox.chatwoot.store import Store

STRING_FIELDS = ("name", "identifier", "email", "phone_number")
HASH_FIELDS = ("additional_attributes", "custom_attributes")
NAME_LIMIT = 255


def cast_string(value: Any) -> str | None:
    """How a Rails string column stores a JSON scalar (true becomes "t", 5 becomes "5")."""
    if value is None:
        return None
    if value is True:
        return "t"
    if value is False:
        return "f"
    return str(value)


def permitted_values(params: JsonDict, fields: tuple[str, ...]) -> JsonDict:
    """`params.permit(...)`: scalars for strings, objects for hashes, everything else dropped."""
    values: JsonDict = {}
    for name in fields:
        if name not in params:
            continue
        value = params[name]
        if name in HASH_FIELDS:
            if isinstance(value, dict):
                values[name] = value
        elif name == "blocked":
            if not isinstance(value, (dict, list)):
                values[name] = bool(cast_bool(value))
        elif not isinstance(value, (dict, list)):
            values[name] = cast_string(value)
            if name == "email" and values[name]:
                values[name] = values[name].lower()  # Contact downcases email before validation
    return values


def validate(store: Store, account_id: int, values: JsonDict, exclude_id: int | None) -> None:
    """Contact's validations in their declared order; raises RecordInvalid."""
    errors: list[tuple[str, str]] = []
    email = values.get("email")
    if email:
        if _taken(store, account_id, "email", email, exclude_id):
            errors.append(("email", "Email has already been taken"))
        if not valid_email(email):
            errors.append(("email", "Email Invalid email"))
    identifier = values.get("identifier")
    if identifier and _taken(store, account_id, "identifier", identifier, exclude_id):
        errors.append(("identifier", "Identifier has already been taken"))
    phone = values.get("phone_number")
    if phone:
        if _taken(store, account_id, "phone_number", phone, exclude_id):
            errors.append(("phone_number", "Phone number has already been taken"))
        if not valid_phone(phone):
            errors.append(("phone_number", "Phone number should be in e164 format"))
    name = values.get("name")
    if name and len(name) > NAME_LIMIT:
        errors.append(("name", f"Name is too long (maximum is {NAME_LIMIT} characters)"))
    if errors:
        raise RecordInvalid(errors)


def _taken(
    store: Store, account_id: int, attribute: str, value: str, exclude_id: int | None
) -> bool:
    other = store.contact_by(account_id, attribute, value)
    return other is not None and other.id != exclude_id


def _current_values(contact: Contact) -> JsonDict:
    return {name: getattr(contact, name) for name in STRING_FIELDS}


def add_contact(op: Operation, account_id: int, values: JsonDict) -> Contact:
    validate(op.store, account_id, values, None)
    now = utcnow()
    contact = op.store.contacts.add(
        Contact(
            id=op.store.contacts.next_id(),
            account_id=account_id,
            name=values.get("name") if values.get("name") is not None else "",
            email=values.get("email"),
            phone_number=values.get("phone_number"),
            identifier=values.get("identifier"),
            additional_attributes=dict(values.get("additional_attributes") or {}),
            custom_attributes=dict(values.get("custom_attributes") or {}),
            blocked=bool(values.get("blocked", False)),
            created_at=now,
            updated_at=now,
        )
    )
    emit_contact_created(op, contact)
    return contact


def add_contact_inbox(
    op: Operation,
    contact: Contact,
    inbox: Inbox,
    source_id: str | None,
    *,
    hmac_verified: bool = False,
) -> ContactInbox:
    return op.store.contact_inboxes.add(
        ContactInbox(
            id=op.store.contact_inboxes.next_id(),
            contact_id=contact.id,
            inbox_id=inbox.id,
            source_id=source_id or new_uuid(),
            hmac_verified=hmac_verified,
        )
    )


# Channels whose ContactInboxBuilder moves an old contact_inbox off a taken source_id.
SOURCE_STEALING_CHANNELS = (
    "Channel::Email",
    "Channel::Sms",
    "Channel::TwilioSms",
    "Channel::Whatsapp",
)


def build_contact_inbox(
    op: Operation, contact: Contact, inbox: Inbox, source_id: str | None, *, hmac_verified: bool
) -> ContactInbox:
    """ContactInboxBuilder: the contact's row for that source_id, found or created.

    Without a source_id one is made from the channel (a UUID for API and website inboxes, the
    email or phone for the others). A source_id another contact holds in the inbox is a
    unique-index violation Chatwoot does not rescue (a 500), except in email and phone channels,
    where the old row gets a new source_id first.
    """
    source = source_id if source_id is not None else channel_source_id(contact, inbox)
    if not present(source):
        raise ServerError("NoMethodError: the builder returned no contact_inbox")
    assert source is not None
    store = op.store
    existing = store.contact_inbox_by_source(inbox.id, source)
    if existing is not None and existing.contact_id == contact.id:
        return existing
    if existing is not None:
        if inbox.channel_type not in SOURCE_STEALING_CHANNELS:
            raise ServerError("ActiveRecord::RecordNotUnique on contact_inboxes.source_id")
        existing.source_id = f"{secrets.randbelow(10)}{source}"
        existing.updated_at = utcnow()
    return add_contact_inbox(op, contact, inbox, source, hmac_verified=hmac_verified)


def channel_source_id(contact: Contact, inbox: Inbox) -> str:
    """The source_id ContactInboxBuilder derives when the request gives none."""
    kind = inbox.channel_type
    if kind in ("Channel::Api", "Channel::WebWidget"):
        return new_uuid()
    if kind == "Channel::Email":
        if contact.email is None:
            raise ParameterMissing("contact email")
        return contact.email
    if kind in ("Channel::Sms", "Channel::TwilioSms", "Channel::Whatsapp"):
        if contact.phone_number is None:
            raise ParameterMissing("contact phone number")
        phone = contact.phone_number
        return phone.replace("+", "") if kind == "Channel::Whatsapp" else phone
    raise ServerError(f"Unsupported operation for this channel: {kind}")


def contactable_inboxes(store: Store, contact: Contact) -> list[tuple[Inbox, str]]:
    """Contacts::ContactableInboxesService: each inbox the contact can be reached in, with the
    source_id to use (an API inbox offers a fresh UUID when the contact has no row there)."""
    found: list[tuple[Inbox, str]] = []
    for inbox in store.inboxes_of(contact.account_id):
        source = _contactable_source(store, contact, inbox)
        if source is not None:
            found.append((inbox, source))
    return found


def _contactable_source(store: Store, contact: Contact, inbox: Inbox) -> str | None:
    rows = [row for row in store.contact_inboxes_of(contact.id) if row.inbox_id == inbox.id]
    latest = rows[-1] if rows else None
    kind = inbox.channel_type
    if kind == "Channel::Api":
        return latest.source_id if latest else new_uuid()
    if kind == "Channel::WebWidget":
        if latest is None:
            return None
        talked = any(
            conv.contact_inbox_id == latest.id
            for conv in store.conversations_of_contact(contact.id)
        )
        return None if talked else latest.source_id
    if kind == "Channel::Email":
        return contact.email or None
    if kind in ("Channel::Sms", "Channel::TwilioSms"):
        return contact.phone_number or None
    if kind == "Channel::Whatsapp":
        return contact.phone_number.replace("+", "") if contact.phone_number else None
    return None


def check_source_id_free(store: Store, inbox: Inbox, source_id: str | None) -> None:
    if source_id and store.contact_inbox_by_source(inbox.id, source_id) is not None:
        raise RecordInvalid([("source_id", "Source has already been taken")])


def update_contact(op: Operation, contact: Contact, params: JsonDict) -> Contact:
    """PATCH /contacts/{id}: the given fields, with both attribute hashes merged, not replaced."""
    values = permitted_values(params, (*STRING_FIELDS, "blocked", *HASH_FIELDS))
    validate(op.store, contact.account_id, {**_current_values(contact), **values}, contact.id)
    before = snapshot(contact, CONTACT_COLUMNS)
    for name in (*STRING_FIELDS, "blocked"):
        if name in values:
            setattr(contact, name, values[name])
    for name in HASH_FIELDS:
        if name in values:
            setattr(contact, name, {**getattr(contact, name), **values[name]})
    save_contact(op, contact, before)
    return contact


def delete_contact(op: Operation, contact: Contact) -> None:
    store = op.store
    for conv in store.conversations_of_contact(contact.id):
        conversations.delete(store, conv)
    for row in store.contact_inboxes_of(contact.id):
        store.contact_inboxes.remove(row.id)
    store.contacts.remove(contact.id)


# -- Public API ------------------------------------------------------------------------------

PUBLIC_CREATE_FIELDS = ("identifier", "email", "name", "phone_number", "custom_attributes")


def public_create(
    op: Operation, inbox: Inbox, params: JsonDict, source_id: str | None, *, hmac_verified: bool
) -> ContactInbox:
    """ContactInboxWithContactBuilder: an existing source_id wins, then a known person is reused."""
    if source_id:
        existing = op.store.contact_inbox_by_source(inbox.id, source_id)
        if existing is not None:
            return existing
    values = permitted_values(params, PUBLIC_CREATE_FIELDS)
    contact = _find_known_person(op.store, inbox.account_id, values)
    if contact is None:
        values["name"] = values.get("name") or haiku_name()
        contact = add_contact(op, inbox.account_id, values)
    return add_contact_inbox(op, contact, inbox, source_id, hmac_verified=hmac_verified)


def _find_known_person(store: Store, account_id: int, values: JsonDict) -> Contact | None:
    for attribute in ("identifier", "email", "phone_number"):
        found = store.contact_by(account_id, attribute, values.get(attribute))
        if found is not None:
            return found
    return None


def identify(op: Operation, contact: Contact, params: JsonDict) -> Contact:
    """ContactIdentifyAction without the identifier (the public controller drops it)."""
    values = permitted_values(params, ("name", "email", "phone_number", "custom_attributes"))
    for attribute in ("email", "phone_number"):
        other = op.store.contact_by(contact.account_id, attribute, values.get(attribute))
        if other is not None and other.id != contact.id:
            contact = merge_contacts(op, base=other, mergee=contact)
    updates = {
        name: values[name]
        for name in ("name", "email", "phone_number")
        if present(values.get(name))
    }
    validate(op.store, contact.account_id, {**_current_values(contact), **updates}, contact.id)
    before = snapshot(contact, CONTACT_COLUMNS)
    for name, value in updates.items():
        setattr(contact, name, value)
    if present(values.get("custom_attributes")):
        contact.custom_attributes = _deep_merge(
            contact.custom_attributes, values["custom_attributes"]
        )
    save_contact(op, contact, before)
    return contact


def merge_contacts(op: Operation, *, base: Contact, mergee: Contact) -> Contact:
    """ContactMergeAction: the mergee's inboxes, conversations and messages move to the base."""
    store = op.store
    before = snapshot(base, CONTACT_COLUMNS)
    for row in store.contact_inboxes_of(mergee.id):
        row.contact_id = base.id
    for conv in store.conversations_of_contact(mergee.id):
        conv.contact_id = base.id
    for message in store.messages.where(
        lambda item: item.sender_type == "Contact" and item.sender_id == mergee.id
    ):
        message.sender_id = base.id
    for name in ("email", "phone_number", "identifier", "name"):
        if not getattr(base, name):
            setattr(base, name, getattr(mergee, name))
    base.custom_attributes = {**mergee.custom_attributes, **base.custom_attributes}
    base.additional_attributes = {**mergee.additional_attributes, **base.additional_attributes}
    store.contacts.remove(mergee.id)
    save_contact(op, base, before)
    return base


def _deep_merge(left: JsonDict, right: JsonDict) -> JsonDict:
    merged = dict(left)
    for raw_key, value in right.items():
        key = str(raw_key)
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged
