"""The settings window driven like a user: add, test, save, edit, replace a key, remove, validate.

Real loopback servers, a real file keyring, the real config file; assertions on what the
user gets: the file, the keyring entry, the tray menu.
"""

from __future__ import annotations

import gc
import plistlib
import shutil
import subprocess
import tomllib
import weakref
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from tests.fakeserver import PATHS, FakeServer, Reply
from tests.reliability_tray import dispose_tray, tray_controller
from tray_app.autostart import BUNDLE_ID, RUN_KEY, Autostart, launch_command
from tray_app.keys import KeyStore
from tray_app.ui.account_editor import AccountDialog
from tray_app.ui.settings import SettingsWindow
from tray_app.ui.tray import TrayController

GOOD = {
    "meowload": Reply(200, {"availableCredits": 282539}),
    "smarterbot": Reply(200, {"Data": {"Total": 5000, "Used": 1200, "Remain": 3800}, "Version": "1.0.0",
                              "Success": True, "Code": 200, "Message": ""}),
    "sociavault": Reply(200, {"credits": 950, "subscriptionStatus": "active", "subscriptionId": "sub_1"}),
    "unwatermark": Reply(200, {"code": 100000, "message": {}, "result": {"user_credits": "1234"}}),
}
SHOWN = {"meowload": "282,539 credits", "smarterbot": "3,800 message credits", "sociavault": "950 credits",
         "unwatermark": "1,234 credits"}


pytestmark = pytest.mark.usefixtures("english_gui")


@pytest.fixture
def tray(isolated_env: dict[str, str], tmp_path: Path, qapp: QApplication, qtbot) -> Iterator[TrayController]:
    config = Path(isolated_env["XDG_CONFIG_HOME"]) / "credit-tray" / "config.toml"
    controller = tray_controller(config, tmp_path / "history.sqlite3")
    with qtbot.waitSignal(controller.refreshed, timeout=10_000):
        controller.start()
    yield controller
    dispose_tray(controller)


def rows(controller: TrayController) -> list[str]:
    return [a.text() for a in controller.menu.actions()
            if a.menu() is not None and a.menu() is not controller.snooze_menu]


def open_add(qtbot, settings: SettingsWindow) -> AccountDialog:
    qtbot.mouseClick(settings.add_button, Qt.MouseButton.LeftButton)
    assert settings.dialog is not None
    return settings.dialog


def fill(qtbot, dialog: AccountDialog, provider: str, label: str, key: str, base_url: str = "",
         thresholds: str | None = None) -> None:
    dialog.provider.setCurrentIndex(dialog.provider.findData(provider))
    dialog.label.clear()
    qtbot.keyClicks(dialog.label, label)
    if key:
        qtbot.keyClicks(dialog.key, key)
    if thresholds is not None:
        dialog.thresholds.clear()
        qtbot.keyClicks(dialog.thresholds, thresholds)
    if base_url:
        dialog.advanced.setChecked(True)
        qtbot.keyClicks(dialog.base_url, base_url)


def save(qtbot, dialog: AccountDialog) -> None:
    with qtbot.waitSignal(dialog.saved, timeout=10_000):
        qtbot.mouseClick(dialog.buttons.button(dialog.buttons.StandardButton.Save), Qt.MouseButton.LeftButton)


def answer_the_question(button: str) -> list:
    """Clicks ``button`` in the next modal message box, as a user would; returns [text, button texts]."""
    seen: list = []

    def answer() -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(20, answer)
            return
        texts = [b.text().replace("&", "") for b in box.buttons()]
        seen.extend([box.text(), sorted(texts, key=lambda t: t != "Remove")])
        box.buttons()[texts.index(button)].click()

    QTimer.singleShot(0, answer)
    return seen


def config_of(controller: TrayController) -> dict:
    return tomllib.loads(controller.engine.config_path.read_text("utf-8"))


def stored_key(account_id: str) -> str | None:
    return KeyStore().get(account_id)  # a fresh store: reads the keyring, not a cache


def test_first_run_opens_the_settings_with_a_welcome(tray: TrayController) -> None:
    assert tray.settings is not None
    assert tray.settings.isVisible()
    assert tray.settings.welcome.isVisible()
    assert "keyring" in tray.settings.welcome.text()
    assert tray.settings.demo_button.isVisible()


