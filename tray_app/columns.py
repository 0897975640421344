"""Text laid out in a terminal's columns, where a Chinese character takes two and a combining mark none.

``len()`` counts characters, so tables and ``--help`` in Chinese came out ragged or ran past the
terminal's edge. Qt-free and small: the command line imports it on every run.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from tray_app.safetext import for_terminal

#: Full-width punctuation that may not begin a line (it stays with the character before it)...
_CLOSING = "，。、；：！？）》」』】〕…”’"
#: ...and that may not end one (it stays with the character after it).
_OPENING = "（《「『【〔“‘"
_TOKEN = re.compile(r"\s+|[^\s]")


def char_width(char: str) -> int:
    """Columns a terminal gives one character: two for wide (CJK) characters, none for combining marks."""
    if unicodedata.combining(char) or unicodedata.category(char) in ("Mn", "Me", "Cf"):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def display_width(text: str) -> int:
    """Columns a terminal gives ``text``."""
    return sum(char_width(char) for char in text)


def pad(text: str, width: int, *, right: bool = False) -> str:
    """``text`` filled with spaces to ``width`` columns, on the right (or on the left, ``right=True``)."""
    fill = " " * max(0, width - display_width(text))
    return fill + text if right else text + fill


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[int] = ()) -> str:
    """Aligned columns; cells come from the config and from providers, so control characters are escaped."""
    rows = [[for_terminal(str(cell)) for cell in row] for row in rows]
    widths = [max(display_width(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]

    def line(cells: Sequence[str]) -> str:
        out = []
        for i, (cell, width) in enumerate(zip(cells, widths, strict=True)):
            out.append(pad(cell, width, right=i in right))
        return "  ".join(out).rstrip()

    return "\n".join([line(headers), *(line(r) for r in rows)])


def _chunks(text: str) -> list[str]:
    """Where a line may break: at spaces, and between wide characters (not inside brackets' edges)."""
    chunks: list[str] = []
    for piece in _TOKEN.findall(text):
        if piece.isspace():
            chunks.append(" ")
        elif chunks and chunks[-1] != " " and (piece in _CLOSING or chunks[-1][-1] in _OPENING or (
                char_width(piece) < 2 and char_width(chunks[-1][-1]) < 2)):
            chunks[-1] += piece  # a Latin word stays whole; punctuation stays with what it opens or closes
        else:
            chunks.append(piece)
    return chunks


def wrap(text: str, width: int) -> list[str]:
    """``text`` in lines of at most ``width`` columns (a word longer than that gets a line of its own)."""
    lines: list[str] = []
    line = ""
    for chunk in _chunks(" ".join(text.split())):
        if chunk == " ":
            if line:
                line += " "
            continue
        if line and display_width(line + chunk) > width:  # the space before the chunk takes a column too
            lines.append(line.rstrip())
            line = ""
        line += chunk
    if line.strip():
        lines.append(line.rstrip())
    return lines
