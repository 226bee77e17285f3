"""The JSON Chatwoot renders: REST partials (jbuilder), push data and webhook data (models).

Each function mirrors one view or model method. The REST and webhook variants differ on purpose,
as they do in Chatwoot: REST `message_type` is the integer, webhooks carry its name; REST times
are unix seconds, webhook message times are ISO 8601 strings. Callers hold the store lock.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from switchboard.sandbox.chatwoot.records import (
    ACTIVITY,
    API_CHANNEL,
    INCOMING,
    MESSAGE_TYPE_NAMES,
    Account,
    AccountUser,
    AgentBot,
    Attachment,
    Contact,
    ContactInbox,
    Conversation,
    CustomAttributeDefinition,
    Inbox,
    JsonDict,
    Label,
    Message,
    Team,
    User,
    Webhook,
)
from switchboard.sandbox.chatwoot.store import Store

UNREAD_CAP = 10  # `unread_incoming_messages` takes the last 10


def unix(moment: datetime | None) -> int:
    """`time.to_i`, where `nil.to_i` is 0."""
    return int(moment.timestamp()) if moment is not None else 0


def iso(moment: datetime | None) -> str | None:
    """ActiveSupport's JSON time: UTC, milliseconds, `Z`."""
    if moment is None:
        return None
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


# -- accounts, users, bots, teams, labels, inboxes ------------------------------------------


def account_webhook_data(account: Account) -> JsonDict:
    return {"id": account.id, "name": account.name}


def user_push_data(user: User) -> JsonDict:
    return {
        "id": user.id,
        "name": user.name,
        "available_name": user.available_name,
        "avatar_url": "",
        "type": "user",
        "availability_status": "offline",
        "thumbnail": "",
    }


def user_webhook_data(user: User) -> JsonDict:
    return {"id": user.id, "name": user.name, "email": user.email, "type": "user"}


def bot_push_data(bot: AgentBot) -> JsonDict:
    return {"id": bot.id, "name": bot.name, "avatar_url": "", "type": "agent_bot"}


def bot_webhook_data(bot: AgentBot) -> JsonDict:
    return {"id": bot.id, "name": bot.name, "type": "agent_bot"}


def agent_bot_slim(bot: AgentBot) -> JsonDict:
    return {
        "id": bot.id,
        "name": bot.name,
        "description": bot.description,
        "thumbnail": "",
        "outgoing_url": bot.outgoing_url,
    }


def agent(user: User, membership: AccountUser) -> JsonDict:
    """api/v1/models/_agent."""
    data: JsonDict = {
        "id": user.id,
        "account_id": membership.account_id,
        "availability_status": "offline",
        "auto_offline": membership.auto_offline,
        "confirmed": user.confirmed,
        "email": user.email,
        "provider": "email",
        "available_name": user.available_name,
    }
    if user.custom_attributes:
        data["custom_attributes"] = user.custom_attributes
    data.update({"name": user.name, "role": membership.role, "thumbnail": ""})
    return data


def account_user_record(membership: AccountUser) -> JsonDict:
    return {
        "id": membership.id,
        "account_id": membership.account_id,
        "user_id": membership.user_id,
        "role": membership.role,
        "inviter_id": membership.inviter_id,
        "created_at": iso(membership.created_at),
        "updated_at": iso(membership.updated_at),
        "active_at": iso(membership.active_at),
        "availability": membership.availability,
        "auto_offline": membership.auto_offline,
    }


def platform_user(store: Store, user: User) -> JsonDict:
    """platform/api/v1/models/_user."""
    memberships = store.account_users_of(user.id)
    first = memberships[0] if memberships else None
    data: JsonDict = {
        "access_token": user.access_token,
        "account_id": first.account_id if first else None,
        "available_name": user.available_name,
        "avatar_url": "",
        "confirmed": user.confirmed,
        "display_name": user.display_name,
        "message_signature": user.message_signature,
        "email": user.email,
        "id": user.id,
        "name": user.name,
        "provider": "email",
        "pubsub_token": user.pubsub_token,
    }
    if user.custom_attributes:
        data["custom_attributes"] = user.custom_attributes
    data.update(
        {
            "role": first.role if first else None,
            "ui_settings": user.ui_settings,
            "uid": user.email,
            "accounts": [_membership_summary(store, row) for row in memberships],
        }
    )
    return data


