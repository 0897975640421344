"""The settings window and the account editor: everything without touching a file.

Every keyring, network and file operation runs on a one-thread executor owned by
``SettingsBackend``; results come back to the GUI thread as queued signals. The
window never writes state of its own: it writes the config, the tray notices the
file change and reloads, and the window redraws from the tray's config. So a hand
edit of the file and a change made here travel the same road.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from tray_app import texts
from tray_app.autostart import Autostart
from tray_app.config import (
    ID_PATTERN,
    Account,
    Config,
    ConfigFileError,
    ConfigWriteError,
    add_account,
    base_url_problem,
    default_base_url,
    move_account,
    parse_thresholds,
    remove_account,
    set_enabled,
    set_globals,
    suggest_id,
    unique_label,
    update_account,
)
from tray_app.engine import Engine, resolve_language
from tray_app.fetch import Fetcher
from tray_app.history import HistoryError
from tray_app.keys import KeyUnavailable, key_problem
from tray_app.model import AccountResult, AccountState, ErrorKind, FetchError, Outcome
from tray_app.providers import CUSTOM_ID, PROVIDERS, get_provider, provider_for
from tray_app.safetext import text_problem
from tray_app.ui.custom_provider_form import CustomProviderForm

log = logging.getLogger(__name__)

LANGUAGE_CHOICES = (("auto", "Automatic (system language)"), ("en", "English"), ("zh", "简体中文"))
ERROR_STYLE = "color: #C62828;"


# --------------------------------------------------------------------------- background work

@dataclass(frozen=True)
class Draft:
    """An account as typed in the editor; ``key`` None means "keep the stored key"."""

    old_id: str | None
    account: Account
    key: str | None
    write_thresholds: bool


class SettingsBackend(QObject):
    """Runs blocking work off the GUI thread; each job's answer returns by a queued signal."""

    finished = Signal(object)  # _Done

    def __init__(self, engine: Engine, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.engine = engine
        # One daemon thread, not a ThreadPoolExecutor: its threads are joined at exit, so a keyring
        # waiting on a password prompt would keep Quit from quitting.
        self._jobs: queue.Queue[Callable[[], None] | None] = queue.Queue()
        self._thread: threading.Thread | None = None

    def run(self, job: Callable[[], Any], done: Callable[[Any, str | None], None]) -> None:
        """Run ``job`` in the background; ``done(result, error_text)`` is called on the GUI thread."""

        def work() -> None:
            try:
                result, error = job(), None
            except (ConfigFileError, KeyUnavailable, OSError, ValueError, KeyError) as exc:
                result, error = None, _explain(exc)
            except Exception as exc:  # never let a bug escape the worker silently
                log.exception("settings job failed")
                result, error = None, f"internal error ({type(exc).__name__})"
            self.finished.emit(_Done(done, result, error))

        if self._thread is None:
            self._thread = threading.Thread(target=self._serve, name="credit-tray-settings", daemon=True)
            self._thread.start()
        self._jobs.put(work)

    def _serve(self) -> None:
        while (job := self._jobs.get()) is not None:
            job()

    def shutdown(self) -> None:
        """Stop taking jobs; a job stuck in the keyring is left to die with the process."""
        self._jobs.put(None)

    # The jobs themselves: plain functions of the engine's config path and key store.
    def save(self, draft: Draft) -> None:
        path, keys = self.engine.config_path, self.engine.keys
        new_key_stored = False
        if draft.key is not None:
            keys.set(draft.account.id, draft.key)
            new_key_stored = draft.old_id is None
        try:
            if draft.old_id is None:
                add_account(path, draft.account, write_thresholds=draft.write_thresholds)
            else:
                update_account(path, draft.old_id, draft.account, write_thresholds=draft.write_thresholds)
        except BaseException:
            if new_key_stored:  # do not leave a key behind for an account that was not saved
                keys.delete(draft.account.id)
            raise
        if draft.old_id is not None and draft.old_id != draft.account.id:
            try:  # the renamed account keeps its history
                self.engine.history.rename(draft.old_id, draft.account.id)
            except HistoryError as exc:
                log.warning("the history of %s stays under its old id: %s", draft.old_id, exc)

    def remove(self, account_id: str) -> None:
        # Key first: a failure after it leaves the account listed (and removable), never a key no one can reach.
        self.engine.keys.delete(account_id)
        remove_account(self.engine.config_path, account_id)
        try:
            self.engine.forget(account_id)
        except HistoryError as exc:  # the account is gone from the config; old readings are harmless
            log.warning("the history of %s was kept: %s", account_id, exc)

    def has_key(self, account_id: str) -> bool:
        return self.engine.keys.get(account_id) is not None

    def test(self, draft: Draft, language: str) -> Outcome:
        account = draft.account
        provider = account.provider
        if provider is None:
            raise ValueError("choose a provider")
        key = draft.key if draft.key is not None else self.engine.keys.get(account.id)
        if not key:
            return FetchError(ErrorKind.NO_KEY, "no API key to test with")

        async def once() -> Outcome:
            async with Fetcher(self.engine.policy) as fetcher:
                return await fetcher.fetch(provider, account.url, key, language)

        return asyncio.run(once())


@dataclass(frozen=True)
class _Done:
    callback: Callable[[Any, str | None], None]
    result: Any
    error: str | None


def _explain(exc: BaseException) -> str:
    if isinstance(exc, ConfigFileError):
        return f"The config file has an error, so nothing was changed: {exc}"
    if isinstance(exc, KeyUnavailable):
        return f"Key unavailable: {exc}"
    if isinstance(exc, ConfigWriteError):  # names the config (not a temp file) and says nothing changed
        text = str(exc)
        return text[:1].upper() + text[1:]
    if isinstance(exc, OSError):
        return f"Could not write {exc.filename or 'the config'}: {exc.strerror or type(exc).__name__}"
    return str(exc)


# --------------------------------------------------------------------------- the account editor

def outcome_text(outcome: Outcome, provider_id: str) -> tuple[bool, str]:
    """(success, words) for a test fetch."""
    if isinstance(outcome, FetchError):
        return False, f"{texts.error_words(outcome, provider_id)} — {texts.error_detail(outcome)}"
    result = AccountResult(provider_id, provider_id, "", outcome.unit, AccountState.OK, outcome, None, None,
                           outcome.fetched_at)
    return True, f"Works: {texts.balance(result, texts.plain_number)}"


class AccountDialog(QDialog):
    """Add or edit one account; validates inline, saves through the backend."""

    saved = Signal(str)  # account id

    def __init__(self, backend: SettingsBackend, config: Config, account: Account | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.backend, self.config, self.account = backend, config, account
        self._replacing_key = account is None
        self.setWindowTitle("Edit account" if account else "Add account")
        self.setMinimumWidth(520)
        layout = self._layout = QVBoxLayout(self)
        form = QFormLayout()
        layout.addLayout(form)

        self.provider = QComboBox()
        for provider in PROVIDERS.values():
            self.provider.addItem(provider.name, provider.id)
        self.provider.addItem("Custom (any JSON endpoint)", CUSTOM_ID)
        self.provider.setAccessibleName("Provider")
        self.provider_hint = QLabel()
        self.provider_hint.setTextFormat(Qt.TextFormat.PlainText)
        self.provider_hint.setWordWrap(True)  # ordinary text colour: it says where the key comes from
        self.label = QLineEdit()
        self.label.setAccessibleName("Label")
        self.account_id = QLineEdit()
        self.account_id.setAccessibleName("Account id")
        self.account_id.setToolTip("A short unique name: lower-case letters, digits, '-' and '_'.")
        self.key = QLineEdit()
        self.key.setEchoMode(QLineEdit.EchoMode.Password)
        self.key.setAccessibleName("API key")
        self.key.setPlaceholderText("Paste the API key")
        self.show_key = QToolButton()
        self.show_key.setText("S&how")
        self.show_key.setCheckable(True)
        self.show_key.setAccessibleName("Show the API key")
        self.show_key.setToolTip("Show or hide the key as typed")
        self.show_key.toggled.connect(lambda on: self.key.setEchoMode(
            QLineEdit.EchoMode.Normal if on else QLineEdit.EchoMode.Password))
        self.key_stored = QLabel("Checking the keyring…")
        self.key_stored.setTextFormat(Qt.TextFormat.PlainText)
        self.replace_key = QPushButton("&Replace key…")
        self.replace_key.clicked.connect(self._start_replacing)
        self.thresholds = QLineEdit()
        self.thresholds.setAccessibleName("Alert thresholds")
        self.thresholds.setToolTip("Numbers separated by commas: you are alerted once when the balance drops below "
                                   "each. 0 is the alert that it has run out; leave 0 out for no such alert.")
        self.advanced = QToolButton()
        self.advanced.setText("Advanced")
        self.advanced.setCheckable(True)
        self.advanced.setArrowType(Qt.ArrowType.RightArrow)
        self.advanced.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.base_url = QLineEdit()
        self.base_url.setAccessibleName("Base URL")
        self.base_url.setToolTip("A mirror or proxy: replaces the scheme, host and port of the provider's address.")
        self.errors: dict[str, QLabel] = {}

        def row(text: str, field: QWidget, name: str, extra: QWidget | None = None) -> QVBoxLayout:
            label = QLabel(text)
            label.setBuddy(field)
            box = QVBoxLayout()
            line = QHBoxLayout()
            line.addWidget(field, 1)
            if extra is not None:
                line.addWidget(extra)
            box.addLayout(line)
            error = QLabel()
            error.setTextFormat(Qt.TextFormat.PlainText)  # problems quote what was typed
            error.setStyleSheet(ERROR_STYLE)
            error.setWordWrap(True)
            error.hide()
            error.setAccessibleName(f"{name} error")
            box.addWidget(error)
            self.errors[name] = error
            form.addRow(label, box)
            return box

        row("&Provider:", self.provider, "provider")
        form.addRow("", self.provider_hint)
        row("&Label:", self.label, "label")
        row("&Id:", self.account_id, "id")
        key_box = QWidget()
        key_line = QHBoxLayout(key_box)
        key_line.setContentsMargins(0, 0, 0, 0)
        key_line.addWidget(self.key, 1)
        key_line.addWidget(self.show_key)
        key_line.addWidget(self.key_stored, 1)
        key_line.addWidget(self.replace_key)
        row("API &key:", key_box, "key")
        row("&Thresholds:", self.thresholds, "thresholds")
        form.addRow(self.advanced)
        self._form = form
        self._base_url_row = row("&Base URL:", self.base_url, "base_url")
        self.advanced.toggled.connect(self._show_advanced)

        self.test_button = QPushButton("T&est")
        self.test_button.clicked.connect(self.test)
        self.test_result = QLabel()
        # The provider's own words: a server must not draw a fake "Works" or load local images here.
        self.test_result.setTextFormat(Qt.TextFormat.PlainText)
        self.test_result.setWordWrap(True)
        self.test_result.setAccessibleName("Test result")
        test_line = QHBoxLayout()
        test_line.addWidget(self.test_button)
        test_line.addWidget(self.test_result, 1)
        layout.addLayout(test_line)
        self.save_error = QLabel()
        self.save_error.setTextFormat(Qt.TextFormat.PlainText)
        self.save_error.setStyleSheet(ERROR_STYLE)
        self.save_error.setWordWrap(True)
        self.save_error.hide()
        layout.addWidget(self.save_error)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)

        self.provider.currentIndexChanged.connect(self._provider_changed)
        self.label.textEdited.connect(self._suggest_id)
        self._id_edited = account is not None
        self._default_label = ""
        self.account_id.textEdited.connect(lambda _: setattr(self, "_id_edited", True))
        self.custom_form = CustomProviderForm(self)
        layout.insertWidget(1, self.custom_form, 1)
        self._fill()

    # ------------------------------------------------------------------ filling
    def _fill(self) -> None:
        account = self.account
        if account is None:
            self._provider_changed()
            self.key_stored.hide()
            self.replace_key.hide()
            self._show_advanced(False)
            return
        self.provider.setCurrentIndex(max(0, self.provider.findData(account.provider_id)))
        self.provider.setEnabled(False)  # a key belongs to one provider: add a new account instead
        provider = get_provider(account.provider_id)
        if provider is not None:
            self.base_url.setPlaceholderText(default_base_url(provider))
        self.label.setText(account.label)
        self.account_id.setText(account.id)
        self.account_id.setReadOnly(True)  # the keyring entry is named after the id
        self.thresholds.setText(", ".join(texts.plain_number(t).replace(",", "") for t in account.thresholds))
        self.base_url.setText(account.base_url or "")
        self._show_advanced(bool(account.base_url))
        self.advanced.setChecked(bool(account.base_url))
        self._provider_hint()
        self.key.hide()
        self.show_key.hide()
        self.backend.run(lambda: self.backend.has_key(account.id), self._key_state)

    def _key_state(self, has_key: bool | None, error: str | None) -> None:
        if self._replacing_key:
            return
        if error:
            self.key_stored.setText(error)
        else:
            self.key_stored.setText("A key is stored in your keyring." if has_key else "No key is stored yet.")

    def _start_replacing(self) -> None:
        self._replacing_key = True
        self.key_stored.hide()
        self.replace_key.hide()
        self.key.show()
        self.show_key.show()
        self.key.setFocus()

    def _provider_changed(self) -> None:
        provider = get_provider(self.provider.currentData())
        if provider is None:
            return
        self._provider_hint()
        if self.account is None:
            self.thresholds.setText(", ".join(str(t) for t in provider.thresholds))
            self.base_url.setPlaceholderText(default_base_url(provider))
            if not self.label.text() or self.label.text() == self._default_label:
                # Several accounts of one provider must not all read "MeowLoad".
                self._default_label = unique_label(provider.name, {a.label for a in self.config.accounts})
                self.label.setText(self._default_label)
            self._suggest_id()

    def _provider_hint(self) -> None:
        provider = get_provider(self.provider.currentData())
        if provider is not None:
            self.provider_hint.setText(f"Key from: {provider.key_hint} · unit: {provider.unit}")

    def _suggest_id(self) -> None:
        if self._id_edited or self.account is not None:
            return
        taken = {a.id for a in self.config.accounts}
        self.account_id.setText(suggest_id(str(self.provider.currentData()), self.label.text(), taken))

    def _show_advanced(self, shown: bool) -> None:
        self.advanced.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)
        self._form.setRowVisible(self._base_url_row, shown)
        self._fit()

    def _fit(self) -> None:
        """Grow downwards to fit a wrapped error, a test result or the Advanced row, so nothing is clipped
        and nothing above moves."""
        self._layout.activate()
        needed = self._layout.totalHeightForWidth(self.width())
        self.setMinimumHeight(needed)
        if self.height() < needed:
            self.resize(self.width(), needed)

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        self._fit()

    # ------------------------------------------------------------------ validation
    def draft(self) -> Draft | None:
        """The account as typed, or None after showing every problem next to its field."""
        problems: dict[str, str] = {}
        provider_id = self.provider.currentData()
        custom, custom_problem = self.custom_form.draft(provider_id)
        provider = provider_for(provider_id, custom)
        if provider is None:
            problems["provider"] = custom_problem or "Choose a provider."
        label = self.label.text().strip()
        if not label:
            problems["label"] = "Give the account a label."
        elif problem := text_problem("The label", label):
            problems["label"] = problem + "."
        account_id = self.account_id.text().strip()
        if not ID_PATTERN.fullmatch(account_id):
            problems["id"] = "Use lower-case letters, digits, '-' and '_' (at most 64)."
        elif self.account is None and self.config.account(account_id) is not None:
            problems["id"] = f"The id {account_id!r} is already used by another account."
        base_url = self.base_url.text().strip() or None
        if base_url and (problem := base_url_problem(base_url, "the base URL")):
            problems["base_url"] = problem[0].upper() + problem[1:] + "."
            self.advanced.setChecked(True)
        thresholds: tuple[Decimal, ...] = ()
        try:
            thresholds = parse_thresholds([t for t in re.split(r"[,\s;]+", self.thresholds.text()) if t],
                                          from_text=True)
        except ValueError as exc:
            problems["thresholds"] = str(exc)[0].upper() + str(exc)[1:] + "."
        key: str | None = None
        if self._replacing_key:
            key = self.key.text().strip()
            if not key:
                problems["key"] = "Paste the API key from your provider's dashboard."
            elif any(ch in key for ch in "\r\n\0"):
                problems["key"] = "The key must be one line."
            elif problem := key_problem(key):
                problems["key"] = f"This is not an API key as pasted: {problem}. Copy it again."
        for name, error in self.errors.items():
            error.setText(problems.get(name, ""))
            error.setVisible(name in problems)
        self._fit()
        if problems:
            first = next(iter(problems))
            {"provider": self.provider, "label": self.label, "id": self.account_id, "key": self.key,
             "thresholds": self.thresholds, "base_url": self.base_url}[first].setFocus()
            return None
        assert provider is not None
        write_thresholds = tuple(thresholds) != provider.thresholds
        account = Account(id=account_id, provider_id=provider.id, label=label, base_url=base_url,
                          thresholds=thresholds, enabled=self.account.enabled if self.account else True, custom=custom)
        return Draft(self.account.id if self.account else None, account, key, write_thresholds)

    # ------------------------------------------------------------------ actions
    def test(self) -> None:
        draft = self.draft()
        if draft is None:
            return
        self.test_button.setEnabled(False)
        self.test_result.setStyleSheet("")
        self.test_result.setText("Testing…")
        language = resolve_language(self.config.language)
        if self.custom_form.handles(draft):  # shows the raw answer and the parsed paths too
            return self.custom_form.test(draft, language)
        self.backend.run(lambda: self.backend.test(draft, language),
                         lambda outcome, error: self._tested(draft, outcome, error))

    def _tested(self, draft: Draft, outcome: Outcome | None, error: str | None) -> None:
        self.test_button.setEnabled(True)
        if outcome is None:
            ok, words = False, error or "the test failed"
        else:
            ok, words = outcome_text(outcome, draft.account.provider_id)
        self.test_result.setStyleSheet("color: #2E7D32;" if ok else ERROR_STYLE)
        self.test_result.setText(words)
        self._fit()

    def save(self) -> None:
        draft = self.draft()
        if draft is None:
            return
        self.buttons.setEnabled(False)
        self.save_error.hide()
        self.backend.run(lambda: self.backend.save(draft), lambda _, error: self._saved(draft, error))

    def _saved(self, draft: Draft, error: str | None) -> None:
        self.buttons.setEnabled(True)
        if error:
            self.save_error.setText(error)
            self.save_error.show()
            self._fit()
            return
        self.saved.emit(draft.account.id)
        self.accept()


