"""Click-to-call and smart redirect: which extension, whether the caller may ask."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

from switchboard.core.crypto import SecretBox
from switchboard.core.errors import ApiError, BadRequest, Conflict, Unauthorized
from switchboard.integrations.asterisk.ami import AmiAccess
from switchboard.telephony.models import Enterprise

RETAILCRM = "retailcrm"


def callback_key_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def check_callback_key(enterprise: Enterprise | None, key: str) -> Mapping[str, Any]:
    """The RetailCRM settings of the enterprise whose makeCallUrl carries `key` (401 when the
    enterprise, its integration or the key do not match: a guessed clientId dials nothing)."""
    config = (enterprise.integrations_config or {}).get(RETAILCRM) if enterprise else None
    expected = str((config or {}).get("callback_key_digest") or "")
    if (
        enterprise is None
        or not enterprise.active
        or not config
        or not config.get("enabled")
        or not expected
        or not hmac.compare_digest(callback_key_digest(key), expected)
    ):
        raise Unauthorized("unknown_callback", "Unknown click-to-call link.")
    settings: Mapping[str, Any] = config
    return settings


def extension_for(config: Mapping[str, Any], user_id: int | None, code: str | None) -> str:
    """The explicit `code`, else the extension our mapping gives the RetailCRM user."""
    if code:
        return code
    mapped = (
        (config.get("user_extensions") or {}).get(str(user_id)) if user_id is not None else None
    )
    if not mapped:
        raise BadRequest(
            "no_extension",
            "No extension configured for user {user}.",
            user=user_id if user_id is not None else "—",
        )
    return str(mapped)


def ami_access(enterprise: Enterprise, secrets: SecretBox) -> AmiAccess:
    ami = enterprise.ami or {}
    if not ami.get("host") or not ami.get("username") or not ami.get("secret_encrypted"):
        raise Conflict(
            "click_to_call_not_set_up",
            "Click-to-call is not set up: the PBX's AMI access is missing.",
        )
    return AmiAccess(
        host=str(ami["host"]),
        port=int(ami.get("port") or 5038),
        username=str(ami["username"]),
        secret=secrets.decrypt(str(ami["secret_encrypted"])),
        context=str(ami.get("context") or "from-internal"),
    )


class CallNotConnected(ApiError):
    status_code = 409
