"""A small balances window for desktops with no system tray (and for anyone who opens it)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QPushButton, QVBoxLayout, QWidget

from tray_app import APP_NAME

NO_TRAY_HELP = (
    "No system tray was found, so Credit Tray shows your balances here. "
    "On GNOME, install the \u201cAppIndicator and KStatusNotifierItem Support\u201d extension "
    "and log in again; on other desktops, add a system tray (notification area) to a panel. "
    "Notifications still arrive either way."
)


class BalancesWindow(QWidget):
    def __init__(self, on_refresh: Callable[[], None], on_settings: Callable[[], None],
                 on_quit: Callable[[], None], notice: str = "") -> None:
        super().__init__()
        self.setWindowTitle(APP_NAME)
        self.setMinimumWidth(460)
        layout = QVBoxLayout(self)
        self.notice = QLabel(notice)
        self.notice.setTextFormat(Qt.TextFormat.PlainText)
        self.notice.setWordWrap(True)
        self.notice.setVisible(bool(notice))
        layout.addWidget(self.notice)
        self.rows = QListWidget()
        self.rows.setAccessibleName("Balances")
        layout.addWidget(self.rows)
        buttons = QHBoxLayout()
        self.refresh_button = QPushButton("&Refresh now")
        for button, action in ((self.refresh_button, on_refresh), (QPushButton("&Settings…"), on_settings),
                               (QPushButton("&Quit"), on_quit)):
            button.clicked.connect(action)
            buttons.addWidget(button)
        layout.addLayout(buttons)

    def set_notice(self, text: str) -> None:
        self.notice.setText(text)
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
