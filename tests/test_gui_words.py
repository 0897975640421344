"""Words and layout in the tray's menu, Settings, the account editor and About, driven through
pytest-qt like a user: plain words instead of internal names, accounts that never look alike, ages
only when they matter, no action that can do nothing, nothing clipped, nothing jumping.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from PySide6.QtCore import QObject, Qt, QUrl, Slot
from PySide6.QtGui import QDesktopServices, QPalette
from PySide6.QtWidgets import QApplication, QLabel, QLineEdit, QWidget

from tests.fakeserver import PATHS, FakeServer, Reply
from tests.reliability_tray import dispose_tray, tray_controller
from tray_app.history import Entry, HistoryStore
from tray_app.keys import KeyStore
from tray_app.model import Reading, utc_now
from tray_app.ui.tray import TrayController

MEOW_OK = Reply(200, {"availableCredits": 282539})
MakeTray = Callable[..., TrayController]


pytestmark = pytest.mark.usefixtures("english_gui")


def account_toml(server: FakeServer, account_id: str, provider: str, label: str | None = None) -> str:
    label_line = f'label = "{label}"\n' if label else ""
    return (f'[[accounts]]\nid = "{account_id}"\nprovider = "{provider}"\n{label_line}'
            f'base_url = "{server.url}/{account_id}"\n\n')


@pytest.fixture
def make_tray(isolated_env: dict[str, str], tmp_path: Path, qapp: QApplication) -> Iterator[MakeTray]:
    made: list[TrayController] = []

    def make(config_text: str | None, *, readings: dict[str, Reading] | None = None) -> TrayController:
        config = Path(isolated_env["XDG_CONFIG_HOME"]) / "credit-tray" / "config.toml"
        if config_text is not None:
            config.parent.mkdir(parents=True, exist_ok=True)
            config.write_text(config_text, "utf-8")
        store = HistoryStore(tmp_path / "history.sqlite3")
        if readings:
            store.record([Entry(account_id, reading, reading.fetched_at) for account_id, reading in readings.items()])
        controller = tray_controller(config, store)
        made.append(controller)
        return controller

    yield make
    for controller in made:
        dispose_tray(controller)


def start(qtbot, controller: TrayController) -> None:
    with qtbot.waitSignal(controller.refreshed, timeout=10_000):
        controller.start()


def rows(controller: TrayController) -> list[str]:
    return [a.text() for a in controller.menu.actions()
            if a.menu() is not None and a.menu() is not controller.snooze_menu]


def row_actions(controller: TrayController, index: int) -> dict[str, tuple[bool, bool]]:
    """text -> (visible, enabled) of one account's submenu."""
    menus = [a.menu() for a in controller.menu.actions()
             if a.menu() is not None and a.menu() is not controller.snooze_menu]
    return {a.text(): (a.isVisible(), a.isEnabled()) for a in menus[index].actions() if a.text()}


# ----------------------------------------------------------------------------- the menu

def test_an_empty_menu_offers_to_add_an_account_and_nothing_that_does_nothing(qtbot, make_tray: MakeTray) -> None:
    tray = make_tray(None)
    start(qtbot, tray)
    visible = [a for a in tray.menu.actions() if a.isVisible() and a.text()]
    first = visible[0]
    assert first.text() == "&Add an account…"
    assert first.isEnabled()
    assert not tray.refresh_action.isEnabled()
    assert not tray.snooze_menu.menuAction().isEnabled()
    assert "[" not in tray.tray.toolTip()
    tray.show_window()
    assert tray.window is not None
    assert not tray.window.refresh_button.isEnabled()
    first.trigger()
    assert tray.settings is not None
    assert tray.settings.isVisible()
    assert tray.settings.dialog is not None
    assert tray.settings.dialog.isVisible()
    assert tray.settings.dialog.windowTitle() == "Add account"


def test_age_only_when_it_matters_and_actions_only_when_they_can_act(qtbot, make_tray: MakeTray,
                                                                     server: FakeServer) -> None:
    server.route(f"/meow{PATHS['meowload']}", MEOW_OK)
    KeyStore().set("meow", "sk-words")
    tray = make_tray(account_toml(server, "meow", "meowload") + account_toml(server, "vault", "sociavault"))
    start(qtbot, tray)
    assert rows(tray) == ["MeowLoad — 282,539 credits",  # fresh: no "· just now"
                          "SociaVault — No API key: add it in Settings"]
    assert row_actions(tray, 1)["&Copy balance"] == (True, False)  # no balance to copy
    actions = row_actions(tray, 0)
    assert not any(text.startswith("Balance from") and shown for text, (shown, _) in actions.items())
    assert actions["&Copy balance"] == (True, True)
    assert tray.refresh_action.isEnabled()
    assert tray.snooze_menu.menuAction().isEnabled()

    # Notifications off: nothing to snooze.
    path = tray.engine.config_path
    path.write_text("notifications = false\n" + path.read_text("utf-8"), "utf-8")
    with qtbot.waitSignal(tray.refreshed, timeout=10_000):
        tray.refresh(manual=True)
    assert not tray.snooze_menu.menuAction().isEnabled()

    # A refused key: the last balance with its age, the provider's words, and not "auth:".
    server.route(f"/meow{PATHS['meowload']}", Reply(401, {"message": "Invalid or expired API Key"}))
    with qtbot.waitSignal(tray.refreshed, timeout=10_000):
        tray.refresh(manual=True)
    actions = row_actions(tray, 0)
    assert actions["Balance from just now: 282,539 credits"] == (True, False)
    assert actions["Invalid or expired API Key (HTTP 401)"] == (True, False)
    assert not any(text.startswith("auth") for text in actions)


