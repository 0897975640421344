"""The account editor's part for a custom provider (and for looking inside a preset).

Every field, its label, tooltip, example and error text come from ``custom.SCHEMA``, the
same schema that validates the config, so the form cannot drift from it. "Test" fetches
once and shows the raw answer (the key redacted) beside each configured path and what
was found there, so a user can get the paths right in a minute.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QT_TRANSLATE_NOOP, QEvent, Qt
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from tray_app import texts
from tray_app.fetch import REDACTED, Fetcher
from tray_app.i18n import _
from tray_app.logs import redact
from tray_app.model import ErrorKind, FetchError, Outcome
from tray_app.providers import PRESETS, PROVIDERS
from tray_app.providers.base import HttpAnswer
from tray_app.providers.custom import CUSTOM_ID, SCHEMA, CustomSpec, SchemaField, SpecError, explain, spec_from_table

if TYPE_CHECKING:
    from tray_app.ui.account_editor import AccountDialog
    from tray_app.ui.settings_backend import Draft

# How every settings dialog shows a problem (the account editor and the Settings window use it too).
ERROR_STYLE = "color: #C62828;"
# Fields the dialog itself already asks for (the account's thresholds).
_LEFT_TO_THE_DIALOG = {"thresholds"}
# The form's tabs, as ``SchemaField.group`` names them (and translated where shown).
GROUPS = (str(QT_TRANSLATE_NOOP("CustomProviderForm", "Request")),
          str(QT_TRANSLATE_NOOP("CustomProviderForm", "Response")),
          str(QT_TRANSLATE_NOOP("CustomProviderForm", "Display")))
# How much of a raw answer is shown: enough to find every path, never a wall of text.
RAW_SHOWN = 64 * 1024


def shown(text: str) -> str:
    """An engine's word or phrase (declared with ``N_``) in the current language; "" stays "" (not the header)."""
    return _(text) if text else text


def sentence(problem: str) -> str:
    """An engine's phrase ("the label contains …") as a sentence of its own, in the current language."""
    return texts.sentence(problem[:1].upper() + problem[1:])


def _as_text(value: Any) -> str:
    """A spec value as typed in a field: lists comma-separated, host units as host=UNIT."""
    if isinstance(value, tuple):
        return ", ".join(f"{item[0]}={item[1]}" if isinstance(item, tuple) else str(item) for item in value)
    return str(value)


def raw_text(answer: HttpAnswer, key: str) -> str:
    """The answer as a person reads it: JSON indented, anything else as text; never the key."""
    text = answer.body[:RAW_SHOWN].decode("utf-8", "replace")
    with contextlib.suppress(ValueError, RecursionError):
        text = json.dumps(json.loads(answer.body), indent=2, ensure_ascii=False)[:RAW_SHOWN]
    shown = f"HTTP {answer.status}\n{text}"
    return redact(shown, [key], marker=REDACTED) if key else shown