def _membership_summary(store: Store, membership: AccountUser) -> JsonDict:
    account = store.account(membership.account_id)
    return {
        "id": membership.account_id,
        "name": account.name if account else None,
        "active_at": iso(membership.active_at),
        "role": membership.role,
    }


def team(item: Team, viewer_id: int | None) -> JsonDict:
    """api/v1/models/_team."""
    return {
        "id": item.id,
        "name": item.name,
        "description": item.description,
        "allow_auto_assign": item.allow_auto_assign,
        "account_id": item.account_id,
        "is_member": viewer_id in item.member_ids,
    }


def team_record(item: Team) -> JsonDict:
    """`render json: @team`: the raw record."""
    return {
        "id": item.id,
        "name": item.name,
        "description": item.description,
        "allow_auto_assign": item.allow_auto_assign,
        "account_id": item.account_id,
        "created_at": iso(item.created_at),
        "updated_at": iso(item.updated_at),
    }


def team_push_data(item: Team) -> JsonDict:
    return {"id": item.id, "name": item.name}


def label(item: Label) -> JsonDict:
    return {
        "id": item.id,
        "title": item.title,
        "description": item.description,
        "color": item.color,
        "show_on_sidebar": item.show_on_sidebar,
    }


def inbox(item: Inbox, *, admin: bool) -> JsonDict:
    """api/v1/models/_inbox for an API channel (the hmac_token only for administrators)."""
    data: JsonDict = {
        "id": item.id,
        "avatar_url": "",
        "channel_id": item.channel_id,
        "name": item.name,
        "channel_type": item.channel_type,
        "greeting_enabled": False,
        "greeting_message": None,
        "working_hours_enabled": False,
        "enable_email_collect": True,
        "csat_survey_enabled": False,
        "enable_auto_assignment": True,
        "auto_assignment_config": {},
        "out_of_office_message": None,
        "working_hours": [],
        "timezone": item.timezone,
        "callback_webhook_url": None,
        "allow_messages_after_resolved": True,
        "lock_to_single_conversation": item.lock_to_single_conversation,
        "sender_name_type": "friendly",
        "business_name": None,
        "widget_color": None,
        "website_url": None,
        "hmac_mandatory": item.hmac_mandatory,
        "welcome_title": None,
        "welcome_tagline": None,
        "web_widget_script": None,
        "website_token": None,
        "selected_feature_flags": None,
        "reply_time": None,
        "messaging_service_sid": None,
        "phone_number": None,
    }
    if item.channel_type == API_CHANNEL:
        if admin:
            data["hmac_token"] = item.hmac_token
        data["webhook_url"] = item.webhook_url
        data["inbox_identifier"] = item.identifier
        data["additional_attributes"] = {}
    data["provider"] = None
    return data


def inbox_record(item: Inbox) -> JsonDict:
    """The raw Inbox record, as `json.inbox @contact_inbox.inbox` renders it."""
    return {
        "id": item.id,
        "channel_id": item.channel_id,
        "account_id": item.account_id,
        "name": item.name,
        "created_at": iso(item.created_at),
        "updated_at": iso(item.updated_at),
        "channel_type": item.channel_type,
        "enable_auto_assignment": True,
        "greeting_enabled": False,
        "greeting_message": None,
        "email_address": None,
        "working_hours_enabled": False,
        "out_of_office_message": None,
        "timezone": item.timezone,
        "enable_email_collect": True,
        "csat_survey_enabled": False,
        "allow_messages_after_resolved": True,
        "auto_assignment_config": {},
        "lock_to_single_conversation": item.lock_to_single_conversation,
        "portal_id": None,
        "sender_name_type": "friendly",
        "business_name": None,
    }


