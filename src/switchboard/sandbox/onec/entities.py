"""The 1C configuration the emulator serves, as data.

An entity is a definition (`EntityDef`): its kind, its properties with their EDM types, its key,
its tabular sections and its reference targets. Everything else — `$metadata`, validation of
request bodies, `$filter` typing, navigation, rendering — is derived from these definitions, so a
new catalog or register is one more entry in `CONFIGURATION`, not a new code path.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property


class Edm(StrEnum):
    GUID = "Edm.Guid"
    STRING = "Edm.String"
    BOOLEAN = "Edm.Boolean"
    DATETIME = "Edm.DateTime"
    INT16 = "Edm.Int16"
    INT32 = "Edm.Int32"
    INT64 = "Edm.Int64"
    DOUBLE = "Edm.Double"


INTEGER_TYPES = frozenset({Edm.INT16, Edm.INT32, Edm.INT64})
NUMERIC_TYPES = INTEGER_TYPES | {Edm.DOUBLE}


class Kind(StrEnum):
    CATALOG = "Catalog"
    DOCUMENT = "Document"
    INFORMATION_REGISTER = "InformationRegister"
    # A tabular section read as an entity set of its own (`Document_X_Tab`): read-only.
    TABULAR_SECTION = "TabularSection"


@dataclass(frozen=True)
class Property:
    """One property. A reference `X_Key` names its `target` entity set and thereby gets the
    navigation property `X`; a reference to an object outside the published composition has no
    target and is a plain Edm.Guid."""

    name: str
    type: Edm
    target: str | None = None
    enum: tuple[str, ...] = ()
    # False: the platform owns the value; a client may send it back but it is ignored.
    writable: bool = True
    # 1C writes row numbers as JSON strings ("LineNumber": "1").
    json_text: bool = False

    @property
    def navigation(self) -> str | None:
        if self.target is None or not self.name.endswith("_Key"):
            return None
        return self.name.removesuffix("_Key")


@dataclass(frozen=True)
class TabularSection:
    name: str
    columns: tuple[Property, ...]


@dataclass(frozen=True)
class EntityDef:
    name: str
    kind: Kind
    properties: tuple[Property, ...]
    key: tuple[str, ...]
    tabular: tuple[TabularSection, ...] = ()
    # What 1C shows as the object's kind in presentations ("Телефонный звонок 000001 от …").
    synonym: str = ""
    # Documents: an omitted Number becomes prefix + zero-padded counter.
    number_prefix: str = ""
    number_digits: int = 6
    # Catalogs: an omitted Code becomes a zero-padded counter of this length.
    code_length: int = 9
    # Filled with the clock on create when empty, kept afterwards.
    created_stamps: tuple[str, ...] = ()
    # Set to the clock on every write, whatever the client sent.
    modified_stamps: tuple[str, ...] = ()
    periodic: bool = False
    # Tabular-section entity sets only: the owner entity set and the section's name.
    owner: str | None = None
    section: str | None = None

    @cached_property
    def _properties(self) -> dict[str, Property]:
        return {prop.name: prop for prop in self.properties}

    @cached_property
    def _navigations(self) -> dict[str, Property]:
        return {prop.navigation: prop for prop in self.properties if prop.navigation is not None}

    @cached_property
    def _sections(self) -> dict[str, TabularSection]:
        return {section.name: section for section in self.tabular}

    def prop(self, name: str) -> Property | None:
        return self._properties.get(name)

    def require(self, name: str) -> Property:
        """A property known to exist (a key field, a name taken from the definition)."""
        return self._properties[name]

    def follow(self, navigation: str) -> tuple[Property, str]:
        """The reference property behind a known navigation property, and its target set."""
        reference = self._navigations[navigation]
        if reference.target is None:
            raise KeyError(navigation)
        return reference, reference.target

    def navigation(self, name: str) -> Property | None:
        """The reference property behind navigation property `name`."""
        return self._navigations.get(name)

    def navigations(self) -> list[tuple[str, Property]]:
        return list(self._navigations.items())

    def tabular_section(self, name: str) -> TabularSection | None:
        return self._sections.get(name)

    def key_property(self) -> Property:
        """The first key property (Ref_Key for catalogs and documents)."""
        return self._properties[self.key[0]]

    def rows_source(self) -> tuple[str, str]:
        """A tabular-section set's owner entity set and section name."""
        if self.owner is None or self.section is None:
            raise ValueError(f"{self.name} is not a tabular-section entity set")
        return self.owner, self.section

    @property
    def is_object(self) -> bool:
        """Catalogs and documents: identified by Ref_Key, versioned by DataVersion."""
        return self.kind in (Kind.CATALOG, Kind.DOCUMENT)

    @property
    def is_register(self) -> bool:
        return self.kind is Kind.INFORMATION_REGISTER

    @property
    def type_name(self) -> str:
        return f"StandardODATA.{self.name}"

    def row_type_name(self, section: str) -> str:
        return f"StandardODATA.{self.name}_{section}_RowType"


