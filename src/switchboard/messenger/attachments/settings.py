"""Settings of the messenger's attachments (issue 8): where files are kept, how large they may
be, how long a download link works.

A base of `MessengerSettings`: the attachments part reads its section with
`AttachmentSettings.of(settings)`."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AnyHttpUrl, Field, SecretStr

from switchboard.core.settings import SettingsSection


class AttachmentSettings(SettingsSection):
    #: Where uploaded files are kept: `local` (a folder) or `s3` (any S3-compatible store).
    messenger_attachments_storage: Literal["local", "s3"] = Field(
        "local", validation_alias="MESSENGER_ATTACHMENTS_STORAGE"
    )
    #: The folder of `local` storage; unset: `<DATA_DIR>/attachments`.
    messenger_attachments_dir: Path | None = Field(
        None, validation_alias="MESSENGER_ATTACHMENTS_DIR"
    )
    messenger_attachments_s3_endpoint: AnyHttpUrl | None = Field(
        None, validation_alias="MESSENGER_ATTACHMENTS_S3_ENDPOINT"
    )
    messenger_attachments_s3_bucket: str = Field(
        "messenger-attachments", validation_alias="MESSENGER_ATTACHMENTS_S3_BUCKET"
    )
    messenger_attachments_s3_region: str = Field(
        "us-east-1", validation_alias="MESSENGER_ATTACHMENTS_S3_REGION"
    )
    messenger_attachments_s3_access_key: str = Field(
        "", validation_alias="MESSENGER_ATTACHMENTS_S3_ACCESS_KEY"
    )
    messenger_attachments_s3_secret_key: SecretStr = Field(
        SecretStr(""), validation_alias="MESSENGER_ATTACHMENTS_S3_SECRET_KEY"
    )
    #: The largest file a visitor or a staff member may upload (bytes; 10 MiB by default).
    messenger_attachment_max_bytes: int = Field(
        10 * 1024 * 1024,
        ge=1024,
        le=1024 * 1024 * 1024,
        validation_alias="MESSENGER_ATTACHMENT_MAX_BYTES",
    )
    #: How long a download link in a message stays valid (links are renewed every time messages
    #: are listed).
    messenger_attachment_link_hours: int = Field(
        24, ge=1, le=24 * 90, validation_alias="MESSENGER_ATTACHMENT_LINK_HOURS"
    )
