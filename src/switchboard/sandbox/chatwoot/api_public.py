"""The Public (client) API: `/public/api/v1/inboxes/{inbox_identifier}/...`, no auth.

It is addressed by the API channel's identifier and the contact_inbox's `source_id`. It keeps
only what its controllers permit: a contact's identity fields, a conversation's
`custom_attributes`, a message's `content` and `echo_id`; the message is always the contact's.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from switchboard.sandbox.chatwoot import contacts, conversations, messages, views
from switchboard.sandbox.chatwoot.contacts import cast_string
from switchboard.sandbox.chatwoot.errors import RecordNotFound, ServerError, found
from switchboard.sandbox.chatwoot.http import Call, head_ok, json_response, route
from switchboard.sandbox.chatwoot.messages import Sender, forget_echo_id
from switchboard.sandbox.chatwoot.operations import Actor
from switchboard.sandbox.chatwoot.records import INCOMING, ContactInbox, Conversation, Inbox
from switchboard.sandbox.chatwoot.rules import present

BASE = "/public/api/v1/inboxes/{inbox_identifier}"
CONTACT = BASE + "/contacts/{contact_identifier}"
CONVERSATION = CONTACT + "/conversations/{conversation_id}"
MESSAGES_PER_PAGE = 20


def _inbox(call: Call) -> Inbox:
    return found(call.store.inbox_by_identifier(str(call.params.get("inbox_identifier"))), "inbox")


def _contact_inbox(call: Call, inbox: Inbox) -> ContactInbox:
    return found(
        call.store.contact_inbox_by_source(inbox.id, str(call.params.get("contact_identifier"))),
        "contact_inbox",
    )


def _conversations(call: Call, row: ContactInbox) -> list[Conversation]:
    """An HMAC-verified contact sees all its conversations, otherwise only this inbox's."""
    if row.hmac_verified:
        return call.store.conversations_of_contact(row.contact_id)
    return [
        conv
        for conv in call.store.conversations_of_contact(row.contact_id)
        if conv.contact_inbox_id == row.id
    ]


def _conversation(call: Call, row: ContactInbox) -> Conversation:
    wanted = str(call.params.get("conversation_id"))
    for conv in _conversations(call, row):
        if str(conv.display_id) == wanted:
            return conv
    raise RecordNotFound("conversation")


def _hmac_verified(call: Call, inbox: Inbox) -> bool:
    """`process_hmac`: checked if a hash is given or the inbox demands one; a mismatch is a 500."""
    given = call.params.get("identifier_hash")
    if not present(given) and not inbox.hmac_mandatory:
        return False
    identifier = call.params.get("identifier")
    expected = hmac.new(
        inbox.hmac_token.encode(), _ruby_to_s(identifier).encode(), hashlib.sha256
    ).hexdigest()
    if not isinstance(given, str) or not hmac.compare_digest(given, expected):
        raise ServerError("HMAC failed: Invalid Identifier Hash Provided")
    return True


def _ruby_to_s(value: Any) -> str:
    return "" if value is None else str(cast_string(value))


# -- inbox and contacts ----------------------------------------------------------------------


def show_inbox(call: Call) -> Response:
    return json_response(views.public_inbox(_inbox(call)))


def create_contact(call: Call) -> Response:
    inbox = _inbox(call)
    verified = _hmac_verified(call, inbox)
    source_id = call.params.get("source_id")
    with call.engine.operation(Actor.system()) as op:
        row = contacts.public_create(
            op,
            inbox,
            call.params,
            cast_string(source_id) if present(source_id) else None,
            hmac_verified=verified,
        )
        return json_response(views.public_contact(row, op.store.contacts.rows[row.contact_id]))


def show_contact(call: Call) -> Response:
    inbox = _inbox(call)
    with call.engine.operation(Actor.system()) as op:
        row = _contact_inbox(call, inbox)
        if _hmac_verified(call, inbox):
            row.hmac_verified = True
        return json_response(views.public_contact(row, op.store.contacts.rows[row.contact_id]))


def update_contact(call: Call) -> Response:
    inbox = _inbox(call)
    with call.engine.operation(Actor.system()) as op:
        row = _contact_inbox(call, inbox)
        if _hmac_verified(call, inbox):
            row.hmac_verified = True
        contact = contacts.identify(op, op.store.contacts.rows[row.contact_id], call.params)
        return json_response(views.contact_record(contact))


# -- conversations ---------------------------------------------------------------------------


def list_conversations(call: Call) -> Response:
    inbox = _inbox(call)
    with call.store.locked() as store:
        row = _contact_inbox(call, inbox)
        return json_response(
            [views.public_conversation(store, c) for c in _conversations(call, row)]
        )