def inbox_webhook_data(item: Inbox) -> JsonDict:
    return {"id": item.id, "name": item.name}


def public_inbox(item: Inbox) -> JsonDict:
    """public/api/v1/inboxes/show."""
    return {
        "identifier": item.identifier,
        "identity_validation_enabled": item.hmac_mandatory,
        "name": item.name,
        "timezone": item.timezone,
        "working_hours": [],
        "working_hours_enabled": False,
        "csat_survey_enabled": False,
        "greeting_enabled": False,
    }


def webhook(item: Webhook, store: Store, *, with_secret: bool) -> JsonDict:
    data: JsonDict = {
        "id": item.id,
        "name": item.name,
        "url": item.url,
        "account_id": item.account_id,
        "subscriptions": list(item.subscriptions),
    }
    hooked_inbox = store.inbox(item.account_id, item.inbox_id)
    if hooked_inbox is not None:
        data["inbox"] = inbox_webhook_data(hooked_inbox)
    if with_secret:
        # The secret exists since Chatwoot 4.11.2; older versions neither sign nor show one.
        data["secret"] = item.secret
    return data


def custom_attribute_definition(item: CustomAttributeDefinition) -> JsonDict:
    """api/v1/models/_custom_attribute_definition."""
    return {
        "id": item.id,
        "attribute_display_name": item.attribute_display_name,
        "attribute_display_type": item.attribute_display_type,
        "attribute_description": item.attribute_description,
        "attribute_key": item.attribute_key,
        "regex_pattern": item.regex_pattern,
        "regex_cue": item.regex_cue,
        "attribute_values": item.attribute_values,
        "attribute_model": item.attribute_model,
        "default_value": item.default_value,
        "created_at": iso(item.created_at),
        "updated_at": iso(item.updated_at),
    }


# -- contacts ------------------------------------------------------------------------------


def contact(store: Store, item: Contact, *, with_contact_inboxes: bool = False) -> JsonDict:
    """api/v1/models/_contact."""
    data: JsonDict = {
        "additional_attributes": item.additional_attributes,
        "availability_status": "offline",
        "email": item.email,
        "id": item.id,
        "name": item.name,
        "phone_number": item.phone_number,
        "blocked": item.blocked,
        "identifier": item.identifier,
        "thumbnail": "",
        "custom_attributes": item.custom_attributes,
    }
    if item.last_activity_at is not None:
        data["last_activity_at"] = unix(item.last_activity_at)
    data["created_at"] = unix(item.created_at)
    if with_contact_inboxes:
        data["contact_inboxes"] = [
            contact_inbox(store, row) for row in store.contact_inboxes_of(item.id)
        ]
    return data


def inbox_slim(item: Inbox) -> JsonDict:
    """api/v1/models/_inbox_slim."""
    return {
        "id": item.id,
        "avatar_url": "",
        "channel_id": item.channel_id,
        "name": item.name,
        "channel_type": item.channel_type,
        "provider": None,
    }


def contact_inbox(store: Store, row: ContactInbox) -> JsonDict:
    """api/v1/models/_contact_inbox: the source_id and the slim inbox."""
    linked = store.inboxes.get(row.inbox_id)
    return {"source_id": row.source_id, "inbox": inbox_slim(linked) if linked else None}


def contact_inbox_record(row: ContactInbox | None) -> JsonDict | None:
    if row is None:
        return None
    return {
        "id": row.id,
        "contact_id": row.contact_id,
        "inbox_id": row.inbox_id,
        "source_id": row.source_id,
        "created_at": iso(row.created_at),
        "updated_at": iso(row.updated_at),
        "hmac_verified": row.hmac_verified,
        "pubsub_token": row.pubsub_token,
    }


