"""The custom provider in Settings, driven like a user: fill the fields, Test, read the raw answer, save.

Real loopback server, real file keyring, real config file (the fixtures of test_settings).
"""

from __future__ import annotations

import tomllib

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLineEdit

from tests.fakeserver import FakeServer, Reply
from tests.test_settings import open_add, rows, save, stored_key
from tests.test_settings import tray as tray  # the fixture
from tray_app.keys import KeyStore
from tray_app.providers.custom import SCHEMA
from tray_app.ui.account_editor import AccountDialog
from tray_app.ui.tray import TrayController

KEY = "sk-form-8Tg4Nc2Xy6Bv"

pytestmark = pytest.mark.usefixtures("english_gui")


def choose_custom(qtbot, dialog: AccountDialog, label: str) -> None:
    dialog.provider.setCurrentIndex(dialog.provider.findData("custom"))
    assert dialog.label.text() == "Custom"  # not the name of the provider shown before
    dialog.label.clear()
    qtbot.keyClicks(dialog.label, label)
    qtbot.keyClicks(dialog.key, KEY)


def type_field(qtbot, dialog: AccountDialog, name: str, text: str) -> None:
    widget = dialog.custom_form.inputs[name]
    assert isinstance(widget, QLineEdit)
    widget.clear()
    qtbot.keyClicks(widget, text)


def test_add_a_custom_provider_test_shows_raw_and_parsed_then_save(qtbot, tray: TrayController,
                                                                   server: FakeServer) -> None:
    server.route("/acct/balance", Reply(200, {"owner": KEY, "data": {"left": "42.50", "plan": {"cap": 100}}}))
    assert tray.settings is not None
    dialog = open_add(qtbot, tray.settings)
    choose_custom(qtbot, dialog, "Acme")
    form = dialog.custom_form
    assert form.isVisible()
    assert set(form.inputs) == {f.name for f in SCHEMA} - {"thresholds"}  # the dialog's own Thresholds row
    assert not dialog.advanced.isVisible()  # a custom URL is the whole address
    assert dialog.account_id.text() == "custom-acme"
    assert dialog.provider_hint.text().startswith("Any JSON balance endpoint")
    type_field(qtbot, dialog, "url", server.url + "/acct/balance")
    type_field(qtbot, dialog, "remaining", "data.left")
    type_field(qtbot, dialog, "limit", "data.plan.cap")
    type_field(qtbot, dialog, "unit", "tokens")
    qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.test_result.text().startswith("Works"), timeout=10_000)
    assert dialog.test_result.text() == "Works: 42.5 tokens"
    raw = form.raw.toPlainText()
    assert raw.startswith("HTTP 200\n{")
    assert '"left": "42.50"' in raw
    assert KEY not in raw  # the server echoed the key: shown redacted
    assert "[API key]" in raw
    found = [tuple(form.parsed.item(r, c).text() for c in range(3)) for r in range(form.parsed.rowCount())]
    assert found == [("Remaining", "data.left", "42.50"), ("Limit", "data.plan.cap", "100")]
    assert form.tabs.currentIndex() == form.test_tab
    assert server.requests_to("/acct/balance")[0].headers["authorization"] == f"Bearer {KEY}"
    save(qtbot, dialog)
    [account] = tomllib.loads(tray.engine.config_path.read_text("utf-8"))["accounts"]
    assert account["provider"] == "custom"
    assert account["custom"] == {"url": server.url + "/acct/balance", "remaining": "data.left",
                                 "limit": "data.plan.cap", "unit": "tokens"}
    assert stored_key(account["id"]) == KEY
    assert KEY not in tray.engine.config_path.read_text("utf-8")
    qtbot.waitUntil(lambda: len(rows(tray)) == 1 and "42.5 tokens" in rows(tray)[0], timeout=10_000)


def test_a_wrong_path_is_shown_where_the_answer_stops_matching(qtbot, tray: TrayController,
                                                               server: FakeServer) -> None:
    server.route("/b", Reply(200, {"data": {"credits": 7}}))
    assert tray.settings is not None
    dialog = open_add(qtbot, tray.settings)
    choose_custom(qtbot, dialog, "Acme")
    type_field(qtbot, dialog, "url", server.url + "/b")
    type_field(qtbot, dialog, "remaining", "data.balance")
    qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Unexpected answer" in dialog.test_result.text(), timeout=10_000)
    form = dialog.custom_form
    assert form.parsed.item(0, 2).text() == "✗ data.balance is missing"
    assert '"credits": 7' in form.raw.toPlainText()
    assert not tray.engine.config_path.exists()


