"""Texts shown to people, in Russian by default, English and Uzbek on request.

Message ids are English sentences in the code; translations live in gettext catalogues
(`switchboard/locales/<lang>/LC_MESSAGES/messages.po`), read with Babel at first use. A message
that a catalogue lacks falls back to the English id, never to an error.
"""

from __future__ import annotations

import threading
from functools import cache
from pathlib import Path

from babel.messages.pofile import read_po

LOCALES = ("ru", "en", "uz")
DEFAULT_LOCALE = "ru"
LOCALE_DIR = Path(__file__).resolve().parent.parent / "locales"

_lock = threading.Lock()


@cache
def catalogue(locale: str) -> dict[str, str]:
    path = LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
    if not path.exists():
        return {}
    with _lock, path.open("rb") as handle:
        parsed = read_po(handle, locale=locale)
    return {
        str(message.id): str(message.string)
        for message in parsed
        if message.id and message.string and not message.fuzzy
    }


def translate(message: str, locale: str = DEFAULT_LOCALE, **params: object) -> str:
    text = catalogue(locale).get(message, message) if locale != "en" else message
    return text.format(**params) if params else text


def negotiate(accept_language: str | None, default: str = DEFAULT_LOCALE) -> str:
    """The best of our locales for an `Accept-Language` header (`uz, ru;q=0.8, *;q=0.1`)."""
    if not accept_language:
        return default
    weighted: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept_language.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        language = tag.strip().lower().split("-")[0]
        if language in LOCALES and quality > 0:
            weighted.append((-quality, position, language))
    return min(weighted)[2] if weighted else default
