"""Native notifications: the tray's own (Windows toast, macOS Notification Center,
org.freedesktop.Notifications via the StatusNotifierItem path), and on Linux a direct
D-Bus call when there is no tray to carry them.
"""

from __future__ import annotations

import logging
import sys
import threading

from PySide6.QtWidgets import QSystemTrayIcon

from tray_app import APP_NAME
from tray_app.texts import Notice

log = logging.getLogger(__name__)
TIMEOUT_MS = 15_000


def _dbus_notify(title: str, body: str) -> None:
    """Fire-and-forget org.freedesktop.Notifications.Notify with normal urgency."""
    try:
        from jeepney import DBusAddress, new_method_call
        from jeepney.io.blocking import open_dbus_connection
    except ImportError:
        log.warning("no notification: no tray and no D-Bus library")
        return
    address = DBusAddress("/org/freedesktop/Notifications", bus_name="org.freedesktop.Notifications",
                          interface="org.freedesktop.Notifications")
    message = new_method_call(address, "Notify", "susssasa{sv}i",
                              (APP_NAME, 0, "dialog-warning", title, body, [], {"urgency": ("y", 1)}, TIMEOUT_MS))
    try:
        with open_dbus_connection(bus="SESSION") as connection:
            connection.send_and_get_reply(message, timeout=3)
    except Exception as exc:
        log.warning("notification over D-Bus failed: %s", type(exc).__name__)


def show_notice(tray: QSystemTrayIcon, notice: Notice) -> None:
    """Warning level, never Critical: on Linux, Critical turns into a dialog that must be dismissed."""
    if QSystemTrayIcon.isSystemTrayAvailable() and tray.isVisible():
        tray.showMessage(notice.title, notice.body, QSystemTrayIcon.MessageIcon.Warning, TIMEOUT_MS)
    elif sys.platform.startswith("linux"):
        threading.Thread(target=_dbus_notify, args=(notice.title, notice.body), daemon=True,
                         name="credit-tray-notify").start()
    log.info("notified: %s", notice.title)
