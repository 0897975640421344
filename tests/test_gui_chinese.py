"""The tray in Simplified Chinese, through pytest-qt: the real TrayController (loopback servers, file
keyring) switches language when the config's ``language`` changes (by hand or from Settings), without a
restart and back again; its notification speaks Chinese; an open History window retranslates in place.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import QLocale, QPoint, Qt
from PySide6.QtWidgets import QApplication

from tests.fakeserver import FakeServer
from tests.test_history_window import MEOW, burn
from tests.test_tray import (  # noqa: F401 - make_controller is a fixture
    MEOW_OK,
    SOCIA_LOW,
    make_controller,
    route,
    rows,
    start,
    submenu_lines,
    write_config,
)
from tray_app import i18n
from tray_app.config import Config
from tray_app.history import HistoryStore
from tray_app.model import utc_now
from tray_app.texts import Notice
from tray_app.ui.history_window import HistoryWindow
from tray_app.ui.i18n import apply_language
from tray_app.ui.tray import TrayController

ACCOUNTS = [("meow", "meowload"), ("socia", "sociavault")]
CJK = re.compile(r"[\u4e00-\u9fff]")

#: What the menu's own items say, in both languages (the rows' words are the engine's, from texts).
STATIC_EN = ["&Refresh now", "S&nooze notifications", "&History…", "&Settings…", "Show &balances window",
             "&About Credit Tray", "&Quit"]
STATIC_ZH = ["立即刷新(&R)", "稍后提醒(&N)", "历史记录(&H)…", "设置(&S)…", "显示余额窗口(&B)", "关于 Credit Tray(&A)",
             "退出(&Q)"]
ROW_COMMANDS_EN = ["Open &top-up page", "&Copy balance", "&Refresh this account", "&History…"]
ROW_COMMANDS_ZH = ["打开充值页面(&T)", "复制余额(&C)", "刷新此账户(&R)", "历史记录(&H)…"]


@pytest.fixture(autouse=True)
def english_afterwards(qapp: QApplication) -> Iterator[None]:
    """Each test starts and ends in English: the language is the whole app's, not one controller's."""
    apply_language("en")
    yield
    apply_language("en")
    QLocale.setDefault(QLocale.system())


def static_items(controller: TrayController) -> list[str]:
    return [controller.refresh_action.text(), controller.snooze_menu.title(), controller.history_action.text(),
            controller.settings_action.text(), controller.window_action.text(), controller.about_action.text(),
            controller.quit_action.text()]


def row_commands(controller: TrayController) -> list[str]:
    return submenu_lines(controller, 0)[-4:]


def set_language(qtbot, controller: TrayController, server: FakeServer, config: Path, language: str,
                 refresh_text: str) -> None:
    """Write ``language`` into the config as a hand edit would; the tray's watcher picks it up."""
    write_config(config, server, ACCOUNTS, f'language = "{language}"\n')
    qtbot.waitUntil(lambda: controller.refresh_action.text() == refresh_text, timeout=10_000)


def started(qtbot, server: FakeServer, make_controller, language: str) -> tuple[TrayController, Path]:  # noqa: F811
    route(server, "meow", "meowload", MEOW_OK)
    route(server, "socia", "sociavault", SOCIA_LOW)
    controller = make_controller(ACCOUNTS, server, extra=f'language = "{language}"\n')
    start(qtbot, controller)
    return controller, controller.engine.config_path


