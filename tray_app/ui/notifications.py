"""Native notifications: the tray's own (Windows toast, macOS Notification Center,
org.freedesktop.Notifications via the StatusNotifierItem path), and on Linux a direct
D-Bus call when there is no tray to carry them.
"""

from __future__ import annotations

import logging
import sys
import threading

from PySide6.QtWidgets import QApplication, QSystemTrayIcon

from tray_app import APP_NAME
from tray_app.safetext import markup_escape
from tray_app.texts import Notice

log = logging.getLogger(__name__)
TIMEOUT_MS = 15_000


def dbus_body(body: str, *, markup: bool = True) -> str:
    """The body as org.freedesktop.Notifications reads it: a server with "body-markup" parses
    ``<b>``, ``<a href>`` and ``<img src>``, so the text (a provider's message, a config label) is escaped."""
    return markup_escape(body) if markup else body


def _qt_sends_over_dbus() -> bool:
    """Whether Qt's own tray hands messages to org.freedesktop.Notifications (its StatusNotifierItem
    tray does; the old XEmbed tray draws them itself, as plain text, in a top-level QSystemTrayIconSys)."""
    app = QApplication.instance()
    widgets = app.topLevelWidgets() if isinstance(app, QApplication) else []
    return not any(w.metaObject().className() == "QSystemTrayIconSys" for w in widgets)


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
    try:
        with open_dbus_connection(bus="SESSION") as connection:
            # A server without body markup shows the text as it is: escaping would show "&amp;".
            reply = connection.send_and_get_reply(new_method_call(address, "GetCapabilities"), timeout=3)
            markup = bool(reply.body) and "body-markup" in reply.body[0]
            message = new_method_call(address, "Notify", "susssasa{sv}i",
                                      (APP_NAME, 0, "dialog-warning", title, dbus_body(body, markup=markup), [],
                                       {"urgency": ("y", 1)}, TIMEOUT_MS))
            connection.send_and_get_reply(message, timeout=3)
    except Exception as exc:
        log.warning("notification over D-Bus failed: %s", type(exc).__name__)


def show_notice(tray: QSystemTrayIcon, notice: Notice) -> None:
    """Warning level, never Critical: on Linux, Critical turns into a dialog that must be dismissed."""
    if QSystemTrayIcon.isSystemTrayAvailable() and tray.isVisible():
        # On Linux Qt passes the body on to org.freedesktop.Notifications and to the StatusNotifierItem
        # tooltip's description, both markup; elsewhere (and in the XEmbed balloon) it is plain text.
        markup = sys.platform.startswith("linux") and _qt_sends_over_dbus()
        tray.showMessage(notice.title, dbus_body(notice.body, markup=markup), QSystemTrayIcon.MessageIcon.Warning,
                         TIMEOUT_MS)
    elif sys.platform.startswith("linux"):
        threading.Thread(target=_dbus_notify, args=(notice.title, notice.body), daemon=True,
                         name="credit-tray-notify").start()
    log.info("notified: %s", notice.title)
