"""Application API conversations, their messages, assignments and labels.

`{id}` in these paths is the conversation's display_id. PATCH changes only `priority` (the
controller permits nothing else); status, assignee, team, labels and custom attributes each have
their own action, and custom attributes and labels replace the whole set. DELETE is for
administrators only.

The index, `meta` and `search` share ConversationFinder: open conversations unless `status` says
otherwise, 25 a page, latest activity first. With `q` (search) every status counts and only
incoming and outgoing message content is matched (not names, emails or ids), and the counts are
those of the already paged relation. `filter` is FilterService (conditions.py): every status, no
`assigned_count`, counts over all pages.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response
from starlette.routing import Route

from switchboard.sandbox.chatwoot import contacts, conversations, filters, messages, views
from switchboard.sandbox.chatwoot.conditions import ConversationFilter
from switchboard.sandbox.chatwoot.contacts import cast_string
from switchboard.sandbox.chatwoot.errors import RecordNotFound, could_not_create, found
from switchboard.sandbox.chatwoot.http import Call, head_ok, json_response, route
from switchboard.sandbox.chatwoot.messages import Sender, forget_echo_id
from switchboard.sandbox.chatwoot.operations import Operation
from switchboard.sandbox.chatwoot.records import (
    API_CHANNEL,
    CONTENT_TYPES,
    INCOMING,
    MESSAGE_TYPES,
    OUTGOING,
    ContactInbox,
    Conversation,
    JsonDict,
    Message,
)
from switchboard.sandbox.chatwoot.rules import cast_bool, cast_int, like_matches, present

ACCOUNT = "/api/v1/accounts/{account_id}"
CONVERSATIONS = ACCOUNT + "/conversations"
CONVERSATION = CONVERSATIONS + "/{conversation_id}"
CONVERSATIONS_PER_PAGE = 25
MESSAGES_PER_PAGE = 20


# -- listing, search and filter ----------------------------------------------------------------


def _visible_inbox_ids(call: Call) -> list[int]:
    """ConversationFinder#set_inboxes: the given inbox, else the user's assigned inboxes."""
    inboxes = call.store.inboxes_of(call.account_id)
    wanted = call.params.get("inbox_id")
    if present(wanted):
        return [inbox.id for inbox in inboxes if str(inbox.id) == str(wanted)]
    if call.is_admin:
        return [inbox.id for inbox in inboxes]
    return [inbox.id for inbox in inboxes if call.viewer_id in inbox.member_ids]


def _permitted(call: Call, rows: list[Conversation]) -> list[Conversation]:
    """Conversations::PermissionFilterService: administrators see all, agents their inboxes."""
    if call.is_admin:
        return rows
    member_of = {
        inbox.id
        for inbox in call.store.inboxes_of(call.account_id)
        if call.viewer_id in inbox.member_ids
    }
    return [conv for conv in rows if conv.inbox_id in member_of]


def _query(call: Call) -> str | None:
    """`params[:q]`: any value given, even an empty one, switches the finder to search."""
    query = call.params.get("q")
    return None if query is None else cast_string(query)


def _found_conversations(call: Call) -> list[Conversation]:
    inbox_ids = _visible_inbox_ids(call)
    matching = [
        conv for conv in call.store.conversations_of(call.account_id) if conv.inbox_id in inbox_ids
    ]
    query = _query(call)
    if query is None:
        status = call.params.get("status") or "open"
        if status != "all":
            matching = [conv for conv in matching if conv.status == status]
    team_id = call.params.get("team_id")
    if team_id is not None:
        team = found(call.store.team(call.account_id, cast_int(team_id)), "team")
        matching = [conv for conv in matching if conv.team_id == team.id]
    labels = call.params.get("labels")
    if labels is not None:
        wanted = set(labels if isinstance(labels, list) else [labels])
        matching = [conv for conv in matching if wanted & set(conv.label_list)]
    if query is not None:
        matching = [conv for conv in matching if _matching_messages(call, conv, query)]
    return _latest_first(matching)


def _matching_messages(call: Call, conv: Conversation, query: str) -> list[Message]:
    """Incoming and outgoing messages (private notes too) whose content ILIKEs `%q%`."""
    pattern = f"%{query}%"
    return [
        item
        for item in call.store.messages_of(conv.id)
        if item.message_type in (INCOMING, OUTGOING)
        and like_matches(item.content, pattern, case_insensitive=True)
    ]


def _latest_first(rows: list[Conversation]) -> list[Conversation]:
    return sorted(rows, key=lambda conv: conv.last_activity_at, reverse=True)