def create_conversation(call: Call) -> Response:
    inbox = _inbox(call)
    attributes = call.params.get("custom_attributes")
    with call.engine.operation(Actor.system()) as op:
        row = _contact_inbox(call, inbox)
        conv = conversations.create(
            op, row, custom_attributes=attributes if isinstance(attributes, dict) else None
        )
        return json_response(views.public_conversation(op.store, conv))


def show_conversation(call: Call) -> Response:
    inbox = _inbox(call)
    with call.store.locked() as store:
        conv = _conversation(call, _contact_inbox(call, inbox))
        return json_response(views.public_conversation(store, conv))


def toggle_status(call: Call) -> Response:
    inbox = _inbox(call)
    row = _contact_inbox(call, inbox)
    with call.engine.operation(Actor("contact", row.contact_id)) as op:
        conv = _conversation(call, row)
        conversations.resolve_by_contact(op, conv)
        return json_response(views.public_conversation(op.store, conv))


def toggle_typing(call: Call) -> Response:
    inbox = _inbox(call)
    row = _contact_inbox(call, inbox)
    with call.engine.operation(Actor("contact", row.contact_id)) as op:
        conversations.typing(op, _conversation(call, row), call.params.get("typing_status"))
    return head_ok()


def update_last_seen(call: Call) -> Response:
    inbox = _inbox(call)
    row = _contact_inbox(call, inbox)
    with call.engine.operation(Actor("contact", row.contact_id)) as op:
        conversations.mark_contact_seen(op, _conversation(call, row))
    return head_ok()


# -- messages --------------------------------------------------------------------------------


def list_messages(call: Call) -> Response:
    inbox = _inbox(call)
    with call.store.locked() as store:
        conv = _conversation(call, _contact_inbox(call, inbox))
        chat = [item for item in store.messages_of(conv.id) if views.is_chat(item)]
        before = call.params.get("before")
        if present(before):
            limit = int(str(before)) if str(before).isdigit() else 0
            chat = [item for item in chat if item.id < limit]
        page = chat[-MESSAGES_PER_PAGE:]
        return json_response([views.public_message(store, item) for item in page])


def create_message(call: Call) -> Response:
    inbox = _inbox(call)
    row = _contact_inbox(call, inbox)
    content = call.params.get("content")
    echo_id = call.params.get("echo_id")
    with call.engine.operation(Actor("contact", row.contact_id)) as op:
        conv = _conversation(call, row)
        message = messages.create(
            op,
            conv,
            message_type=INCOMING,
            content=cast_string(content) if not isinstance(content, (dict, list)) else None,
            sender=Sender("Contact", conv.contact_id),
            echo_id=cast_string(echo_id) if present(echo_id) else None,
            uploads=call.uploads,
            base_url=call.base_url,
        )
        body = views.public_message(op.store, message)
        forget_echo_id(message)
        return json_response(body)


def update_message(call: Call) -> Response:
    inbox = _inbox(call)
    row = _contact_inbox(call, inbox)
    with call.engine.operation(Actor("contact", row.contact_id)) as op:
        conv = _conversation(call, row)
        message = op.store.messages.get(call.int_param("message_id"))
        if message is None or message.conversation_id != conv.id:
            raise RecordNotFound("message")
        values = call.params.get("submitted_values")
        if values is not None:
            messages.submit_values(op, message, _permitted_submissions(values))
        return json_response(views.public_message(op.store, message))


def _permitted_submissions(values: Any) -> list[dict[str, Any]]:
    """`permit(submitted_values: [:name, :title, :value])`."""
    items = values if isinstance(values, list) else [values]
    return [
        {key: item[key] for key in ("name", "title", "value") if key in item}
        for item in items
        if isinstance(item, dict)
    ]


ROUTES: list[Route] = [
    route("public", BASE, show_inbox, ["GET"]),
    route("public", BASE + "/contacts", create_contact, ["POST"]),
    route("public", CONTACT, show_contact, ["GET"]),
    route("public", CONTACT, update_contact, ["PATCH", "PUT"]),
    route("public", CONTACT + "/conversations", list_conversations, ["GET"]),
    route("public", CONTACT + "/conversations", create_conversation, ["POST"]),
    route("public", CONVERSATION, show_conversation, ["GET"]),
    route("public", CONVERSATION + "/toggle_status", toggle_status, ["POST"]),
    route("public", CONVERSATION + "/toggle_typing", toggle_typing, ["POST"]),
    route("public", CONVERSATION + "/update_last_seen", update_last_seen, ["POST"]),
    route("public", CONVERSATION + "/messages", list_messages, ["GET"]),
    route("public", CONVERSATION + "/messages", create_message, ["POST"]),
    route("public", CONVERSATION + "/messages/{message_id}", update_message, ["PATCH", "PUT"]),
]