def test_a_language_change_in_the_config_renames_the_menu_without_a_restart_and_back(
        qtbot, server: FakeServer, make_controller) -> None:  # noqa: F811
    controller, config = started(qtbot, server, make_controller, "en")
    english_rows, english_tooltip = rows(controller), controller.tray.toolTip()
    assert static_items(controller) == STATIC_EN
    assert row_commands(controller) == ROW_COMMANDS_EN
    assert english_rows[0] == "MeowLoad · Main — 282,539 credits"

    controller.show_about()
    about = controller.about
    assert about is not None
    assert about.windowTitle() == "About Credit Tray"

    set_language(qtbot, controller, server, config, "zh", "立即刷新(&R)")
    assert static_items(controller) == STATIC_ZH
    qtbot.waitUntil(lambda: about.windowTitle() == "关于 Credit Tray", timeout=5000)
    assert [about.open_config.text(), about.open_data.text(), about.open_log.text()] == [
        "打开配置文件夹(&C)", "打开数据文件夹(&D)", "打开日志(&L)"]
    assert "API 密钥只保存在系统密钥环中。" in about.text.text()
    assert [a.text() for a in controller.snooze_menu.actions() if a.text()] == ["1 小时", "8 小时", "直到明天",
                                                                                "恢复通知"]
    assert row_commands(controller) == ROW_COMMANDS_ZH
    assert controller.menu.actions()[-1].text() == "退出(&Q)"
    assert i18n.current_language() == "zh"  # the engine's words (rows, tooltip, notices) switched with Qt's
    window = controller.window  # offscreen there is no tray: the balances window stands in, and follows
    assert window is not None
    qtbot.waitUntil(lambda: window.refresh_button.text() == "立即刷新(&R)", timeout=5000)
    assert window.notice.text().startswith("没有找到系统托盘")

    controller.snooze(utc_now() + timedelta(hours=1))  # the time it names is written as Chinese writes it
    assert re.fullmatch(r"稍后提醒\(&N\)（至 周[一二三四五六日] \d{2}:\d{2}）", controller.snooze_menu.title())
    controller.snooze(None)

    set_language(qtbot, controller, server, config, "en", "&Refresh now")
    assert static_items(controller) == STATIC_EN
    assert row_commands(controller) == ROW_COMMANDS_EN
    assert rows(controller) == english_rows
    assert controller.tray.toolTip() == english_tooltip
    qtbot.waitUntil(lambda: window.refresh_button.text() == "&Refresh now", timeout=5000)
    qtbot.waitUntil(lambda: about.windowTitle() == "About Credit Tray", timeout=5000)


def test_a_language_chosen_in_settings_reaches_the_menu_at_once(qtbot, server: FakeServer,
                                                               make_controller) -> None:  # noqa: F811
    controller, _ = started(qtbot, server, make_controller, "en")
    controller.open_settings()
    settings = controller.settings
    assert settings is not None
    qtbot.waitUntil(lambda: settings.language.findData("zh") >= 0 and settings.config is not None, timeout=5000)
    settings.language.setCurrentIndex(settings.language.findData("zh"))  # as a user picks it
    qtbot.waitUntil(lambda: controller.refresh_action.text() == "立即刷新(&R)", timeout=10_000)
    assert static_items(controller) == STATIC_ZH
    assert row_commands(controller) == ROW_COMMANDS_ZH
    assert 'language = "zh"' in controller.engine.config_path.read_text("utf-8")


def test_a_language_applied_elsewhere_renames_the_menu_too(qtbot, server: FakeServer,
                                                          make_controller) -> None:  # noqa: F811
    """Whoever switches the app's language (Settings may, at once), the menu hears Qt's LanguageChange."""
    controller, _ = started(qtbot, server, make_controller, "auto")
    assert static_items(controller) == STATIC_EN
    apply_language("zh")
    qtbot.waitUntil(lambda: static_items(controller) == STATIC_ZH, timeout=5000)
    assert row_commands(controller) == ROW_COMMANDS_ZH


def test_the_rows_tooltip_and_notification_speak_chinese(qtbot, server: FakeServer,
                                                         make_controller) -> None:  # noqa: F811
    route(server, "meow", "meowload", MEOW_OK)
    route(server, "socia", "sociavault", SOCIA_LOW)
    controller = make_controller(ACCOUNTS, server, extra='language = "zh"\n')
    notices: list[Notice] = []
    controller.notified.connect(notices.append)
    start(qtbot, controller)
    assert static_items(controller) == STATIC_ZH
    menu_rows = rows(controller)
    assert menu_rows[0].startswith("MeowLoad · Main")
    assert "282,539" in menu_rows[0]
    assert all(CJK.search(row) for row in menu_rows), menu_rows  # the amounts' unit and the alert in Chinese
    tooltip = controller.tray.toolTip()
    assert "282,539" in tooltip
    assert CJK.search(tooltip), tooltip
    [notice] = notices  # SociaVault at 950, below its alert at 1,000
    assert notice.title.startswith("SociaVault · Main：剩余 950"), notice.title
    assert "1,000" in notice.body
    assert CJK.search(notice.body), notice.body