def contact_push_data(item: Contact) -> JsonDict:
    return {
        "additional_attributes": item.additional_attributes,
        "custom_attributes": item.custom_attributes,
        "email": item.email,
        "id": item.id,
        "identifier": item.identifier,
        "name": item.name,
        "phone_number": item.phone_number,
        "thumbnail": "",
        "blocked": item.blocked,
        "type": "contact",
    }


def contact_webhook_data(store: Store, item: Contact) -> JsonDict:
    account = store.accounts.get(item.account_id)
    return {
        "account": account_webhook_data(account) if account else None,
        "additional_attributes": item.additional_attributes,
        "avatar": "",
        "custom_attributes": item.custom_attributes,
        "email": item.email,
        "id": item.id,
        "identifier": item.identifier,
        "name": item.name,
        "phone_number": item.phone_number,
        "thumbnail": "",
        "blocked": item.blocked,
    }


def contact_record(item: Contact) -> JsonDict:
    """The whole Contact row, as `render json: contact` and the public conversation show it."""
    identified = any((item.email, item.phone_number, item.identifier))
    return {
        "id": item.id,
        "name": item.name,
        "email": item.email,
        "phone_number": item.phone_number,
        "account_id": item.account_id,
        "created_at": iso(item.created_at),
        "updated_at": iso(item.updated_at),
        "additional_attributes": item.additional_attributes,
        "identifier": item.identifier,
        "custom_attributes": item.custom_attributes,
        "last_activity_at": iso(item.last_activity_at),
        "contact_type": "lead" if identified else "visitor",
        "middle_name": "",
        "last_name": "",
        "location": "",
        "country_code": "",
        "blocked": item.blocked,
        "company_id": None,
    }


def public_contact(row: ContactInbox, item: Contact) -> JsonDict:
    """public/api/v1/inboxes/contacts/create and show."""
    return {
        "source_id": row.source_id,
        "pubsub_token": row.pubsub_token,
        "id": item.id,
        "name": item.name,
        "email": item.email,
        "phone_number": item.phone_number,
    }


# -- messages ------------------------------------------------------------------------------


def sender_push_data(store: Store, item: Message) -> JsonDict | None:
    if item.sender_type == "User":
        user = store.users.get(item.sender_id)
        return user_push_data(user) if user else None
    if item.sender_type == "Contact":
        person = store.contacts.get(item.sender_id)
        return contact_push_data(person) if person else None
    if item.sender_type == "AgentBot":
        bot = store.bots.get(item.sender_id)
        return bot_push_data(bot) if bot else None
    return None


def sender_webhook_data(store: Store, item: Message) -> JsonDict | None:
    if item.sender_type == "User":
        user = store.users.get(item.sender_id)
        return user_webhook_data(user) if user else None
    if item.sender_type == "Contact":
        person = store.contacts.get(item.sender_id)
        return contact_webhook_data(store, person) if person else None
    if item.sender_type == "AgentBot":
        bot = store.bots.get(item.sender_id)
        return bot_webhook_data(bot) if bot else None
    return None


def attachment(item: Attachment) -> JsonDict:
    extension = item.filename.rsplit(".", 1)[-1] if "." in item.filename else None
    return {
        "id": item.id,
        "message_id": item.message_id,
        "file_type": item.file_type,
        "account_id": item.account_id,
        "extension": extension,
        "data_url": item.data_url,
        "thumb_url": item.data_url if item.file_type == "image" else "",
        "file_size": len(item.data),
        "width": None,
        "height": None,
    }


def message(store: Store, item: Message) -> JsonDict:
    """The Application API message partial (REST: integer `message_type`)."""
    conv = store.conversations.rows[item.conversation_id]
    data: JsonDict = {"id": item.id, "content": item.content, "inbox_id": item.inbox_id}
    if item.echo_id:
        data["echo_id"] = item.echo_id
    data.update(
        {
            "conversation_id": conv.display_id,
            "message_type": item.message_type,
            "content_type": item.content_type,
            "status": item.status,
            "content_attributes": item.content_attributes,
            "created_at": unix(item.created_at),
            "private": item.private,
            "source_id": item.source_id,
        }
    )
    sender = sender_push_data(store, item)
    if sender is not None:
        data["sender"] = sender
    if item.attachments:
        data["attachments"] = [attachment(row) for row in item.attachments]
    return data