# --- property builders -------------------------------------------------------------------------


def text(name: str) -> Property:
    return Property(name, Edm.STRING)


def flag(name: str) -> Property:
    return Property(name, Edm.BOOLEAN)


def moment(name: str) -> Property:
    return Property(name, Edm.DATETIME)


def int32(name: str) -> Property:
    return Property(name, Edm.INT32)


def int64(name: str) -> Property:
    return Property(name, Edm.INT64)


def ref(name: str, target: str | None = None) -> Property:
    """Reference attribute `name`: the property `name_Key`, navigable when `target` is given."""
    return Property(f"{name}_Key", Edm.GUID, target=target)


def enum(name: str, *values: str) -> Property:
    """An enumeration attribute: Edm.String holding the value's name ("" is the empty value)."""
    return Property(name, Edm.STRING, enum=values)


def section(name: str, *columns: Property) -> TabularSection:
    return TabularSection(name, columns)


LINE_NUMBER = Property("LineNumber", Edm.INT64, json_text=True)


# --- entity builders ---------------------------------------------------------------------------


def catalog(
    name: str,
    *attributes: Property,
    hierarchical: bool = False,
    owner: str | None = None,
    tabular: Iterable[TabularSection] = (),
    synonym: str = "",
    code_length: int = 9,
) -> EntityDef:
    full = f"Catalog_{name}"
    standard = [
        Property("Ref_Key", Edm.GUID),
        Property("DataVersion", Edm.STRING, writable=False),
        flag("DeletionMark"),
    ]
    if hierarchical:
        standard += [Property("Parent_Key", Edm.GUID, target=full), flag("IsFolder")]
    if owner is not None:
        standard.append(Property("Owner_Key", Edm.GUID, target=owner))
    standard += [
        text("Code"),
        text("Description"),
        Property("Predefined", Edm.BOOLEAN, writable=False),
        text("PredefinedDataName"),
    ]
    return EntityDef(
        name=full,
        kind=Kind.CATALOG,
        properties=(*standard, *attributes),
        key=("Ref_Key",),
        tabular=tuple(tabular),
        synonym=synonym or name,
        code_length=code_length,
    )


def document(
    name: str,
    *attributes: Property,
    tabular: Iterable[TabularSection] = (),
    synonym: str = "",
    number_prefix: str = "",
    created_stamps: tuple[str, ...] = (),
    modified_stamps: tuple[str, ...] = (),
) -> EntityDef:
    standard = (
        Property("Ref_Key", Edm.GUID),
        Property("DataVersion", Edm.STRING, writable=False),
        flag("DeletionMark"),
        text("Number"),
        moment("Date"),
        # Posting goes through /Post and /Unpost; a Posted value in a body is not a posting.
        Property("Posted", Edm.BOOLEAN, writable=False),
    )
    return EntityDef(
        name=f"Document_{name}",
        kind=Kind.DOCUMENT,
        properties=(*standard, *attributes),
        key=("Ref_Key",),
        tabular=tuple(tabular),
        synonym=synonym or name,
        number_prefix=number_prefix,
        created_stamps=created_stamps,
        modified_stamps=modified_stamps,
    )


def information_register(
    name: str,
    *,
    periodic: bool,
    dimensions: Iterable[Property],
    resources: Iterable[Property] = (),
    attributes: Iterable[Property] = (),
) -> EntityDef:
    """An independent information register: a record is keyed by Period (if periodic) and its
    dimensions."""
    dims = tuple(dimensions)
    period = (moment("Period"),) if periodic else ()
    return EntityDef(
        name=f"InformationRegister_{name}",
        kind=Kind.INFORMATION_REGISTER,
        properties=(*period, *dims, *resources, *attributes),
        key=tuple(prop.name for prop in (*period, *dims)),
        periodic=periodic,
        synonym=name,
    )


