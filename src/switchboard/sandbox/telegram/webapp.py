"""Signed Mini App `initData`, as Telegram hands it to a Web App, for tests of sign-in.

The data-check string is every field but `hash`, sorted by key, as `key=value` lines joined by
"\\n"; `hash` is hex HMAC-SHA256 of it under the key HMAC-SHA256(key="WebAppData", msg=bot
token). The Ed25519 `signature` Telegram adds for third parties cannot be made here (it needs
Telegram's private key), so it is left out unless a test passes its own.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import orjson


def init_data_hash(bot_token: str, fields: Mapping[str, str]) -> str:
    check_string = "\n".join(f"{key}={fields[key]}" for key in sorted(fields) if key != "hash")
    secret = hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()
    return hmac.new(secret, check_string.encode(), hashlib.sha256).hexdigest()


def sign_init_data(
    bot_token: str,
    user: Mapping[str, Any],
    *,
    auth_date: int | None = None,
    query_id: str | None = None,
    extra: Mapping[str, str] | None = None,
) -> str:
    """The query string a Mini App of the bot gets for `user` (a User object)."""
    fields: dict[str, str] = {}
    if query_id is not None:
        fields["query_id"] = query_id
    fields["user"] = orjson.dumps(dict(user)).decode()
    fields["auth_date"] = str(int(time.time()) if auth_date is None else auth_date)
    fields.update(extra or {})
    fields["hash"] = init_data_hash(bot_token, fields)
    return urlencode(fields)
