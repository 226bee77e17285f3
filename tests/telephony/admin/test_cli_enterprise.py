"""An operator sets up a telephony enterprise from the shell: `switchboard telephony-enterprise`
(its PBX token made and shown once, the admin password asked for and kept hashed) and
`switchboard telephony-phones` (its internal numbers)."""

from __future__ import annotations

import hashlib
import subprocess
from typing import Any

import psycopg
import pytest
from psycopg.types.json import Jsonb

from switchboard.telephony.admin.access import password_matches
from tests.servers import run_switchboard

PASSWORD = "correct horse battery staple"
TOKEN_LINE = "PBX token (shown once; give it to the PBX as Token): "


def run(database_url: str, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return run_switchboard(database_url, *args, stdin=stdin)


def enterprise(database_url: str, number: str) -> dict[str, Any] | None:
    with psycopg.connect(database_url) as connection:
        row = connection.execute(
            "SELECT name, token_digest, active, time_zone, admin_password_hash "
            "FROM telephony.enterprises WHERE number = %s",
            (number,),
        ).fetchone()
    if row is None:
        return None
    return dict(zip(("name", "digest", "active", "time_zone", "password"), row, strict=True))


def phones(database_url: str, number: str) -> list[tuple[str, str | None]]:
    with psycopg.connect(database_url) as connection:
        rows = connection.execute(
            "SELECT phone_number, user_name FROM telephony.user_internal_phones "
            "WHERE enterprise_number = %s ORDER BY phone_number",
            (number,),
        ).fetchall()
    return [(phone, name) for phone, name in rows]


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def test_an_enterprise_is_created_with_a_new_token_and_a_password_then_changed(
    clean_database: str,
) -> None:
    created = run(
        clean_database,
        "telephony-enterprise",
        "0500",
        "--name",
        "Июль",
        "--new-token",
        "--admin-password-prompt",
        "--time-zone",
        "Asia/Tashkent",
        stdin=f"{PASSWORD}\n{PASSWORD}\n",
    )
    assert created.returncode == 0, created.stderr
    assert "enterprise 0500 (Июль) created, active" in created.stdout
    assert "admin password set" in created.stdout
    [line] = [line for line in created.stdout.splitlines() if line.startswith(TOKEN_LINE)]
    token = line.removeprefix(TOKEN_LINE)
    assert len(token) >= 32
    assert PASSWORD not in created.stdout + created.stderr
    row = enterprise(clean_database, "0500")
    assert row is not None
    assert (row["name"], row["active"], row["time_zone"]) == ("Июль", True, "Asia/Tashkent")
    assert row["digest"] == digest(token)  # only the digest is kept
    assert row["password"].startswith("scrypt$")
    assert password_matches(PASSWORD, row["password"])

    # A change without a token keeps the old one (and is not shown again), and the password.
    changed = run(clean_database, "telephony-enterprise", "0500", "--name", "Июль", "--inactive")
    assert changed.returncode == 0, changed.stderr
    assert "enterprise 0500 (Июль) changed, inactive" in changed.stdout
    assert "PBX token" not in changed.stdout
    after = enterprise(clean_database, "0500")
    assert after is not None
    assert (after["digest"], after["active"], after["password"]) == (
        row["digest"],
        False,
        row["password"],
    )
    assert after["time_zone"] == "Asia/Tashkent"

    given = run(
        clean_database, "telephony-enterprise", "0500", "--name", "Июль", "--token", "pbx-0500"
    )
    assert given.returncode == 0, given.stderr
    final = enterprise(clean_database, "0500")
    assert final is not None
    assert (final["digest"], final["active"]) == (digest("pbx-0500"), True)
    assert "pbx-0500" not in given.stdout


@pytest.mark.parametrize(
    ("args", "stdin", "said"),
    [
        (("0501", "--name", "Август"), "", "enterprise 0501 is new: it needs a PBX token"),
        (
            ("0501", "--name", "Август", "--token", "t", "--new-token"),
            "",
            "pass either --token or --new-token, not both",
        ),
        (("05 01", "--name", "Август", "--new-token"), "", "enterprise number '05 01'"),
        (
            ("0501", "--name", "Август", "--new-token", "--time-zone", "Mars/Olympus"),
            "",
            "unknown time zone 'Mars/Olympus'",
        ),
        (
            ("0501", "--name", "Август", "--new-token", "--admin-password-prompt"),
            "short\nshort\n",
            "the admin password needs at least 8 characters",
        ),
    ],
)
def test_an_enterprise_command_that_makes_no_sense_changes_nothing(
    clean_database: str, args: tuple[str, ...], stdin: str, said: str
) -> None:
    result = run(clean_database, "telephony-enterprise", *args, stdin=stdin)
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"switchboard: {said}" in result.stderr
    assert "Traceback" not in result.stderr
    assert enterprise(clean_database, "0501") is None


def test_internal_numbers_are_set_and_replaced(clean_database: str) -> None:
    made = run(clean_database, "telephony-enterprise", "0500", "--name", "Июль", "--token", "t")
    assert made.returncode == 0, made.stderr
    result = run(clean_database, "telephony-phones", "0500", "150=Джулай Джуновый", "151", "152")
    assert result.returncode == 0, result.stderr
    assert "enterprise 0500: 3 internal numbers" in result.stdout
    assert phones(clean_database, "0500") == [
        ("150", "Джулай Джуновый"),
        ("151", None),
        ("152", None),
    ]
    # RetailCRM's manager 19 has 152 on the admin page; the new list drops it: a warning.
    with psycopg.connect(clean_database) as connection:
        connection.execute(
            "UPDATE telephony.enterprises SET integrations_config = %s WHERE number = '0500'",
            (Jsonb({"retailcrm": {"user_extensions": {"19": "152", "18": "150"}}}),),
        )
    replaced = run(clean_database, "telephony-phones", "0500", "150=Джулай", "153")
    assert replaced.returncode == 0, replaced.stderr
    assert phones(clean_database, "0500") == [("150", "Джулай"), ("153", None)]
    assert "warning: RetailCRM user 19 still has number 152" in replaced.stderr
    assert "user 18" not in replaced.stderr

    for args, said in (
        (("0500", "15a"), "internal number '15a': 1-10 digits"),
        (("0500", "150", "150=Двойник"), "internal number 150 is given twice"),
        (("0999", "150"), "no enterprise 0999 (create it with telephony-enterprise)"),
    ):
        refused = run(clean_database, "telephony-phones", *args)
        assert refused.returncode == 2, refused.stdout + refused.stderr
        assert f"switchboard: {said}" in refused.stderr
    assert phones(clean_database, "0500") == [("150", "Джулай"), ("153", None)]
