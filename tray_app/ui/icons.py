"""The tray icon: a coin glyph with a state badge, drawn from the SVGs in ``resources/``.

Rendered once per (state, number) at every size a panel may ask for (16 to 128 px),
so it stays crisp on HiDPI. On macOS the icon is a template (mask) image, so the
menu bar tints it; there the badges' shapes, not their colours, tell the states apart.
"""

from __future__ import annotations

import sys
from enum import StrEnum

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QIcon, QPainter, QPainterPath, QPen, QPixmap
from PySide6.QtSvg import QSvgRenderer

from tray_app.model import AccountState
from tray_app.ui.resources import resource_bytes

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


class IconFactory:
    def __init__(self, *, template: bool | None = None) -> None:
        self._template = sys.platform == "darwin" if template is None else template
        self._coin = QSvgRenderer(resource_bytes("coin.svg"))
        self._badges = {state: QSvgRenderer(resource_bytes(name)) for state, name in _BADGES.items()}
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
        pixmap = QPixmap(size, size)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        self._coin.render(painter, QRectF(0, 0, size, size))
        if state is IconState.UNKNOWN:  # not fetched yet: a greyed coin, no badge
            painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_SourceAtop)
            painter.fillRect(pixmap.rect(), QColor(150, 150, 150, 190))
            painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_SourceOver)
        if number:
            self._draw_number(painter, size, number, QColor(STATE_COLORS[state]))
        elif state in self._badges:
            badge = size * 0.56
            self._badges[state].render(painter, QRectF(size - badge, size - badge, badge, badge))
        if self._template:
            painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_SourceIn)
            painter.fillRect(pixmap.rect(), QColor("black"))
        painter.end()
        return pixmap

    @staticmethod
    def _draw_number(painter: QPainter, size: int, text: str, colour: QColor) -> None:
        """A band across the lower half with the number in bold white, as large as fits."""
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


def dot_icon(state: IconState, size: int = 16) -> QIcon:
    """A small coloured dot for a menu row's state."""
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor(STATE_COLORS[state]))
    painter.drawEllipse(QRectF(size * 0.2, size * 0.2, size * 0.6, size * 0.6))
    painter.end()
    return QIcon(pixmap)
