"""The platform's own settings section, and the base every section builds on.

Settings are split by owner: this core section (application, logs, database, real time, rate
limits, front-end auth, outbound HTTP, worker), one section per external system
(`integrations/<system>/settings.py`) and one per domain (`<domain>/settings.py`). `config.py`
composes them by inheritance into the one `Settings` a process reads from the environment and
`.env`, so every variable keeps its flat, documented name and a module can be handed just the
section it needs.
"""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated, Any, Self

from pydantic import AnyHttpUrl, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Environment(enum.StrEnum):
    DEV = "dev"
    DEMO = "demo"
    TEST = "test"
    PROD = "prod"


class BusBackend(enum.StrEnum):
    AUTO = "auto"
    MEMORY = "memory"
    REDIS = "redis"
    POSTGRES = "postgres"


class AccessLog(enum.StrEnum):
    ALL = "all"  # one line per request
    ERRORS = "errors"  # requests that failed (status >= 400) or were slow (> 1 s)
    OFF = "off"


class LogFormat(enum.StrEnum):
    AUTO = "auto"
    JSON = "json"
    CONSOLE = "console"


def split_csv(value: Any) -> Any:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


#: Algorithms an OpenID token may be signed with: public-key ones only (never "none" or HS*).
OPENID_PUBLIC_KEY_ALGORITHMS = (
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "ES256",
    "ES384",
    "ES512",
    "EdDSA",
)

#: Secrets that callers present to us must be at least this long in production.
MIN_PROD_SECRET_LENGTH = 32


def inbound_secret(alias: str) -> Any:
    """A secret that callers present to us (not one we present to a peer): with ENV=prod it
    must be at least `MIN_PROD_SECRET_LENGTH` characters when set."""
    return Field(SecretStr(""), validation_alias=alias, json_schema_extra={"inbound_secret": True})


class SettingsSection(BaseSettings):
    """A group of settings owned by one part of the platform."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
        validate_default=True,
    )

    @classmethod
    def of(cls, settings: object) -> Self:
        """This section of a process's settings (the composed `Settings` is every section)."""
        if not isinstance(settings, cls):
            raise TypeError(f"the settings given do not include {cls.__name__}")
        return settings


