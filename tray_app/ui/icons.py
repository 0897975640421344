"""The tray icon: a coin glyph with a state badge, drawn from the SVGs in ``resources/``.

Rendered once per (state, number) at every size a panel may ask for (16 to 128 px),
so it stays crisp on HiDPI. On macOS the icon is a template (mask) image, so the
menu bar tints it; there the badges' shapes, not their colours, tell the states apart.

The icons without a number come ready-drawn from ``resources/icon-<state>.png`` (every size
side by side; ``python -m tray_app.ui.icons`` draws them again from the SVGs): the first icon
then shows without loading QtSvg and parsing the SVGs, about 20 ms of every start.
"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPainterPath, QPen, QPixmap

from tray_app.model import AccountState
from tray_app.ui.resources import resource_bytes

if TYPE_CHECKING:
    from PySide6.QtSvg import QSvgRenderer

SIZES = (16, 22, 24, 32, 48, 64, 128)


class IconState(StrEnum):
    OK = "ok"
    LOW = "low"
    EXHAUSTED = "exhausted"
    ERROR = "error"
    UNKNOWN = "unknown"  # not fetched yet
    REFRESHING = "refreshing"


_WORST_FIRST = (AccountState.EXHAUSTED, AccountState.ERROR, AccountState.LOW, AccountState.OK)
_BADGES = {
    IconState.OK: "badge-ok.svg",
    IconState.LOW: "badge-low.svg",
    IconState.EXHAUSTED: "badge-exhausted.svg",
    IconState.ERROR: "badge-error.svg",
    IconState.REFRESHING: "badge-refreshing.svg",
}
STATE_COLORS = {
    IconState.OK: "#2E7D32",
    IconState.LOW: "#EF6C00",
    IconState.EXHAUSTED: "#C62828",
    IconState.ERROR: "#546E7A",
    IconState.UNKNOWN: "#757575",
    IconState.REFRESHING: "#1565C0",
}


def worst_state(states: list[AccountState], *, any_unfetched: bool = False) -> IconState:
    """The state the icon shows: the worst account's; not-fetched only when nothing is known."""
    for state in _WORST_FIRST:
        if state in states:
            return IconState(state.value)
    return IconState.UNKNOWN if any_unfetched or not states else IconState.OK


def strip_name(state: IconState) -> str:
    """The ready-drawn icons of ``state``: every size of ``SIZES``, left to right, top-aligned."""
    return f"icon-{state.value}.png"