def message_push_data(store: Store, item: Message) -> JsonDict:
    """Message#push_event_data: the row plus sender and a small conversation summary."""
    conv = store.conversations.rows[item.conversation_id]
    row = store.contact_inboxes.get(conv.contact_inbox_id)
    data: JsonDict = {
        "id": item.id,
        "content": item.content,
        "account_id": item.account_id,
        "inbox_id": item.inbox_id,
        "conversation_id": conv.display_id,
        "message_type": item.message_type,
        "created_at": unix(item.created_at),
        "updated_at": iso(item.updated_at),
        "private": item.private,
        "status": item.status,
        "source_id": item.source_id,
        "content_type": item.content_type,
        "content_attributes": item.content_attributes,
        "sender_type": item.sender_type,
        "sender_id": item.sender_id,
        "external_source_ids": {},
        "additional_attributes": item.additional_attributes,
        "processed_message_content": item.content,
        "sentiment": {},
        "conversation": {
            "assignee_id": conv.assignee_id,
            "unread_count": unread_count(store, conv),
            "last_activity_at": unix(conv.last_activity_at),
            "contact_inbox": {"source_id": row.source_id if row else None},
        },
    }
    if item.echo_id:
        data["echo_id"] = item.echo_id
    if item.attachments:
        data["attachments"] = [attachment(row) for row in item.attachments]
    sender = sender_push_data(store, item)
    if sender is not None:
        data["sender"] = sender
    return data


def message_webhook_data(store: Store, item: Message) -> JsonDict:
    """Message#webhook_data: `message_type` as its name, `created_at` as an ISO string."""
    conv = store.conversations.rows[item.conversation_id]
    account = store.accounts.get(item.account_id)
    hooked_inbox = store.inboxes.get(item.inbox_id)
    data: JsonDict = {
        "account": account_webhook_data(account) if account else None,
        "additional_attributes": item.additional_attributes,
        "content_attributes": item.content_attributes,
        "content_type": item.content_type,
        "content": item.content,
        "conversation": conversation_push_data(store, conv),
        "created_at": iso(item.created_at),
        "id": item.id,
        "inbox": inbox_webhook_data(hooked_inbox) if hooked_inbox else None,
        "message_type": MESSAGE_TYPE_NAMES[item.message_type],
        "private": item.private,
        "sender": sender_webhook_data(store, item),
        "source_id": item.source_id,
    }
    if item.attachments:
        data["attachments"] = [attachment(row) for row in item.attachments]
    return data


def public_message(store: Store, item: Message) -> JsonDict:
    """public/api/v1/models/_message."""
    conv = store.conversations.rows[item.conversation_id]
    data: JsonDict = {
        "id": item.id,
        "content": item.content,
        "message_type": item.message_type,
        "content_type": item.content_type,
        "content_attributes": item.content_attributes,
        "created_at": unix(item.created_at),
        "conversation_id": conv.display_id,
    }
    if item.attachments:
        data["attachments"] = [attachment(row) for row in item.attachments]
    sender = sender_push_data(store, item)
    if sender is not None:
        data["sender"] = sender
    return data


def is_chat(item: Message) -> bool:
    """The `chat` scope: neither activity nor private."""
    return item.message_type != ACTIVITY and not item.private


# -- conversations -------------------------------------------------------------------------


def unread_count(store: Store, conv: Conversation) -> int:
    seen = conv.agent_last_seen_at
    unread = [
        item
        for item in store.messages_of(conv.id)
        if item.message_type == INCOMING and (seen is None or item.created_at > seen)
    ]
    return len(unread[-UNREAD_CAP:])


