"""About: version, and where the app keeps its files, each a button away in the file manager."""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import QEvent, Qt, QUrl
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
        self._config_file, self._data_dir, self._log_file = config_file, data_dir, log_file
        layout = QVBoxLayout(self)
        self.text = QLabel()
        self.text.setTextFormat(Qt.TextFormat.RichText)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.text)

        buttons = QHBoxLayout()
        self.open_config = QPushButton()
        self.open_config.clicked.connect(lambda: self._open(config_file.parent))
        self.open_data = QPushButton()
        self.open_data.clicked.connect(lambda: self._open(data_dir))
        self.open_log = QPushButton()
        self.open_log.setEnabled(log_file is not None)
        if log_file is not None:
            self.open_log.clicked.connect(lambda: self._open(log_file))
        for button in (self.open_config, self.open_data, self.open_log):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)  # Qt's own catalogue names it
        close.rejected.connect(self.close)
        layout.addWidget(close)
        self.retranslate()

    def retranslate(self) -> None:
        """Every word again in the current language (Qt's LanguageChange, e.g. a switch in Settings)."""
        self.setWindowTitle(self.tr("About {app}").format(app=APP_NAME))

        def where(name: str, path: Path | None) -> str:
            shown = html.escape(str(path)) if path else html.escape(self.tr("not written"))
            # a file or folder the app uses, e.g. "Config: /home/me/.config/credit-tray/config.toml".
            unbroken = f"<span style='white-space: nowrap'>{shown}</span>"  # untranslated: markup; never wrapped
            return html.escape(self.tr("{name}: {path}")).format(name=html.escape(name), path=unbroken)

        lines = [where(self.tr("Config"), self._config_file), where(self.tr("Data"), self._data_dir),
                 where(self.tr("Log"), self._log_file)]
        self.text.setText(
            f"<b>{APP_NAME}</b> {__version__}<br>"  # untranslated: the product's name and version
            + html.escape(self.tr("Prepaid API credit balances in your tray.")) + "<br><br>"
            + "<br>".join(lines) + "<br><br>" + html.escape(self.tr("API keys are kept in your OS keyring only.")))
        self.open_config.setText(self.tr("Open &config folder"))
        self.open_data.setText(self.tr("Open &data folder"))
        self.open_log.setText(self.tr("Open &log"))
        self.adjustSize()

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    @staticmethod
    def _open(path: Path) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(_nearest_existing(path))))