def test_a_bad_field_is_named_next_to_it_and_nothing_is_saved(qtbot, tray: TrayController) -> None:
    assert tray.settings is not None
    dialog = open_add(qtbot, tray.settings)
    choose_custom(qtbot, dialog, "Acme")
    type_field(qtbot, dialog, "url", "http://api.example.com/balance")
    type_field(qtbot, dialog, "remaining", "data.left")
    qtbot.mouseClick(dialog.buttons.button(dialog.buttons.StandardButton.Save), Qt.MouseButton.LeftButton)
    error = dialog.custom_form.errors["url"]
    assert error.isVisible()
    assert error.text() == "URL must be https (plain http is allowed only on loopback)."
    assert dialog.custom_form.tabs.currentIndex() == 0
    assert not tray.engine.config_path.exists()
    assert KeyStore().get(dialog.account_id.text()) is None


def test_a_preset_shows_its_fields_and_copies_into_a_custom_provider(qtbot, tray: TrayController) -> None:
    assert tray.settings is not None
    dialog = open_add(qtbot, tray.settings)
    dialog.provider.setCurrentIndex(dialog.provider.findData("deepseek"))
    form = dialog.custom_form
    assert form.isVisible()
    balances = form.inputs["balances"]
    assert isinstance(balances, QLineEdit)
    assert (balances.text(), balances.isReadOnly()) == ("balance_infos", True)
    remaining = form.inputs["remaining"]
    assert isinstance(remaining, QLineEdit)
    assert (remaining.text(), remaining.placeholderText()) == ("", "")  # unused, and no example posing as a value
    assert "api-docs.deepseek.com" in form.source.text()
    qtbot.mouseClick(form.copy_button, Qt.MouseButton.LeftButton)
    assert dialog.provider.currentData() == "custom"
    assert not balances.isReadOnly()
    assert balances.text() == "balance_infos"
    assert remaining.placeholderText() == "data.balance"  # editable again: the example helps
    url = form.inputs["url"]
    assert isinstance(url, QLineEdit)
    assert url.text() == "https://api.deepseek.com/user/balance"
    assert dialog.thresholds.text() == "10, 2, 0"


def test_editing_a_custom_account_shows_its_fields(qtbot, tray: TrayController, server: FakeServer) -> None:
    tray.engine.config_path.parent.mkdir(parents=True, exist_ok=True)
    tray._watch_config()
    tray.engine.config_path.write_text(
        '[[accounts]]\nid = "acme"\nprovider = "custom"\nlabel = "Acme"\n[accounts.custom]\n'
        f'url = "{server.url}/b"\nremaining = "left"\nkey_query = "api_key"\nunit = "tokens"\n', encoding="utf-8")
    assert tray.settings is not None
    qtbot.waitUntil(lambda: tray.settings is not None and tray.settings.table.rowCount() == 1, timeout=10_000)
    tray.settings.select("acme")
    qtbot.mouseClick(tray.settings.edit_button, Qt.MouseButton.LeftButton)
    dialog = tray.settings.dialog
    assert dialog is not None
    form = dialog.custom_form
    assert dialog.provider.currentData() == "custom"
    values = {name: w.text() for name, w in form.inputs.items() if isinstance(w, QLineEdit)}
    assert (values["url"], values["remaining"], values["key_query"], values["unit"]) == (
        f"{server.url}/b", "left", "api_key", "tokens")


def test_testing_a_preset_shows_its_answer_and_each_currency(qtbot, tray: TrayController, server: FakeServer) -> None:
    server.route("/user/balance", Reply(200, {"is_available": True, "balance_infos": [
        {"currency": "CNY", "total_balance": "110.00", "granted_balance": "10.00", "topped_up_balance": "100.00"},
        {"currency": "USD", "total_balance": "5.20", "granted_balance": "0.00", "topped_up_balance": "5.20"}]}))
    assert tray.settings is not None
    dialog = open_add(qtbot, tray.settings)
    dialog.provider.setCurrentIndex(dialog.provider.findData("deepseek"))
    qtbot.keyClicks(dialog.key, KEY)
    dialog.advanced.setChecked(True)
    qtbot.keyClicks(dialog.base_url, server.url)
    qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.test_result.text().startswith("Works"), timeout=10_000)
    assert dialog.test_result.text() == "Works: 110 CNY · 5.2 USD"
    form = dialog.custom_form
    found = [tuple(form.parsed.item(r, c).text() for c in range(3)) for r in range(form.parsed.rowCount())]
    assert found == [("Balances list", "balance_infos", "a list of 2 entries"),
                     ("Balance amount", "balance_infos[0].total_balance", "110.00"),
                     ("Balance unit", "balance_infos[0].currency", "CNY"),
                     ("Error message", "error.message", "(not in this answer)")]
    assert '"is_available": true' in form.raw.toPlainText()
