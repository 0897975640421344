"""Text from outside is text: never markup in the GUI or a notification, never terminal control.

A provider (or whoever answers for it) chooses its error messages; whoever edits the config
chooses labels, ids and provider names. Markup in them must be shown as the characters it
is made of, and control or bidi characters must not reach a terminal.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import Qt as QtGuiNamespace
from PySide6.QtWidgets import QApplication

from tests.fakeserver import PATHS, FakeServer, Reply
from tests.reliability_tray import dispose_tray, tray_controller
from tray_app.keys import KeyStore
from tray_app.model import Alert, AlertKind
from tray_app.texts import notice_for
from tray_app.ui.account_editor import AccountDialog
from tray_app.ui.notifications import dbus_body
from tray_app.ui.settings import SettingsWindow
from tray_app.ui.tray import TrayController

ROOT = Path(__file__).resolve().parent.parent
#: What a hostile server puts in its error message: bold, a phishing link, a local image, a huge font.
HOSTILE_MESSAGE = ('<b>Works: 99,999,999 credits</b> <a href="https://evil.example/phish">log in again</a>'
                   '<img src="file:///etc/hostname"><font size=7>BIG</font> & more')
HOSTILE_LABEL = '<img src="file:///etc/hostname"><b>Work</b>'
#: Terminal control: a window title (OSC), clear-screen, a colour, a forged table row, a bidi override.
TERMINAL_TRICKS = "\x1b]0;owned\x07\x1b[2J\x1b[31mred\nFAKE  row  ok\u202eright-to-left\u2066x\u2069\u200e"
RAW_CONTROLS = ("\x1b", "\x07", "\u202e", "\u2066", "\u2069", "\u200e")


# --------------------------------------------------------------------------- notification bodies

def test_the_notification_body_escapes_markup_from_a_provider_message() -> None:
    alert = Alert("meow-main", AlertKind.AUTH, message=HOSTILE_MESSAGE)
    notice = notice_for([alert], {"meow-main": "MeowLoad · Main"}, {"meow-main": "credits"})
    assert notice is not None
    body = dbus_body(notice.body)
    assert "<" not in body
    assert ">" not in body
    assert "&lt;b&gt;Works: 99,999,999 credits&lt;/b&gt;" in body
    assert '&lt;img src="file:///etc/hostname"&gt;' in body
    assert "&lt;font size=7&gt;" in body
    assert "&amp; more" in body
    # A server that does not parse markup gets the text as it is (escaping would show "&lt;").
    assert dbus_body(notice.body, markup=False) == notice.body


# --------------------------------------------------------------------------- the GUI

pytestmark = pytest.mark.usefixtures("english_gui")


@pytest.fixture
def controller(isolated_env: dict[str, str], tmp_path: Path, qapp: QApplication, server: FakeServer,
               qtbot: Any) -> Iterator[TrayController]:
    """A tray whose one account has a hostile label and whose server refuses with a hostile message."""
    config = tmp_path / "config.toml"
    config.write_text(f'[[accounts]]\nid = "meow-main"\nprovider = "meowload"\nlabel = {json.dumps(HOSTILE_LABEL)}\n'
                      f'base_url = "{server.url}"\n', "utf-8")
    server.route(PATHS["meowload"], Reply(400, {"message": HOSTILE_MESSAGE}))
    KeyStore().set("meow-main", "sk-hostile-text-test")
    made = tray_controller(config, tmp_path / "history.sqlite3")
    with qtbot.waitSignal(made.refreshed, timeout=10_000):
        made.start()
    yield made
    dispose_tray(made)


def test_the_tooltip_shows_labels_and_messages_as_plain_text(controller: TrayController) -> None:
    tooltip = controller.tray.toolTip()
    # The XEmbed tray's QToolTip renders rich text exactly when Qt.mightBeRichText says so.
    assert not QtGuiNamespace.mightBeRichText(tooltip), tooltip
    assert HOSTILE_LABEL in tooltip  # the characters themselves, as typed
    assert "<b>Works: 99,999,999 credits</b>" in tooltip


def test_the_balances_window_and_the_menu_show_text_as_typed(controller: TrayController) -> None:
    controller.show_window()
    assert controller.window is not None
    shown = controller.window.rows.item(0).text()
    assert HOSTILE_LABEL in shown
    assert controller.window.notice.textFormat() == Qt.TextFormat.PlainText
    detail = [a.text() for m in controller.menu.actions() if (sub := m.menu()) is not None
              and sub is not controller.snooze_menu for a in sub.actions() if "<a href" in a.text()]
    assert detail
    assert "<img src=" in detail[0]


def open_add(qtbot: Any, controller: TrayController) -> tuple[SettingsWindow, AccountDialog]:
    """Settings, and its form for a new account, opened as a user does."""
    controller.open_settings()
    settings = controller.settings
    assert settings is not None
    qtbot.mouseClick(settings.add_button, Qt.MouseButton.LeftButton)
    dialog = settings.dialog
    assert isinstance(dialog, AccountDialog)
    return settings, dialog


def test_the_settings_test_result_shows_a_hostile_message_as_plain_text(
        qtbot: Any, controller: TrayController, server: FakeServer) -> None:
    settings, dialog = open_add(qtbot, controller)
    server.route("/t" + PATHS["meowload"], Reply(401, {"message": HOSTILE_MESSAGE}))
    dialog.provider.setCurrentIndex(dialog.provider.findData("meowload"))
    qtbot.keyClicks(dialog.label, "Test")
    qtbot.keyClicks(dialog.key, "sk-some-key")
    dialog.advanced.setChecked(True)
    qtbot.keyClicks(dialog.base_url, server.url + "/t")
    qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Invalid API key" in dialog.test_result.text(), timeout=10_000)
    assert dialog.test_result.textFormat() == Qt.TextFormat.PlainText
    assert HOSTILE_MESSAGE in dialog.test_result.text()
    # The state and balance cells of the accounts table are items, which never parse markup; the
    # hostile label is there as typed.
    assert settings.table.item(0, 2).text() == HOSTILE_LABEL
    dialog.reject()


def test_the_account_editor_refuses_a_label_with_control_characters(qtbot: Any, controller: TrayController) -> None:
    _, dialog = open_add(qtbot, controller)
    dialog.label.setText("Work\u202eevil")
    qtbot.keyClicks(dialog.key, "sk-some-key")
    assert dialog.draft() is None
    assert "label contains control or invisible formatting characters (U+202E)" in dialog.errors["label"].text()
    dialog.reject()


# --------------------------------------------------------------------------- the terminal

def run_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, "-m", "tray_app", *args], capture_output=True, text=True,
                          encoding="utf-8", env=env, cwd=ROOT, timeout=60, check=False)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def assert_no_raw_controls(text: str) -> None:
    for char in RAW_CONTROLS:
        assert char not in text, f"raw U+{ord(char):04X} in output:\n{text!r}"


@pytest.fixture
def hostile_config(tmp_path: Path, server: FakeServer) -> Path:
    """Tricks in a label, an invalid id and an unknown provider name, and in a provider's message."""
    server.route("/ok" + PATHS["meowload"], Reply(401, {"message": "refused " + TERMINAL_TRICKS}))
    path = tmp_path / "config.toml"
    # json.dumps writes \u001b, \n, \u202e as escapes: valid TOML that decodes to the raw characters.
    path.write_text(
        f'[[accounts]]\nid = "ok"\nprovider = "meowload"\nlabel = "Fine"\nbase_url = "{server.url}/ok"\n\n'
        f'[[accounts]]\nid = "labelled"\nprovider = "meowload"\nlabel = {json.dumps("Work " + TERMINAL_TRICKS)}\n\n'
        f'[[accounts]]\nid = {json.dumps("bad" + TERMINAL_TRICKS)}\nprovider = "meowload"\n\n'
        f'[[accounts]]\nid = "unknown"\nprovider = {json.dumps("meow" + TERMINAL_TRICKS)}\n', "utf-8")
    return path


