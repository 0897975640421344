"""Settings, the account editor and the custom-provider form in Simplified Chinese, switched while open.

The language is switched the way the app switches it (``ui.i18n.apply_language``: the compiled
catalogues, Qt's own translator and QLocale); the windows are the ones the tray opens, with a real
config file, a real file keyring and a loopback provider. The pictures go to test-artifacts/
(``settings-zh.png`` is the README's).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractButton, QGroupBox, QLabel, QWidget

from tests.fakeserver import PATHS, FakeServer
from tests.test_settings import GOOD, answer_the_question, config_of, open_add
from tests.test_settings import tray as tray  # the fixture
from tray_app.keys import KeyStore
from tray_app.ui.account_editor import AccountDialog
from tray_app.ui.i18n import apply_language
from tray_app.ui.settings import SettingsWindow
from tray_app.ui.tray import TrayController

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
#: Latin letters a Chinese text keeps: the product's name, technical words (glossary) and a mnemonic "(&K)".
KEPT_LATIN = re.compile(r"Credit Tray|\b(?:API|ID|URL|JSON)\b|\(&[A-Z]\)")
ZH_HEADERS = ["启用", "服务商", "名称", "状态", "最近余额"]
EN_HEADERS = ["On", "Provider", "Label", "State", "Last balance"]

pytestmark = pytest.mark.usefixtures("english_gui")


def speak(qtbot, code: str, *windows_and_titles: tuple[QWidget, str]) -> None:
    """Switch the app's language as Settings' choice does, and wait for the open windows to follow."""
    assert apply_language(code) == code, "the compiled catalogue is missing: run scripts/translations.py compile"
    for window, title in windows_and_titles:
        qtbot.waitUntil(lambda w=window, t=title: w.windowTitle() == t, timeout=5000)


def chinese(text: str) -> bool:
    """Written in Chinese: no Latin word left but the ones Chinese keeps (and the markup of the welcome)."""
    words = KEPT_LATIN.sub("", re.sub(r"</?b>", "", text))
    return re.search(r"[A-Za-z]", words) is None


def headers(settings: SettingsWindow) -> list[str]:
    return [settings.table.horizontalHeaderItem(c).text() for c in range(settings.table.columnCount())]


def own_texts(window: QWidget, skip: QWidget | None = None) -> dict[str, QWidget]:
    """The visible labels, buttons and group titles of ``window`` itself (not of a dialog it owns)."""
    found: dict[str, QWidget] = {}
    for widget in window.findChildren(QWidget):
        if widget.window() is not window or not widget.isVisible():
            continue
        if skip is not None and (widget is skip or skip.isAncestorOf(widget)):
            continue
        if isinstance(widget, (QLabel, QAbstractButton)):
            text = widget.text()
        elif isinstance(widget, QGroupBox):
            text = widget.title()
        else:
            continue
        if re.search(r"[A-Za-z\u4e00-\u9fff]", text):
            found[text] = widget
    return found


@pytest.fixture
def two_accounts(qtbot, tray: TrayController, server: FakeServer) -> SettingsWindow:
    """An account that works (a balance is shown) and one that is switched off."""
    server.route("/meow" + PATHS["meowload"], GOOD["meowload"])
    KeyStore().set("meow", "sk-meow-zh-1")
    tray.engine.config_path.parent.mkdir(parents=True, exist_ok=True)
    tray._watch_config()
    tray.engine.config_path.write_text(
        f'[[accounts]]\nid = "meow"\nprovider = "meowload"\nlabel = "Main"\nbase_url = "{server.url}/meow"\n\n'
        '[[accounts]]\nid = "socia"\nprovider = "sociavault"\nlabel = "Work"\nenabled = false\n', "utf-8")
    settings = tray.settings
    assert settings is not None
    qtbot.waitUntil(lambda: settings.table.rowCount() == 2, timeout=10_000)
    qtbot.waitUntil(lambda: "282,539" in settings.table.item(0, 4).text(), timeout=10_000)
    return settings


@pytest.fixture
def back_to_english() -> Iterator[None]:
    yield
    apply_language("en")


def test_choosing_chinese_turns_open_settings_and_editor_chinese_and_keeps_their_state(
        qtbot, tray: TrayController, two_accounts: SettingsWindow, back_to_english: None) -> None:
    settings = two_accounts
    settings.select("socia")
    with qtbot.waitSignal(settings.changed, timeout=5000):
        settings.language.setCurrentIndex(settings.language.findData("zh"))
    qtbot.waitUntil(lambda: tray.config is not None and tray.config.language == "zh", timeout=10_000)
    # Half-way through adding a custom provider, on its second tab.
    dialog = open_add(qtbot, settings)
    dialog.provider.setCurrentIndex(dialog.provider.findData("custom"))
    dialog.label.clear()
    qtbot.keyClicks(dialog.label, "Acme team")
    qtbot.keyClicks(dialog.key, "sk-typed-4821")
    url = dialog.custom_form.inputs["url"]
    qtbot.keyClicks(url, "https://api.acme.example/balance")
    dialog.custom_form.tabs.setCurrentIndex(1)

    speak(qtbot, "zh", (settings, "设置"), (dialog, "添加账户"))

    assert settings.accounts_box.title() == "账户"
    assert settings.general.title() == "常规"
    assert headers(settings) == ZH_HEADERS
    assert [settings.table.item(r, 3).text() for r in range(2)][1] == "已停用"
    assert [b.text() for b in (settings.add_button, settings.edit_button, settings.remove_button,
                               settings.up_button, settings.down_button, settings.history_button)] == [
        "添加(&A)…", "编辑(&E)…", "删除(&R)…", "上移(&U)", "下移(&W)", "历史记录(&H)…"]
    assert settings.language_label.text() == "界面语言(&L)："
    assert [settings.language.itemText(i) for i in range(settings.language.count())] == [
        "自动（跟随系统语言）", "English", "简体中文"]
    assert settings.language.currentData() == "zh"
    assert (settings.refresh_minutes.suffix(), settings.forecast_days.text()) == (" 分钟", "3 天")
    assert settings.selected_id() == "socia"
    # Nothing of Settings itself is left in English (the close button is Qt's, in Qt's catalogue).
    english = [text for text in own_texts(settings) if not chinese(text)]
    assert english == [], english

    assert dialog.row_labels["key"].text() == "API 密钥(&K)："
    assert dialog.provider.currentText() == "自定义服务商（任意 JSON 接口）"
    assert dialog.provider_hint.text().startswith("任意 JSON 余额接口")
    assert (dialog.label.text(), dialog.key.text(), url.text()) == (
        "Acme team", "sk-typed-4821", "https://api.acme.example/balance")
    form = dialog.custom_form
    assert [form.tabs.tabText(i) for i in range(form.tabs.count())] == ["请求", "响应", "显示", "测试结果"]
    assert form.tabs.currentIndex() == 1
    assert [dialog.buttons.button(b).text() for b in (dialog.buttons.StandardButton.Save,
                                                      dialog.buttons.StandardButton.Cancel)] == ["保存", "取消"]
    # The schema's field names are the engine's words; everything the editor says itself is Chinese.
    english = [text for text in own_texts(dialog, skip=form.tabs) if not chinese(text)]
    assert english == [], english

    speak(qtbot, "en", (settings, "Settings"), (dialog, "Add account"))
    assert headers(settings) == EN_HEADERS
    assert settings.language_label.text() == "Interface &language:"
    assert settings.language.itemText(0) == "Automatic (system language)"
    assert settings.forecast_days.text() == "3 days"
    settings.forecast_days.setValue(1)
    assert settings.forecast_days.text() == "1 day"  # counted by ngettext, not glued to " days"
    assert settings.selected_id() == "socia"
    assert form.tabs.tabText(1) == "Response"
    assert form.tabs.currentIndex() == 1
    assert (dialog.label.text(), dialog.key.text(), url.text()) == (
        "Acme team", "sk-typed-4821", "https://api.acme.example/balance")
    assert dialog.row_labels["key"].text() == "API &key:"
    dialog.reject()


def test_a_shown_problem_and_a_test_result_are_said_again_in_the_new_language(
        qtbot, tray: TrayController, server: FakeServer, back_to_english: None) -> None:
    settings = tray.settings
    assert settings is not None
    server.route("/m" + PATHS["meowload"], GOOD["meowload"])
    dialog = open_add(qtbot, settings)
    dialog.provider.setCurrentIndex(dialog.provider.findData("meowload"))
    qtbot.mouseClick(dialog.buttons.button(dialog.buttons.StandardButton.Save), Qt.MouseButton.LeftButton)
    assert dialog.errors["key"].text() == "Paste the API key from your provider's dashboard."
    dialog.label.setFocus()  # the user has moved on: a language change must not pull the focus back

    speak(qtbot, "zh", (settings, "设置"), (dialog, "添加账户"))
    assert dialog.errors["key"].text() == "请从服务商的控制台复制 API 密钥，粘贴到这里。"
    assert dialog.errors["key"].accessibleName() == "API 密钥：错误提示"
    assert dialog.label.hasFocus()

    qtbot.keyClicks(dialog.key, "sk-meow-test-7")
    dialog.advanced.setChecked(True)
    qtbot.keyClicks(dialog.base_url, server.url + "/m")
    qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.test_result.text().startswith("测试成功："), timeout=10_000)
    assert "282,539" in dialog.test_result.text()
    assert not dialog.errors["key"].isVisible()

    speak(qtbot, "en", (settings, "Settings"), (dialog, "Add account"))
    assert dialog.test_result.text() == "Works: 282,539 credits"
    dialog.reject()


def clipped(window: QWidget) -> list[str]:
    """Labels and buttons smaller than their text needs (narrower, or lower than its wrapped lines)."""
    found = []
    for text, widget in own_texts(window).items():
        least = widget.minimumSizeHint()
        if widget.width() < least.width() or widget.height() < least.height():
            found.append(f"{text!r}: {widget.size().toTuple()} < {least.toTuple()}")
        if isinstance(widget, QLabel) and widget.wordWrap() and widget.height() < widget.heightForWidth(widget.width()):
            found.append(f"{text!r}: {widget.height()} high, its lines need {widget.heightForWidth(widget.width())}")
        if isinstance(widget, QLabel) and not widget.wordWrap():
            needed = widget.fontMetrics().horizontalAdvance(re.sub(r"<[^>]+>|&(?=\S)", "", widget.text()))
            if widget.contentsRect().width() < needed:
                found.append(f"{text!r}: {widget.contentsRect().width()} < {needed} for the text")
    return found


def assert_nothing_clipped(qtbot, window: QWidget) -> None:
    """Once the window has laid itself out (a queued layout request), no text of it is cut."""
    with contextlib.suppress(qtbot.TimeoutError):
        qtbot.waitUntil(lambda: not clipped(window), timeout=5000)
    assert clipped(window) == []


def shoot(widget: QWidget, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    assert widget.grab().save(str(ARTIFACTS / name))


@pytest.mark.parametrize(("code", "title"), [("zh", "设置"), ("en", "Settings")])
def test_nothing_is_clipped_at_the_default_size_in_either_language(qtbot, tray: TrayController, code: str,
                                                                  title: str, back_to_english: None) -> None:
    settings = tray.settings
    assert settings is not None
    assert settings.welcome.isVisible()
    speak(qtbot, code, (settings, title))
    settings.resize(720, 560)  # the size it opens at
    qtbot.waitUntil(lambda: settings.size().width() == 720, timeout=5000)
    assert settings.height() == 560, "the window had to grow to hold its texts"
    assert_nothing_clipped(qtbot, settings)
    header = settings.table.horizontalHeader()
    for column in range(4):
        text = settings.table.horizontalHeaderItem(column).text()
        assert header.sectionSize(column) >= header.fontMetrics().horizontalAdvance(text), text
    shoot(settings, f"settings-{code}.png")  # settings-zh.png: the README's

    dialog: AccountDialog = open_add(qtbot, settings)
    qtbot.waitUntil(dialog.isVisible, timeout=5000)
    assert_nothing_clipped(qtbot, dialog)
    shoot(dialog, f"add-account-{code}.png")
    dialog.provider.setCurrentIndex(dialog.provider.findData("custom"))
    qtbot.waitUntil(lambda: dialog.custom_form.isVisible(), timeout=5000)
    assert_nothing_clipped(qtbot, dialog)
    bar = dialog.custom_form.tabs.tabBar()
    for index in range(bar.count()):
        assert bar.tabRect(index).width() >= bar.fontMetrics().horizontalAdvance(bar.tabText(index)), index
    assert dialog.width() <= 1280
    assert dialog.height() <= 720
    shoot(dialog, f"custom-provider-{code}.png")
    # The Test tab's table shows its three column titles without scrolling sideways.
    form = dialog.custom_form
    form.tabs.setCurrentIndex(form.test_tab)
    qtbot.waitUntil(form.parsed.isVisible, timeout=5000)
    assert form.parsed.horizontalHeader().length() <= form.parsed.viewport().width()
    dialog.reject()


def test_the_removal_question_is_asked_in_chinese(qtbot, tray: TrayController, two_accounts: SettingsWindow,
                                                  back_to_english: None) -> None:
    settings = two_accounts
    speak(qtbot, "zh", (settings, "设置"))
    settings.select("socia")
    seen = answer_the_question("取消")
    settings.remove_selected()
    assert seen[0] == "要删除“Work”（SociaVault）吗？它的 API 密钥将从系统密钥环中删除。"
    assert sorted(seen[1]) == sorted(["删除(R)", "取消"])  # ours, and Qt's own Cancel in Chinese
    assert [a["id"] for a in config_of(tray)["accounts"]] == ["meow", "socia"]


def test_the_config_error_line_is_said_again_in_chinese(qtbot, tray: TrayController,
                                                       back_to_english: None) -> None:
    path = tray.engine.config_path
    path.parent.mkdir(parents=True, exist_ok=True)
    tray._watch_config()
    path.write_bytes(b'[[accounts]]\nid = "hand\n')
    settings = tray.settings
    assert settings is not None
    qtbot.waitUntil(lambda: settings.status.isVisible(), timeout=10_000)
    assert settings.status.text().startswith("The config file has an error, so changes here are off")
    speak(qtbot, "zh", (settings, "设置"))
    assert settings.status.text().startswith("配置文件有错误，修复之前无法在这里更改设置")
    assert str(path) in settings.status.text()  # the engine's own words about where, as they came
    assert settings.status.isVisible()


def mnemonics(window: QWidget) -> list[str]:
    """The Alt+letter keys of a window's own labels and buttons, one per text that has one."""
    keys = []
    for text in own_texts(window):
        found = re.search(r"(?<!&)&(\w)", text.replace("&&", ""))
        if found:
            keys.append(found.group(1).lower())
    return keys


