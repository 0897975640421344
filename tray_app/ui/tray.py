"""The tray controller: icon, tooltip, per-account menu, notifications, snooze.

Everything here runs on the GUI thread and only reacts to the worker's signals;
the data flows one way: scheduler → worker → engine → results → here.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, cast

from PySide6.QtCore import (
    QT_TRANSLATE_NOOP,
    QCoreApplication,
    QDateTime,
    QEvent,
    QFileSystemWatcher,
    QLocale,
    QObject,
    QTimer,
    QTimeZone,
    QUrl,
    Signal,
)
from PySide6.QtGui import QAction, QCursor, QDesktopServices, QGuiApplication, Qt
from PySide6.QtWidgets import QApplication, QMenu, QMessageBox, QSystemTrayIcon

from tray_app import APP_ID, APP_NAME, i18n, paths, texts
from tray_app.fileio import private_dir
from tray_app.model import AccountResult, AccountState, utc_now
from tray_app.ui.icons import IconFactory, IconState, dot_icon, worst_state
from tray_app.ui.scheduler import RefreshScheduler

# The engine, the worker and the windows are imported when first needed: the icon shows first.
if TYPE_CHECKING:
    from tray_app.config import Config
    from tray_app.engine import Engine, RefreshReport
    from tray_app.ui.about import AboutDialog
    from tray_app.ui.history_window import HistoryWindow
    from tray_app.ui.notifications import DesktopNotifier
    from tray_app.ui.settings import SettingsWindow
    from tray_app.ui.window import BalancesWindow
    from tray_app.ui.worker import WorkerThread

# Makes the engine (off the GUI thread, after the icon shows): the engine and the log file it writes, if any.
EngineLoader = Callable[[], "tuple[Engine, Path | None]"]  # untranslated: a type

log = logging.getLogger(__name__)
# The tray shows alerts: its alert memory in the history goes by this name.
TRAY_NOTIFIER = "tray"

# How long to wait for a tray host before showing the balances window. Qt's answer already means "no
# StatusNotifierWatcher with a host and no XEmbed tray owner", so by default the window shows at once;
# a tray that appears later (a panel starting after us at login) still gets the icon, and the window goes.
TRAY_WAIT_S = float(os.environ.get("CREDIT_TRAY_TRAY_WAIT_S", "0"))
TRAY_POLL_MS = 2000
DEMO_LABEL = str(QT_TRANSLATE_NOOP("TrayController", "Demo: made-up accounts and balances"))


def qt_number_format() -> texts.NumberFormat:
    """Digits grouped with the user's locale's separators (QLocale); any magnitude, never "0.0000" for 1E-7.

    The separators are read once, here, not for every number: each Qt call lets go of the interpreter
    lock, and while a refresh runs, getting it back can take milliseconds (200 accounts' rows and
    tooltip held the GUI thread for tens of ms). Take one per pass, not one for good: the locale changes.
    """
    locale = QLocale()
    group, point = locale.groupSeparator() or ",", locale.decimalPoint() or "."
    return lambda value: texts.readable_number(value, group, point)


def plain_tooltip(text: str) -> str:
    """``text`` in a form every tray shows as text.

    The XEmbed tray's tooltip is a QToolTip, which renders rich text when the first line looks
    like markup (Qt::mightBeRichText): a label or provider message with ``<img src=…>`` would be
    drawn, and load a local file. The StatusNotifierItem title and Windows/macOS tooltips are
    plain text, so escaping would show "&lt;". A first line of our own keeps Qt's guess at "text".
    """
    return f"{APP_NAME}\n{text}" if Qt.mightBeRichText(text) else text


@dataclass
class _Row:
    menu: QMenu
    status: QAction
    fetched: QAction
    # Burn rate and run-out forecast, hidden when the history says nothing yet.
    pace: QAction
    detail: QAction
    copy: QAction
    # The row's own commands (top up, copy, refresh, history): named again when the language changes.
    commands: tuple[QAction, ...] = ()
    # The state whose dot the row shows: a menu icon set again is sent again over D-Bus, so only on a change.
    dot: IconState | None = None


class _Menu(QMenu):
    """The tray menu; says when the language changed (Settings or anyone calling ``ui.i18n.apply_language``)."""

    languageChanged = Signal()

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.languageChanged.emit()
        super().changeEvent(event)


class TrayController(QObject):
    requestRefresh = Signal(object)  # list[str] | None
    requestInitial = Signal()
    rowsChanged = Signal()
    notified = Signal(object)  # texts.Notice
    refreshed = Signal()  # a refresh has been fully applied on the GUI thread
    engineLoaded = Signal(object)  # (Engine, log path) or the exception, from the loading thread

    def __init__(self, engine: Engine | None, *, log_path: Path | None = None, refresh_seconds: float | None = None,
                 demo: bool = False, on_quit: Callable[[], None] | None = None,
                 load_engine: EngineLoader | None = None) -> None:
        """With ``engine`` None, ``load_engine`` makes it on a thread of its own once ``start`` showed the icon."""
        super().__init__()
        self.demo = demo
        # Quit ends only this controller and calls this (the demo started from Settings), not the app.
        self.on_quit = on_quit
        self.demo_controller: TrayController | None = None
        self.engine: Engine
        self.worker: WorkerThread
        self._attached = False
        self._load_engine = load_engine
        self.log_path = log_path
        self._refresh_override = refresh_seconds
        self.config: Config | None = None
        self.config_error: str | None = None
        self.results: dict[str, AccountResult] = {}
        self.refreshing = False
        self._manual = False
        self._pending: set[str] | None = None
        self._pending_all = False
        self.snoozed_until: datetime | None = None
        self._notice: texts.Notice | None = None
        self._rows: dict[str, _Row] = {}
        self._row_order: list[tuple[str, str]] = []
        self.window: BalancesWindow | None = None
        self.settings: SettingsWindow | None = None
        self.history_window: HistoryWindow | None = None
        self.about: AboutDialog | None = None
        self._quitting = False
        self._first_config = True
        self._known_ids: set[str] | None = None
        # Rows whose results changed since the menu was last brought up to date (all of them: ``_all_dirty``).
        self._dirty: set[str] = set()
        self._all_dirty = False
        self._flush_queued = False
        # What the tray icon shows now: it is set (and sent over D-Bus, 7 sizes) only when this changes.
        self._shown_icon: tuple[IconState, str | None] | None = None

        self.icons = IconFactory()
        self.engineLoaded.connect(self._on_engine_loaded)

        # The language the menu's words are in; a switch (config or Settings) names them all again.
        self._spoken = i18n.current_language()
        # What the menu's passing lines say (they are written again in a new language).
        self._save_error: str | None = None
        self._hook_failure = ""
        self._export_failure = ""
        self.menu = _Menu()
        self.menu.languageChanged.connect(self._language_changed)
        self._build_static_menu()
        self.tray = self._make_tray_icon()
        self.tray.setToolTip(f"{self.tr(DEMO_LABEL)}\n{APP_NAME}" if demo else APP_NAME)
        self.notifier: DesktopNotifier | None = None  # made by start(), once the icon shows

        self.scheduler = RefreshScheduler(refresh_seconds or 600.0, self)
        self.scheduler.due.connect(self._on_due)
        self._ages = QTimer(self)
        self._ages.setInterval(30_000)
        self._ages.timeout.connect(self._update_rows)
        self._tray_wait = QTimer(self)
        self._tray_wait.setSingleShot(True)
        self._tray_wait.timeout.connect(self._check_tray)
        self._tray_poll = QTimer(self)
        self._tray_poll.setInterval(TRAY_POLL_MS)
        self._tray_poll.timeout.connect(self._tray_appeared)
        self._window_for_no_tray = False
        # Hand edits and Settings both change the file; either way the tray reloads it.
        # The folder is watched too: an atomic save replaces the file, which drops a file watch.
        self._watcher = QFileSystemWatcher(self)
        self._watcher.fileChanged.connect(self._config_file_changed)
        self._watcher.directoryChanged.connect(self._config_file_changed)
        self._reload = QTimer(self)
        self._reload.setSingleShot(True)
        self._reload.setInterval(150)  # editors write in several steps: settle first
        self._reload.timeout.connect(self.requestInitial.emit)
        if engine is not None:
            self._attach(engine)
        elif load_engine is None:
            raise ValueError("TrayController needs an engine or a way to load one")  # untranslated: a bug

    # ------------------------------------------------------------------ lifecycle
    def _attach(self, engine: Engine) -> None:
        """The engine and its worker thread: from here on the tray refreshes."""
        from tray_app.ui.worker import WorkerThread

        self.engine = engine
        self.worker = WorkerThread(engine)
        worker = self.worker.worker
        self.requestRefresh.connect(worker.refresh)
        self.requestInitial.connect(worker.load_initial)
        worker.configLoaded.connect(self._on_config)
        worker.configFailed.connect(self._on_config_failed)
        worker.lastKnown.connect(self._on_last_known)
        worker.resultReady.connect(self._on_result)
        worker.refreshFinished.connect(self._on_finished)
        worker.hookFailed.connect(self._show_hook_failure)
        worker.exportFailed.connect(self._show_export_failure)
        self._attached = True

    def _load_in_background(self, load: EngineLoader) -> None:
        """Import and make the engine on a thread of its own; the GUI thread keeps answering the tray host."""
        def run() -> None:
            try:
                loaded: object = load()
            except Exception as exc:
                loaded = exc
            with contextlib.suppress(RuntimeError):  # the app quit while the engine loaded: nobody to tell
                self.engineLoaded.emit(loaded)  # queued to the GUI thread

        threading.Thread(target=run, name="credit-tray-start", daemon=True).start()

    def _on_engine_loaded(self, loaded: object) -> None:
        if self._quitting:
            return
        if isinstance(loaded, Exception):
            log.error("could not start the engine (%s)", type(loaded).__name__)
            sys.stderr.write(self.tr("{app}: internal error ({error}); please report it").format(
                app=APP_ID, error=type(loaded).__name__) + "\n")
            QApplication.exit(70)
            return
        engine, self.log_path = cast("tuple[Engine, Path | None]", loaded)  # untranslated: a type
        self._attach(engine)
        self._begin()

    def start(self) -> None:
        """Show the icon; with the engine still to load, that happens right after, off the GUI thread."""
        self.tray.show()
        self._start_notifier()
        if self._attached:
            self._begin()
        elif self._load_engine is not None:
            self._load_in_background(self._load_engine)
        if not QSystemTrayIcon.isSystemTrayAvailable():
            log.warning("no system tray; showing the balances window in %.0f s unless one appears", TRAY_WAIT_S)
            self._tray_wait.start(int(TRAY_WAIT_S * 1000))
            self._tray_poll.start()

    def _start_notifier(self) -> None:
        """Desktop notifications over D-Bus where there is a server: after the icon, as they come after it.

        The icon's file is written with the first notice, not here: ~2 ms of the GUI thread at every start."""
        from tray_app.ui.notifications import DesktopNotifier, uses_dbus

        if self.notifier is None and uses_dbus():
            self.notifier = DesktopNotifier(self._notification_icon, self)
            self.notifier.actionInvoked.connect(self.on_notice_action)
            self.notifier.failed.connect(self._notify_in_tray)

    def _begin(self) -> None:
        """Started and with an engine: read the config and the last balances, then refresh as scheduled."""
        self._watch_config()
        self.requestInitial.emit()
        self.scheduler.start()
        self.scheduler.watch_network()
        self._ages.start()
        if self._pending_all or self._pending:  # asked for before the engine was there
            ids = None if self._pending_all else sorted(self._pending or ())
            self._pending_all, self._pending = False, None
            self.refresh(ids)

    def shutdown(self) -> None:
        """Stop everything; returns within about a second even if a provider hangs."""
        if self._quitting:
            return
        self._quitting = True
        self.scheduler.stop()
        self._ages.stop()
        self._tray_wait.stop()
        self._tray_poll.stop()
        if self._attached:
            self.worker.stop()
            # A refresh that finished just before the quit has recorded its alerts in the history as
            # told: deliver its report now, so no alert is lost between the history and the screen.
            QCoreApplication.sendPostedEvents(self)
        if self.notifier is not None:
            self.notifier.stop(wait_s=1.0)
        self.tray.hide()
        if self.window is not None:
            self.window.close()
        if self.settings is not None:
            self.settings.close()
            self.settings.shutdown()
        if self.about is not None:
            self.about.close()
        if self.demo_controller is not None:
            self.demo_controller.shutdown()

    def quit(self) -> None:
        self.shutdown()
        if self.on_quit is not None:  # the demo inside the real app: only the demo goes
            self.on_quit()
            return
        QApplication.quit()

    def start_demo(self) -> None:
        """"Try the demo first": a second icon in this same process, labelled Demo, gone when the app quits."""
        if self.demo_controller is not None and not self.demo_controller._quitting:
            self.demo_controller.on_activate_request()
            return
        from tray_app.demo import DEMO_REFRESH_SECONDS, DemoEngine

        self.demo_controller = TrayController(DemoEngine(), refresh_seconds=DEMO_REFRESH_SECONDS, demo=True,
                                              on_quit=self._demo_ended)
        self.demo_controller.start()

    def _demo_ended(self) -> None:
        self.demo_controller = None

    def _check_tray(self) -> None:
        if QSystemTrayIcon.isSystemTrayAvailable():
            return
        log.warning("no system tray found; showing the balances window instead")
        from tray_app.ui.window import NO_TRAY_HELP

        self.show_window(NO_TRAY_HELP)
        self._window_for_no_tray = True

    def _make_tray_icon(self) -> QSystemTrayIcon:
        icon = QSystemTrayIcon(self.icons.icon(IconState.UNKNOWN))
        icon.setContextMenu(self.menu)  # before show(): some panels register only an existing menu
        icon.messageClicked.connect(self._on_message_clicked)
        icon.activated.connect(self._on_activated)
        return icon

    def _tray_appeared(self) -> None:
        """A tray host came up after us: the icon goes there, and the stand-in window goes away."""
        if not QSystemTrayIcon.isSystemTrayAvailable():
            return
        log.info("a system tray appeared; the icon moves there")
        self._tray_poll.stop()
        self._tray_wait.stop()
        # A new icon: Qt picks the kind of tray (StatusNotifierItem or XEmbed) when an icon is made.
        old, self.tray = self.tray, self._make_tray_icon()
        self.tray.setToolTip(old.toolTip())
        old.hide()
        old.deleteLater()
        self._shown_icon = None
        self._update_icon()
        self.tray.show()
        if self._window_for_no_tray and self.window is not None:
            self.window.set_notice("")
            self.window.hide()
        self._window_for_no_tray = False

    def show_window(self, notice: str = "") -> None:
        if self.window is None:
            from tray_app.ui.window import BalancesWindow

            self.window = BalancesWindow(lambda: self.refresh(manual=True), self.open_settings, self.quit, notice)
        elif notice:
            self.window.set_notice(notice)
        self._update_rows()
        self.window.show()
        self.window.raise_()
        self.window.activateWindow()

    # ------------------------------------------------------------------ refreshing
    def _on_due(self, reason: str) -> None:
        log.info("refresh due: %s", reason)
        self.refresh()

    def refresh(self, account_ids: list[str] | None = None, *, manual: bool = False) -> None:
        """Ask the worker for a refresh; while one runs, remember it and run it afterwards."""
        if self._quitting:
            return
        if not self._attached:  # the engine is still loading: this runs as soon as it is there
            self._pending_all = self._pending_all or account_ids is None
            self._pending = (self._pending or set()) | set(account_ids or ())
            return
        if manual:  # the user asks for now: a key stored or replaced elsewhere counts from now
            self._forget_keys(account_ids)
        if self.refreshing:
            if account_ids is None:
                self._pending_all = True
            else:
                self._pending = (self._pending or set()) | set(account_ids)
            self._manual = self._manual or manual
            return
        self.refreshing = True
        self._manual = manual
        self._update_icon()
        self.requestRefresh.emit(account_ids)

    def _forget_keys(self, account_ids: list[str] | None) -> None:
        """Drop cached keys (cache only; never waits on the keyring) so the next refresh reads them again."""
        if account_ids is None:
            self.engine.keys.forget()
        for account_id in account_ids or ():
            self.engine.keys.forget(account_id)

    def on_keys_changed(self, account_id: str) -> None:
        """The command line stored, replaced or deleted this account's key: read it again and check now."""
        log.info("the key of %s changed elsewhere; checking it again", account_id)
        if not self._attached:
            return  # nothing was read yet
        self._forget_keys([account_id])
        account = self.config.account(account_id) if self.config else None
        if account is not None and account.enabled and account.problem is None:
            self.refresh([account_id])

    def _on_finished(self, report: RefreshReport | None) -> None:
        if self._quitting:  # delivered during shutdown: show the alerts it recorded, start nothing
            if report is not None:
                self._notify(report)
            return
        self._flush_rows()  # the last results first: "refreshed" means all of them show
        self.refreshing = False
        self._manual = False
        if report is not None:
            self._notify(report)
            self._show_save_error(report.save_error)
        if self._refresh_override is None or report is not None:
            self.scheduler.refreshed()
        self._update_icon()
        self.refreshed.emit()
        if self._pending_all or self._pending:
            ids = None if self._pending_all else sorted(self._pending or ())
            self._pending_all, self._pending = False, None
            self.refresh(ids)

    # ------------------------------------------------------------------ config file
    def _watch_config(self) -> None:
        path = self.engine.config_path
        folder = path.parent
        if not folder.is_dir():
            return
        if str(folder) not in self._watcher.directories():
            self._watcher.addPath(str(folder))
        if path.exists() and str(path) not in self._watcher.files():
            self._watcher.addPath(str(path))

    def _config_file_changed(self, _: str) -> None:
        if not self._quitting:
            self._watch_config()
            self._reload.start()

    # ------------------------------------------------------------------ worker signals
    def _on_config(self, config: Config) -> None:
        if self.config is None or self.config.warnings != config.warnings:
            for warning in config.warnings:
                log.warning("config: %s", warning)
        self.config = config
        self.config_error = None
        if not self.demo:  # the demo (its own made-up config) speaks whatever the app speaks
            self._use_language(config.language)
        interval = self._refresh_override or config.refresh_minutes * 60
        self.scheduler.set_interval(interval)
        known = {a.id for a in config.accounts}
        for stale in set(self.results) - known:
            del self.results[stale]
        enabled = {a.id for a in config.accounts if a.enabled and a.problem is None}
        if self._known_ids is not None and (added := enabled - self._known_ids):
            self.refresh(sorted(added))  # a new or re-enabled account is fetched at once
        self._known_ids = enabled
        self._rebuild_rows()
        if self.settings is not None:
            self.settings.set_config(config)
        if self._first_config:
            self._first_config = False
            if not config.accounts and not self.demo:  # first run: Settings, with a welcome
                self.open_settings()

    def _on_config_failed(self, message: str) -> None:
        log.error("config error: %s", message)
        self.config_error = message
        self._first_config = False
        self._rebuild_rows()
        if self.settings is not None:
            self.settings.set_config(None, message)

    def _on_last_known(self, results: dict[str, AccountResult]) -> None:
        for account_id, result in results.items():
            self.results.setdefault(account_id, result)
        self._update_rows()

    def _on_result(self, result: AccountResult) -> None:
        if self._quitting:  # delivered during shutdown (see shutdown): the menu is going away
            return
        before = self.results.get(result.account_id)
        if before is None or (before.state, before.error and before.error.kind) != (
                result.state, result.error and result.error.kind):
            log.info("%s is now: %s", result.account_id, texts.status_line(result))
        self.results[result.account_id] = result
        error = result.error
        if error is not None and error.retry_after and error.retry_after < self.scheduler.interval_s:
            QTimer.singleShot(int(error.retry_after * 1000) + 500, lambda i=result.account_id: self.refresh([i]))
        # Not now: results arrive one by one, and each update of the menu, tooltip and icon goes out over
        # D-Bus. The rows that changed are brought up to date once per turn of the event loop.
        self._dirty.add(result.account_id)
        if not self._flush_queued:
            self._flush_queued = True
            QTimer.singleShot(0, self._flush_rows)

    def _flush_rows(self) -> None:
        self._flush_queued = False
        if self._quitting:
            return
        if self._dirty or self._all_dirty:
            self._apply_rows()

    # ------------------------------------------------------------------ menu
    def _build_static_menu(self) -> None:
        self._demo_banner: QAction | None = None
        if self.demo:  # the demo's icon looks like the real one: the menu says which is which
            self._demo_banner = self.menu.addAction("")
            self._demo_banner.setEnabled(False)
            self.menu.addSeparator()
        self._accounts_end = self.menu.addSeparator()
        self.refresh_action = self.menu.addAction("")
        self.refresh_action.triggered.connect(lambda: self.refresh(manual=True))
        self.snooze_menu = self.menu.addMenu("")
        self._snooze_choices: list[QAction] = []
        for delta in (timedelta(hours=1), timedelta(hours=8)):
            action = self.snooze_menu.addAction("")
            action.triggered.connect(lambda _=False, d=delta: self.snooze(utc_now() + d))
            self._snooze_choices.append(action)
        tomorrow = self.snooze_menu.addAction("")
        tomorrow.triggered.connect(lambda: self.snooze(_tomorrow_morning()))
        self._snooze_choices.append(tomorrow)
        self.snooze_menu.addSeparator()
        self.resume_action = self.snooze_menu.addAction("")
        self.resume_action.triggered.connect(lambda: self.snooze(None))
        self.resume_action.setEnabled(False)
        self.history_action = self.menu.addAction("")
        self.history_action.triggered.connect(lambda: self.open_history())
        self.settings_action = self.menu.addAction("")
        self.settings_action.triggered.connect(self.open_settings)
        self.window_action = self.menu.addAction("")
        self.window_action.triggered.connect(lambda: self.show_window())
        self.about_action = self.menu.addAction("")
        self.about_action.triggered.connect(self.show_about)
        self.menu.addSeparator()
        self.quit_action = self.menu.addAction("")
        self.quit_action.triggered.connect(self.quit)
        self._placeholder = QAction("", self.menu)
        self._placeholder.triggered.connect(self.add_account)
        self._config_line = QAction("", self.menu)
        self._config_line.setEnabled(False)
        self._save_line = QAction("", self.menu)
        self._save_line.setEnabled(False)
        self._hook_line = QAction("", self.menu)
        self._hook_line.setEnabled(False)
        self._export_line = QAction("", self.menu)
        self._export_line.setEnabled(False)
        self.menu.insertAction(self._accounts_end, self._placeholder)
        self._name_static_menu()

    def _name_static_menu(self) -> None:
        """The menu's own words in the current language (the rows' words come from ``texts``)."""
        if self._demo_banner is not None:
            self._demo_banner.setText(self.tr(DEMO_LABEL))
        self.refresh_action.setText(self.tr("&Refresh now"))
        self._name_snooze_menu()
        for action, text in zip(self._snooze_choices, (self.tr("For 1 hour"), self.tr("For 8 hours"),
                                                       self.tr("Until tomorrow")), strict=True):
            action.setText(text)
        self.resume_action.setText(self.tr("Resume notifications"))
        self.history_action.setText(self.tr("&History…"))
        self.settings_action.setText(self.tr("&Settings…"))
        self.window_action.setText(self.tr("Show &balances window"))
        self.about_action.setText(self.tr("&About {app}").format(app=APP_NAME))
        self.quit_action.setText(self.tr("&Quit"))
        self._placeholder.setText(self.tr("&Add an account…"))

    def _use_language(self, setting: str) -> None:
        """The config's ``language``: a change switches the whole app (Qt's and the engine's words) at once."""
        from tray_app.ui.i18n import apply_language

        wanted = i18n.interface_language(setting)
        if wanted != i18n.current_language():
            log.info("interface language: %s", wanted)
            apply_language(wanted)
        self._language_changed()

    def _language_changed(self) -> None:
        """Every word of the menu, the rows, the tooltip and the balances window again, in the language
        spoken now (the windows retranslate themselves on Qt's LanguageChange)."""
        if i18n.current_language() == self._spoken or self._quitting:
            return
        self._spoken = i18n.current_language()
        self._name_static_menu()
        for row in self._rows.values():
            self._name_row_commands(row)
        self._show_save_error(self._save_error)
        if self._hook_failure:
            self._show_hook_failure(self._hook_failure)
        self._show_export_failure(self._export_failure)
        if self._attached:
            self._rebuild_rows()  # the titles, the rows, the config error line, the tooltip
        else:
            self.tray.setToolTip(f"{self.tr(DEMO_LABEL)}\n{APP_NAME}" if self.demo else APP_NAME)

    def _titles(self) -> list[tuple[str, str]]:
        if self.config is None:
            return []
        enabled = [a for a in self.config.accounts if a.enabled]
        titles = texts.titles([(a.id, a.provider_id, a.label) for a in enabled])
        out = [(a.id, titles[a.id]) for a in enabled]
        return out

    def _rebuild_rows(self) -> None:
        order = self._titles()
        if order != self._row_order:
            for row in self._rows.values():
                self.menu.removeAction(row.menu.menuAction())
                row.menu.deleteLater()
            self._rows = {}
            for account_id, title in order:
                self._rows[account_id] = self._make_row(account_id, title)
            self._row_order = order
        self.menu.removeAction(self._config_line)
        if self.config_error:
            self._config_line.setText(self.config_error_text().replace("&", "&&"))
            first = self._rows[order[0][0]].menu.menuAction() if order else self._placeholder
            self.menu.insertAction(first, self._config_line)
        self._placeholder.setVisible(not order)
        self._update_rows()

    def _show_save_error(self, error: str | None) -> None:
        """A full or read-only disk: the balances still show, and the menu says what is not kept."""
        self._save_error = error
        self.menu.removeAction(self._save_line)
        if error:
            self._save_line.setText(self.tr("Can't save balances: {error}").format(error=error).replace("&", "&&"))
            self.menu.insertAction(self._accounts_end, self._save_line)

    def _show_hook_failure(self, message: str) -> None:
        """The last hook that failed or timed out, until the app restarts (the log has them all)."""
        self._hook_failure = message
        self.menu.removeAction(self._hook_line)
        self._hook_line.setText(self.tr("Hook failed: {message}").format(message=message).replace("&", "&&"))
        self.menu.insertAction(self._accounts_end, self._hook_line)

    def _show_export_failure(self, message: str) -> None:
        self._export_failure = message
        self.menu.removeAction(self._export_line)
        if message:
            self._export_line.setText(self.tr("Can't write metrics: {message}").format(message=message)
                                      .replace("&", "&&"))
            self.menu.insertAction(self._accounts_end, self._export_line)

    def _make_row(self, account_id: str, title: str) -> _Row:
        menu = QMenu(title, self.menu)
        status = menu.addAction("")
        status.setEnabled(False)
        fetched = menu.addAction("")
        fetched.setEnabled(False)
        pace = menu.addAction("")
        pace.setEnabled(False)
        detail = menu.addAction("")
        detail.setEnabled(False)
        menu.addSeparator()
        top_up = menu.addAction("")
        top_up.triggered.connect(lambda: self.open_top_up(account_id))
        copy = menu.addAction("")
        copy.triggered.connect(lambda: self.copy_balance(account_id))
        again = menu.addAction("")
        again.triggered.connect(lambda: self.refresh([account_id], manual=True))
        history = menu.addAction("")
        history.triggered.connect(lambda: self.open_history(account_id))
        self.menu.insertMenu(self._accounts_end, menu)
        row = _Row(menu, status, fetched, pace, detail, copy, (top_up, copy, again, history))
        self._name_row_commands(row)
        return row

    def _name_row_commands(self, row: _Row) -> None:
        for action, text in zip(row.commands, (self.tr("Open &top-up page"), self.tr("&Copy balance"),
                                               self.tr("&Refresh this account"), self.tr("&History…")),
                                strict=True):
            action.setText(text)

    def config_error_text(self) -> str:
        return self.tr("Config error: {message}").format(message=self.config_error)

    def _update_rows(self) -> None:
        """Every row, now (the ages move on, the config changed, a window opens)."""
        self._all_dirty = True
        self._apply_rows()

    def _apply_rows(self) -> None:
        """The changed rows (or all), then the tooltip, the window and the icon once."""
        qt_number = qt_number_format()
        changed = None if self._all_dirty else self._dirty
        self._all_dirty, self._dirty = False, set()
        now = utc_now()
        stale_after = timedelta(seconds=2 * self.scheduler.interval_s)
        # Actions that could do nothing are off: no account to refresh, no notification to snooze.
        self.refresh_action.setEnabled(bool(self._row_order))
        self.snooze_menu.setEnabled((bool(self._row_order) and (self.config is None or self.config.notifications))
                                    or self.snoozed_until is not None)
        lines: list[tuple[str, AccountResult | None]] = []
        window_rows = []
        for account_id, title in self._row_order:
            result = self.results.get(account_id)
            lines.append((title, result))
            if changed is not None and account_id not in changed and self.window is None:
                continue
            text = texts.row_text(result, title, now, qt_number, stale_after)
            window_rows.append((dot_icon(self._row_state(result)), text))
            if changed is None or account_id in changed:
                self._update_row(self._rows[account_id], result, text, now, stale_after, qt_number)
        if self.config_error:
            window_rows.insert(0, (dot_icon(IconState.ERROR), self.config_error_text()))
        tooltip = (texts.tooltip(lines, qt_number) if self._row_order or not self.config_error
                   else self.config_error_text())
        tooltip = plain_tooltip(f"{self.tr(DEMO_LABEL)}\n{tooltip}" if self.demo else tooltip)
        if tooltip != self.tray.toolTip():  # each change is sent to the tray host
            self.tray.setToolTip(tooltip)
        if self.window is not None:
            self.window.set_rows(window_rows)
            self.window.refresh_button.setEnabled(bool(self._row_order))
        if self.settings is not None:
            self.settings.set_results(self.results)
        self._update_icon()
        self.rowsChanged.emit()

    def _update_row(self, row: _Row, result: AccountResult | None, text: str, now: datetime,
                    stale_after: timedelta, qt_number: texts.NumberFormat) -> None:
        """One account's submenu. Qt sends an action's text, visibility or state only when it changes."""
        row.menu.menuAction().setText(text.replace("&", "&&"))
        state = self._row_state(result)
        if state is not row.dot:
            row.menu.setIcon(dot_icon(state))
            row.dot = state
        row.status.setText((texts.status_line(result, qt_number) if result else self.tr("Checking…"))
                           .replace("&", "&&"))
        reading = result.reading if result else None
        fetched = texts.fetched_line(reading.fetched_at, now) if reading else self.tr("No balance fetched yet")
        failed = result is not None and result.error is not None
        if result is not None and failed and reading is not None:
            #: "Fetched 3 h ago: 9,999 credits" (when it was fetched, then the balance then).
            fetched = self.tr("{fetched}: {balance}").format(fetched=fetched, balance=texts.balance(result, qt_number))
        row.fetched.setText(fetched)
        # The age only when it matters: after a failure, a balance older than two intervals, or one
        # stamped in the future (its age is unknown).
        future = reading is not None and texts.reading_age(reading.fetched_at, now) is None
        row.fetched.setVisible(failed or future or texts.is_stale(result, now, stale_after))
        row.copy.setEnabled(reading is not None and (reading.remaining is not None or reading.unlimited))
        pace = texts.pace_line(result, now, qt_number) if result else ""
        row.pace.setText(pace.replace("&", "&&"))
        row.pace.setVisible(bool(pace))
        detail = texts.error_detail(result.error) if result and result.error else ""
        row.detail.setText(detail.replace("&", "&&"))
        row.detail.setVisible(bool(detail))

    @staticmethod
    def _row_state(result: AccountResult | None) -> IconState:
        return IconState.UNKNOWN if result is None else IconState(result.state.value)

    # ------------------------------------------------------------------ icon
    def icon_state(self) -> IconState:
        if self.refreshing and (self._manual or not self.results):
            return IconState.REFRESHING
        shown = [self.results[i] for i, _ in self._row_order if i in self.results]
        states = [r.state for r in shown]
        if self.config_error:
            states.append(AccountState.ERROR)
        return worst_state(states, any_unfetched=len(shown) < len(self._row_order))

    def _update_icon(self) -> None:
        state = self.icon_state()
        number = None
        if self.config is not None and self.config.icon_number and state is not IconState.REFRESHING:
            amount = texts.icon_amount([r for i, _ in self._row_order if (r := self.results.get(i))])
            if amount is not None:
                number = texts.compact_number(amount)
        if (state, number) != self._shown_icon:  # each setIcon sends every size of the icon over D-Bus
            self._shown_icon = (state, number)
            self.tray.setIcon(self.icons.icon(state, number))

    # ------------------------------------------------------------------ notifications
    def snooze(self, until: datetime | None) -> None:
        self.snoozed_until = until
        self.resume_action.setEnabled(until is not None)
        self._name_snooze_menu()

    def _name_snooze_menu(self) -> None:
        until = self.snoozed_until
        if until is None:
            self.snooze_menu.setTitle(self.tr("S&nooze notifications"))
            return
        local = QDateTime.fromSecsSinceEpoch(int(until.timestamp()), QTimeZone.systemTimeZone())
        #: {until} is a weekday and a time, e.g. "Tue 14:05".
        self.snooze_menu.setTitle(self.tr("S&nooze notifications (until {until})").format(
            until=QLocale().toString(local, "ddd HH:mm")))

    def _notify(self, report: RefreshReport) -> None:
        if not report.alerts:
            return
        if self.config is not None and not self.config.notifications:
            log.info("%d alert(s); notifications are off", len(report.alerts))
            return
        if self.snoozed_until is not None and utc_now() < self.snoozed_until:
            log.info("%d alert(s) while snoozed", len(report.alerts))
            return
        titles = dict(self._titles())
        units = {r.account_id: r.unit for r in report.results}
        notice = texts.notice_for(report.alerts, titles, units, qt_number_format())
        if notice is None:
            return
        self._notice = notice
        if self.notifier is not None:
            self.notifier.notify(notice)
        else:
            self._notify_in_tray(notice)
        log.info("notified: %s", notice.title)
        self.notified.emit(notice)

    def _notify_in_tray(self, notice: texts.Notice) -> None:
        """The tray's own message: Windows and macOS, or Linux without a notification server."""
        from tray_app.ui.notifications import show_tray_message

        if QSystemTrayIcon.isSystemTrayAvailable() and self.tray.isVisible():
            show_tray_message(self.tray, notice)

    def _on_message_clicked(self) -> None:
        from tray_app.ui.notifications import DEFAULT

        if self._notice is not None:
            self.on_notice_action(self._notice.account_id, DEFAULT)

    def on_notice_action(self, account_id: str, action: str) -> None:
        """A click on a notification (DEFAULT) or one of its buttons; what it does is what the notice is about."""
        from tray_app.ui.notifications import DEFAULT, SNOOZE, TOP_UP

        notice = self._notice
        log.info("notification action %s for %s", action, account_id)
        if action == SNOOZE:
            self.snooze(utc_now() + timedelta(hours=1))
        elif action == TOP_UP or (action == DEFAULT and (notice is None or notice.action == TOP_UP)):
            self.open_top_up(account_id)
        elif action == DEFAULT and notice is not None and notice.action == "settings":
            self.open_settings()
            if self.settings is not None:
                self.settings.select(account_id)
        elif action == DEFAULT:
            self.show_window()

    def _notification_icon(self) -> Path | None:
        """The app's icon as a file, for the notification server (an icon name works only once installed)."""
        folder = Path(os.environ.get("XDG_RUNTIME_DIR") or paths.data_dir())
        target = folder / f"{APP_ID}-notification.png"
        try:
            private_dir(folder)
            if self.icons.icon(IconState.LOW).pixmap(64, 64).save(str(target), "PNG"):
                os.chmod(target, 0o600)  # like every file the app makes; the notification server runs as us
                return target
        except OSError as exc:
            log.warning("no icon for notifications: %s", exc.strerror)
        return None

    def _on_activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        # Some desktops deliver clicks, some only the menu: every action also lives in the menu.
        if reason in (QSystemTrayIcon.ActivationReason.Trigger, QSystemTrayIcon.ActivationReason.DoubleClick):
            self.menu.popup(QCursor.pos())

    def on_activate_request(self) -> None:
        """Another start of the app asked us to come forward."""
        self.refresh(manual=True)
        if QSystemTrayIcon.isSystemTrayAvailable():
            self.menu.popup(QCursor.pos())
        else:
            self.show_window()

    # ------------------------------------------------------------------ actions
    def open_top_up(self, account_id: str) -> None:
        account = self.config.account(account_id) if self.config else None
        provider = account.provider if account else None  # a custom account's own definition, too
        if provider is not None and provider.top_up_url:
            QDesktopServices.openUrl(QUrl(provider.top_up_url))

    def copy_balance(self, account_id: str) -> None:
        result = self.results.get(account_id)
        reading = result.reading if result else None
        if reading is not None and reading.remaining is not None:
            QGuiApplication.clipboard().setText(str(reading.remaining))
        elif reading is not None and reading.unlimited:
            QGuiApplication.clipboard().setText("unlimited")

    def open_history(self, account_id: str | None = None) -> None:
        """One history window; it reads the history on its own thread and lets go of it when closed."""
        from tray_app.ui.history_window import HistoryWindow  # only when asked: keeps start-up light

        if self.config is None or not self._attached:
            return
        if self.history_window is None:
            self.history_window = HistoryWindow(self.engine.history, self.config, self.results,
                                                account_id=account_id, min_span=self.engine.usage_min_span)
            self.history_window.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            self.history_window.destroyed.connect(self._history_closed)
        elif account_id is not None:
            self.history_window.select(account_id)
        self.history_window.show()
        self.history_window.raise_()
        self.history_window.activateWindow()

    def _history_closed(self) -> None:
        self.history_window = None

    def add_account(self) -> None:
        """The empty menu's "Add an account…": Settings with the account editor open."""
        self.open_settings()
        if self.settings is not None and self.settings.config is not None:
            self.settings.add_account()

    def open_settings(self) -> None:
        """One settings window: shown, raised and focused if it is already open."""
        if self.demo:
            QMessageBox.information(None, APP_NAME, self.tr("This is the demo: its accounts are made up. "
                                                            "Start {app} without --demo to add your own.")
                                    .format(app=APP_NAME))
            return
        if not self._attached:
            return  # the first moments after start: the engine is still loading
        if self.settings is None:
            from tray_app.ui.settings import SettingsWindow  # only when asked: keeps start-up light

            self.settings = SettingsWindow(self.engine)
            # Like the History window: closed, it goes with its widgets (a few MiB); opening builds it again.
            self.settings.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            self.settings.destroyed.connect(self._settings_closed)
            self.settings.changed.connect(self._settings_changed)
            self.settings.historyRequested.connect(self.open_history)
            self.settings.demoRequested.connect(self.start_demo)
            self.settings.accountEdited.connect(self._account_edited)
        self.settings.set_config(self.config, self.config_error)
        self.settings.set_results(self.results)
        self.settings.show()
        self.settings.raise_()
        self.settings.activateWindow()

    def _settings_closed(self) -> None:
        self.settings = None

    def _settings_changed(self) -> None:
        # The watcher sees the write too; this covers a config folder that did not exist before.
        self._watch_config()
        self._reload.start()

    def _account_edited(self, account_id: str) -> None:
        """A key replaced or a base URL changed: the old answer says nothing now, so ask again at once."""
        self._forget_keys([account_id])
        account = self.config.account(account_id) if self.config else None
        if account is None or account.enabled:
            self.refresh([account_id])

    def show_about(self) -> None:
        if not self._attached:
            return
        if self.about is None:
            from tray_app.ui.about import AboutDialog

            self.about = AboutDialog(self.engine.config_path, paths.data_dir(), self.log_path)
        self.about.show()
        self.about.raise_()
        self.about.activateWindow()


def _tomorrow_morning() -> datetime:
    local = datetime.now().astimezone()
    morning = (local + timedelta(days=1)).replace(hour=8, minute=0, second=0, microsecond=0)
    return morning.astimezone(utc_now().tzinfo)
