"""Native notifications.

On Linux they go straight to org.freedesktop.Notifications (never through Qt's tray
message, which on StatusNotifierItem panels swaps the app's icon for a warning triangle
and, on XEmbed trays, draws a balloon whose click also opens the menu): with the app's
name and icon, a default action (a click) and, where the server lists the "actions"
capability, "Top up" and "Snooze" buttons. The server's ActionInvoked signal comes back
here as ``actionInvoked``. Elsewhere (Windows toast, macOS Notification Center) the tray's
own message is used and its click is the default action.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QApplication, QSystemTrayIcon

from tray_app import APP_ID, APP_NAME
from tray_app.safetext import markup_escape
from tray_app.texts import Notice

log = logging.getLogger(__name__)
TIMEOUT_MS = 15_000
BUS_NAME = "org.freedesktop.Notifications"
OBJECT_PATH = "/org/freedesktop/Notifications"
# Action keys: "default" is what a click on the notification does.
DEFAULT, TOP_UP, SNOOZE = "default", "top-up", "snooze"


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


class DesktopNotifier(QObject):
    """org.freedesktop.Notifications over D-Bus (jeepney) on a thread of its own.

    One connection sends Notify and listens for ActionInvoked and NotificationClosed, so
    a click is heard whether or not there is a tray. Signals arrive on the GUI thread.
    """

    actionInvoked = Signal(str, str)  # account id, action key (DEFAULT, TOP_UP or SNOOZE)
    failed = Signal(object)  # texts.Notice that could not be sent (no notification server)

    def __init__(self, icon_file: Callable[[], Path | None] | None = None, parent: QObject | None = None) -> None:
        """``icon_file`` writes the icon for the server, when the first notice goes (many sessions send none)."""
        super().__init__(parent)
        self._icon_file = icon_file
        self.icon_path: Path | None = None
        self._jobs: queue.Queue[Notice | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        # Notification id -> account id, for the ones still on screen.
        self._shown: dict[int, str] = {}
        self._last_id = 0
        self.capabilities: list[str] = []

    def notify(self, notice: Notice) -> None:
        if self._icon_file is not None:
            self.icon_path, self._icon_file = self._icon_file(), None
        if self._thread is None:
            self._thread = threading.Thread(target=self._serve, name="credit-tray-notify", daemon=True)
            self._thread.start()
        self._jobs.put(notice)

    def stop(self, wait_s: float = 0.0) -> None:
        """No more notices; those already queued are still sent, for at most ``wait_s`` (the app is quitting)."""
        thread = self._thread
        if thread is not None:
            self._jobs.put(None)
            if wait_s > 0:
                thread.join(wait_s)

    # ------------------------------------------------------------------ the D-Bus thread
    def _serve(self) -> None:
        try:
            self._serve_until_stopped()
        finally:
            self._thread = None  # the next notice starts a new connection
            self._fail_all()

    def _serve_until_stopped(self) -> None:
        try:
            from jeepney import DBusAddress, MessageType, new_method_call
            from jeepney.bus_messages import MatchRule, message_bus
            from jeepney.io.blocking import open_dbus_connection
        except ImportError:
            log.warning("no notifications: no D-Bus library")
            return
        try:
            connection = open_dbus_connection(bus="SESSION")
        except Exception as exc:
            log.warning("no notifications: no session bus (%s)", type(exc).__name__)
            return
        address = DBusAddress(OBJECT_PATH, bus_name=BUS_NAME, interface=BUS_NAME)
        rule = MatchRule(type="signal", interface=BUS_NAME, path=OBJECT_PATH)
        with contextlib.closing(connection), connection.filter(rule, bufsize=64) as signals:
            try:
                connection.send_and_get_reply(message_bus.AddMatch(rule), timeout=3)
            except Exception as exc:
                log.warning("cannot listen for notification clicks: %s", type(exc).__name__)
            while True:
                try:
                    job: Notice | None = self._jobs.get_nowait()
                    if job is None:
                        return
                    self._send(connection, address, new_method_call, MessageType, job)
                except queue.Empty:
                    pass
                try:
                    message = connection.recv_until_filtered(signals, timeout=0.2)
                except TimeoutError:
                    continue
                except Exception as exc:
                    log.warning("notification connection lost: %s", type(exc).__name__)
                    return
                self._on_signal(message)

    def _fail_all(self) -> None:
        while True:
            try:
                notice = self._jobs.get_nowait()
            except queue.Empty:
                return
            if notice is not None:
                self.failed.emit(notice)

    def _send(self, connection: Any, address: Any, new_method_call: Any, message_type: Any, notice: Notice) -> None:
        try:
            if not self.capabilities:
                reply = connection.send_and_get_reply(new_method_call(address, "GetCapabilities"), timeout=3)
                self.capabilities = list(reply.body[0]) if reply.header.message_type == message_type.method_return \
                    else []
            # translate() is thread-safe; the labels are read now, in the language the notice is in.
            default = {TOP_UP: self.tr("Open top-up page"), "settings": self.tr("Open Settings")}.get(
                notice.action, self.tr("Show balances"))
            actions = [DEFAULT, default]
            if "actions" in self.capabilities and notice.action == TOP_UP:
                actions += [TOP_UP, self.tr("Top up"), SNOOZE, self.tr("Snooze 1 hour")]
            hints: dict[str, tuple[str, Any]] = {"urgency": ("y", 1), "desktop-entry": ("s", APP_ID)}
            icon = str(self.icon_path) if self.icon_path else APP_ID
            if self.icon_path:
                hints["image-path"] = ("s", self.icon_path.as_uri())
            # A server with body markup parses <b>, <a>, <img>: a provider's message or a label is text.
            body = dbus_body(notice.body, markup="body-markup" in self.capabilities)
            message = new_method_call(address, "Notify", "susssasa{sv}i",  # untranslated: D-Bus method
                                      (APP_NAME, self._last_id, icon, notice.title, body, actions, hints,
                                       TIMEOUT_MS))
            reply = connection.send_and_get_reply(message, timeout=3)
            if reply.header.message_type != message_type.method_return:
                raise RuntimeError(str(reply.body))
            (notification_id,) = reply.body
        except Exception as exc:
            log.warning("notification over D-Bus failed: %s", type(exc).__name__)
            self.failed.emit(notice)
            return
        self._last_id = int(notification_id)  # the next one replaces it instead of stacking up
        self._shown[self._last_id] = notice.account_id

    def _on_signal(self, message: Any) -> None:
        from jeepney import HeaderFields

        member = message.header.fields.get(HeaderFields.member)
        if member == "ActionInvoked":
            notification_id, key = message.body
            account_id = self._shown.get(int(notification_id))
            if account_id is not None:
                self.actionInvoked.emit(account_id, str(key))
        elif member == "NotificationClosed":
            self._shown.pop(int(message.body[0]), None)


def show_tray_message(tray: QSystemTrayIcon, notice: Notice) -> None:
    """Warning level, never Critical: on Linux, Critical turns into a dialog that must be dismissed."""
    # On Linux Qt passes the body on to org.freedesktop.Notifications and to the StatusNotifierItem
    # tooltip's description, both markup; elsewhere (and in the XEmbed balloon) it is plain text.
    markup = sys.platform.startswith("linux") and _qt_sends_over_dbus()
    tray.showMessage(notice.title, dbus_body(notice.body, markup=markup), QSystemTrayIcon.MessageIcon.Warning,
                     TIMEOUT_MS)


def uses_dbus() -> bool:
    return sys.platform.startswith("linux") or "bsd" in sys.platform
