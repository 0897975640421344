"""About: version, and where the app keeps its files, each a button away in the file manager."""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from tray_app import APP_NAME, __version__


def _nearest_existing(path: Path) -> Path:
    """The folder itself, or the closest parent that exists (a fresh install has no data folder yet)."""
    while not path.exists() and path.parent != path:
        path = path.parent
    return path


class AboutDialog(QDialog):
    def __init__(self, config_file: Path, data_dir: Path, log_file: Path | None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"About {APP_NAME}")
        layout = QVBoxLayout(self)

        def where(name: str, path: Path | None) -> str:
            shown = html.escape(str(path)) if path else "not written"
            return f"{name}: <span style='white-space: nowrap'>{shown}</span>"  # never wrapped mid-path

        text = QLabel(
            f"<b>{APP_NAME}</b> {__version__}<br>Prepaid API credit balances in your tray.<br><br>"
            + "<br>".join([where("Config", config_file), where("Data", data_dir), where("Log", log_file)])
            + "<br><br>API keys are kept in your OS keyring only.")
        text.setTextFormat(Qt.TextFormat.RichText)
        text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(text)

        buttons = QHBoxLayout()
        self.open_config = QPushButton("Open &config folder")
        self.open_config.clicked.connect(lambda: self._open(config_file.parent))
        self.open_data = QPushButton("Open &data folder")
        self.open_data.clicked.connect(lambda: self._open(data_dir))
        self.open_log = QPushButton("Open &log")
        self.open_log.setEnabled(log_file is not None)
        if log_file is not None:
            self.open_log.clicked.connect(lambda: self._open(log_file))
        for button in (self.open_config, self.open_data, self.open_log):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.close)
        layout.addWidget(close)

    @staticmethod
    def _open(path: Path) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(_nearest_existing(path))))