def test_add_one_account_of_each_provider_test_it_and_save(qtbot, tray: TrayController,
                                                           server: FakeServer) -> None:
    settings = tray.settings
    assert settings is not None
    for n, (provider, reply) in enumerate(GOOD.items()):
        prefix = f"/{provider}"
        server.route(prefix + PATHS[provider], reply)
        dialog = open_add(qtbot, settings)
        fill(qtbot, dialog, provider, f"Acct {n}", f"sk-{provider}-{n}", base_url=server.url + prefix)
        assert dialog.account_id.text() == f"{provider}-acct-{n}"
        qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda d=dialog: d.test_result.text().startswith("Works"), timeout=10_000)
        assert dialog.test_result.text() == f"Works: {SHOWN[provider]}"
        assert stored_key(f"{provider}-acct-{n}") is None  # testing saves nothing
        save(qtbot, dialog)
        assert stored_key(f"{provider}-acct-{n}") == f"sk-{provider}-{n}"
    accounts = config_of(tray)["accounts"]
    assert [(a["id"], a["provider"], a["label"], a["base_url"]) for a in accounts] == [
        (f"{p}-acct-{n}", p, f"Acct {n}", f"{server.url}/{p}") for n, p in enumerate(GOOD)]
    assert all("thresholds" not in a for a in accounts)  # the provider's defaults stay implicit
    qtbot.waitUntil(lambda: len(rows(tray)) == 4 and all("credits" in r for r in rows(tray)), timeout=10_000)
    assert rows(tray)[0] == "MeowLoad · Acct 0 — 282,539 credits"
    assert not settings.welcome.isVisible()


@pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning")  # a job on a deleted window
def test_closed_settings_are_released_even_with_a_test_running_and_open_again(
        qtbot, tray: TrayController, server: FakeServer) -> None:
    """Like the History window, a closed Settings window goes (its widgets cost a few MiB all day)."""
    server.route(PATHS["meowload"], Reply(200, {"availableCredits": 282539}, delay=0.5))
    settings = tray.settings
    assert settings is not None
    dialog = open_add(qtbot, settings)
    fill(qtbot, dialog, "meowload", "Work", "sk-closed-while-testing", base_url=server.url)
    qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)  # still waiting for the server ...
    released = weakref.ref(settings)
    with qtbot.waitSignal(settings.destroyed, timeout=5000):
        settings.close()  # ... when the window closes
    assert tray.settings is None
    del settings, dialog
    gc.collect()
    assert released() is None
    qtbot.waitUntil(lambda: len(server.requests_to(PATHS["meowload"])) == 1, timeout=10_000)
    qtbot.wait(700)  # the test's answer arrives with nobody to show it to

    tray.settings_action.trigger()
    reopened = tray.settings
    assert reopened is not None
    assert reopened.isVisible()
    assert reopened.welcome.isVisible()
    with qtbot.waitSignal(reopened.changed, timeout=5000):
        reopened.icon_number.setChecked(True)
    qtbot.waitUntil(lambda: tray.config is not None and tray.config.icon_number, timeout=10_000)
    assert config_of(tray)["icon_number"] is True


def test_a_failing_test_shows_the_error_in_plain_words(qtbot, tray: TrayController, server: FakeServer) -> None:
    server.route(PATHS["sociavault"], Reply(401, {"error": "Invalid API key"}))
    assert tray.settings is not None
    dialog = open_add(qtbot, tray.settings)
    fill(qtbot, dialog, "sociavault", "Work", "sk-wrong", base_url=server.url)
    qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Invalid API key" in dialog.test_result.text(), timeout=10_000)
    assert dialog.test_result.text() == "Invalid API key: update it in Settings — Invalid API key (HTTP 401)"
    assert not tray.engine.config_path.exists()


def test_a_rate_limited_test_says_how_long_to_wait_not_that_it_is_retrying(qtbot, tray: TrayController,
                                                                          server: FakeServer) -> None:
    server.route(PATHS["meowload"], Reply(429, {"message": "quota"}, {"Retry-After": "3600"}))
    assert tray.settings is not None
    dialog = open_add(qtbot, tray.settings)
    fill(qtbot, dialog, "meowload", "Work", "sk-busy", base_url=server.url)
    qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Rate limited" in dialog.test_result.text(), timeout=10_000)
    assert dialog.test_result.text() == "Rate limited: try again in 60 min — Quota (HTTP 429)"


