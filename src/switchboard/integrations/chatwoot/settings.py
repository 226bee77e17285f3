"""Settings of the Chatwoot adapter (seed 001's `CHATWOOT_*` names)."""

from __future__ import annotations

from pydantic import AnyHttpUrl, Field, SecretStr

from switchboard.core.settings import SettingsSection, inbound_secret


class ChatwootSettings(SettingsSection):
    chatwoot_api_url: AnyHttpUrl | None = Field(None, validation_alias="CHATWOOT_API_URL")
    chatwoot_api_token: SecretStr = Field(SecretStr(""), validation_alias="CHATWOOT_API_TOKEN")
    chatwoot_account_id: int | None = Field(None, ge=1, validation_alias="CHATWOOT_ACCOUNT_ID")
    chatwoot_inbox_id: int | None = Field(None, ge=1, validation_alias="CHATWOOT_INBOX_ID")
    chatwoot_inbox_identifier: str = Field("", validation_alias="CHATWOOT_INBOX_IDENTIFIER")
    chatwoot_webhook_secret: SecretStr = inbound_secret("CHATWOOT_WEBHOOK_SECRET")

    def chatwoot_configured(self) -> bool:
        return bool(self.chatwoot_api_url and self.chatwoot_account_id)
