"""`.env.example` documents every setting, and nothing that is not one."""

from __future__ import annotations

import re
from pathlib import Path

from switchboard.config import Settings

EXAMPLE = Path(__file__).resolve().parent.parent / ".env.example"


def test_every_setting_is_documented_and_every_documented_name_exists() -> None:
    documented = set(re.findall(r"^([A-Z][A-Z0-9_]*)=", EXAMPLE.read_text("utf-8"), re.MULTILINE))
    declared = {
        str(field.validation_alias)
        for field in Settings.model_fields.values()
        if field.validation_alias
    }
    assert documented == declared


def test_seed_001_variables_are_all_there() -> None:
    text = EXAMPLE.read_text("utf-8")
    for name in (
        "CHATWOOT_API_URL",
        "CHATWOOT_API_TOKEN",
        "CHATWOOT_ACCOUNT_ID",
        "CHATWOOT_INBOX_ID",
        "CHATWOOT_INBOX_IDENTIFIER",
        "ODATA_BASEURL_CL",
        "ODATA_USER",
        "ODATA_PASSWORD",
        "FRONT_SECRET",
        "FRONT_BEARER_TOKEN",
        "MAX_FUTURE_CONSULTATION_DAYS",
        "LOAD_DICTS_ON_START",
        "SYNC_USERS_ON_START",
        "DB_HOST",
        "DB_PORT",
        "DB_NAME",
        "DB_USER",
        "DB_PASS",
        "APP_HOST",
        "APP_PORT",
        "ENV",
        "DEBUG",
    ):
        assert f"\n{name}=" in text, name
