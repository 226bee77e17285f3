"""Known GUIDs of the 1C:ЦЛ base, value formats, and a seeded generator of 1C-looking keys."""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta

EMPTY_REF = "00000000-0000-0000-0000-000000000000"
EMPTY_DATE = "0001-01-01T00:00:00"

# Facts of the real base that the platform hard-codes (see the consultations reference, section 0).
LANG_RU = "15d38cda-1812-11ef-b824-c67597d01fa8"
LANG_UZ = "15d38cdb-1812-11ef-b824-c67597d01fa8"
CLOBUS_FOLDER = "7ccd31ca-887b-11eb-938b-00e04cd03b68"
UNDEFINED_MANAGER = "062699c7-24b2-11e9-a1e3-60a44cafb67d"
CONTACT_KIND_PHONE = "c07763c7-2ae8-4708-a608-7691be9d782b"
CONTACT_KIND_EMAIL = "f0dddb0f-1cac-49ab-ad37-f9480b0ef654"

# A third language of the same catalog (English in this demo): the platform must ignore it.
LANG_OTHER = "15d38cdc-1812-11ef-b824-c67597d01fa8"
LANGUAGE_KEYS: dict[str, str] = {"ru": LANG_RU, "uz": LANG_UZ, "en": LANG_OTHER}

# Objects the counterparties point at that the published OData composition does not include
# (tariffs, tariff periods, our organizations): fixed keys, stable across seeds.
TARIFFS: dict[str, str] = {
    "Старт": "5b0e9f41-3a7c-11ee-9c1d-00155d3ac81e",
    "Бизнес": "5b0e9f42-3a7c-11ee-9c1d-00155d3ac81e",
    "Профессионал": "5b0e9f43-3a7c-11ee-9c1d-00155d3ac81e",
    "Корпоративный": "5b0e9f44-3a7c-11ee-9c1d-00155d3ac81e",
}
TARIFF_PERIODS: dict[int, str] = {  # months -> key
    1: "6c21a0d5-3a7c-11ee-9c1d-00155d3ac81e",
    3: "6c21a0d6-3a7c-11ee-9c1d-00155d3ac81e",
    6: "6c21a0d7-3a7c-11ee-9c1d-00155d3ac81e",
    12: "6c21a0d8-3a7c-11ee-9c1d-00155d3ac81e",
}
ORGANIZATIONS: dict[str, str] = {
    "ООО «Софт Маркази»": "81f4c2b0-1f0a-11ea-8f3e-00155d3ac81e",
    "ООО «Маркази Сервис»": "81f4c2b1-1f0a-11ea-8f3e-00155d3ac81e",
}
EXTERNAL_KEYS: frozenset[str] = frozenset(
    [*TARIFFS.values(), *TARIFF_PERIODS.values(), *ORGANIZATIONS.values()]
)

# The node part of every key this base generates (a virtual machine's network card).
NODE = "00155d3ac81e"
# 1C writes local Tashkent time; UUIDv1 timestamps are UTC.
TASHKENT_OFFSET = timedelta(hours=5)
_GREGORIAN = datetime(1582, 10, 15)  # noqa: DTZ001 - the UUIDv1 epoch, compared as naive UTC


def iso(moment: datetime) -> str:
    """1C's datetime literal: naive local time to the second."""
    return moment.replace(microsecond=0).isoformat(timespec="seconds")


def clock(hour: int) -> str:
    """A time-of-day as 1C stores it in a datetime field: on the empty date."""
    return f"0001-01-01T{time(hour % 24):%H:%M:%S}"


class KeyFactory:
    """Version-1 GUIDs, the kind 1C generates, from a seeded RNG.

    The timestamp part is the object's creation moment, so keys of a demo base look like those of a
    real one (documents of the same day share their tail); the clock sequence and sub-second part
    come from the RNG. Every key is unique within the factory.
    """

    def __init__(self, rng: random.Random, node: str = NODE) -> None:
        self._rng = rng
        self._node = node
        self._seen: set[str] = set()

    def new(self, created: datetime) -> str:
        base = int((created - TASHKENT_OFFSET - _GREGORIAN).total_seconds()) * 10_000_000
        while True:
            stamp = base + self._rng.randrange(10_000_000)
            clock_seq = 0x8000 | self._rng.getrandbits(14)
            key = (
                f"{stamp & 0xFFFFFFFF:08x}-{(stamp >> 32) & 0xFFFF:04x}-"
                f"{0x1000 | ((stamp >> 48) & 0x0FFF):04x}-{clock_seq:04x}-{self._node}"
            )
            if key not in self._seen:
                self._seen.add(key)
                return key