def _page_window(call: Call) -> slice:
    page, _ = filters.page_of(call.params.get("page"))
    start = (page - 1) * CONVERSATIONS_PER_PAGE
    return slice(start, start + CONVERSATIONS_PER_PAGE)


def _subsets(call: Call, rows: list[Conversation]) -> dict[str, list[Conversation]]:
    mine = [conv for conv in rows if conv.assignee_id and conv.assignee_id == call.viewer_id]
    unassigned = [conv for conv in rows if conv.assignee_id is None]
    return {"mine_count": mine, "unassigned_count": unassigned, "all_count": rows}


def _counts(call: Call, rows: list[Conversation]) -> JsonDict:
    """The finder's counts. With `q` the search has already paged the relation Chatwoot counts,
    so each count is that of one page of its own subset (at most 25)."""
    window = _page_window(call) if _query(call) is not None else slice(None)
    counts = {name: len(subset[window]) for name, subset in _subsets(call, rows).items()}
    counts["assigned_count"] = counts["all_count"] - counts["unassigned_count"]
    return {
        "mine_count": counts["mine_count"],
        "assigned_count": counts["assigned_count"],
        "unassigned_count": counts["unassigned_count"],
        "all_count": counts["all_count"],
    }


def _by_assignee_type(call: Call, found: list[Conversation]) -> list[Conversation]:
    kind = call.params.get("assignee_type")
    if kind == "me":
        return [conv for conv in found if conv.assignee_id == call.viewer_id]
    if kind == "unassigned":
        return [conv for conv in found if conv.assignee_id is None]
    if kind == "assigned":
        return [conv for conv in found if conv.assignee_id is not None]
    return found


def index(call: Call) -> Response:
    with call.store.locked() as store:
        found = _found_conversations(call)
        listed = _by_assignee_type(call, found)[_page_window(call)]
        payload = [views.conversation(store, conv, call.viewer_id) for conv in listed]
        return json_response({"data": {"meta": _counts(call, found), "payload": payload}})


def meta(call: Call) -> Response:
    with call.store.locked():
        return json_response({"meta": _counts(call, _found_conversations(call))})


def search(call: Call) -> Response:
    """The finder with `q`, rendered by the search view: only the matching messages are shown."""
    query = _query(call)
    with call.store.locked() as store:
        found = _found_conversations(call)
        counts = _counts(call, found)
        del counts["assigned_count"]  # the search view leaves it out
        payload = []
        for conv in _by_assignee_type(call, found)[_page_window(call)]:
            shown = (
                store.messages_of(conv.id)
                if query is None
                else _matching_messages(call, conv, query)
            )
            payload.append(views.conversation_search_result(store, conv, shown))
        return json_response({"meta": counts, "payload": payload})


def filter_conversations(call: Call) -> Response:
    """Conversations::FilterService (conditions.py): every status, counts over all pages."""
    with call.store.locked() as store:
        base = _permitted(call, store.conversations_of(call.account_id))
        rows = ConversationFilter(store, call.account_id).select(call.params.get("payload"), base)
        subsets = _subsets(call, rows)
        counts = {name: len(subset) for name, subset in subsets.items()}
        payload = [
            views.conversation(store, conv, call.viewer_id)
            for conv in _latest_first(rows)[_page_window(call)]
        ]
        return json_response({"meta": counts, "payload": payload})


# -- one conversation ------------------------------------------------------------------------


def _contact_inbox_for_create(call: Call, op: Operation) -> ContactInbox:
    """By `inbox_id` + `contact_id` (a new contact_inbox each time), else by `source_id`."""
    store = op.store
    inbox = contact = None
    if present(call.params.get("inbox_id")):
        inbox = found(store.inbox(call.account_id, cast_int(call.params["inbox_id"])), "inbox")
    if present(call.params.get("contact_id")):
        contact = found(
            store.contact(call.account_id, cast_int(call.params["contact_id"])), "contact"
        )
    source_id = call.params.get("source_id")
    if inbox is not None and contact is not None:
        source = cast_string(source_id) if present(source_id) else None
        existing = store.contact_inbox_by_source(inbox.id, source) if source else None
        if existing is not None and existing.contact_id == contact.id:
            return existing
        contacts.check_source_id_free(store, inbox, source)
        return contacts.add_contact_inbox(op, contact, inbox, source)
    row = store.contact_inboxes.first(lambda item: item.source_id == str(source_id))
    if not present(source_id) or row is None:
        raise RecordNotFound("contact_inbox")
    return row