def conversation(store: Store, conv: Conversation, viewer_id: int | None = None) -> JsonDict:
    """api/v1/conversations/partials/_conversation (show, create, update, index)."""
    messages = store.messages_of(conv.id)
    non_activity = [item for item in messages if item.message_type != ACTIVITY]
    return {
        "meta": _conversation_meta(store, conv, viewer_id),
        "id": conv.display_id,
        "messages": [message_push_data(store, messages[-1])] if messages else [],
        "account_id": conv.account_id,
        "uuid": conv.uuid,
        "additional_attributes": conv.additional_attributes,
        "agent_last_seen_at": unix(conv.agent_last_seen_at),
        "assignee_last_seen_at": unix(conv.assignee_last_seen_at),
        "can_reply": True,
        "contact_last_seen_at": unix(conv.contact_last_seen_at),
        "custom_attributes": conv.custom_attributes,
        "inbox_id": conv.inbox_id,
        "labels": list(conv.label_list),
        "muted": conv.muted,
        "snoozed_until": iso(conv.snoozed_until),
        "status": conv.status,
        "created_at": unix(conv.created_at),
        "updated_at": conv.updated_at.timestamp(),
        "timestamp": unix(conv.last_activity_at),
        "first_reply_created_at": unix(conv.first_reply_created_at),
        "unread_count": unread_count(store, conv),
        "last_non_activity_message": (
            message_push_data(store, non_activity[-1]) if non_activity else None
        ),
        "last_activity_at": unix(conv.last_activity_at),
        "priority": conv.priority,
        "waiting_since": unix(conv.waiting_since),
        "sla_policy_id": None,
    }


def conversation_search_result(store: Store, conv: Conversation, shown: list[Message]) -> JsonDict:
    """api/v1/models/_conversation, which only the search endpoint renders."""
    person = store.contacts.rows[conv.contact_id]
    linked = store.inboxes.rows[conv.inbox_id]
    return {
        "id": conv.display_id,
        "uuid": conv.uuid,
        "created_at": unix(conv.created_at),
        "contact": {"id": person.id, "name": person.name},
        "inbox": {"id": linked.id, "name": linked.name, "channel_type": linked.channel_type},
        "messages": [_search_message(store, item) for item in shown],
        "account_id": conv.account_id,
    }


def _search_message(store: Store, item: Message) -> JsonDict:
    data: JsonDict = {"content": item.content, "id": item.id}
    sender = _sender(store, item)
    if sender is not None:
        data["sender_name"] = sender.name
    data["message_type"] = item.message_type
    data["created_at"] = unix(item.created_at)
    return data


def _sender(store: Store, item: Message) -> User | Contact | AgentBot | None:
    if item.sender_type == "User":
        return store.users.get(item.sender_id)
    if item.sender_type == "Contact":
        return store.contacts.get(item.sender_id)
    if item.sender_type == "AgentBot":
        return store.bots.get(item.sender_id)
    return None


def _conversation_meta(store: Store, conv: Conversation, viewer_id: int | None) -> JsonDict:
    person = store.contacts.rows[conv.contact_id]
    meta: JsonDict = {"sender": contact(store, person), "channel": _channel_type(store, conv)}
    assignee = store.users.get(conv.assignee_id)
    membership = store.account_user(conv.account_id, assignee.id) if assignee else None
    if assignee is not None and membership is not None:
        meta["assignee"] = agent(assignee, membership)
    assigned_team = store.teams.get(conv.team_id)
    if assigned_team is not None:
        meta["team"] = team(assigned_team, viewer_id)
    row = store.contact_inboxes.get(conv.contact_inbox_id)
    meta["hmac_verified"] = row.hmac_verified if row else None
    return meta


def _channel_type(store: Store, conv: Conversation) -> str | None:
    linked = store.inboxes.get(conv.inbox_id)
    return linked.channel_type if linked else None