@pytest.mark.parametrize(("code", "title"), [("zh", "设置"), ("en", "Settings")])
def test_each_alt_key_of_settings_does_one_thing(qtbot, tray: TrayController, two_accounts: SettingsWindow,
                                                 code: str, title: str, back_to_english: None) -> None:
    speak(qtbot, code, (two_accounts, title))
    keys = mnemonics(two_accounts)
    assert len(keys) >= 10
    assert sorted(keys) == sorted(set(keys)), sorted(keys)


@pytest.mark.parametrize(("code", "title"), [("zh", "设置"), ("en", "Settings")])
def test_each_alt_key_of_the_account_editor_does_one_thing(qtbot, tray: TrayController, code: str, title: str,
                                                           back_to_english: None) -> None:
    settings = tray.settings
    assert settings is not None
    speak(qtbot, code, (settings, title))
    dialog = open_add(qtbot, settings)
    qtbot.waitUntil(dialog.isVisible, timeout=5000)
    for provider in ("meowload", "custom"):
        dialog.provider.setCurrentIndex(dialog.provider.findData(provider))
        qtbot.waitUntil(lambda p=provider: dialog.custom_form.isVisible() == (p == "custom"), timeout=5000)
        keys = mnemonics(dialog)
        assert len(keys) >= 6, keys
        assert sorted(keys) == sorted(set(keys)), (provider, sorted(keys))
    dialog.reject()