def create(call: Call) -> Response:
    params = call.params
    with call.engine.operation(call.actor) as op:
        row = _contact_inbox_for_create(call, op)
        conv = conversations.create(
            op,
            row,
            status=params.get("status"),
            assignee_id=cast_int(params.get("assignee_id")),
            team_id=cast_int(params.get("team_id")),
            custom_attributes=_hash(params.get("custom_attributes")),
            additional_attributes=_hash(params.get("additional_attributes")),
            snoozed_until=params.get("snoozed_until"),
        )
        first_message = params.get("message")
        if isinstance(first_message, dict) and first_message:
            forget_echo_id(_build_message(call, op, conv, first_message))
        return json_response(views.conversation(op.store, conv, call.viewer_id))


def _hash(value: Any) -> JsonDict | None:
    return value if isinstance(value, dict) else None


def show(call: Call) -> Response:
    with call.store.locked() as store:
        return json_response(views.conversation(store, call.conversation(), call.viewer_id))


def destroy(call: Call) -> Response:
    """Administrators only (an agent who may see it gets 401). Chatwoot deletes in a background
    job moments after answering; the emulator deletes before it answers."""
    with call.engine.operation(call.actor) as op:
        conv = call.conversation()
        call.require_admin()
        conversations.delete(op.store, conv)
    return head_ok()


def update(call: Call) -> Response:
    """`params.permit(:priority)`: status, assignee, team and attributes are ignored here."""
    with call.engine.operation(call.actor) as op:
        conv = call.conversation()
        if "priority" in call.params:
            conversations.set_priority(op, conv, call.params["priority"])
        return json_response(views.conversation(op.store, conv, call.viewer_id))


def toggle_status(call: Call) -> Response:
    with call.engine.operation(call.actor) as op:
        conv = call.conversation()
        success = conversations.toggle_status(
            op, conv, call.params.get("status"), call.params.get("snoozed_until")
        )
        return json_response(views.toggle_status(conv, success=success))


def toggle_priority(call: Call) -> Response:
    with call.engine.operation(call.actor) as op:
        conversations.set_priority(op, call.conversation(), call.params.get("priority"))
    return head_ok()


def custom_attributes(call: Call) -> Response:
    with call.engine.operation(call.actor) as op:
        conv = call.conversation()
        conversations.replace_custom_attributes(op, conv, call.params.get("custom_attributes"))
        return json_response({"custom_attributes": conv.custom_attributes})


def assignments(call: Call) -> Response:
    """Agent by `assignee_id` (or a bot), else team by `team_id`, else nothing: `null`."""
    params = call.params
    with call.engine.operation(call.actor) as op:
        conv = call.conversation()
        if params.get("assignee_type") == "AgentBot":
            bot = conversations.assign_bot(op, conv, params.get("assignee_id"))
            return json_response(views.agent_bot_slim(bot) if bot else None)
        if "assignee_id" in params:
            user = conversations.assign_agent(op, conv, params["assignee_id"])
            membership = op.store.account_user(conv.account_id, user.id) if user else None
            body = views.agent(user, membership) if user and membership else None
            return json_response(body)
        if "team_id" in params:
            team = conversations.assign_team(op, conv, params["team_id"])
            return json_response(views.team_record(team) if team else None)
    return json_response(None)


def list_labels(call: Call) -> Response:
    with call.store.locked():
        return json_response({"payload": list(call.conversation().label_list)})


def replace_labels(call: Call) -> Response:
    with call.engine.operation(call.actor) as op:
        labels = conversations.replace_labels(op, call.conversation(), call.params.get("labels"))
        return json_response({"payload": labels})


# -- messages --------------------------------------------------------------------------------


def _message_type(raw: Any) -> int:
    """MessageBuilder's `params[:message_type] || 'outgoing'`, cast by the enum."""
    if raw is None:
        return OUTGOING
    if isinstance(raw, str) and raw in MESSAGE_TYPES:
        return MESSAGE_TYPES[raw]
    if isinstance(raw, int) and not isinstance(raw, bool) and raw in MESSAGE_TYPES.values():
        return raw
    raise could_not_create(f"'{raw}' is not a valid message_type")


def _content_type(raw: Any) -> str:
    if raw is None or raw == "":
        return "text"
    if isinstance(raw, str) and raw in CONTENT_TYPES:
        return raw
    raise could_not_create(f"'{raw}' is not a valid content_type")


def _content_attributes(raw: Any) -> JsonDict:
    """An object, or a JSON string of one (multipart clients send it that way)."""
    if isinstance(raw, str):
        try:
            raw = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return {}
    return raw if isinstance(raw, dict) else {}


