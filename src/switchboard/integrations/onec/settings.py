"""Settings of the 1C:ЦЛ OData adapter (seed 001's `ODATA_*` names)."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AnyHttpUrl, Field, SecretStr, field_validator

from switchboard.core.settings import SettingsSection


class OneCSettings(SettingsSection):
    odata_baseurl_cl: AnyHttpUrl | None = Field(None, validation_alias="ODATA_BASEURL_CL")
    odata_user: str = Field("", validation_alias="ODATA_USER")
    odata_password: SecretStr = Field(SecretStr(""), validation_alias="ODATA_PASSWORD")
    odata_page_size: int = Field(1000, ge=1, le=10000, validation_alias="ODATA_PAGE_SIZE")
    #: Pages of consultation documents read by the ETL (bench/bench_pull_cons.py: 5,000 a page
    #: carries 50,000 changed documents at over 3,000/s; 1,000 a page at about 1,500/s).
    odata_document_page_size: int = Field(
        5000, ge=1, le=20000, validation_alias="ODATA_DOCUMENT_PAGE_SIZE"
    )
    onec_timezone: str = Field("Asia/Tashkent", validation_alias="ODATA_TIMEZONE")

    @field_validator("onec_timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r} (use an IANA name like Asia/Tashkent)"
            ) from None
        return value

    @field_validator("odata_baseurl_cl", mode="after")
    @classmethod
    def _odata_root_ends_with_slash(cls, value: AnyHttpUrl | None) -> AnyHttpUrl | None:
        # Entity names are appended to the root, so a missing trailing slash would eat a segment.
        if value is not None and not str(value).endswith("/"):
            return AnyHttpUrl(str(value) + "/")
        return value