def test_an_open_history_window_retranslates_in_place(qtbot, server: FakeServer, make_controller,  # noqa: F811
                                                       tmp_path: Path) -> None:
    controller, config = started(qtbot, server, make_controller, "en")
    controller.open_history("socia")
    window = controller.history_window
    assert window is not None
    qtbot.waitUntil(lambda: window.balance_chart.data is not None and bool(window.balance_chart.data.times),
                    timeout=10_000)
    window.tabs.setCurrentIndex(1)  # the table
    buttons = [window.ranges.button(i).text() for i in range(4)]
    assert window.windowTitle() == "History — Credit Tray"
    assert buttons == ["24 h", "7 d", "30 d", "All"]
    model = window.table_model
    english_cell = model.data(model.index(0, 0))
    assert re.fullmatch(r"\d{1,2}/\d{1,2}/\d{2} \d{1,2}:\d{2}\s?[AP]M", english_cell), english_cell

    set_language(qtbot, controller, server, config, "zh", "立即刷新(&R)")
    qtbot.waitUntil(lambda: window.windowTitle() == "历史记录 — Credit Tray", timeout=5000)
    assert [window.ranges.button(i).text() for i in range(4)] == ["24 小时", "7 天", "30 天", "全部"]
    assert window.ranges.checkedId() == 1
    assert window.current_account() == "socia"
    assert window.tabs.currentIndex() == 1
    assert [window.tabs.tabText(i) for i in range(2)] == ["图表(&C)", "表格(&T)"]
    assert window.picker_label.text() == "账户(&A)："
    assert window.export_button.text() == "导出 CSV(&X)…"
    assert [model.headerData(i, Qt.Orientation.Horizontal) for i in range(3)] == ["开始时间", "结束时间", "余额"]
    chinese_cell = model.data(model.index(0, 0))  # the date as QLocale writes it in Chinese
    assert re.fullmatch(r"\d{4}/\d{1,2}/\d{1,2} \d{1,2}:\d{2}", chinese_cell), chinese_cell
    assert window.summary.text() == "历史记录还不够，暂时算不出消耗速度。"
    assert window.balance_chart.describe(window.balance_chart.plot_rect().right()).startswith(chinese_cell[:4])

    # The CSV is for programs: English column names, ISO times and plain numbers in every language.
    target = tmp_path / "export.csv"
    with qtbot.waitSignal(window.exported, timeout=10_000):  # written off the GUI thread
        window.export_csv(str(target))
    with target.open(encoding="utf-8") as file:
        exported = list(csv.reader(file))
    assert exported[0] == ["from", "until", "remaining", "used", "total", "unlimited", "unit"]
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}.*", exported[1][0])
    assert exported[1][2] == "950"
    assert exported[1][5] == "false"
    assert window.summary.text() == f"已将 1 条记录导出到 {target}"

    set_language(qtbot, controller, server, config, "en", "&Refresh now")
    qtbot.waitUntil(lambda: window.windowTitle() == "History — Credit Tray", timeout=5000)
    assert [window.ranges.button(i).text() for i in range(4)] == buttons
    assert model.data(model.index(0, 0)) == english_cell
    assert window.summary.text() == f"Exported 1 reading to {target}"


def test_the_history_charts_read_points_in_chinese(qtbot, tmp_path: Path) -> None:
    """The hover lines (a balance, the forecast, a day's use) and the summary, in Chinese, with the range
    buttons' words; numbers and dates by the Chinese QLocale."""
    store = HistoryStore(tmp_path / "history.sqlite3")
    readings = burn(store)
    apply_language("zh")
    window = HistoryWindow(store, Config(path=Path("config.toml"), accounts=(MEOW,)), account_id="meow")
    qtbot.addWidget(window)
    qtbot.waitUntil(lambda: window.balance_chart.data is not None, timeout=10_000)
    window.show()
    assert window.summary.text().endswith("本时段内充值 1 次。"), window.summary.text()
    chart = window.balance_chart
    rect = chart.plot_rect()
    start, end = chart.x_range()
    x = rect.left() + (readings[-1][0].timestamp() - start) / (end - start) * rect.width()
    qtbot.mouseClick(chart, Qt.MouseButton.LeftButton, pos=QPoint(round(x), int(rect.center().y())))
    assert re.fullmatch(rf"\d{{4}}/\d{{1,2}}/\d{{1,2}} \d{{1,2}}:\d{{2}}：{readings[-1][1]:,} \S+",
                        window.hover_line.text()), window.hover_line.text()
    qtbot.mouseClick(chart, Qt.MouseButton.LeftButton, pos=QPoint(int(rect.right()) - 2, int(rect.center().y())))
    assert "：按目前的速度，约剩 " in window.hover_line.text(), window.hover_line.text()
    bars = window.usage_bars.plot_rect()
    qtbot.mouseClick(window.usage_bars, Qt.MouseButton.LeftButton, pos=QPoint(int(bars.right()) - 3,
                                                                              int(bars.center().y())))
    assert re.fullmatch(r"\d{4}年\d{1,2}月\d{1,2}日\S*：已用 [\d,.]+ \S+", window.hover_line.text()), \
        window.hover_line.text()
    window.close()
    store.close()
