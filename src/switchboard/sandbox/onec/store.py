"""The emulated infobase: records of every entity, in memory, behind one lock.

Two doors lead in. The HTTP side (`create`, `patch`, `replace`, `remove`, `post`) writes the way a
client's request does: platform-owned properties are the platform's, ДатаИзменения is the clock's,
the configuration's BeforeWrite rules run unless in data-load mode. The Python side (`put`, `get`,
`all`, `update`, `delete`, `load`, `reset`) is for test setup and demo data: it fills defaults but
keeps whatever the caller gives, including platform-owned values, and runs no business rules.

Stored records are never changed in place — a write stores a new dict — so a reader may keep a
reference after the lock is released; the Python API hands out copies.
"""

from __future__ import annotations

import base64
import itertools
import re
import threading
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from switchboard.sandbox.onec.bodies import Changes, normalize
from switchboard.sandbox.onec.entities import ENTITIES, EntityDef, EntityRegistry, Kind
from switchboard.sandbox.onec.errors import (
    Code,
    ODataError,
    business_error,
    entity_type_not_found,
    instance_not_found,
)
from switchboard.sandbox.onec.presentation import object_presentation
from switchboard.sandbox.onec.rules import DEFAULT_RULES, Rules, WriteEvent
from switchboard.sandbox.onec.values import (
    EMPTY_DATE,
    EMPTY_GUID,
    BadValue,
    Clock,
    Record,
    Scalar,
    coerce,
    empty_value,
    format_datetime,
    tashkent_now,
)

Key = str | tuple[Scalar, ...]
# Standard properties the platform fills when empty; a PUT that omits them keeps them.
PLATFORM_FILLED = ("Ref_Key", "Number", "Date", "Code")


