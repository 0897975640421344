"""Opens the real account editor on the session's display, fills a custom provider and presses Test.

Run by tests/test_e2e_custom.py as ``python -m tests.desktop.custom_editor CONFIG URL READY``:
once Test has answered it writes the window's geometry to READY and stays open until killed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QLineEdit

from tray_app.config import load
from tray_app.engine import Engine
from tray_app.history import HistoryStore
from tray_app.keys import KeyStore
from tray_app.ui.account_editor import AccountDialog
from tray_app.ui.settings_backend import SettingsBackend

KEY = "sk-screenshot-7Hd2Lq9Wx4"


def main() -> int:
    config_path, url, ready = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
    app = QApplication([])
    engine = Engine(config_path, keys=KeyStore(), history=HistoryStore(ready.parent / "history.sqlite3"))
    backend = SettingsBackend(engine)
    backend.finished.connect(lambda done: done.callback(done.result, done.error))
    dialog = AccountDialog(backend, load(config_path))
    dialog.resize(860, 620)
    dialog.move(20, 20)
    dialog.show()
    dialog.provider.setCurrentIndex(dialog.provider.findData("custom"))
    dialog.label.clear()
    QTest.keyClicks(dialog.label, "Acme")
    QTest.keyClicks(dialog.key, KEY)
    form = dialog.custom_form
    for name, text in (("name", "Acme"), ("url", url), ("remaining", "data.wallet.left"),
                       ("limit", "data.wallet.cap"), ("resets_at", "data.renews_at"), ("unit", "USD")):
        widget = form.inputs[name]
        assert isinstance(widget, QLineEdit)
        widget.setText(text)
    dialog.thresholds.setText("20, 5, 0")
    QTest.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)

    def wait_for_the_answer() -> None:
        if not dialog.test_result.text().startswith(("Works", "Invalid", "Bad", "The")):
            QTimer.singleShot(50, wait_for_the_answer)
            return
        geometry = dialog.frameGeometry()
        ready.write_text(json.dumps({"result": dialog.test_result.text(), "raw": form.raw.toPlainText(),
                                     "x": geometry.x(), "y": geometry.y(), "width": geometry.width(),
                                     "height": geometry.height()}), encoding="utf-8")

    QTimer.singleShot(50, wait_for_the_answer)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