def _build_message(call: Call, op: Operation, conv: Conversation, params: JsonDict) -> Message:
    """Messages::MessageBuilder; whatever it raises the controller answers with 422."""
    message_type = _message_type(params.get("message_type"))
    inbox = op.store.inboxes.rows[conv.inbox_id]
    if message_type == INCOMING and inbox.channel_type != API_CHANNEL:
        raise could_not_create("Incoming messages are only allowed in Api inboxes")
    content_type = _content_type(params.get("content_type"))
    sender: Sender | None
    if message_type == OUTGOING:
        sender = Sender("User", call.user.id) if call.user else None
        if call.bot is not None:
            sender = Sender("AgentBot", call.bot.id)
    else:
        sender = Sender("Contact", conv.contact_id)  # the builder's sender for any other type
    content = params.get("content")
    return messages.create(
        op,
        conv,
        message_type=message_type,
        content=cast_string(content) if not isinstance(content, (dict, list)) else None,
        sender=sender,
        private=bool(cast_bool(params.get("private"))),
        content_type=content_type,
        content_attributes=_content_attributes(params.get("content_attributes")),
        echo_id=cast_string(params.get("echo_id")) if present(params.get("echo_id")) else None,
        source_id=cast_string(params.get("source_id"))
        if present(params.get("source_id"))
        else None,
        uploads=call.uploads,
        base_url=call.base_url,
    )


def list_messages(call: Call) -> Response:
    """MessageFinder: the last 20, or the 20 before `before` / after `after`, oldest first."""
    with call.store.locked() as store:
        conv = call.conversation()
        rows = store.messages_of(conv.id)
        before = cast_int(call.params.get("before"))
        after = cast_int(call.params.get("after"))
        if before is not None:
            rows = [item for item in rows if item.id < before]
        if after is not None:
            rows = [item for item in rows if item.id > after]
        rows = (
            rows[:MESSAGES_PER_PAGE]
            if after is not None and before is None
            else rows[-MESSAGES_PER_PAGE:]
        )
        return json_response(
            {
                "meta": views.messages_meta(store, conv),
                "payload": [views.message(store, item) for item in rows],
            }
        )


def create_message(call: Call) -> Response:
    with call.engine.operation(call.actor) as op:
        conv = call.conversation()
        message = _build_message(call, op, conv, call.params)
        body = views.message(op.store, message)
        forget_echo_id(message)
        return json_response(body)


def _message(call: Call, conv: Conversation) -> Message:
    message = call.store.message(call.int_param("message_id"))
    if message is None or message.conversation_id != conv.id:
        raise RecordNotFound("message")
    return message


def update_message(call: Call) -> Response:
    with call.engine.operation(call.actor) as op:
        conv = call.conversation()
        if op.store.inboxes.rows[conv.inbox_id].channel_type != API_CHANNEL:
            return json_response(
                {"error": "Message status update is only allowed for API inboxes"}, 403
            )
        message = _message(call, conv)
        messages.update_status(
            op, message, call.params.get("status"), call.params.get("external_error")
        )
        return json_response(views.message(op.store, message))


def delete_message(call: Call) -> Response:
    with call.engine.operation(call.actor) as op:
        message = _message(call, call.conversation())
        messages.delete(op, message)
        return json_response(views.message(op.store, message))


ROUTES: list[Route] = [
    route("application", CONVERSATIONS, index, ["GET"]),
    route("application", CONVERSATIONS + "/meta", meta, ["GET"]),
    route("application", CONVERSATIONS + "/search", search, ["GET"]),
    route("application", CONVERSATIONS + "/filter", filter_conversations, ["POST"]),
    route("application", CONVERSATIONS, create, ["POST"], bots=True),
    # Member routes come after the collection ones, which their `{conversation_id}` would match.
    route("application", CONVERSATION, show, ["GET"]),
    route("application", CONVERSATION, destroy, ["DELETE"]),
    route("application", CONVERSATION, update, ["PATCH", "PUT"], bots=True),
    route("application", CONVERSATION + "/toggle_status", toggle_status, ["POST"], bots=True),
    route("application", CONVERSATION + "/toggle_priority", toggle_priority, ["POST"], bots=True),
    route(
        "application", CONVERSATION + "/custom_attributes", custom_attributes, ["POST"], bots=True
    ),
    route("application", CONVERSATION + "/assignments", assignments, ["POST"], bots=True),
    route("application", CONVERSATION + "/labels", list_labels, ["GET"]),
    route("application", CONVERSATION + "/labels", replace_labels, ["POST"]),
    route("application", CONVERSATION + "/messages", list_messages, ["GET"]),
    route("application", CONVERSATION + "/messages", create_message, ["POST"], bots=True),
    route("application", CONVERSATION + "/messages/{message_id}", update_message, ["PATCH", "PUT"]),
    route("application", CONVERSATION + "/messages/{message_id}", delete_message, ["DELETE"]),
]