class CustomProviderForm(QWidget):
    """Shown in the account editor when the provider is ``custom`` (editable) or a preset (read-only)."""

    def __init__(self, dialog: AccountDialog) -> None:
        super().__init__(dialog)
        self.dialog = dialog
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        top = QHBoxLayout()
        self.start_from = QComboBox()
        self.start_from.addItem("", "")  # "Start from a preset…", named in retranslate()
        for preset_id, spec in PRESETS.items():
            self.start_from.addItem(spec.name, preset_id)
        self.start_from.activated.connect(self._start_from_preset)
        self.copy_button = QPushButton()
        self.copy_button.clicked.connect(self._copy_preset)
        self.source = QLabel()
        self.source.setTextFormat(Qt.TextFormat.PlainText)
        self.source.setWordWrap(True)
        self.source.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        top.addWidget(self.start_from)
        top.addWidget(self.copy_button)
        top.addWidget(self.source, 1)
        layout.addLayout(top)

        self.tabs = QTabWidget()
        layout.addWidget(self.tabs, 1)
        self.inputs: dict[str, QLineEdit | QComboBox] = {}
        self.errors: dict[str, QLabel] = {}
        self.row_labels: dict[str, QLabel] = {}
        self._tab_of: dict[str, int] = {}
        for group in GROUPS:
            page = QWidget()
            form = QFormLayout(page)
            for spec_field in SCHEMA:
                if spec_field.group == group and spec_field.name not in _LEFT_TO_THE_DIALOG:
                    label = self.row_labels[spec_field.name] = QLabel()
                    form.addRow(label, self._field_box(spec_field))
                    self._tab_of[spec_field.name] = self.tabs.count()
            self.tabs.addTab(page, "")

        self.raw = QPlainTextEdit()
        self.raw.setReadOnly(True)
        self.raw.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.parsed = QTableWidget(0, 3)
        self.parsed.verticalHeader().hide()
        self.parsed.horizontalHeader().setStretchLastSection(True)
        split = QSplitter()
        split.addWidget(self.raw)
        split.addWidget(self.parsed)
        self.test_tab = self.tabs.addTab(split, "")

        # What the texts are made from, kept so a language change can say it again in the new language.
        self._editable = False
        self._problem_shown = False
        self._testing = False
        self._no_answer: Outcome | None = None  # the last test's failure, when the provider did not answer
        self._found_fields: list[str] = []  # the last test's field names, as the engine gave them
        dialog.provider.currentIndexChanged.connect(self._provider_changed)
        self._shown_id: str | None = None
        self.retranslate()
        account = dialog.account
        if account is not None and account.custom is not None:
            self.set_spec(account.custom)
        self._provider_changed()

    # ------------------------------------------------------------------ words
    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()

    def retranslate(self) -> None:
        """Every text of the form in the current language; the fields, the tab and a test's answer stay."""
        self.setAccessibleName(self.tr("Custom provider"))
        self.start_from.setAccessibleName(self.tr("Start from preset"))
        self.start_from.setItemText(0, self.tr("Start from a preset…"))
        self.copy_button.setText(self.tr("Copy into a &custom provider"))
        self.copy_button.setToolTip(self.tr("Edit a copy of this preset's fields as your own custom provider"))
        for index, group in enumerate(GROUPS):
            self.tabs.setTabText(index, self.tr(group))
        for spec_field in SCHEMA:
            if spec_field.name not in self.inputs:
                continue
            label = shown(spec_field.label)
            self.row_labels[spec_field.name].setText(self.tr("{field}:").format(field=label))
            widget = self.inputs[spec_field.name]
            widget.setToolTip(sentence(shown(spec_field.help)))
            widget.setAccessibleName(label)
            self.errors[spec_field.name].setAccessibleName(self.tr("{field} error").format(field=label))
        self._set_editable(self._editable)
        self.raw.setAccessibleName(self.tr("Raw response"))
        self.raw.setPlaceholderText(self.tr("Press Test: the provider's answer appears here (the key taken out)."))
        self.parsed.setAccessibleName(self.tr("Parsed values"))
        self.parsed.setHorizontalHeaderLabels([self.tr("Field"), self.tr("Path"), self.tr("Found")])
        if not self.parsed.rowCount():  # empty: as wide as the titles (Qt's default 100 px each overflows the pane)
            self.parsed.resizeColumnsToContents()
        self.tabs.setTabText(self.test_tab, self.tr("Test result"))
        self._show_source()
        if self._problem_shown:
            self.show_problem(self.check(self.provider_id())[1], interactive=False)
        if self._testing:
            self.raw.setPlainText(self.tr("Testing…"))
        elif self._no_answer is not None:
            self.raw.setPlainText(self.tr("No answer: {problem}").format(problem=self._no_answer))
        for row, field_name in enumerate(self._found_fields):
            if (item := self.parsed.item(row, 0)) is not None:
                item.setText(shown(field_name))

    def _field_box(self, spec_field: SchemaField) -> QWidget:
        box = QWidget()
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 0, 0, 0)
        widget: QLineEdit | QComboBox
        if spec_field.kind == "choice":
            widget = QComboBox()
            widget.addItems(list(spec_field.choices))
        else:
            widget = QLineEdit()
            if spec_field.default and not isinstance(spec_field.default, tuple):
                widget.setText(str(spec_field.default))
        error = QLabel()
        error.setTextFormat(Qt.TextFormat.PlainText)
        error.setStyleSheet(ERROR_STYLE)
        error.setWordWrap(True)
        error.hide()
        column.addWidget(widget)
        column.addWidget(error)
        self.inputs[spec_field.name], self.errors[spec_field.name] = widget, error
        return box

    # ------------------------------------------------------------------ which provider
    def provider_id(self) -> str:
        return str(self.dialog.provider.currentData() or "")

    def _provider_changed(self) -> None:
        provider_id = self.provider_id()
        custom, preset = provider_id == CUSTOM_ID, provider_id in PRESETS
        self.setVisible(custom or preset)
        self.start_from.setVisible(custom)
        self.copy_button.setVisible(preset)
        self._set_editable(custom)
        self.dialog.advanced.setVisible(not custom)  # a custom URL is the whole address: no base URL
        if preset and provider_id != self._shown_id:
            self.set_spec(PRESETS[provider_id])
        elif custom:
            if self.dialog.account is None and self._shown_id in PRESETS:
                self.clear()
            if self.dialog.account is None:
                self.dialog.thresholds.setText("")
                if self.dialog.label.text() in [p.name for p in PROVIDERS.values()]:
                    self.dialog.label.setText(self.tr("Custom"))
                self.dialog._suggest_id()  # the dialog's own suggestion only follows providers it knows
        self._shown_id = provider_id
        self._show_source()

    def _show_source(self) -> None:
        """The line above the tabs (and the dialog's hint for ``custom``), for the provider chosen now."""
        provider_id = self.provider_id()
        if provider_id in PRESETS:
            self.source.setText(self.tr("How this preset reads {name}; from {documentation}").format(
                name=PRESETS[provider_id].name, documentation=PRESETS[provider_id].documentation))
        elif provider_id == CUSTOM_ID:
            self.source.setText(self.tr("Fields are checked as you save; hover one to see what it holds."))
            self.dialog.provider_hint.setText(self.tr(
                "Any JSON balance endpoint: say below where it is and where the numbers are in its answer."))

    def _set_editable(self, editable: bool) -> None:
        self._editable = editable
        for spec_field in SCHEMA:
            widget = self.inputs.get(spec_field.name)
            if isinstance(widget, QLineEdit):
                widget.setReadOnly(not editable)
                # A preset's empty field is unused: an example there would read as its value.
                example = shown(spec_field.example) or str(spec_field.default or "")
                widget.setPlaceholderText(example if editable else "")
            elif widget is not None:
                widget.setEnabled(editable)

    def _start_from_preset(self, index: int) -> None:
        preset_id = self.start_from.itemData(index)
        if preset_id in PRESETS:
            self.set_spec(PRESETS[preset_id])
        self.start_from.setCurrentIndex(0)

    def _copy_preset(self) -> None:
        spec = PRESETS.get(self.provider_id())
        if spec is None:
            return
        self.dialog.provider.setCurrentIndex(self.dialog.provider.findData(CUSTOM_ID))
        self.set_spec(spec)
        self.dialog.thresholds.setText(", ".join(str(t) for t in spec.thresholds))

    # ------------------------------------------------------------------ values
    def clear(self) -> None:
        for spec_field in SCHEMA:
            widget = self.inputs.get(spec_field.name)
            if isinstance(widget, QLineEdit):
                widget.setText("" if isinstance(spec_field.default, tuple) else str(spec_field.default or ""))
            elif isinstance(widget, QComboBox):
                widget.setCurrentIndex(0)

    def set_spec(self, spec: CustomSpec) -> None:
        for name, widget in self.inputs.items():
            value = getattr(spec, name)
            if isinstance(widget, QComboBox):
                widget.setCurrentIndex(max(0, widget.findText(str(value))))
            else:
                widget.setText(_as_text(value))

    def table(self) -> dict[str, Any]:
        """What is typed, as a ``[accounts.custom]`` table (empty fields left out, so defaults apply)."""
        out: dict[str, Any] = {}
        for name, widget in self.inputs.items():
            text = widget.currentText() if isinstance(widget, QComboBox) else widget.text().strip()
            if text:
                out[name] = text
        return out

    def check(self, provider_id: str) -> tuple[CustomSpec | None, tuple[str, str] | None]:
        """For ``custom``: the checked spec, or (field, words) of the first problem; shows nothing."""
        if provider_id != CUSTOM_ID:
            return None, None
        try:
            return spec_from_table(self.table()), None
        except SpecError as exc:
            name = exc.field_name if exc.field_name in self.inputs else "url"
            label = shown(next(f.label for f in SCHEMA if f.name == name))
            # The field's name and what is wrong with it as one sentence, spaced as the language spaces it
            # ("URL must be https", "URL 必须是 https", "名称不能为空").
            words = sentence(exc.about(label) if exc.field_name else str(exc))
            return None, (name, words)

    def show_problem(self, problem: tuple[str, str] | None, *, interactive: bool) -> None:
        """The problem next to its field; ``interactive`` (Save, Test) also opens its tab and focuses it."""
        for error in self.errors.values():
            error.hide()
        self._problem_shown = problem is not None
        if problem is None:
            return
        name, words = problem
        self.errors[name].setText(words)
        self.errors[name].show()
        if interactive:
            self.tabs.setCurrentIndex(self._tab_of.get(name, 0))
            self.inputs[name].setFocus()

    # ------------------------------------------------------------------ Test
    def handles(self, draft: Draft) -> bool:
        return draft.account.provider_id == CUSTOM_ID or draft.account.provider_id in PRESETS

    def test(self, draft: Draft, language: str) -> None:
        """One fetch that shows the raw answer and the parsed paths, then the dialog's usual verdict."""
        backend = self.dialog.backend
        account = draft.account
        provider = account.provider
        spec = account.custom or PRESETS.get(account.provider_id)
        if provider is None or spec is None:
            return
        self._testing, self._no_answer, self._found_fields = True, None, []
        self.raw.setPlainText(self.tr("Testing…"))
        self.parsed.setRowCount(0)
        no_key = self.tr("no API key to test with")

        def job() -> tuple[HttpAnswer | None, Outcome, str]:
            key = draft.key if draft.key is not None else backend.engine.keys.get(account.id)
            if not key:
                return None, FetchError(ErrorKind.NO_KEY, no_key), ""

            async def once() -> tuple[HttpAnswer | None, Outcome]:
                async with Fetcher(backend.engine.policy) as fetcher:
                    return await fetcher.probe(provider, account.url, key, language)

            answer, outcome = asyncio.run(once())
            return answer, outcome, key

        def done(result: tuple[HttpAnswer | None, Outcome, str] | None, error: str | None) -> None:
            self._testing = False
            if result is None:
                self.raw.setPlainText(error or self.tr("the test failed"))
                self.dialog._tested(draft, None, error)
                return
            answer, outcome, key = result
            self.show_probe(spec, answer, outcome, key)
            self.dialog._tested(draft, outcome, None)

        backend.run(job, done)

    def show_probe(self, spec: CustomSpec, answer: HttpAnswer | None, outcome: Outcome, key: str) -> None:
        if answer is None:
            self._no_answer, self._found_fields = outcome, []
            self.raw.setPlainText(self.tr("No answer: {problem}").format(problem=outcome))
            self.parsed.setRowCount(0)
        else:
            self.raw.setPlainText(raw_text(answer, key))
            rows = explain(spec, answer)
            self._no_answer, self._found_fields = None, [cells[0] for cells in rows]
            self.parsed.setRowCount(len(rows))
            for row, cells in enumerate(rows):
                for column, text in enumerate(cells):
                    if column == 0:
                        text = shown(text)  # the field's name: the engine's word, in the current language
                    safe = redact(text, [key], marker=REDACTED) if key else text
                    self.parsed.setItem(row, column, QTableWidgetItem(safe))
            self.parsed.resizeColumnsToContents()
        self.tabs.setCurrentIndex(self.test_tab)

