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

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, QEvent, QObject, Qt, QTimer, Signal
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
from tray_app.ui.custom_provider_form import CustomProviderForm, sentence, shown
from tray_app.words_settings import days_suffix

log = logging.getLogger(__name__)

# The interface language's choices; each language is named in its own language, "automatic" in the current one.
LANGUAGE_CHOICES = (
    ("auto", str(QT_TRANSLATE_NOOP("SettingsWindow", "Automatic (system language)"))),
    ("en", "English"), ("zh", "简体中文"))  # untranslated: a language's own name for itself
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
                result, error = None, QCoreApplication.translate("SettingsBackend", "internal error ({name})").format(
                    name=type(exc).__name__)
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
            raise ValueError(QCoreApplication.translate("SettingsBackend", "choose a provider"))
        key = draft.key if draft.key is not None else self.engine.keys.get(account.id)
        if not key:
            return FetchError(ErrorKind.NO_KEY,
                              QCoreApplication.translate("SettingsBackend", "no API key to test with"))

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
    """A failed job in words (runs on the backend's thread: Qt's translate is safe there)."""
    if isinstance(exc, ConfigFileError):
        return QCoreApplication.translate(
            "SettingsBackend", "The config file has an error, so nothing was changed: {error}").format(error=exc)
    if isinstance(exc, KeyUnavailable):
        return QCoreApplication.translate("SettingsBackend", "Key unavailable: {error}").format(error=exc)
    if isinstance(exc, ConfigWriteError):  # names the config (not a temp file) and says nothing changed
        text = str(exc)
        return text[:1].upper() + text[1:]
    if isinstance(exc, OSError):
        return QCoreApplication.translate("SettingsBackend", "Could not write {file}: {reason}").format(
            file=exc.filename or QCoreApplication.translate("SettingsBackend", "the config file"),
            reason=exc.strerror or type(exc).__name__)
    return str(exc)


# --------------------------------------------------------------------------- the account editor

def outcome_text(outcome: Outcome, provider_id: str) -> tuple[bool, str]:
    """(success, words) for a test fetch."""
    if isinstance(outcome, FetchError):
        words, detail = texts.error_words(outcome, provider_id), texts.error_detail(outcome)
        return False, f"{words} — {detail}"  # untranslated: two translated texts side by side
    result = AccountResult(provider_id, provider_id, "", outcome.unit, AccountState.OK, outcome, None, None,
                           outcome.fetched_at)
    return True, QCoreApplication.translate("AccountDialog", "Works: {balance}").format(
        balance=texts.balance(result, texts.plain_number))


