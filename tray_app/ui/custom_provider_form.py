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

from PySide6.QtCore import Qt
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

from tray_app.fetch import REDACTED, Fetcher
from tray_app.logs import redact
from tray_app.model import ErrorKind, FetchError, Outcome
from tray_app.providers import PRESETS, PROVIDERS
from tray_app.providers.base import HttpAnswer
from tray_app.providers.custom import CUSTOM_ID, SCHEMA, CustomSpec, SchemaField, SpecError, explain, spec_from_table

if TYPE_CHECKING:
    from tray_app.ui.settings import AccountDialog, Draft

ERROR_STYLE = "color: #C62828;"
#: Fields the dialog itself already asks for (the account's thresholds).
_LEFT_TO_THE_DIALOG = {"thresholds"}
GROUPS = ("Request", "Response", "Display")
#: How much of a raw answer is shown: enough to find every path, never a wall of text.
RAW_SHOWN = 64 * 1024


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
        self.setAccessibleName("Custom provider")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        top = QHBoxLayout()
        self.start_from = QComboBox()
        self.start_from.setAccessibleName("Start from preset")
        self.start_from.addItem("Start from a preset…", "")
        for preset_id, spec in PRESETS.items():
            self.start_from.addItem(spec.name, preset_id)
        self.start_from.activated.connect(self._start_from_preset)
        self.copy_button = QPushButton("Copy into a &custom provider")
        self.copy_button.setToolTip("Edit a copy of this preset's fields as your own custom provider")
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
        self._tab_of: dict[str, int] = {}
        for group in GROUPS:
            page = QWidget()
            form = QFormLayout(page)
            for spec_field in SCHEMA:
                if spec_field.group == group and spec_field.name not in _LEFT_TO_THE_DIALOG:
                    form.addRow(f"{spec_field.label}:", self._field_box(spec_field))
                    self._tab_of[spec_field.name] = self.tabs.count()
            self.tabs.addTab(page, group)

        self.raw = QPlainTextEdit()
        self.raw.setReadOnly(True)
        self.raw.setAccessibleName("Raw response")
        self.raw.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.raw.setPlaceholderText("Press Test: the provider's answer appears here (the key taken out).")
        self.parsed = QTableWidget(0, 3)
        self.parsed.setAccessibleName("Parsed values")
        self.parsed.setHorizontalHeaderLabels(["Field", "Path", "Found"])
        self.parsed.verticalHeader().hide()
        self.parsed.horizontalHeader().setStretchLastSection(True)
        split = QSplitter()
        split.addWidget(self.raw)
        split.addWidget(self.parsed)
        self.test_tab = self.tabs.addTab(split, "Test result")

        dialog.provider.currentIndexChanged.connect(self._provider_changed)
        self._shown_id: str | None = None
        account = dialog.account
        if account is not None and account.custom is not None:
            self.set_spec(account.custom)
        self._provider_changed()

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
            widget.setPlaceholderText(spec_field.example or str(spec_field.default or ""))
            if spec_field.default and not isinstance(spec_field.default, tuple):
                widget.setText(str(spec_field.default))
        widget.setToolTip(spec_field.help[:1].upper() + spec_field.help[1:] + ".")
        widget.setAccessibleName(spec_field.label)
        error = QLabel()
        error.setTextFormat(Qt.TextFormat.PlainText)
        error.setStyleSheet(ERROR_STYLE)
        error.setWordWrap(True)
        error.setAccessibleName(f"{spec_field.label} error")
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
            self.source.setText(f"How this preset reads {PRESETS[provider_id].name}; "
                                f"from {PRESETS[provider_id].documentation}")
        elif custom:
            self.source.setText("Fields are checked as you save; hover one to see what it holds.")
            self.dialog.provider_hint.setText("Any JSON balance endpoint: say below where it is and where the "
                                              "numbers are in its answer.")
            if self.dialog.account is None and self._shown_id in PRESETS:
                self.clear()
            if self.dialog.account is None:
                self.dialog.thresholds.setText("")
                if self.dialog.label.text() in [p.name for p in PROVIDERS.values()]:
                    self.dialog.label.setText("Custom")
                self.dialog._suggest_id()  # the dialog's own suggestion only follows providers it knows
        self._shown_id = provider_id

    def _set_editable(self, editable: bool) -> None:
        for spec_field in SCHEMA:
            widget = self.inputs.get(spec_field.name)
            if isinstance(widget, QLineEdit):
                widget.setReadOnly(not editable)
                # A preset's empty field is unused: an example there would read as its value.
                widget.setPlaceholderText((spec_field.example or str(spec_field.default or "")) if editable else "")
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

    def draft(self, provider_id: str) -> tuple[CustomSpec | None, str | None]:
        """For ``custom``: the checked spec, or the first problem (shown next to its field as well)."""
        for error in self.errors.values():
            error.hide()
        if provider_id != CUSTOM_ID:
            return None, None
        try:
            return spec_from_table(self.table()), None
        except SpecError as exc:
            name = exc.field_name if exc.field_name in self.inputs else "url"
            label = next(f.label for f in SCHEMA if f.name == name)
            words = f"{label} {exc.problem}." if exc.field_name else f"{exc}."
            self.errors[name].setText(words)
            self.errors[name].show()
            self.tabs.setCurrentIndex(self._tab_of.get(name, 0))
            self.inputs[name].setFocus()
            return None, f"The custom provider is not complete: {words}"

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
        self.raw.setPlainText("Testing…")
        self.parsed.setRowCount(0)

        def job() -> tuple[HttpAnswer | None, Outcome, str]:
            key = draft.key if draft.key is not None else backend.engine.keys.get(account.id)
            if not key:
                return None, FetchError(ErrorKind.NO_KEY, "no API key to test with"), ""

            async def once() -> tuple[HttpAnswer | None, Outcome]:
                async with Fetcher(backend.engine.policy) as fetcher:
                    return await fetcher.probe(provider, account.url, key, language)

            answer, outcome = asyncio.run(once())
            return answer, outcome, key

        def done(result: tuple[HttpAnswer | None, Outcome, str] | None, error: str | None) -> None:
            if result is None:
                self.raw.setPlainText(error or "the test failed")
                self.dialog._tested(draft, None, error)
                return
            answer, outcome, key = result
            self.show_probe(spec, answer, outcome, key)
            self.dialog._tested(draft, outcome, None)

        backend.run(job, done)

    def show_probe(self, spec: CustomSpec, answer: HttpAnswer | None, outcome: Outcome, key: str) -> None:
        if answer is None:
            self.raw.setPlainText(f"No answer: {outcome}")
            self.parsed.setRowCount(0)
        else:
            self.raw.setPlainText(raw_text(answer, key))
            rows = explain(spec, answer)
            self.parsed.setRowCount(len(rows))
            for row, cells in enumerate(rows):
                for column, text in enumerate(cells):
                    shown = redact(text, [key], marker=REDACTED) if key else text
                    self.parsed.setItem(row, column, QTableWidgetItem(shown))
            self.parsed.resizeColumnsToContents()
        self.tabs.setCurrentIndex(self.test_tab)

