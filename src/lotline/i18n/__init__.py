"""Translations (zh_CN, en) loaded from the shipped .po catalogs at start-up.

A fresh clone has no compiled .mo files, so the catalogs are compiled in memory when first
needed. Accept-Language tags (zh, zh-CN, zh-Hans, zh-Hans-CN, en-US …) map to our two
locales here, because ``babel.Locale.parse("zh-CN")`` does not accept them (TRAPS.md).
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

CATALOG_DIR = Path(__file__).parent
DOMAIN = "messages"
LANGUAGES = ("zh_CN", "en")

log = logging.getLogger(__name__)


@cache
def translations(language: str) -> NullTranslations:
    """The catalog for ``language`` (``zh_CN`` or ``en``), compiled in memory."""
    po_path = CATALOG_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not po_path.exists():
        return NullTranslations()
    with po_path.open("rb") as handle:
        catalog = read_po(handle, locale=language)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer, domain=DOMAIN)


MISSING: set[str] = set()  # zh_CN messages asked for but not in the catalog (bounded, for tests and logs)
_MISSING_LIMIT = 1000


def gettext_for(language: str) -> Callable[[str], str]:
    """A ``gettext`` function for ``language``.

    In Chinese, a message the catalog lacks is shown in English and remembered in
    :data:`MISSING` (and logged once), so a page test can prove nothing shows untranslated.
    """
    chosen = normalize(language) or "en"
    catalog = translations(chosen)
    if chosen != "zh_CN":
        return catalog.gettext
    known: dict[object, str] = getattr(catalog, "_catalog", {})

    def gettext(message: str) -> str:
        if message and message not in known and message not in MISSING and len(MISSING) < _MISSING_LIMIT:
            MISSING.add(message)
            log.warning("no zh_CN translation for %r", message)
        return catalog.gettext(message)

    return gettext


def normalize(tag: str | None) -> str | None:
    """Map a language tag to ``zh_CN`` or ``en``; None when it is neither."""
    if not tag:
        return None
    primary = tag.strip().replace("_", "-").split("-")[0].lower()
    if primary == "zh":
        return "zh_CN"
    if primary == "en":
        return "en"
    return None


def negotiate(accept_language: str | None, *, preferred: str | None, default: str) -> str:
    """The user's own setting, else the best Accept-Language match, else the default."""
    chosen = normalize(preferred)
    if chosen:
        return chosen
    if accept_language:
        ranked: list[tuple[float, int, str]] = []
        for position, part in enumerate(accept_language.split(",")):
            tag, _, params = part.strip().partition(";")
            quality = 1.0
            if params.strip().startswith("q="):
                try:
                    quality = float(params.strip()[2:])
                except ValueError:
                    quality = 0.0
            language = normalize(tag)
            if language and quality > 0:
                ranked.append((-quality, position, language))
        if ranked:
            return sorted(ranked)[0][2]
    return normalize(default) or "en"
