"""Which language to ask providers for, when the setting is ``auto``.

The usual precedence for messages (POSIX and GNU gettext): the first of ``LC_ALL``,
``LC_MESSAGES`` and ``LANG`` that is set names the locale; when that locale is not C/POSIX,
``LANGUAGE`` (a colon-separated preference list) overrides it with its first entry. Without
any of them (macOS, Windows) the system locale decides.
"""

from __future__ import annotations

import locale
import os
from collections.abc import Mapping


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
    code = locale.getlocale()[0]
    return _code(code) if code and not _is_c(code) else "en"
