"""The floor for bench/packaging.py: a bare PySide6 tray "hello world".

A QApplication, a QSystemTrayIcon with a drawn icon and a small QMenu, and nothing else:
no config, no keyring, no HTTP, no SVG. It stays until SIGTERM (or the menu's Quit).

    python bench/hello_tray.py
"""

import signal
import sys

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import QApplication, QMenu, QSystemTrayIcon


def icon() -> QIcon:
    pixmap = QPixmap(64, 64)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setBrush(QColor("#F2B01E"))
    painter.setPen(Qt.PenStyle.NoPen)
    painter.drawEllipse(4, 4, 56, 56)
    painter.end()
    return QIcon(pixmap)


def main() -> int:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    app = QApplication(sys.argv[:1])
    app.setApplicationName("hello-tray")
    app.setQuitOnLastWindowClosed(False)
    menu = QMenu()
    menu.addAction("Hello: 1,500 credits")
    menu.addSeparator()
    menu.addAction("Quit").triggered.connect(app.quit)
    tray = QSystemTrayIcon(icon())
    tray.setToolTip("hello-tray")
    tray.setContextMenu(menu)
    tray.show()
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
