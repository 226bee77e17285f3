"""Mini App initData signed by the sandbox passes an independent validator (aiogram's)."""

from __future__ import annotations

import time
from urllib.parse import parse_qsl

import pytest
from aiogram.utils.web_app import check_webapp_signature, safe_parse_webapp_init_data

from switchboard.sandbox.telegram import TelegramEmulator
from switchboard.sandbox.telegram.webapp import init_data_hash

from .support import ALICE, OTHER_TOKEN, TOKEN


@pytest.fixture
def emulator() -> TelegramEmulator:
    telegram = TelegramEmulator()
    telegram.add_bot(TOKEN, "switchboard_sandbox_bot")
    return telegram


def test_signed_init_data_is_valid_for_its_bot_only(emulator: TelegramEmulator) -> None:
    now = int(time.time())
    init_data = emulator.web_app_init_data(TOKEN, ALICE, auth_date=now, query_id="AAH-q1")
    assert check_webapp_signature(TOKEN, init_data)
    assert not check_webapp_signature(OTHER_TOKEN, init_data)
    parsed = safe_parse_webapp_init_data(TOKEN, init_data)
    assert parsed.user is not None
    assert (parsed.user.id, parsed.user.first_name) == (ALICE["id"], ALICE["first_name"])
    assert parsed.query_id == "AAH-q1"
    assert int(parsed.auth_date.timestamp()) == now


def test_a_changed_field_breaks_the_signature(emulator: TelegramEmulator) -> None:
    fields = dict(parse_qsl(emulator.web_app_init_data(TOKEN, ALICE)))
    assert init_data_hash(TOKEN, fields) == fields["hash"]
    fields["auth_date"] = str(int(fields["auth_date"]) + 1)
    assert init_data_hash(TOKEN, fields) != fields["hash"]


def test_only_known_bots_sign(emulator: TelegramEmulator) -> None:
    with pytest.raises(KeyError):
        emulator.web_app_init_data(OTHER_TOKEN, ALICE)
