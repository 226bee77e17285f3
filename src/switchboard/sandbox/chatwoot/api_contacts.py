"""Application API contacts: index, active, search, filter, create, show, update, destroy, and a
contact's conversations, contact_inboxes (create) and contactable inboxes.

The index has no lookup parameters (`?identifier=`, `?email=` and `?phone_number=` are ignored);
finding a contact takes `search` or `filter`. Only administrators delete contacts; an agent
reaches only the inboxes they are a member of.
"""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from switchboard.sandbox.chatwoot import contacts, filters, views
from switchboard.sandbox.chatwoot.contacts import cast_string
from switchboard.sandbox.chatwoot.errors import ApiError, found, not_authorized
from switchboard.sandbox.chatwoot.http import Call, head_ok, json_response, route
from switchboard.sandbox.chatwoot.records import Contact, Inbox, JsonDict
from switchboard.sandbox.chatwoot.rules import cast_bool, cast_int, present
from switchboard.sandbox.chatwoot.store import Store

ACCOUNT = "/api/v1/accounts/{account_id}"
CONTACTS = ACCOUNT + "/contacts"
CONTACT = CONTACTS + "/{contact_id}"
EDITABLE = (*contacts.STRING_FIELDS, "blocked", *contacts.HASH_FIELDS)


def _with_contact_inboxes(call: Call) -> bool:
    raw = call.params.get("include_contact_inboxes")
    return raw == "true" if present(raw) else True


def _listing(call: Call, store: Store, found: list[Contact]) -> Response:
    page, current_page = filters.page_of(call.params.get("page"))
    with_inboxes = _with_contact_inboxes(call)
    payload = [
        views.contact(store, item, with_contact_inboxes=with_inboxes)
        for item in filters.paginate(found, page)
    ]
    return json_response(
        {"meta": {"count": len(found), "current_page": current_page}, "payload": payload}
    )


def _contact(call: Call) -> Contact:
    return found(call.store.contact(call.account_id, call.int_param("contact_id")), "contact")


def index(call: Call) -> Response:
    with call.store.locked() as store:
        return _listing(call, store, filters.index(store, call.account_id, call.params.get("sort")))


def search(call: Call) -> Response:
    query = call.params.get("q")
    if not present(query):
        raise ApiError(422, {"error": "Specify search string with parameter q"})
    with call.store.locked() as store:
        return _listing(call, store, filters.search(store, call.account_id, str(query)))


def active(call: Call) -> Response:
    """Contacts online now; emulated contacts never are (no widget keeps a presence)."""
    with call.store.locked() as store:
        return _listing(call, store, [])


def filter_contacts(call: Call) -> Response:
    with call.store.locked() as store:
        found = filters.filter_contacts(store, call.account_id, call.params.get("payload"))
        return _listing(call, store, found)


def create(call: Call) -> Response:
    values = contacts.permitted_values(call.params, EDITABLE)
    with call.engine.operation(call.actor) as op:
        contacts.validate(op.store, call.account_id, values, None)
        inbox = None
        if present(call.params.get("inbox_id")):
            inbox = found(
                op.store.inbox(call.account_id, cast_int(call.params["inbox_id"])), "inbox"
            )
        source = call.params.get("source_id")
        source_id = cast_string(source) if present(source) else None
        if inbox is not None:
            contacts.check_source_id_free(op.store, inbox, source_id)
        contact = contacts.add_contact(op, call.account_id, values)
        row = contacts.add_contact_inbox(op, contact, inbox, source_id) if inbox else None
        linked: JsonDict = {
            "inbox": views.inbox_record(inbox) if inbox else None,
            "source_id": row.source_id if row else None,
        }
        payload = {
            "contact": views.contact(op.store, contact, with_contact_inboxes=True),
            "contact_inbox": linked,
        }
        return json_response({"payload": payload})


def show(call: Call) -> Response:
    with call.store.locked() as store:
        contact = _contact(call)
        body = views.contact(store, contact, with_contact_inboxes=_with_contact_inboxes(call))
        return json_response({"payload": body})


def update(call: Call) -> Response:
    with call.engine.operation(call.actor) as op:
        contact = contacts.update_contact(op, _contact(call), call.params)
        body = views.contact(op.store, contact, with_contact_inboxes=_with_contact_inboxes(call))
        return json_response({"payload": body})


def destroy(call: Call) -> Response:
    """ContactPolicy#destroy?: administrators only."""
    call.require_admin()
    with call.engine.operation(call.actor) as op:
        contacts.delete_contact(op, _contact(call))
    return head_ok()


CONTACT_CONVERSATIONS_LIMIT = 20


def contact_conversations(call: Call) -> Response:
    """Contacts::ConversationsController#index: the contact's conversations the viewer may see,
    latest activity first, and only the first 20 of them (no paging)."""
    with call.store.locked() as store:
        contact = _contact(call)
        visible = {inbox.id for inbox in store.inboxes_of(call.account_id)}
        if not call.is_admin:
            visible = {
                inbox.id
                for inbox in store.inboxes_of(call.account_id)
                if call.viewer_id in inbox.member_ids
            }
        shown = sorted(
            (
                conv
                for conv in store.conversations_of_contact(contact.id)
                if conv.inbox_id in visible
            ),
            key=lambda conv: conv.last_activity_at,
            reverse=True,
        )[:CONTACT_CONVERSATIONS_LIMIT]
        payload = [views.conversation(store, conv, call.viewer_id) for conv in shown]
        return json_response({"payload": payload})


def _sees_inbox(call: Call, inbox: Inbox) -> bool:
    """InboxPolicy#show?: administrators see every inbox, agents those they are members of."""
    return call.is_admin or call.viewer_id in inbox.member_ids


def create_contact_inbox(call: Call) -> Response:
    """POST /contacts/{id}/contact_inboxes with `inbox_id` and an optional `source_id`."""
    params = call.params
    with call.engine.operation(call.actor) as op:
        contact = _contact(call)
        inbox = found(op.store.inbox(call.account_id, cast_int(params.get("inbox_id"))), "inbox")
        if not _sees_inbox(call, inbox):
            raise not_authorized()
        source = params.get("source_id")
        row = contacts.build_contact_inbox(
            op,
            contact,
            inbox,
            None if source is None else cast_string(source),
            hmac_verified=cast_bool(params.get("hmac_verified")) is True,
        )
        return json_response(views.contact_inbox(op.store, row))


def contactable_inboxes(call: Call) -> Response:
    with call.store.locked() as store:
        contact = _contact(call)
        payload = [
            {"inbox": views.inbox_slim(inbox), "source_id": source_id}
            for inbox, source_id in contacts.contactable_inboxes(store, contact)
            if _sees_inbox(call, inbox)
        ]
        return json_response({"payload": payload})


ROUTES: list[Route] = [
    route("application", CONTACTS, index, ["GET"]),
    route("application", CONTACTS, create, ["POST"]),
    route("application", CONTACTS + "/search", search, ["GET"]),
    route("application", CONTACTS + "/active", active, ["GET"]),
    route("application", CONTACTS + "/filter", filter_contacts, ["POST"]),
    route("application", CONTACT, show, ["GET"]),
    route("application", CONTACT, update, ["PATCH", "PUT"]),
    route("application", CONTACT, destroy, ["DELETE"]),
    route("application", CONTACT + "/conversations", contact_conversations, ["GET"]),
    route("application", CONTACT + "/contact_inboxes", create_contact_inbox, ["POST"]),
    route("application", CONTACT + "/contactable_inboxes", contactable_inboxes, ["GET"]),
]