def tabular_entity(owner: EntityDef, tab: TabularSection) -> EntityDef:
    """`Owner_Section`: every row of every owner's section, keyed by (Ref_Key, LineNumber)."""
    return EntityDef(
        name=f"{owner.name}_{tab.name}",
        kind=Kind.TABULAR_SECTION,
        properties=(
            Property("Ref_Key", Edm.GUID, target=owner.name, writable=False),
            LINE_NUMBER,
            *tab.columns,
        ),
        key=("Ref_Key", "LineNumber"),
        owner=owner.name,
        section=tab.name,
    )


# --- the registry ------------------------------------------------------------------------------


class EntityRegistry(Mapping[str, EntityDef]):
    """Entity sets by name: the configured objects plus one read-only set per tabular section."""

    def __init__(self, definitions: Iterable[EntityDef]) -> None:
        self._base: dict[str, EntityDef] = {}
        for definition in definitions:
            if definition.name in self._base:
                raise ValueError(f"entity {definition.name} is defined twice")
            self._base[definition.name] = definition
        self._all: dict[str, EntityDef] = dict(self._base)
        for definition in self._base.values():
            for tab in definition.tabular:
                derived = tabular_entity(definition, tab)
                self._all[derived.name] = derived
        self._check_targets()

    def _check_targets(self) -> None:
        for definition in self._all.values():
            columns = [col for tab in definition.tabular for col in tab.columns]
            for prop in (*definition.properties, *columns):
                if prop.target is not None and prop.target not in self._base:
                    raise ValueError(
                        f"{definition.name}.{prop.name} refers to unknown {prop.target}"
                    )

    def __getitem__(self, name: str) -> EntityDef:
        return self._all[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._all)

    def __len__(self) -> int:
        return len(self._all)

    def configured(self) -> list[EntityDef]:
        """The configuration's own objects, without the derived tabular-section sets."""
        return list(self._base.values())

    def extended(self, *definitions: EntityDef) -> EntityRegistry:
        """A registry with more (or redefined) entities, for tests and later configurations."""
        merged = dict(self._base)
        for definition in definitions:
            merged[definition.name] = definition
        return EntityRegistry(merged.values())


# --- the 1C:ЦЛ configuration -------------------------------------------------------------------

CONTRACTORS = "Catalog_Контрагенты"
USERS = "Catalog_Пользователи"
SOFTWARE_KINDS = "Catalog_ВидыПОДляКонсультаций"
SOFTWARE_SECTIONS = "Catalog_РазделыПОДляКонсультаций"
QUESTION_CATEGORIES = "Catalog_КатегорииВопросов"
QUESTIONS = "Catalog_ВопросыНаКонсультацию"
OBSTACLES = "Catalog_ПомехиДляКонсультаций"
PHONE_CALL = "Document_ТелефонныйЗвонок"
DEPARTMENTS = "Catalog_Отделы"


def _contact_information() -> TabularSection:
    return section(
        "КонтактнаяИнформация",
        text("Тип"),
        ref("Вид"),
        text("Представление"),
        text("АдресЭП"),
        text("НомерТелефона"),
    )


