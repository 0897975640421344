"""The engine's and the command line's words in the user's language: GNU gettext, no Qt.

The catalogue's source is ``i18n/zh_CN.po``; ``scripts/translations.py compile`` turns it into
``resources/i18n/credit-tray.zh_CN.mo`` (at set-up and by the installers' build), which this module
reads with the standard library. The GUI's own words live in Qt's catalogue (``i18n/credit_tray.zh_CN.ts``);
each string is in exactly one of the two. The strings here are looked up when they are shown, so
switching language (Settings does, at once) changes every later text without a restart.

Mark with ``_("…")`` where a text is made, ``N_("…")`` where it is declared as data and translated
later with ``_(value)``, ``ngettext(singular, plural, n)`` for counts. Placeholders are named
(``{title}``), never glued fragments, so a translation may put them in its own order.
"""

from __future__ import annotations

import gettext as _gettext
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from tray_app.language import resolve_language

DOMAIN = "credit-tray"
#: Interface languages, by the code the ``language`` setting uses; the first is the source language.
LANGUAGES = ("en", "zh")
#: The catalogue each non-source language reads, by its gettext/Qt locale name.
CATALOGUE_LOCALES = {"zh": "zh_CN"}

_translations: _gettext.NullTranslations = _gettext.NullTranslations()
_language = "en"


def catalogue_dir() -> Path:
    """Where the compiled catalogues are: ``tray_app.resources/i18n`` (source tree, wheel or frozen bundle)."""
    from importlib.util import find_spec

    spec = find_spec("tray_app.resources")
    folders = list(spec.submodule_search_locations or []) if spec is not None else []
    return Path(folders[0] if folders else Path(__file__).parent / "resources") / "i18n"


def interface_language(setting: str) -> str:
    """The interface language for a ``language`` setting: auto follows the locale; unknown ones get English."""
    code = resolve_language(setting)
    return code if code in LANGUAGES else "en"


def set_language(code: str) -> bool:
    """Speak ``code`` ("en" or "zh") from now on; False (and English) when its catalogue is missing."""
    global _translations, _language
    if code == _language:  # already spoken: its catalogue is loaded (reading it again costs ~1 ms)
        return True
    if code not in CATALOGUE_LOCALES:
        _translations, _language = _gettext.NullTranslations(), "en"
        return code == "en"
    path = catalogue_dir() / f"{DOMAIN}.{CATALOGUE_LOCALES[code]}.mo"
    try:
        with path.open("rb") as file:
            _translations = _gettext.GNUTranslations(file)
    except (OSError, ValueError):  # not compiled (a bare checkout) or damaged: English rather than nothing
        _translations, _language = _gettext.NullTranslations(), "en"
        return False
    _language = code
    return True


def use_setting(setting: str) -> str:
    """Apply a ``language`` setting ("auto", "en", "zh"); returns the language now spoken."""
    set_language(interface_language(setting))
    return _language


def current_language() -> str:
    return _language


def _(message: str) -> str:
    """``message`` in the current language."""
    return _translations.gettext(message)


def ngettext(singular: str, plural: str, count: int) -> str:
    """The form of a counted message for ``count`` in the current language (English: 1 is singular)."""
    return _translations.ngettext(singular, plural, count)


def N_(message: str) -> str:
    """Mark ``message`` for the catalogue without translating it yet (data translated when shown)."""
    return message


#: Short weekday and month names, Monday first and January first, as the catalogue renders them.
WEEKDAYS = (N_("Mon"), N_("Tue"), N_("Wed"), N_("Thu"), N_("Fri"), N_("Sat"), N_("Sun"))
MONTHS = (N_("Jan"), N_("Feb"), N_("Mar"), N_("Apr"), N_("May"), N_("Jun"), N_("Jul"), N_("Aug"), N_("Sep"),
          N_("Oct"), N_("Nov"), N_("Dec"))


#: The GUI puts QLocale here (``ui.i18n.apply_language``); the command line uses the catalogue's rule.
_day_formatter: Callable[[datetime], str] | None = None


def set_day_formatter(formatter: Callable[[datetime], str] | None) -> None:
    global _day_formatter
    _day_formatter = formatter


def day_name(moment: datetime) -> str:
    """'Tue 2 Dec' / '12月2日周二' in local time, by QLocale in the GUI and by the same rule here."""
    if _day_formatter is not None:
        return _day_formatter(moment)
    return rule_day_name(moment)


def rule_day_name(moment: datetime) -> str:
    """The command line's day: the catalogue's pattern and names (tests hold it equal to QLocale's)."""
    local = moment.astimezone()
    # TRANSLATORS: a day as in "runs out around Tue 2 Dec"; keep the placeholders, reorder freely.
    return _("{weekday} {day} {month}").format(weekday=_(WEEKDAYS[local.weekday()]), day=local.day,
                                               month=_(MONTHS[local.month - 1]))


def clock_time(moment: datetime) -> str:
    """'14:05' in local time (24-hour in both languages)."""
    return f"{moment.astimezone():%H:%M}"
