"""The GUI's language: Qt's translators for our words and Qt's own, QLocale for numbers and dates.

``apply_language`` switches everything at once: the engine's gettext catalogue (``tray_app.i18n``),
our Qt catalogue and Qt's own (the standard buttons of a dialog), and the default QLocale. Installing a
translator sends every widget a LanguageChange event; the tray and its windows rebuild their texts
then (see ``TrayController``), so Settings' choice takes effect without a restart.
"""

from __future__ import annotations

import logging
from datetime import datetime

from PySide6.QtCore import QCoreApplication, QDateTime, QLibraryInfo, QLocale, QTimeZone, QTranslator

from tray_app import i18n, language

log = logging.getLogger(__name__)


def _qt_system_locale() -> str | None:
    """The desktop's first interface language, e.g. "zh-Hans-CN" (Qt reads it from the OS, not only LANG)."""
    languages = QLocale.system().uiLanguages()
    return languages[0].replace("-", "_") if languages else None


language.set_system_locale_source(_qt_system_locale)

# QLocale patterns that give what ``tray_app.i18n.day_name`` gives the command line.
DAY_PATTERNS = {"en": "ddd d MMM", "zh": "MMMd日ddd"}  # untranslated: QLocale date patterns
QT_LOCALES = {"en": QLocale(QLocale.Language.English, QLocale.Country.UnitedStates),
              "zh": QLocale(QLocale.Language.Chinese, QLocale.Script.SimplifiedHanScript,
                            QLocale.Country.China)}

_installed: list[QTranslator] = []


def apply_language(code: str) -> str:
    """Speak ``code`` ("en" or "zh") in the whole app from now on; returns the language actually used."""
    app = QCoreApplication.instance()
    if not i18n.set_language(code) and code != "en":
        log.warning("no compiled catalogue for %r: the interface stays in English", code)
    spoken = i18n.current_language()
    translators = []
    if spoken != "en" and app is not None:
        locale_name = i18n.CATALOGUE_LOCALES[spoken]
        ours = QTranslator()
        if ours.load(str(i18n.catalogue_dir() / f"credit_tray.{locale_name}.qm")):
            translators.append(ours)
        qt_own = QTranslator()
        if qt_own.load(f"qtbase_{locale_name}", QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)):
            translators.append(qt_own)
    if app is not None:
        for old in _installed:
            app.removeTranslator(old)
        _installed[:] = translators
        for translator in translators:
            app.installTranslator(translator)
    # The user's own locale when it speaks the same language (its number and date habits stay);
    # otherwise the language's usual one, so a Chinese interface never shows German separators.
    system = QLocale.system()
    QLocale.setDefault(system if system.language() == QT_LOCALES[spoken].language() else QT_LOCALES[spoken])
    i18n.set_day_formatter(day_name)
    return spoken


def day_name(moment: datetime) -> str:
    """'Tue 2 Dec' / '12月2日周二' by QLocale, in local time."""
    local = QDateTime.fromSecsSinceEpoch(int(moment.timestamp()), QTimeZone.systemTimeZone())
    # The language's own locale, not the user's variant of it (en_GB says "Sept"): the menu and the
    # command line must name the same day the same way.
    language = i18n.current_language()
    return QT_LOCALES[language].toString(local, DAY_PATTERNS[language])