@pytest.mark.parametrize(("field", "typed", "message"), [
    ("label", "", "Give the account a label."),
    ("id", "Bad Id!", "Use lower-case letters, digits, '-' and '_' (at most 64)."),
    ("key", "", "Paste the API key from your provider's dashboard."),
    ("key", "sk-live-ÄBC123", "This is not an API key as pasted: it has a character that is not plain ASCII "
                              "(a letter from another alphabet, a curly quote or a look-alike dash?). Copy it again."),
    ("key", "sk-live ABC123", "This is not an API key as pasted: it has a space or a line break inside (API keys "
                              "have none; a 'Bearer ' prefix is not part of it). Copy it again."),
    ("thresholds", "100, lots", "Threshold 'lots' is not a number."),
    ("base_url", "http://example.com", "The base URL must be https (plain http is allowed only on loopback): "
                                       "'http://example.com'."),
])
def test_every_validation_error_is_shown_next_to_its_field_and_nothing_is_saved(
        qtbot, tray: TrayController, field: str, typed: str, message: str) -> None:
    assert tray.settings is not None
    dialog = open_add(qtbot, tray.settings)
    fill(qtbot, dialog, "meowload", "Work", "sk-1")
    widget = {"label": dialog.label, "id": dialog.account_id, "key": dialog.key, "thresholds": dialog.thresholds,
              "base_url": dialog.base_url}[field]
    if field == "base_url":
        dialog.advanced.setChecked(True)
    widget.clear()
    qtbot.keyClicks(widget, typed)
    qtbot.mouseClick(dialog.buttons.button(dialog.buttons.StandardButton.Save), Qt.MouseButton.LeftButton)
    assert dialog.errors[field].isVisible()
    assert dialog.errors[field].text() == message
    assert [name for name, label in dialog.errors.items() if label.isVisible()] == [field]
    assert dialog.isVisible()
    assert not tray.engine.config_path.exists()
    assert stored_key(dialog.account_id.text()) is None


def test_a_duplicate_id_is_refused(qtbot, tray: TrayController, server: FakeServer) -> None:
    assert tray.settings is not None
    dialog = open_add(qtbot, tray.settings)
    fill(qtbot, dialog, "meowload", "Work", "sk-1", base_url=server.url)
    save(qtbot, dialog)
    qtbot.waitUntil(lambda: tray.config is not None and len(tray.config.accounts) == 1, timeout=10_000)
    before = tray.engine.config_path.read_bytes()
    dialog = open_add(qtbot, tray.settings)
    fill(qtbot, dialog, "meowload", "Work", "sk-2")
    dialog.account_id.setText("meowload-work")
    qtbot.mouseClick(dialog.buttons.button(dialog.buttons.StandardButton.Save), Qt.MouseButton.LeftButton)
    assert dialog.errors["id"].text() == "The id 'meowload-work' is already used by another account."
    assert tray.engine.config_path.read_bytes() == before
    assert stored_key("meowload-work") == "sk-1"


