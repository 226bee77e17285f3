"""The configuration's own business logic: what its BeforeWrite handlers refuse.

1C runs these on every write of the object (create, PATCH, PUT, posting) except in data-load
mode (`1C_OData-DataLoadMode: true`, i.e. `ОбменДанными.Загрузка = Истина`). A refusal reaches
the client as HTTP 500 with `odata.error.code` "-1", like any exception raised in the
configuration's code.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from switchboard.sandbox.onec.entities import PHONE_CALL, EntityDef
from switchboard.sandbox.onec.errors import business_error
from switchboard.sandbox.onec.values import EMPTY_DATE, EMPTY_GUID, Record


@dataclass(frozen=True)
class WriteEvent:
    """A write about to happen: the record as it will be stored, the one it replaces (None on
    create), and the entity's other stored records."""

    entity: EntityDef
    new: Record
    old: Record | None
    others: Callable[[], Iterable[Record]]
    # Follows a reference: (entity set, Ref_Key) -> the stored record, or None.
    lookup: Callable[[str, str], Record | None]


Rule = Callable[[WriteEvent], None]
Rules = Mapping[str, Sequence[Rule]]


@dataclass(frozen=True)
class DailyLimit:
    """At most `limit` live documents per counterparty per day.

    Documents marked for deletion do not count, so marking one (or deleting it) frees its slot.
    The check runs whenever the written document would itself be live, so a PATCH that moves a
    document onto a full day, or clears its deletion mark there, is refused too. A document
    without a counterparty or a day is not limited.
    """

    counterparty: str = "Абонент_Key"
    day: str = "ДатаКонсультации"
    limit: int = 3

    def __call__(self, event: WriteEvent) -> None:
        new = event.new
        if new.get("DeletionMark"):
            return
        counterparty, day = new.get(self.counterparty), _day(new.get(self.day))
        if counterparty in (None, EMPTY_GUID) or day is None:
            return
        taken = sum(
            1
            for other in event.others()
            if other["Ref_Key"] != new["Ref_Key"]
            and not other.get("DeletionMark")
            and other.get(self.counterparty) == counterparty
            and _day(other.get(self.day)) == day
        )
        if taken >= self.limit:
            raise business_error(
                f"Превышен лимит консультаций: не более {self.limit} консультаций в день "
                f"для абонента «{self._who(event, counterparty)}», "
                f"на {day[8:10]}.{day[5:7]}.{day[:4]} уже записано {taken}."
            )

    def _who(self, event: WriteEvent, counterparty: str) -> str:
        """The subscriber's name, as 1C would show it in the message."""
        prop = event.entity.prop(self.counterparty)
        found = (
            None if prop is None or prop.target is None else event.lookup(prop.target, counterparty)
        )
        return str(found["Description"]) if found is not None else counterparty


def _day(value: object) -> str | None:
    if not isinstance(value, str) or value == EMPTY_DATE:
        return None
    return value[:10]


DEFAULT_RULES: dict[str, list[Rule]] = {PHONE_CALL: [DailyLimit()]}
