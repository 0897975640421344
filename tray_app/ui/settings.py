"""The settings window: accounts, the general settings, and the way every change travels.

The account editor is ``account_editor.py`` and the background work ``settings_backend.py``.

Every keyring, network and file operation runs on a one-thread executor owned by
``SettingsBackend``; results come back to the GUI thread as queued signals. The
window never writes state of its own: it writes the config, the tray notices the
file change and reloads, and the window redraws from the tray's config. So a hand
edit of the file and a change made here travel the same road.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, QEvent, Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from tray_app import texts
from tray_app.autostart import Autostart
from tray_app.config import (
    Account,
    Config,
    move_account,
    set_enabled,
    set_globals,
)
from tray_app.engine import Engine
from tray_app.model import AccountResult
from tray_app.ui.account_editor import AccountDialog
from tray_app.ui.custom_provider_form import ERROR_STYLE, shown
from tray_app.ui.settings_backend import JobDone, SettingsBackend
from tray_app.words_settings import days_suffix

log = logging.getLogger(__name__)

# The interface language's choices; each language is named in its own language, "automatic" in the current one.
LANGUAGE_CHOICES = (
    ("auto", str(QT_TRANSLATE_NOOP("SettingsWindow", "Automatic (system language)"))),
    ("en", "English"), ("zh", "简体中文"))  # untranslated: a language's own name for itself


# --------------------------------------------------------------------------- the settings window

def confirm_removal(parent: QWidget, account: Account) -> bool:
    """Ask with buttons that say what they do ("Remove", "Cancel"), Cancel the default."""
    question = QCoreApplication.translate(
        "SettingsWindow", "Remove “{label}” ({provider})? Its API key will be deleted from your keyring.")
    box = QMessageBox(QMessageBox.Icon.Question, QCoreApplication.translate("SettingsWindow", "Remove account"),
                      question.format(label=account.label, provider=texts.provider_name(account.provider_id)),
                      parent=parent)
    remove = box.addButton(QCoreApplication.translate("SettingsWindow", "&Remove"),
                           QMessageBox.ButtonRole.DestructiveRole)
    cancel = box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(cancel)
    box.setEscapeButton(cancel)
    box.exec()
    return box.clickedButton() is remove


WELCOME = str(QT_TRANSLATE_NOOP(
    "SettingsWindow",
    "<b>Welcome to Credit Tray.</b> It watches the prepaid credits of your API accounts and "
    "warns you before they run out. Add an account with its API key to begin: the key is stored "
    "in your system's keyring, never in a file. Balances then show in the tray icon's menu."
))


class SettingsWindow(QWidget):
    """Accounts and global settings; every change is written at once and applied by the tray."""

    changed = Signal()  # something was written (tests wait on it)
    historyRequested = Signal(object)  # str | None: the account to show, if one is selected
    demoRequested = Signal()  # "Try the demo first": the tray runs it in this process
    accountEdited = Signal(str)  # an existing account was saved from the editor: check it again now

    def __init__(self, engine: Engine, *, autostart: Autostart | None = None) -> None:
        super().__init__()
        # Not a child of the window: a job still running when the window is closed (and deleted)
        # finishes on a backend that still exists; its answer then has nobody to go to.
        self.backend = SettingsBackend(engine)
        self.backend.finished.connect(self._job_done)
        self.autostart = autostart or Autostart()
        self.config: Config | None = None
        self.results: dict[str, AccountResult] = {}
        self.dialog: AccountDialog | None = None
        self._filling = False
        self._writable = True
        # Says the status line again in the current language (a config error); None: it is shown as it came.
        self._status_words: Callable[[], str] | None = None
        self.resize(720, 560)

        layout = QVBoxLayout(self)
        self.welcome = QLabel()
        self.welcome.setWordWrap(True)
        self.welcome.setTextFormat(Qt.TextFormat.RichText)
        self.demo_button = QPushButton()
        self.demo_button.clicked.connect(self.start_demo)
        welcome_line = QHBoxLayout()
        welcome_line.addWidget(self.welcome, 1)
        welcome_line.addWidget(self.demo_button)
        layout.addLayout(welcome_line)

        accounts_box = self.accounts_box = QGroupBox()
        accounts_layout = QVBoxLayout(accounts_box)
        self.table = QTableWidget(0, 5)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(4, QHeaderView.ResizeMode.Stretch)
        self.table.itemChanged.connect(self._enabled_toggled)
        self.table.itemDoubleClicked.connect(lambda _: self.edit_selected())
        self.table.itemSelectionChanged.connect(self._selection_changed)
        accounts_layout.addWidget(self.table)
        buttons = QHBoxLayout()
        self.add_button = QPushButton()
        self.edit_button = QPushButton()
        self.remove_button = QPushButton()
        self.up_button = QPushButton()
        self.down_button = QPushButton()
        self.history_button = QPushButton()
        self.history_button.clicked.connect(lambda: self.historyRequested.emit(self.selected_id()))
        actions: list[tuple[QPushButton, Callable[[], None]]] = [
            (self.add_button, self.add_account), (self.edit_button, self.edit_selected),
            (self.remove_button, self.remove_selected), (self.up_button, lambda: self.move_selected(-1)),
            (self.down_button, lambda: self.move_selected(1))]
        for button, action in actions:
            button.clicked.connect(action)
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.history_button)
        accounts_layout.addLayout(buttons)
        layout.addWidget(accounts_box, 1)

        general = self.general = QGroupBox()
        form = QFormLayout(general)
        self.refresh_minutes = QSpinBox()
        self.refresh_minutes.setRange(1, 1440)
        self.refresh_minutes.editingFinished.connect(
            lambda: self._write_global(refresh_minutes=self.refresh_minutes.value()))
        self.notifications = QCheckBox()
        self.notifications.toggled.connect(lambda on: self._write_global(notifications=on))
        self.icon_number = QCheckBox()
        self.icon_number.toggled.connect(lambda on: self._write_global(icon_number=on))
        self.forecast_days = QSpinBox()
        self.forecast_days.setRange(0, 60)
        self.forecast_days.valueChanged.connect(lambda days: self.forecast_days.setSuffix(days_suffix(days)))
        self.forecast_days.editingFinished.connect(
            lambda: self._write_global(forecast_alert_days=self.forecast_days.value()))
        self.top_ups = QCheckBox()
        self.top_ups.toggled.connect(lambda on: self._write_global(top_up_notifications=on))
        self.start_at_login = QCheckBox()
        self.start_at_login.toggled.connect(self._autostart_toggled)
        self.language = QComboBox()
        for value, text in LANGUAGE_CHOICES:
            self.language.addItem(text, value)
        self.language.currentIndexChanged.connect(
            lambda _: self._write_global(language=self.language.currentData()))
        self.refresh_label = QLabel()
        self.refresh_label.setBuddy(self.refresh_minutes)
        self.language_label = QLabel()
        self.language_label.setBuddy(self.language)
        form.addRow(self.refresh_label, self.refresh_minutes)
        form.addRow(self.notifications)
        self.forecast_label = QLabel()
        self.forecast_label.setBuddy(self.forecast_days)
        form.addRow(self.forecast_label, self.forecast_days)
        form.addRow(self.top_ups)
        form.addRow(self.icon_number)
        form.addRow(self.start_at_login)
        form.addRow(self.language_label, self.language)
        layout.addWidget(general)

        self.status = QLabel()
        self.status.setTextFormat(Qt.TextFormat.PlainText)  # config errors quote the file
        self.status.setWordWrap(True)
        self.status.setStyleSheet(ERROR_STYLE)
        self.status.hide()
        layout.addWidget(self.status)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.close)
        layout.addWidget(close)
        QShortcut(QKeySequence(Qt.Key.Key_Escape), self, self.close)
        self.retranslate()
        self._selection_changed()

    # ------------------------------------------------------------------ words
    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()

    def retranslate(self) -> None:
        """Every text of the window in the current language; the selection and the values stay as they are."""
        self.setWindowTitle(self.tr("Settings"))  # the desktop adds the app's name
        self.welcome.setText(QCoreApplication.translate("SettingsWindow", WELCOME))
        self.demo_button.setText(self.tr("Try the &demo first"))
        self.demo_button.setToolTip(self.tr("Made-up accounts whose balances drain, with no keys and no network"))
        self.accounts_box.setTitle(self.tr("Accounts"))
        self.table.setHorizontalHeaderLabels(
            [self.tr("On"), self.tr("Provider"), self.tr("Label"), self.tr("State"), self.tr("Last balance")])
        self.table.setAccessibleName(self.tr("Accounts"))
        for button, text in ((self.add_button, self.tr("&Add…")), (self.edit_button, self.tr("&Edit…")),
                             (self.remove_button, self.tr("&Remove…")), (self.up_button, self.tr("Move &up")),
                             (self.down_button, self.tr("Move do&wn")), (self.history_button, self.tr("&History…"))):
            button.setText(text)
        self.general.setTitle(self.tr("General"))
        self.refresh_label.setText(self.tr("&Check every:"))
        #: after the number of minutes in "Check every: 15 min"; keep the leading space.
        self.refresh_minutes.setSuffix(self.tr(" min"))
        self.refresh_minutes.setAccessibleName(self.tr("Refresh interval in minutes"))
        self.notifications.setText(self.tr("Desktop &notifications on low balances"))
        self.icon_number.setText(self.tr("Show the lowest balance on the &icon"))
        self.forecast_label.setText(self.tr("Warn before running &out:"))
        self.forecast_days.setSuffix(days_suffix(self.forecast_days.value()))
        self.forecast_days.setSpecialValueText(self.tr("Never"))  # 0: no run-out warning
        self.forecast_days.setAccessibleName(self.tr("Warn when a balance will run out within this many days"))
        self.forecast_days.setToolTip(
            self.tr("At the current pace, from the reading history; 0 turns the warning off."))
        self.top_ups.setText(self.tr("Tell me when a balance is &topped up"))
        self.start_at_login.setText(self.tr("&Start at login"))
        # The language picks the whole interface's as well as the providers' messages.
        self.language_label.setText(self.tr("Interface &language:"))
        self.language.setAccessibleName(self.tr("Language of the interface and of provider messages"))
        for index, (_value, text) in enumerate(LANGUAGE_CHOICES):
            self.language.setItemText(index, QCoreApplication.translate("SettingsWindow", text))
        self.status.setAccessibleName(self.tr("Status"))
        if self._status_words is not None:
            self.status.setText(self._status_words())
        self.set_results(self.results)  # the State column's words

    # ------------------------------------------------------------------ data in
    def set_config(self, config: Config | None, error: str | None = None) -> None:
        if error:
            self.show_status(lambda: self.tr("The config file has an error, so changes here are off until it is "
                                             "fixed (edit the file, or undo the edit): {error}").format(error=error))
        elif config is not None and config.warnings:  # a misspelt key: the rest works, but say what is ignored
            self.show_status("\n".join(config.warnings))
        else:
            self.show_status("")
        self._set_writable(error is None)
        if config is None:
            return
        self.config = config
        self._filling = True
        try:
            self.welcome.setVisible(not config.accounts)
            self.demo_button.setVisible(not config.accounts)
            self.refresh_minutes.setValue(round(config.refresh_minutes))
            self.notifications.setChecked(config.notifications)
            self.icon_number.setChecked(config.icon_number)
            self.forecast_days.setValue(round(config.forecast_alert_days))
            self.top_ups.setChecked(config.top_up_notifications)
            self.language.setCurrentIndex(max(0, self.language.findData(config.language)))
            self.start_at_login.setChecked(self.autostart.enabled())
            selected = self.selected_id()
            self.table.setRowCount(len(config.accounts))
            for row, account in enumerate(config.accounts):
                self._fill_row(row, account)
            if selected is not None:
                self.select(selected)
        finally:
            self._filling = False
        self._selection_changed()

    def set_results(self, results: dict[str, AccountResult]) -> None:
        self.results = results
        if self.config is None:
            return
        self._filling = True
        try:
            for row, account in enumerate(self.config.accounts):
                if row < self.table.rowCount():
                    self._fill_row(row, account)
        finally:
            self._filling = False

    def _fill_row(self, row: int, account: Account) -> None:
        enabled = QTableWidgetItem()
        enabled.setFlags(Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
        enabled.setCheckState(Qt.CheckState.Checked if account.enabled else Qt.CheckState.Unchecked)
        enabled.setData(Qt.ItemDataRole.UserRole, account.id)
        enabled.setData(Qt.ItemDataRole.AccessibleTextRole, self.tr("{label} enabled").format(label=account.label))
        result = self.results.get(account.id)
        # Plain words in the State column; the Last balance column holds a balance or nothing.
        last_balance = texts.balance(result) if result is not None and result.reading is not None else ""
        if account.problem:
            state = self.tr("Config error: {problem}").format(problem=account.problem)
        elif not account.enabled:
            state = self.tr("Off")
        elif result is None:
            state = self.tr("Not checked yet")
        elif result.error is not None:
            state = texts.error_words(result.error, result.provider_id)
        else:
            state = shown(texts.STATE_WORDS[result.state])
        labels = texts.labels([(a.id, a.label) for a in self.config.accounts]) if self.config else {}
        cells = [enabled, QTableWidgetItem(texts.provider_name(account.provider_id)),
                 QTableWidgetItem(labels.get(account.id, account.label)), QTableWidgetItem(state),
                 QTableWidgetItem(last_balance)]
        for column, item in enumerate(cells):
            self.table.setItem(row, column, item)

    # ------------------------------------------------------------------ selection
    def selected_id(self) -> str | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        item = self.table.item(rows[0].row(), 0)
        return str(item.data(Qt.ItemDataRole.UserRole)) if item is not None else None

    def select(self, account_id: str) -> None:
        for row in range(self.table.rowCount()):
            item = self.table.item(row, 0)
            if item is not None and item.data(Qt.ItemDataRole.UserRole) == account_id:
                self.table.selectRow(row)
                return

    def _set_writable(self, writable: bool) -> None:
        """While the file is broken every write would be refused: say so once, and offer none."""
        self._writable = writable
        self.general.setEnabled(writable)
        self.table.setEnabled(writable)
        self.add_button.setEnabled(writable)
        if not writable and self.dialog is not None:
            self.dialog.close()
        self._selection_changed()

    def _selection_changed(self) -> None:
        chosen = self.selected_id() is not None and self._writable
        for button in (self.edit_button, self.remove_button, self.up_button, self.down_button):
            button.setEnabled(chosen)

    # ------------------------------------------------------------------ actions
    def show_status(self, text: str | Callable[[], str]) -> None:
        """Show ``text``; a function that makes it is asked again when the language changes."""
        self._status_words = text if callable(text) else None
        self.status.setText(text() if callable(text) else text)
        self.status.setVisible(bool(self.status.text()))

    def _job_done(self, done: JobDone) -> None:
        done.callback(done.result, done.error)

    def _after_write(self, _: Any, error: str | None) -> None:
        if error:
            self.show_status(error)
        self.changed.emit()

    def _write_global(self, **values: Any) -> None:
        if self._filling or self.config is None:
            return
        current = {"refresh_minutes": round(self.config.refresh_minutes), "notifications": self.config.notifications,
                   "icon_number": self.config.icon_number, "language": self.config.language,
                   "forecast_alert_days": round(self.config.forecast_alert_days),
                   "top_up_notifications": self.config.top_up_notifications}
        if all(current[k] == v for k, v in values.items()):
            return
        path = self.backend.engine.config_path
        self.backend.run(lambda: set_globals(path, **values), self._after_write)

    def _autostart_toggled(self, on: bool) -> None:
        if self._filling:
            return
        self.backend.run(self.autostart.enable if on else self.autostart.disable, self._after_write)

    def _enabled_toggled(self, item: QTableWidgetItem) -> None:
        if self._filling or item.column() != 0:
            return
        account_id = str(item.data(Qt.ItemDataRole.UserRole))
        on = item.checkState() == Qt.CheckState.Checked
        path = self.backend.engine.config_path
        self.backend.run(lambda: set_enabled(path, account_id, on), self._after_write)

    def _open_dialog(self, account: Account | None) -> None:
        if self.config is None:
            return
        if self.dialog is not None:
            self.dialog.close()
        self.dialog = AccountDialog(self.backend, self.config, account, self)
        self.dialog.saved.connect(lambda _: self._after_write(None, None))
        if account is not None:
            self.dialog.saved.connect(self.accountEdited.emit)
        self.dialog.open()

    def add_account(self) -> None:
        self._open_dialog(None)

    def edit_selected(self) -> None:
        account_id = self.selected_id()
        account = self.config.account(account_id) if self.config and account_id else None
        if account is not None:
            self._open_dialog(account)

    def remove_selected(self) -> None:
        account_id = self.selected_id()
        account = self.config.account(account_id) if self.config and account_id else None
        if account is None:
            return
        if not confirm_removal(self, account):
            return
        self.backend.run(lambda: self.backend.remove(account.id), self._after_write)

    def move_selected(self, offset: int) -> None:
        account_id = self.selected_id()
        if account_id is None:
            return
        path = self.backend.engine.config_path
        self.backend.run(lambda: move_account(path, account_id, offset), self._after_write)

    def start_demo(self) -> None:
        self.demoRequested.emit()

    def closeEvent(self, event: Any) -> None:
        if self.dialog is not None:
            self.dialog.close()
        self.backend.shutdown()  # the window is deleted on close: its job thread ends after the job at hand
        super().closeEvent(event)

    def shutdown(self) -> None:
        self.backend.shutdown()