# --------------------------------------------------------------------------- the settings window

def confirm_removal(parent: QWidget, account: Account) -> bool:
    """Ask with buttons that say what they do ("Remove", "Cancel"), Cancel the default."""
    box = QMessageBox(QMessageBox.Icon.Question, "Remove account",
                      f"Remove “{account.label}” ({texts.provider_name(account.provider_id)})? "
                      "Its API key will be deleted from your keyring.", parent=parent)
    remove = box.addButton("&Remove", QMessageBox.ButtonRole.DestructiveRole)
    cancel = box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(cancel)
    box.setEscapeButton(cancel)
    box.exec()
    return box.clickedButton() is remove


WELCOME = (
    "<b>Welcome to Credit Tray.</b> It watches the prepaid credits of your API accounts and "
    "warns you before they run out. Add an account with its API key to begin: the key is stored "
    "in your system's keyring, never in a file. Balances then show in the tray icon's menu."
)


class SettingsWindow(QWidget):
    """Accounts and global settings; every change is written at once and applied by the tray."""

    changed = Signal()  # something was written (tests wait on it)
    historyRequested = Signal(object)  # str | None: the account to show, if one is selected
    demoRequested = Signal()  # "Try the demo first": the tray runs it in this process
    accountEdited = Signal(str)  # an existing account was saved from the editor: check it again now

    def __init__(self, engine: Engine, *, autostart: Autostart | None = None) -> None:
        super().__init__()
        self.setWindowTitle("Settings")  # the desktop adds the app's name
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
        self.resize(720, 560)

        layout = QVBoxLayout(self)
        self.welcome = QLabel(WELCOME)
        self.welcome.setWordWrap(True)
        self.welcome.setTextFormat(Qt.TextFormat.RichText)
        self.demo_button = QPushButton("Try the &demo first")
        self.demo_button.setToolTip("Made-up accounts whose balances drain, with no keys and no network")
        self.demo_button.clicked.connect(self.start_demo)
        welcome_line = QHBoxLayout()
        welcome_line.addWidget(self.welcome, 1)
        welcome_line.addWidget(self.demo_button)
        layout.addLayout(welcome_line)

        accounts_box = QGroupBox("Accounts")
        accounts_layout = QVBoxLayout(accounts_box)
        self.table = QTableWidget(0, 5)
        self.table.setHorizontalHeaderLabels(["On", "Provider", "Label", "State", "Last balance"])
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(4, QHeaderView.ResizeMode.Stretch)
        self.table.setAccessibleName("Accounts")
        self.table.itemChanged.connect(self._enabled_toggled)
        self.table.itemDoubleClicked.connect(lambda _: self.edit_selected())
        self.table.itemSelectionChanged.connect(self._selection_changed)
        accounts_layout.addWidget(self.table)
        buttons = QHBoxLayout()
        self.add_button = QPushButton("&Add…")
        self.edit_button = QPushButton("&Edit…")
        self.remove_button = QPushButton("&Remove…")
        self.up_button = QPushButton("Move &up")
        self.down_button = QPushButton("Move do&wn")
        self.history_button = QPushButton("&History…")
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

        general = self.general = QGroupBox("General")
        form = QFormLayout(general)
        self.refresh_minutes = QSpinBox()
        self.refresh_minutes.setRange(1, 1440)
        self.refresh_minutes.setSuffix(" min")
        self.refresh_minutes.setAccessibleName("Refresh interval in minutes")
        self.refresh_minutes.editingFinished.connect(
            lambda: self._write_global(refresh_minutes=self.refresh_minutes.value()))
        self.notifications = QCheckBox("Desktop &notifications on low balances")
        self.notifications.toggled.connect(lambda on: self._write_global(notifications=on))
        self.icon_number = QCheckBox("Show the lowest balance on the &icon")
        self.icon_number.toggled.connect(lambda on: self._write_global(icon_number=on))
        self.forecast_days = QSpinBox()
        self.forecast_days.setRange(0, 60)
        self.forecast_days.setSuffix(" days")
        self.forecast_days.setSpecialValueText("Never")  # 0: no run-out warning
        self.forecast_days.setAccessibleName("Warn when a balance will run out within this many days")
        self.forecast_days.setToolTip("At the current pace, from the reading history; 0 turns the warning off.")
        self.forecast_days.editingFinished.connect(
            lambda: self._write_global(forecast_alert_days=self.forecast_days.value()))
        self.top_ups = QCheckBox("Tell me when a balance is &topped up")
        self.top_ups.toggled.connect(lambda on: self._write_global(top_up_notifications=on))
        self.start_at_login = QCheckBox("&Start at login")
        self.start_at_login.toggled.connect(self._autostart_toggled)
        self.language = QComboBox()
        for value, text in LANGUAGE_CHOICES:
            self.language.addItem(text, value)
        self.language.setAccessibleName("Language of provider messages")
        self.language.currentIndexChanged.connect(
            lambda _: self._write_global(language=self.language.currentData()))
        refresh_label = QLabel("Check &every:")
        refresh_label.setBuddy(self.refresh_minutes)
        language_label = QLabel("Provider &language:")
        language_label.setBuddy(self.language)
        form.addRow(refresh_label, self.refresh_minutes)
        form.addRow(self.notifications)
        forecast_label = QLabel("Warn before running &out:")
        forecast_label.setBuddy(self.forecast_days)
        form.addRow(forecast_label, self.forecast_days)
        form.addRow(self.top_ups)
        form.addRow(self.icon_number)
        form.addRow(self.start_at_login)
        form.addRow(language_label, self.language)
        layout.addWidget(general)

        self.status = QLabel()
        self.status.setTextFormat(Qt.TextFormat.PlainText)  # config errors quote the file
        self.status.setWordWrap(True)
        self.status.setStyleSheet(ERROR_STYLE)
        self.status.setAccessibleName("Status")
        self.status.hide()
        layout.addWidget(self.status)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.close)
        layout.addWidget(close)
        QShortcut(QKeySequence(Qt.Key.Key_Escape), self, self.close)
        self._selection_changed()

    # ------------------------------------------------------------------ data in
    def set_config(self, config: Config | None, error: str | None = None) -> None:
        if error:
            self.show_status(f"The config file has an error, so changes here are off until it is fixed "
                             f"(edit the file, or undo the edit): {error}")
        elif config is not None and config.warnings:  # a misspelt key: the rest works, but say what is ignored
            self.show_status("\n".join(config.warnings))
        else:
            self.status.hide()
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
        enabled.setData(Qt.ItemDataRole.AccessibleTextRole, f"{account.label} enabled")
        result = self.results.get(account.id)
        # Plain words in the State column; the Last balance column holds a balance or nothing.
        last_balance = texts.balance(result) if result is not None and result.reading is not None else ""
        if account.problem:
            state = f"Config error: {account.problem}"
        elif not account.enabled:
            state = "Off"
        elif result is None:
            state = "Not checked yet"
        elif result.error is not None:
            state = texts.error_words(result.error, result.provider_id)
        else:
            state = texts.STATE_WORDS[result.state]
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
    def show_status(self, text: str) -> None:
        self.status.setText(text)
        self.status.setVisible(bool(text))

    def _job_done(self, done: _Done) -> None:
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
