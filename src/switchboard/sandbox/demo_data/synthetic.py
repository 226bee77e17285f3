"""Any number of plain rows of a dictionary catalog, for load tests and benchmarks.

The rows have the same fields and formats as the demo base's; texts are the demo's texts, numbered
once the pool runs out, so Ref_Key, Code and Description are all unique. Reference fields are the
empty reference unless `references` gives keys to cycle through, e.g.
`synthetic_catalog("Catalog_РазделыПОДляКонсультаций", 500, references={"Owner_Key": kinds})`.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta

from switchboard.sandbox.demo_data import texts
from switchboard.sandbox.demo_data.builder import (
    CONTRACTORS,
    DEFAULT_SEED,
    KNOWLEDGE_BASE,
    OBSTACLES,
    QUESTION_CATEGORIES,
    QUESTIONS,
    SOFTWARE_KINDS,
    SOFTWARE_SECTIONS,
    CounterpartyMaker,
    Record,
)
from switchboard.sandbox.demo_data.keys import CLOBUS_FOLDER, EMPTY_REF, LANGUAGE_KEYS, KeyFactory

SYNTHETIC_ENTITIES: tuple[str, ...] = (
    SOFTWARE_KINDS,
    SOFTWARE_SECTIONS,
    QUESTION_CATEGORIES,
    QUESTIONS,
    KNOWLEDGE_BASE,
    OBSTACLES,
    CONTRACTORS,
)
# Subscriptions of synthetic counterparties are dated relative to this day, not to the clock.
SYNTHETIC_TODAY = date(2026, 1, 15)
_EPOCH = datetime(2021, 1, 11, 9, 0)  # noqa: DTZ001 - 1C local time is naive

# (description, extra fields) pools per entity; "lang" marks the language of the text.
_Pool = list[tuple[str, dict[str, str]]]


def _pool(entity: str) -> _Pool:
    if entity == SOFTWARE_KINDS:
        return [(k.name, {"Описание": k.about}) for k in texts.SOFTWARE_KINDS]
    if entity == SOFTWARE_SECTIONS:
        return [(s.name, {"Описание": s.about}) for k in texts.SOFTWARE_KINDS for s in k.sections]
    if entity == QUESTION_CATEGORIES:
        return [(t.ru, {"lang": "ru"}) for t in texts.TOPICS] + [
            (t.uz, {"lang": "uz"}) for t in texts.TOPICS
        ]
    if entity == QUESTIONS:
        pool: _Pool = []
        for t in texts.TOPICS:
            pool += [
                (q, {"lang": "ru", "ПолезнаяИнформация": t.ru_hint, "Вопрос": q})
                for q in t.ru_questions
            ]
            pool += [
                (q, {"lang": "uz", "ПолезнаяИнформация": t.uz_hint, "Вопрос": q})
                for q in t.uz_questions
            ]
        return pool
    if entity == KNOWLEDGE_BASE:
        return [(e.title, {"Вопрос": e.question, "Ответ": e.answer}) for e in texts.KNOWLEDGE_BASE]
    if entity == OBSTACLES:
        return [(name, {}) for name, _ in texts.OBSTACLES]
    raise ValueError(
        f"no synthetic rows for {entity}; choose one of {', '.join(SYNTHETIC_ENTITIES)}"
    )


_REFERENCE_FIELDS: dict[str, tuple[str, ...]] = {
    SOFTWARE_SECTIONS: ("Owner_Key",),
    QUESTIONS: ("Категория_Key",),
    KNOWLEDGE_BASE: ("ВидПО_Key", "РазделПО_Key", "Автор_Key"),
}


def synthetic_catalog(
    entity: str,
    count: int,
    seed: int = DEFAULT_SEED,
    *,
    references: Mapping[str, Sequence[str]] | None = None,
) -> list[Record]:
    """`count` rows of `entity` (one of `SYNTHETIC_ENTITIES`), deterministic for `seed`."""
    if count < 0:
        raise ValueError("count must not be negative")
    references = references or {}
    unknown = set(references) - set(_REFERENCE_FIELDS.get(entity, ()))
    if unknown:
        raise ValueError(f"{entity} has no reference field(s) {', '.join(sorted(unknown))}")
    rng = random.Random(f"switchboard-synthetic/{seed}/{entity}")
    keys = KeyFactory(rng)
    if entity == CONTRACTORS:
        return _counterparties(rng, keys, count)
    pool = _pool(entity)
    rows: list[Record] = []
    for index in range(count):
        text, extra = pool[index % len(pool)]
        lap = index // len(pool)
        row: Record = {
            "Ref_Key": keys.new(_EPOCH + timedelta(minutes=index)),
            "Code": f"{index + 1:09d}",
            "Description": text if lap == 0 else f"{text} ({lap + 1})",
            "DeletionMark": False,
        }
        for field in _REFERENCE_FIELDS.get(entity, ()):
            choices = references.get(field) or (EMPTY_REF,)
            row[field] = choices[index % len(choices)]
        for name, value in extra.items():
            if name == "lang":
                row["Язык_Key"] = LANGUAGE_KEYS[value]
            else:
                row[name] = value
        rows.append(row)
    return rows


def _counterparties(rng: random.Random, keys: KeyFactory, count: int) -> list[Record]:
    maker = CounterpartyMaker(rng, SYNTHETIC_TODAY, unique_names=False)
    rows: list[Record] = []
    for index in range(count):
        record, _ = maker.make(
            keys.new(_EPOCH + timedelta(minutes=index)),
            code=f"{index + 1:09d}",
            parent=CLOBUS_FOLDER,
            company=rng.random() < 0.7,
            abroad=rng.random() < 0.02,
        )
        rows.append(record)
    return rows
