"""Which language to ask providers for, when the setting is ``auto``.

The usual precedence for messages (POSIX and GNU gettext): the first of ``LC_ALL``,
``LC_MESSAGES`` and ``LANG`` that is set names the locale; when that locale is not C/POSIX,
``LANGUAGE`` (a colon-separated preference list) overrides it with its first entry. Without
any of them (macOS, Windows) the system locale decides.
"""

from __future__ import annotations

import locale
import os
import sys
from collections.abc import Callable, Mapping


def _is_c(name: str) -> bool:
    return name in ("C", "POSIX") or name.startswith("C.")


def _code(name: str) -> str:
    """'zh_CN.UTF-8@pinyin' → 'zh'."""
    return name.split(".")[0].split("@")[0].split("_")[0].split("-")[0].lower() or "en"


def resolve_language(setting: str, environ: Mapping[str, str] | None = None) -> str:
    """The language to ask providers for: the setting, or the user's locale for ``auto``."""
    if setting != "auto":
        return setting
    env = os.environ if environ is None else environ
    current = next((env[name] for name in ("LC_ALL", "LC_MESSAGES", "LANG") if env.get(name)), "")
    if current:
        if _is_c(current):
            return "en"
        preferred = [entry for entry in env.get("LANGUAGE", "").split(":") if entry]
        if preferred and not _is_c(preferred[0]):
            return _code(preferred[0])
        return _code(current)
    code = _system_locale()
    return _code(code) if code and not _is_c(code) else "en"


def _python_system_locale() -> str | None:
    """The user's locale where no variable names it: Windows' UI language, else the C library's."""
    if sys.platform == "win32":
        import ctypes

        # e.g. 0x0804 → "zh_CN"; Python's getlocale() says "C" until setlocale() and then a display name.
        return locale.windows_locale.get(ctypes.windll.kernel32.GetUserDefaultUILanguage())  # type: ignore[attr-defined]
    return locale.getlocale()[0]


_system_locale: Callable[[], str | None] = _python_system_locale


def set_system_locale_source(source: Callable[[], str | None]) -> None:
    """Where ``auto`` looks when no variable names a locale: the GUI asks Qt, which knows the desktop's
    language on macOS and Windows (an app started from Finder or the Start menu has no LANG)."""
    global _system_locale
    _system_locale = source