class IconFactory:
    def __init__(self, *, template: bool | None = None) -> None:
        self._template = sys.platform == "darwin" if template is None else template
        self._svg: tuple[QSvgRenderer, dict[IconState, QSvgRenderer]] | None = None  # when a number is drawn
        self._strips: dict[IconState, QPixmap | None] = {}
        self._cache: dict[tuple[IconState, str | None], QIcon] = {}

    def icon(self, state: IconState, number: str | None = None) -> QIcon:
        key = (state, number)
        if key not in self._cache:
            icon = QIcon()
            for size in SIZES:
                icon.addPixmap(self.pixmap(state, size, number))
            icon.setIsMask(self._template)
            self._cache[key] = icon
        return self._cache[key]

    def pixmap(self, state: IconState, size: int, number: str | None = None) -> QPixmap:
        strip = self._strip(state) if number is None and size in SIZES else None
        if strip is None:
            return self.drawn(state, size, number)
        pixmap = strip.copy(sum(SIZES[:SIZES.index(size)]), 0, size, size)
        if self._template:
            painter = QPainter(pixmap)
            self._as_template(painter, pixmap)
            painter.end()
        return pixmap

    def _strip(self, state: IconState) -> QPixmap | None:
        if state not in self._strips:
            strip = QPixmap()
            try:
                found = strip.loadFromData(resource_bytes(strip_name(state)), "PNG")
            except OSError:  # not shipped: drawn from the SVGs
                found = False
            self._strips[state] = strip if found else None
        return self._strips[state]

    def _renderers(self) -> tuple[QSvgRenderer, dict[IconState, QSvgRenderer]]:
        if self._svg is None:
            from PySide6.QtSvg import QSvgRenderer

            self._svg = (QSvgRenderer(resource_bytes("coin.svg")),
                         {state: QSvgRenderer(resource_bytes(name)) for state, name in _BADGES.items()})
        return self._svg

    def drawn(self, state: IconState, size: int, number: str | None = None) -> QPixmap:
        """The icon drawn from the SVGs."""
        coin, badges = self._renderers()
        pixmap = QPixmap(size, size)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        coin.render(painter, QRectF(0, 0, size, size))
        if state is IconState.UNKNOWN:  # not fetched yet: a greyed coin, no badge
            painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_SourceAtop)
            painter.fillRect(pixmap.rect(), QColor(150, 150, 150, 190))
            painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_SourceOver)
        if number:
            self._draw_number(painter, size, number, QColor(STATE_COLORS[state]))
        elif state in badges:
            badge = size * 0.56
            badges[state].render(painter, QRectF(size - badge, size - badge, badge, badge))
        if self._template:
            self._as_template(painter, pixmap)
        painter.end()
        return pixmap

    @staticmethod
    def _as_template(painter: QPainter, pixmap: QPixmap) -> None:
        painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_SourceIn)
        painter.fillRect(pixmap.rect(), QColor("black"))

    @staticmethod
    def _draw_number(painter: QPainter, size: int, text: str, colour: QColor) -> None:
        """A band across the lower half with the number in bold white, as large as fits."""
        from PySide6.QtGui import QFont  # only for a number: its enums cost ~6 ms of every start

        band = QRectF(0, size * 0.48, size, size * 0.52)
        painter.setPen(QPen(QColor("white"), max(1.0, size / 32)))
        painter.setBrush(colour)
        painter.drawRoundedRect(band.adjusted(0.5, 0.5, -0.5, -0.5), size * 0.12, size * 0.12)
        font = QFont()
        font.setBold(True)
        pixel = int(band.height() * 0.92)
        while pixel > 5:
            font.setPixelSize(pixel)
            painter.setFont(font)
            if painter.fontMetrics().horizontalAdvance(text) <= size - 2:
                break
            pixel -= 1
        path = QPainterPath()
        metrics = painter.fontMetrics()
        x = (size - metrics.horizontalAdvance(text)) / 2
        y = band.top() + (band.height() + metrics.ascent() - metrics.descent()) / 2
        path.addText(x, y, font, text)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor("white"))
        painter.drawPath(path)


_DOTS: dict[tuple[IconState, int], QIcon] = {}


def dot_icon(state: IconState, size: int = 16) -> QIcon:
    """A small coloured dot for a menu row's state (drawn once per state)."""
    if (state, size) not in _DOTS:
        _DOTS[state, size] = _draw_dot(state, size)
    return _DOTS[state, size]


def _draw_dot(state: IconState, size: int) -> QIcon:
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor(STATE_COLORS[state]))
    painter.drawEllipse(QRectF(size * 0.2, size * 0.2, size * 0.6, size * 0.6))
    painter.end()
    return QIcon(pixmap)


def write_strips(folder: Path) -> None:
    """Draw every state's icons from the SVGs into ``folder`` (a QApplication must exist)."""
    factory = IconFactory(template=False)
    for state in IconState:
        strip = QPixmap(sum(SIZES), max(SIZES))
        strip.fill(Qt.GlobalColor.transparent)
        painter = QPainter(strip)
        left = 0
        for size in SIZES:
            painter.drawPixmap(left, 0, factory.drawn(state, size))
            left += size
        painter.end()
        if not strip.save(str(folder / strip_name(state)), "PNG"):
            raise OSError(f"could not write {folder / strip_name(state)}")  # untranslated: a build step's error


if __name__ == "__main__":
    from PySide6.QtWidgets import QApplication

    _app = QApplication(sys.argv[:1])
    write_strips(Path(__file__).resolve().parents[2] / "resources")
