"""Facts of the 1C:ЦЛ base that the platform is connected to (stable GUIDs of its data)."""

from __future__ import annotations

import uuid

LANGUAGE_KEYS: dict[uuid.UUID, str] = {
    uuid.UUID("15d38cda-1812-11ef-b824-c67597d01fa8"): "ru",
    uuid.UUID("15d38cdb-1812-11ef-b824-c67597d01fa8"): "uz",
}
CLOBUS_CLIENTS_FOLDER = uuid.UUID("7ccd31ca-887b-11eb-938b-00e04cd03b68")
UNDEFINED_MANAGER = uuid.UUID("062699c7-24b2-11e9-a1e3-60a44cafb67d")
CONTACT_KIND_PHONE = uuid.UUID("c07763c7-2ae8-4708-a608-7691be9d782b")
CONTACT_KIND_EMAIL = uuid.UUID("f0dddb0f-1cac-49ab-ad37-f9480b0ef654")

ENTITY_PO_TYPES = "Catalog_ВидыПОДляКонсультаций"
ENTITY_PO_SECTIONS = "Catalog_РазделыПОДляКонсультаций"
ENTITY_QUESTION_CATEGORIES = "Catalog_КатегорииВопросов"
ENTITY_QUESTIONS = "Catalog_ВопросыНаКонсультацию"
ENTITY_KNOWLEDGE_BASE = "Catalog_БазаЗнанийДляКонсультаций"
ENTITY_INTERFERENCE = "Catalog_ПомехиДляКонсультаций"
ENTITY_USERS = "Catalog_Пользователи"
ENTITY_PHONE_CALL = "Document_ТелефонныйЗвонок"
ENTITY_CONTRACTORS = "Catalog_Контрагенты"
ENTITY_DEPARTMENTS = "Catalog_Отделы"
REGISTER_REDATES = "InformationRegister_РегистрацияПереносаКонсультации"
REGISTER_RATINGS = "InformationRegister_ОценкаКонсультацийПоЗаявкам"
REGISTER_CALLS = "InformationRegister_РегистрацияДозвона"
REGISTER_QUEUE_CLOSINGS = "InformationRegister_ЗакрытиеОчередиНаКонсультанта"
REGISTER_CONSULTANTS = "InformationRegister_СписокКонсультантовДляЗаявок"
REGISTER_MANAGER_CATEGORIES = "InformationRegister_КатегорииВопросовМенеджеров"
REGISTER_USER_LANGUAGES = "InformationRegister_ЯзыкиПользователей"
REGISTER_USER_DEPARTMENTS = "InformationRegister_ОтделыПользователей"

#: `Document_ТелефонныйЗвонок.ВидОбращения`.
KIND_QUEUED = "ВОчередьНаКонсультацию"
KIND_CONSULTED = "КонсультацияИТС"
#: `Catalog_Контрагенты.ЮридическоеФизическоеЛицо`.
LEGAL_ENTITY = "ЮридическоеЛицо"
NATURAL_PERSON = "ФизическоеЛицо"
#: `КонтактнаяИнформация.Тип`.
CONTACT_PHONE = "Телефон"
CONTACT_EMAIL = "АдресЭлектроннойПочты"

#: Properties of type Edm.DateTime, per entity. 1C writes them as wall-clock time of its own zone
#: without an offset; the client reads them as aware UTC and writes them back in 1C's zone.
#: (Times of day stored on the empty date, like a consultant's working hours, are not moments
#: and are not listed.)
DATETIME_PROPERTIES: dict[str, frozenset[str]] = {
    ENTITY_PHONE_CALL: frozenset(
        {"Date", "ДатаСоздания", "ДатаИзменения", "ДатаКонсультации", "Конец"}
    ),
    ENTITY_CONTRACTORS: frozenset({"ДатаНачалаПодписки", "ДатаОкончанияПодписки"}),
    REGISTER_REDATES: frozenset({"Period", "СтараяДата", "НоваяДата"}),
    REGISTER_RATINGS: frozenset({"Period", "ДатаОценки"}),
    REGISTER_CALLS: frozenset({"Period"}),
    REGISTER_QUEUE_CLOSINGS: frozenset({"Дата"}),
    REGISTER_CONSULTANTS: frozenset({"Period"}),
}