def test_edit_replace_the_key_reorder_disable_and_remove(qtbot, tray: TrayController, server: FakeServer,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    settings = tray.settings
    assert settings is not None
    server.route(PATHS["meowload"], GOOD["meowload"])
    server.route(PATHS["sociavault"], GOOD["sociavault"])
    for provider, key in (("meowload", "sk-old"), ("sociavault", "sk-socia")):
        dialog = open_add(qtbot, settings)
        fill(qtbot, dialog, provider, "Work", key, base_url=server.url)
        save(qtbot, dialog)
    qtbot.waitUntil(lambda: len(rows(tray)) == 2 and "checking" not in "".join(rows(tray)), timeout=10_000)

    # Edit: the stored key is never shown, only offered for replacement.
    settings.select("meowload-work")
    qtbot.mouseClick(settings.edit_button, Qt.MouseButton.LeftButton)
    dialog = settings.dialog
    assert dialog is not None
    qtbot.waitUntil(lambda: dialog.key_stored.text() == "A key is stored in your keyring.", timeout=5000)
    assert not dialog.key.isVisibleTo(dialog)
    assert "sk-old" not in dialog.key.text()
    dialog.label.clear()
    qtbot.keyClicks(dialog.label, "Renamed")
    qtbot.mouseClick(dialog.replace_key, Qt.MouseButton.LeftButton)
    qtbot.keyClicks(dialog.key, "sk-new")
    save(qtbot, dialog)
    assert stored_key("meowload-work") == "sk-new"
    qtbot.waitUntil(lambda: rows(tray)[0].startswith("MeowLoad · Renamed"), timeout=10_000)
    # The edited account is checked again at once, with the new key.
    qtbot.waitUntil(lambda: server.requests_to(PATHS["meowload"])[-1].headers["x-api-key"] == "sk-new",
                    timeout=10_000)
    qtbot.waitUntil(lambda: not tray.refreshing, timeout=10_000)

    # Reorder.
    settings.select("meowload-work")
    with qtbot.waitSignal(settings.changed, timeout=5000):
        qtbot.mouseClick(settings.down_button, Qt.MouseButton.LeftButton)
    assert [a["id"] for a in config_of(tray)["accounts"]] == ["sociavault-work", "meowload-work"]
    qtbot.waitUntil(lambda: rows(tray)[0].startswith("SociaVault"), timeout=10_000)

    # Disable: off the menu, still in the config.
    with qtbot.waitSignal(settings.changed, timeout=5000):
        settings.table.item(0, 0).setCheckState(Qt.CheckState.Unchecked)
    assert config_of(tray)["accounts"][0]["enabled"] is False
    qtbot.waitUntil(lambda: len(rows(tray)) == 1, timeout=10_000)

    # Remove asks with buttons that say what they do; Cancel keeps everything.
    asked = answer_the_question("Cancel")
    settings.select("meowload-work")
    qtbot.mouseClick(settings.remove_button, Qt.MouseButton.LeftButton)
    assert asked[1] == ["Remove", "Cancel"]
    assert [a["id"] for a in config_of(tray)["accounts"]] == ["sociavault-work", "meowload-work"]
    # Remove, after confirming: the key goes with it.
    asked = answer_the_question("Remove")
    with qtbot.waitSignal(settings.changed, timeout=5000):
        qtbot.mouseClick(settings.remove_button, Qt.MouseButton.LeftButton)
    assert "deleted from your keyring" in asked[0]
    assert [a["id"] for a in config_of(tray)["accounts"]] == ["sociavault-work"]
    assert stored_key("meowload-work") is None
    assert stored_key("sociavault-work") == "sk-socia"
    qtbot.waitUntil(lambda: rows(tray) == [], timeout=10_000)


def test_global_settings_apply_at_once(qtbot, tray: TrayController) -> None:
    settings = tray.settings
    assert settings is not None
    with qtbot.waitSignal(settings.changed, timeout=5000):
        settings.refresh_minutes.setValue(5)
        settings.refresh_minutes.editingFinished.emit()
    qtbot.waitUntil(lambda: tray.config is not None and tray.config.refresh_minutes == 5, timeout=10_000)
    with qtbot.waitSignal(settings.changed, timeout=5000):
        settings.notifications.setChecked(False)
    with qtbot.waitSignal(settings.changed, timeout=5000):
        settings.icon_number.setChecked(True)
    with qtbot.waitSignal(settings.changed, timeout=5000):
        settings.top_ups.setChecked(True)
    assert settings.forecast_days.value() == 3  # the default, shown as it is
    with qtbot.waitSignal(settings.changed, timeout=5000):
        settings.forecast_days.setValue(0)
        settings.forecast_days.editingFinished.emit()
    assert settings.forecast_days.text() == "Never"
    with qtbot.waitSignal(settings.changed, timeout=5000):
        settings.language.setCurrentIndex(settings.language.findData("zh"))
    qtbot.waitUntil(lambda: tray.config is not None and tray.config.language == "zh", timeout=10_000)
    assert {k: v for k, v in config_of(tray).items() if k != "accounts"} == {
        "refresh_minutes": 5, "notifications": False, "icon_number": True, "language": "zh",
        "top_up_notifications": True, "forecast_alert_days": 0}
    assert tray.config.forecast_alert_days == 0
    assert tray.config.top_up_notifications is True
    assert tray.config.icon_number is True
    assert tray.config.notifications is False


def test_hand_edits_reload_and_a_broken_edit_is_reported_not_applied(qtbot, tray: TrayController,
                                                                      server: FakeServer) -> None:
    server.route(PATHS["meowload"], GOOD["meowload"])
    KeyStore().set("hand", "sk-hand")
    path = tray.engine.config_path
    path.parent.mkdir(parents=True, exist_ok=True)
    tray._watch_config()
    path.write_text(f'# mine\n[[accounts]]\nid = "hand"\nprovider = "meowload"\nbase_url = "{server.url}"\n')
    qtbot.waitUntil(lambda: rows(tray) == ["MeowLoad — 282,539 credits"], timeout=10_000)

    broken = b'# mine\n[[accounts]]\nid = "hand\n'
    path.write_bytes(broken)
    qtbot.waitUntil(lambda: tray.config_error is not None, timeout=10_000)
    visible = [a.text() for a in tray.menu.actions() if a.isVisible()]
    assert visible[0].startswith(f"Config error: {path}:3:")
    assert rows(tray) == ["MeowLoad — 282,539 credits"]  # the last good state still shows
    settings = tray.settings
    assert settings is not None
    assert settings.status.isVisible()
    assert "changes here are off until it is fixed" in settings.status.text()
    # Nothing that would write is offered while the file is broken (it would only be refused).
    settings.select("hand")
    for control in (settings.icon_number, settings.notifications, settings.refresh_minutes, settings.language,
                    settings.add_button, settings.edit_button, settings.remove_button, settings.up_button,
                    settings.table):
        assert not control.isEnabled(), control
    assert path.read_bytes() == broken
    # Fixed by hand: everything is back.
    path.write_text(f'# mine\n[[accounts]]\nid = "hand"\nprovider = "meowload"\nbase_url = "{server.url}"\n')
    qtbot.waitUntil(lambda: tray.config_error is None, timeout=10_000)
    assert not settings.status.isVisible()
    assert settings.icon_number.isEnabled()
    assert settings.add_button.isEnabled()


# ----------------------------------------------------------------- start at login

def test_autostart_on_linux_writes_a_valid_desktop_entry_and_removes_it(isolated_env: dict[str, str]) -> None:
    autostart = Autostart("linux", command=["/opt/credit-tray/credit-tray"])
    entry = Path(isolated_env["XDG_CONFIG_HOME"]) / "autostart" / "credit-tray.desktop"
    assert not autostart.enabled()
    autostart.enable()
    assert autostart.enabled()
    text = entry.read_text()
    assert "Exec=/opt/credit-tray/credit-tray\n" in text
    assert "Name=Credit Tray\n" in text
    if shutil.which("desktop-file-validate"):
        checked = subprocess.run(["desktop-file-validate", str(entry)], capture_output=True, text=True, check=False)
        assert checked.returncode == 0, checked.stdout + checked.stderr
    autostart.disable()
    assert not entry.exists()
    assert not autostart.enabled()


def test_autostart_quotes_a_source_checkout_path(isolated_env: dict[str, str]) -> None:
    autostart = Autostart("linux", command=["/home/me/my apps/.venv/bin/python", "-m", "tray_app"])
    autostart.enable()
    entry = Path(isolated_env["XDG_CONFIG_HOME"]) / "autostart" / "credit-tray.desktop"
    assert 'Exec="/home/me/my apps/.venv/bin/python" -m tray_app\n' in entry.read_text()


def test_autostart_on_macos_writes_the_launch_agent(tmp_path: Path) -> None:
    command = ["/Applications/Credit Tray.app/Contents/MacOS/Credit Tray"]
    autostart = Autostart("darwin", home=tmp_path, command=command)
    autostart.enable()
    plist_path = tmp_path / "Library" / "LaunchAgents" / f"{BUNDLE_ID}.plist"
    assert plistlib.loads(plist_path.read_bytes()) == {
        "Label": BUNDLE_ID, "ProgramArguments": command, "RunAtLoad": True, "KeepAlive": False,
        "ProcessType": "Interactive", "LimitLoadToSessionType": "Aqua"}
    assert autostart.enabled()
    autostart.disable()
    assert not plist_path.exists()


class MemoryRunKey:
    """The registry seam: what would be written under HKCU\\...\\Run."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def get(self, name: str) -> str | None:
        return self.values.get(name)

    def set(self, name: str, value: str) -> None:
        self.values[name] = value

    def delete(self, name: str) -> None:
        self.values.pop(name, None)


def test_autostart_on_windows_sets_the_run_value() -> None:
    registry = MemoryRunKey()
    autostart = Autostart("win32", run_key=registry,
                          command=[r"C:\Program Files\Credit Tray\Credit Tray.exe"])
    assert RUN_KEY == r"Software\Microsoft\Windows\CurrentVersion\Run"
    autostart.enable()
    assert registry.values == {"Credit Tray": r'"C:\Program Files\Credit Tray\Credit Tray.exe"'}
    assert autostart.enabled()
    autostart.disable()
    assert registry.values == {}


def test_autostart_command_line(isolated_env: dict[str, str]) -> None:
    done = subprocess.run([*launch_command(), "autostart", "on"],
                          env=isolated_env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    entry = Path(isolated_env["XDG_CONFIG_HOME"]) / "autostart" / "credit-tray.desktop"
    assert done.stdout.strip() == f"Start at login: on ({entry})"
    status = subprocess.run([*launch_command(), "autostart", "off"],
                            env=isolated_env, capture_output=True, text=True, timeout=60, check=False)
    assert status.stdout.strip() == f"Start at login: off ({entry})"
    assert not entry.exists()


def test_keyboard_tab_order_mnemonics_and_escape(qtbot, tray: TrayController) -> None:
    settings = tray.settings
    assert settings is not None
    dialog = open_add(qtbot, settings)
    chain, widget = [], dialog.provider
    for _ in range(8):
        chain.append(widget)
        widget = widget.nextInFocusChain()
        while not widget.focusPolicy() & Qt.FocusPolicy.TabFocus or not widget.isVisibleTo(dialog):
            widget = widget.nextInFocusChain()
    assert chain[:7] == [dialog.provider, dialog.label, dialog.account_id, dialog.key, dialog.show_key,
                         dialog.thresholds, dialog.advanced]
    for field in (dialog.provider, dialog.label, dialog.account_id, dialog.key, dialog.show_key, dialog.thresholds):
        assert field.accessibleName()
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    assert not dialog.isVisible()
    assert settings.isVisible()
    # With no tray here the balances window is up too; Escape works in the window that has the focus.
    settings.activateWindow()
    qtbot.waitUntil(settings.isActiveWindow, timeout=5000)
    qtbot.keyClick(settings, Qt.Key.Key_Escape)
    assert not settings.isVisible()
    settings_size = settings.sizeHint()
    assert settings_size.width() <= 1280
    assert settings_size.height() <= 720


def test_a_new_interval_reschedules_the_timer(qtbot, tray: TrayController) -> None:
    tray._refresh_override = None  # use the config's interval, as the real app does
    settings = tray.settings
    assert settings is not None
    with qtbot.waitSignal(settings.changed, timeout=5000):
        settings.refresh_minutes.setValue(3)
        settings.refresh_minutes.editingFinished.emit()
    qtbot.waitUntil(lambda: tray.scheduler.interval_s == 180, timeout=10_000)


def test_emptied_thresholds_are_saved_as_an_empty_list_on_add_and_on_edit(qtbot, tray: TrayController,
                                                                         server: FakeServer) -> None:
    """No thresholds is a choice (no alerts at all); dropping the key would bring the defaults back."""
    settings = tray.settings
    assert settings is not None
    server.route(PATHS["meowload"], GOOD["meowload"])
    server.route(PATHS["sociavault"], GOOD["sociavault"])
    dialog = open_add(qtbot, settings)
    fill(qtbot, dialog, "meowload", "Quiet", "sk-quiet", base_url=server.url, thresholds="")
    save(qtbot, dialog)
    dialog = open_add(qtbot, settings)
    fill(qtbot, dialog, "sociavault", "Later", "sk-later", base_url=server.url)
    save(qtbot, dialog)
    assert [a.get("thresholds") for a in config_of(tray)["accounts"]] == [[], None]
    qtbot.waitUntil(lambda: settings.config is not None and len(settings.config.accounts) == 2, timeout=5000)

    # Edit the second account: clear its (default) thresholds.
    settings.select("sociavault-later")
    qtbot.mouseClick(settings.edit_button, Qt.MouseButton.LeftButton)
    dialog = settings.dialog
    assert dialog is not None
    assert dialog.thresholds.text() == "1000, 100, 10, 0"
    dialog.thresholds.clear()
    save(qtbot, dialog)
    assert [a.get("thresholds") for a in config_of(tray)["accounts"]] == [[], []]
    assert [a.thresholds for a in tray.engine.load_config().accounts] == [(), ()]
    qtbot.waitUntil(lambda: settings.config is not None and settings.config.accounts[1].thresholds == (),
                    timeout=5000)

    # Editing it again shows no thresholds, and saving keeps it that way.
    settings.select("sociavault-later")
    qtbot.mouseClick(settings.edit_button, Qt.MouseButton.LeftButton)
    dialog = settings.dialog
    assert dialog is not None
    assert dialog.thresholds.text() == ""
    save(qtbot, dialog)
    assert [a.get("thresholds") for a in config_of(tray)["accounts"]] == [[], []]
