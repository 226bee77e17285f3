"""Settings: defaults that start, and one clear line for each thing that cannot."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from switchboard.config import BusBackend, Settings, SettingsError, load_settings
from tests.conftest import make_settings


def test_defaults_start_the_platform_in_development() -> None:
    settings = make_settings(ENV="dev")
    assert settings.configured_database_url() is None  # the embedded PostgreSQL
    assert settings.front_auth_enabled() is False
    assert settings.max_future_consultation_days == 30
    assert settings.load_dicts_on_start is True
    assert settings.sync_users_on_start is False
    assert settings.allowed_origins == []


def test_seed_database_variables_build_the_url() -> None:
    settings = make_settings(DB_HOST="db.local", DB_NAME="cons", DB_USER="app", DB_PASS="p@ss/w")
    assert settings.configured_database_url() == "postgresql://app:p%40ss%2Fw@db.local:5432/cons"


def test_database_url_wins_over_db_host() -> None:
    settings = make_settings(DATABASE_URL="postgresql://x@h/db", DB_HOST="other")
    assert settings.configured_database_url() == "postgresql://x@h/db"


def test_origins_are_a_comma_separated_list() -> None:
    settings = make_settings(ALLOWED_ORIGINS="https://a.uz, https://b.uz")
    assert settings.allowed_origins == ["https://a.uz", "https://b.uz"]


def test_bus_follows_redis_when_auto() -> None:
    assert make_settings(EVENT_BUS="auto").bus_backend() is BusBackend.POSTGRES
    assert make_settings(EVENT_BUS="auto", REDIS_URL="redis://x").bus_backend() is BusBackend.REDIS


def test_odata_root_gets_its_trailing_slash() -> None:
    settings = make_settings(ODATA_BASEURL_CL="http://1c.local/base/odata/standard.odata")
    assert str(settings.odata_baseurl_cl).endswith("standard.odata/")


@pytest.mark.parametrize(
    ("variable", "value", "mentions"),
    [
        ("APP_PORT", "eighty", "APP_PORT"),
        ("MAX_FUTURE_CONSULTATION_DAYS", "0", "MAX_FUTURE_CONSULTATION_DAYS"),
        ("ALLOWED_ORIGINS", "example.com", "ALLOWED_ORIGINS"),
        ("ODATA_TIMEZONE", "Mars/Olympus", "ODATA_TIMEZONE"),
        ("CHATWOOT_API_URL", "not a url", "CHATWOOT_API_URL"),
    ],
)
def test_invalid_setting_names_the_variable(variable: str, value: str, mentions: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(_env_file=None, **{variable: value})
    message = str(caught.value)
    assert mentions in message
    assert "\n" not in message


def test_production_refuses_open_auth_and_wildcard_origins() -> None:
    with pytest.raises(SettingsError, match="FRONT_SECRET"):
        load_settings(_env_file=None, ENV="prod")
    with pytest.raises(SettingsError, match="ALLOWED_ORIGINS"):
        load_settings(_env_file=None, ENV="prod", FRONT_SECRET="s3cret-value", ALLOWED_ORIGINS="*")


def test_secret_values_never_appear_in_the_error() -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(_env_file=None, REDIS_URL="redis://:hunter2@x", DB_POOL_SIZE="many")
    assert "hunter2" not in str(caught.value)


def test_cli_stops_with_one_line_naming_the_variable(tmp_path: object) -> None:
    env = {**os.environ, "APP_PORT": "eighty"}
    result = subprocess.run(
        [sys.executable, "-m", "switchboard", "migrate"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=str(tmp_path),
        check=False,
    )
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1
    assert "APP_PORT" in lines[0]


LONG = "x" * 32
#: A Fernet key (production needs SECRET_KEYS for secrets at rest).
SECRET_KEYS = "LEAxRghxYsSJGUYF8MwfJ6IkY6RAChrRZ3jFagk-JOA="


def _prod(**values: str) -> Settings:
    base = {"ENV": "prod", "FRONT_SECRET": LONG, "METRICS_TOKEN": LONG, "SECRET_KEYS": SECRET_KEYS}
    return load_settings(_env_file=None, **{**base, **values})


def test_production_needs_secret_keys() -> None:
    with pytest.raises(SettingsError, match="SECRET_KEYS"):
        _prod(SECRET_KEYS="")


def test_production_needs_a_metrics_token() -> None:
    with pytest.raises(SettingsError, match="METRICS_TOKEN"):
        load_settings(_env_file=None, ENV="prod", FRONT_SECRET=LONG, METRICS_TOKEN="")


@pytest.mark.parametrize(
    "variable",
    ["FRONT_SECRET", "FRONT_BEARER_TOKEN", "METRICS_TOKEN", "OPS_TOKEN", "CHATWOOT_WEBHOOK_SECRET"],
)
def test_production_refuses_short_secrets(variable: str) -> None:
    short = "s" * 31
    with pytest.raises(SettingsError) as caught:
        _prod(**{variable: short})
    assert variable in str(caught.value)
    assert short not in str(caught.value)
    assert _prod(**{variable: "s" * 32})  # 32 characters are enough


def test_short_secrets_are_fine_outside_production() -> None:
    settings = make_settings(ENV="dev", FRONT_SECRET="short", OPS_TOKEN="short")
    assert settings.front_auth_enabled()


def test_api_docs_are_on_except_in_production_unless_asked() -> None:
    assert make_settings(ENV="dev").docs_enabled() is True
    assert make_settings(ENV="dev", API_DOCS="").docs_enabled() is True  # as in .env.example
    assert make_settings(ENV="dev", API_DOCS="false").docs_enabled() is False
    assert _prod().docs_enabled() is False
    assert _prod(API_DOCS="true").docs_enabled() is True


def test_header_limit_is_bounded() -> None:
    assert make_settings().max_header_bytes == 32 * 1024
    with pytest.raises(SettingsError, match="MAX_HEADER_BYTES"):
        load_settings(_env_file=None, MAX_HEADER_BYTES="100")