CONFIGURATION: tuple[EntityDef, ...] = (
    catalog("ВидыПОДляКонсультаций", text("Описание"), synonym="Вид ПО для консультаций"),
    catalog(
        "РазделыПОДляКонсультаций",
        text("Описание"),
        owner=SOFTWARE_KINDS,
        synonym="Раздел ПО для консультаций",
    ),
    catalog("КатегорииВопросов", ref("Язык"), synonym="Категория вопросов"),
    catalog(
        "ВопросыНаКонсультацию",
        ref("Категория", QUESTION_CATEGORIES),
        ref("Язык"),
        text("ПолезнаяИнформация"),
        text("Вопрос"),
        synonym="Вопрос на консультацию",
    ),
    catalog(
        "БазаЗнанийДляКонсультаций",
        ref("ВидПО", SOFTWARE_KINDS),
        ref("РазделПО", SOFTWARE_SECTIONS),
        text("Вопрос"),
        text("Ответ"),
        ref("Автор", USERS),
        synonym="База знаний для консультаций",
    ),
    catalog("ПомехиДляКонсультаций", synonym="Помеха для консультаций"),
    catalog("Отделы", synonym="Отдел"),
    catalog(
        "Пользователи",
        flag("Недействителен"),
        flag("Служебный"),
        tabular=(_contact_information(),),
        synonym="Пользователь",
    ),
    catalog(
        "Контрагенты",
        text("ИНН"),
        int64("КодАбонентаClobus"),
        enum("ЮридическоеФизическоеЛицо", "ЮридическоеЛицо", "ФизическоеЛицо"),
        text("Страна"),
        text("Регион"),
        text("Город"),
        text("Подписка"),
        moment("ДатаНачалаПодписки"),
        moment("ДатаОкончанияПодписки"),
        ref("Тариф"),
        ref("ТарифныйПериод"),
        ref("Организация"),
        hierarchical=True,
        tabular=(_contact_information(),),
        synonym="Контрагент",
    ),
    document(
        "ТелефонныйЗвонок",
        text("Описание"),
        enum("ВидОбращения", "ВОчередьНаКонсультацию", "КонсультацияИТС", "Другое"),
        flag("Входящий"),
        moment("ДатаСоздания"),
        moment("ДатаИзменения"),
        moment("ДатаКонсультации"),
        moment("Конец"),
        flag("ЗакрытоБезКонсультации"),
        ref("Абонент", CONTRACTORS),
        ref("Автор", USERS),
        ref("Менеджер", USERS),
        ref("Ответственный", USERS),
        text("Тема"),
        text("Вопрос"),
        ref("Язык"),
        ref("КатегорияВопроса", QUESTION_CATEGORIES),
        ref("ВопросНаКонсультацию", QUESTIONS),
        enum("СпособСвязи", "ПоТелеграм", "ПоСайту", "ПоТелефону"),
        text("АбонентКакСвязаться"),
        text("АбонентПредставление"),
        enum("Важность", "Низкая", "Обычная", "Высокая"),
        text("Комментарий"),
        tabular=(
            section(
                "КонсультацииИТС",
                ref("ВидПО", SOFTWARE_KINDS),
                ref("РазделПО", SOFTWARE_SECTIONS),
                ref("НаличиеПомех", OBSTACLES),
                ref("ПомощьМенеджера", USERS),
                flag("ПовторноеОбращение"),
                text("Вопрос"),
                text("Ответ"),
            ),
            section("ВопросыИОтветы", text("Вопрос"), text("Ответ")),
        ),
        synonym="Телефонный звонок",
        number_prefix="ЦЛ00-",
        created_stamps=("ДатаСоздания",),
        modified_stamps=("ДатаИзменения",),
    ),
    information_register(
        "РегистрацияПереносаКонсультации",
        periodic=True,
        dimensions=(
            ref("ДокументОбращения", PHONE_CALL),
            ref("Абонент", CONTRACTORS),
            ref("Менеджер", USERS),
        ),
        resources=(moment("СтараяДата"), moment("НоваяДата")),
        attributes=(text("Комментарий"),),
    ),
    information_register(
        "ОценкаКонсультацийПоЗаявкам",
        periodic=True,
        dimensions=(
            ref("Обращение", PHONE_CALL),
            ref("Контрагент", CONTRACTORS),
            ref("Менеджер", USERS),
            int32("НомерВопроса"),
        ),
        resources=(
            int32("Оценка"),
            text("Вопрос"),
            text("Комментарий"),
            flag("ОтправленаБаза"),
            moment("ДатаОценки"),
        ),
    ),
    information_register(
        "РегистрацияДозвона",
        periodic=True,
        dimensions=(
            ref("ДокументОбращения", PHONE_CALL),
            ref("Абонент", CONTRACTORS),
            ref("Менеджер", USERS),
        ),
    ),
    information_register(
        "ЗакрытиеОчередиНаКонсультанта",
        periodic=False,
        dimensions=(moment("Дата"), ref("Менеджер", USERS)),
        resources=(flag("Закрыт"),),
    ),
    # The consultants' own settings, read by the users ETL (inventory 1.7).
    information_register(
        "СписокКонсультантовДляЗаявок",
        periodic=True,
        dimensions=(ref("Менеджер", USERS),),
        # Working hours are times of day, stored as datetimes on the empty date.
        resources=(
            int32("ЛимитКонсультаций"),
            moment("ВремяРаботыНачало"),
            moment("ВремяРаботыКонец"),
        ),
    ),
    information_register(
        "КатегорииВопросовМенеджеров",
        periodic=False,
        dimensions=(ref("Менеджер", USERS), ref("КатегорияВопроса", QUESTION_CATEGORIES)),
    ),
    # The user dimension of both is named Менеджер, as the original users ETL reads it.
    information_register(
        "ЯзыкиПользователей",
        periodic=False,
        dimensions=(ref("Менеджер", USERS), ref("Язык")),
    ),
    information_register(
        "ОтделыПользователей",
        periodic=False,
        dimensions=(ref("Менеджер", USERS), ref("Отдел", DEPARTMENTS)),
    ),
)

ENTITIES = EntityRegistry(CONFIGURATION)
