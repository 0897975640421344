"""The tray and the terminal agree: a key stored, replaced or deleted elsewhere (``credit-tray key``,
another program writing the keyring) reaches a running tray, and an account edited in Settings is
checked again at once. Real loopback servers, a real file keyring, the real app where the command
line talks to it.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from tests.desktop.session import wait_for
from tests.fakeserver import PATHS, FakeServer, Reply
from tests.reliability_support import real_app, stop_real_app, wait_for_log
from tests.reliability_tray import dispose_tray, tray_controller
from tray_app.keys import KeyStore
from tray_app.ui.tray import TrayController

MEOW_OK = Reply(200, {"availableCredits": 282539})
MEOW_REFUSED = Reply(401, {"message": "Invalid or expired API Key"})
ROUTE = f"/meow{PATHS['meowload']}"


def config_text(server: FakeServer, prefix: str = "meow") -> str:
    return (f'language = "en"\n\n[[accounts]]\nid = "meow"\nprovider = "meowload"\nlabel = "Main"\n'
            f'base_url = "{server.url}/{prefix}"\n')


def keys_sent(server: FakeServer, route: str = ROUTE) -> list[str]:
    return [r.headers.get("x-api-key", "") for r in server.requests_to(route)]


@pytest.fixture
def tray(isolated_env: dict[str, str], tmp_path: Path, qapp: QApplication, server: FakeServer
         ) -> Iterator[TrayController]:
    config = tmp_path / "config.toml"
    config.write_text(config_text(server), "utf-8")
    controller = tray_controller(config, tmp_path / "history.sqlite3")
    yield controller
    dispose_tray(controller)


def refresh(qtbot, controller: TrayController, *, manual: bool) -> None:
    with qtbot.waitSignal(controller.refreshed, timeout=10_000):
        controller.refresh(manual=manual)


def test_a_key_replaced_elsewhere_is_read_again_on_a_manual_refresh_and_after_a_refusal(
        qtbot, tray: TrayController, server: FakeServer) -> None:
    server.route(ROUTE, MEOW_OK)
    KeyStore().set("meow", "sk-first")
    with qtbot.waitSignal(tray.refreshed, timeout=10_000):
        tray.start()
    assert keys_sent(server) == ["sk-first"]

    # Another program replaces the key. A timed refresh does not ask the keyring (on macOS
    # every read may cost a password prompt); a manual one does.
    KeyStore().set("meow", "sk-second")
    refresh(qtbot, tray, manual=False)
    assert keys_sent(server)[-1] == "sk-first"
    refresh(qtbot, tray, manual=True)
    assert keys_sent(server)[-1] == "sk-second"

    # The provider refuses the key: the next refresh, even a timed one, reads the keyring again.
    server.route(ROUTE, MEOW_REFUSED, MEOW_OK)
    refresh(qtbot, tray, manual=False)
    assert tray.results["meow"].error is not None
    KeyStore().set("meow", "sk-third")
    refresh(qtbot, tray, manual=False)
    assert keys_sent(server)[-1] == "sk-third"
    assert tray.results["meow"].error is None


def test_a_key_stored_elsewhere_after_no_key_is_found_by_the_next_refresh(
        qtbot, tray: TrayController, server: FakeServer) -> None:
    server.route(ROUTE, MEOW_OK)
    with qtbot.waitSignal(tray.refreshed, timeout=10_000):
        tray.start()
    result = tray.results["meow"]
    assert result.error is not None
    assert str(result.error.kind) == "no_key"
    assert keys_sent(server) == []
    KeyStore().set("meow", "sk-late")
    refresh(qtbot, tray, manual=False)
    assert keys_sent(server) == ["sk-late"]
    assert tray.results["meow"].error is None


def test_an_account_edited_in_settings_is_checked_at_once(qtbot, tray: TrayController,
                                                          server: FakeServer) -> None:
    server.route(ROUTE, MEOW_REFUSED)
    moved = f"/moved{PATHS['meowload']}"
    server.route(moved, MEOW_OK)
    KeyStore().set("meow", "sk-wrong")
    with qtbot.waitSignal(tray.refreshed, timeout=10_000):
        tray.start()
    assert str(tray.results["meow"].error.kind) == "auth"  # type: ignore[union-attr]
    tray.open_settings()
    settings = tray.settings
    assert settings is not None
    qtbot.waitUntil(lambda: settings.table.rowCount() == 1, timeout=5000)
    settings.select("meow")
    qtbot.mouseClick(settings.edit_button, Qt.MouseButton.LeftButton)
    dialog = settings.dialog
    assert dialog is not None
    dialog.advanced.setChecked(True)
    dialog.base_url.clear()
    qtbot.keyClicks(dialog.base_url, f"{server.url}/moved")
    qtbot.mouseClick(dialog.replace_key, Qt.MouseButton.LeftButton)
    qtbot.keyClicks(dialog.key, "sk-right")
    qtbot.mouseClick(dialog.buttons.button(dialog.buttons.StandardButton.Save), Qt.MouseButton.LeftButton)
    # No refresh asked for, and the interval is an hour: the edit itself brings the new answer.
    qtbot.waitUntil(lambda: keys_sent(server, moved) == ["sk-right"], timeout=10_000)
    qtbot.waitUntil(lambda: tray.results["meow"].error is None, timeout=10_000)


def _cli(env: dict[str, str], config: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, "-m", "tray_app", "--config", str(config), *args], input=stdin,
                          capture_output=True, text=True, env=env, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc


def test_key_set_and_delete_on_the_command_line_reach_the_running_tray(
        isolated_env: dict[str, str], tmp_path: Path, server: FakeServer) -> None:
    server.route(ROUTE, MEOW_OK)
    config = tmp_path / "config.toml"
    config.write_text(config_text(server), "utf-8")
    KeyStore().set("meow", "sk-before")
    with real_app(config, isolated_env, tmp_path, tray_wait_s=3600) as (proc, log):
        env = isolated_env  # the same runtime dir: the command line finds the tray's socket
        wait_for(lambda: keys_sent(server) == ["sk-before"], 20, "the first check")
        _cli(env, config, "key", "set", "meow", stdin="sk-after\n")
        wait_for(lambda: keys_sent(server)[-1:] == ["sk-after"], 20, "a check with the new key")
        _cli(env, config, "key", "delete", "meow")
        wait_for_log(proc, log, "meow is now: No API key")
        assert keys_sent(server) == ["sk-before", "sk-after"]
        err = stop_real_app(proc)
    assert proc.returncode == 0, err
    assert "sk-after" not in log.read_text()