def test_a_balance_older_than_two_intervals_shows_its_age(qtbot, make_tray: MakeTray, server: FakeServer) -> None:
    server.route(f"/meow{PATHS['meowload']}", Reply(200, {"availableCredits": 1}, delay=20))
    KeyStore().set("meow", "sk-words")
    old = Reading(remaining=Decimal(282539), unit="credits", fetched_at=utc_now() - timedelta(hours=3))
    tray = make_tray(account_toml(server, "meow", "meowload"), readings={"meow": old})
    tray.start()  # the fetch hangs; the remembered balance shows meanwhile
    qtbot.waitUntil(lambda: rows(tray) == ["MeowLoad — 282,539 credits · 3 h ago"], timeout=5000)


# ----------------------------------------------------------------------------- Settings

def test_settings_says_states_in_words_and_tells_equal_labels_apart(qtbot, make_tray: MakeTray,
                                                                    server: FakeServer) -> None:
    server.route(f"/a{PATHS['meowload']}", MEOW_OK)
    server.route(f"/b{PATHS['meowload']}", Reply(401, {"message": "Invalid or expired API Key"}))
    KeyStore().set("a", "sk-a")
    KeyStore().set("b", "sk-b")
    tray = make_tray(account_toml(server, "a", "meowload") + account_toml(server, "b", "meowload"))
    start(qtbot, tray)
    assert rows(tray) == ["MeowLoad (a) — 282,539 credits",
                          "MeowLoad (b) — Invalid API key: update it in Settings"]
    tray.open_settings()
    settings = tray.settings
    assert settings is not None
    assert settings.windowTitle() == "Settings"
    table = settings.table
    cells = [[table.item(r, c).text() for c in range(1, 5)] for r in range(table.rowCount())]
    assert cells == [["MeowLoad", "MeowLoad (a)", "OK", "282,539 credits"],
                     ["MeowLoad", "MeowLoad (b)", "Invalid API key: update it in Settings", ""]]


def test_settings_names_a_misspelt_config_key(qtbot, make_tray: MakeTray, server: FakeServer) -> None:
    tray = make_tray("notifcations = false\n" + account_toml(server, "meow", "meowload"))
    start(qtbot, tray)
    tray.open_settings()
    settings = tray.settings
    assert settings is not None
    assert settings.status.isVisible()
    assert f"{tray.engine.config_path}:1: unknown setting 'notifcations' ignored (did you mean 'notifications'?)" \
        == settings.status.text()
    assert settings.add_button.isEnabled()  # only a warning: everything still works


# ----------------------------------------------------------------------------- the account editor

def _not_clipped(label: QLabel) -> bool:
    return label.height() >= label.heightForWidth(label.width())


def test_the_account_editor_shows_the_key_toggle_and_never_clips_or_jumps(qtbot, make_tray: MakeTray,
                                                                          server: FakeServer) -> None:
    server.route(PATHS["meowload"], Reply(401, {"message": "Invalid or expired API Key, and a long explanation "
                                                           "of why the key was not accepted by the server"}))
    tray = make_tray(account_toml(server, "meow", "meowload"))
    start(qtbot, tray)
    tray.open_settings()
    settings = tray.settings
    assert settings is not None
    qtbot.mouseClick(settings.add_button, Qt.MouseButton.LeftButton)
    dialog = settings.dialog
    assert dialog is not None
    qtbot.waitExposed(dialog)
    # A second MeowLoad account gets a label of its own.
    assert dialog.label.text() == "MeowLoad 2"
    assert dialog.account_id.text() == "meowload-2"
    # The Show toggle is a visible button that shows and hides the key.
    assert dialog.show_key.isVisible()
    assert dialog.show_key.width() > 20
    assert dialog.show_key.text().replace("&", "") == "Show"
    qtbot.keyClicks(dialog.key, "sk-typed")
    assert dialog.key.echoMode() == QLineEdit.EchoMode.Password
    qtbot.mouseClick(dialog.show_key, Qt.MouseButton.LeftButton)
    assert dialog.key.echoMode() == QLineEdit.EchoMode.Normal
    # The provider hint is in the ordinary text colour, not the faint "mid" one.
    hint = dialog.provider_hint.palette().color(QPalette.ColorRole.WindowText)
    assert hint == dialog.palette().color(QPalette.ColorRole.WindowText)

    above: list[QWidget] = [dialog.provider, dialog.label, dialog.account_id, dialog.key, dialog.thresholds]

    def positions() -> list[tuple[int, int, int]]:
        return [(w.mapTo(dialog, w.rect().topLeft()).y(), w.x(), w.width()) for w in above]

    before = positions()
    dialog.advanced.setChecked(True)
    qtbot.keyClicks(dialog.base_url, "http://example.com/a/rather/long/path/to/a/mirror/of/the/provider/api")
    qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)  # invalid: shows the base URL error
    error = dialog.errors["base_url"]
    assert error.isVisible()
    assert error.text().startswith("The base URL must be https")
    assert "base_url" not in error.text()
    assert _not_clipped(error), (error.height(), error.heightForWidth(error.width()))
    assert positions() == before

    dialog.base_url.clear()
    qtbot.keyClicks(dialog.base_url, server.url)
    qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Invalid API key" in dialog.test_result.text(), timeout=10_000)
    assert _not_clipped(dialog.test_result)
    assert dialog.height() >= dialog.layout().totalHeightForWidth(dialog.width())
    assert positions() == before
    dialog.close()

    # The edit form has the same placeholder as the add form.
    settings.select("meow")
    qtbot.mouseClick(settings.edit_button, Qt.MouseButton.LeftButton)
    edit = settings.dialog
    assert edit is not None
    assert edit.base_url.placeholderText() == "https://api.meowload.net"


