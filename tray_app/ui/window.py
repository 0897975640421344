"""A small balances window for desktops with no system tray (and for anyone who opens it)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QT_TRANSLATE_NOOP, QEvent, Qt
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QPushButton, QVBoxLayout, QWidget

from tray_app import APP_NAME

NO_TRAY_HELP = str(QT_TRANSLATE_NOOP(
    "BalancesWindow",
    "No system tray was found, so Credit Tray shows your balances here. "
    "On GNOME, install the \u201cAppIndicator and KStatusNotifierItem Support\u201d extension "
    "and log in again; on other desktops, add a system tray (notification area) to a panel. "
    "Notifications still arrive either way.",
))


class BalancesWindow(QWidget):
    def __init__(self, on_refresh: Callable[[], None], on_settings: Callable[[], None],
                 on_quit: Callable[[], None], notice: str = "") -> None:
        """``notice``: an English source text (``NO_TRAY_HELP``), shown in the current language."""
        super().__init__()
        self.setWindowTitle(APP_NAME)
        self.setMinimumWidth(460)
        layout = QVBoxLayout(self)
        self._notice = notice
        self.notice = QLabel()
        self.notice.setTextFormat(Qt.TextFormat.PlainText)
        self.notice.setWordWrap(True)
        layout.addWidget(self.notice)
        self.rows = QListWidget()
        layout.addWidget(self.rows)
        buttons = QHBoxLayout()
        self.refresh_button = QPushButton()
        self.settings_button = QPushButton()
        self.quit_button = QPushButton()
        for button, action in ((self.refresh_button, on_refresh), (self.settings_button, on_settings),
                               (self.quit_button, on_quit)):
            button.clicked.connect(action)
            buttons.addWidget(button)
        layout.addLayout(buttons)
        self.retranslate()

    def retranslate(self) -> None:
        """Every word again in the current language; the rows are the controller's (it rewrites them)."""
        self.set_notice(self._notice)
        self.rows.setAccessibleName(self.tr("Balances"))
        self.refresh_button.setText(self.tr("&Refresh now"))
        self.settings_button.setText(self.tr("&Settings…"))
        self.quit_button.setText(self.tr("&Quit"))

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def set_notice(self, text: str) -> None:
        """``text``: an English source text of this window's context (or "" for none)."""
        self._notice = text
        self.notice.setText(self.tr(text) if text else "")
        self.notice.setVisible(bool(text))

    def set_rows(self, rows: list[tuple[QIcon, str]]) -> None:
        while self.rows.count() > len(rows):
            self.rows.takeItem(self.rows.count() - 1)
        for index, (icon, text) in enumerate(rows):
            if index >= self.rows.count():
                added = QListWidgetItem()
                added.setFlags(added.flags() & ~Qt.ItemFlag.ItemIsEditable)
                self.rows.addItem(added)
            item = self.rows.item(index)
            item.setIcon(icon)
            item.setText(text)