def conversation_push_data(store: Store, conv: Conversation) -> JsonDict:
    """Conversations::EventDataPresenter#push_data: what conversation webhooks carry."""
    chat = [item for item in store.messages_of(conv.id) if is_chat(item)]
    return {
        "additional_attributes": conv.additional_attributes,
        "can_reply": True,
        "channel": _channel_type(store, conv),
        "contact_inbox": contact_inbox_record(store.contact_inboxes.get(conv.contact_inbox_id)),
        "id": conv.display_id,
        "inbox_id": conv.inbox_id,
        "messages": [message_push_data(store, chat[-1])] if chat else [],
        "labels": list(conv.label_list),
        "meta": _push_meta(store, conv),
        "status": conv.status,
        "custom_attributes": conv.custom_attributes,
        "snoozed_until": iso(conv.snoozed_until),
        "unread_count": unread_count(store, conv),
        "first_reply_created_at": iso(conv.first_reply_created_at),
        "priority": conv.priority,
        "waiting_since": unix(conv.waiting_since),
        "agent_last_seen_at": unix(conv.agent_last_seen_at),
        "contact_last_seen_at": unix(conv.contact_last_seen_at),
        "last_activity_at": unix(conv.last_activity_at),
        "timestamp": unix(conv.last_activity_at),
        "created_at": unix(conv.created_at),
        "updated_at": conv.updated_at.timestamp(),
    }


def _push_meta(store: Store, conv: Conversation) -> JsonDict:
    person = store.contacts.rows[conv.contact_id]
    assignee: JsonDict | None = None
    assignee_type: str | None = None
    bot = store.bots.get(conv.assignee_agent_bot_id)
    user = store.users.get(conv.assignee_id)
    if bot is not None:
        assignee, assignee_type = bot_push_data(bot), "AgentBot"
    elif user is not None:
        assignee, assignee_type = user_push_data(user), "User"
    assigned_team = store.teams.get(conv.team_id)
    row = store.contact_inboxes.get(conv.contact_inbox_id)
    return {
        "sender": contact_push_data(person),
        "assignee": assignee,
        "assignee_type": assignee_type,
        "team": team_push_data(assigned_team) if assigned_team else None,
        "hmac_verified": row.hmac_verified if row else None,
    }


def public_conversation(store: Store, conv: Conversation) -> JsonDict:
    """public/api/v1/models/_conversation."""
    chat = [item for item in store.messages_of(conv.id) if is_chat(item)]
    return {
        "id": conv.display_id,
        "uuid": conv.uuid,
        "inbox_id": conv.inbox_id,
        "contact_last_seen_at": unix(conv.contact_last_seen_at),
        "status": conv.status,
        "agent_last_seen_at": unix(conv.agent_last_seen_at),
        "messages": [public_message(store, item) for item in chat],
        "contact": contact_record(store.contacts.rows[conv.contact_id]),
    }


def toggle_status(conv: Conversation, *, success: bool | None) -> JsonDict:
    return {
        "meta": {},
        "payload": {
            "success": success,
            "conversation_id": conv.display_id,
            "current_status": conv.status,
            "snoozed_until": iso(conv.snoozed_until),
        },
    }


def messages_meta(store: Store, conv: Conversation) -> JsonDict:
    """The `meta` of GET .../conversations/{id}/messages."""
    meta: JsonDict = {
        "labels": list(conv.label_list),
        "additional_attributes": conv.additional_attributes,
        "contact": contact_push_data(store.contacts.rows[conv.contact_id]),
    }
    assignee = store.users.get(conv.assignee_id)
    if assignee is not None:
        meta["assignee"] = user_push_data(assignee)
    meta["agent_last_seen_at"] = iso(conv.agent_last_seen_at)
    meta["assignee_last_seen_at"] = iso(conv.assignee_last_seen_at)
    return meta


def as_json(value: Any) -> Any:
    """Changed-attribute values as Rails serialises them (times as ISO strings)."""
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, list):
        return list(value)
    if isinstance(value, dict):
        return dict(value)
    return value
