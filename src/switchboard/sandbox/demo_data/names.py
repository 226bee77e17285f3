"""Invented people, companies, places, phones and tax numbers for the demo counterparties.

All generators take the caller's `random.Random`, so the same seed gives the same names.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date

# --- people --------------------------------------------------------------------------------------

MALE_NAMES: tuple[str, ...] = (
    "Алишер", "Бахтиёр", "Шерзод", "Жасур", "Отабек", "Сардор", "Бекзод", "Рустам", "Умид",
    "Фаррух", "Дильшод", "Азамат", "Тимур", "Санжар", "Ильдар", "Сергей", "Дмитрий", "Андрей",
    "Александр", "Евгений", "Руслан", "Камол", "Анвар", "Нодир", "Улугбек", "Жахонгир", "Акмал",
)  # fmt: skip
FEMALE_NAMES: tuple[str, ...] = (
    "Дилноза", "Нодира", "Гулноза", "Шахноза", "Малика", "Зарина", "Феруза", "Лола", "Мадина",
    "Нигора", "Севара", "Камола", "Ольга", "Наталья", "Елена", "Ирина", "Марина", "Виктория",
    "Анна", "Гульчехра", "Дилфуза", "Юлдуз", "Мохира", "Эльвира", "Татьяна", "Азиза",
)  # fmt: skip
# Male forms; the female form adds "а" to -ов/-ев/-ин endings, other surnames do not change.
SURNAMES: tuple[str, ...] = (
    "Рахимов", "Каримов", "Юсупов", "Ташпулатов", "Абдуллаев", "Мирзаев", "Хасанов",
    "Исмоилов", "Усманов", "Назаров", "Хамидов", "Саидов", "Турсунов", "Ахмедов", "Эргашев",
    "Собиров", "Норматов", "Жураев", "Холматов", "Файзиев", "Юлдашев", "Алимов", "Султанов",
    "Кадыров", "Шарипов", "Зокиров", "Маматов", "Умаров", "Кузнецов", "Волков", "Соколов",
    "Лебедев", "Новиков", "Морозов", "Павлов", "Ким", "Пак", "Цой", "Ли", "Тен",
)  # fmt: skip
PATRONYMICS: tuple[tuple[str, str], ...] = (
    ("Алишерович", "Алишеровна"), ("Бахтиёрович", "Бахтиёровна"), ("Рустамович", "Рустамовна"),
    ("Шавкатович", "Шавкатовна"), ("Улугбекович", "Улугбековна"), ("Фарходович", "Фарходовна"),
    ("Тулкинович", "Тулкиновна"), ("Рашидович", "Рашидовна"), ("Баходирович", "Баходировна"),
    ("Анварович", "Анваровна"), ("Равшанович", "Равшановна"), ("Шухратович", "Шухратовна"),
    ("Хуршидович", "Хуршидовна"), ("Икромович", "Икромовна"), ("Ойбекович", "Ойбековна"),
    ("Жамшидович", "Жамшидовна"), ("Камолович", "Камоловна"), ("Сергеевич", "Сергеевна"),
    ("Александрович", "Александровна"), ("Викторович", "Викторовна"), ("Игоревич", "Игоревна"),
    ("Николаевич", "Николаевна"), ("Маратович", "Маратовна"), ("Абдуллаевич", "Абдуллаевна"),
)  # fmt: skip


@dataclass(frozen=True)
class Person:
    surname: str
    name: str
    patronymic: str
    female: bool

    @property
    def full(self) -> str:
        return f"{self.surname} {self.name} {self.patronymic}"

    @property
    def short(self) -> str:
        return f"{self.surname} {self.name[0]}.{self.patronymic[0]}."


def female_surname(surname: str) -> str:
    return surname + "а" if surname.endswith(("ов", "ев", "ин")) else surname


def person(rng: random.Random) -> Person:
    female = rng.random() < 0.45
    surname = rng.choice(SURNAMES)
    male_patronymic, female_patronymic = rng.choice(PATRONYMICS)
    if female:
        return Person(
            female_surname(surname), rng.choice(FEMALE_NAMES), female_patronymic, female=True
        )
    return Person(surname, rng.choice(MALE_NAMES), male_patronymic, female=False)


# --- companies -----------------------------------------------------------------------------------

PLACES: tuple[str, ...] = (
    "Самарканд", "Бухоро", "Зарафшан", "Навруз", "Ипак Йули", "Шарк", "Келажак", "Орзу",
    "Барака", "Нур", "Бунёдкор", "Гулистан", "Камолот", "Мегаполис", "Сырдарё", "Фаргона",
    "Чорсу", "Олтин Водий", "Янги Аср", "Хорезм", "Афросиаб", "Регистан", "Мехнат", "Турон",
    "Осиё", "Евразия", "Зиё", "Шифо", "Омад", "Истиклол",
)  # fmt: skip
ACTIVITIES: tuple[str, ...] = (
    "Агро", "Савдо", "Строй", "Текстиль", "Фарм", "Логистик", "Трейд", "Сервис", "Импекс",
    "Инвест", "Маркет", "Транс", "Фуд", "Пласт", "Мебель", "Медиа", "Консалт", "Тур", "Авто",
    "Электро",
)  # fmt: skip
SUFFIXES: tuple[str, ...] = ("Экспорт", "Групп", "Плюс", "Стандарт", "Люкс", "Холдинг", "Про")
BRAND_NAMES: tuple[str, ...] = (
    "Бахтиёр", "Дилшод", "Азиз", "Нодир", "Жасур", "Шохрух", "Фаррух", "Зафар", "Ойбек",
    "Мадина", "Севинч",
)  # fmt: skip
ADJECTIVE_NAMES: tuple[str, ...] = (
    "Ташкентский текстиль", "Ферганские сладости", "Бухарские ковры", "Наманганская мебель",
    "Самаркандская пекарня", "Андижанские стройматериалы", "Хорезмская птицеферма",
    "Сырдарьинский элеватор", "Каракалпакская соль", "Джизакские сады", "Навоийская керамика",
    "Кокандская типография",
)  # fmt: skip
LATIN_PLACES: tuple[str, ...] = (
    "Yangi Asr", "Oltin Vodiy", "Barakali", "Sharq", "Orzu", "Nur", "Zarafshon", "Bunyodkor",
    "Kelajak", "Ipak Yo'li", "Turon", "Omad",
)  # fmt: skip
LATIN_ACTIVITIES: tuple[str, ...] = (
    "Savdo", "Hosil", "Qurilish", "Agro", "Servis", "Trans", "Tekstil", "Farm", "Invest", "Meva",
)  # fmt: skip


@dataclass(frozen=True)
class Company:
    name: str  # as written in 1C, with the legal form
    slug: str  # for e-mail addresses


def company(rng: random.Random) -> Company:
    """A company name like ООО «Самарканд Агро Экспорт» or «Yangi Asr Savdo» MChJ."""
    pattern = rng.random()
    if pattern < 0.12:
        core = f"{rng.choice(LATIN_PLACES)} {rng.choice(LATIN_ACTIVITIES)}"
        form = rng.choice(("MChJ", "MChJ", "XK"))
        return Company(f"«{core}» {form}", slug(core))
    if pattern < 0.22:
        core = rng.choice(ADJECTIVE_NAMES)
        form = rng.choice(("АО", "ООО", "ООО"))
    elif pattern < 0.40:
        core = f"{rng.choice(BRAND_NAMES)} {rng.choice(ACTIVITIES)}"
        form = rng.choice(("ЧП", "ЧП", "ООО"))
    elif pattern < 0.62:
        core = f"{rng.choice(PLACES)} {rng.choice(ACTIVITIES)} {rng.choice(SUFFIXES)}"
        form = rng.choice(("ООО", "ООО", "СП ООО"))
    else:
        core = f"{rng.choice(PLACES)} {rng.choice(ACTIVITIES)}"
        form = rng.choice(("ООО", "ООО", "ООО", "ЧП", "СП ООО"))
    return Company(f"{form} «{core}»", slug(core))


def individual_name(rng: random.Random, who: Person) -> str:
    """How an individual customer is named in 1C: ИП, ЯТТ or a bare ФИО."""
    roll = rng.random()
    if roll < 0.5:
        return f"ИП {who.full}"
    if roll < 0.7:
        return f"ЯТТ {who.short}"
    return who.full


# --- transliteration for e-mail addresses --------------------------------------------------------

_TRANSLIT = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "yo", "ж": "j", "з": "z",
    "и": "i", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r",
    "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh",
    "щ": "sh", "ъ": "", "ы": "i", "ь": "", "э": "e", "ю": "yu", "я": "ya", "ў": "o", "қ": "q",
    "ғ": "g", "ҳ": "h",
}  # fmt: skip


def translit(text: str) -> str:
    return "".join(_TRANSLIT.get(ch, ch) for ch in text.lower())


def slug(text: str) -> str:
    """Lowercase ASCII letters and digits only."""
    return "".join(ch for ch in translit(text) if ch.isascii() and ch.isalnum())


def company_email(rng: random.Random, firm: Company) -> str:
    pattern = rng.choice(("info@{s}.uz", "buh@{s}.uz", "{s}@mail.ru", "{s}@gmail.com"))
    return pattern.format(s=firm.slug)


def person_email(rng: random.Random, who: Person) -> str:
    local = f"{slug(who.name)}.{slug(who.surname)}"
    if rng.random() < 0.4:
        local += str(rng.randint(70, 99))
    return f"{local}@{rng.choice(('gmail.com', 'mail.ru', 'yandex.ru', 'umail.uz'))}"


# --- places --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Place:
    country: str
    region: str
    city: str
    weight: int


UZBEKISTAN = "Узбекистан"
PLACES_UZ: tuple[Place, ...] = (
    Place(UZBEKISTAN, "г. Ташкент", "Ташкент", 30),
    Place(UZBEKISTAN, "Ташкентская область", "Чирчик", 3),
    Place(UZBEKISTAN, "Самаркандская область", "Самарканд", 8),
    Place(UZBEKISTAN, "Бухарская область", "Бухара", 6),
    Place(UZBEKISTAN, "Наманганская область", "Наманган", 5),
    Place(UZBEKISTAN, "Андижанская область", "Андижан", 5),
    Place(UZBEKISTAN, "Ферганская область", "Фергана", 5),
    Place(UZBEKISTAN, "Ферганская область", "Коканд", 2),
    Place(UZBEKISTAN, "Республика Каракалпакстан", "Нукус", 3),
    Place(UZBEKISTAN, "Кашкадарьинская область", "Карши", 3),
    Place(UZBEKISTAN, "Хорезмская область", "Ургенч", 3),
    Place(UZBEKISTAN, "Джизакская область", "Джизак", 2),
    Place(UZBEKISTAN, "Сурхандарьинская область", "Термез", 2),
    Place(UZBEKISTAN, "Навоийская область", "Навои", 2),
    Place(UZBEKISTAN, "Сырдарьинская область", "Гулистан", 1),
)
PLACES_ABROAD: tuple[Place, ...] = (
    Place("Казахстан", "г. Алматы", "Алматы", 2),
    Place("Казахстан", "г. Шымкент", "Шымкент", 1),
    Place("Россия", "г. Москва", "Москва", 2),
    Place("Россия", "Республика Татарстан", "Казань", 1),
)


def place(rng: random.Random, *, abroad: bool) -> Place:
    pool = PLACES_ABROAD if abroad else PLACES_UZ
    return rng.choices(pool, weights=[p.weight for p in pool])[0]


# --- phones --------------------------------------------------------------------------------------

UZ_MOBILE_CODES: tuple[str, ...] = ("90", "91", "93", "94", "95", "97", "98", "99")


@dataclass(frozen=True)
class Phone:
    presentation: str  # "+998 90 123 45 67"
    digits: str  # "998901234567"


def phone(rng: random.Random, country: str = UZBEKISTAN) -> Phone:
    if country == "Казахстан":
        code, number = rng.choice(("701", "705", "707", "747", "777")), rng.randint(0, 9_999_999)
        text = f"{number:07d}"
        return Phone(f"+7 {code} {text[:3]} {text[3:5]} {text[5:]}", f"7{code}{text}")
    if country == "Россия":
        code, number = rng.choice(("903", "916", "926", "985", "917")), rng.randint(0, 9_999_999)
        text = f"{number:07d}"
        return Phone(f"+7 {code} {text[:3]}-{text[3:5]}-{text[5:]}", f"7{code}{text}")
    code, number = rng.choice(UZ_MOBILE_CODES), rng.randint(0, 9_999_999)
    text = f"{number:07d}"
    return Phone(f"+998 {code} {text[:3]} {text[3:5]} {text[5:]}", f"998{code}{text}")


# --- tax numbers ---------------------------------------------------------------------------------


def company_inn(rng: random.Random) -> str:
    """A legal entity's ИНН: 9 digits starting with 2 or 3."""
    return f"{rng.choice('23')}{rng.randint(0, 99_999_999):08d}"


def pinfl(rng: random.Random, who: Person) -> str:
    """A ПИНФЛ: 14 digits — sex/century, birth date DDMMYY, district, serial, check digit."""
    born = date(rng.randint(1962, 2003), rng.randint(1, 12), rng.randint(1, 28))
    century_digit = (3 if born.year < 2000 else 5) + (1 if who.female else 0)
    district = rng.randint(101, 999)
    serial = rng.randint(1, 999)
    return f"{century_digit}{born:%d%m%y}{district:03d}{serial:03d}{rng.randint(0, 9)}"