class CoreSettings(SettingsSection):
    # --- application ----------------------------------------------------------------------
    env: Environment = Field(Environment.DEV, validation_alias="ENV")
    debug: bool = Field(False, validation_alias="DEBUG")
    app_host: str = Field("127.0.0.1", validation_alias="APP_HOST")
    app_port: int = Field(8000, ge=1, le=65535, validation_alias="APP_PORT")
    public_url: AnyHttpUrl | None = Field(None, validation_alias="PUBLIC_URL")
    data_dir: Path = Field(Path("var"), validation_alias="DATA_DIR")
    default_locale: str = Field("ru", pattern=r"^(ru|en|uz)$", validation_alias="DEFAULT_LOCALE")

    # --- logging and metrics ---------------------------------------------------------------
    log_level: str = Field(
        "INFO", pattern=r"^(DEBUG|INFO|WARNING|ERROR)$", validation_alias="LOG_LEVEL"
    )
    log_format: LogFormat = Field(LogFormat.AUTO, validation_alias="LOG_FORMAT")
    metrics_token: SecretStr = inbound_secret("METRICS_TOKEN")
    access_log: AccessLog = Field(AccessLog.ERRORS, validation_alias="ACCESS_LOG")

    # --- exposure: operations endpoints, API documentation, request limits -------------------
    #: Bearer token for /api/health/dependencies (besides the front credentials).
    ops_token: SecretStr = inbound_secret("OPS_TOKEN")
    #: Keys that encrypt secrets at rest (CRM API keys, bot tokens) and sign our own links:
    #: comma-separated Fernet keys, the first one encrypts, all of them decrypt (rotation).
    #: Required with ENV=prod; elsewhere a fixed development key is used.
    secret_keys: SecretStr = Field(SecretStr(""), validation_alias="SECRET_KEYS")
    #: /docs, /redoc and /openapi.json; unset: on, except with ENV=prod.
    api_docs: bool | None = Field(None, validation_alias="API_DOCS")
    max_header_bytes: int = Field(
        32 * 1024, ge=1024, le=1024 * 1024, validation_alias="MAX_HEADER_BYTES"
    )

    # --- database ----------------------------------------------------------------------------
    database_url: SecretStr | None = Field(None, validation_alias="DATABASE_URL")
    db_host: str | None = Field(None, validation_alias="DB_HOST")
    db_port: int = Field(5432, ge=1, le=65535, validation_alias="DB_PORT")
    db_name: str = Field("switchboard", validation_alias="DB_NAME")
    db_user: str = Field("postgres", validation_alias="DB_USER")
    db_pass: SecretStr = Field(SecretStr(""), validation_alias="DB_PASS")
    db_pool_size: int = Field(10, ge=1, le=500, validation_alias="DB_POOL_SIZE")
    db_max_overflow: int = Field(10, ge=0, le=500, validation_alias="DB_MAX_OVERFLOW")
    db_pool_timeout: float = Field(30, gt=0, validation_alias="DB_POOL_TIMEOUT")
    db_pool_recycle: int = Field(3600, ge=-1, validation_alias="DB_POOL_RECYCLE")

    # --- redis, real-time, rate limits -------------------------------------------------------
    redis_url: SecretStr | None = Field(None, validation_alias="REDIS_URL")
    redis_prefix: str = Field(
        "switchboard:", pattern=r"^[A-Za-z0-9_.:-]{1,64}$", validation_alias="REDIS_PREFIX"
    )
    event_bus: BusBackend = Field(BusBackend.AUTO, validation_alias="EVENT_BUS")
    sse_heartbeat_seconds: float = Field(15, gt=0, le=300, validation_alias="SSE_HEARTBEAT_SECONDS")
    sse_max_lifetime_seconds: float = Field(3600, gt=0, validation_alias="SSE_MAX_LIFETIME_SECONDS")
    allowed_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, validation_alias="ALLOWED_ORIGINS"
    )
    rate_limit_per_minute: int = Field(100, ge=0, validation_alias="RATE_LIMIT_PER_MINUTE")
    rate_limit_create_per_minute: int = Field(
        10, ge=0, validation_alias="RATE_LIMIT_CREATE_PER_MINUTE"
    )
    #: Webhooks come from one address (the peer's server) in bursts (typing events), and a peer
    #: such as Chatwoot does not retry a 429: their own, higher limit per address.
    rate_limit_webhook_per_minute: int = Field(
        3000, ge=0, validation_alias="RATE_LIMIT_WEBHOOK_PER_MINUTE"
    )
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list, validation_alias="TRUSTED_PROXIES"
    )

    # --- front-end auth (seed 001) -----------------------------------------------------------
    front_secret: SecretStr = inbound_secret("FRONT_SECRET")
    front_bearer_token: SecretStr = inbound_secret("FRONT_BEARER_TOKEN")
    #: OpenID bearer tokens (1C:Фреш) beside the static secrets: the issuer turns the check on.
    #: Exactly as the issuer's discovery document and its tokens' `iss` spell it.
    openid_issuer: str | None = Field(None, validation_alias="OPENID_ISSUER")
    #: The `aud` a token must carry; OPENID_CLIENT_ID when unset.
    openid_audience: str = Field("", validation_alias="OPENID_AUDIENCE")
    openid_client_id: str = Field("", validation_alias="OPENID_CLIENT_ID")
    openid_client_secret: SecretStr = Field(SecretStr(""), validation_alias="OPENID_CLIENT_SECRET")
    #: The issuer's key set; unset: `jwks_uri` of its discovery document.
    openid_jwks_url: AnyHttpUrl | None = Field(None, validation_alias="OPENID_JWKS_URL")
    openid_algorithms: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["RS256", "ES256"], validation_alias="OPENID_ALGORITHMS"
    )
    openid_leeway_seconds: float = Field(60, ge=0, le=600, validation_alias="OPENID_LEEWAY_SECONDS")
    #: How long the issuer's keys are used before they are fetched again.
    openid_jwks_ttl_seconds: float = Field(
        3600, ge=10, le=86400, validation_alias="OPENID_JWKS_TTL_SECONDS"
    )
    #: A token with an unknown key id refetches the keys at most this often (key rotation,
    #: without letting a flood of made-up key ids hammer the issuer).
    openid_jwks_refresh_seconds: float = Field(
        30, ge=0, le=3600, validation_alias="OPENID_JWKS_REFRESH_SECONDS"
    )
    #: The Telegram bot of the Mini App: its token verifies the Mini App's `initData`.
    telegram_bot_token: SecretStr = Field(SecretStr(""), validation_alias="TELEGRAM_BOT_TOKEN")
    telegram_init_data_max_age_seconds: int = Field(
        86400, ge=60, le=30 * 86400, validation_alias="TELEGRAM_INIT_DATA_MAX_AGE_SECONDS"
    )

    # --- outbound HTTP (adapter kit) -----------------------------------------------------------
    http_timeout_seconds: float = Field(15, gt=0, le=300, validation_alias="HTTP_TIMEOUT_SECONDS")
    http_max_attempts: int = Field(4, ge=1, le=10, validation_alias="HTTP_MAX_ATTEMPTS")
    http_backoff_initial_seconds: float = Field(
        0.5, ge=0, le=60, validation_alias="HTTP_BACKOFF_INITIAL_SECONDS"
    )
    http_backoff_max_seconds: float = Field(
        30, ge=0, le=600, validation_alias="HTTP_BACKOFF_MAX_SECONDS"
    )
    breaker_failure_threshold: int = Field(
        5, ge=1, le=1000, validation_alias="BREAKER_FAILURE_THRESHOLD"
    )
    breaker_reset_seconds: float = Field(
        30, gt=0, le=3600, validation_alias="BREAKER_RESET_SECONDS"
    )

    # --- worker --------------------------------------------------------------------------------
    worker_concurrency: int = Field(4, ge=1, le=100, validation_alias="WORKER_CONCURRENCY")
    worker_metrics_port: int = Field(0, ge=0, le=65535, validation_alias="WORKER_METRICS_PORT")
    #: A worker silent this long counts as dead; its job runs again within this plus the check.
    worker_stalled_after_seconds: float = Field(
        60, ge=1, le=3600, validation_alias="WORKER_STALLED_AFTER_SECONDS"
    )
    worker_stalled_check_seconds: float = Field(
        60, ge=0.5, le=3600, validation_alias="WORKER_STALLED_CHECK_SECONDS"
    )

    @field_validator("allowed_origins", "trusted_proxies", "openid_algorithms", mode="before")
    @classmethod
    def _csv(cls, value: Any) -> Any:
        return split_csv(value)

    @field_validator("api_docs", mode="before")
    @classmethod
    def _empty_means_default(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("openid_issuer", mode="before")
    @classmethod
    def _issuer_is_a_url_or_nothing(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip()
            if not value:
                return None
            if not value.startswith(("https://", "http://")):
                raise ValueError(f"{value!r} is not an issuer URL such as https://login.example")
        return value

    @field_validator("openid_algorithms")
    @classmethod
    def _public_key_algorithms_only(cls, value: list[str]) -> list[str]:
        # A token is checked with the issuer's published keys: only public-key algorithms make
        # sense, and allowing "none" or HS* (a public key taken as an HMAC secret) would let
        # anyone forge one.
        unknown = [name for name in value if name not in OPENID_PUBLIC_KEY_ALGORITHMS]
        if unknown or not value:
            raise ValueError(
                f"{', '.join(unknown) or 'nothing'}: not allowed; choose among "
                + ", ".join(OPENID_PUBLIC_KEY_ALGORITHMS)
            )
        return value

    @field_validator("allowed_origins")
    @classmethod
    def _origins_are_urls_or_star(cls, value: list[str]) -> list[str]:
        for origin in value:
            if origin != "*" and not origin.startswith(("http://", "https://")):
                raise ValueError(f"{origin!r} is not an origin like https://example.com or *")
        return value

    @model_validator(mode="after")
    def _openid_names_its_audience(self) -> Self:
        if self.openid_issuer is not None and not self.openid_audience_expected():
            raise ValueError(
                "OPENID_ISSUER needs OPENID_AUDIENCE or OPENID_CLIENT_ID: the audience a "
                "token must be issued for"
            )
        return self

    @model_validator(mode="after")
    def _production_is_locked_down(self) -> Self:
        if self.env is not Environment.PROD:
            return self
        if "*" in self.allowed_origins:
            raise ValueError("ALLOWED_ORIGINS may not be * when ENV=prod; list the sites instead")
        if not self.front_credentials_configured():
            raise ValueError(
                "ENV=prod needs FRONT_SECRET, FRONT_BEARER_TOKEN, OPENID_ISSUER or "
                "TELEGRAM_BOT_TOKEN (front-end auth is off without)"
            )
        if not self.metrics_token.get_secret_value():
            raise ValueError("ENV=prod needs METRICS_TOKEN (/metrics would be open without)")
        if not self.secret_keys.get_secret_value():
            raise ValueError(
                "ENV=prod needs SECRET_KEYS (secrets at rest would use the development key); "
                "make one with `switchboard new-secret-key`"
            )
        short = [
            alias
            for alias, value in self.inbound_secrets().items()
            if value and len(value) < MIN_PROD_SECRET_LENGTH
        ]
        if short:
            raise ValueError(
                f"{', '.join(short)}: shorter than {MIN_PROD_SECRET_LENGTH} characters, "
                "too easy to guess for ENV=prod (e.g. `openssl rand -hex 32`)"
            )
        return self

    def inbound_secrets(self) -> dict[str, str]:
        """Every secret that callers present to us, of every section: variable → value."""
        found = {}
        for name, field in type(self).model_fields.items():
            extra = field.json_schema_extra
            if isinstance(extra, dict) and extra.get("inbound_secret"):
                value = getattr(self, name)
                found[str(field.validation_alias)] = value.get_secret_value()
        return found

    def docs_enabled(self) -> bool:
        """/docs, /redoc and /openapi.json: API_DOCS when set, else off only in production."""
        return self.api_docs if self.api_docs is not None else self.env is not Environment.PROD

    # --- derived values --------------------------------------------------------------------------
    def configured_database_url(self) -> str | None:
        """The server this deployment was told to use, or None for the embedded PostgreSQL."""
        from urllib.parse import quote

        if self.database_url is not None and self.database_url.get_secret_value():
            return self.database_url.get_secret_value()
        if self.db_host:
            password = quote(self.db_pass.get_secret_value(), safe="")
            auth = f"{quote(self.db_user, safe='')}:{password}" if password else self.db_user
            return f"postgresql://{auth}@{self.db_host}:{self.db_port}/{self.db_name}"
        return None

    def redis_dsn(self) -> str | None:
        if self.redis_url is None or not self.redis_url.get_secret_value():
            return None
        return self.redis_url.get_secret_value()

    def bus_backend(self) -> BusBackend:
        if self.event_bus is not BusBackend.AUTO:
            return self.event_bus
        return BusBackend.REDIS if self.redis_dsn() else BusBackend.POSTGRES

    def json_logs(self) -> bool:
        if self.log_format is LogFormat.AUTO:
            return self.env is Environment.PROD
        return self.log_format is LogFormat.JSON

    def front_auth_enabled(self) -> bool:
        """Whether a static front secret (FRONT_SECRET / FRONT_BEARER_TOKEN) is set."""
        return bool(
            self.front_secret.get_secret_value() or self.front_bearer_token.get_secret_value()
        )

    def front_credentials_configured(self) -> bool:
        """Whether the front-end API asks for credentials of any kind (static secrets, OpenID
        tokens, Telegram Mini App initData); while none is configured it is open."""
        return bool(
            self.front_auth_enabled()
            or self.openid_issuer is not None
            or self.telegram_bot_token.get_secret_value()
        )

    def openid_audience_expected(self) -> str:
        return self.openid_audience or self.openid_client_id