class AccountDialog(QDialog):
    """Add or edit one account; validates inline, saves through the backend."""

    saved = Signal(str)  # account id

    def __init__(self, backend: SettingsBackend, config: Config, account: Account | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.backend, self.config, self.account = backend, config, account
        self._replacing_key = account is None
        self.setMinimumWidth(520)
        layout = self._layout = QVBoxLayout(self)
        form = QFormLayout()
        layout.addLayout(form)

        self.provider = QComboBox()
        for provider in PROVIDERS.values():
            self.provider.addItem(provider.name, provider.id)
        self.provider.addItem("", CUSTOM_ID)  # named in retranslate()
        self.provider_hint = QLabel()
        self.provider_hint.setTextFormat(Qt.TextFormat.PlainText)
        self.provider_hint.setWordWrap(True)  # ordinary text colour: it says where the key comes from
        self.label = QLineEdit()
        self.account_id = QLineEdit()
        self.key = QLineEdit()
        self.key.setEchoMode(QLineEdit.EchoMode.Password)
        self.show_key = QToolButton()
        self.show_key.setCheckable(True)
        self.show_key.toggled.connect(lambda on: self.key.setEchoMode(
            QLineEdit.EchoMode.Normal if on else QLineEdit.EchoMode.Password))
        self.key_stored = QLabel()
        self.key_stored.setTextFormat(Qt.TextFormat.PlainText)
        self.replace_key = QPushButton()
        self.replace_key.clicked.connect(self._start_replacing)
        self.thresholds = QLineEdit()
        self.advanced = QToolButton()
        self.advanced.setCheckable(True)
        self.advanced.setArrowType(Qt.ArrowType.RightArrow)
        self.advanced.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.base_url = QLineEdit()
        self.errors: dict[str, QLabel] = {}
        self.row_labels: dict[str, QLabel] = {}

        def row(field: QWidget, name: str, extra: QWidget | None = None) -> QVBoxLayout:
            label = QLabel()
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
            box.addWidget(error)
            self.errors[name] = error
            self.row_labels[name] = label
            form.addRow(label, box)
            return box

        row(self.provider, "provider")
        form.addRow("", self.provider_hint)
        row(self.label, "label")
        row(self.account_id, "id")
        key_box = QWidget()
        key_line = QHBoxLayout(key_box)
        key_line.setContentsMargins(0, 0, 0, 0)
        key_line.addWidget(self.key, 1)
        key_line.addWidget(self.show_key)
        key_line.addWidget(self.key_stored, 1)
        key_line.addWidget(self.replace_key)
        row(key_box, "key")
        row(self.thresholds, "thresholds")
        form.addRow(self.advanced)
        self._form = form
        self._base_url_row = row(self.base_url, "base_url")
        self.advanced.toggled.connect(self._show_advanced)

        self.test_button = QPushButton()
        self.test_button.clicked.connect(self.test)
        self.test_result = QLabel()
        # The provider's own words: a server must not draw a fake "Works" or load local images here.
        self.test_result.setTextFormat(Qt.TextFormat.PlainText)
        self.test_result.setWordWrap(True)
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

        # What the texts are made from, kept so a language change can say it again in the new language.
        self._key_known: tuple[bool | None, str | None] | None = None  # (has_key, error) once the keyring answered
        self._testing = False
        self._last_test: tuple[Draft, Outcome | None, str | None] | None = None

        self.provider.currentIndexChanged.connect(self._provider_changed)
        self.label.textEdited.connect(self._suggest_id)
        self._id_edited = account is not None
        self._default_label = ""
        self.account_id.textEdited.connect(lambda _: setattr(self, "_id_edited", True))
        self.retranslate()
        self.custom_form = CustomProviderForm(self)
        layout.insertWidget(1, self.custom_form, 1)
        # After the form has shown or hidden itself: the explicit minimum height keeps the layout from growing
        # the dialog on its own, so the form would be squashed.
        self.provider.currentIndexChanged.connect(lambda _: self._fit())
        self._fill()

    # ------------------------------------------------------------------ words
    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
            if self.isVisible():  # once the children have their new texts too (they hear of it after us)
                QTimer.singleShot(0, self, self._fit)  # not after the dialog is gone

    def retranslate(self) -> None:
        """Every text of the editor in the current language; what is typed and chosen stays as it is."""
        self.setWindowTitle(self.tr("Edit account") if self.account else self.tr("Add account"))
        self.provider.setItemText(self.provider.findData(CUSTOM_ID), self.tr("Custom (any JSON endpoint)"))
        names = {"provider": self.tr("Provider"), "label": self.tr("Label"), "id": self.tr("Account id"),
                 "key": self.tr("API key"), "thresholds": self.tr("Alert thresholds"), "base_url": self.tr("Base URL")}
        rows = {"provider": self.tr("&Provider:"), "label": self.tr("&Label:"), "id": self.tr("&Id:"),
                "key": self.tr("API &key:"), "thresholds": self.tr("&Thresholds:"), "base_url": self.tr("&Base URL:")}
        for name, label in self.row_labels.items():
            label.setText(rows[name])
            self.errors[name].setAccessibleName(self.tr("{field} error").format(field=names[name]))
        for name, field in (("provider", self.provider), ("label", self.label), ("id", self.account_id),
                            ("key", self.key), ("thresholds", self.thresholds), ("base_url", self.base_url)):
            field.setAccessibleName(names[name])
        self.account_id.setToolTip(self.tr("A short unique name: lower-case letters, digits, '-' and '_'."))
        self.key.setPlaceholderText(self.tr("Paste the API key"))
        self.show_key.setText(self.tr("S&how"))
        self.show_key.setAccessibleName(self.tr("Show the API key"))
        self.show_key.setToolTip(self.tr("Show or hide the key as typed"))
        self.replace_key.setText(self.tr("&Replace key…"))
        self.thresholds.setToolTip(self.tr(
            "Numbers separated by commas: you are alerted once when the balance drops below each. "
            "0 is the alert that it has run out; leave 0 out for no such alert."))
        self.advanced.setText(self.tr("Advanced"))
        self.base_url.setToolTip(self.tr(
            "A mirror or proxy: replaces the scheme, host and port of the provider's address."))
        self.test_button.setText(self.tr("T&est"))
        self.test_result.setAccessibleName(self.tr("Test result"))
        self._show_key_state()
        self._provider_hint()
        if self._testing:
            self.test_result.setText(self.tr("Testing…"))
        elif self._last_test is not None:
            self._show_test(*self._last_test)
        if any(not error.isHidden() for error in self.errors.values()):
            self._show_problems(self._problems()[0], interactive=False)

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
        self._key_known = (has_key, error)
        self._show_key_state()

    def _show_key_state(self) -> None:
        if self._replacing_key:
            return
        if self._key_known is None:
            self.key_stored.setText(self.tr("Checking the keyring…"))
            return
        has_key, error = self._key_known
        if error:
            self.key_stored.setText(error)
        else:
            self.key_stored.setText(self.tr("A key is stored in your keyring.") if has_key
                                    else self.tr("No key is stored yet."))

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
            self.provider_hint.setText(self.tr("Key from: {where} · unit: {unit}").format(
                where=shown(provider.key_hint), unit=shown(provider.unit)))

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
        problems, custom_problem, draft = self._problems()
        self.custom_form.show_problem(custom_problem, interactive=True)
        self._show_problems(problems, interactive=True)
        return draft

    def _problems(self) -> tuple[dict[str, str], tuple[str, str] | None, Draft | None]:
        """(problems by field, the custom provider's problem, the draft when there is no problem); shows nothing."""
        problems: dict[str, str] = {}
        provider_id = self.provider.currentData()
        custom, custom_problem = self.custom_form.check(provider_id)
        provider = provider_for(provider_id, custom)
        if provider is None:
            problems["provider"] = (
                self.tr("The custom provider is not complete: {problem}").format(problem=custom_problem[1])
                if custom_problem else self.tr("Choose a provider."))
        label = self.label.text().strip()
        if not label:
            problems["label"] = self.tr("Give the account a label.")
        elif problem := text_problem(self.tr("The label"), label):
            problems["label"] = sentence(problem)
        account_id = self.account_id.text().strip()
        if not ID_PATTERN.fullmatch(account_id):
            problems["id"] = self.tr("Use lower-case letters, digits, '-' and '_' (at most 64).")
        elif self.account is None and self.config.account(account_id) is not None:
            problems["id"] = self.tr("The id {id} is already used by another account.").format(id=repr(account_id))
        base_url = self.base_url.text().strip() or None
        if base_url and (problem := base_url_problem(base_url, self.tr("the base URL"))):
            problems["base_url"] = sentence(problem)
        thresholds: tuple[Decimal, ...] = ()
        try:
            thresholds = parse_thresholds([t for t in re.split(r"[,\s;]+", self.thresholds.text()) if t],
                                          from_text=True)
        except ValueError as exc:
            problems["thresholds"] = sentence(str(exc))
        key: str | None = None
        if self._replacing_key:
            key = self.key.text().strip()
            if not key:
                problems["key"] = self.tr("Paste the API key from your provider's dashboard.")
            elif any(ch in key for ch in "\r\n\0"):
                problems["key"] = self.tr("The key must be one line.")
            elif problem := key_problem(key):
                problems["key"] = self.tr("This is not an API key as pasted: {problem}. Copy it again.").format(
                    problem=problem)
        if problems:
            return problems, custom_problem, None
        assert provider is not None
        write_thresholds = tuple(thresholds) != provider.thresholds
        account = Account(id=account_id, provider_id=provider.id, label=label, base_url=base_url,
                          thresholds=thresholds, enabled=self.account.enabled if self.account else True, custom=custom)
        return problems, None, Draft(self.account.id if self.account else None, account, key, write_thresholds)

    def _show_problems(self, problems: dict[str, str], *, interactive: bool) -> None:
        """Each problem next to its field; ``interactive`` (a click on Save or Test) also moves the focus there."""
        for name, error in self.errors.items():
            error.setText(problems.get(name, ""))
            error.setVisible(name in problems)
        if interactive and "base_url" in problems:
            self.advanced.setChecked(True)
        self._fit()
        if interactive and problems:
            first = next(iter(problems))
            {"provider": self.provider, "label": self.label, "id": self.account_id, "key": self.key,
             "thresholds": self.thresholds, "base_url": self.base_url}[first].setFocus()

    # ------------------------------------------------------------------ actions
    def test(self) -> None:
        draft = self.draft()
        if draft is None:
            return
        self.test_button.setEnabled(False)
        self.test_result.setStyleSheet("")
        self._testing, self._last_test = True, None
        self.test_result.setText(self.tr("Testing…"))
        language = resolve_language(self.config.language)
        if self.custom_form.handles(draft):  # shows the raw answer and the parsed paths too
            return self.custom_form.test(draft, language)
        self.backend.run(lambda: self.backend.test(draft, language),
                         lambda outcome, error: self._tested(draft, outcome, error))

    def _tested(self, draft: Draft, outcome: Outcome | None, error: str | None) -> None:
        self.test_button.setEnabled(True)
        self._testing, self._last_test = False, (draft, outcome, error)
        self._show_test(draft, outcome, error)
        self._fit()

    def _show_test(self, draft: Draft, outcome: Outcome | None, error: str | None) -> None:
        if outcome is None:
            ok, words = False, error or self.tr("the test failed")
        else:
            ok, words = outcome_text(outcome, draft.account.provider_id)
        self.test_result.setStyleSheet("color: #2E7D32;" if ok else ERROR_STYLE)
        self.test_result.setText(words)

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
        self.backend = SettingsBackend(engine, self)
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
        self.refresh_label.setText(self.tr("Check &every:"))
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
        super().closeEvent(event)

    def shutdown(self) -> None:
        self.backend.shutdown()
