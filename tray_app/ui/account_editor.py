"""The account editor: add or edit one account, validate it inline, test it once, save it through the backend."""

from __future__ import annotations

import logging
import re
from decimal import Decimal
from typing import Any

from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from tray_app import texts
from tray_app.config import (
    ID_PATTERN,
    Account,
    Config,
    base_url_problem,
    default_base_url,
    parse_thresholds,
    suggest_id,
    unique_label,
)
from tray_app.engine import resolve_language
from tray_app.keys import key_problem
from tray_app.model import Outcome
from tray_app.providers import CUSTOM_ID, PROVIDERS, get_provider, provider_for
from tray_app.safetext import text_problem
from tray_app.ui.custom_provider_form import ERROR_STYLE, CustomProviderForm, sentence, shown
from tray_app.ui.settings_backend import Draft, SettingsBackend, outcome_text

log = logging.getLogger(__name__)


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