def test_check_and_accounts_list_print_config_and_provider_text_escaped(
        isolated_env: dict[str, str], hostile_config: Path) -> None:
    KeyStore().set("ok", "sk-terminal-test")
    checked = run_cli(isolated_env, "--config", str(hostile_config), "check")
    listed = run_cli(isolated_env, "--config", str(hostile_config), "accounts", "list")
    for proc in (checked, listed):
        assert_no_raw_controls(proc.stdout + proc.stderr)
        lines = proc.stdout.splitlines()
        assert len(lines) == 5, proc.stdout  # a header and four accounts: no forged rows
        assert not any(line.startswith("FAKE") for line in lines)
    assert "\\x1b]0;owned\\x07" in checked.stdout  # shown, as escapes, not obeyed
    assert "\\u202e" in listed.stdout
    rows = {line.split()[0]: line for line in listed.stdout.splitlines()[1:]}
    assert "label contains control or invisible formatting characters (U+001B, U+0007, U+000A …)" in rows["labelled"]
    bad_id = "bad\\x1b]0;owned\\x07\\x1b[2J\\x1b[31mred\\x0aFAKE"  # up to the first space of the escaped id
    assert "id contains control or invisible formatting characters" in rows[bad_id]
    assert "unknown provider" in rows["unknown"]
    # --json was safe already and stays exact.
    entries = json.loads(run_cli(isolated_env, "--config", str(hostile_config), "accounts", "list", "--json").stdout)
    assert entries[1]["problem"].startswith("label contains control")


@pytest.mark.parametrize("label", ["Work\x1b]0;owned\x07", "two\nlines", "Work\u202eevil", "a\u2066b\u2069",
                                   "mark\u200e"])
def test_accounts_add_refuses_a_label_with_control_or_bidi_characters(isolated_env: dict[str, str], tmp_path: Path,
                                                                     label: str) -> None:
    config = tmp_path / "config.toml"
    proc = run_cli(isolated_env, "--config", str(config), "accounts", "add", "meowload", "--id", "meow",
                   "--label", label)
    assert proc.returncode == 64
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert "the label contains control or invisible formatting characters" in lines[0]
    assert_no_raw_controls(proc.stderr)
    assert not config.exists()



def test_a_config_error_names_a_path_with_control_characters_escaped(isolated_env: dict[str, str],
                                                                    tmp_path: Path) -> None:
    folder = tmp_path / "odd\x1b[2Jname\u202e"
    folder.mkdir()
    config = folder / "config.toml"
    config.write_text("refresh_minutes = 'often'\n", "utf-8")
    proc = run_cli(isolated_env, "--config", str(config), "check")
    assert proc.returncode == 78
    assert len(proc.stderr.splitlines()) == 1
    assert_no_raw_controls(proc.stderr)
    assert "odd\\x1b[2Jname\\u202e" in proc.stderr
