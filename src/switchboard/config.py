"""The settings of a whole process: every section, read once from the environment and `.env`.

Each part owns its section — `core/settings.py`, `integrations/<system>/settings.py`,
`<domain>/settings.py` — and this module composes them. Every variable is documented in
`.env.example`. Names that the original consultations service used (`CHATWOOT_*`, `ODATA_*`,
`FRONT_SECRET`, `DB_*` …) are kept so that an existing `.env` still works. A new domain adds its
section to `Settings`' bases.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from switchboard.consultations.settings import ConsultationSettings
from switchboard.core.settings import AccessLog, BusBackend, Environment, LogFormat
from switchboard.integrations.settings import IntegrationSettings
from switchboard.messenger.settings import MessengerSettings
from switchboard.telephony.settings import TelephonySettings

__all__ = [
    "AccessLog",
    "BusBackend",
    "Environment",
    "LogFormat",
    "Settings",
    "SettingsError",
    "load_settings",
]


class Settings(MessengerSettings, TelephonySettings, ConsultationSettings, IntegrationSettings):
    """Everything a process of the platform can be told."""


class SettingsError(Exception):
    """Settings that cannot start the platform; `str()` is one line naming the variable."""


def load_settings(**overrides: Any) -> Settings:
    """Read the settings, turning a validation failure into one readable line."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise SettingsError(describe_validation_error(exc)) from None


def describe_validation_error(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors():
        location = ".".join(str(part) for part in error.get("loc", ()) if part != "__root__")
        variable = location.upper() or "settings"
        given = error.get("input")
        shown = "" if isinstance(given, dict) or given is None else f" (got {str(given)[:60]!r})"
        if "SECRET" in variable or "PASS" in variable or "TOKEN" in variable or "URL" in variable:
            shown = ""
        problems.append(f"{variable}: {error['msg']}{shown}")
    return "invalid setting " + "; ".join(problems)