class Store:
    def __init__(
        self,
        registry: EntityRegistry = ENTITIES,
        *,
        clock: Clock | None = None,
        rules: Rules | None = None,
        inlinecount_ignores_paging: bool = True,
    ) -> None:
        self.registry = registry
        self.clock: Clock = clock or tashkent_now
        self.rules: Rules = DEFAULT_RULES if rules is None else rules
        # How `$inlinecount=allpages` meets `$skip`/`$top`: True is the guide's word (17.4.6.2,
        # both are ignored and the whole filtered set comes back); False is what some platform
        # versions do (the page is cut, the count is still of the whole set). `reset()` restores
        # the value given here.
        self._default_inlinecount_ignores_paging = inlinecount_ignores_paging
        self.inlinecount_ignores_paging = inlinecount_ignores_paging
        self._lock = threading.RLock()
        self._tables: dict[str, dict[Key, Record]] = {}
        self._serials: dict[tuple[str, str], int] = {}
        self._versions = itertools.count(1)
        self._templates = {entity.name: _template(entity) for entity in registry.configured()}
        self.reset()

    # --- the Python API ------------------------------------------------------------------------

    def put(self, entity_name: str, record: Mapping[str, object]) -> Record:
        """Insert a record, filling what is missing; returns the stored record."""
        entity = self._writable(entity_name, creating=True)
        changes = normalize(entity, record, self.registry, trusted=True)
        with self._lock:
            stored = self._insert(entity, changes, stamp_always=False)
        return _copy(stored)

    def get(self, entity_name: str, key: object) -> Record | None:
        """A record by key: the Ref_Key for catalogs and documents, a dict of the key fields
        for registers (and Ref_Key + LineNumber for tabular-section sets)."""
        entity = self._entity(entity_name)
        found = self._find(entity, self.key_of(entity, key))
        return None if found is None else _copy(found)

    def all(self, entity_name: str) -> list[Record]:
        return [_copy(record) for record in self.records(entity_name)]

    def update(self, entity_name: str, key: object, changes: Mapping[str, object]) -> Record:
        """Change a record as a PATCH would: new DataVersion, ДатаИзменения from the clock."""
        entity = self._writable(entity_name)
        normalized = normalize(entity, changes, self.registry, trusted=True)
        with self._lock:
            old = self._existing(entity, self.key_of(entity, key))
            self._keep_identity(entity, old, normalized)
            stored = self._rewrite(entity, old, {**old, **normalized}, rules=False)
        return _copy(stored)

    def delete(self, entity_name: str, key: object) -> None:
        entity = self._writable(entity_name)
        with self._lock:
            record_key = self.key_of(entity, key)
            self._existing(entity, record_key)
            del self._tables[entity.name][record_key]

    def reset(self) -> None:
        """Back to an empty base with the platform behaviour the store was made with."""
        with self._lock:
            self._tables = {entity.name: {} for entity in self.registry.configured()}
            self._serials.clear()
            self.inlinecount_ignores_paging = self._default_inlinecount_ignores_paging

    def load(self, records: Mapping[str, Iterable[Mapping[str, object]]]) -> None:
        """Bulk insert `{entity_name: [records]}`; all or nothing."""
        prepared: list[tuple[EntityDef, Changes]] = []
        for entity_name, batch in records.items():
            entity = self._writable(entity_name, creating=True)
            prepared += [(entity, normalize(entity, r, self.registry, trusted=True)) for r in batch]
        with self._lock:
            saved = {name: dict(table) for name, table in self._tables.items()}
            serials = dict(self._serials)
            try:
                for entity, changes in prepared:
                    self._insert(entity, changes, stamp_always=False)
            except BaseException:
                self._tables, self._serials = saved, serials
                raise

    # --- the HTTP side -------------------------------------------------------------------------

    def records(self, entity_name: str) -> list[Record]:
        """The stored records in key order (shared: callers must not change them)."""
        entity = self._entity(entity_name)
        with self._lock:
            if entity.kind is Kind.TABULAR_SECTION:
                owner_set, section = entity.rows_source()
                owners = sorted(self._tables[owner_set].items(), key=_order_key)
                return [row for _, owner in owners for row in owner[section]]
            return [
                record for _, record in sorted(self._tables[entity.name].items(), key=_order_key)
            ]

    def lookup(self, entity_name: str, key: str) -> Record | None:
        """Follow a reference (navigation, $expand, presentations)."""
        table = self._tables.get(entity_name)
        return None if table is None or key == EMPTY_GUID else table.get(key)

    def find(self, entity: EntityDef, key: Key) -> Record | None:
        return self._find(entity, key)

    def create(self, entity: EntityDef, body: Mapping[str, object], *, load_mode: bool) -> Record:
        self._refuse_read_only(entity, creating=True)
        changes = normalize(entity, body, self.registry)
        with self._lock:
            return self._insert(entity, changes, stamp_always=True, rules=not load_mode)

    def _target_of_write(
        self, entity: EntityDef, key: Key, changes: Record, if_match: str | None
    ) -> Record:
        """The stored record a PATCH or PUT will change, after its version and key checks."""
        old = self._existing(entity, key)
        self._check_version(old, if_match)
        self._keep_identity(entity, old, changes)
        return old

    def patch(
        self,
        entity: EntityDef,
        key: Key,
        body: Mapping[str, object],
        *,
        if_match: str | None,
        load_mode: bool,
    ) -> Record:
        self._refuse_read_only(entity)
        changes = normalize(entity, body, self.registry)
        with self._lock:
            old = self._target_of_write(entity, key, changes, if_match)
            return self._rewrite(entity, old, {**old, **changes}, rules=not load_mode)

    def replace(
        self,
        entity: EntityDef,
        key: Key,
        body: Mapping[str, object],
        *,
        if_match: str | None,
        load_mode: bool,
    ) -> Record:
        """PUT: every writable property takes the body's value or its empty value."""
        self._refuse_read_only(entity)
        changes = normalize(entity, body, self.registry)
        with self._lock:
            old = self._target_of_write(entity, key, changes, if_match)
            new = dict(self._templates[entity.name])
            for prop in entity.properties:
                # What only the platform writes survives a PUT, and so do the number, date and
                # code it gave: a PUT without them neither renumbers nor undates the object.
                if not prop.writable or prop.name in (*PLATFORM_FILLED, *entity.key):
                    new[prop.name] = old[prop.name]
            new.update(changes)
            return self._rewrite(entity, old, new, rules=not load_mode)

    def remove(self, entity: EntityDef, key: Key, *, if_match: str | None) -> None:
        self._refuse_read_only(entity)
        with self._lock:
            old = self._existing(entity, key)
            self._check_version(old, if_match)
            del self._tables[entity.name][key]

    def post(self, entity: EntityDef, key: Key, *, posted: bool, load_mode: bool) -> Record:
        """Document posting (/Post) and unposting (/Unpost)."""
        with self._lock:
            old = self._existing(entity, key)
            if posted and old["DeletionMark"]:
                raise business_error(
                    f'Не удалось провести "{object_presentation(entity, old)}": '
                    "помеченный на удаление документ не может быть проведен"
                )
            return self._rewrite(entity, old, {**old, "Posted": posted}, rules=not load_mode)

    def key_of(self, entity: EntityDef, key: object) -> Key:
        """A record key from a Python value: a GUID string, or a mapping of the key fields."""
        if entity.is_object:
            value = key.get("Ref_Key") if isinstance(key, Mapping) else key
            try:
                return str(coerce(entity.key_property(), value))
            except BadValue as exc:
                raise ODataError(400, Code.BAD_URL, f"Неверный ключ: {exc}") from None
        if not isinstance(key, Mapping):
            raise ODataError(
                400, Code.KEY_ELEMENT_MISSING, f"{entity.name} is keyed by {entity.key}"
            )
        values: list[Scalar] = []
        for name in entity.key:
            if name not in key:
                raise ODataError(
                    400, Code.KEY_ELEMENT_MISSING, f"Не хватает элемента ключа: {name}"
                )
            try:
                values.append(coerce(entity.require(name), key[name]))
            except BadValue as exc:
                raise ODataError(400, Code.BAD_URL, f"Неверный ключ {name}: {exc}") from None
        return tuple(values)

    # --- internals -----------------------------------------------------------------------------

    def _entity(self, entity_name: str) -> EntityDef:
        entity = self.registry.get(entity_name)
        if entity is None:
            raise entity_type_not_found(entity_name)
        return entity

    def _writable(self, entity_name: str, *, creating: bool = False) -> EntityDef:
        entity = self._entity(entity_name)
        self._refuse_read_only(entity, creating=creating)
        return entity

    @staticmethod
    def _refuse_read_only(entity: EntityDef, *, creating: bool = False) -> None:
        """Tabular rows are read-only as entities of their own: write the owner instead."""
        if entity.kind is not Kind.TABULAR_SECTION:
            return
        if creating:
            raise ODataError(
                400,
                Code.TABULAR_ROW_CREATION,
                "Создание строк табличных частей напрямую не поддерживается",
            )
        raise ODataError(
            405,
            Code.METHOD_FORBIDDEN,
            "Строки табличных частей доступны только на чтение; измените объект-владелец",
        )

    def _find(self, entity: EntityDef, key: Key) -> Record | None:
        if entity.kind is Kind.TABULAR_SECTION:
            owner_set, section = entity.rows_source()
            if not isinstance(key, tuple):
                return None
            owner = self._tables[owner_set].get(str(key[0]))
            rows: list[Record] = [] if owner is None else owner[section]
            return next((row for row in rows if row["LineNumber"] == key[1]), None)
        return self._tables[entity.name].get(key)

    def _existing(self, entity: EntityDef, key: Key) -> Record:
        found = self._find(entity, key)
        if found is None:
            raise instance_not_found()
        return found

    def _record_key(self, entity: EntityDef, record: Record) -> Key:
        if entity.is_object:
            return str(record["Ref_Key"])
        return tuple(record[name] for name in entity.key)

    def _insert(
        self, entity: EntityDef, changes: Changes, *, stamp_always: bool, rules: bool = False
    ) -> Record:
        record = dict(self._templates[entity.name])
        record.update(changes)
        if entity.is_object and record["Ref_Key"] == EMPTY_GUID:
            record["Ref_Key"] = str(uuid.uuid4())
        key = self._record_key(entity, record)
        table = self._tables[entity.name]
        if key in table:
            raise ODataError(400, Code.KEY_EXISTS, "Сущность с таким ключом уже существует")
        if entity.is_register and entity.periodic and record["Period"] == EMPTY_DATE:
            raise ODataError(
                400,
                Code.REQUIRED_PROPERTY_MISSING,
                "Отсутствует обязательное значение свойства Period",
            )
        if entity.is_object and "DataVersion" not in changes:
            record["DataVersion"] = self._new_version()
        now = format_datetime(self.clock())
        self._fill_defaults(entity, record, now)
        for name in entity.modified_stamps:
            if stamp_always or record[name] == EMPTY_DATE:
                record[name] = now
        _adopt_rows(entity, record)
        if rules:
            self._check_number(entity, record)
            self._run_rules(entity, record, None)
        self._note_serials(entity, record)
        table[key] = record
        return record

    def _fill_defaults(self, entity: EntityDef, record: Record, now: str) -> None:
        if entity.kind is Kind.DOCUMENT:
            if not record["Number"]:
                record["Number"] = self._next_serial(entity, "Number")
            if record["Date"] == EMPTY_DATE:
                record["Date"] = now
        if entity.kind is Kind.CATALOG and not record["Code"] and entity.code_length:
            record["Code"] = self._next_serial(entity, "Code")
        for name in entity.created_stamps:
            if record[name] == EMPTY_DATE:
                record[name] = now

    def _rewrite(self, entity: EntityDef, old: Record, new: Record, *, rules: bool) -> Record:
        """Store a changed version of an existing record, as every write after create does."""
        if entity.is_object:
            new["DataVersion"] = self._new_version()
            if new.get("DeletionMark") and not old.get("DeletionMark") and "Posted" in new:
                # Marking a document for deletion unposts it, as УстановитьПометкуУдаления does.
                new["Posted"] = False
        now = format_datetime(self.clock())
        for name in entity.modified_stamps:
            new[name] = now
        _adopt_rows(entity, new)
        if rules:
            self._check_number(entity, new)
            self._run_rules(entity, new, old)
        self._note_serials(entity, new)
        self._tables[entity.name][self._record_key(entity, new)] = new
        return new

    def _keep_identity(self, entity: EntityDef, old: Record, changes: Changes) -> None:
        """A body may repeat the key, not change it. For a register record, a changed key field
        addresses a record that does not exist: 404, as 1C answers (delete and re-create)."""
        for name in entity.key:
            if name in changes and changes[name] != old[name]:
                if entity.is_register:
                    raise instance_not_found()
                raise ODataError(400, Code.BAD_PROPERTY_VALUE, f"Свойство {name} изменить нельзя")

    @staticmethod
    def _check_version(old: Record, if_match: str | None) -> None:
        if if_match is not None and "DataVersion" in old and if_match != old["DataVersion"]:
            raise ODataError(
                412,
                Code.BUSINESS,
                "Версия данных объекта изменилась: значение If-Match не совпадает с DataVersion",
            )

    def _run_rules(self, entity: EntityDef, new: Record, old: Record | None) -> None:
        rules = self.rules.get(entity.name, ())
        if not rules:
            return
        table = self._tables[entity.name]
        event = WriteEvent(entity, new, old, lambda: list(table.values()), self.lookup)
        for rule in rules:
            rule(event)

    def _check_number(self, entity: EntityDef, record: Record) -> None:
        """The platform refuses a second document with the same number."""
        if entity.kind is not Kind.DOCUMENT:
            return
        for other in self._tables[entity.name].values():
            if other["Number"] == record["Number"] and other["Ref_Key"] != record["Ref_Key"]:
                raise business_error(
                    f'Номер документа "{record["Number"]}" не уникален ({entity.synonym})'
                )

    def _next_serial(self, entity: EntityDef, field: str) -> str:
        # The counter moves when the record is stored (`_note_serials`), so a refused write
        # leaves no gap in the numbering.
        prefix, digits = _serial_format(entity, field)
        number = self._serials.get((entity.name, field), 0) + 1
        return f"{prefix}{number:0{digits}d}"

    def _note_serials(self, entity: EntityDef, record: Record) -> None:
        """Numbers and codes given by a caller move the counter past them, so generated ones
        never collide."""
        for field in ("Number", "Code"):
            value = record.get(field)
            if not isinstance(value, str) or not value:
                continue
            prefix, _ = _serial_format(entity, field)
            match = re.fullmatch(re.escape(prefix) + r"(\d+)", value)
            if match:
                seen = int(match[1])
                if seen > self._serials.get((entity.name, field), 0):
                    self._serials[(entity.name, field)] = seen

    def _new_version(self) -> str:
        # 1C's DataVersion looks like "AAAAAQAAAAA=": eight bytes in base64.
        return base64.b64encode(next(self._versions).to_bytes(8, "big")).decode()


def _serial_format(entity: EntityDef, field: str) -> tuple[str, int]:
    if field == "Number":
        return entity.number_prefix, entity.number_digits
    return "", entity.code_length


def _template(entity: EntityDef) -> Record:
    record: Record = {prop.name: empty_value(prop.type) for prop in entity.properties}
    for tab in entity.tabular:
        record[tab.name] = []
    return record


def _adopt_rows(entity: EntityDef, record: Record) -> None:
    """Rows carry their owner's Ref_Key, as 1C sends them."""
    owner = record.get("Ref_Key")
    for tab in entity.tabular:
        record[tab.name] = [
            row if row["Ref_Key"] == owner else {**row, "Ref_Key": owner}
            for row in record[tab.name]
        ]


def _order_key(item: tuple[Key, Record]) -> Any:
    key = item[0]
    return key if isinstance(key, tuple) else (key,)


def _copy(record: Record) -> Record:
    return {
        name: [dict(row) for row in value] if isinstance(value, list) else value
        for name, value in record.items()
    }
