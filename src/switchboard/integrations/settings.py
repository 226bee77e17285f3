"""The settings a process needs to reach every external system: core plus each adapter's section."""

from __future__ import annotations

from switchboard.core.settings import CoreSettings
from switchboard.integrations.chatwoot.settings import ChatwootSettings
from switchboard.integrations.onec.settings import OneCSettings


class IntegrationSettings(OneCSettings, ChatwootSettings, CoreSettings):
    """Core settings and the section of every adapter; domains add theirs in `config.Settings`."""
