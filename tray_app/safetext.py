"""Text from outside (provider messages, config labels and ids) stays text.

A terminal obeys control characters (colours, clear-screen, window titles), a bidi
override (U+202E) reverses what follows, a newline forges a table row, and notification
servers and some Qt widgets read ``<b>`` or ``<img src=…>`` as markup. These helpers
find such characters, escape them for a terminal, and escape markup where it is parsed.
"""

from __future__ import annotations

import html
import math
import re
import unicodedata
from collections import Counter
from itertools import pairwise

from tray_app.i18n import _

#: Joins emoji into one picture and moves nothing: allowed in labels although it is format (Cf).
_ALLOWED_FORMAT = {"\u200d"}


def is_unsafe_char(char: str) -> bool:
    """Control (Cc), format (Cf: bidi marks and overrides, invisible characters) or a line/paragraph separator."""
    if char in _ALLOWED_FORMAT:
        return False
    return unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp")


def unsafe_chars(text: str) -> list[str]:
    """The unsafe characters in ``text`` as code points ("U+202E"), each once, in order of appearance."""
    found: dict[str, None] = {}
    for char in text:
        if is_unsafe_char(char):
            found.setdefault(f"U+{ord(char):04X}", None)
    return list(found)


def text_problem(field: str, text: str) -> str | None:
    """Why ``text`` may not be used as ``field`` (naming the field), or None if it may."""
    codes = unsafe_chars(text)
    if not codes:
        return None
    shown = ", ".join(codes[:3]) + (" …" if len(codes) > 3 else "")
    return _("{field} contains control or invisible formatting characters ({codes})").format(field=field, codes=shown)


def for_terminal(text: str) -> str:
    """``text`` with every unsafe character written as an escape (\\x1b, \\n, \\u202e): one harmless line."""
    if not any(is_unsafe_char(char) for char in text):
        return text
    out = []
    for char in text:
        if not is_unsafe_char(char):
            out.append(char)
        elif ord(char) < 0x100:
            out.append(f"\\x{ord(char):02x}")
        else:
            out.append(f"\\u{ord(char):04x}")
    return "".join(out)


def markup_escape(text: str) -> str:
    """``&``, ``<`` and ``>`` as entities: what the notification spec's body markup needs."""
    return html.escape(text, quote=False)


# --------------------------------------------------------------------------- key-like text

#: Prefixes API keys commonly carry (OpenAI/Stripe style "sk-", "sk_live_", "pk_", "rk_", …).
_KEY_PREFIX = re.compile(r"^(sk|pk|rk|ak|api|key|token|secret|bearer)[-_]", re.IGNORECASE)
_KEY_TOKEN = re.compile(r"[A-Za-z0-9_\-.+=:~]{12,}")  # no "/": paths are not keys


def _entropy_bits(text: str) -> float:
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def looks_like_key(text: str) -> bool:
    """True for text that is probably an API key pasted in the wrong place.

    A known key prefix and 12 characters or more, or 20 characters or more that mix digits,
    capitals and small letters the way a random string does (switching between them often,
    3 bits per character or more). A name such as ``meowload-prod-2024`` does not.
    """
    value = text.strip()
    if len(value) >= 12 and _KEY_PREFIX.match(value):
        return True
    if len(value) < 20:
        return False
    def kind(char: str) -> str:
        return "digit" if char.isdigit() else "upper" if char.isupper() else "lower" if char.isalpha() else ""

    # Random strings jump between digits, capitals and small letters; names keep their parts together
    # (a capital followed by small letters starts a word, as in CamelCase, and does not count).
    switches = sum(bool(kind(a)) and bool(kind(b)) and kind(a) != kind(b) and (kind(a), kind(b)) != ("upper", "lower")
                   for a, b in pairwise(value))
    letters = sum(c.isalpha() for c in value)
    return letters >= 4 and switches >= 4 and _entropy_bits(value) >= 3.0


def hide_keys(text: str, placeholder: str | None = None) -> str:
    """``text`` with every word that looks like a key replaced (for messages that quote what was typed)."""
    hidden = _("[hidden: looks like an API key]") if placeholder is None else placeholder

    def replace(match: re.Match[str]) -> str:
        word = match.group(0)
        name, sep, value = word.partition("=")
        if sep and value and looks_like_key(value):
            return f"{name}={hidden}"
        return hidden if looks_like_key(word) else word

    return _KEY_TOKEN.sub(replace, text)