# ----------------------------------------------------------------------------- About

class _Opened(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[QUrl] = []

    @Slot(QUrl)
    def record(self, url: QUrl) -> None:
        self.urls.append(url)


def test_about_opens_the_config_data_and_log_folders(qtbot, make_tray: MakeTray, isolated_env: dict[str, str],
                                                     tmp_path: Path) -> None:
    tray = make_tray("")
    tray.log_path = tmp_path / "log" / "credit-tray.log"
    tray.log_path.parent.mkdir()
    tray.log_path.write_text("")
    start(qtbot, tray)
    tray.show_about()
    about = tray.about
    assert about is not None
    opened = _Opened()
    QDesktopServices.setUrlHandler("file", opened, "record")
    try:
        qtbot.mouseClick(about.open_config, Qt.MouseButton.LeftButton)
        qtbot.mouseClick(about.open_log, Qt.MouseButton.LeftButton)
    finally:
        QDesktopServices.unsetUrlHandler("file")
    assert [u.toLocalFile() for u in opened.urls] == [
        str(Path(isolated_env["XDG_CONFIG_HOME"]) / "credit-tray"), str(tray.log_path)]
    text = about.findChild(QLabel).text()
    assert "white-space: nowrap" in text
    assert str(tray.engine.config_path) in text


# ----------------------------------------------------------------------------- a font for 简体中文

ROOT = Path(__file__).resolve().parents[1]


def test_the_language_list_can_draw_chinese(qapp: QApplication) -> None:
    from PySide6.QtGui import QFont, QFontDatabase, QFontMetrics

    from tray_app.ui.settings import LANGUAGE_CHOICES

    chinese = next(text for value, text in LANGUAGE_CHOICES if value == "zh")
    families = QFontDatabase.families(QFontDatabase.WritingSystem.SimplifiedChinese)
    drawn = [f for f in families if all(QFontMetrics(QFont(f)).inFontUcs4(ord(c)) for c in chinese)]
    assert drawn, f"no installed font draws {chinese!r}: it would show as boxes"
    # The app's set-up and the .deb bring in the same small font.
    app_debs = (ROOT / "scripts" / "setup.sh").read_text("utf-8").split("APP_DEBS=(")[1].split(")")[0]
    assert "fonts-wqy-microhei" in app_debs.split()
    packages = (ROOT / "packaging" / "linux" / "linux_packages.py").read_text("utf-8")
    assert '"fonts-wqy-microhei | fonts-noto-cjk"' in packages.split("RECOMMENDS = (")[1].split("\n")[0]


# ----------------------------------------------------------------------------- the demo

def test_the_demo_runs_in_this_process_labelled_demo_and_ends_with_the_app(qtbot, make_tray: MakeTray) -> None:
    from tray_app.ui.tray import DEMO_LABEL

    tray = make_tray(None)
    start(qtbot, tray)
    settings = tray.settings
    assert settings is not None  # first run
    assert settings.demo_button.isVisible()
    qtbot.mouseClick(settings.demo_button, Qt.MouseButton.LeftButton)
    demo = tray.demo_controller
    assert demo is not None
    qtbot.waitUntil(lambda: len(rows(demo)) == 4 and "checking" not in "".join(rows(demo)), timeout=10_000)
    labels = [a.text() for a in demo.menu.actions() if a.isVisible() and a.text()]
    assert labels[0] == DEMO_LABEL
    assert demo.tray.toolTip().startswith("Demo")
    assert not tray.tray.toolTip().startswith("Demo")
    # Quitting the demo leaves the app running; quitting the app ends the demo with it.
    demo.quit_action.trigger()
    assert tray.demo_controller is None
    assert not tray._quitting
    qtbot.mouseClick(settings.demo_button, Qt.MouseButton.LeftButton)
    demo = tray.demo_controller
    assert demo is not None
    tray.shutdown()
    assert demo._quitting
    assert not demo.tray.isVisible()
